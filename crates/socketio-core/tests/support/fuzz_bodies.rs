//! The bodies of the socketio fuzz targets.
//!
//! `fuzz/fuzz_targets/socketio_*.rs` include this file, and
//! `crates/socketio-core/tests/fuzz_bodies.rs` runs the same functions on random inputs,
//! so CI exercises them on stable without libFuzzer. Every function takes arbitrary
//! bytes, must never panic, and asserts what must hold for any input.

use bytes::{Bytes, BytesMut};
use socketio_core::{
    Decoder, JsonParser, Message, MsgpackParser, Packet, PacketKind, Parser, Value,
};

/// Splits the input into messages at `0x1e` (the Engine.IO polling separator): a chunk
/// that starts with `b` is a binary message, any other a text message (made UTF-8).
fn messages(data: &[u8]) -> impl Iterator<Item = Message> + '_ {
    data.split(|b| *b == 0x1e)
        .map(|chunk| match chunk.split_first() {
            Some((b'b', rest)) => Message::Binary(Bytes::copy_from_slice(rest)),
            _ => Message::Text(String::from_utf8_lossy(chunk).as_ref().into()),
        })
}

/// Reads the arguments of a decoded packet in a few typed ways: none may panic.
fn read_args(packet: &Packet) {
    let args = match &packet.kind {
        PacketKind::Event { args, .. } | PacketKind::Ack { args, .. } => args,
        _ => return,
    };
    let _ = args.deserialize::<String>();
    let _ = args.deserialize::<(String, i64, Bytes)>();
    let _ = args.deserialize::<Option<Bytes>>();
    let _ = args.deserialize::<Vec<Value>>();
    let _ = args.deserialize::<Value>();
    let _ = args.deserialize::<()>();
    let _ = args.raw_json();
    let values = args.to_values();
    assert!(
        values.is_ok(),
        "decoded arguments must convert to values: {values:?}"
    );
}

/// Encodes `packet` with `parser` and decodes it again.
fn reencode<P: Parser>(parser: &P, packet: &Packet) -> Packet {
    let messages = parser.encode_messages(packet);
    assert!(
        messages.is_ok(),
        "a decoded packet must encode: {packet:?} {messages:?}"
    );
    let mut decoder = parser.decoder();
    let mut last = None;
    for message in messages.unwrap_or_default() {
        let decoded = decoder.decode(message);
        assert!(
            decoded.is_ok(),
            "re-encoded packet must decode: {packet:?} {decoded:?}"
        );
        last = decoded.ok().flatten();
    }
    assert!(!decoder.is_pending());
    assert!(
        last.is_some(),
        "re-encoded packet must decode whole: {packet:?}"
    );
    last.unwrap_or_else(|| packet.clone())
}

/// Feeds the input as a sequence of messages to the default parser's decoder. A packet
/// that decodes must read its arguments without panic, and must encode back to messages
/// that decode to a packet of the same type, namespace, ack id and argument count.
pub(crate) fn json_messages(data: &[u8]) {
    let parser = JsonParser::default().with_max_attachments(4);
    let mut decoder = parser.decoder();
    for message in messages(data) {
        let Ok(Some(packet)) = decoder.decode(message) else {
            continue;
        };
        read_args(&packet);
        let again = reencode(&parser, &packet);
        assert_eq!(again.nsp, packet.nsp);
        assert_eq!(again.ack_id(), packet.ack_id());
        assert_eq!(again.packet_type(), packet.packet_type());
        if let (
            PacketKind::Event {
                event: a, args: x, ..
            },
            PacketKind::Event {
                event: b, args: y, ..
            },
        ) = (&again.kind, &packet.kind)
        {
            assert_eq!(a, b);
            assert_eq!(x.len(), y.len());
        }
    }
}

/// Decodes the input as one msgpack packet. A packet that decodes must read its
/// arguments without panic and survive an encode / decode round trip unchanged.
pub(crate) fn msgpack_message(data: &[u8]) {
    let parser = MsgpackParser::default();
    let mut decoder = parser.decoder();
    let Ok(Some(packet)) = decoder.decode(Message::Binary(Bytes::copy_from_slice(data))) else {
        return;
    };
    read_args(&packet);
    let again = reencode(&parser, &packet);
    assert_eq!(again, packet);
}

/// Decodes the input as text with the default parser, and when it is a packet, encodes
/// it with msgpack and back: the two parsers must agree on what a packet is.
pub(crate) fn json_to_msgpack(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(Some(packet)) = JsonParser::default()
        .decoder()
        .decode(Message::Text(text.as_ref().into()))
    else {
        return;
    };
    let mut out = BytesMut::new();
    let encoded = MsgpackParser::default().encode(&packet, &mut out);
    assert!(
        encoded.is_ok(),
        "msgpack must encode what JSON decodes: {packet:?}"
    );
    let again = reencode(&MsgpackParser::default(), &packet);
    assert_eq!(again.nsp, packet.nsp);
    assert_eq!(again.ack_id(), packet.ack_id());
}
