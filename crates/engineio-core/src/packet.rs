//! One Engine.IO packet, and how it maps to a WebSocket frame.

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::{DecodeError, Handshake};

/// An application message carried by a `message` packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A UTF-8 text message.
    Text(ByteString),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// The length of the message's data in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(data) => data.len(),
        }
    }

    /// Whether the message carries no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Self::Text(ByteString::from(text))
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Self::Text(ByteString::from(text))
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Self::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Self::Binary(Bytes::from(data))
    }
}

/// An Engine.IO v4 packet.
///
/// On the wire a packet is its type as one ASCII digit followed by its data, except a
/// binary message, which a WebSocket carries as a raw binary frame and a polling payload
/// as `b` followed by the base64 of the data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Packet {
    /// `0`: the handshake, sent by the server once, first.
    Open(Handshake),
    /// `1`: the transport is to be closed.
    Close,
    /// `2`: a heartbeat ping; the data is `probe` during an upgrade, usually empty.
    Ping(ByteString),
    /// `3`: the answer to a ping, carrying the ping's data.
    Pong(ByteString),
    /// `4`: an application message.
    Message(Message),
    /// `5`: the client switches to the probed transport.
    Upgrade,
    /// `6`: nothing; ends a pending long-polling request during an upgrade.
    Noop,
}

/// A WebSocket frame carrying one Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame: the packet's type digit followed by its data.
    Text(ByteString),
    /// A binary frame: the data of a binary message, with no prefix (protocol v4).
    Binary(Bytes),
}

const OPEN: u8 = b'0';
const CLOSE: u8 = b'1';
const PING: u8 = b'2';
const PONG: u8 = b'3';
pub(crate) const MESSAGE: u8 = b'4';
const UPGRADE: u8 = b'5';
const NOOP: u8 = b'6';
/// Prefix of a base64-encoded binary message inside a polling payload.
pub(crate) const BASE64_PREFIX: u8 = b'b';

impl Packet {
    /// The ping of an upgrade probe, `2probe`.
    pub fn probe_ping() -> Self {
        Self::Ping(ByteString::from_static("probe"))
    }

    /// The answer to an upgrade probe, `3probe`.
    pub fn probe_pong() -> Self {
        Self::Pong(ByteString::from_static("probe"))
    }

    /// Whether this is the `probe` ping or pong of an upgrade.
    pub fn is_probe(&self) -> bool {
        matches!(self, Self::Ping(data) | Self::Pong(data) if data == "probe")
    }

    /// Decodes a packet from its text form (a WebSocket text frame, or one packet of a
    /// polling payload that is not a base64 binary message).
    pub fn decode_text(text: ByteString) -> Result<Self, DecodeError> {
        let Some(&kind) = text.as_bytes().first() else {
            return Err(DecodeError::Empty);
        };
        // The type is one ASCII byte, so the data starts on a char boundary.
        let data = || text.slice_ref(text.get(1..).unwrap_or_default());
        Ok(match kind {
            OPEN => Self::Open(Handshake::from_json(text.get(1..).unwrap_or_default())?),
            CLOSE => Self::Close,
            PING => Self::Ping(data()),
            PONG => Self::Pong(data()),
            MESSAGE => Self::Message(Message::Text(data())),
            UPGRADE => Self::Upgrade,
            NOOP => Self::Noop,
            other => return Err(DecodeError::UnknownType(other)),
        })
    }

    /// Decodes a packet from a WebSocket frame.
    pub fn decode_frame(frame: Frame) -> Result<Self, DecodeError> {
        match frame {
            Frame::Text(text) => Self::decode_text(text),
            Frame::Binary(data) => Ok(Self::Message(Message::Binary(data))),
        }
    }

    /// Encodes the packet as a WebSocket frame.
    pub fn to_frame(&self) -> Frame {
        match self {
            Self::Message(Message::Binary(data)) => Frame::Binary(data.clone()),
            // The hot path, once per message and receiver: built as a `String`, so that
            // the text is not validated as UTF-8 once more.
            Self::Message(Message::Text(text)) => {
                let mut out = String::with_capacity(1 + text.len());
                out.push(char::from(MESSAGE));
                out.push_str(text);
                Frame::Text(ByteString::from(out))
            }
            _ => {
                let mut out = BytesMut::with_capacity(1 + self.data_len_hint());
                self.encode_text(&mut out);
                // Only ASCII digits and UTF-8 text were written.
                match ByteString::try_from(out.freeze()) {
                    Ok(text) => Frame::Text(text),
                    Err(_) => Frame::Text(ByteString::new()),
                }
            }
        }
    }

