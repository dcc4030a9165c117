//! Encoding of the default text format:
//! `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]`.

use std::cell::RefCell;
use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use serde::Serialize;

use crate::attachments::{Sink, serialize_extracting};
use crate::shape::{ElementSink, Shape, ser_shape, spread_tuple};
use crate::{Args, EncodeError, Packet, PacketKind, PacketType, Value, is_reserved_event};

/// Checks a namespace for the text format.
///
/// The spec: the namespace "is delimited by a comma and there is no escape sequence, so
/// a namespace encoded with this parser MUST NOT contain a comma". It also has to start
/// with `/`, or the decoder would not see it as a namespace.
pub(crate) fn check_namespace(nsp: &str) -> Result<(), EncodeError> {
    if nsp.is_empty() || (nsp.starts_with('/') && !nsp.contains(',')) {
        Ok(())
    } else {
        Err(EncodeError::InvalidNamespace(ByteString::from(nsp)))
    }
}

pub(crate) fn check_event_name(event: &str) -> Result<(), EncodeError> {
    if is_reserved_event(event) {
        Err(EncodeError::ReservedEventName(ByteString::from(event)))
    } else {
        Ok(())
    }
}

/// Writes the type, namespace and ack id. Binary packets are written as their plain
/// type first and fixed by [`mark_binary`] once the attachments are counted.
fn write_header(out: &mut BytesMut, ty: PacketType, nsp: &str, ack: Option<u64>) {
    out.put_u8(ty.as_ascii());
    // "the namespace is only included if it is different from the main namespace (`/`)"
    if !nsp.is_empty() && nsp != "/" {
        out.extend_from_slice(nsp.as_bytes());
        out.put_u8(b',');
    }
    if let Some(id) = ack {
        // Writing to a `BytesMut` cannot fail.
        let _ = write!(out, "{id}");
    }
}

/// Turns the EVENT (ACK) header written at `start` into a BINARY_EVENT (BINARY_ACK)
/// header with `count` attachments, in place.
///
/// Only packets with binary pay for this move of their payload; the common case
/// serializes straight into `out` and never comes here.
fn mark_binary(out: &mut BytesMut, start: usize, count: usize) {
    if count == 0 {
        return;
    }
    let mut insert = BytesMut::with_capacity(24);
    let _ = write!(insert, "{count}-");
    let old_len = out.len();
    let after_type = start + 1;
    if after_type > old_len {
        return;
    }
    out.resize(old_len + insert.len(), 0);
    out.copy_within(after_type..old_len, after_type + insert.len());
    if let Some(dst) = out.get_mut(after_type..after_type + insert.len()) {
        dst.copy_from_slice(&insert);
    }
    if let Some(ty) = out.get_mut(start) {
        // EVENT (2) -> BINARY_EVENT (5), ACK (3) -> BINARY_ACK (6).
        *ty += 3;
    }
}

fn json_err(e: serde_json::Error) -> EncodeError {
    EncodeError::Json(e)
}

/// Writes `s` as a JSON string.
pub(crate) fn write_json_str(out: &mut BytesMut, s: &str) -> Result<(), EncodeError> {
    // Most strings here (event names, namespaces) have nothing to escape: JSON escapes
    // only quotes, backslashes and control characters, and writes the rest as it is.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.put_u8(b'"');
        out.extend_from_slice(s.as_bytes());
        out.put_u8(b'"');
        return Ok(());
    }
    serde_json::to_writer(out.writer(), s).map_err(json_err)
}

/// Writes `value` as JSON, its binary parts as placeholders appended to `attachments`
/// (shared, not copied).
pub(crate) fn write_value(
    out: &mut BytesMut,
    value: &Value,
    attachments: &mut Vec<Bytes>,
) -> Result<(), EncodeError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => serde_json::to_writer(out.writer(), n).map_err(json_err)?,
        Value::String(s) => write_json_str(out, s)?,
        Value::Binary(b) => {
            let _ = write!(
                out,
                r#"{{"_placeholder":true,"num":{}}}"#,
                attachments.len()
            );
            attachments.push(b.clone());
        }
        Value::Array(items) => {
            out.put_u8(b'[');
            write_values(out, items, attachments)?;
            out.put_u8(b']');
        }
        Value::Object(map) => {
            out.put_u8(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.put_u8(b',');
                }
                write_json_str(out, k)?;
                out.put_u8(b':');
                write_value(out, v, attachments)?;
            }
            out.put_u8(b'}');
        }
    }
    Ok(())
}

