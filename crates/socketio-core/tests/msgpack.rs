//! The msgpack parser, against the bytes npm `socket.io-msgpack-parser` (notepack.io)
//! writes and reads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::{Bytes, BytesMut};
use socketio_core::{
    Args, DecodeError, Decoder, EncodeError, Message, MessageKind, MsgpackParser, Packet,
    PacketKind, PacketType, Parser, Value,
};

/// Checks that an error is the expected one.
type Check<E> = fn(&E) -> bool;

fn encode(packet: &Packet) -> Vec<u8> {
    let messages = MsgpackParser::default().encode_messages(packet).unwrap();
    assert_eq!(messages.len(), 1, "msgpack has no attachments");
    match &messages[0] {
        Message::Binary(b) => b.to_vec(),
        other => panic!("msgpack is binary: {other:?}"),
    }
}

fn decode(bytes: &[u8]) -> Result<Option<Packet>, DecodeError> {
    MsgpackParser::default()
        .decoder()
        .decode(Message::Binary(Bytes::copy_from_slice(bytes)))
}

/// A msgpack map of `entries`, as notepack writes a JavaScript object.
fn map(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = vec![0x80 | u8::try_from(entries.len()).unwrap()];
    for (k, v) in entries {
        out.push(0xa0 | u8::try_from(k.len()).unwrap());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v);
    }
    out
}

/// A msgpack fixstr.
fn s(text: &str) -> Vec<u8> {
    let mut out = vec![0xa0 | u8::try_from(text.len()).unwrap()];
    out.extend_from_slice(text.as_bytes());
    out
}

#[test]
fn event_bytes_match_notepack() {
    // socket.emit("hello", 1) from a Node server: { type: 2, data: ["hello", 1], nsp: "/" }
    let expected = map(&[
        ("type", &[0x02]),
        ("data", &[&[0x92][..], &s("hello"), &[0x01]].concat()),
        ("nsp", &s("/")),
    ]);
    let mut out = BytesMut::new();
    let parser = MsgpackParser::default();
    assert_eq!(parser.message_kind(), MessageKind::Binary);
    assert!(
        parser
            .encode_event("/", "hello", None, &1, &mut out)
            .unwrap()
            .is_empty()
    );
    assert_eq!(&out[..], &expected[..]);
    let packet = decode(&expected).unwrap().unwrap();
    assert_eq!(
        packet,
        Packet::event("/", "hello", vec![Value::from(1u64)], None)
    );
    assert_eq!(encode(&packet), expected);
}

#[test]
fn ack_id_and_binary_in_place() {
    // { type: 3, data: ["bar", <Buffer 01 02>], nsp: "/admin", id: 12 }
    let expected = map(&[
        ("type", &[0x03]),
        (
            "data",
            &[&[0x92][..], &s("bar"), &[0xc4, 0x02, 0x01, 0x02]].concat(),
        ),
        ("nsp", &s("/admin")),
        ("id", &[0x0c]),
    ]);
    let mut out = BytesMut::new();
    MsgpackParser::default()
        .encode_ack(
            "/admin",
            12,
            &("bar", Bytes::from_static(&[1, 2])),
            &mut out,
        )
        .unwrap();
    assert_eq!(&out[..], &expected[..]);
    let packet = decode(&expected).unwrap().unwrap();
    let PacketKind::Ack { ack, args } = &packet.kind else {
        panic!()
    };
    assert_eq!(*ack, 12);
    let (name, data): (String, Bytes) = args.deserialize().unwrap();
    assert_eq!((name.as_str(), &data[..]), ("bar", &[1, 2][..]));
}

#[test]
fn connect_disconnect_and_errors_round_trip() {
    let auth = Value::Object([("token".to_owned(), Value::from("123"))].into());
    for packet in [
        Packet::connect("/", None),
        Packet::connect("/admin", Some(auth.clone())),
        Packet::disconnect("/admin"),
        Packet::connect_error("/", Value::from("Not authorized")),
        Packet::connect_error("/", auth),
        Packet::event(
            "/",
            "e",
            Args::from_serialize(&(1, "x", [true])).unwrap(),
            Some(u64::MAX),
        ),
        Packet::ack("/", 0, Args::new()),
    ] {
        let bytes = encode(&packet);
        assert_eq!(decode(&bytes).unwrap().unwrap(), packet, "{packet:?}");
    }
    // { type: 0, nsp: "/" }: CONNECT without data has no `data` key.
    assert_eq!(
        encode(&Packet::connect("/", None)),
        map(&[("type", &[0]), ("nsp", &s("/"))])
    );
}

