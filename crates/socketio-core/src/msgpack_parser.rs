//! The msgpack parser, compatible with the npm `socket.io-msgpack-parser`.
//!
//! Every packet is one binary message: a msgpack map with the keys `type`, `nsp`, `data`
//! (when the packet has a payload) and `id` (when it has an acknowledgement id). Binary
//! values are msgpack `bin`, in place: there are no attachments and no BINARY_* types.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use rmpv::ValueRef;
use serde::Serialize;

use crate::parser::{Decoder, Message, MessageKind, Parser};
use crate::shape::{ElementSink, Shape, ser_shape, spread_tuple};
use crate::text_encode::{check_event_name, restoring};
use crate::{
    Args, DecodeError, EncodeError, Packet, PacketKind, PacketType, Value, is_reserved_event,
};

/// The deepest nesting accepted in an incoming packet (the same as serde_json's).
const MAX_DEPTH: usize = 128;

/// The msgpack parser (npm `socket.io-msgpack-parser`).
///
/// ```
/// use socketio_core::{Decoder, Message, MsgpackParser, PacketKind, Parser};
/// use bytes::{Bytes, BytesMut};
///
/// let parser = MsgpackParser::default();
/// let mut out = BytesMut::new();
/// let file = Bytes::from_static(&[1, 2, 3]);
/// let attachments = parser.encode_event("/", "upload", None, &("a.bin", file.clone()), &mut out).unwrap();
/// assert!(attachments.is_empty()); // binary stays in place
///
/// let packet = parser.decoder().decode(Message::Binary(out.freeze())).unwrap().unwrap();
/// let PacketKind::Event { event, args, .. } = packet.kind else { panic!() };
/// assert_eq!(event, "upload");
/// let (name, data): (String, Bytes) = args.deserialize().unwrap();
/// assert_eq!((name.as_str(), data), ("a.bin", file));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgpackParser {
    _private: (),
}

impl MsgpackParser {
    /// The msgpack parser.
    #[must_use]
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

impl Parser for MsgpackParser {
    type Decoder = MsgpackDecoder;

    fn message_kind(&self) -> MessageKind {
        MessageKind::Binary
    }

    fn decoder(&self) -> MsgpackDecoder {
        MsgpackDecoder { _private: () }
    }

    fn encode(&self, packet: &Packet, out: &mut BytesMut) -> Result<Vec<Bytes>, EncodeError> {
        restoring(out, |out| encode_packet(packet, out))?;
        Ok(Vec::new())
    }

    fn encode_event<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        ack: Option<u64>,
        args: &T,
        out: &mut BytesMut,
    ) -> Result<Vec<Bytes>, EncodeError> {
        check_namespace(nsp)?;
        check_event_name(event)?;
        restoring(out, |out| {
            let count = match ser_shape(args) {
                Shape::Unit => 0,
                Shape::Single => 1,
                Shape::Tuple(len) => len,
            };
            write_start(out, PacketType::Event, true, ack.is_some())?;
            write_array_len(out, count.saturating_add(1))?;
            write_str(out, event)?;
            write_typed_args(out, args)?;
            write_end(out, nsp, ack)
        })?;
        Ok(Vec::new())
    }

    fn encode_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        ack: u64,
        args: &T,
        out: &mut BytesMut,
    ) -> Result<Vec<Bytes>, EncodeError> {
        check_namespace(nsp)?;
        restoring(out, |out| {
            let count = match ser_shape(args) {
                Shape::Unit => 0,
                Shape::Single => 1,
                Shape::Tuple(len) => len,
            };
            write_start(out, PacketType::Ack, true, true)?;
            write_array_len(out, count)?;
            write_typed_args(out, args)?;
            write_end(out, nsp, Some(ack))
        })?;
        Ok(Vec::new())
    }
}

/// The per-connection decoder of [`MsgpackParser`]. It keeps no state: every packet is
/// one message.
#[derive(Debug)]
pub struct MsgpackDecoder {
    _private: (),
}

impl Decoder for MsgpackDecoder {
    fn decode(&mut self, message: Message) -> Result<Option<Packet>, DecodeError> {
        match message {
            Message::Binary(data) => decode_packet(&data).map(Some),
            Message::Text(_) => Err(DecodeError::UnexpectedText),
        }
    }

    fn is_pending(&self) -> bool {
        false
    }
}

// ---- encoding ----

fn check_namespace(nsp: &str) -> Result<(), EncodeError> {
    if nsp.is_empty() || nsp.starts_with('/') {
        Ok(())
    } else {
        Err(EncodeError::InvalidNamespace(ByteString::from(nsp)))
    }
}

