//! The parser a server speaks: JSON (the default) or msgpack.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use engineio_core::Message;
use serde::Serialize;
use socketio_core::{Decoder, EncodeError, JsonParser, MsgpackParser, Packet, Parser};

/// Which Socket.IO parser the server speaks. Clients must use the same one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParserKind {
    /// The default text format, with binary attachments.
    #[default]
    Json,
    /// msgpack, compatible with the npm `socket.io-msgpack-parser`.
    Msgpack,
}

#[derive(Debug, Clone)]
pub(crate) enum AnyParser {
    Json(JsonParser),
    Msgpack(MsgpackParser),
}

/// A packet encoded once, ready to be queued on any number of sockets.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    first: Message,
    attachments: Vec<Bytes>,
}

impl Encoded {
    /// The Engine.IO messages that carry the packet, in order.
    pub(crate) fn messages(&self) -> Messages<'_> {
        Messages {
            first: Some(self.first.clone()),
            rest: self.attachments.iter(),
        }
    }
}

/// The messages of an [`Encoded`] packet: cheap clones of shared buffers.
pub(crate) struct Messages<'a> {
    first: Option<Message>,
    rest: std::slice::Iter<'a, Bytes>,
}

impl Iterator for Messages<'_> {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        self.first
            .take()
            .or_else(|| self.rest.next().cloned().map(Message::Binary))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = usize::from(self.first.is_some()) + self.rest.len();
        (len, Some(len))
    }
}

impl ExactSizeIterator for Messages<'_> {}

impl AnyParser {
    pub(crate) fn new(kind: ParserKind, max_attachments: usize) -> Self {
        match kind {
            ParserKind::Json => {
                Self::Json(JsonParser::default().with_max_attachments(max_attachments))
            }
            ParserKind::Msgpack => Self::Msgpack(MsgpackParser::default()),
        }
    }

    pub(crate) fn decoder(&self) -> Box<dyn Decoder> {
        match self {
            Self::Json(parser) => Box::new(parser.decoder()),
            Self::Msgpack(parser) => Box::new(parser.decoder()),
        }
    }

    pub(crate) fn encode(&self, packet: &Packet) -> Result<Encoded, EncodeError> {
        let mut out = BytesMut::new();
        let attachments = match self {
            Self::Json(parser) => parser.encode(packet, &mut out)?,
            Self::Msgpack(parser) => parser.encode(packet, &mut out)?,
        };
        self.finish(out, attachments)
    }

    pub(crate) fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        ack: Option<u64>,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        let mut out = BytesMut::new();
        let attachments = match self {
            Self::Json(parser) => parser.encode_event(nsp, event, ack, args, &mut out)?,
            Self::Msgpack(parser) => parser.encode_event(nsp, event, ack, args, &mut out)?,
        };
        self.finish(out, attachments)
    }

    pub(crate) fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        ack: u64,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        let mut out = BytesMut::new();
        let attachments = match self {
            Self::Json(parser) => parser.encode_ack(nsp, ack, args, &mut out)?,
            Self::Msgpack(parser) => parser.encode_ack(nsp, ack, args, &mut out)?,
        };
        self.finish(out, attachments)
    }

    fn finish(&self, out: BytesMut, attachments: Vec<Bytes>) -> Result<Encoded, EncodeError> {
        let first = match self {
            Self::Json(_) => {
                Message::Text(ByteString::try_from(out).map_err(|_| EncodeError::NotUtf8)?)
            }
            Self::Msgpack(_) => Message::Binary(out.freeze()),
        };
        Ok(Encoded { first, attachments })
    }
}

/// The Socket.IO view of an Engine.IO message.
pub(crate) fn to_socketio(message: Message) -> socketio_core::Message {
    match message {
        Message::Text(text) => socketio_core::Message::Text(text),
        Message::Binary(data) => socketio_core::Message::Binary(data),
    }
}
