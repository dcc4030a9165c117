//! Sans-IO Engine.IO v4.
//!
//! This crate holds the protocol and nothing else: the packet and payload codec, and both
//! ends of a session as state machines ([`ServerSession`] and [`ClientSession`]). It does no IO, starts no task and never reads the
//! clock: time comes in as an argument (`now: Instant`) and randomness (session ids) is
//! supplied by the caller. The server crate drives it over real sockets; tests drive it
//! with a virtual clock.
//!
//! ```
//! use engineio_core::{Frame, Message, Packet};
//!
//! let packet = Packet::decode_frame(Frame::Text("4hello".into())).unwrap();
//! assert_eq!(packet, Packet::Message(Message::from("hello")));
//! assert_eq!(Packet::Noop.to_frame(), Frame::Text("6".into()));
//! ```

mod client;
mod config;
mod error;
mod handshake;
mod packet;
mod payload;
mod queue;
mod session;
mod sid;
mod transport;

pub use client::{
    ClientCloseReason, ClientConfig, ClientEvent, ClientSession, ClientTransmit, ClientTransports,
};
pub use config::SessionConfig;
pub use error::{CloseReason, DecodeError, RequestError, SendError, TransportError};
pub use handshake::Handshake;
pub use packet::{Frame, Message, Packet};
pub use payload::{PayloadDecoder, PayloadEncoder, PayloadLimits, SEPARATOR, decode_payload};
pub use queue::InlineQueue;
pub use session::{Event, ServerSession, Transmit};
pub use sid::{SID_RANDOM_BYTES, Sid};
pub use transport::{TransportKind, UnknownTransport};