#[test]
fn decoder_tolerates_what_javascript_writes() {
    // Keys in another order, an `options` object left by socket.io-client, and
    // `undefined` (fixext 1, type 0) values.
    let undefined: &[u8] = &[0xd4, 0x00, 0x00];
    let bytes = map(&[
        ("nsp", &s("/")),
        ("options", &map(&[("compress", &[0xc3])])),
        ("id", undefined),
        (
            "data",
            &[
                &[0x93][..],
                &s("e"),
                undefined,
                &[0xcb],
                &1.5f64.to_be_bytes(),
            ]
            .concat(),
        ),
        ("type", &[0x02]),
    ]);
    let packet = decode(&bytes).unwrap().unwrap();
    assert_eq!(
        packet,
        Packet::event("/", "e", vec![Value::Null, Value::from(1.5)], None)
    );
    // A CONNECT whose data is `undefined` or `null` has no data.
    let bytes = map(&[("type", &[0]), ("data", undefined), ("nsp", &s("/"))]);
    assert_eq!(decode(&bytes).unwrap().unwrap(), Packet::connect("/", None));
    let bytes = map(&[("type", &[0]), ("data", &[0xc0]), ("nsp", &s("/"))]);
    assert_eq!(decode(&bytes).unwrap().unwrap(), Packet::connect("/", None));
}

#[test]
fn malformed_msgpack_gives_typed_errors() {
    use DecodeError as E;
    let arr_e = [&[0x91][..], &s("e")].concat();
    let cases: Vec<(Vec<u8>, Check<E>)> = vec![
        (vec![], |e| matches!(e, E::Msgpack(_))),
        (vec![0x83, 0xa4], |e| matches!(e, E::Msgpack(_))),
        (vec![0x92, 0x01, 0x02], |e| {
            matches!(e, E::InvalidMsgpackPacket(_))
        }),
        (
            [
                map(&[("type", &[2]), ("nsp", &s("/")), ("data", &arr_e)]),
                vec![0x00],
            ]
            .concat(),
            |e| matches!(e, E::InvalidMsgpackPacket(_)),
        ),
        (map(&[("nsp", &s("/"))]), |e| {
            matches!(e, E::InvalidMsgpackPacket(_))
        }),
        (map(&[("type", &[2]), ("data", &arr_e)]), |e| {
            matches!(e, E::InvalidMsgpackPacket(_))
        }),
        (
            map(&[("type", &[5]), ("nsp", &s("/")), ("data", &arr_e)]),
            |e| matches!(e, E::InvalidMsgpackPacket(_)),
        ),
        (map(&[("type", &s("2")), ("nsp", &s("/"))]), |e| {
            matches!(e, E::InvalidMsgpackPacket(_))
        }),
        (map(&[("type", &[1]), ("nsp", &[0x01])]), |e| {
            matches!(e, E::InvalidMsgpackPacket(_))
        }),
        (map(&[("type", &[2]), ("nsp", &s("/"))]), |e| {
            matches!(e, E::MissingPayload(PacketType::Event))
        }),
        (
            map(&[("type", &[2]), ("nsp", &s("/")), ("data", &s("x"))]),
            |e| matches!(e, E::InvalidPayload(PacketType::Event)),
        ),
        (
            map(&[("type", &[2]), ("nsp", &s("/")), ("data", &[0x90])]),
            |e| matches!(e, E::InvalidEventName),
        ),
        (
            map(&[
                ("type", &[2]),
                ("nsp", &s("/")),
                ("data", &[&[0x91][..], &s("connect")].concat()),
            ]),
            |e| matches!(e, E::ReservedEventName(_)),
        ),
        (
            map(&[("type", &[3]), ("nsp", &s("/")), ("data", &[0x90])]),
            |e| matches!(e, E::MissingAckId),
        ),
        (
            map(&[
                ("type", &[3]),
                ("nsp", &s("/")),
                ("data", &[0x90]),
                ("id", &[0xff]),
            ]),
            |e| matches!(e, E::InvalidAckId),
        ),
        (
            map(&[("type", &[0]), ("nsp", &s("/")), ("id", &[1])]),
            |e| matches!(e, E::UnexpectedAckId(PacketType::Connect)),
        ),
        (
            map(&[("type", &[0]), ("nsp", &s("/")), ("data", &[0x90])]),
            |e| matches!(e, E::InvalidPayload(PacketType::Connect)),
        ),
        (
            map(&[("type", &[1]), ("nsp", &s("/")), ("data", &[0x80])]),
            |e| matches!(e, E::UnexpectedPayload(PacketType::Disconnect)),
        ),
        (map(&[("type", &[4]), ("nsp", &s("/"))]), |e| {
            matches!(e, E::MissingPayload(PacketType::ConnectError))
        }),
        (
            map(&[
                ("type", &[0]),
                ("nsp", &s("/")),
                ("data", &[0x81, 0x01, 0x02]),
            ]),
            |e| matches!(e, E::InvalidMsgpackPacket(_)),
        ),
        (
            map(&[
                ("type", &[2]),
                ("nsp", &s("/")),
                ("data", &[0x92, 0xa1, b'e', 0xd5, 0x05, 0, 0]),
            ]),
            |e| matches!(e, E::InvalidMsgpackPacket(_)),
        ),
    ];
    for (bytes, check) in cases {
        match decode(&bytes) {
            Err(e) => assert!(check(&e), "{bytes:02x?} gave {e:?}"),
            Ok(p) => panic!("{bytes:02x?} decoded to {p:?}"),
        }
    }
    let text = MsgpackParser::default()
        .decoder()
        .decode(Message::Text("2[\"e\"]".into()));
    assert!(matches!(text, Err(DecodeError::UnexpectedText)));
}

