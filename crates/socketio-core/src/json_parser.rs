//! The default parser: the JSON text format with binary attachments.

use bytes::{Bytes, BytesMut};
use serde::Serialize;

use crate::parser::{Decoder, Message, MessageKind, Parser};
use crate::text_decode::{PendingBinary, TextDecoded, decode_text};
use crate::text_encode::{encode_ack, encode_event, encode_packet};
use crate::{DecodeError, EncodeError, Packet};

/// The default Socket.IO parser (socket.io-parser), protocol v5.
///
/// A packet is one text message,
/// `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]`, followed by one
/// binary message per attachment when its arguments hold binary data.
///
/// ```
/// use socketio_core::{Decoder, JsonParser, Message, Parser};
/// use bytes::BytesMut;
///
/// let parser = JsonParser::default();
/// let mut out = BytesMut::from(&b"4"[..]); // the Engine.IO message type
/// let attachments = parser.encode_event("/", "hello", None, &("world", 1), &mut out).unwrap();
/// assert_eq!(&out[..], br#"42["hello","world",1]"#);
/// assert!(attachments.is_empty());
///
/// let mut decoder = parser.decoder();
/// let packet = decoder.decode(Message::Text(r#"2["hello","world",1]"#.into())).unwrap().unwrap();
/// assert_eq!(packet.nsp, "/");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonParser {
    max_attachments: usize,
}

impl JsonParser {
    /// The default limit on attachments per packet.
    pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

    /// A parser with the default limits.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            max_attachments: Self::DEFAULT_MAX_ATTACHMENTS,
        }
    }

    /// Sets how many attachments one incoming packet may announce; more is a
    /// [`DecodeError::TooManyAttachments`]. Attachments are buffered until the packet is
    /// complete, so this bounds the memory one packet can hold (with the Engine.IO
    /// message size limit).
    #[must_use]
    pub const fn with_max_attachments(mut self, max: usize) -> Self {
        self.max_attachments = max;
        self
    }

    /// The limit on attachments per incoming packet.
    #[must_use]
    pub const fn max_attachments(&self) -> usize {
        self.max_attachments
    }
}

impl Default for JsonParser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser for JsonParser {
    type Decoder = JsonDecoder;

    fn message_kind(&self) -> MessageKind {
        MessageKind::Text
    }

    fn decoder(&self) -> JsonDecoder {
        JsonDecoder {
            max_attachments: self.max_attachments,
            pending: None,
        }
    }

    fn encode(&self, packet: &Packet, out: &mut BytesMut) -> Result<Vec<Bytes>, EncodeError> {
        encode_packet(packet, out)
    }

    fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        ack: Option<u64>,
        args: &T,
        out: &mut BytesMut,
    ) -> Result<Vec<Bytes>, EncodeError> {
        encode_event(out, nsp, event, ack, args)
    }

    fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        ack: u64,
        args: &T,
        out: &mut BytesMut,
    ) -> Result<Vec<Bytes>, EncodeError> {
        encode_ack(out, nsp, ack, args)
    }
}

/// The per-connection decoder of [`JsonParser`].
#[derive(Debug)]
pub struct JsonDecoder {
    max_attachments: usize,
    pending: Option<PendingBinary>,
}

impl Decoder for JsonDecoder {
    fn decode(&mut self, message: Message) -> Result<Option<Packet>, DecodeError> {
        match message {
            Message::Text(text) => {
                if self.pending.take().is_some() {
                    return Err(DecodeError::UnexpectedText);
                }
                match decode_text(&text, self.max_attachments)? {
                    TextDecoded::Complete(packet) => Ok(Some(packet)),
                    TextDecoded::Pending(pending) => {
                        self.pending = Some(pending);
                        Ok(None)
                    }
                }
            }
            Message::Binary(data) => {
                let pending = self
                    .pending
                    .take()
                    .ok_or_else(|| DecodeError::UnexpectedBinary)?;
                match pending.push(data)? {
                    Ok(packet) => Ok(Some(packet)),
                    Err(pending) => {
                        self.pending = Some(pending);
                        Ok(None)
                    }
                }
            }
        }
    }

    fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}
