//! `ServerSession` driven by a scripted peer on a virtual clock.
//!
//! Every test takes one `Instant` at the start and moves a virtual `now` forward from it;
//! nothing sleeps. The peer renders what the session transmits as short strings, so a
//! test reads like the wire: `poll:0{…}` is the body of a long-polling response,
//! `ws:3probe` a WebSocket text frame, `ws-bin:010203` a binary frame, `ws-close` the
//! order to close the WebSocket.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use engineio_core::{
    CloseReason, DecodeError, Event, Frame, Message, RequestError, SendError, ServerSession,
    SessionConfig, Sid, Transmit, TransportError, TransportKind,
};

mod peer;
use peer::*;

mod buffer;
mod close;
mod handshake;
mod heartbeat;
mod polling;
mod timers;
mod upgrade;
mod websocket;
