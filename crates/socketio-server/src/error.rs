//! Errors of emits and acknowledgements.

use engineio_core::SendError;
use socketio_core::{ArgsError, EncodeError};

/// An emit that was not queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The event or its arguments cannot be encoded.
    #[error("cannot encode the packet: {0}")]
    Encode(#[from] EncodeError),
    /// The socket's outgoing queue is full: the client reads slower than it is sent to.
    #[error("the socket's outgoing queue is full")]
    QueueFull,
    /// The socket is disconnected.
    #[error("the socket is disconnected")]
    Disconnected,
    /// The socket already waits for the configured number of acknowledgements.
    #[error("too many acknowledgements pending")]
    TooManyPendingAcks,
}

impl From<SendError> for EmitError {
    fn from(err: SendError) -> Self {
        match err {
            SendError::Full => Self::QueueFull,
            _ => Self::Disconnected,
        }
    }
}

/// An acknowledgement that did not come, or did not fit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// The emit itself failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// No answer within the timeout.
    #[error("no acknowledgement within the timeout")]
    Timeout,
    /// The socket disconnected before it answered.
    #[error("the socket disconnected before it answered")]
    Disconnected,
    /// The answer does not deserialize into the type asked for.
    #[error("the acknowledgement does not fit: {0}")]
    Decode(#[from] ArgsError),
}
