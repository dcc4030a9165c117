//! Micro-benchmarks of the codecs: Engine.IO packets and polling payloads
//! (`engineio-core`), Socket.IO packets with the JSON parser, with and without binary
//! attachments, and with the msgpack parser (`socketio-core`).
//!
//! `cargo bench --manifest-path bench/Cargo.toml -p codecs` (add `-- --sample-count 10`
//! for a short run; `cargo test --manifest-path bench/Cargo.toml -p codecs --benches` runs
//! each benchmark once).

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use codecs::{ECHO_EVENT, blob, chat, chat_event_json};
use divan::{Bencher, black_box, counter::BytesCount};
use engineio_core::{
    Frame, Message as EioMessage, Packet as EioPacket, PayloadEncoder, PayloadLimits,
    decode_payload,
};
use socketio_core::{
    Args, Decoder, JsonParser, Message, MsgpackParser, Packet, PacketKind, Parser,
};

fn main() {
    divan::main();
}

const LIMITS: PayloadLimits = PayloadLimits {
    max_bytes: 1_000_000,
    max_packets: 16_384,
};

mod engineio {
    use super::*;

    fn echo_frame() -> ByteString {
        ByteString::from(format!("4{ECHO_EVENT}"))
    }

    /// A WebSocket text frame to a packet.
    #[divan::bench]
    fn decode_text_frame(bencher: Bencher<'_, '_>) {
        let text = echo_frame();
        bencher
            .counter(BytesCount::new(text.len()))
            .bench(|| EioPacket::decode_frame(Frame::Text(black_box(text.clone()))));
    }

    /// A packet to a WebSocket text frame (one allocation for the frame).
    #[divan::bench]
    fn encode_text_frame(bencher: Bencher<'_, '_>) {
        let packet = EioPacket::Message(EioMessage::Text(ByteString::from_static(ECHO_EVENT)));
        bencher.bench(|| black_box(&packet).to_frame());
    }

    /// A packet appended to a reused buffer.
    #[divan::bench]
    fn encode_text_into_buffer(bencher: Bencher<'_, '_>) {
        let packet = EioPacket::Message(EioMessage::Text(ByteString::from_static(ECHO_EVENT)));
        let mut out = BytesMut::with_capacity(256);
        bencher.bench_local(|| {
            out.clear();
            black_box(&packet).encode_text(&mut out);
        });
    }

    /// A binary message in a WebSocket frame: no copy.
    #[divan::bench]
    fn decode_binary_frame(bencher: Bencher<'_, '_>) {
        let data = blob(1024);
        bencher.bench(|| EioPacket::decode_frame(Frame::Binary(black_box(data.clone()))));
    }

    /// A polling payload of `n` echo packets.
    #[divan::bench(args = [1, 16, 256])]
    fn encode_payload(bencher: Bencher<'_, '_>, n: usize) {
        let packet = EioPacket::Message(EioMessage::Text(ByteString::from_static(ECHO_EVENT)));
        bencher
            .counter(BytesCount::new(n * (ECHO_EVENT.len() + 2)))
            .bench(|| {
                let mut payload = PayloadEncoder::new(LIMITS.max_bytes);
                for _ in 0..n {
                    payload.try_push(black_box(&packet));
                }
                payload.finish()
            });
    }

    fn payload_of(n: usize) -> Bytes {
        let packet = EioPacket::Message(EioMessage::Text(ByteString::from_static(ECHO_EVENT)));
        let mut payload = PayloadEncoder::new(LIMITS.max_bytes);
        for _ in 0..n {
            payload.try_push(&packet);
        }
        payload.finish()
    }

    /// A polling payload of `n` echo packets, every packet decoded.
    #[divan::bench(args = [1, 16, 256])]
    fn decode_payload_text(bencher: Bencher<'_, '_>, n: usize) {
        let body = payload_of(n);
        bencher.counter(BytesCount::new(body.len())).bench(|| {
            let mut count = 0;
            for packet in decode_payload(black_box(body.clone()), LIMITS)
                .into_iter()
                .flatten()
            {
                count += usize::from(packet.is_ok());
            }
            count
        });
    }

