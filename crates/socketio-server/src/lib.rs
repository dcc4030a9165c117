//! A Socket.IO server for axum, tower and hyper.
//!
//! One layer serves Socket.IO (Engine.IO v4, Socket.IO v5) on its path and passes
//! every other request to the app it wraps. Handlers are registered on namespaces like
//! routes, and take extractors as axum handlers do:
//!
//! ```no_run
//! use socketio_server::{AckSender, Data, Namespace, Socket, SocketIoLayer};
//!
//! # async fn run() -> std::io::Result<()> {
//! let (layer, io) = SocketIoLayer::new();
//! io.ns(
//!     "/",
//!     Namespace::new()
//!         .on("chat", |socket: Socket, Data(text): Data<String>| async move {
//!             let _ = socket.io().emit("chat", &text);
//!         })
//!         .on("ping", |ack: AckSender| async move {
//!             let _ = ack.send("pong");
//!         }),
//! );
//! let app = axum::Router::new().layer(layer);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! [`engine`] serves Engine.IO alone, for raw messages without Socket.IO.

pub mod adapter;
mod connect_error;
mod connection;
pub mod engine;
mod error;
mod handler;
mod handshake;
mod io;
mod mailbox;
mod namespace;
mod operator;
mod parser;
mod reason;
mod small_set;
mod socket;

pub use adapter::{Adapter, LocalAdapter, Room};
pub use connect_error::ConnectError;
pub use error::{AckError, EmitError};
pub use handler::{
    AckSender, Auth, Bin, ConnectContext, ConnectHandler, ConnectMiddleware, Data,
    DisconnectContext, DisconnectHandler, Event, EventContext, EventHandler, Extension,
    FromConnect, FromDisconnect, FromEvent, FromRef, NsParams, Rejection, Rooms, State, TryData,
};
pub use handshake::Handshake;
pub use io::{SocketIo, SocketIoBuilder, SocketIoLayer};
pub use namespace::{Namespace, NamespaceHandle};
pub use operator::{Ack, AckStream, BroadcastOperator, Delivery, IntoRooms};
pub use reason::DisconnectReason;
pub use socket::Socket;
pub use socketio_core::ParserKind;
pub use socketio_core::{Args, Value};
