//! The echo contract of `examples/echo` on socketioxide + axum: the Rust peer of the
//! benchmarks.
//!
//! `socketioxide-echo --port P` prints `listening <port>` when ready.
//!
//! On `/`:
//! - on connect, emits `auth` with the handshake's auth object;
//! - `echo` (...args) → emits `echo` with the same arguments to the sender;
//! - `ack` (...args, ack) → acknowledges with the same arguments;
//! - `broadcast` (...args) → emits `broadcast` with the same arguments to every socket of `/`.
//!
//! socketioxide's default options; the listener sets `TCP_NODELAY` on accepted sockets and
//! a 1024 accept backlog, and the runtime is chosen by CPU count, as `examples/echo` does,
//! so that only the Socket.IO layers differ.

use std::{fmt, net::SocketAddr};

use axum::serve::ListenerExt;
use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{SeqAccess, Visitor},
    ser::SerializeTuple,
};
use serde_json::Value;
use socketioxide::{
    SocketIo,
    extract::{AckSender, Data, SocketRef},
};

/// Any number of arguments. socketioxide spreads a *tuple* over the arguments of a packet
/// (a `Vec` would be one array argument), so this type (de)serializes as a tuple of
/// unknown length.
struct Variadic(Vec<Value>);

impl<'de> Deserialize<'de> for Variadic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Args;
        impl<'de> Visitor<'de> for Args {
            type Value = Variadic;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("event arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Variadic, A::Error> {
                let mut args = Vec::with_capacity(seq.size_hint().unwrap_or(2));
                while let Some(arg) = seq.next_element()? {
                    args.push(arg);
                }
                Ok(Variadic(args))
            }
        }
        deserializer.deserialize_tuple(usize::MAX, Args)
    }
}

impl Serialize for Variadic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for arg in &self.0 {
            tuple.serialize_element(arg)?;
        }
        tuple.end()
    }
}

fn port_from_args() -> Result<u16, String> {
    let mut port = 3000;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--port" => {
                port = args
                    .next()
                    .ok_or("--port needs a value")?
                    .parse()
                    .map_err(|err| format!("--port: {err}"))?;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(port)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The runtime `examples/echo` picks: single-threaded on one CPU (the benchmark pins
    // each server to one), multi-threaded otherwise.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut runtime = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    runtime.enable_all().build()?.block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let port = port_from_args()?;
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", async |socket: SocketRef, Data(auth): Data<Value>| {
        socket.emit("auth", &auth).ok();
        socket.on(
            "echo",
            async |socket: SocketRef, Data(args): Data<Variadic>| {
                socket.emit("echo", &args).ok();
            },
        );
        socket.on("ack", async |ack: AckSender, Data(args): Data<Variadic>| {
            ack.send(&args).ok();
        });
        socket.on(
            "broadcast",
            async |io: SocketIo, Data(args): Data<Variadic>| {
                io.emit("broadcast", &args).await.ok();
            },
        );
    });
    let app = axum::Router::new().layer(layer);

    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    let listener = socket.listen(1024)?.tap_io(|stream| {
        stream.set_nodelay(true).ok();
    });
    let addr = axum::serve::Listener::local_addr(&listener)?;
    println!("listening {}", addr.port());
    axum::serve(listener, app).await?;
    Ok(())
}
