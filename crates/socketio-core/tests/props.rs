//! Property tests: encode then decode gives the same packet, for both parsers, and
//! decoding never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use socketio_core::{
    Args, Decoder, JsonParser, Message, MsgpackParser, Packet, PacketKind, Parser, Value,
    is_reserved_event,
};

/// Numbers that print and parse back exactly in JSON.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i32..1_000_000).prop_map(|n| Value::from(f64::from(n) / 64.0)),
    ]
}

fn value(binary: bool) -> impl Strategy<Value = Value> {
    let plain = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        any::<String>().prop_map(Value::String),
    ];
    let leaf = if binary {
        prop_oneof![
            3 => plain,
            1 => prop::collection::vec(any::<u8>(), 0..16).prop_map(|b| Value::Binary(Bytes::from(b))),
        ]
        .boxed()
    } else {
        plain.boxed()
    };
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,4}", inner, 0..4).prop_map(Value::Object),
        ]
    })
}

fn object(binary: bool) -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-zA-Z0-9 ]{0,6}", value(binary), 0..4)
        .prop_map(|m: BTreeMap<String, Value>| Value::Object(m))
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-z0-9_/-]{1,8}"]
}

fn event_name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not reserved", |s| !is_reserved_event(s))
}

fn args(binary: bool) -> impl Strategy<Value = Args> {
    prop::collection::vec(value(binary), 0..4).prop_map(Args::from_values)
}

/// Any packet; binary values only in event and ack arguments when `binary_args`, and
/// anywhere when `binary_anywhere` (msgpack).
fn packet(binary_args: bool, binary_anywhere: bool) -> impl Strategy<Value = Packet> {
    prop_oneof![
        (namespace(), prop::option::of(object(binary_anywhere)))
            .prop_map(|(nsp, data)| Packet::connect(nsp, data)),
        namespace().prop_map(Packet::disconnect),
        (
            namespace(),
            event_name(),
            args(binary_args),
            prop::option::of(any::<u64>())
        )
            .prop_map(|(nsp, event, args, ack)| Packet::event(nsp, event, args, ack)),
        (namespace(), any::<u64>(), args(binary_args))
            .prop_map(|(nsp, ack, args)| Packet::ack(nsp, ack, args)),
        (
            namespace(),
            prop_oneof![
                any::<String>().prop_map(Value::String),
                object(binary_anywhere)
            ]
        )
            .prop_map(|(nsp, data)| Packet::connect_error(nsp, data)),
    ]
}

fn round_trip<P: Parser>(parser: &P, packet: &Packet) -> Packet {
    let messages = parser.encode_messages(packet).unwrap();
    let mut decoder = parser.decoder();
    let count = messages.len();
    let mut decoded = None;
    for (i, m) in messages.into_iter().enumerate() {
        let out = decoder.decode(m).unwrap();
        // Only the last message completes the packet.
        assert_eq!(out.is_some(), i + 1 == count);
        decoded = out;
    }
    decoded.unwrap()
}