#[test]
fn encode_errors() {
    let parser = MsgpackParser::default();
    let mut out = BytesMut::new();
    assert!(matches!(
        parser.encode_event("admin", "e", None, &1, &mut out),
        Err(EncodeError::InvalidNamespace(_))
    ));
    assert!(matches!(
        parser.encode_event("/", "disconnecting", None, &1, &mut out),
        Err(EncodeError::ReservedEventName(_))
    ));
    assert!(matches!(
        parser.encode(&Packet::connect("/", Some(Value::Null)), &mut out),
        Err(EncodeError::InvalidPayload(PacketType::Connect))
    ));
    assert!(out.is_empty());
    // A comma is fine in a msgpack namespace.
    parser
        .encode(&Packet::disconnect("/a,b"), &mut out)
        .unwrap();
}

#[test]
fn json_decoded_packets_encode_as_msgpack() {
    let packet = socketio_core::JsonParser::default()
        .decoder()
        .decode(Message::Text(
            r#"2/admin,456["project:delete",123,{"a":[1.5,null]}]"#.into(),
        ))
        .unwrap()
        .unwrap();
    let bytes = encode(&packet);
    assert_eq!(decode(&bytes).unwrap().unwrap(), packet);
}

/// What notepack.io (the npm `socket.io-msgpack-parser`) writes for values that are not
/// `Buffer`s: an `ArrayBuffer` or typed array as ext 8 type 0, `undefined` as fixext 1,
/// a `Date` as fixext 8 (milliseconds in two 32-bit halves).
#[test]
fn notepack_extensions_decode() {
    use socketio_core::{Decoder, Message, MsgpackParser, PacketKind, Parser, Value};
    // {type: 2, data: ["e", <ArrayBuffer 4,5>, undefined, Date(1700000000123)], nsp: "/"}
    let mut packet = vec![0x83, 0xa4];
    packet.extend_from_slice(b"type");
    packet.push(0x02);
    packet.push(0xa4);
    packet.extend_from_slice(b"data");
    packet.extend_from_slice(&[0x94, 0xa1, b'e']);
    packet.extend_from_slice(&[0xc7, 0x02, 0x00, 4, 5]);
    packet.extend_from_slice(&[0xd4, 0x00, 0x00]);
    let millis: u64 = 1_700_000_000_123;
    packet.extend_from_slice(&[0xd7, 0x00]);
    packet.extend_from_slice(&u32::try_from(millis >> 32).unwrap().to_be_bytes());
    packet.extend_from_slice(&u32::try_from(millis & 0xffff_ffff).unwrap().to_be_bytes());
    packet.push(0xa3);
    packet.extend_from_slice(b"nsp");
    packet.extend_from_slice(&[0xa1, b'/']);
    let decoded = MsgpackParser::default()
        .decoder()
        .decode(Message::Binary(packet.into()))
        .unwrap()
        .unwrap();
    let PacketKind::Event { args, .. } = decoded.kind else {
        panic!("not an event")
    };
    assert_eq!(
        args.to_values().unwrap(),
        vec![
            Value::Binary(vec![4u8, 5].into()),
            Value::Null,
            Value::from(1_700_000_000_123_i64),
        ]
    );
}
