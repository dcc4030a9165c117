//! A cluster node: a Socket.IO server whose rooms and broadcasts span every node on the
//! same Redis. Run two behind nginx with `examples/cluster/run.sh`.
//!
//! On `/`:
//! - on connect, emits `welcome {node}`;
//! - `whoami` → acks `{node, sid}`: which node serves this client;
//! - `chat` (text) → emits `chat {node, text}` to every client of every node.

use serde_json::json;
use socketio_redis::{RedisAdapter, RedisAdapterConfig, RedisAdapterError};
use socketio_server::{AckSender, Data, Namespace, Socket, SocketIo};

/// A node named `name`, joined to the others through Redis at `redis` with channel
/// prefix `key`: the app to serve and its Socket.IO handle, once the node is subscribed.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (app, _io) = example_cluster::node("node-1", "redis://127.0.0.1:6379", "socket.io").await?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
pub async fn node(
    name: &str,
    redis: &str,
    key: &str,
) -> Result<(axum::Router, SocketIo), NodeError> {
    let adapter = RedisAdapter::connect(redis, RedisAdapterConfig::default().key(key)).await?;
    let (layer, io) = SocketIo::builder()
        .adapter(adapter.clone())
        .build()
        .map_err(|err| NodeError::Config(err.to_string()))?;
    let welcome = name.to_owned();
    let me = name.to_owned();
    let speaker = name.to_owned();
    io.ns(
        "/",
        Namespace::new()
            .on_connect(move |socket: Socket| {
                let node = welcome.clone();
                async move {
                    let _ = socket.emit("welcome", &json!({ "node": node }));
                }
            })
            .on("whoami", move |socket: Socket, ack: AckSender| {
                let node = me.clone();
                async move {
                    let _ = ack.send(&json!({ "node": node, "sid": socket.id() }));
                }
            })
            .on("chat", move |socket: Socket, Data(text): Data<String>| {
                let node = speaker.clone();
                async move {
                    let _ = socket
                        .io()
                        .emit("chat", &json!({ "node": node, "text": text }));
                }
            }),
    );
    adapter.subscribed("/").await;
    Ok((axum::Router::new().layer(layer), io))
}

/// A node that could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum NodeError {
    /// Redis could not be reached.
    Redis(RedisAdapterError),
    /// The server settings were refused.
    Config(String),
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Redis(err) => write!(f, "{err}"),
            Self::Config(err) => write!(f, "bad settings: {err}"),
        }
    }
}

impl std::error::Error for NodeError {}

impl From<RedisAdapterError> for NodeError {
    fn from(err: RedisAdapterError) -> Self {
        Self::Redis(err)
    }
}