proptest! {
    #[test]
    fn text_round_trip(packet in packet(false, false)) {
        let messages = JsonParser::default().encode_messages(&packet).unwrap();
        prop_assert_eq!(messages.len(), 1);
        prop_assert_eq!(round_trip(&JsonParser::default(), &packet), packet);
    }

    #[test]
    fn binary_round_trip(packet in packet(true, false)) {
        let back = round_trip(&JsonParser::default(), &packet);
        prop_assert_eq!(back.packet_type(), packet.packet_type());
        prop_assert_eq!(back, packet);
    }

    #[test]
    fn msgpack_round_trip(packet in packet(true, true)) {
        prop_assert_eq!(round_trip(&MsgpackParser::default(), &packet), packet);
    }

    /// A packet re-encoded after decoding gives the same text (the raw arguments are
    /// written back as they came).
    #[test]
    fn text_reencodes_identically(packet in packet(false, false)) {
        let mut first = BytesMut::new();
        packet.encode(&mut first).unwrap();
        let decoded = round_trip(&JsonParser::default(), &packet);
        let mut second = BytesMut::new();
        decoded.encode(&mut second).unwrap();
        prop_assert_eq!(first, second);
    }

    /// Typed data encoded straight into the buffer reads back as the same typed data,
    /// with either parser.
    #[test]
    fn typed_round_trip(
        nsp in namespace(),
        event in event_name(),
        ack in prop::option::of(any::<u64>()),
        s in any::<String>(),
        n in any::<i64>(),
        data in prop::collection::vec(any::<u8>(), 0..32),
        list in prop::collection::vec(prop::option::of(any::<u32>()), 0..4),
    ) {
        let data = Bytes::from(data);
        let sent = (s, n, data, list);
        for parser in [Either::Json(JsonParser::default()), Either::Msgpack(MsgpackParser::default())] {
            let mut out = BytesMut::new();
            let attachments = parser.encode_event(&nsp, &event, ack, &sent, &mut out);
            let packet = parser.decode_all(out, attachments);
            let PacketKind::Event { event: name, args, ack: id } = packet.kind else { panic!() };
            prop_assert_eq!(&*name, event.as_str());
            prop_assert_eq!(id, ack);
            prop_assert_eq!(&*packet.nsp, nsp.as_str());
            let back: (String, i64, Bytes, Vec<Option<u32>>) = args.deserialize().unwrap();
            prop_assert_eq!(&back, &sent);
        }
    }

    #[test]
    fn json_decode_never_panics(text in any::<String>()) {
        let _ = JsonParser::default().decoder().decode(Message::Text(text.as_str().into()));
    }

    /// Strings made of the format's own characters reach deeper into the decoder.
    #[test]
    fn json_decode_never_panics_on_near_misses(
        text in "[0-6]{0,2}[0-9-]{0,3}(/[a-z,]{0,4})?[0-9]{0,3}[\\[\\]{}\":,0-9a-z_ -]{0,24}",
        attachments in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..4), 0..3),
    ) {
        let mut decoder = JsonParser::default().decoder();
        if let Ok(Some(packet)) = decoder.decode(Message::Text(text.as_str().into())) {
            // Whatever decodes, encodes.
            JsonParser::default().encode_messages(&packet).unwrap();
        }
        for a in attachments {
            let _ = decoder.decode(Message::Binary(Bytes::from(a)));
        }
    }

    #[test]
    fn msgpack_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = MsgpackParser::default().decoder().decode(Message::Binary(Bytes::from(bytes)));
    }

    /// Valid packets with bytes changed reach deeper into the msgpack decoder.
    #[test]
    fn msgpack_decode_never_panics_on_mutations(
        packet in packet(true, true),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut out = BytesMut::new();
        MsgpackParser::default().encode(&packet, &mut out).unwrap();
        let mut bytes = out.to_vec();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(Some(p)) = MsgpackParser::default().decoder().decode(Message::Binary(Bytes::from(bytes))) {
            MsgpackParser::default().encode_messages(&p).unwrap();
        }
    }
}

/// Both parsers behind one type, for the typed round trip.
enum Either {
    Json(JsonParser),
    Msgpack(MsgpackParser),
}

impl Either {
    fn encode_event<T: serde::Serialize>(
        &self,
        nsp: &str,
        event: &str,
        ack: Option<u64>,
        args: &T,
        out: &mut BytesMut,
    ) -> Vec<Bytes> {
        match self {
            Self::Json(p) => p.encode_event(nsp, event, ack, args, out).unwrap(),
            Self::Msgpack(p) => p.encode_event(nsp, event, ack, args, out).unwrap(),
        }
    }

    fn decode_all(&self, first: BytesMut, attachments: Vec<Bytes>) -> Packet {
        let first = match self {
            Self::Json(_) => Message::Text(bytestring::ByteString::try_from(first).unwrap()),
            Self::Msgpack(_) => Message::Binary(first.freeze()),
        };
        let mut messages = vec![first];
        messages.extend(attachments.into_iter().map(Message::Binary));
        let mut last = None;
        match self {
            Self::Json(p) => {
                let mut d = p.decoder();
                for m in messages {
                    last = d.decode(m).unwrap();
                }
            }
            Self::Msgpack(p) => {
                let mut d = p.decoder();
                for m in messages {
                    last = d.decode(m).unwrap();
                }
            }
        }
        last.unwrap()
    }
}
