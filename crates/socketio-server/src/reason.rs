//! Why a socket left its namespace.

use std::fmt;

use engineio_core::CloseReason;

/// Why a socket was disconnected. [`DisconnectReason::as_str`] gives the reference
/// server's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed the connection (or it was cut).
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent something that is not a valid packet here.
    ParseError,
    /// The client left the namespace (`socket.disconnect()` on its side).
    ClientNamespaceDisconnect,
    /// The server removed the socket (`Socket::disconnect`).
    ServerNamespaceDisconnect,
    /// The server is shutting down (`SocketIo::close`).
    ServerShuttingDown,
    /// The server closed the whole connection.
    ForcedClose,
}

impl DisconnectReason {
    /// The reference server's name for the reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
            Self::ServerShuttingDown => "server shutting down",
            Self::ForcedClose => "forced close",
        }
    }
}

impl DisconnectReason {
    /// Whether a socket that left for this reason may be recovered: the connection was
    /// lost, not closed on purpose.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            Self::TransportClose
                | Self::TransportError
                | Self::PingTimeout
                | Self::ForcedClose
                | Self::ServerShuttingDown
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => Self::TransportClose,
            CloseReason::PingTimeout => Self::PingTimeout,
            CloseReason::ParseError => Self::ParseError,
            CloseReason::ServerShuttingDown => Self::ServerShuttingDown,
            CloseReason::ForcedClose => Self::ForcedClose,
            _ => Self::TransportError,
        }
    }
}
