//! Backpressure and broadcast acknowledgements over real WebSockets: a client that
//! stops reading is held to its queue bound and cut off by the slow-consumer policy,
//! while the others keep receiving; a broadcast's silent receiver times out alone and
//! nothing stays pending.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::{net::SocketAddr, time::Duration};

use futures_util::StreamExt;
use socketio_server::{AckError, DisconnectReason, Namespace, Socket, SocketIo, SocketIoBuilder};
use support::{Peer, WAIT};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Ws;

async fn serve(
    configure: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder,
) -> (
    SocketAddr,
    SocketIo,
    mpsc::UnboundedReceiver<(String, DisconnectReason)>,
) {
    let (layer, io) = configure(SocketIo::builder()).build().unwrap();
    let (tx, disconnects) = mpsc::unbounded_channel();
    io.ns(
        "/",
        Namespace::new().on_disconnect(move |socket: Socket, reason: DisconnectReason| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((socket.id().to_owned(), reason));
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().layer(layer)).await });
    (addr, io, disconnects)
}

#[tokio::test]
async fn a_client_that_stops_reading_is_bounded_and_cut_off_while_others_keep_up() {
    const QUEUE: usize = 32;
    const TICKS: usize = 3000;
    let (addr, io, mut disconnects) = serve(|builder| {
        builder
            .message_queue(QUEUE)
            .slow_consumer_timeout(Duration::from_millis(300))
    })
    .await;
    let (fast, _) = Peer::join(addr).await;
    let (_slow, slow_id) = Peer::join(addr).await;
    let slow = io
        .sockets("/")
        .into_iter()
        .find(|s| s.id() == slow_id)
        .unwrap();

    // The fast client reads everything and reports how far it got.
    let (progress_tx, mut progress) = mpsc::unbounded_channel();
    let mut fast_ws = fast.ws;
    tokio::spawn(async move {
        let mut expected = 0;
        while let Some(Ok(frame)) = fast_ws.next().await {
            if let Ws::Text(text) = frame {
                if let Some(packet) = text.strip_prefix("42") {
                    let packet: serde_json::Value = serde_json::from_str(packet).unwrap();
                    let n: usize = packet[1].as_str().unwrap().parse().unwrap();
                    assert_eq!(n, expected, "ticks out of order");
                    expected += 1;
                    let _ = progress_tx.send(expected);
                }
            }
        }
    });

    let payload = "x".repeat(4096);
    let mut failed = 0;
    let mut max_queued = 0;
    let mut seen = 0;
    let mut volatile_dropped = false;
    for n in 0..TICKS {
        let delivery = io.emit("tick", &(n.to_string(), &payload)).unwrap();
        failed += delivery.failed;
        if delivery.failed > 0 && !volatile_dropped && slow.connected() {
            // The slow client has packets waiting: a volatile emit to it is dropped, and
            // counted, while the fast one still gets its volatile packets.
            let delivery = slow.volatile().emit("optional", &()).unwrap();
            assert_eq!((delivery.sent, delivery.dropped), (0, 1));
            assert!(io.volatile_drops() >= 1);
            volatile_dropped = true;
        }
        max_queued = max_queued.max(slow.queued());
        // Keep pace with the fast client, not with the slow one.
        if n % 16 == 15 {
            tokio::time::timeout(WAIT, async {
                while seen <= n {
                    seen = progress.recv().await.expect("fast client gone");
                }
            })
            .await
            .expect("the fast client fell behind");
        }
    }
    assert!(failed > 0, "the slow client's queue never filled");
    assert!(volatile_dropped);
    assert!(max_queued <= QUEUE, "queue grew to {max_queued}");
    let (id, reason) = tokio::time::timeout(WAIT, disconnects.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (id.as_str(), reason),
        (slow_id.as_str(), DisconnectReason::TransportError)
    );
}

#[tokio::test]
async fn a_broadcast_ack_times_out_only_for_the_silent_client_and_nothing_leaks() {
    let (addr, io, _) = serve(|builder| builder).await;
    let (mut a, a_id) = Peer::join(addr).await;
    let (mut b, b_id) = Peer::join(addr).await;
    let (mut silent, silent_id) = Peer::join(addr).await;

    let stream = io
        .timeout(Duration::from_millis(400))
        .emit_with_ack("question", &"q")
        .unwrap();
    let gathering = tokio::spawn(stream.collect_all());
    for (peer, answer) in [(&mut a, "a"), (&mut b, "b")] {
        let question = peer.recv().await;
        let id: String = question
            .strip_prefix("42")
            .unwrap()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert_eq!(question, format!(r#"42{id}["question","q"]"#));
        peer.send(&format!(r#"43{id}["{answer}"]"#)).await;
    }
    assert!(silent.recv().await.starts_with("42"));

    let acks = tokio::time::timeout(WAIT, gathering)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acks.len(), 3);
    for ack in acks {
        let socket = ack.socket.unwrap();
        match ack.answer {
            Ok(args) => {
                let answer: String = args.deserialize().unwrap();
                let expected = if socket == *a_id { "a" } else { "b" };
                assert!(socket == *a_id || socket == *b_id);
                assert_eq!(answer, expected);
            }
            Err(AckError::Timeout) => assert_eq!(socket, *silent_id),
            Err(err) => panic!("{err}"),
        }
    }
    for socket in io.sockets("/") {
        assert_eq!(socket.pending_acks(), 0, "{}", socket.id());
    }
}

#[tokio::test]
async fn emit_wait_goes_at_the_clients_pace_and_loses_nothing() {
    const QUEUE: usize = 4;
    const TICKS: usize = 200;
    let (addr, io, _) = serve(|builder| builder.message_queue(QUEUE)).await;
    let (peer, id) = Peer::join(addr).await;
    let socket = io.sockets("/").into_iter().find(|s| s.id() == id).unwrap();

    // Large ticks fill the connection's buffers, then the queue: the producer waits.
    let payload = "x".repeat(64 * 1024);
    let producer = tokio::spawn(async move {
        let mut found_full = false;
        for n in 0..TICKS {
            found_full |= socket.queued() == QUEUE;
            assert!(socket.queued() <= QUEUE);
            socket.emit_wait("tick", &(n, &payload)).await.unwrap();
        }
        found_full
    });

    let mut ws = peer.ws;
    let mut expected = 0;
    tokio::time::timeout(WAIT * 4, async {
        while expected < TICKS {
            match ws.next().await {
                Some(Ok(Ws::Text(text))) => {
                    if let Some(packet) = text.strip_prefix("42") {
                        let packet: serde_json::Value = serde_json::from_str(packet).unwrap();
                        assert_eq!(packet[1], expected, "ticks in order, none lost");
                        expected += 1;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("the connection ended: {other:?}"),
            }
        }
    })
    .await
    .expect("every tick arrives");
    assert!(producer.await.unwrap(), "the producer never had to wait");
}
