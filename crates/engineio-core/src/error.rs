//! Errors and close reasons.

use std::fmt;

/// A packet or payload that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A packet with no type.
    #[error("empty packet")]
    Empty,
    /// A type byte outside `0`..=`6` (and `b` inside a payload).
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    /// A base64 binary message in a payload that is not valid base64.
    #[error("invalid base64 in a binary packet")]
    Base64,
    /// An `open` packet whose data is not the handshake object.
    #[error("invalid open packet: {0}")]
    Handshake(String),
    /// A payload that is not UTF-8.
    #[error("payload is not valid UTF-8")]
    Utf8,
    /// A payload larger than the configured limit.
    #[error("payload of {size} bytes is over the limit of {max}")]
    PayloadTooLarge {
        /// The payload's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A payload with more packets than the configured limit.
    #[error("payload has more than {max} packets")]
    TooManyPackets {
        /// The limit.
        max: usize,
    },
}

/// Why a request for an existing session was refused. The session is closed too when
/// [`RequestError::closes_session`] says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The session is closed (or never existed): the reference's "Session ID unknown".
    #[error("session is closed")]
    Closed,
    /// The request's transport is not the session's, or the session has already been
    /// upgraded, or upgrades are off.
    #[error("request does not match the session's transport")]
    TransportMismatch,
    /// A second long-polling GET, or a second POST, while one is in flight.
    #[error("a polling request of the same kind is already in flight")]
    Overlap,
    /// A POST body that is not a valid payload.
    #[error("malformed payload: {0}")]
    Decode(#[from] DecodeError),
}

impl RequestError {
    /// Whether the session was closed because of this request.
    pub fn closes_session(&self) -> bool {
        matches!(self, Self::Overlap | Self::Decode(_))
    }
}

/// A message could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closing or closed.
    #[error("session is closed")]
    Closed,
    /// The session already holds the configured number of unsent packets.
    #[error("send buffer is full")]
    Full,
}

/// What went wrong with a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// A POST body or WebSocket message over `max_payload`.
    PayloadTooLarge,
    /// A second long-polling GET or POST while one was in flight.
    RequestOverlap,
    /// The client went away while its long-polling GET was pending.
    PollClosedPrematurely,
    /// The client went away before its POST body was complete.
    PostClosedPrematurely,
    /// The WebSocket failed (protocol error, IO error).
    WebSocket,
    /// The client did not read what was sent to it for too long.
    SlowConsumer,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PayloadTooLarge => "payload too large",
            Self::RequestOverlap => "polling request overlap",
            Self::PollClosedPrematurely => "poll connection closed prematurely",
            Self::PostClosedPrematurely => "data request connection closed prematurely",
            Self::WebSocket => "websocket error",
            Self::SlowConsumer => "slow consumer",
        })
    }
}

/// Why a session closed. [`CloseReason::as_str`] gives the reference implementation's
/// words, which Socket.IO passes on as disconnect reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the transport (a `close` packet, or the WebSocket closed).
    TransportClose,
    /// The transport failed.
    TransportError(TransportError),
    /// No pong within `ping_timeout` of a ping.
    PingTimeout,
    /// The client sent something that cannot be decoded.
    ParseError,
    /// The server closed the session.
    ForcedClose,
    /// The server is shutting down.
    ServerShuttingDown,
}

impl CloseReason {
    /// The reference implementation's name for the reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError(_) => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::ForcedClose => "forced close",
            Self::ServerShuttingDown => "server shutting down",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TransportError(detail) => write!(f, "transport error ({detail})"),
            other => f.write_str(other.as_str()),
        }
    }
}
