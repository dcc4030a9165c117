//! Decoding of the default text format, and reassembly of binary packets.

use bytes::Bytes;
use bytestring::ByteString;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;
use serde_json::value::RawValue;

use crate::attachments::plug;
use crate::{Args, DecodeError, Packet, PacketKind, PacketType, Value, is_reserved_event};

/// What one text message decodes to.
#[derive(Debug)]
pub(crate) enum TextDecoded {
    /// A whole packet.
    Complete(Packet),
    /// A binary packet whose attachments follow as binary messages.
    Pending(PendingBinary),
}

/// A BINARY_EVENT or BINARY_ACK waiting for its attachments.
#[derive(Debug)]
pub(crate) struct PendingBinary {
    ty: PacketType,
    nsp: ByteString,
    ack: Option<u64>,
    payload: ByteString,
    expected: usize,
    received: Vec<Bytes>,
}

impl PendingBinary {
    /// Adds the next attachment; returns the packet once all have arrived.
    pub(crate) fn push(mut self, attachment: Bytes) -> Result<Result<Packet, Self>, DecodeError> {
        self.received.push(attachment);
        if self.received.len() >= self.expected {
            self.finish().map(Ok)
        } else {
            Ok(Err(self))
        }
    }

    /// Builds the packet: placeholders are replaced by the attachments.
    fn finish(self) -> Result<Packet, DecodeError> {
        let ty = self.ty;
        let mut value: Value =
            serde_json::from_str(&self.payload).map_err(|e| json_error(ty, e))?;
        plug(&mut value, &self.received).map_err(|_| DecodeError::InvalidPlaceholder)?;
        let Value::Array(mut items) = value else {
            return Err(DecodeError::InvalidPayload(ty));
        };
        let kind = if ty == PacketType::BinaryEvent {
            if items.is_empty() {
                return Err(DecodeError::InvalidEventName);
            }
            let event = match items.remove(0) {
                Value::String(s) => ByteString::from(s),
                Value::Number(n) => ByteString::from(n.to_string()),
                _ => return Err(DecodeError::InvalidEventName),
            };
            check_reserved(event.clone())?;
            PacketKind::Event {
                event,
                args: Args::from_values(items),
                ack: self.ack,
            }
        } else {
            PacketKind::Ack {
                ack: self.ack.ok_or_else(|| DecodeError::MissingAckId)?,
                args: Args::from_values(items),
            }
        };
        Ok(Packet {
            nsp: self.nsp,
            kind,
        })
    }
}

/// A JSON error on a payload: valid JSON of the wrong type is an invalid payload,
/// anything else is malformed JSON.
fn json_error(ty: PacketType, e: serde_json::Error) -> DecodeError {
    if e.classify() == Category::Data {
        DecodeError::InvalidPayload(ty)
    } else {
        DecodeError::Json(e)
    }
}

fn check_reserved(event: ByteString) -> Result<ByteString, DecodeError> {
    if is_reserved_event(&event) {
        Err(DecodeError::ReservedEventName(event))
    } else {
        Ok(event)
    }
}

/// The number of ASCII digits at `pos`.
fn digits_at(bytes: &[u8], pos: usize) -> usize {
    bytes.get(pos..).map_or(0, |rest| {
        rest.iter().take_while(|b| b.is_ascii_digit()).count()
    })
}

