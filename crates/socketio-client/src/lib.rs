//! A Socket.IO client for tokio, with the behaviour of the official `socket.io-client`
//! 4.8: one Engine.IO connection per [`Manager`], any number of namespaces multiplexed on
//! it as [`Socket`]s, long-polling upgraded to WebSocket, reconnection with the same
//! backoff and events, acknowledgements with timeouts, an offline send buffer, a retry
//! queue, and connection state recovery.
//!
//! It reuses the sans-IO halves of this project: `engineio-core`'s client session (the
//! handshake, the heartbeat, the upgrade) and `socketio-core`'s codec, so a packet is
//! encoded here exactly as the server encodes it.
//!
//! ```no_run
//! use std::time::Duration;
//! use socketio_client::{AckSender, Data, Manager};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let manager = Manager::new("http://localhost:3000")?;
//!     let socket = manager
//!         .socket("/")
//!         .auth(serde_json::json!({ "token": "abc" }))
//!         .on("chat", |Data(text): Data<String>| async move { println!("chat: {text}") })
//!         .on("ask", |ack: AckSender| async move {
//!             let _ = ack.send(&"42");
//!         })
//!         .connect()
//!         .await?;
//!     socket.emit("chat", &"hello")?;
//!     let answer = socket
//!         .timeout(Duration::from_secs(5))
//!         .emit_with_ack("sum", &(1, 2))
//!         .await?;
//!     let sum: u32 = answer.deserialize()?;
//!     println!("1 + 2 = {sum}");
//!     Ok(())
//! }
//! ```
//!
//! # Behaviour
//!
//! - A Manager's task owns the connection; handlers run on a separate task, so user code
//!   never blocks the connection, and never runs under a lock.
//! - Disconnect reasons are the official strings ([`DisconnectReason::as_str`]). After
//!   "io server disconnect", "io client disconnect" or a refused CONNECT the socket stays
//!   disconnected; after a lost connection the Manager reconnects and the socket joins
//!   its namespace again (its auth function, if any, runs again).
//! - Memory stays bounded whatever the server sends: when 4,096 handler calls are
//!   pending, the Manager stops reading from the server until they catch up (TCP pushes
//!   back); each event stream holds a bounded number of events; the offline buffer and
//!   the retry queue are bounded ([`SocketBuilder::max_buffered_packets`]).
//! - Acknowledgement ids are monotonic per socket. On a disconnection, the
//!   acknowledgements of packets already sent fail with [`AckError::Disconnected`]; those
//!   of packets still in the offline buffer survive.

mod ack;
mod config;
mod driver;
mod error;
mod events;
mod handler;
mod manager;
mod reason;
mod socket;
mod state;
mod transport;

pub use ack::AckFuture;
pub use config::ManagerBuilder;
pub use engineio_core::ClientTransports as Transports;
pub use error::{AckError, BuildError, ConnectError, EmitError};
pub use events::{EventStream, ManagerEvent, ManagerEvents, SocketEvent};
pub use handler::{
    AckSender, Bin, Data, Event, EventContext, EventHandler, FromEvent, FromRef, Rejection, State,
    TryData,
};
pub use manager::Manager;
pub use reason::DisconnectReason;
pub use socket::{Emitter, Socket, SocketBuilder};
pub use socketio_core::ParserKind;
pub use socketio_core::{Args, Value};

/// The rustls crate this client is built with, for
/// [`ManagerBuilder::tls_config`].
#[cfg(feature = "rustls")]
pub use rustls;

/// The examples of the README, the server's and the client's, compiled as documentation
/// tests here: this crate's tests depend on both.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    /// Handles move between tasks and threads.
    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Manager>();
        check::<super::Socket>();
        check::<super::Emitter>();
        check::<super::AckSender>();
        check::<super::SocketEvent>();
        fn check_send<T: Send + 'static>() {}
        check_send::<super::AckFuture>();
        check_send::<super::EventStream>();
        check_send::<super::ManagerEvents>();
    }
}
