//! Why a client session closed.

use std::fmt;

use crate::{DecodeError, TransportKind};

/// Why a client session closed. [`ClientCloseReason::as_str`] gives the reference
/// client's words, which Socket.IO passes on as disconnect reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCloseReason {
    /// The server closed the session (a `close` packet), or its WebSocket closed.
    TransportClose,
    /// A request or the WebSocket of this transport failed.
    TransportError(TransportKind),
    /// No ping from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The application closed the session.
    ForcedClose,
    /// The server sent something that cannot be decoded (or a first packet that is not
    /// the handshake).
    ParseError(DecodeError),
}

impl ClientCloseReason {
    /// The reference client's name for the reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError(_) => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ForcedClose => "forced close",
            Self::ParseError(_) => "parse error",
        }
    }
}

impl fmt::Display for ClientCloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TransportError(kind) => write!(f, "transport error ({kind})"),
            Self::ParseError(err) => write!(f, "parse error ({err})"),
            other => f.write_str(other.as_str()),
        }
    }
}
