//! An Engine.IO echo server: every message, text or binary, goes back to its sender.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let (app, _engine) = example_engineio_echo::app(&example_engineio_echo::Options::default())
//!     .expect("valid options");
//! let listener = example_engineio_echo::listen("127.0.0.1:3000".parse().unwrap()).await?;
//! axum::serve(listener, app).await
//! # }
//! ```

use std::{net::SocketAddr, time::Duration};

use axum::{Router, serve::ListenerExt};
use engineio_core::{CloseReason, Message};
use socketio_server::engine::{
    ConfigError, EngineConnection, EngineHandler, EngineIo, EngineSocket,
};

/// The server's settings; unset ones keep the server's defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Time between two pings.
    pub ping_interval: Option<Duration>,
    /// Time to wait for a pong.
    pub ping_timeout: Option<Duration>,
    /// The largest message or POST body in bytes.
    pub max_payload: Option<usize>,
}

impl Options {
    /// Reads `--ping-interval MS --ping-timeout MS --max-payload BYTES` (and `--port P`,
    /// returned apart) from command-line arguments.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<(Self, u16), String> {
        let mut options = Self::default();
        let mut port = 3000;
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|err| format!("{flag} {value}: {err}"))
            };
            match flag.as_str() {
                "--port" => port = u16::try_from(number()?).map_err(|err| err.to_string())?,
                "--ping-interval" => options.ping_interval = Some(Duration::from_millis(number()?)),
                "--ping-timeout" => options.ping_timeout = Some(Duration::from_millis(number()?)),
                "--max-payload" => {
                    options.max_payload =
                        Some(usize::try_from(number()?).map_err(|err| err.to_string())?);
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok((options, port))
    }
}

struct Echo;

impl EngineHandler for Echo {
    fn on_connect(&self, socket: EngineSocket) -> Box<dyn EngineConnection> {
        tracing::info!(sid = %socket.sid(), transport = %socket.transport(), "open");
        Box::new(EchoConnection(socket))
    }
}

struct EchoConnection(EngineSocket);

impl EngineConnection for EchoConnection {
    fn on_message(&mut self, message: Message) {
        if let Err(err) = self.0.send(message) {
            tracing::warn!(sid = %self.0.sid(), %err, "echo not sent");
        }
    }

    fn on_close(&mut self, reason: CloseReason) {
        tracing::info!(sid = %self.0.sid(), %reason, "close");
    }
}

/// The echo server as an axum app, and the handle on its sessions.
pub fn app(options: &Options) -> Result<(Router, EngineIo), ConfigError> {
    let mut builder = EngineIo::builder().path("/engine.io/");
    if let Some(interval) = options.ping_interval {
        builder = builder.ping_interval(interval);
    }
    if let Some(timeout) = options.ping_timeout {
        builder = builder.ping_timeout(timeout);
    }
    if let Some(max) = options.max_payload {
        builder = builder.max_payload(max);
    }
    let (layer, engine) = builder.build(Echo)?;
    Ok((Router::new().layer(layer), engine))
}

/// A listener for `axum::serve` with a deep accept backlog (bursts of handshakes are
/// not dropped) and `TCP_NODELAY` on every connection (small frames go out at once).
pub async fn listen(
    addr: SocketAddr,
) -> std::io::Result<impl axum::serve::Listener<Addr = SocketAddr>> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(1024)?;
    Ok(listener.tap_io(|stream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "TCP_NODELAY not set");
        }
    }))
}