fn write_err(e: rmp::encode::ValueWriteError) -> EncodeError {
    EncodeError::Msgpack(e.into())
}

fn too_long() -> EncodeError {
    EncodeError::Msgpack(rmp_serde::encode::Error::Syntax(
        "length over u32::MAX".into(),
    ))
}

fn write_str(out: &mut BytesMut, s: &str) -> Result<(), EncodeError> {
    rmp::encode::write_str(&mut out.writer(), s).map_err(write_err)
}

fn write_uint(out: &mut BytesMut, n: u64) -> Result<(), EncodeError> {
    rmp::encode::write_uint(&mut out.writer(), n).map_err(write_err)?;
    Ok(())
}

fn write_array_len(out: &mut BytesMut, len: usize) -> Result<(), EncodeError> {
    let len = u32::try_from(len).map_err(|_| too_long())?;
    rmp::encode::write_array_len(&mut out.writer(), len).map_err(write_err)?;
    Ok(())
}

/// Serializes one value; structs become maps, as JavaScript objects.
fn serialize<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    value: &T,
) -> Result<(), rmp_serde::encode::Error> {
    let mut ser = rmp_serde::Serializer::new(out.writer())
        .with_struct_map()
        .with_human_readable();
    value.serialize(&mut ser)
}

/// Writes the map header, `type`, and the `data` key when there is data.
fn write_start(
    out: &mut BytesMut,
    ty: PacketType,
    data: bool,
    id: bool,
) -> Result<(), EncodeError> {
    let len = 2 + u32::from(data) + u32::from(id);
    rmp::encode::write_map_len(&mut out.writer(), len).map_err(write_err)?;
    write_str(out, "type")?;
    write_uint(out, u64::from(ty.as_u8()))?;
    if data {
        write_str(out, "data")?;
    }
    Ok(())
}

/// Writes `nsp` and `id`, after the data.
fn write_end(out: &mut BytesMut, nsp: &str, id: Option<u64>) -> Result<(), EncodeError> {
    write_str(out, "nsp")?;
    write_str(out, if nsp.is_empty() { "/" } else { nsp })?;
    if let Some(id) = id {
        write_str(out, "id")?;
        write_uint(out, id)?;
    }
    Ok(())
}

/// Writes the elements of a tuple as separate array items.
struct MsgpackElements<'a> {
    out: &'a mut BytesMut,
}

impl ElementSink for MsgpackElements<'_> {
    type Error = rmp_serde::encode::Error;

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        serialize(self.out, value)
    }
}

/// Writes typed arguments as array items (the array header is already written).
fn write_typed_args<T: Serialize + ?Sized>(
    out: &mut BytesMut,
    args: &T,
) -> Result<(), EncodeError> {
    match ser_shape(args) {
        Shape::Unit => Ok(()),
        Shape::Single => serialize(out, args).map_err(EncodeError::Msgpack),
        Shape::Tuple(_) => {
            spread_tuple(args, &mut MsgpackElements { out }).map_err(EncodeError::Msgpack)
        }
    }
}

/// Writes [`Args`] as array items, after `prefix` items already counted in the header.
fn write_args(out: &mut BytesMut, event: Option<&str>, args: &Args) -> Result<(), EncodeError> {
    let owned;
    let values = match args.values() {
        Some(values) => values,
        None => {
            owned = args
                .to_values()
                .map_err(|_| EncodeError::InvalidPayload(PacketType::Event))?;
            &owned[..]
        }
    };
    write_array_len(
        out,
        values.len().saturating_add(usize::from(event.is_some())),
    )?;
    if let Some(event) = event {
        write_str(out, event)?;
    }
    for value in values {
        serialize(out, value).map_err(EncodeError::Msgpack)?;
    }
    Ok(())
}