/// Writes `values` separated by commas.
fn write_values(
    out: &mut BytesMut,
    values: &[Value],
    attachments: &mut Vec<Bytes>,
) -> Result<(), EncodeError> {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        write_value(out, v, attachments)?;
    }
    Ok(())
}

/// Serializes `data` as JSON straight into `out`, binary replaced by placeholders.
fn serialize_json<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    data: &T,
    sink: &Sink,
) -> Result<(), EncodeError> {
    let mut ser = serde_json::Serializer::new(out.writer());
    serialize_extracting(data, &mut ser, sink).map_err(json_err)
}

/// Writes the elements of a tuple as separate JSON array elements.
struct JsonElements<'a> {
    out: &'a mut BytesMut,
    sink: &'a Sink,
    first: bool,
}

impl ElementSink for JsonElements<'_> {
    type Error = serde_json::Error;

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), serde_json::Error> {
        if !self.first {
            self.out.put_u8(b',');
        }
        self.first = false;
        let mut ser = serde_json::Serializer::new((&mut *self.out).writer());
        serialize_extracting(value, &mut ser, self.sink)
    }
}

/// Writes the JSON array `[<name>,<arguments...>]` (or `[<arguments...>]` without a
/// name) for typed `data`, spread over arguments by the tuple rule of [`Args`].
/// Returns the number of arguments.
pub(crate) fn write_args_array<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    name: Option<&str>,
    data: &T,
    sink: &Sink,
) -> Result<usize, EncodeError> {
    out.put_u8(b'[');
    if let Some(name) = name {
        write_json_str(out, name)?;
    }
    let count = match ser_shape(data) {
        Shape::Unit => 0,
        Shape::Single => {
            if name.is_some() {
                out.put_u8(b',');
            }
            serialize_json(out, data, sink)?;
            1
        }
        Shape::Tuple(len) => {
            let mut elements = JsonElements {
                out: &mut *out,
                sink,
                first: name.is_none(),
            };
            spread_tuple(data, &mut elements).map_err(json_err)?;
            len
        }
    };
    out.put_u8(b']');
    Ok(count)
}

/// Writes the argument array of a packet holding [`Args`].
fn write_args(
    out: &mut BytesMut,
    name: Option<&str>,
    args: &Args,
    attachments: &mut Vec<Bytes>,
) -> Result<(), EncodeError> {
    out.put_u8(b'[');
    if let Some(name) = name {
        write_json_str(out, name)?;
    }
    if !args.is_empty() {
        if name.is_some() {
            out.put_u8(b',');
        }
        if let Some((text, own)) = args.json_elems(attachments.len()) {
            out.extend_from_slice(text.as_bytes());
            attachments.extend_from_slice(own);
        } else if let Some(values) = args.values() {
            write_values(out, values, attachments)?;
        } else {
            let values = args
                .to_values()
                .map_err(|_| EncodeError::InvalidPayload(PacketType::Event))?;
            write_values(out, &values, attachments)?;
        }
    }
    out.put_u8(b']');
    Ok(())
}

/// Runs `encode` on `out`, and on error truncates `out` back to where it was.
pub(crate) fn restoring<R>(
    out: &mut BytesMut,
    encode: impl FnOnce(&mut BytesMut) -> Result<R, EncodeError>,
) -> Result<R, EncodeError> {
    let len = out.len();
    let result = encode(&mut *out);
    if result.is_err() {
        out.truncate(len);
    }
    result
}

