//! The messages of `@socket.io/redis-adapter` 8.x (classic mode), as Node writes and
//! reads them.

use std::collections::BTreeMap;

use rmpv::Value as Mp;
use socketio_core::Value;
use socketio_server::adapter::{BroadcastOptions, Room};

use crate::msgpack::{self, from_msgpack, to_msgpack};

/// Request types (`RequestType` in the Node adapter).
pub(crate) mod kind {
    pub(crate) const SOCKETS: u64 = 0;
    pub(crate) const ALL_ROOMS: u64 = 1;
    pub(crate) const REMOTE_JOIN: u64 = 2;
    pub(crate) const REMOTE_LEAVE: u64 = 3;
    pub(crate) const REMOTE_DISCONNECT: u64 = 4;
    pub(crate) const REMOTE_FETCH: u64 = 5;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 6;
    pub(crate) const BROADCAST: u64 = 7;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub(crate) const BROADCAST_ACK: u64 = 9;
}

/// A broadcast read from a broadcast channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Broadcast {
    pub(crate) uid: String,
    pub(crate) nsp: String,
    /// The event name first, then the arguments.
    pub(crate) data: Vec<Value>,
    pub(crate) opts: BroadcastOptions,
}

/// The packet object Node's adapter carries: `{type: 2, data, nsp}`.
fn packet(ns: &str, event: &str, args: &[Value]) -> Mp {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Mp::from(event));
    data.extend(args.iter().map(to_msgpack));
    Mp::Map(vec![
        (Mp::from("type"), Mp::from(2u8)),
        (Mp::from("data"), Mp::Array(data)),
        (Mp::from("nsp"), Mp::from(ns)),
    ])
}

fn rooms(rooms: &[Room]) -> Mp {
    Mp::Array(rooms.iter().map(|room| Mp::from(&**room)).collect())
}

/// `{rooms, except, flags}` with the flags Node's adapter reads.
fn opts(opts: &BroadcastOptions, ack_timeout_ms: Option<u64>) -> Mp {
    let mut flags = Vec::new();
    if opts.volatile {
        flags.push((Mp::from("volatile"), Mp::Boolean(true)));
    }
    if let Some(ms) = ack_timeout_ms {
        flags.push((Mp::from("timeout"), Mp::from(ms)));
    }
    Mp::Map(vec![
        (Mp::from("rooms"), rooms(&opts.rooms)),
        (Mp::from("except"), rooms(&opts.except)),
        (Mp::from("flags"), Mp::Map(flags)),
    ])
}

/// A broadcast as Node decodes it: the msgpack array `[uid, packet, opts]`.
pub(crate) fn encode_broadcast(
    uid: &str,
    ns: &str,
    event: &str,
    args: &[Value],
    broadcast: &BroadcastOptions,
) -> Vec<u8> {
    msgpack::encode(&Mp::Array(vec![
        Mp::from(uid),
        packet(ns, event, args),
        opts(broadcast, None),
    ]))
}

/// Reads a broadcast; `None` for anything that is not `[uid, packet, opts]`.
pub(crate) fn decode_broadcast(bytes: &[u8]) -> Option<Broadcast> {
    let Mp::Array(items) = msgpack::decode(bytes)? else {
        return None;
    };
    let [uid, packet, opts]: [Mp; 3] = items.try_into().ok()?;
    let uid = uid.as_str()?.to_owned();
    let Value::Object(packet) = from_msgpack(packet) else {
        return None;
    };
    let Value::Object(opts) = from_msgpack(opts) else {
        return None;
    };
    let (nsp, data) = read_packet(&packet)?;
    Some(Broadcast {
        uid,
        nsp,
        data,
        opts: read_opts(&opts)?,
    })
}

