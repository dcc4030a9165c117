//! The Socket.IO echo server.
//!
//! On `/`:
//! - on connect, emits `auth` with the handshake's auth object;
//! - `message` (...args) → emits `message-back` with the same arguments;
//! - `message-with-ack` (...args, ack) → acknowledges with the same arguments;
//! - `echo` (...args) → emits `echo` with the same arguments to the sender;
//! - `ack` (...args, ack) → acknowledges with the same arguments;
//! - `broadcast` (...args) → emits `broadcast` with the same arguments to every socket of `/`;
//! - `join` (room) → the sender joins the room; `leave` (room) → it leaves it;
//! - `to-room` (room, ...args) → emits `to-room` with the arguments to every socket in the room;
//! - `to-rooms` (rooms, ...args) → emits `to-rooms` to every socket in any of the rooms, once each;
//! - `except-room` (room, ...args) → emits `except-room` to every socket of `/` not in the room;
//! - `ack-all` (...args, ack) → emits `ack-all` with the arguments to every socket of `/` with a
//!   1000 ms acknowledgement timeout, then acknowledges the sender with the array of the
//!   answers that came back (the first argument of each).
//!
//! On `/custom`: on connect, emits `auth` with the auth object.
//!
//! CORS is open to any origin.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use axum::{Router, serve::ListenerExt};
use socketio_server::{
    AckSender, Args, Data, Handshake, Namespace, ParserKind, Socket, SocketIo, SocketIoBuilder,
    Value, engine::ConfigError,
};

/// The server's settings; unset ones keep the defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Time between two pings.
    pub ping_interval: Option<Duration>,
    /// Time to wait for a pong.
    pub ping_timeout: Option<Duration>,
    /// Time a connection has to join a namespace.
    pub connect_timeout: Option<Duration>,
    /// The largest message or POST body in bytes.
    pub max_payload: Option<usize>,
    /// Turns on connection state recovery with this maximum disconnection duration.
    pub recovery: Option<Duration>,
    /// The parser; JSON unless set.
    pub parser: Option<ParserKind>,
}

impl Options {
    /// Reads `--port P --ping-interval MS --ping-timeout MS --connect-timeout MS
    /// --max-payload BYTES --recovery MS` from command-line arguments; the port is
    /// returned apart.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<(Self, u16), String> {
        let mut options = Self::default();
        let mut port = 3000;
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let value: u64 = args
                .next()
                .ok_or_else(|| format!("{flag} needs a value"))?
                .parse()
                .map_err(|err| format!("{flag}: {err}"))?;
            let millis = Some(Duration::from_millis(value));
            match flag.as_str() {
                "--port" => port = u16::try_from(value).map_err(|err| format!("{flag}: {err}"))?,
                "--ping-interval" => options.ping_interval = millis,
                "--ping-timeout" => options.ping_timeout = millis,
                "--connect-timeout" => options.connect_timeout = millis,
                "--recovery" => options.recovery = millis,
                "--max-payload" => {
                    options.max_payload =
                        Some(usize::try_from(value).map_err(|err| format!("{flag}: {err}"))?);
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok((options, port))
    }
}

/// The handlers of `/`.
pub fn main_namespace() -> Namespace {
    Namespace::new()
        .on_connect(emit_auth)
        .on("message", |socket: Socket, args: Args| async move {
            let _ = socket.emit_args("message-back", args);
        })
        .on(
            "message-with-ack",
            |ack: AckSender, args: Args| async move {
                let _ = ack.send_args(args);
            },
        )
        .on("echo", |socket: Socket, args: Args| async move {
            let _ = socket.emit_args("echo", args);
        })
        .on("ack", |ack: AckSender, args: Args| async move {
            let _ = ack.send_args(args);
        })
        .on("broadcast", |io: SocketIo, args: Args| async move {
            let _ = io.emit_args("broadcast", args);
        })
        .on(
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(room);
            },
        )
        .on(
            "leave",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.leave(room);
            },
        )
        .on("to-room", |io: SocketIo, args: Args| async move {
            if let Some((Value::String(room), rest)) = split_first(args) {
                let _ = io.to(room).emit_args("to-room", rest);
            }
        })
        .on("to-rooms", |io: SocketIo, args: Args| async move {
            if let Some((Value::Array(rooms), rest)) = split_first(args) {
                let rooms: Vec<String> = rooms
                    .into_iter()
                    .filter_map(|room| room.as_str().map(str::to_owned))
                    .collect();
                let _ = io.to(rooms).emit_args("to-rooms", rest);
            }
        })
        .on("except-room", |io: SocketIo, args: Args| async move {
            if let Some((Value::String(room), rest)) = split_first(args) {
                let _ = io.except(room).emit_args("except-room", rest);
            }
        })
        .on(
            "ack-all",
            |io: SocketIo, ack: AckSender, args: Args| async move {
                let Ok(acks) = io
                    .timeout(Duration::from_millis(1000))
                    .emit_args_with_ack("ack-all", args)
                else {
                    return;
                };
                let answers: Vec<Value> = acks
                    .collect_all()
                    .await
                    .into_iter()
                    .filter_map(|ack| ack.answer.ok())
                    .map(|answer| {
                        answer
                            .into_values()
                            .ok()
                            .and_then(|values| values.into_iter().next())
                            .unwrap_or(Value::Null)
                    })
                    .collect();
                let _ = ack.send(&Value::Array(answers));
            },
        )
}

