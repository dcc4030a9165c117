//! The parser the Manager was configured with, behind one type.

use socketio_core::{
    DecodeError, Decoder, EncodeError, JsonDecoder, JsonParser, Message, MsgpackDecoder,
    MsgpackParser, Packet, Parser,
};

use crate::ParserKind;

#[derive(Debug, Clone)]
pub(crate) enum Codec {
    Json(JsonParser),
    Msgpack(MsgpackParser),
}

#[derive(Debug)]
pub(crate) enum CodecDecoder {
    Json(JsonDecoder),
    Msgpack(MsgpackDecoder),
}

impl Codec {
    pub(crate) fn new(kind: ParserKind) -> Self {
        match kind {
            ParserKind::Json => Self::Json(JsonParser::default()),
            ParserKind::Msgpack => Self::Msgpack(MsgpackParser::default()),
        }
    }

    pub(crate) fn decoder(&self) -> CodecDecoder {
        match self {
            Self::Json(parser) => CodecDecoder::Json(parser.decoder()),
            Self::Msgpack(parser) => CodecDecoder::Msgpack(parser.decoder()),
        }
    }

    pub(crate) fn encode(&self, packet: &Packet) -> Result<Vec<Message>, EncodeError> {
        match self {
            Self::Json(parser) => parser.encode_messages(packet),
            Self::Msgpack(parser) => parser.encode_messages(packet),
        }
    }
}

impl CodecDecoder {
    pub(crate) fn decode(&mut self, message: Message) -> Result<Option<Packet>, DecodeError> {
        match self {
            Self::Json(decoder) => decoder.decode(message),
            Self::Msgpack(decoder) => decoder.decode(message),
        }
    }
}
