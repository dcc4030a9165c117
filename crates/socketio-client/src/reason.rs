//! Why a socket disconnected, with the official client's words.

use std::fmt;

use engineio_core::ClientCloseReason;

/// Why a socket left its namespace. [`DisconnectReason::as_str`] gives the words of the
/// official client, which its `disconnect` listeners receive.
///
/// Only [`DisconnectReason::IoServerDisconnect`] and
/// [`DisconnectReason::IoClientDisconnect`] are final: after the others the Manager
/// reconnects (when reconnection is on) and the socket joins its namespace again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server disconnected the socket (a DISCONNECT packet): final.
    IoServerDisconnect,
    /// The application disconnected the socket: final.
    IoClientDisconnect,
    /// No ping from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The server closed the connection.
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The server sent something that cannot be decoded.
    ParseError,
    /// The application closed the Manager.
    ForcedClose,
}

impl DisconnectReason {
    /// The official client's name for the reason, such as `"io server disconnect"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IoServerDisconnect => "io server disconnect",
            Self::IoClientDisconnect => "io client disconnect",
            Self::PingTimeout => "ping timeout",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::ParseError => "parse error",
            Self::ForcedClose => "forced close",
        }
    }

    /// Whether the socket stays disconnected: the server or the application asked for
    /// it, and the Manager does not bring the socket back by itself.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::IoServerDisconnect | Self::IoClientDisconnect | Self::ForcedClose
        )
    }

    pub(crate) fn from_engine(reason: &ClientCloseReason) -> Self {
        match reason {
            ClientCloseReason::TransportClose => Self::TransportClose,
            ClientCloseReason::PingTimeout => Self::PingTimeout,
            ClientCloseReason::ForcedClose => Self::ForcedClose,
            ClientCloseReason::ParseError(_) => Self::ParseError,
            _ => Self::TransportError,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use engineio_core::TransportKind;

    use super::*;

    #[test]
    fn the_official_words_and_which_are_final() {
        let reasons = [
            (
                DisconnectReason::IoServerDisconnect,
                "io server disconnect",
                true,
            ),
            (
                DisconnectReason::IoClientDisconnect,
                "io client disconnect",
                true,
            ),
            (DisconnectReason::ForcedClose, "forced close", true),
            (DisconnectReason::PingTimeout, "ping timeout", false),
            (DisconnectReason::TransportClose, "transport close", false),
            (DisconnectReason::TransportError, "transport error", false),
            (DisconnectReason::ParseError, "parse error", false),
        ];
        for (reason, words, is_final) in reasons {
            assert_eq!(reason.to_string(), words);
            assert_eq!(reason.is_final(), is_final, "{words}");
        }
    }

    #[test]
    fn engine_reasons_map_to_the_same_words() {
        for reason in [
            ClientCloseReason::TransportClose,
            ClientCloseReason::TransportError(TransportKind::WebSocket),
            ClientCloseReason::PingTimeout,
            ClientCloseReason::ForcedClose,
        ] {
            assert_eq!(
                DisconnectReason::from_engine(&reason).as_str(),
                reason.as_str()
            );
        }
    }
}