/// The first argument, and the others.
fn split_first(args: Args) -> Option<(Value, Args)> {
    let mut values = args.into_values().ok()?.into_iter();
    let first = values.next()?;
    Some((first, Args::from_values(values.collect())))
}

/// The handlers of `/custom`.
pub fn custom_namespace() -> Namespace {
    Namespace::new().on_connect(emit_auth)
}

async fn emit_auth(socket: Socket, handshake: Handshake) {
    let _ = socket.emit("auth", handshake.auth());
}

/// The echo server as an axum app, and its handle, with `/` and `/custom` mounted as
/// given (so that a caller can add handlers to them first).
pub fn app_with(
    options: &Options,
    main: Namespace,
    custom: Namespace,
) -> Result<(Router, SocketIo), ConfigError> {
    mount(builder(options), main, custom)
}

/// A server builder with `options` applied (an adapter, for example, may be added
/// before [`mount`]).
pub fn builder(options: &Options) -> SocketIoBuilder {
    let mut builder = SocketIo::builder();
    if let Some(interval) = options.ping_interval {
        builder = builder.ping_interval(interval);
    }
    if let Some(timeout) = options.ping_timeout {
        builder = builder.ping_timeout(timeout);
    }
    if let Some(timeout) = options.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(max) = options.max_payload {
        builder = builder.max_payload(max);
    }
    if let Some(window) = options.recovery {
        builder = builder.connection_state_recovery(window);
    }
    if let Some(parser) = options.parser {
        builder = builder.parser(parser);
    }
    builder
}

/// Builds the server and mounts `/` and `/custom`.
pub fn mount(
    builder: SocketIoBuilder,
    main: Namespace,
    custom: Namespace,
) -> Result<(Router, SocketIo), ConfigError> {
    let (layer, io) = builder.build()?;
    io.ns("/", main);
    io.ns("/custom", custom);
    let app = Router::new().layer(layer);
    Ok((app, io))
}

/// The echo server as an axum app, and its handle.
pub fn app(options: &Options) -> Result<(Router, SocketIo), ConfigError> {
    app_with(options, main_namespace(), custom_namespace())
}

/// A listener for `axum::serve` with a deep accept backlog (bursts of handshakes are
/// not dropped) and `TCP_NODELAY` on every connection.
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

/// Runs a server on 127.0.0.1:`port` until it fails, with `RUST_LOG` logging (info by
/// default): `app` makes its router once the runtime runs. On one CPU (a small
/// container, or a process pinned to a core) the runtime is single-threaded: it serves
/// every connection in turn from one queue, with no work stealing and no task left
/// waiting in an overflow queue while the busy ones take turns.
pub fn run<F, A>(port: u16, app: F) -> Result<(), Box<dyn std::error::Error>>
where
    F: FnOnce() -> A,
    A: Future<Output = Result<Router, Box<dyn std::error::Error>>>,
{
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut runtime = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    runtime.enable_all().build()?.block_on(async {
        let app = app().await?;
        let listener = listen(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let addr = axum::serve::Listener::local_addr(&listener)?;
        tracing::info!("Socket.IO echo on http://{addr}/socket.io/");
        axum::serve(listener, app).await?;
        Ok(())
    })
}
