//! A scripted Socket.IO peer over a real WebSocket, for tests that speak the wire
//! protocol by hand.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value as Json;
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message as Ws};

pub const WAIT: Duration = Duration::from_secs(5);

/// A client speaking the protocol by hand.
pub struct Peer {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Peer {
    /// Opens a WebSocket-only connection and reads the Engine.IO handshake.
    pub async fn open(addr: SocketAddr) -> Self {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut peer = Self { ws };
        assert!(peer.recv().await.starts_with("0{"));
        peer
    }

    /// Opens a connection and joins `/`; returns the socket id.
    pub async fn join(addr: SocketAddr) -> (Self, String) {
        let mut peer = Self::open(addr).await;
        peer.send("40").await;
        let reply = peer.recv().await;
        let json: Json = serde_json::from_str(reply.strip_prefix("40").unwrap()).unwrap();
        (peer, json["sid"].as_str().unwrap().to_owned())
    }

    pub async fn send(&mut self, text: &str) {
        self.ws.send(Ws::text(text)).await.unwrap();
    }

    pub async fn send_binary(&mut self, data: &[u8]) {
        self.ws.send(Ws::binary(data.to_vec())).await.unwrap();
    }

    /// The next text frame, skipping Engine.IO pings (answered).
    pub async fn recv(&mut self) -> String {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Ok(Some(Ok(Ws::Text(text)))) if text.as_str() == "2" => self.send("3").await,
                Ok(Some(Ok(Ws::Text(text)))) => return text.to_string(),
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Waits until the server closes the connection.
    pub async fn closed(&mut self) {
        tokio::time::timeout(WAIT, async {
            loop {
                match self.ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Ws::Close(_))) => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .expect("the server did not close the connection");
    }
}
