//! The parser a server speaks: JSON (the default) or msgpack.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use engineio_core::Message;
use serde::Serialize;
use socketio_core::{AnyParser, Decoder, EncodeError, MessageKind, Packet, Parser, ParserKind};

use crate::engine::Outgoing;

/// The parser the server was configured with.
#[derive(Debug, Clone)]
pub(crate) struct ServerParser(AnyParser);

/// A packet encoded once, ready to be queued on any number of sockets.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    /// In a text protocol, framed for Engine.IO once for all the receivers.
    first: Outgoing,
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
    first: Option<Outgoing>,
    rest: std::slice::Iter<'a, Bytes>,
}

impl Iterator for Messages<'_> {
    type Item = Outgoing;

    fn next(&mut self) -> Option<Outgoing> {
        self.first.take().or_else(|| {
            self.rest
                .next()
                .cloned()
                .map(|data| Outgoing::Message(Message::Binary(data)))
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = usize::from(self.first.is_some()) + self.rest.len();
        (len, Some(len))
    }
}

impl ExactSizeIterator for Messages<'_> {}

impl ServerParser {
    pub(crate) fn new(kind: ParserKind, max_attachments: usize) -> Self {
        Self(AnyParser::new(kind, max_attachments))
    }

    pub(crate) fn decoder(&self) -> Box<dyn Decoder> {
        Box::new(self.0.decoder())
    }

    pub(crate) fn encode(&self, packet: &Packet) -> Result<Encoded, EncodeError> {
        let mut out = self.buffer();
        let attachments = self.0.encode(packet, &mut out)?;
        self.finish(out, attachments)
    }

    pub(crate) fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        ack: Option<u64>,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        let mut out = self.buffer();
        let attachments = self.0.encode_event(nsp, event, ack, args, &mut out)?;
        self.finish(out, attachments)
    }

    pub(crate) fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        ack: u64,
        args: &T,
    ) -> Result<Encoded, EncodeError> {
        let mut out = self.buffer();
        let attachments = self.0.encode_ack(nsp, ack, args, &mut out)?;
        self.finish(out, attachments)
    }

    /// Where a packet is encoded: in a text protocol, after the Engine.IO message type,
    /// so that the packet is framed once however many sessions it goes to.
    ///
    /// Room for a small packet from the start: most are, and growing the buffer from
    /// nothing takes several reallocations.
    fn buffer(&self) -> BytesMut {
        let mut out = BytesMut::with_capacity(128);
        if self.0.message_kind() == MessageKind::Text {
            out.extend_from_slice(b"4");
        }
        out
    }

    fn finish(&self, out: BytesMut, attachments: Vec<Bytes>) -> Result<Encoded, EncodeError> {
        let first = if self.0.message_kind() == MessageKind::Text {
            Outgoing::FramedText(ByteString::try_from(out).map_err(|_| EncodeError::NotUtf8)?)
        } else {
            Outgoing::Message(Message::Binary(out.freeze()))
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