    /// Appends the packet's text form to `out`: its type digit then its data, or for a
    /// binary message, `b` then the base64 of the data (the polling form).
    pub fn encode_text(&self, out: &mut BytesMut) {
        match self {
            Self::Open(handshake) => {
                out.put_u8(OPEN);
                handshake.write_json(out);
            }
            Self::Close => out.put_u8(CLOSE),
            Self::Ping(data) => {
                out.put_u8(PING);
                out.put_slice(data.as_bytes());
            }
            Self::Pong(data) => {
                out.put_u8(PONG);
                out.put_slice(data.as_bytes());
            }
            Self::Message(Message::Text(text)) => {
                out.put_u8(MESSAGE);
                out.put_slice(text.as_bytes());
            }
            Self::Message(Message::Binary(data)) => {
                use base64::Engine as _;
                out.put_u8(BASE64_PREFIX);
                let start = out.len();
                let encoded_len = data.len().div_ceil(3) * 4;
                out.resize(start + encoded_len, 0);
                if let Some(dest) = out.get_mut(start..) {
                    let written = base64::engine::general_purpose::STANDARD
                        .encode_slice(data, dest)
                        .unwrap_or(0);
                    out.truncate(start + written);
                }
            }
            Self::Upgrade => out.put_u8(UPGRADE),
            Self::Noop => out.put_u8(NOOP),
        }
    }

    /// The number of bytes [`Packet::encode_text`] appends.
    pub fn encoded_text_len(&self) -> usize {
        match self {
            Self::Message(Message::Binary(data)) => 1 + data.len().div_ceil(3) * 4,
            Self::Open(_) => {
                let mut out = BytesMut::new();
                self.encode_text(&mut out);
                out.len()
            }
            _ => 1 + self.data_len_hint(),
        }
    }

    fn data_len_hint(&self) -> usize {
        match self {
            Self::Ping(data) | Self::Pong(data) | Self::Message(Message::Text(data)) => data.len(),
            Self::Message(Message::Binary(data)) => data.len(),
            Self::Open(_) => 128,
            Self::Close | Self::Upgrade | Self::Noop => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn text(s: &'static str) -> ByteString {
        ByteString::from_static(s)
    }

    #[test]
    fn decodes_every_text_type() {
        assert_eq!(Packet::decode_text(text("1")), Ok(Packet::Close));
        assert_eq!(Packet::decode_text(text("2")), Ok(Packet::Ping(text(""))));
        assert_eq!(
            Packet::decode_text(text("2probe")),
            Ok(Packet::probe_ping())
        );
        assert_eq!(
            Packet::decode_text(text("3probe")),
            Ok(Packet::probe_pong())
        );
        assert_eq!(
            Packet::decode_text(text("4héllo")),
            Ok(Packet::Message(Message::Text(text("héllo"))))
        );
        assert_eq!(Packet::decode_text(text("5")), Ok(Packet::Upgrade));
        assert_eq!(Packet::decode_text(text("6")), Ok(Packet::Noop));
    }

    #[test]
    fn rejects_unknown_and_empty() {
        assert_eq!(Packet::decode_text(text("")), Err(DecodeError::Empty));
        assert_eq!(
            Packet::decode_text(text("7")),
            Err(DecodeError::UnknownType(b'7'))
        );
        assert_eq!(
            Packet::decode_text(text("x4")),
            Err(DecodeError::UnknownType(b'x'))
        );
        assert!(matches!(
            Packet::decode_text(text("0{")),
            Err(DecodeError::Handshake(_))
        ));
    }

    #[test]
    fn frames() {
        let bin = Packet::Message(Message::Binary(Bytes::from_static(&[1, 2, 3])));
        assert_eq!(
            bin.to_frame(),
            Frame::Binary(Bytes::from_static(&[1, 2, 3]))
        );
        assert_eq!(Packet::probe_pong().to_frame(), Frame::Text(text("3probe")));
        assert_eq!(Packet::decode_frame(bin.to_frame()), Ok(bin));
    }

    #[test]
    fn binary_text_form_is_base64() {
        let bin = Packet::Message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4])));
        let mut out = BytesMut::new();
        bin.encode_text(&mut out);
        assert_eq!(&out[..], b"bAQIDBA==");
        assert_eq!(bin.encoded_text_len(), out.len());
    }
}