/// `(nsp, data)` of a packet object; `nsp` defaults to `/`.
pub(crate) fn read_packet(packet: &BTreeMap<String, Value>) -> Option<(String, Vec<Value>)> {
    let nsp = match packet.get("nsp") {
        Some(Value::String(nsp)) => nsp.clone(),
        None | Some(Value::Null) => "/".to_owned(),
        Some(_) => return None,
    };
    let Some(Value::Array(data)) = packet.get("data") else {
        return None;
    };
    matches!(data.first(), Some(Value::String(_))).then(|| (nsp, data.clone()))
}

/// A room as Node's `Set` of rooms holds it: strings, and numbers as their text.
fn room(value: &Value) -> Option<Room> {
    match value {
        Value::String(s) => Some(Room::from(s.as_str())),
        Value::Number(n) => Some(Room::from(n.to_string())),
        _ => None,
    }
}

/// An object of `entries`.
pub(crate) fn object(entries: Vec<(&str, Value)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

/// Rooms as a list of strings.
pub(crate) fn room_values(rooms: &[Room]) -> Value {
    Value::Array(rooms.iter().map(|room| Value::from(&**room)).collect())
}

/// A list of rooms; anything else is an empty list.
pub(crate) fn room_list(value: Option<&Value>) -> Vec<Room> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(room).collect(),
        _ => Vec::new(),
    }
}

/// `{rooms, except, flags}` as selection options; `None` when `rooms` or `except` is
/// neither a list nor absent (Node throws on those: nothing is selected, rather than
/// every socket).
pub(crate) fn read_opts(opts: &BTreeMap<String, Value>) -> Option<BroadcastOptions> {
    let flag = |name: &str| match opts.get("flags") {
        Some(Value::Object(flags)) => flags.get(name).cloned(),
        _ => None,
    };
    let list = |name: &str| match opts.get(name) {
        None | Some(Value::Null | Value::Array(_)) => Some(room_list(opts.get(name))),
        Some(_) => None,
    };
    Some(BroadcastOptions {
        rooms: list("rooms")?,
        except: list("except")?,
        local: false,
        volatile: matches!(flag("volatile"), Some(Value::Bool(true))),
        timeout: match flag("timeout") {
            Some(Value::Number(ms)) => ms.as_u64().map(std::time::Duration::from_millis),
            _ => None,
        },
    })
}

/// The `opts` of a message that selects sockets: `None` when it is missing or
/// malformed.
pub(crate) fn message_opts(message: &BTreeMap<String, Value>) -> Option<BroadcastOptions> {
    match message.get("opts") {
        Some(Value::Object(opts)) => read_opts(opts),
        _ => None,
    }
}

/// A request or response object: JSON when it starts with `{`, else msgpack, as Node
/// reads them.
pub(crate) fn decode_object(bytes: &[u8]) -> Option<BTreeMap<String, Value>> {
    let value = if bytes.first() == Some(&b'{') {
        serde_json::from_slice::<Value>(bytes).ok()?
    } else {
        from_msgpack(msgpack::decode(bytes)?)
    };
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A request or response as JSON, as Node sends most of them.
pub(crate) fn json(object: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&object).unwrap_or_default()
}

/// A JSON value of a Socket.IO value.
pub(crate) fn to_json(value: &Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The opts of a request: `{rooms, except}`.
pub(crate) fn request_opts(opts: &BroadcastOptions) -> serde_json::Value {
    serde_json::json!({
        "rooms": opts.rooms.iter().map(|r| &**r).collect::<Vec<&str>>(),
        "except": opts.except.iter().map(|r| &**r).collect::<Vec<&str>>(),
    })
}

/// A BROADCAST request (type 7), msgpack as Node sends it.
pub(crate) fn encode_broadcast_request(
    uid: &str,
    request_id: &str,
    ns: &str,
    event: &str,
    args: &[Value],
    broadcast: &BroadcastOptions,
    timeout_ms: u64,
) -> Vec<u8> {
    msgpack::encode(&Mp::Map(vec![
        (Mp::from("uid"), Mp::from(uid)),
        (Mp::from("requestId"), Mp::from(request_id)),
        (Mp::from("type"), Mp::from(kind::BROADCAST)),
        (Mp::from("packet"), packet(ns, event, args)),
        (Mp::from("opts"), opts(broadcast, Some(timeout_ms))),
    ]))
}

/// A BROADCAST_ACK response (type 9), msgpack: only the first argument of the ack.
pub(crate) fn encode_broadcast_ack(request_id: &str, first: &Value) -> Vec<u8> {
    msgpack::encode(&Mp::Map(vec![
        (Mp::from("type"), Mp::from(kind::BROADCAST_ACK)),
        (Mp::from("requestId"), Mp::from(request_id)),
        (Mp::from("packet"), to_msgpack(first)),
    ]))
}

/// A string field.
pub(crate) fn str_field<'a>(object: &'a BTreeMap<String, Value>, name: &str) -> Option<&'a str> {
    match object.get(name) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// An unsigned integer field.
