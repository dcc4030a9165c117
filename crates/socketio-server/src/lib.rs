//! A Socket.IO server for axum, tower and hyper.
//!
//! Today it serves Engine.IO, the transport layer under Socket.IO: see [`engine`].

pub mod engine;
