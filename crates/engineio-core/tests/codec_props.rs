//! Property tests of the packet and payload codec: what is encoded decodes back, and no
//! input makes a decoder panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use engineio_core::{
    DecodeError, Frame, Handshake, Message, Packet, PayloadEncoder, PayloadLimits, SEPARATOR, Sid,
    decode_payload,
};
use proptest::prelude::*;

const NO_LIMITS: PayloadLimits = PayloadLimits {
    max_bytes: usize::MAX,
    max_packets: usize::MAX,
};

fn text() -> impl Strategy<Value = ByteString> {
    any::<String>().prop_map(ByteString::from)
}

/// Text that may sit inside a polling payload: anything but the separator.
fn payload_text() -> impl Strategy<Value = ByteString> {
    any::<String>().prop_map(|text| ByteString::from(text.replace(char::from(SEPARATOR), "")))
}

fn handshake() -> impl Strategy<Value = Handshake> {
    (
        any::<String>(),
        proptest::collection::vec(any::<String>(), 0..3),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(sid, upgrades, ping_interval, ping_timeout, max_payload)| Handshake {
                sid: Sid::from(sid.as_str()),
                upgrades,
                ping_interval,
                ping_timeout,
                max_payload,
            },
        )
}

/// Any packet, built from `text` for its text data.
fn packet_with<S>(text: impl Fn() -> S) -> impl Strategy<Value = Packet>
where
    S: Strategy<Value = ByteString> + 'static,
{
    prop_oneof![
        handshake().prop_map(Packet::Open),
        Just(Packet::Close),
        text().prop_map(Packet::Ping),
        text().prop_map(Packet::Pong),
        text().prop_map(|text| Packet::Message(Message::Text(text))),
        proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|data| Packet::Message(Message::Binary(Bytes::from(data)))),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    packet_with(text)
}

fn payload_packet() -> impl Strategy<Value = Packet> {
    packet_with(payload_text)
}

/// Bytes that look like payloads more often than uniform noise does.
fn payload_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\x1e".to_vec()),
        Just(b"0{\"sid\":\"a\",\"upgrades\":[],\"pingInterval\":1,\"pingTimeout\":2}".to_vec()),
        Just(b"b".to_vec()),
        Just(b"bAQIDBA==".to_vec()),
        Just(b"4".to_vec()),
        Just(b"2probe".to_vec()),
        "[0-9b=+/A-Za-z]{0,6}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..6),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

