//! Streams mode, compatible with `@socket.io/redis-streams-adapter` 0.3: the durable
//! `ClusterAdapter` messages (broadcasts without acknowledgements, joins, leaves,
//! disconnections) are entries of a Redis stream that every node reads; requests and
//! responses go over pub/sub (`cluster`). An entry's fields are strings: `uid`, `nsp`,
//! `type` (decimal) and `data`, JSON text or, when it carries binary, base64 of its
//! msgpack. The entry's id is the broadcast's recovery offset, on every node.
//!
//! Connection state recovery keeps a disconnected socket's session under
//! `<session_key_prefix><pid>` (base64 of the msgpack of `{sid, pid, rooms, data}`, with
//! the recovery window as its expiry); a client reconnecting to any node gets it back,
//! with the broadcasts of the stream after its offset that would have reached it.

use std::{
    collections::BTreeMap,
    sync::{Arc, Weak},
    time::Duration,
};

use base64::Engine as _;
use bytestring::ByteString;
use fred::{
    clients::Client,
    interfaces::{KeysInterface, StreamsInterface},
    types::{Expiration, Value as Redis},
};
use socketio_core::{Args, Value};
use socketio_server::adapter::{
    AdapterError, BroadcastOptions, MissedPacket, Restored, Room, Session,
};

use super::{Inner, cluster, cluster::message, values};
use crate::{StreamsConfig, msgpack, wire};

/// `hashCode` of Node's streams adapter: Java's string hash over UTF-16 units.
fn hash_code(name: &str) -> i32 {
    name.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The stream a namespace's entries go to, as Node computes it: `<name>-<i>` with
/// JavaScript's signed remainder, so a negative hash gives `<name>--<i>`.
pub(super) fn stream_for(config: &StreamsConfig, ns: &str) -> String {
    if config.stream_count <= 1 {
        return config.stream_name.clone();
    }
    let count = i32::try_from(config.stream_count).unwrap_or(i32::MAX);
    format!("{}-{}", config.stream_name, hash_code(ns) % count)
}

/// Every stream a namespace may be written to: those Node reads, and the negative ones
/// that only this adapter reads.
fn streams_read(config: &StreamsConfig) -> Vec<String> {
    if config.stream_count <= 1 {
        return vec![config.stream_name.clone()];
    }
    let count = i64::from(config.stream_count);
    (0..count)
        .chain(1 - count..0)
        .map(|i| format!("{}-{i}", config.stream_name))
        .collect()
}

/// Warns when Node's nodes would never read a namespace's stream.
pub(super) fn check_namespace(config: &StreamsConfig, ns: &str) {
    let stream = stream_for(config, ns);
    if stream.starts_with(&format!("{}--", config.stream_name)) {
        tracing::warn!(
            ns,
            stream,
            "with this stream count, Node's streams adapter writes this namespace to a \
             stream that its nodes do not read: they will miss its broadcasts"
        );
    }
}

/// The fields of an entry.
fn fields(uid: &str, ns: &str, kind: u64, data: &Value) -> Vec<(&'static str, String)> {
    let data = if cluster::may_carry_binary(kind) && data.has_binary() {
        base64::engine::general_purpose::STANDARD
            .encode(msgpack::encode(&msgpack::to_msgpack(data)))
    } else {
        serde_json::to_string(data).unwrap_or_default()
    };
    vec![
        ("uid", uid.to_owned()),
        ("nsp", ns.to_owned()),
        ("type", kind.to_string()),
        ("data", data),
    ]
}

/// Queues the entry at once; answers its id.
pub(super) fn append(
    inner: &Inner,
    ns: &str,
    kind: u64,
    data: Value,
) -> impl Future<Output = Result<ByteString, AdapterError>> + Send + 'static {
    let config = inner.streams();
    let stream = stream_for(config, ns);
    let cap = i64::try_from(config.max_len).unwrap_or(i64::MAX);
    let fields = fields(&inner.uid, ns, kind, &data);
    let client = inner.publisher.clone();
    inner.queue(async move {
        client
            .xadd::<String, _, _, _, _>(stream, false, ("MAXLEN", "~", cap), "*", fields)
            .await
            .map(ByteString::from)
    })
}