/// The value of the digits `bytes[pos..pos + len]`, `None` past `u64::MAX`.
fn parse_digits(bytes: &[u8], pos: usize, len: usize) -> Option<u64> {
    bytes.get(pos..pos + len)?.iter().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Decodes one text message: a whole packet, or the first part of a binary packet.
pub(crate) fn decode_text(
    text: &ByteString,
    max_attachments: usize,
) -> Result<TextDecoded, DecodeError> {
    let s: &str = text;
    let bytes = s.as_bytes();
    let first = *bytes.first().ok_or_else(|| DecodeError::EmptyPacket)?;
    let ty = first
        .checked_sub(b'0')
        .and_then(PacketType::from_u8)
        .ok_or_else(|| DecodeError::UnknownPacketType(first))?;
    let mut pos = 1;

    let attachments = if ty.is_binary() {
        let len = digits_at(bytes, pos);
        if len == 0 || bytes.get(pos + len) != Some(&b'-') {
            return Err(DecodeError::InvalidAttachmentCount);
        }
        let count = parse_digits(bytes, pos, len).unwrap_or(u64::MAX);
        let max = max_attachments;
        let count = usize::try_from(count)
            .ok()
            .filter(|c| *c <= max)
            .ok_or_else(|| DecodeError::TooManyAttachments { count, max })?;
        pos += len + 1;
        count
    } else {
        0
    };

    // "a namespace starts with / and ends at the first ," (or at the end of the text).
    let nsp = if bytes.get(pos) == Some(&b'/') {
        let rest = s.get(pos..).unwrap_or_default();
        let (name, consumed) = match rest.find(',') {
            Some(comma) => (rest.get(..comma).unwrap_or_default(), comma + 1),
            None => (rest, rest.len()),
        };
        pos += consumed;
        text.slice_ref(name)
    } else {
        ByteString::from_static("/")
    };

    let len = digits_at(bytes, pos);
    let ack = if len > 0 {
        Some(parse_digits(bytes, pos, len).ok_or_else(|| DecodeError::InvalidAckId)?)
    } else {
        None
    };
    pos += len;

    let payload = s.get(pos..).filter(|p| !p.is_empty());

    if ack.is_some()
        && !matches!(
            ty,
            PacketType::Event | PacketType::Ack | PacketType::BinaryEvent | PacketType::BinaryAck
        )
    {
        return Err(DecodeError::UnexpectedAckId(ty));
    }
    if ack.is_none() && matches!(ty, PacketType::Ack | PacketType::BinaryAck) {
        return Err(DecodeError::MissingAckId);
    }

    let kind = match ty {
        PacketType::Connect => PacketKind::Connect(match payload {
            None => None,
            Some(p) => Some(parse_object(ty, p, false)?),
        }),
        PacketType::Disconnect => {
            if payload.is_some() {
                return Err(DecodeError::UnexpectedPayload(ty));
            }
            PacketKind::Disconnect
        }
        PacketType::ConnectError => {
            let p = payload.ok_or_else(|| DecodeError::MissingPayload(ty))?;
            PacketKind::ConnectError(parse_object(ty, p, true)?)
        }
        PacketType::Event | PacketType::Ack => {
            let p = payload.ok_or_else(|| DecodeError::MissingPayload(ty))?;
            let payload = text.slice_ref(p);
            let is_event = ty == PacketType::Event;
            let scan = scan_args(ty, &payload, is_event)?;
            if is_event {
                PacketKind::Event {
                    event: scan.event.ok_or_else(|| DecodeError::InvalidEventName)?,
                    args: Args::from_json(payload, true, scan.elems, scan.len),
                    ack,
                }
            } else {
                PacketKind::Ack {
                    ack: ack.ok_or_else(|| DecodeError::MissingAckId)?,
                    args: Args::from_json(payload, false, scan.elems, scan.len),
                }
            }
        }
        PacketType::BinaryEvent | PacketType::BinaryAck => {
            let p = payload.ok_or_else(|| DecodeError::MissingPayload(ty))?;
            let pending = PendingBinary {
                ty,
                nsp,
                ack,
                payload: text.slice_ref(p),
                expected: attachments,
                received: Vec::with_capacity(attachments),
            };
            return if attachments == 0 {
                pending.finish().map(TextDecoded::Complete)
            } else {
                Ok(TextDecoded::Pending(pending))
            };
        }
    };
    Ok(TextDecoded::Complete(Packet { nsp, kind }))
}

/// Parses the payload of CONNECT (an object) or CONNECT_ERROR (an object or a string).
fn parse_object(ty: PacketType, payload: &str, string_ok: bool) -> Result<Value, DecodeError> {
    let value: Value = serde_json::from_str(payload).map_err(|e| json_error(ty, e))?;
    match value {
        Value::Object(_) => Ok(value),
        Value::String(_) if string_ok => Ok(value),
        _ => Err(DecodeError::InvalidPayload(ty)),
    }
}

/// What a scan of an argument array found.
struct Scan {
    /// The event name, when the first element is one.
    event: Option<ByteString>,
    /// Where the arguments are in the payload.
    elems: std::ops::Range<usize>,
    /// How many arguments there are.
    len: usize,
}

/// Validates the argument array of an EVENT or ACK without building it: each element is
/// checked as JSON (numbers included: `1e999` is refused here, not when a handler reads
/// it) and skipped; only its count and position are kept.
fn scan_args(ty: PacketType, payload: &ByteString, is_event: bool) -> Result<Scan, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(payload);
    let raw = de
        .deserialize_seq(ScanVisitor { is_event })
        .map_err(|e| json_error(ty, e))?;
    de.end().map_err(DecodeError::Json)?;

    let text: &str = payload;
    let (event, after) = match raw.name {
        Some(name) => {
            let start =
                offset_in(text, name.get()).ok_or_else(|| DecodeError::InvalidPayload(ty))?;
            let event = check_reserved(event_name(payload, name.get())?)?;
            (Some(event), start + name.get().len())
        }
        None if is_event => return Err(DecodeError::InvalidEventName),
        // The opening bracket is the first thing after any leading whitespace.
        None => (None, text.len() - trim_json_ws_start(text).len() + 1),
    };
    // The text is a valid array: after the name comes `,` (more elements) or `]`, and
    // the array ends with the last `]`.
    let rest = text.get(after..).unwrap_or_default();
    let start = match trim_json_ws_start(rest).strip_prefix(',') {
        Some(elements) => text.len() - elements.len(),
        None => after,
    };
    let end = trim_json_ws_end(text).len().saturating_sub(1).max(start);
    let elements = text.get(start..end).unwrap_or_default();
    let trimmed = trim_json_ws_start(trim_json_ws_end(elements));
    let elems = match offset_in(text, trimmed) {
        Some(offset) if raw.len > 0 => offset..offset + trimmed.len(),
        _ => end..end,
    };
    Ok(Scan {
        event,
        elems,
        len: raw.len,
    })
}

