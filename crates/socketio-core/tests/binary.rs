//! Binary attachments in the text format: placeholders out, attachments back in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use socketio_core::{
    Args, DecodeError, Decoder, JsonParser, Message, Packet, PacketKind, PacketType, Parser, Value,
};

/// Checks that an error is the expected one.
type Check = fn(&DecodeError) -> bool;

fn text(out: &BytesMut) -> &str {
    std::str::from_utf8(out).unwrap()
}

fn feed(decoder: &mut impl Decoder, messages: Vec<Message>) -> Result<Option<Packet>, DecodeError> {
    let mut last = Ok(None);
    for m in messages {
        last = decoder.decode(m);
        if last.is_err() {
            break;
        }
    }
    last
}

fn t(s: &str) -> Message {
    Message::Text(s.into())
}

fn b(bytes: &'static [u8]) -> Message {
    Message::Binary(Bytes::from_static(bytes))
}

#[test]
fn spec_binary_event() {
    let mut decoder = JsonParser::default().decoder();
    assert!(
        decoder
            .decode(t(r#"51-["hello",{"_placeholder":true,"num":0}]"#))
            .unwrap()
            .is_none()
    );
    assert!(decoder.is_pending());
    let packet = decoder.decode(b(&[1, 2, 3, 4])).unwrap().unwrap();
    assert!(!decoder.is_pending());
    assert_eq!(packet.packet_type(), PacketType::BinaryEvent);
    let PacketKind::Event { event, args, ack } = &packet.kind else {
        panic!()
    };
    assert_eq!((&**event, *ack), ("hello", None));
    let data: Bytes = args.deserialize().unwrap();
    assert_eq!(&data[..], &[1, 2, 3, 4]);
    // A `Vec<u8>` reads binary too.
    let data: Vec<u8> = args.deserialize().unwrap();
    assert_eq!(data, vec![1, 2, 3, 4]);
    assert_eq!(args.raw_json(), None);

    // And it encodes back to the same messages.
    let messages = JsonParser::default().encode_messages(&packet).unwrap();
    assert_eq!(
        messages,
        vec![
            t(r#"51-["hello",{"_placeholder":true,"num":0}]"#),
            b(&[1, 2, 3, 4])
        ]
    );
}

#[test]
fn spec_multiple_attachments_with_namespace() {
    let mut decoder = JsonParser::default().decoder();
    let packet = feed(
        &mut decoder,
        vec![
            t(r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
            b(&[1, 2]),
            b(&[3, 4]),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(packet.nsp, "/admin");
    let PacketKind::Event { args, .. } = &packet.kind else {
        panic!()
    };
    let (x, y): (Bytes, Bytes) = args.deserialize().unwrap();
    assert_eq!((&x[..], &y[..]), (&[1, 2][..], &[3, 4][..]));
}

#[test]
fn spec_binary_ack() {
    let mut decoder = JsonParser::default().decoder();
    let packet = feed(
        &mut decoder,
        vec![
            t(r#"61-15["bar",{"_placeholder":true,"num":0}]"#),
            b(&[1, 2, 3, 4]),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(packet.packet_type(), PacketType::BinaryAck);
    let PacketKind::Ack { ack, args } = &packet.kind else {
        panic!()
    };
    assert_eq!(*ack, 15);
    let (s, data): (String, Bytes) = args.deserialize().unwrap();
    assert_eq!((s.as_str(), &data[..]), ("bar", &[1, 2, 3, 4][..]));

    // The spec's sample session.
    let packet = feed(
        &mut decoder,
        vec![
            t(r#"61-/admin,1[{"_placeholder":true,"num":0}]"#),
            b(b"\xff"),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(packet.nsp, "/admin");
    assert_eq!(packet.ack_id(), Some(1));
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    data: Bytes,
    parts: Vec<Bytes>,
    meta: BTreeMap<String, Option<Bytes>>,
}

#[test]
fn nested_binary_in_typed_data() {
    let upload = Upload {
        name: "f".into(),
        data: Bytes::from_static(b"AB"),
        parts: vec![Bytes::from_static(b"C"), Bytes::from_static(b"D")],
        meta: [
            ("thumb".to_owned(), Some(Bytes::from_static(b"E"))),
            ("x".to_owned(), None),
        ]
        .into(),
    };
    let parser = JsonParser::default();
    let mut out = BytesMut::from(&b"4"[..]);
    let attachments = parser
        .encode_event("/admin", "upload", Some(12), &(&upload, 5), &mut out)
        .unwrap();
    assert_eq!(
        text(&out),
        concat!(
            r#"454-/admin,12["upload",{"name":"f","data":{"_placeholder":true,"num":0},"#,
            r#""parts":[{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}],"#,
            r#""meta":{"thumb":{"_placeholder":true,"num":3},"x":null}},5]"#
        )
    );
    assert_eq!(attachments, vec![&b"AB"[..], b"C", b"D", b"E"]);

    let mut messages = vec![Message::Text(text(&out)[1..].into())];
    messages.extend(attachments.into_iter().map(Message::Binary));
    let packet = feed(&mut parser.decoder(), messages).unwrap().unwrap();
    let PacketKind::Event { args, ack, .. } = &packet.kind else {
        panic!()
    };
    assert_eq!(*ack, Some(12));
    let (back, n): (Upload, u8) = args.deserialize().unwrap();
    assert_eq!((back, n), (upload, 5));
}

#[test]
fn binary_ack_from_typed_data() {
    let mut out = BytesMut::new();
    let attachments = JsonParser::default()
        .encode_ack(
            "/",
            15,
            &("bar", Bytes::from_static(&[1, 2, 3, 4])),
            &mut out,
        )
        .unwrap();
    assert_eq!(text(&out), r#"61-15["bar",{"_placeholder":true,"num":0}]"#);
    assert_eq!(attachments.len(), 1);
}

#[test]
fn value_binary_is_shared_not_copied() {
    let data = Bytes::from(vec![9u8; 64]);
    let packet = Packet::event(
        "/",
        "v",
        vec![Value::Array(vec![Value::Binary(data.clone()), Value::Null])],
        None,
    );
    let mut out = BytesMut::new();
    let attachments = packet.encode(&mut out).unwrap();
    assert_eq!(
        text(&out),
        r#"51-["v",[{"_placeholder":true,"num":0},null]]"#
    );
    assert_eq!(attachments[0].as_ptr(), data.as_ptr());

    // And decoding shares the received attachment.
    let mut decoder = JsonParser::default().decoder();
    decoder.decode(Message::Text(text(&out).into())).unwrap();
    let packet = decoder
        .decode(Message::Binary(data.clone()))
        .unwrap()
        .unwrap();
    let PacketKind::Event { args, .. } = &packet.kind else {
        panic!()
    };
    let values = args.to_values().unwrap();
    let Value::Array(items) = &values[0] else {
        panic!()
    };
    assert_eq!(items[0].as_binary().unwrap().as_ptr(), data.as_ptr());
}

#[test]
fn args_from_serialize_keep_their_attachments() {
    let args = Args::from_serialize(&(1, Bytes::from_static(b"xy"))).unwrap();
    assert!(args.has_binary());
    assert_eq!(args.len(), 2);
    let (n, data): (u8, Bytes) = args.deserialize().unwrap();
    assert_eq!((n, &data[..]), (1, &b"xy"[..]));
    let mut out = BytesMut::new();
    let attachments = Packet::ack("/", 4, args).encode(&mut out).unwrap();
    assert_eq!(text(&out), r#"61-4[1,{"_placeholder":true,"num":0}]"#);
    assert_eq!(attachments, vec![Bytes::from_static(b"xy")]);
}

#[test]
fn attachment_limit() {
    // Exactly the limit is fine.
    let mut placeholders = Vec::new();
    for i in 0..10 {
        placeholders.push(format!(r#"{{"_placeholder":true,"num":{i}}}"#));
    }
    let header = format!(r#"510-["many",{}]"#, placeholders.join(","));
    let mut messages = vec![Message::Text(header.as_str().into())];
    messages.extend((0..10u8).map(|i| Message::Binary(Bytes::from(vec![i]))));
    let packet = feed(&mut JsonParser::default().decoder(), messages)
        .unwrap()
        .unwrap();
    let PacketKind::Event { args, .. } = &packet.kind else {
        panic!()
    };
    assert_eq!(args.len(), 10);

    // One more is refused, before any attachment is buffered.
    let err = JsonParser::default()
        .decoder()
        .decode(t(r#"511-["many"]"#))
        .unwrap_err();
    assert!(matches!(
        err,
        DecodeError::TooManyAttachments { count: 11, max: 10 }
    ));

    // The limit is configurable.
    let parser = JsonParser::new().with_max_attachments(1);
    assert_eq!(parser.max_attachments(), 1);
    let err = parser.decoder().decode(t(r#"52-["x"]"#)).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::TooManyAttachments { count: 2, max: 1 }
    ));
}

#[test]
fn placeholders_must_point_to_an_attachment() {
    for bad in [
        r#"51-["x",{"_placeholder":true,"num":1}]"#,
        r#"51-["x",{"_placeholder":true,"num":-1}]"#,
        r#"51-["x",{"_placeholder":true,"num":"0"}]"#,
        r#"51-["x",{"_placeholder":true}]"#,
        r#"51-["x",[[{"_placeholder":true,"num":7}]]]"#,
    ] {
        let err = feed(&mut JsonParser::default().decoder(), vec![t(bad), b(b"z")]).unwrap_err();
        assert!(
            matches!(err, DecodeError::InvalidPlaceholder),
            "{bad}: {err:?}"
        );
    }
    // `_placeholder` must be `true` to make a placeholder.
    let packet = feed(
        &mut JsonParser::default().decoder(),
        vec![t(r#"51-["x",{"_placeholder":false,"num":9}]"#), b(b"z")],
    )
    .unwrap()
    .unwrap();
    assert!(!packet.packet_type().is_binary());
}

#[test]
fn binary_packets_check_their_payload_when_complete() {
    for (bad, check) in [
        (
            r#"51-{}"#,
            (|e| matches!(e, DecodeError::InvalidPayload(PacketType::BinaryEvent))) as Check,
        ),
        (r#"51-[]"#, |e| matches!(e, DecodeError::InvalidEventName)),
        (r#"51-["disconnect"]"#, |e| {
            matches!(e, DecodeError::ReservedEventName(_))
        }),
        (r#"51-["x""#, |e| matches!(e, DecodeError::Json(_))),
    ] {
        let err = feed(&mut JsonParser::default().decoder(), vec![t(bad), b(b"z")]).unwrap_err();
        assert!(check(&err), "{bad}: {err:?}");
    }
}

#[test]
fn zero_attachments_complete_at_once() {
    let packet = JsonParser::default()
        .decoder()
        .decode(t(r#"50-["x",1]"#))
        .unwrap()
        .unwrap();
    assert_eq!(packet.packet_type(), PacketType::Event);
}

#[test]
fn messages_out_of_order_are_errors() {
    let mut decoder = JsonParser::default().decoder();
    assert!(matches!(
        decoder.decode(b(b"x")),
        Err(DecodeError::UnexpectedBinary)
    ));

    decoder
        .decode(t(r#"52-["x",{"_placeholder":true,"num":0}]"#))
        .unwrap();
    decoder.decode(b(b"1")).unwrap();
    assert!(matches!(
        decoder.decode(t(r#"2["y"]"#)),
        Err(DecodeError::UnexpectedText)
    ));
    // The decoder is reset: the next packet decodes.
    assert!(!decoder.is_pending());
    assert!(decoder.decode(t(r#"2["y"]"#)).unwrap().is_some());
}