pub(crate) fn u64_field(object: &BTreeMap<String, Value>, name: &str) -> Option<u64> {
    match object.get(name) {
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn a_room_broadcast_is_the_bytes_node_writes() {
        // Captured from Node: io.to("room1").emit("to-room1", "x"), except the key order
        // of opts, which Node does not depend on.
        let opts = BroadcastOptions {
            rooms: vec![Room::from("room1")],
            ..BroadcastOptions::default()
        };
        let bytes = encode_broadcast("QV7h1H", "/", "to-room1", &[Value::from("x")], &opts);
        let mut expected = vec![0x93, 0xa6];
        expected.extend(b"QV7h1H");
        expected.extend([0x83, 0xa4]);
        expected.extend(b"type");
        expected.extend([0x02, 0xa4]);
        expected.extend(b"data");
        expected.extend([0x92, 0xa8]);
        expected.extend(b"to-room1");
        expected.extend([0xa1, b'x', 0xa3]);
        expected.extend(b"nsp");
        expected.extend([0xa1, b'/', 0x83, 0xa5]);
        expected.extend(b"rooms");
        expected.extend([0x91, 0xa5]);
        expected.extend(b"room1");
        expected.extend([0xa6]);
        expected.extend(b"except");
        expected.extend([0x90, 0xa5]);
        expected.extend(b"flags");
        expected.extend([0x80]);
        assert_eq!(bytes, expected);
        let decoded = decode_broadcast(&bytes).unwrap();
        assert_eq!(decoded.uid, "QV7h1H");
        assert_eq!(decoded.nsp, "/");
        assert_eq!(decoded.data, [Value::from("to-room1"), Value::from("x")]);
        assert_eq!(decoded.opts.rooms, [Room::from("room1")]);
    }

    #[test]
    fn numeric_rooms_and_a_missing_nsp_are_read_as_node_reads_them() {
        let bytes = msgpack::encode(&Mp::Array(vec![
            Mp::from("emitter"),
            Mp::Map(vec![
                (Mp::from("type"), Mp::from(2)),
                (Mp::from("data"), Mp::Array(vec![Mp::from("e")])),
            ]),
            Mp::Map(vec![
                (Mp::from("rooms"), Mp::Array(vec![Mp::from(42)])),
                (
                    Mp::from("flags"),
                    Mp::Map(vec![(Mp::from("volatile"), Mp::Boolean(true))]),
                ),
            ]),
        ]));
        let decoded = decode_broadcast(&bytes).unwrap();
        assert_eq!(decoded.nsp, "/");
        assert_eq!(decoded.opts.rooms, [Room::from("42")]);
        assert!(decoded.opts.volatile);
        assert!(decoded.opts.except.is_empty());
    }

    #[test]
    fn malformed_selections_select_nothing() {
        let opts = |json: &str| {
            let Some(message) = decode_object(json.as_bytes()) else {
                unreachable!("an object")
            };
            message_opts(&message)
        };
        let all = opts(r#"{"opts":{"rooms":null,"flags":{}}}"#).unwrap();
        assert!(all.rooms.is_empty() && all.except.is_empty());
        let some = opts(r#"{"opts":{"rooms":["a",7],"except":["b"]}}"#).unwrap();
        assert_eq!(some.rooms, [Room::from("a"), Room::from("7")]);
        assert_eq!(some.except, [Room::from("b")]);
        // Not "every socket": nothing.
        assert!(opts(r#"{"opts":{"rooms":5}}"#).is_none());
        assert!(opts(r#"{"opts":{"except":"a"}}"#).is_none());
        assert!(opts(r#"{"opts":"all"}"#).is_none());
        assert!(opts(r#"{}"#).is_none());
    }

    #[test]
    fn requests_are_read_as_json_or_msgpack() {
        let json = br#"{"uid":"abc","type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b"]}"#;
        let object = decode_object(json).unwrap();
        assert_eq!(u64_field(&object, "type"), Some(kind::REMOTE_JOIN));
        assert_eq!(room_list(object.get("rooms")), [Room::from("b")]);
        let packed = encode_broadcast_ack("id", &Value::from("ok"));
        let object = decode_object(&packed).unwrap();
        assert_eq!(u64_field(&object, "type"), Some(kind::BROADCAST_ACK));
        assert_eq!(object.get("packet"), Some(&Value::from("ok")));
        assert!(decode_object(b"{not json").is_none());
        assert!(decode_object(&[0x93, 1, 2, 3]).is_none());
    }
}

#[cfg(test)]
pub(crate) mod properties {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use proptest::prelude::*;

    use super::*;

    /// Any value a client may send (binary included).
    pub(crate) fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,40}".prop_map(Value::String),
            proptest::collection::vec(any::<u8>(), 0..40)
                .prop_map(|b| Value::Binary(bytes::Bytes::from(b))),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,12}", inner, 0..8).prop_map(Value::Object),
            ]
        })
    }

    /// A few rooms.
    pub(crate) fn rooms() -> impl Strategy<Value = Vec<Room>> {
        proptest::collection::vec(".{0,16}".prop_map(|s: String| Room::from(s)), 0..4)
    }

    proptest! {
        /// Every broadcast is the array `[uid: str, packet: map, opts: map]` that Node's
        /// adapter destructures, with nothing after it, and reads back as sent.
        #[test]
        fn broadcasts_decode_as_the_array_node_expects(
            uid in "[A-Za-z0-9_-]{6}",
            ns in "/[a-z#]{0,10}",
            event in ".{1,20}",
            args in proptest::collection::vec(value(), 0..6),
            rooms in rooms(),
            except in rooms(),
            volatile in any::<bool>(),
        ) {
            let opts = BroadcastOptions { rooms, except, volatile, ..BroadcastOptions::default() };
            let bytes = encode_broadcast(&uid, &ns, &event, &args, &opts);
            let Mp::Array(items) = msgpack::decode(&bytes).unwrap() else {
                panic!("not an array");
            };
            prop_assert_eq!(items.len(), 3);
            prop_assert_eq!(items[0].as_str(), Some(uid.as_str()));
            let Mp::Map(packet) = &items[1] else { panic!("packet is not a map") };
            let Mp::Map(opts_map) = &items[2] else { panic!("opts is not a map") };
            prop_assert!(packet.iter().all(|(k, _)| k.is_str()));
            prop_assert!(opts_map.iter().all(|(k, _)| k.is_str()));
            let decoded = decode_broadcast(&bytes).unwrap();
            prop_assert_eq!(decoded.nsp, ns);
            prop_assert_eq!(&decoded.data[0], &Value::String(event));
            prop_assert_eq!(&decoded.data[1..], &args[..]);
            prop_assert_eq!(decoded.opts.rooms, opts.rooms);
            prop_assert_eq!(decoded.opts.except, opts.except);
            prop_assert_eq!(decoded.opts.volatile, volatile);
        }

        /// Hostile bytes on any channel are refused, never a panic.
        #[test]
        fn garbage_is_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_broadcast(&bytes);
            let _ = decode_object(&bytes);
        }
    }
}