fn encode_text(packet: &Packet) -> BytesMut {
    let mut out = BytesMut::new();
    packet.encode_text(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn packet_text_form_round_trips(packet in packet()) {
        let encoded = encode_text(&packet).freeze();
        prop_assert_eq!(encoded.len(), packet.encoded_text_len());
        let decoded = if let Packet::Message(Message::Binary(_)) = packet {
            // The `b` + base64 form exists only inside a payload.
            prop_assert_eq!(encoded.first(), Some(&b'b'));
            let mut packets = decode_payload(encoded, NO_LIMITS).unwrap();
            let decoded = packets.next().unwrap();
            prop_assert!(packets.next().is_none());
            decoded
        } else {
            Packet::decode_text(ByteString::try_from(encoded).unwrap())
        };
        prop_assert_eq!(decoded, Ok(packet));
    }

    #[test]
    fn frames_round_trip(packet in packet()) {
        let frame = packet.to_frame();
        match (&packet, &frame) {
            (Packet::Message(Message::Binary(data)), Frame::Binary(frame_data)) => {
                prop_assert_eq!(data, frame_data);
            }
            (Packet::Message(Message::Binary(_)), Frame::Text(_)) => {
                prop_assert!(false, "a binary message must go as a binary frame");
            }
            (_, Frame::Text(text)) => {
                prop_assert_eq!(text.as_bytes(), &encode_text(&packet)[..]);
            }
            (_, Frame::Binary(_)) => prop_assert!(false, "only binary messages are binary frames"),
        }
        prop_assert_eq!(Packet::decode_frame(frame), Ok(packet));
    }

    #[test]
    fn payloads_round_trip(packets in proptest::collection::vec(payload_packet(), 1..16)) {
        let mut encoder = PayloadEncoder::new(usize::MAX);
        for packet in &packets {
            prop_assert!(encoder.try_push(packet));
        }
        let body = encoder.finish();
        let expected_len = packets.iter().map(Packet::encoded_text_len).sum::<usize>()
            + packets.len() - 1;
        prop_assert_eq!(body.len(), expected_len);
        let limits = PayloadLimits { max_bytes: body.len(), max_packets: packets.len() };
        let decoded: Result<Vec<_>, _> = decode_payload(body, limits).unwrap().collect();
        prop_assert_eq!(decoded, Ok(packets));
    }

    #[test]
    fn the_payload_encoder_keeps_to_its_budget(
        packets in proptest::collection::vec(payload_packet(), 1..16),
        budget in 0usize..400,
    ) {
        // The session's way: push in order, stop at the first that does not fit.
        let mut encoder = PayloadEncoder::new(budget);
        let taken = packets.iter().take_while(|packet| encoder.try_push(packet)).count();
        let body = encoder.finish();
        prop_assert!(taken >= 1, "the first packet is always taken");
        if taken > 1 {
            prop_assert!(body.len() <= budget);
        }
        if taken < packets.len() {
            // The next one really did not fit.
            prop_assert!(body.len() + 1 + packets[taken].encoded_text_len() > budget);
        }
        let decoded: Result<Vec<_>, _> = decode_payload(body, NO_LIMITS).unwrap().collect();
        prop_assert_eq!(decoded, Ok(packets[..taken].to_vec()));
    }

    #[test]
    fn decode_payload_never_panics(
        body in prop_oneof![proptest::collection::vec(any::<u8>(), 0..300), payload_like_bytes()],
        max_bytes in 0usize..400,
        max_packets in 0usize..8,
    ) {
        let limits = PayloadLimits { max_bytes, max_packets };
        let len = body.len();
        match decode_payload(Bytes::from(body), limits) {
            Err(DecodeError::PayloadTooLarge { size, max }) => {
                prop_assert!(len > max_bytes);
                prop_assert_eq!((size, max), (len, max_bytes));
            }
            Err(_) => prop_assert!(len <= max_bytes),
            Ok(packets) => {
                prop_assert!(len <= max_bytes && len > 0);
                let items: Vec<_> = packets.collect();
                // Decoding stops at the first error.
                if let Some(at) = items.iter().position(Result::is_err) {
                    prop_assert_eq!(at, items.len() - 1);
                }
                prop_assert!(items.iter().filter(|item| item.is_ok()).count() <= max_packets);
                // What did decode encodes back to a payload that decodes the same.
                let ok: Vec<Packet> = items.into_iter().filter_map(Result::ok).collect();
                if !ok.is_empty() {
                    let mut encoder = PayloadEncoder::new(usize::MAX);
                    for packet in &ok {
                        encoder.try_push(packet);
                    }
                    let again: Result<Vec<_>, _> =
                        decode_payload(encoder.finish(), NO_LIMITS).unwrap().collect();
                    prop_assert_eq!(again, Ok(ok));
                }
            }
        }
    }

    #[test]
    fn decode_text_never_panics(
        prefix in prop_oneof![Just(""), Just("0"), Just("0{"), Just("4"), Just("b")],
        text in any::<String>(),
    ) {
        let input = format!("{prefix}{text}");
        if let Ok(packet) = Packet::decode_text(ByteString::from(input.as_str())) {
            // A decoded packet encodes to something that decodes the same.
            let again = Packet::decode_text(ByteString::try_from(encode_text(&packet).freeze()).unwrap());
            prop_assert_eq!(again, Ok(packet));
        }
        let _ = Packet::decode_frame(Frame::Text(ByteString::from(input)));
    }

    #[test]
    fn binary_frames_are_always_binary_messages(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let data = Bytes::from(data);
        prop_assert_eq!(
            Packet::decode_frame(Frame::Binary(data.clone())),
            Ok(Packet::Message(Message::Binary(data)))
        );
    }
}

#[test]
fn the_specs_payload_examples() {
    let decode = |body: &'static str| -> Vec<Packet> {
        decode_payload(Bytes::from_static(body.as_bytes()), NO_LIMITS)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        decode("4hello\x1e2\x1e4world"),
        [
            Packet::Message(Message::from("hello")),
            Packet::Ping(ByteString::new()),
            Packet::Message(Message::from("world")),
        ]
    );
    assert_eq!(
        decode("4hello\x1ebAQIDBA=="),
        [
            Packet::Message(Message::from("hello")),
            Packet::Message(Message::from(vec![1, 2, 3, 4])),
        ]
    );
    // "€" is three bytes: v4 counts nothing, it only splits on the separator.
    assert_eq!(decode("4€"), [Packet::Message(Message::from("€"))]);
}

#[test]
fn the_specs_handshake_example_decodes() {
    let open = Packet::decode_text(ByteString::from_static(
        "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\
         \"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}",
    ))
    .unwrap();
    let Packet::Open(handshake) = open else {
        panic!("not an open packet: {open:?}");
    };
    assert_eq!(handshake.sid.as_str(), "lv_VI97HAXpY6yYWAAAC");
    assert_eq!(handshake.upgrades, ["websocket"]);
    assert_eq!(handshake.ping_interval().as_millis(), 25_000);
    assert_eq!(handshake.ping_timeout().as_millis(), 20_000);
    assert_eq!(handshake.max_payload, 1_000_000);
}
