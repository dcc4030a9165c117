//! The `Parser` trait: how packets become Engine.IO messages and back.

use std::fmt;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use serde::Serialize;

use crate::{DecodeError, EncodeError, Packet};

/// One Engine.IO `message` packet's data, as the Socket.IO layer sees it (without the
/// Engine.IO type prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A text message.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
}

/// Whether a message is text or binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// Text (UTF-8).
    Text,
    /// Binary.
    Binary,
}

/// A Socket.IO parser: turns packets into Engine.IO messages and back.
///
/// A packet encodes to one first message, of the parser's [`Parser::message_kind`],
/// followed by zero or more binary attachments. The `encode*` methods append the first
/// message to a caller's `BytesMut`: the caller may write a prefix first (the Engine.IO
/// message type `4` for a text message), and then splits the buffer, so that
/// `42["event",...]` is built in one buffer with no copy and can be shared, as `Bytes`,
/// by every socket a broadcast goes to. On error `out` is left as it was.
///
/// Decoding is incremental and needs per-connection state (a binary packet waits for
/// its attachments): each connection gets its own [`Parser::decoder`].
///
/// Two parsers are provided: [`JsonParser`](crate::JsonParser), the default of every
/// Socket.IO implementation, and [`MsgpackParser`](crate::MsgpackParser), compatible
/// with the npm `socket.io-msgpack-parser`. Both ends of a connection must use the same.
pub trait Parser: fmt::Debug + Clone + Send + Sync + 'static {
    /// The per-connection decoder.
    type Decoder: Decoder;

    /// The kind of the first message of every packet this parser encodes (attachments,
    /// if any, are always binary).
    fn message_kind(&self) -> MessageKind;

    /// A decoder for a new connection.
    fn decoder(&self) -> Self::Decoder;

    /// Appends the first message of `packet` to `out` and returns the binary
    /// attachments to send after it, in order.
    ///
    /// # Errors
    ///
    /// When the packet cannot be represented (see [`EncodeError`]).
    fn encode(&self, packet: &Packet, out: &mut BytesMut) -> Result<Vec<Bytes>, EncodeError>;

    /// Appends an EVENT built from typed `args` straight to `out` (no intermediate
    /// [`Packet`]) and returns the binary attachments.
    ///
    /// `args` follows the tuple rule of [`Args`](crate::Args): a tuple is several
    /// arguments, `()` none, anything else one. Binary values (anything that serializes
    /// with `serialize_bytes`, such as `bytes::Bytes` or
    /// [`Value::Binary`](crate::Value::Binary)) become attachments or msgpack `bin`.
    ///
    /// # Errors
    ///
    /// A bad namespace, a reserved event name, or a failing `Serialize` impl.
    fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        ack: Option<u64>,
        args: &T,
        out: &mut BytesMut,
    ) -> Result<Vec<Bytes>, EncodeError>;

    /// Appends an ACK for event `ack`, built from typed `args`, straight to `out`, and
    /// returns the binary attachments. See [`Parser::encode_event`].
    ///
    /// # Errors
    ///
    /// A bad namespace or a failing `Serialize` impl.
    fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        ack: u64,
        args: &T,
        out: &mut BytesMut,
    ) -> Result<Vec<Bytes>, EncodeError>;

    /// Encodes `packet` into the messages to send, in order. A convenience over
    /// [`Parser::encode`] for callers that need no prefix.
    ///
    /// # Errors
    ///
    /// As [`Parser::encode`].
    fn encode_messages(&self, packet: &Packet) -> Result<Vec<Message>, EncodeError> {
        let mut out = BytesMut::new();
        let attachments = self.encode(packet, &mut out)?;
        let first = match self.message_kind() {
            MessageKind::Text => {
                Message::Text(ByteString::try_from(out).map_err(|_| EncodeError::NotUtf8)?)
            }
            MessageKind::Binary => Message::Binary(out.freeze()),
        };
        let mut messages = Vec::with_capacity(1 + attachments.len());
        messages.push(first);
        messages.extend(attachments.into_iter().map(Message::Binary));
        Ok(messages)
    }
}

/// The per-connection decoding state of a [`Parser`].
pub trait Decoder: fmt::Debug + Send {
    /// Feeds the next message from the peer; returns a packet once one is complete.
    ///
    /// `Ok(None)` means the message was part of a packet that is not complete yet (a
    /// binary packet waiting for its attachments).
    ///
    /// # Errors
    ///
    /// When the message is not valid here. The connection should then be closed; the
    /// decoder itself is reset and can be fed again.
    fn decode(&mut self, message: Message) -> Result<Option<Packet>, DecodeError>;

    /// Whether a packet is partly received (waiting for attachments).
    fn is_pending(&self) -> bool;
}