fn encode_packet(packet: &Packet, out: &mut BytesMut) -> Result<(), EncodeError> {
    let nsp: &str = &packet.nsp;
    check_namespace(nsp)?;
    match &packet.kind {
        PacketKind::Connect(data) => {
            write_start(out, PacketType::Connect, data.is_some(), false)?;
            if let Some(data) = data {
                if !matches!(data, Value::Object(_)) {
                    return Err(EncodeError::InvalidPayload(PacketType::Connect));
                }
                serialize(out, data).map_err(EncodeError::Msgpack)?;
            }
            write_end(out, nsp, None)
        }
        PacketKind::Disconnect => {
            write_start(out, PacketType::Disconnect, false, false)?;
            write_end(out, nsp, None)
        }
        PacketKind::ConnectError(data) => {
            if !matches!(data, Value::Object(_) | Value::String(_)) {
                return Err(EncodeError::InvalidPayload(PacketType::ConnectError));
            }
            write_start(out, PacketType::ConnectError, true, false)?;
            serialize(out, data).map_err(EncodeError::Msgpack)?;
            write_end(out, nsp, None)
        }
        PacketKind::Event { event, args, ack } => {
            check_event_name(event)?;
            write_start(out, PacketType::Event, true, ack.is_some())?;
            write_args(out, Some(event), args)?;
            write_end(out, nsp, *ack)
        }
        PacketKind::Ack { ack, args } => {
            write_start(out, PacketType::Ack, true, true)?;
            write_args(out, None, args)?;
            write_end(out, nsp, Some(*ack))
        }
    }
}

// ---- decoding ----

fn invalid(why: &'static str) -> DecodeError {
    DecodeError::InvalidMsgpackPacket(why)
}

fn decode_packet(data: &Bytes) -> Result<Packet, DecodeError> {
    let mut rd: &[u8] = data;
    let value = rmpv::decode::read_value_ref_with_max_depth(&mut rd, MAX_DEPTH)
        .map_err(DecodeError::Msgpack)?;
    if !rd.is_empty() {
        return Err(invalid("trailing bytes after the packet"));
    }
    let ValueRef::Map(entries) = value else {
        return Err(invalid("not a map"));
    };

    let mut ty = None;
    let mut nsp = None;
    let mut payload = None;
    let mut id = None;
    // Other keys (such as the `options` a JavaScript client may leave in the packet)
    // are ignored, as the reference decoder ignores them.
    for (key, value) in &entries {
        let ValueRef::String(key) = key else { continue };
        match key.as_str() {
            Some("type") => {
                ty = Some(match value {
                    ValueRef::Integer(n) => n
                        .as_u64()
                        .and_then(|n| u8::try_from(n).ok())
                        .and_then(PacketType::from_u8)
                        .filter(|t| !t.is_binary())
                        .ok_or(invalid("unknown packet type"))?,
                    _ => return Err(invalid("unknown packet type")),
                });
            }
            Some("nsp") => match value {
                ValueRef::String(s) => {
                    let s = s.as_str().ok_or(invalid("namespace is not UTF-8"))?;
                    // Every namespace name starts with `/`; the text format cannot even
                    // express one that does not.
                    if !s.starts_with('/') {
                        return Err(invalid("namespace does not start with /"));
                    }
                    nsp = Some(ByteString::from(s));
                }
                _ => return Err(invalid("namespace is not a string")),
            },
            Some("data") => payload = (!is_undefined(value, data)).then_some(value),
            Some("id") => {
                id = match value {
                    ValueRef::Integer(n) => Some(n.as_u64().ok_or(DecodeError::InvalidAckId)?),
                    ValueRef::Nil => None,
                    v if is_undefined(v, data) => None,
                    _ => return Err(DecodeError::InvalidAckId),
                };
            }
            _ => {}
        }
    }

    let ty = ty.ok_or(invalid("missing packet type"))?;
    let nsp = nsp.ok_or(invalid("missing namespace"))?;
    if id.is_some() && !matches!(ty, PacketType::Event | PacketType::Ack) {
        return Err(DecodeError::UnexpectedAckId(ty));
    }

    let kind = match ty {
        PacketType::Connect => PacketKind::Connect(match payload {
            None | Some(ValueRef::Nil) => None,
            Some(v @ ValueRef::Map(_)) => Some(to_value(v, data)?),
            Some(_) => return Err(DecodeError::InvalidPayload(ty)),
        }),
        PacketType::Disconnect => match payload {
            None => PacketKind::Disconnect,
            Some(_) => return Err(DecodeError::UnexpectedPayload(ty)),
        },
        PacketType::ConnectError => match payload {
            Some(v @ (ValueRef::Map(_) | ValueRef::String(_))) => {
                PacketKind::ConnectError(to_value(v, data)?)
            }
            Some(_) => return Err(DecodeError::InvalidPayload(ty)),
            None => return Err(DecodeError::MissingPayload(ty)),
        },
        PacketType::Event | PacketType::Ack => {
            let items = match payload {
                Some(ValueRef::Array(items)) => items,
                Some(_) => return Err(DecodeError::InvalidPayload(ty)),
                None => return Err(DecodeError::MissingPayload(ty)),
            };
            if ty == PacketType::Event {
                let (name, rest) = items.split_first().ok_or(DecodeError::InvalidEventName)?;
                let event = match name {
                    ValueRef::String(s) => {
                        ByteString::from(s.as_str().ok_or(invalid("event name is not UTF-8"))?)
                    }
                    ValueRef::Integer(n) => ByteString::from(n.to_string()),
                    ValueRef::F32(_) | ValueRef::F64(_) => match to_value(name, data)? {
                        Value::Number(n) => ByteString::from(n.to_string()),
                        _ => return Err(DecodeError::InvalidEventName),
                    },
                    _ => return Err(DecodeError::InvalidEventName),
                };
                if is_reserved_event(&event) {
                    return Err(DecodeError::ReservedEventName(event));
                }
                PacketKind::Event {
                    event,
                    args: Args::from_values(to_values(rest, data)?),
                    ack: id,
                }
            } else {
                PacketKind::Ack {
                    ack: id.ok_or(DecodeError::MissingAckId)?,
                    args: Args::from_values(to_values(items, data)?),
                }
            }
        }
        // Filtered out above: msgpack has no binary packet types.
        PacketType::BinaryEvent | PacketType::BinaryAck => {
            return Err(invalid("unknown packet type"));
        }
    };
    Ok(Packet { nsp, kind })
}

