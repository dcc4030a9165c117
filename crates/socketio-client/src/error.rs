//! The errors of the client.

use socketio_core::{EncodeError, Value};

/// A Manager could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The URL is not an absolute `http`, `https`, `ws` or `wss` URL.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header name or value is not valid HTTP.
    #[error("invalid header {0:?}")]
    InvalidHeader(String),
    /// `https` and `wss` need TLS, which this build does not have (the `rustls`
    /// feature is off), or TLS could not be set up.
    #[error("TLS is not available: {0}")]
    TlsUnsupported(String),
    /// No Tokio runtime to start the Manager's task on.
    #[error("a Manager must be built inside a Tokio runtime")]
    NoRuntime,
}

/// An emit that could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The arguments could not be encoded, or the event name is reserved.
    #[error("cannot encode the event: {0}")]
    Encode(#[from] EncodeError),
    /// The event name is one the protocol reserves (`connect`, `disconnect`, ...).
    #[error("the event name {0:?} is reserved")]
    ReservedEvent(String),
    /// The socket is disconnected and its offline buffer holds
    /// [`max_buffered_packets`](crate::SocketBuilder::max_buffered_packets) packets.
    #[error("the offline send buffer is full")]
    BufferFull,
    /// The Manager's task has stopped (the runtime is shutting down).
    #[error("the manager has stopped")]
    ManagerStopped,
}

/// Why an acknowledgement did not come.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// No answer within the timeout (after every retry, with `retries`).
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before the answer came (and the packet was not waiting in
    /// the offline buffer, where it would have survived).
    #[error("socket has been disconnected")]
    Disconnected,
    /// The event could not be sent at all.
    #[error(transparent)]
    Emit(#[from] EmitError),
}

/// Why [`SocketBuilder::connect`](crate::SocketBuilder::connect) or
/// [`Socket::wait_connected`](crate::Socket::wait_connected) failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server refused the namespace (a CONNECT_ERROR packet): `message`, and the
    /// error's `data` when it had some. Final: the socket does not retry.
    #[error("the server refused the connection: {message}")]
    Refused {
        /// The error message.
        message: String,
        /// The error's data (`err.data` on a Node server), `Null` when none.
        data: Value,
    },
    /// The connection to the server failed (the Manager keeps trying while reconnection
    /// is on): the reason, such as "timeout" or "transport error".
    #[error("the connection failed: {0}")]
    Connection(String),
    /// The namespace was not joined in time.
    #[error("not connected within the timeout")]
    Timeout,
    /// The socket was disconnected (by the application, or the Manager gave up
    /// reconnecting) before it connected.
    #[error("the socket was disconnected: {0}")]
    Disconnected(&'static str),
    /// Another socket of the same Manager already uses this namespace.
    #[error("the namespace already has a socket on this manager")]
    NamespaceTaken,
}