    /// A 1 KiB binary message in a polling payload (base64).
    #[divan::bench]
    fn encode_payload_binary_1k(bencher: Bencher<'_, '_>) {
        let packet = EioPacket::Message(EioMessage::Binary(blob(1024)));
        bencher.counter(BytesCount::new(1024usize)).bench(|| {
            let mut payload = PayloadEncoder::new(LIMITS.max_bytes);
            payload.try_push(black_box(&packet));
            payload.finish()
        });
    }

    /// A 1 KiB binary message from a polling payload (base64).
    #[divan::bench]
    fn decode_payload_binary_1k(bencher: Bencher<'_, '_>) {
        let mut payload = PayloadEncoder::new(LIMITS.max_bytes);
        payload.try_push(&EioPacket::Message(EioMessage::Binary(blob(1024))));
        let body = payload.finish();
        bencher.counter(BytesCount::new(1024usize)).bench(|| {
            decode_payload(black_box(body.clone()), LIMITS)
                .into_iter()
                .flatten()
                .next()
        });
    }
}

mod socketio_json {
    use super::*;

    /// The echo event, decoded (arguments kept as JSON text until read).
    #[divan::bench]
    fn decode_event(bencher: Bencher<'_, '_>) {
        let text = ByteString::from_static(ECHO_EVENT);
        let mut decoder = JsonParser::new().decoder();
        bencher.bench_local(|| decoder.decode(Message::Text(black_box(text.clone()))));
    }

    /// The echo event, decoded and its arguments read into typed data.
    #[divan::bench]
    fn decode_event_typed(bencher: Bencher<'_, '_>) {
        let text = ByteString::from_static(ECHO_EVENT);
        let mut decoder = JsonParser::new().decoder();
        bencher.bench_local(|| {
            let packet = decoder
                .decode(Message::Text(black_box(text.clone())))
                .ok()
                .flatten()?;
            match packet.kind {
                PacketKind::Event { args, .. } => args.deserialize::<(String, u64)>().ok(),
                _ => None,
            }
        });
    }

    /// The echo event, decoded and its arguments read into dynamic values.
    #[divan::bench]
    fn decode_event_values(bencher: Bencher<'_, '_>) {
        let text = ByteString::from_static(ECHO_EVENT);
        let mut decoder = JsonParser::new().decoder();
        bencher.bench_local(|| {
            let packet = decoder
                .decode(Message::Text(black_box(text.clone())))
                .ok()
                .flatten()?;
            match packet.kind {
                PacketKind::Event { args, .. } => args.into_values().ok(),
                _ => None,
            }
        });
    }

    /// The echo's answer: the decoded arguments re-emitted as they came (the echo
    /// server's path).
    #[divan::bench]
    fn reencode_echo(bencher: Bencher<'_, '_>) {
        let mut decoder = JsonParser::new().decoder();
        let Ok(Some(packet)) = decoder.decode(Message::Text(ByteString::from_static(ECHO_EVENT)))
        else {
            panic!("the echo event decodes");
        };
        let PacketKind::Event { args, .. } = packet.kind else {
            panic!("an event")
        };
        let mut out = BytesMut::with_capacity(256);
        bencher.bench_local(|| {
            out.clear();
            let packet = Packet::event("/", "echo", black_box(args.clone()), None);
            packet.encode(&mut out)
        });
    }

    /// An event with typed arguments, encoded into a reused buffer.
    #[divan::bench]
    fn encode_event(bencher: Bencher<'_, '_>) {
        let parser = JsonParser::new();
        let mut out = BytesMut::with_capacity(256);
        bencher.bench_local(|| {
            out.clear();
            parser.encode_event(
                "/",
                "echo",
                None,
                black_box(&("0123456789abcdef", 42)),
                &mut out,
            )
        });
    }

    /// An ack with typed arguments.
    #[divan::bench]
    fn encode_ack(bencher: Bencher<'_, '_>) {
        let parser = JsonParser::new();
        let mut out = BytesMut::with_capacity(256);
        bencher.bench_local(|| {
            out.clear();
            parser.encode_ack("/", 12345, black_box(&("0123456789abcdef", 42)), &mut out)
        });
    }

