//! A cluster node for the Redis adapter tests: our server with a `RedisAdapter`, driven by
//! its clients. `tests/js/redis-node-server.mjs` is the same node on Node's server with
//! `@socket.io/redis-adapter`; `tests/js/redis-cluster.mjs` drives both.
//!
//! `sio-redis-node --name NAME --redis URL --key PREFIX [--mode classic|classic-specific|sharded|
//! sharded-static|sharded-private|streams|streams-sharded]` prints `listening <port>` once
//! it is subscribed (so that the other nodes count it). In streams modes (the second
//! with requests over sharded pub/sub) the stream is named
//! PREFIX, sessions are kept under `PREFIX:session:`, and connection state recovery is
//! on (60 s).
//!
//! Every command is an event on `/` with one object argument, answered by its ack:
//! - `whoami` → `{name, pid, sid}`;
//! - `join {rooms}` → the socket joins them;
//! - `broadcast {rooms, except, event, data}` → `io.to(rooms).except(except).emit(event, data)`;
//! - `broadcast-ack {rooms, timeout}` → the first argument of every client's ack to `ask`,
//!   sorted (a timed-out one as `"timeout"`);
//! - `fetch {rooms, except}` → the sorted ids of the sockets `fetchSockets` finds, or
//!   `{error}`;
//! - `remote-join {rooms, room}`, `remote-leave {rooms, room}`, `remote-disconnect {rooms}`;
//! - `server-side-emit {event, data, timeout?}` → the sorted answers of the other nodes,
//!   or `{error}`;
//! - `server-count` → the count;
//! - `all-rooms` → the sorted rooms of every node, or `{error}`.
//!
//! Clients answer `ask` with `"<their name>"` (their auth `name`). A server-side emit
//! from another node is answered with `"<node name>"` and re-emitted to this node's
//! clients as `server-event [event, ...args]`.
// `json["field"]` gives `null` for a missing field or a non-object; it never panics.
#![allow(clippy::print_stdout, clippy::indexing_slicing)]

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use serde_json::{Value as Json, json};
use socketio_redis::{
    AdapterMode, RedisAdapter, RedisAdapterConfig, StreamsConfig, SubscriptionMode,
};
use socketio_server::{AckSender, Data, Namespace, Socket, SocketIo, Value};

