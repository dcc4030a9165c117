//! Engine.IO over real WebSockets on 127.0.0.1, served by axum and by plain hyper.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::{net::SocketAddr, time::Duration};

use engineio_core::{CloseReason, Message, TransportError};
use futures_util::{SinkExt, StreamExt};
use socketio_server::engine::{
    EngineConnection, EngineHandler, EngineIo, EngineIoLayer, EngineSocket,
};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message as Ws};

struct Echo(mpsc::UnboundedSender<(String, CloseReason)>);

impl EngineHandler for Echo {
    fn on_connect(&self, socket: EngineSocket) -> Box<dyn EngineConnection> {
        Box::new(EchoConnection(socket, self.0.clone()))
    }
}

struct EchoConnection(EngineSocket, mpsc::UnboundedSender<(String, CloseReason)>);

/// The lengths of the messages of a burst, in turn.
const BURST_LENGTHS: [usize; 7] = [0, 5, 125, 126, 3000, 70_000, 9];

impl EngineConnection for EchoConnection {
    fn on_message(&mut self, message: Message) {
        // `burst N` asks for N messages at once, numbered, of the lengths above.
        if let Message::Text(text) = &message
            && let Some(count) = text.strip_prefix("burst ")
        {
            for n in 0..count.parse::<usize>().unwrap() {
                let len = BURST_LENGTHS[n % BURST_LENGTHS.len()];
                self.0
                    .send(Message::Text(format!("{n}:{}", "b".repeat(len)).into()))
                    .unwrap();
            }
            return;
        }
        self.0.send(message).unwrap();
    }
    fn on_close(&mut self, reason: CloseReason) {
        let _ = self.1.send((self.0.sid().to_string(), reason));
    }
}

fn layer(
    max_payload: usize,
) -> (
    EngineIoLayer,
    mpsc::UnboundedReceiver<(String, CloseReason)>,
) {
    let (closes, closed) = mpsc::unbounded_channel();
    let (layer, _engine) = EngineIo::builder()
        .max_payload(max_payload)
        .build(Echo(closes))
        .unwrap();
    (layer, closed)
}

async fn serve_axum(layer: EngineIoLayer) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().layer(layer)).await });
    addr
}

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket-only session and returns it with its sid.
async fn connect(addr: SocketAddr) -> (Client, String) {
    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let open = next_text(&mut ws).await;
    assert!(open.starts_with("0{"), "{open}");
    let handshake: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    assert_eq!(handshake["upgrades"], serde_json::json!([]));
    (ws, handshake["sid"].as_str().unwrap().to_owned())
}

async fn next_text<S>(ws: &mut WebSocketStream<S>) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Ws::Text(text)))) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Opens a WebSocket-only session over a connection with a small receive buffer, so that
/// the server's writes of anything large end part-way.
async fn connect_reading_slowly(addr: SocketAddr) -> WebSocketStream<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    assert!(next_text(&mut ws).await.starts_with("0{"));
    ws
}

#[tokio::test]
async fn websocket_echo_text_and_binary() {
    let (layer, _closed) = layer(1000);
    let addr = serve_axum(layer).await;
    let (mut ws, _sid) = connect(addr).await;
    ws.send(Ws::text("4hello")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "4hello");
    ws.send(Ws::binary(vec![1, 2, 3])).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Ws::Binary(data)))) => assert_eq!(&data[..], [1, 2, 3]),
        other => panic!("expected a binary frame, got {other:?}"),
    }
}