/// Encodes `packet` in the text format at the end of `out`; returns the attachments.
pub(crate) fn encode_packet(
    packet: &Packet,
    out: &mut BytesMut,
) -> Result<Vec<Bytes>, EncodeError> {
    restoring(out, |out| encode_packet_inner(packet, out))
}

fn encode_packet_inner(packet: &Packet, out: &mut BytesMut) -> Result<Vec<Bytes>, EncodeError> {
    let nsp: &str = &packet.nsp;
    check_namespace(nsp)?;
    let start = out.len();
    let mut attachments = Vec::new();
    match &packet.kind {
        PacketKind::Connect(data) => {
            if let Some(data) = data {
                check_plain(PacketType::Connect, data, matches!(data, Value::Object(_)))?;
            }
            write_header(out, PacketType::Connect, nsp, None);
            if let Some(data) = data {
                write_value(out, data, &mut attachments)?;
            }
        }
        PacketKind::Disconnect => write_header(out, PacketType::Disconnect, nsp, None),
        PacketKind::ConnectError(data) => {
            let shape_ok = matches!(data, Value::Object(_) | Value::String(_));
            check_plain(PacketType::ConnectError, data, shape_ok)?;
            write_header(out, PacketType::ConnectError, nsp, None);
            write_value(out, data, &mut attachments)?;
        }
        PacketKind::Event { event, args, ack } => {
            check_event_name(event)?;
            write_header(out, PacketType::Event, nsp, *ack);
            write_args(out, Some(event), args, &mut attachments)?;
            mark_binary(out, start, attachments.len());
        }
        PacketKind::Ack { ack, args } => {
            write_header(out, PacketType::Ack, nsp, Some(*ack));
            write_args(out, None, args, &mut attachments)?;
            mark_binary(out, start, attachments.len());
        }
    }
    Ok(attachments)
}

/// CONNECT and CONNECT_ERROR payloads: the right shape, and no binary (there is no
/// binary variant of these packets).
fn check_plain(ty: PacketType, data: &Value, shape_ok: bool) -> Result<(), EncodeError> {
    if !shape_ok {
        Err(EncodeError::InvalidPayload(ty))
    } else if data.has_binary() {
        Err(EncodeError::BinaryNotAllowed(ty))
    } else {
        Ok(())
    }
}

/// Encodes an EVENT from typed data straight into `out`; returns the attachments.
pub(crate) fn encode_event<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    nsp: &str,
    event: &str,
    ack: Option<u64>,
    data: &T,
) -> Result<Vec<Bytes>, EncodeError> {
    check_namespace(nsp)?;
    check_event_name(event)?;
    restoring(out, |out| {
        let start = out.len();
        write_header(out, PacketType::Event, nsp, ack);
        let sink = RefCell::new(Vec::new());
        write_args_array(out, Some(event), data, &sink)?;
        let attachments = sink.into_inner();
        mark_binary(out, start, attachments.len());
        Ok(attachments)
    })
}

/// Encodes an ACK from typed data straight into `out`; returns the attachments.
pub(crate) fn encode_ack<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    nsp: &str,
    ack: u64,
    data: &T,
) -> Result<Vec<Bytes>, EncodeError> {
    check_namespace(nsp)?;
    restoring(out, |out| {
        let start = out.len();
        write_header(out, PacketType::Ack, nsp, Some(ack));
        let sink = RefCell::new(Vec::new());
        write_args_array(out, None, data, &sink)?;
        let attachments = sink.into_inner();
        mark_binary(out, start, attachments.len());
        Ok(attachments)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let mut strings: Vec<String> = (0u8..128).map(|b| format!("a{}b", char::from(b))).collect();
        strings.extend(
            ["", "echo", "é€😀", "\u{7f}", "\u{2028}", "a\"b\\c\nd"]
                .iter()
                .map(|s| (*s).to_owned()),
        );
        for s in strings {
            let mut out = BytesMut::new();
            write_json_str(&mut out, &s).unwrap();
            assert_eq!(
                &out[..],
                serde_json::to_string(&s).unwrap().as_bytes(),
                "{s:?}"
            );
        }
    }
}
