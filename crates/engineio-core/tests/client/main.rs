//! `ClientSession` against the real `ServerSession`, over an in-test network, on a virtual
//! clock.
//!
//! The network carries what one side transmits to the other, one delivery at a time: a
//! GET reaches the server (`handle_poll`), the server's `Transmit::Poll` answers it and
//! reaches the client (`handle_poll_response`); a POST reaches the server
//! (`handle_post_start` + `handle_post`) and its 200 comes back (`handle_post_done`);
//! WebSocket frames queue in each direction. Nothing sleeps: time only moves when a test
//! moves it. The network logs the wire as short strings, so a test reads like the
//! protocol: `GET` is the handshake request, `GET sid` a later one, `POST 4a|4b` a POST
//! body (`|` is the record separator), `poll< 2` a GET response, `ws> 5` a frame from the
//! client, `ws< 3probe` one from the server, `ws> CLOSE` the order to close it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::{
    collections::VecDeque,
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use engineio_core::{
    ClientCloseReason, ClientConfig, ClientEvent, ClientSession, ClientTransmit, ClientTransports,
    CloseReason, DecodeError, Event, Frame, Message, SendError, ServerSession, SessionConfig, Sid,
    TransportKind,
};
use proptest::prelude::*;

mod net;
use net::*;

mod close;
mod handshake;
mod heartbeat;
mod interleavings;
mod malformed;
mod messages;
mod upgrade;