fn is_json_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn trim_json_ws_start(s: &str) -> &str {
    s.trim_start_matches(is_json_ws)
}

fn trim_json_ws_end(s: &str) -> &str {
    s.trim_end_matches(is_json_ws)
}

/// The byte offset of `inner` in `outer`, if `inner` is a slice of `outer`.
fn offset_in(outer: &str, inner: &str) -> Option<usize> {
    let offset = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (offset.checked_add(inner.len())? <= outer.len()).then_some(offset)
}

/// The event name from the raw JSON of the first element: a string, or a number (read as
/// its decimal text, as a JavaScript event emitter keys it).
fn event_name(payload: &ByteString, raw: &str) -> Result<ByteString, DecodeError> {
    match raw.as_bytes().first() {
        Some(b'"') => match serde_json::from_str::<&str>(raw) {
            // No escape in the name: share the message's bytes.
            Ok(name) => Ok(payload.slice_ref(name)),
            Err(_) => serde_json::from_str::<String>(raw)
                .map(ByteString::from)
                .map_err(DecodeError::Json),
        },
        Some(b'-' | b'0'..=b'9') => serde_json::from_str::<serde_json::Number>(raw)
            .map(|n| ByteString::from(n.to_string()))
            .map_err(DecodeError::Json),
        _ => Err(DecodeError::InvalidEventName),
    }
}

/// What a scan of an argument array saw.
struct RawArgs<'a> {
    name: Option<&'a RawValue>,
    len: usize,
}

struct ScanVisitor {
    is_event: bool,
}

impl<'de> Visitor<'de> for ScanVisitor {
    type Value = RawArgs<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawArgs<'de>, A::Error> {
        let name = if self.is_event {
            seq.next_element::<&'de RawValue>()?
        } else {
            None
        };
        let mut len = 0;
        while seq.next_element::<Checked>()?.is_some() {
            len += 1;
        }
        Ok(RawArgs { name, len })
    }
}

/// A JSON value read in full (every number parsed, every string checked) and dropped.
///
/// Skipping with `IgnoredAny` or `RawValue` only checks the syntax, so a number such as
/// `1e999` would pass the decoder and fail later, in a handler.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}