/// Queues a broadcast as an entry; answers its id.
pub(super) fn append_broadcast(
    inner: &Inner,
    ns: &str,
    event: &str,
    args: &Args,
    opts: &BroadcastOptions,
) -> super::BoxFuture<Result<ByteString, AdapterError>> {
    match values(args) {
        Ok(args) => {
            let data = wire::object(vec![
                ("packet", cluster::packet(event, args)),
                ("opts", cluster::opts(opts, None)),
            ]);
            Box::pin(append(inner, ns, message::BROADCAST, data))
        }
        Err(err) => Box::pin(std::future::ready(Err(err))),
    }
}

/// How long a read blocks when the streams are quiet.
const BLOCK_MS: u64 = 5000;

/// Reads the streams until the adapter is dropped or closed, from where they end when
/// it starts (so that nothing added between two reads is missed), and after a Redis
/// outage from where it stopped.
pub(super) async fn read(inner: Weak<Inner>, reader: Client) {
    let (streams, count) = match inner.upgrade() {
        Some(inner) => (streams_read(inner.streams()), inner.streams().read_count),
        None => return,
    };
    let mut last = Vec::with_capacity(streams.len());
    for stream in &streams {
        loop {
            match reader
                .xrevrange::<Redis, _, _, _>(stream.as_str(), "+", "-", Some(1))
                .await
            {
                Ok(reply) => {
                    let newest = entries(reply).into_iter().next();
                    last.push(newest.map_or_else(|| "0-0".to_owned(), |(id, _)| id));
                    break;
                }
                Err(err) => {
                    if stopped(&inner) {
                        return;
                    }
                    tracing::warn!(%err, stream, "stream not read; trying again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    match inner.upgrade() {
        Some(inner) => inner.reading.send_replace(true),
        None => return,
    };
    loop {
        let reply = reader
            .xread::<Redis, _, _>(Some(count), Some(BLOCK_MS), streams.clone(), last.clone())
            .await;
        let Some(inner) = inner.upgrade() else { return };
        match reply {
            Ok(reply) => {
                for (stream, entries) in stream_entries(reply) {
                    let Some(at) = streams.iter().position(|name| *name == stream) else {
                        continue;
                    };
                    for (id, fields) in entries {
                        on_entry(&inner, &id, &fields);
                        if let Some(slot) = last.get_mut(at) {
                            *slot = id;
                        }
                    }
                }
            }
            Err(err) => {
                if inner.closed.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                tracing::warn!(%err, "streams not read; trying again");
                drop(inner);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

fn stopped(inner: &Weak<Inner>) -> bool {
    inner
        .upgrade()
        .is_none_or(|inner| inner.closed.load(std::sync::atomic::Ordering::Relaxed))
}

type Fields = Vec<(String, Redis)>;

/// The entries of each stream of an XREAD reply (RESP2 arrays or RESP3 maps).
fn stream_entries(reply: Redis) -> Vec<(String, Vec<(String, Fields)>)> {
    let pairs: Vec<(Redis, Redis)> = match reply {
        Redis::Array(streams) => streams
            .into_iter()
            .filter_map(|stream| match stream {
                Redis::Array(pair) => {
                    let mut pair = pair.into_iter();
                    Some((pair.next()?, pair.next()?))
                }
                _ => None,
            })
            .collect(),
        Redis::Map(map) => map
            .inner()
            .into_iter()
            .map(|(key, value)| (Redis::from(key), value))
            .collect(),
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .filter_map(|(name, entries_of)| Some((name.as_string()?, entries(entries_of))))
        .collect()
}

/// The `(id, fields)` of an XRANGE reply or of one stream's part of an XREAD reply;
/// what is not an entry is skipped.
fn entries(reply: Redis) -> Vec<(String, Fields)> {
    let Redis::Array(entries) = reply else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|entry| {
            let Redis::Array(entry) = entry else {
                return None;
            };
            let mut entry = entry.into_iter();
            let id = entry.next()?.as_string()?;
            let fields = match entry.next()? {
                Redis::Array(flat) => {
                    let mut pairs = Vec::with_capacity(flat.len() / 2);
                    let mut flat = flat.into_iter();
                    while let (Some(key), Some(value)) = (flat.next(), flat.next()) {
                        pairs.push((key.as_string()?, value));
                    }
                    pairs
                }
                Redis::Map(map) => map
                    .inner()
                    .into_iter()
                    .filter_map(|(key, value)| Some((key.as_str()?.to_string(), value)))
                    .collect(),
                _ => Vec::new(),
            };
            Some((id, fields))
        })
        .collect()
}

fn field<'f>(fields: &'f Fields, name: &str) -> Option<&'f Redis> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

fn text_field(fields: &Fields, name: &str) -> Option<String> {
    field(fields, name)?.as_string()
}

/// An entry's `data`: JSON text, or base64 of msgpack.
fn decode_data(text: &str) -> Option<BTreeMap<String, Value>> {
    if text.starts_with('{') {
        return wire::decode_object(text.as_bytes());
    }
    let packed = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    match msgpack::from_msgpack(msgpack::decode(&packed)?) {
        Value::Object(data) => Some(data),
        _ => None,
    }
}

/// An entry another node added: applied to this node's sockets.
fn on_entry(inner: &Arc<Inner>, id: &str, fields: &Fields) {
    let Some(ns) = text_field(fields, "nsp") else {
        return;
    };
    let uid = text_field(fields, "uid").unwrap_or_default();
    if uid == inner.uid || !inner.has_namespace(&ns) {
        return;
    }
    let Some(kind) = text_field(fields, "type").and_then(|kind| kind.parse::<u64>().ok()) else {
        tracing::warn!(ns, id, "stream entry without a type ignored");
        return;
    };
    let data = match text_field(fields, "data") {
        Some(text) => match decode_data(&text) {
            Some(data) => data,
            None => {
                tracing::warn!(ns, id, "undecodable stream entry ignored");
                return;
            }
        },
        None => BTreeMap::new(),
    };
    cluster::on_request(inner, &ns, kind, &uid, &data, Some(id));
}

/// Keeps a disconnected socket's session in Redis for the server's recovery window.
pub(super) fn persist_session(inner: &Inner, session: &Session) {
    let Some(window) = inner
        .server()
        .and_then(|server| server.max_disconnection_duration())
    else {
        return;
    };
    let key = format!("{}{}", inner.streams().session_key_prefix, session.pid);
    let encoded = wire::object(vec![
        ("sid", Value::from(&*session.sid)),
        ("pid", Value::from(&*session.pid)),
        ("rooms", wire::room_values(&session.rooms)),
        ("data", session.data.clone()),
    ]);
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(msgpack::encode(&msgpack::to_msgpack(&encoded)));
    let expiry = Expiration::PX(i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1));
    let client = inner.publisher.clone();
    let stored = inner.queue(async move {
        client
            .set::<(), _, _>(key, encoded, Some(expiry), None, false)
            .await
    });
    inner.runtime.spawn(async move {
        if let Err(err) = stored.await {
            tracing::warn!(%err, "session not stored for recovery");
        }
    });
}

/// `<ms>-<seq>`, the form of a stream id.
fn parse_offset(offset: &str) -> Option<(u64, u64)> {
    let (ms, seq) = offset.split_once('-')?;
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(seq) {
        return None;
    }
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// How many entries one XRANGE of a restoration takes, and how many it makes at most.
const RANGE_COUNT: u64 = 1000;
const MAX_RANGES: usize = 100;

/// Takes the session of `pid` (it is restored once) and collects the broadcasts after
/// `offset` that would have reached it. `None` when the session is unknown or expired,
/// or the offset is no longer in the stream.
pub(super) async fn restore_session(
    inner: Arc<Inner>,
    ns: String,
    pid: String,
    offset: String,
) -> Result<Option<Restored>, AdapterError> {
    let Some(mut position) = parse_offset(&offset) else {
        return Ok(None);
    };
    let stream = stream_for(inner.streams(), &ns);
    let key = format!("{}{pid}", inner.streams().session_key_prefix);
    // Queued: after the broadcasts this node made before.
    let client = inner.publisher.clone();
    let (first, key_of_stream) = (offset.clone(), stream.clone());
    let (session, found) = inner
        .queue(async move {
            tokio::try_join!(
                client.getdel::<Option<String>, _>(key),
                client.xrange::<Redis, _, _, _>(key_of_stream, &*first, &*first, None),
            )
        })
        .await?;
    let client = &inner.publisher;
    let (Some(session), false) = (session, entries(found).is_empty()) else {
        return Ok(None);
    };
    let Some(session) = decode_session(&ns, &session) else {
        tracing::warn!(ns, pid, "undecodable session not restored");
        return Ok(None);
    };
    let mut missed = Vec::new();
    for _ in 0..MAX_RANGES {
        let start = format!("{}-{}", position.0, position.1.saturating_add(1));
        let reply = client
            .xrange::<Redis, _, _, _>(stream.as_str(), start, "+", Some(RANGE_COUNT))
            .await
            .map_err(super::transport)?;
        let batch = entries(reply);
        let full = batch.len() as u64 >= RANGE_COUNT;
        for (id, fields) in batch {
            if let Some(next) = parse_offset(&id) {
                position = next;
            }
            if let Some(packet) = missed_packet(&ns, &session.rooms, &id, &fields) {
                missed.push(packet);
            }
        }
        if !full {
            break;
        }
    }
    Ok(Some(Restored { session, missed }))
}

fn decode_session(ns: &str, encoded: &str) -> Option<Session> {
    let packed = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let Value::Object(session) = msgpack::from_msgpack(msgpack::decode(&packed)?) else {
        return None;
    };
    Some(Session {
        sid: ByteString::from(wire::str_field(&session, "sid")?),
        pid: ByteString::from(wire::str_field(&session, "pid")?),
        ns: ByteString::from(ns),
        rooms: wire::room_list(session.get("rooms")),
        data: session.get("data").cloned().unwrap_or(Value::Null),
    })
}

/// An entry of the stream as a packet a recovered socket in `rooms` missed: a broadcast
/// of its namespace, without acknowledgements and not volatile, that selects it. Its id
/// goes last, as its offset.
fn missed_packet(ns: &str, rooms: &[Room], id: &str, fields: &Fields) -> Option<MissedPacket> {
    if text_field(fields, "nsp").as_deref() != Some(ns)
        || text_field(fields, "type").as_deref() != Some("3")
    {
        return None;
    }
    let data = decode_data(&text_field(fields, "data")?)?;
    if data.contains_key("requestId") {
        return None;
    }
    let opts = wire::message_opts(&data)?;
    if opts.volatile || !opts.selects(rooms) {
        return None;
    }
    let Some(Value::Object(packet)) = data.get("packet") else {
        return None;
    };
    let Some(Value::Array(items)) = packet.get("data") else {
        return None;
    };
    let mut items = items.iter().cloned();
    let Some(Value::String(event)) = items.next() else {
        return None;
    };
    let mut args: Vec<Value> = items.collect();
    args.push(Value::from(id));
    Some(MissedPacket {
        event: ByteString::from(event),
        args: Args::from_values(args),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    fn config(count: u32) -> StreamsConfig {
        StreamsConfig::default().stream_count(count)
    }

    #[test]
    fn namespaces_go_to_the_stream_node_picks() {
        // What Node's `hashCode` gives.
        assert_eq!(hash_code(""), 0);
        assert_eq!(hash_code("/"), 47);
        assert_eq!(hash_code("/chat"), 46_457_863);
        assert_eq!(hash_code("/admin"), 1_438_238_848);
        assert_eq!(hash_code("/notifications"), -1_014_064_871);
        assert_eq!(stream_for(&config(1), "/chat"), "socket.io");
        assert_eq!(stream_for(&config(4), "/"), "socket.io-3");
        assert_eq!(stream_for(&config(4), "/admin"), "socket.io-0");
        // JavaScript's remainder keeps the sign: a stream Node never reads.
        assert_eq!(stream_for(&config(4), "/notifications"), "socket.io--3");
        let read = streams_read(&config(4));
        assert_eq!(
            read,
            [
                "socket.io-0",
                "socket.io-1",
                "socket.io-2",
                "socket.io-3",
                "socket.io--3",
                "socket.io--2",
                "socket.io--1"
            ]
        );
        assert!(read.contains(&stream_for(&config(4), "/notifications")));
        assert_eq!(streams_read(&config(1)), ["socket.io"]);
    }

    #[test]
    fn entries_are_json_unless_they_carry_binary() {
        let data = wire::object(vec![(
            "packet",
            cluster::packet("e", vec![Value::from("x")]),
        )]);
        let plain = fields("u", "/", message::BROADCAST, &data);
        assert_eq!(plain[2], ("type", "3".to_owned()));
        assert_eq!(
            plain[3].1,
            r#"{"packet":{"data":["e","x"],"type":2}}"#.to_owned()
        );
        assert_eq!(
            decode_data(&plain[3].1),
            match data.clone() {
                Value::Object(data) => Some(data),
                _ => None,
            }
        );

        let binary = Value::Binary(bytes::Bytes::from_static(&[1, 2, 3]));
        let data = wire::object(vec![("packet", cluster::packet("e", vec![binary]))]);
        let packed = fields("u", "/", message::BROADCAST, &data);
        assert!(!packed[3].1.starts_with('{'));
        let Value::Object(expected) = data else {
            unreachable!()
        };
        assert_eq!(decode_data(&packed[3].1), Some(expected));
        // What Node's streams adapter wrote (captured): `["hello"]` with a 3-byte buffer.
        let node =
            "gqZwYWNrZXSCpHR5cGUCpGRhdGGSo2JpbsQDAQIDpG9wdHODpXJvb21zkKZleGNlcHSQpWZsYWdzgA==";
        let data = decode_data(node).unwrap();
        let Some(Value::Object(packet)) = data.get("packet") else {
            unreachable!()
        };
        assert_eq!(
            packet.get("data"),
            Some(&Value::Array(vec![
                Value::from("bin"),
                Value::Binary(bytes::Bytes::from_static(&[1, 2, 3]))
            ]))
        );
        assert!(decode_data("not base64 !").is_none());
        assert!(decode_data("{not json").is_none());
        assert!(decode_data("AAAA").is_none());
    }

    #[test]
    fn offsets_are_stream_ids() {
        assert_eq!(
            parse_offset("1700000000000-0"),
            Some((1_700_000_000_000, 0))
        );
        assert_eq!(parse_offset("12-34"), Some((12, 34)));
        for bad in ["", "-", "1-", "-1", "1-2-3", "a-1", "1-b", "+1-2", "1 -2"] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
    }

    fn entry(ns: &str, kind: &str, data: &str) -> Fields {
        vec![
            ("uid".to_owned(), Redis::from("other")),
            ("nsp".to_owned(), Redis::from(ns)),
            ("type".to_owned(), Redis::from(kind)),
            ("data".to_owned(), Redis::from(data)),
        ]
    }

    #[test]
    fn a_recovered_socket_misses_the_broadcasts_that_select_it() {
        let rooms = [Room::from("sid"), Room::from("r1")];
        let missed = |ns: &str, kind: &str, data: &str| {
            missed_packet("/", &rooms, "5-1", &entry(ns, kind, data))
                .map(|packet| (packet.event.to_string(), packet.args.to_values().unwrap()))
        };
        let to = |rooms: &str, except: &str, flags: &str| {
            format!(
                r#"{{"packet":{{"type":2,"data":["e",1]}},"opts":{{"rooms":[{rooms}],"except":[{except}],"flags":{{{flags}}}}}}}"#
            )
        };
        let got = Some(("e".to_owned(), vec![Value::from(1u64), Value::from("5-1")]));
        assert_eq!(missed("/", "3", &to("", "", "")), got);
        assert_eq!(missed("/", "3", &to(r#""r1","r2""#, "", "")), got);
        assert_eq!(missed("/", "3", &to(r#""r2""#, "", "")), None);
        assert_eq!(missed("/", "3", &to("", r#""r1""#, "")), None);
        assert_eq!(missed("/", "3", &to("", "", r#""volatile":true"#)), None);
        assert_eq!(missed("/chat", "3", &to("", "", "")), None);
        assert_eq!(missed("/", "4", &to("", "", "")), None);
        assert_eq!(missed("/", "3", "garbage"), None);
        assert_eq!(
            missed(
                "/",
                "3",
                r#"{"requestId":"x","packet":{"type":2,"data":["e"]},"opts":{"rooms":[],"except":[],"flags":{}}}"#
            ),
            None
        );
    }

    #[test]
    fn sessions_read_as_node_writes_them() {
        let session = Session {
            sid: ByteString::from("abc"),
            pid: ByteString::from("pid"),
            ns: ByteString::from("/"),
            rooms: vec![Room::from("abc"), Room::from("room1")],
            data: wire::object(vec![("server", Value::from("B"))]),
        };
        let encoded = wire::object(vec![
            ("sid", Value::from("abc")),
            ("pid", Value::from("pid")),
            ("rooms", wire::room_values(&session.rooms)),
            ("data", session.data.clone()),
        ]);
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(msgpack::encode(&msgpack::to_msgpack(&encoded)));
        assert_eq!(decode_session("/", &encoded), Some(session));
        assert_eq!(decode_session("/", "%%%"), None);
        assert_eq!(decode_session("/", "kw=="), None);
    }

    #[test]
    fn replies_of_either_protocol_version_are_read_and_junk_is_skipped() {
        let entry = |id: &str| {
            Redis::Array(vec![
                Redis::from(id),
                Redis::Array(vec![Redis::from("nsp"), Redis::from("/")]),
            ])
        };
        let reply = Redis::Array(vec![
            Redis::Array(vec![
                Redis::from("s"),
                Redis::Array(vec![entry("1-0"), Redis::from(7), entry("1-1")]),
            ]),
            Redis::from("junk"),
        ]);
        let read = stream_entries(reply);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].0, "s");
        let ids: Vec<&str> = read[0].1.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["1-0", "1-1"]);
        assert_eq!(text_field(&read[0].1[0].1, "nsp").as_deref(), Some("/"));
        assert!(stream_entries(Redis::Null).is_empty());
    }

    proptest::proptest! {
        /// Every broadcast entry is what Node's streams adapter reads: its fields in
        /// Node's order, `data` as JSON text unless it carries binary (then base64 of
        /// msgpack), reading back as sent.
        #[test]
        fn broadcast_entries_read_back_as_node_reads_them(
            uid in "[0-9a-f]{16}",
            ns in "/[a-z#]{0,10}",
            event in ".{1,20}",
            args in proptest::collection::vec(wire::properties::value(), 0..6),
            rooms in wire::properties::rooms(),
            except in wire::properties::rooms(),
            volatile in proptest::prelude::any::<bool>(),
        ) {
            let opts = BroadcastOptions { rooms, except, volatile, ..BroadcastOptions::default() };
            let data = wire::object(vec![
                ("packet", cluster::packet(&event, args.clone())),
                ("opts", cluster::opts(&opts, None)),
            ]);
            let entry = fields(&uid, &ns, message::BROADCAST, &data);
            let names: Vec<&str> = entry.iter().map(|(name, _)| *name).collect();
            proptest::prop_assert_eq!(names, ["uid", "nsp", "type", "data"]);
            proptest::prop_assert_eq!(&entry[0].1, &uid);
            proptest::prop_assert_eq!(&entry[1].1, &ns);
            proptest::prop_assert_eq!(&entry[2].1, "3");
            let text = &entry[3].1;
            proptest::prop_assert_eq!(text.starts_with('{'), !data.has_binary());
            let read = decode_data(text).unwrap();
            let Some(Value::Object(packet)) = read.get("packet") else {
                panic!("no packet")
            };
            proptest::prop_assert_eq!(packet.get("type"), Some(&Value::from(2u64)));
            let mut sent = vec![Value::String(event)];
            sent.extend(args);
            proptest::prop_assert_eq!(packet.get("data"), Some(&Value::Array(sent)));
            proptest::prop_assert_eq!(wire::message_opts(&read), Some(opts));
        }
    }
}
