//! Sans-IO Socket.IO protocol v5: the packet model, the default JSON text codec with
//! binary attachments, and the msgpack codec.
//!
//! This crate does no IO and keeps no clock. Its inputs are the data of Engine.IO
//! `message` packets (text or binary), its outputs are the same. The Engine.IO layer
//! (`engineio-core`) carries them.
//!
//! - [`Packet`] / [`PacketKind`]: the decoded packet, the same whatever the parser.
//! - [`Args`]: event and ack arguments, decoded lazily, read into typed data with serde
//!   ([`Args::deserialize`]) or into dynamic [`Value`]s, which can hold binary.
//! - [`Parser`] / [`Decoder`]: packets to messages and back; [`JsonParser`] (the default
//!   everywhere) and [`MsgpackParser`] (npm `socket.io-msgpack-parser`).
//!
//! # Example: an event with a binary argument
//!
//! The text format puts a placeholder where the binary was, and sends the bytes as a
//! separate binary message:
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use socketio_core::{Decoder, JsonParser, Message, PacketKind, Parser};
//!
//! let parser = JsonParser::default();
//! let file = Bytes::from_static(&[1, 2, 3, 4]);
//!
//! // Encode: the caller may put the Engine.IO message type in front.
//! let mut out = BytesMut::from(&b"4"[..]);
//! let attachments = parser.encode_event("/", "upload", Some(7), &("a.bin", &file), &mut out)?;
//! assert_eq!(&out[..], br#"451-7["upload","a.bin",{"_placeholder":true,"num":0}]"#);
//! assert_eq!(attachments, vec![file.clone()]);
//!
//! // Decode, on the other side (the Engine.IO layer strips the `4`).
//! let mut decoder = parser.decoder();
//! let text = std::str::from_utf8(&out[1..]).unwrap();
//! assert!(decoder.decode(Message::Text(text.into()))?.is_none()); // waits for its attachment
//! let packet = decoder.decode(Message::Binary(attachments[0].clone()))?.unwrap();
//!
//! let PacketKind::Event { event, args, ack } = packet.kind else { unreachable!() };
//! assert_eq!((&*event, ack), ("upload", Some(7)));
//! let (name, data): (String, Bytes) = args.deserialize()?;
//! assert_eq!((name.as_str(), data), ("a.bin", file));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Limits
//!
//! Nothing here panics on input from the network: every malformed message is a typed
//! [`DecodeError`], and the number of attachments one packet may announce is bounded
//! ([`JsonParser::with_max_attachments`], 10 by default). The size of a message is
//! bounded by the Engine.IO layer.

mod any_parser;
mod args;
mod attachments;
mod backoff;
mod error;
mod event_name;
mod json_parser;
mod msgpack_parser;
mod packet;
mod packet_type;
mod parser;
mod shape;
mod text_decode;
mod text_encode;
mod value;
mod value_de;

pub use any_parser::{AnyDecoder, AnyParser, ParserKind};
pub use args::Args;
pub use backoff::Backoff;
pub use error::{ArgsError, DecodeError, EncodeError};
pub use event_name::{RESERVED_EVENTS, is_reserved_event};
pub use json_parser::{JsonDecoder, JsonParser};
pub use msgpack_parser::{MsgpackDecoder, MsgpackParser};
pub use packet::{Packet, PacketKind};
pub use packet_type::PacketType;
pub use parser::{Decoder, Message, MessageKind, Parser};
pub use value::Value;