#[tokio::test]
async fn websocket_message_over_max_payload_closes_only_its_session() {
    let (layer, mut closed) = layer(1000);
    let addr = serve_axum(layer).await;
    let (mut victim, victim_sid) = connect(addr).await;
    let (mut other, _) = connect(addr).await;

    victim
        .send(Ws::text(format!("4{}", "x".repeat(1000))))
        .await
        .unwrap();
    let (sid, reason) = tokio::time::timeout(Duration::from_secs(5), closed.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sid, victim_sid);
    assert_eq!(
        reason,
        CloseReason::TransportError(TransportError::PayloadTooLarge)
    );
    // The victim's connection ends.
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match victim.next().await {
                None | Some(Err(_)) | Some(Ok(Ws::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    });
    end.await.unwrap();

    other
        .send(Ws::text(format!("4{}", "y".repeat(999))))
        .await
        .unwrap();
    assert_eq!(next_text(&mut other).await.len(), 1000);
}

#[tokio::test]
async fn garbage_on_websocket_is_a_parse_error() {
    let (layer, mut closed) = layer(1000);
    let addr = serve_axum(layer).await;
    let (mut ws, sid) = connect(addr).await;
    ws.send(Ws::text("x-not-a-packet")).await.unwrap();
    let (closed_sid, reason) = tokio::time::timeout(Duration::from_secs(5), closed.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((closed_sid, reason), (sid, CloseReason::ParseError));
}

#[tokio::test]
async fn plain_hyper_serves_polling_and_websocket() {
    let (layer, _closed) = layer(1000);
    let service = tower::Layer::layer(
        &layer,
        tower::service_fn(|_req: http::Request<hyper::body::Incoming>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                bytes::Bytes::from_static(b"inner"),
            )))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    let (mut ws, _sid) = connect(addr).await;
    ws.send(Ws::text("4over hyper")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "4over hyper");
}

#[tokio::test]
async fn messages_far_larger_than_the_read_buffer_arrive_whole() {
    // The default read buffer is 1 KiB: these take hundreds of reads each.
    let (layer, _closed) = layer(1_000_000);
    let addr = serve_axum(layer).await;
    let (mut ws, _sid) = connect(addr).await;
    let text: String = (0..300_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    ws.send(Ws::text(format!("4{text}"))).await.unwrap();
    assert_eq!(next_text(&mut ws).await, format!("4{text}"));
    let data: Vec<u8> = (0..500_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(Ws::binary(data.clone())).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Ws::Binary(echoed)))) => assert_eq!(echoed.to_vec(), data),
        other => panic!("expected a binary frame, got {other:?}"),
    }
}

#[tokio::test]
async fn frames_of_every_length_arrive_whole_and_in_order_between_pongs() {
    // Lengths on both sides of each header size (126 and 65,536) and of the size up to
    // which payloads are gathered into one write; the large ones overflow the socket's
    // buffers (the client's receive buffer is made small), so that writes end part-way
    // through frames.
    let (layer, _closed) = layer(1_000_000);
    let addr = serve_axum(layer).await;
    let (mut sink, mut stream) = connect_reading_slowly(addr).await.split();
    let lengths = [
        0usize, 1, 124, 125, 126, 127, 2047, 2048, 2049, 65_534, 65_535, 65_536, 65_537, 400_000,
        3, 999_999,
    ];
    let messages: Vec<Ws> = lengths
        .iter()
        .cycle()
        .take(lengths.len() * 4)
        .enumerate()
        .map(|(i, &len)| {
            let byte = b'a' + (i % 26) as u8;
            if i % 2 == 0 {
                Ws::text(format!("4{}", char::from(byte).to_string().repeat(len)))
            } else {
                Ws::binary(vec![byte; len])
            }
        })
        .collect();
    let expected = messages.clone();
    let sending = tokio::spawn(async move {
        for (i, message) in messages.into_iter().enumerate() {
            sink.send(message).await.unwrap();
            sink.send(Ws::Ping(vec![i as u8].into())).await.unwrap();
        }
        sink
    });
    let mut pongs = 0;
    for want in expected {
        let got = loop {
            match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
                Ok(Some(Ok(Ws::Pong(_)))) => pongs += 1,
                Ok(Some(Ok(message))) => break message,
                other => panic!("expected a message, got {other:?}"),
            }
        };
        assert_eq!(got, want);
    }
    let _sink = sending.await.unwrap();
    while pongs < lengths.len() * 4 {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(Ws::Pong(_)))) => pongs += 1,
            other => panic!("expected a pong, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_burst_queued_at_once_arrives_whole_and_in_order_through_partial_writes() {
    // Far more messages than one write takes, large ones among them, to a client with a
    // small receive buffer: the server writes a little at a time.
    const COUNT: usize = 300;
    let (layer, _closed) = layer(1000);
    let addr = serve_axum(layer).await;
    let mut ws = connect_reading_slowly(addr).await;
    ws.send(Ws::text(format!("4burst {COUNT}"))).await.unwrap();
    for n in 0..COUNT {
        let len = BURST_LENGTHS[n % BURST_LENGTHS.len()];
        assert_eq!(
            next_text(&mut ws).await,
            format!("4{n}:{}", "b".repeat(len))
        );
    }
}
