//! One of the built-in parsers, chosen at run time: what a server or client configured
//! with a [`ParserKind`] holds.

use bytes::{Bytes, BytesMut};
use serde::Serialize;

use crate::{
    DecodeError, Decoder, EncodeError, JsonDecoder, JsonParser, Message, MessageKind,
    MsgpackDecoder, MsgpackParser, Packet, Parser,
};

/// Which Socket.IO parser a peer speaks. Both ends must use the same one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParserKind {
    /// The default text format, with binary attachments.
    #[default]
    Json,
    /// msgpack, compatible with the npm `socket.io-msgpack-parser`.
    Msgpack,
}

/// The parser of a [`ParserKind`].
///
/// ```
/// use socketio_core::{AnyParser, Parser, ParserKind, MessageKind};
///
/// let parser = AnyParser::new(ParserKind::Msgpack, 10);
/// assert_eq!(parser.message_kind(), MessageKind::Binary);
/// ```
#[derive(Debug, Clone)]
pub enum AnyParser {
    /// [`ParserKind::Json`].
    Json(JsonParser),
    /// [`ParserKind::Msgpack`].
    Msgpack(MsgpackParser),
}

impl AnyParser {
    /// The parser of `kind`, accepting at most `max_attachments` binary attachments per
    /// packet (the JSON format's limit; msgpack carries binary inline).
    pub fn new(kind: ParserKind, max_attachments: usize) -> Self {
        match kind {
            ParserKind::Json => {
                Self::Json(JsonParser::default().with_max_attachments(max_attachments))
            }
            ParserKind::Msgpack => Self::Msgpack(MsgpackParser::default()),
        }
    }
}

/// The decoder of an [`AnyParser`].
#[derive(Debug)]
pub enum AnyDecoder {
    /// [`ParserKind::Json`].
    Json(JsonDecoder),
    /// [`ParserKind::Msgpack`].
    Msgpack(MsgpackDecoder),
}

impl Parser for AnyParser {
    type Decoder = AnyDecoder;

    fn message_kind(&self) -> MessageKind {
        match self {
            Self::Json(parser) => parser.message_kind(),
            Self::Msgpack(parser) => parser.message_kind(),
        }
    }

    fn decoder(&self) -> AnyDecoder {
        match self {
            Self::Json(parser) => AnyDecoder::Json(parser.decoder()),
            Self::Msgpack(parser) => AnyDecoder::Msgpack(parser.decoder()),
        }
    }

    fn encode(&self, packet: &Packet, out: &mut BytesMut) -> Result<Vec<Bytes>, EncodeError> {
        match self {
            Self::Json(parser) => parser.encode(packet, out),
            Self::Msgpack(parser) => parser.encode(packet, out),
        }
    }

    fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        ack: Option<u64>,
        args: &T,
        out: &mut BytesMut,
    ) -> Result<Vec<Bytes>, EncodeError> {
        match self {
            Self::Json(parser) => parser.encode_event(nsp, event, ack, args, out),
            Self::Msgpack(parser) => parser.encode_event(nsp, event, ack, args, out),
        }
    }

    fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        ack: u64,
        args: &T,
        out: &mut BytesMut,
    ) -> Result<Vec<Bytes>, EncodeError> {
        match self {
            Self::Json(parser) => parser.encode_ack(nsp, ack, args, out),
            Self::Msgpack(parser) => parser.encode_ack(nsp, ack, args, out),
        }
    }
}

impl Decoder for AnyDecoder {
    fn decode(&mut self, message: Message) -> Result<Option<Packet>, DecodeError> {
        match self {
            Self::Json(decoder) => decoder.decode(message),
            Self::Msgpack(decoder) => decoder.decode(message),
        }
    }

    fn is_pending(&self) -> bool {
        match self {
            Self::Json(decoder) => decoder.is_pending(),
            Self::Msgpack(decoder) => decoder.is_pending(),
        }
    }
}