fn to_values(items: &[ValueRef<'_>], src: &Bytes) -> Result<Vec<Value>, DecodeError> {
    items.iter().map(|v| to_value(v, src)).collect()
}

/// Converts a msgpack value; binary is shared with the message, not copied.
fn to_value(v: &ValueRef<'_>, src: &Bytes) -> Result<Value, DecodeError> {
    Ok(match v {
        ValueRef::Nil => Value::Null,
        ValueRef::Boolean(b) => Value::Bool(*b),
        ValueRef::Integer(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(i)) => Value::from(i),
            (None, None) => Value::Null,
        },
        ValueRef::F32(f) => Value::from(f64::from(*f)),
        ValueRef::F64(f) => Value::from(*f),
        ValueRef::String(s) => Value::from(s.as_str().ok_or(invalid("string is not UTF-8"))?),
        ValueRef::Binary(b) => Value::Binary(src.slice_ref(b)),
        ValueRef::Array(items) => Value::Array(to_values(items, src)?),
        ValueRef::Map(entries) => {
            let mut map = BTreeMap::new();
            for (k, v) in entries {
                let ValueRef::String(k) = k else {
                    return Err(invalid("map key is not a string"));
                };
                let k = k.as_str().ok_or(invalid("string is not UTF-8"))?;
                map.insert(k.to_owned(), to_value(v, src)?);
            }
            Value::Object(map)
        }
        ValueRef::Ext(0, data) => match fixext_marker(data, src) {
            // notepack.io writes `undefined` as fixext 1, type 0, and a `Date` as fixext 8,
            // type 0, holding its milliseconds since the epoch as two 32-bit halves.
            Some(0xd4) => Value::Null,
            Some(0xd7) => {
                let (hi, lo) = data.split_at(4);
                let half = |bytes: &[u8]| bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
                let millis = (half(hi) << 32) | half(lo);
                Value::from(i64::from_ne_bytes(millis.to_ne_bytes()))
            }
            // An `ArrayBuffer` or typed array (not a `Buffer`): ext 8/16/32, type 0.
            _ => Value::Binary(src.slice_ref(data)),
        },
        ValueRef::Ext(..) => return Err(invalid("unsupported msgpack extension")),
    })
}

/// JavaScript `undefined`, as notepack.io writes it: fixext 1, type 0, data 0.
fn is_undefined(v: &ValueRef<'_>, src: &[u8]) -> bool {
    matches!(v, ValueRef::Ext(0, data @ [0]) if fixext_marker(data, src) == Some(0xd4))
}

/// The marker of a fixext holding `data` (a slice of `src`): `0xd4` for fixext 1 with one
/// byte of data, `0xd7` for fixext 8 with eight; `None` for any other shape, which
/// notepack.io only writes as ext 8/16/32 (whose length field sits where a fixext's
/// marker would, and cannot hold these values for these lengths).
fn fixext_marker(data: &[u8], src: &[u8]) -> Option<u8> {
    let offset = (data.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    let marker = *src.get(offset.checked_sub(2)?)?;
    match (marker, data.len()) {
        (0xd4, 1) | (0xd7, 8) => Some(marker),
        _ => None,
    }
}