    /// A 1 KiB chat event, decoded and read into typed data.
    #[divan::bench]
    fn decode_chat_1k_typed(bencher: Bencher<'_, '_>) {
        let text = ByteString::from(chat_event_json());
        let mut decoder = JsonParser::new().decoder();
        bencher
            .counter(BytesCount::new(text.len()))
            .bench_local(|| {
                let packet = decoder
                    .decode(Message::Text(black_box(text.clone())))
                    .ok()
                    .flatten()?;
                match packet.kind {
                    PacketKind::Event { args, .. } => args.deserialize::<codecs::Chat>().ok(),
                    _ => None,
                }
            });
    }

    /// A 1 KiB chat event encoded from typed data.
    #[divan::bench]
    fn encode_chat_1k(bencher: Bencher<'_, '_>) {
        let parser = JsonParser::new();
        let chat = chat();
        let mut out = BytesMut::with_capacity(2048);
        bencher.bench_local(|| {
            out.clear();
            parser.encode_event("/", "chat", None, black_box(&chat), &mut out)
        });
    }

    /// An event with one binary argument of `len` bytes: the text part with its
    /// placeholder, and the attachment.
    #[divan::bench(args = [16, 1024, 65536])]
    fn encode_binary_event(bencher: Bencher<'_, '_>, len: usize) {
        let parser = JsonParser::new();
        let data = blob(len);
        let mut out = BytesMut::with_capacity(256);
        bencher.counter(BytesCount::new(len)).bench_local(|| {
            out.clear();
            parser.encode_event(
                "/",
                "upload",
                Some(7),
                black_box(&("a.bin", &data)),
                &mut out,
            )
        });
    }

    /// The same, decoded: the text part, then the attachment that completes it, then
    /// the arguments read.
    #[divan::bench(args = [16, 1024, 65536])]
    fn decode_binary_event(bencher: Bencher<'_, '_>, len: usize) {
        let parser = JsonParser::new();
        let data = blob(len);
        let mut out = BytesMut::new();
        let attachments = parser
            .encode_event("/", "upload", Some(7), &("a.bin", &data), &mut out)
            .unwrap_or_default();
        let text = ByteString::try_from(out.freeze()).unwrap_or_default();
        let mut decoder = parser.decoder();
        bencher.counter(BytesCount::new(len)).bench_local(|| {
            let _ = decoder.decode(Message::Text(black_box(text.clone())));
            let mut packet = None;
            for attachment in &attachments {
                packet = decoder
                    .decode(Message::Binary(attachment.clone()))
                    .ok()
                    .flatten();
            }
            match packet?.kind {
                PacketKind::Event { args, .. } => args.deserialize::<(String, Bytes)>().ok(),
                _ => None,
            }
        });
    }

    /// Typed data to arguments once, as a broadcast does before queueing them.
    #[divan::bench]
    fn args_from_serialize(bencher: Bencher<'_, '_>) {
        bencher.bench(|| Args::from_serialize(black_box(&("0123456789abcdef", 42))));
    }
}

mod socketio_msgpack {
    use super::*;

    fn echo_message() -> Bytes {
        let parser = MsgpackParser::new();
        let mut out = BytesMut::new();
        let _ = parser.encode_event("/", "echo", None, &("0123456789abcdef", 42), &mut out);
        out.freeze()
    }

    /// The echo event with the msgpack parser.
    #[divan::bench]
    fn encode_event(bencher: Bencher<'_, '_>) {
        let parser = MsgpackParser::new();
        let mut out = BytesMut::with_capacity(256);
        bencher.bench_local(|| {
            out.clear();
            parser.encode_event(
                "/",
                "echo",
                None,
                black_box(&("0123456789abcdef", 42)),
                &mut out,
            )
        });
    }

    /// The echo event decoded with the msgpack parser, arguments read.
    #[divan::bench]
    fn decode_event_typed(bencher: Bencher<'_, '_>) {
        let message = echo_message();
        let mut decoder = MsgpackParser::new().decoder();
        bencher.bench_local(|| {
            let packet = decoder
                .decode(Message::Binary(black_box(message.clone())))
                .ok()
                .flatten()?;
            match packet.kind {
                PacketKind::Event { args, .. } => args.deserialize::<(String, u64)>().ok(),
                _ => None,
            }
        });
    }
}