fn rooms(command: &Json, field: &str) -> Vec<String> {
    command
        .get(field)
        .and_then(Json::as_array)
        .map(|rooms| {
            rooms
                .iter()
                .filter_map(|room| room.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn text(command: &Json, field: &str) -> String {
    command
        .get(field)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn first_text(args: &socketio_server::Args) -> String {
    args.to_values()
        .ok()
        .and_then(|values| values.into_iter().next())
        .map(|value| match value {
            Value::String(s) => s,
            other => serde_json::to_string(&other).unwrap_or_default(),
        })
        .unwrap_or_default()
}

fn namespace(name: String, adapter: RedisAdapter) -> Namespace {
    Namespace::new()
        .on("all-rooms", move |ack: AckSender| {
            let adapter = adapter.clone();
            async move {
                let _ = match adapter.all_rooms("/").await {
                    Ok(rooms) => ack.send(&rooms.iter().map(|r| &**r).collect::<Vec<&str>>()),
                    Err(err) => ack.send(&json!({ "error": err.to_string() })),
                };
            }
        })
        .on("whoami", move |socket: Socket, ack: AckSender| {
            let name = name.clone();
            async move {
                let _ = ack.send(&json!({
                    "name": name,
                    "pid": std::process::id(),
                    "sid": socket.id(),
                }));
            }
        })
        .on(
            "join",
            |socket: Socket, ack: AckSender, Data(command): Data<Json>| async move {
                socket.join(rooms(&command, "rooms"));
                let _ = ack.send("ok");
            },
        )
        .on(
            "broadcast",
            |socket: Socket, ack: AckSender, Data(command): Data<Json>| async move {
                let result = socket
                    .io()
                    .to(rooms(&command, "rooms"))
                    .except(rooms(&command, "except"))
                    // A one-element tuple: `null` is an argument, not "no arguments".
                    .emit(&text(&command, "event"), &(&command["data"],));
                let _ = ack.send(&result.is_ok());
            },
        )
        .on(
            "broadcast-ack",
            |socket: Socket, ack: AckSender, Data(command): Data<Json>| async move {
                let timeout = command["timeout"].as_u64().unwrap_or(2000);
                let acks = socket
                    .io()
                    .to(rooms(&command, "rooms"))
                    .timeout(Duration::from_millis(timeout))
                    .emit_with_ack("ask", &());
                let mut answers: Vec<String> = match acks {
                    Ok(acks) => acks
                        .collect_all()
                        .await
                        .into_iter()
                        .map(|ack| match ack.answer {
                            Ok(args) => first_text(&args),
                            Err(_) => "timeout".to_owned(),
                        })
                        .collect(),
                    Err(err) => vec![err.to_string()],
                };
                answers.sort();
                let _ = ack.send(&answers);
            },
        )
        .on(
            "fetch",
            |socket: Socket, ack: AckSender, Data(command): Data<Json>| async move {
                let found = socket
                    .io()
                    .to(rooms(&command, "rooms"))
                    .except(rooms(&command, "except"))
                    .fetch_sockets()
                    .await;
                let _ = match found {
                    Ok(sockets) => {
                        let mut ids: Vec<String> =
                            sockets.into_iter().map(|s| s.id.to_string()).collect();
                        ids.sort();
                        ack.send(&ids)
                    }
                    Err(err) => ack.send(&json!({ "error": err.to_string() })),
                };
            },
        )
        .on(
            "remote-join",
            |socket: Socket, ack: AckSender, Data(command): Data<Json>| async move {
                let result = socket
                    .io()
                    .to(rooms(&command, "rooms"))
                    .join(text(&command, "room"))
                    .await;
                let _ = ack.send(&result.is_ok());
            },
        )
        .on(
            "remote-leave",
            |socket: Socket, ack: AckSender, Data(command): Data<Json>| async move {
                let result = socket
                    .io()
                    .to(rooms(&command, "rooms"))
                    .leave(text(&command, "room"))
                    .await;
                let _ = ack.send(&result.is_ok());
            },
        )
        .on(
            "remote-disconnect",
            |socket: Socket, ack: AckSender, Data(command): Data<Json>| async move {
                let result = socket.io().to(rooms(&command, "rooms")).disconnect().await;
                let _ = ack.send(&result.is_ok());
            },
        )
        .on(
            "server-side-emit",
            |socket: Socket, ack: AckSender, Data(command): Data<Json>| async move {
                let wait = command["timeout"].as_u64().map(Duration::from_millis);
                let result = socket
                    .io()
                    .server_side_emit("/", &text(&command, "event"), &command["data"], wait)
                    .await;
                let _ = match result {
                    Ok(answers) => {
                        let mut answers: Vec<String> = answers.iter().map(first_text).collect();
                        answers.sort();
                        ack.send(&answers)
                    }
                    Err(err) => ack.send(&json!({ "error": err.to_string() })),
                };
            },
        )
        .on(
            "server-count",
            |socket: Socket, ack: AckSender| async move {
                let _ = match socket.io().server_count().await {
                    Ok(count) => ack.send(&count),
                    Err(err) => ack.send(&json!({ "error": err.to_string() })),
                };
            },
        )
}

fn arg(args: &[String], name: &str) -> Result<String, String> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
        .ok_or_else(|| format!("{name} is required"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = arg(&args, "--name")?;
    let url = arg(&args, "--redis")?;
    let key = arg(&args, "--key")?;
    let mode = match arg(&args, "--mode").as_deref() {
        Err(_) | Ok("classic" | "classic-specific") => AdapterMode::Classic,
        Ok("sharded") => AdapterMode::Sharded(SubscriptionMode::Dynamic),
        Ok("sharded-static") => AdapterMode::Sharded(SubscriptionMode::Static),
        Ok("sharded-private") => AdapterMode::Sharded(SubscriptionMode::DynamicPrivate),
        Ok("streams" | "streams-sharded") => AdapterMode::Streams,
        Ok(other) => return Err(format!("unknown mode {other}").into()),
    };
    let io_slot: std::sync::Arc<std::sync::OnceLock<SocketIo>> = Default::default();
    let events_io = std::sync::Arc::clone(&io_slot);
    let answer = name.clone();
    let config = RedisAdapterConfig::default()
        .streams(
            StreamsConfig::default()
                .stream_name(key.clone())
                .session_key_prefix(format!("{key}:session:"))
                .sharded_pubsub(arg(&args, "--mode").as_deref() == Ok("streams-sharded")),
        )
        .key(key)
        .mode(mode)
        .publish_on_specific_response_channel(
            arg(&args, "--mode").as_deref() == Ok("classic-specific"),
        )
        .requests_timeout(Duration::from_secs(2))
        .on_server_event(move |event| {
            if let Some(io) = events_io.get() {
                let mut values = vec![Value::String(event.event.to_string())];
                values.extend(event.args.to_values().unwrap_or_default());
                // Local only: every node re-emits to its own clients.
                let _ = io.local().emit("server-event", &values);
            }
            if let Some(ack) = event.ack {
                ack.send(Value::String(answer.clone()));
            }
        });
    let adapter = RedisAdapter::connect(&url, config).await?;
    let mut builder = SocketIo::builder().adapter(adapter.clone());
    if mode == AdapterMode::Streams {
        builder = builder.connection_state_recovery(Duration::from_secs(60));
    }
    let (layer, io) = builder.build()?;
    let _ = io_slot.set(io.clone());
    io.ns("/", namespace(name, adapter.clone()));
    adapter.subscribed("/").await;
    let app = axum::Router::new().layer(layer);
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    println!("listening {}", listener.local_addr()?.port());
    axum::serve(listener, app).await?;
    Ok(())
}
