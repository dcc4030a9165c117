//! The polling payload: several packets in one HTTP body, separated by `\x1e`.

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::{DecodeError, Message, Packet, packet::BASE64_PREFIX};

/// The record separator between two packets of a payload.
pub const SEPARATOR: u8 = 0x1e;

/// Limits checked while decoding a polling payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadLimits {
    /// The largest body, in bytes.
    pub max_bytes: usize,
    /// The most packets one body may carry.
    pub max_packets: usize,
}

/// Starts decoding a polling payload.
///
/// The size limit is checked at once; the packets are then decoded one by one as the
/// iterator is advanced, and the packet limit is checked as they come. The iterator ends
/// after the first error.
///
/// ```
/// use engineio_core::{decode_payload, Message, Packet, PayloadLimits};
/// let limits = PayloadLimits { max_bytes: 1000, max_packets: 10 };
/// let packets: Result<Vec<_>, _> =
///     decode_payload("4hello\x1ebAQID".into(), limits).unwrap().collect();
/// assert_eq!(
///     packets.unwrap(),
///     [
///         Packet::Message(Message::Text("hello".into())),
///         Packet::Message(Message::Binary(vec![1, 2, 3].into())),
///     ]
/// );
/// ```
pub fn decode_payload(body: Bytes, limits: PayloadLimits) -> Result<PayloadDecoder, DecodeError> {
    if body.len() > limits.max_bytes {
        return Err(DecodeError::PayloadTooLarge {
            size: body.len(),
            max: limits.max_bytes,
        });
    }
    let text = ByteString::try_from(body).map_err(|_| DecodeError::Utf8)?;
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(PayloadDecoder {
        rest: Some(text),
        count: 0,
        max_packets: limits.max_packets,
    })
}

/// The packets of a polling payload, decoded as the iterator advances.
#[derive(Debug)]
pub struct PayloadDecoder {
    rest: Option<ByteString>,
    count: usize,
    max_packets: usize,
}

impl Iterator for PayloadDecoder {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.take()?;
        if self.count == self.max_packets {
            return Some(Err(DecodeError::TooManyPackets {
                max: self.max_packets,
            }));
        }
        self.count += 1;
        // A byte search: a `char` pattern sets up a searcher per call, and the separator
        // is ASCII, a whole character.
        let (current, next) = match memchr::memchr(SEPARATOR, rest.as_bytes()) {
            Some(at) => (
                rest.slice_ref(rest.get(..at).unwrap_or_default()),
                Some(rest.slice_ref(rest.get(at + 1..).unwrap_or_default())),
            ),
            None => (rest, None),
        };
        let packet = decode_payload_packet(current);
        if packet.is_ok() {
            self.rest = next;
        }
        Some(packet)
    }
}

fn decode_payload_packet(text: ByteString) -> Result<Packet, DecodeError> {
    match text.as_bytes().split_first() {
        Some((&BASE64_PREFIX, encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(|data| Packet::Message(Message::Binary(Bytes::from(data))))
            .map_err(|_| DecodeError::Base64),
        _ => Packet::decode_text(text),
    }
}

/// Builds a polling payload, packet by packet, up to a size budget.
///
/// ```
/// use engineio_core::{Packet, PayloadEncoder};
/// let mut payload = PayloadEncoder::new(1000);
/// assert!(payload.try_push(&Packet::Message("a".into())));
/// assert!(payload.try_push(&Packet::Noop));
/// assert_eq!(&payload.finish()[..], b"4a\x1e6");
/// ```
#[derive(Debug)]
pub struct PayloadEncoder {
    out: BytesMut,
    max_bytes: usize,
}

impl PayloadEncoder {
    /// A payload that [`PayloadEncoder::try_push`] keeps within `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            out: BytesMut::new(),
            max_bytes,
        }
    }

    /// Appends a packet if it fits in the budget. The first packet is always taken, so
    /// that a packet larger than the budget still goes out, alone.
    pub fn try_push(&mut self, packet: &Packet) -> bool {
        let separator = usize::from(!self.out.is_empty());
        let len = packet.encoded_text_len();
        if !self.out.is_empty() && self.out.len() + separator + len > self.max_bytes {
            return false;
        }
        self.out.reserve(separator + len);
        if separator == 1 {
            self.out.put_u8(SEPARATOR);
        }
        packet.encode_text(&mut self.out);
        true
    }

    /// Whether no packet was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The payload's bytes.
    pub fn finish(self) -> Bytes {
        self.out.freeze()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LIMITS: PayloadLimits = PayloadLimits {
        max_bytes: 100,
        max_packets: 3,
    };

    fn decode(body: &'static str) -> Vec<Result<Packet, DecodeError>> {
        match decode_payload(Bytes::from_static(body.as_bytes()), LIMITS) {
            Ok(packets) => packets.collect(),
            Err(err) => vec![Err(err)],
        }
    }

    #[test]
    fn splits_on_separator() {
        assert_eq!(
            decode("4a\x1e2\x1e1"),
            [
                Ok(Packet::Message("a".into())),
                Ok(Packet::Ping("".into())),
                Ok(Packet::Close)
            ]
        );
    }

    #[test]
    fn limits() {
        assert_eq!(
            decode("4\x1e4\x1e4\x1e4").last(),
            Some(&Err(DecodeError::TooManyPackets { max: 3 }))
        );
        let big = Bytes::from(vec![b'4'; 101]);
        assert_eq!(
            decode_payload(big, LIMITS).err(),
            Some(DecodeError::PayloadTooLarge {
                size: 101,
                max: 100
            })
        );
    }

    #[test]
    fn malformed() {
        assert_eq!(decode(""), [Err(DecodeError::Empty)]);
        assert_eq!(
            decode("4a\x1e\x1e4b"),
            [Ok(Packet::Message("a".into())), Err(DecodeError::Empty)]
        );
        assert_eq!(decode("b%%%"), [Err(DecodeError::Base64)]);
        assert_eq!(decode("9"), [Err(DecodeError::UnknownType(b'9'))]);
        let invalid = decode_payload(Bytes::from_static(&[b'4', 0xff]), LIMITS);
        assert_eq!(invalid.err(), Some(DecodeError::Utf8));
    }

    #[test]
    fn encoder_respects_budget_but_takes_the_first() {
        let mut payload = PayloadEncoder::new(4);
        assert!(payload.try_push(&Packet::Message("hello".into())));
        assert!(!payload.try_push(&Packet::Noop));
        assert_eq!(&payload.finish()[..], b"4hello");
    }
}
