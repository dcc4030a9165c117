//! The fixture server of the interop tests, on our server: the same contract as
//! `tests/js/fixture-server.mjs` on Node's (see `tests/js/README.md`).
//!
//! `sio-fixture --port P [--ping-interval MS --ping-timeout MS --connect-timeout MS
//! --max-payload BYTES --recovery MS --parser msgpack]` prints `listening <port>` once it accepts connections, and
//! `disconnect <namespace> <socket id> <reason>` for every disconnection on `/` and
//! `/custom`.
#![allow(clippy::print_stdout)]

use std::{
    collections::{BTreeMap, HashMap},
    net::{Ipv4Addr, SocketAddr},
    sync::Mutex,
    time::Duration,
};

use example_echo::{Options, app_with, custom_namespace, listen, main_namespace};
use socketio_server::{
    AckError, AckSender, Args, ConnectError, Data, DisconnectReason, Handshake, Namespace, Socket,
    Value,
};

async fn print_disconnect(socket: Socket, reason: DisconnectReason) {
    println!("disconnect {} {} {reason}", socket.ns(), socket.id());
}

async fn server_ack(socket: Socket, args: Args) {
    let answer = socket
        .emit_args_with_ack("ask", args, Duration::from_secs(2))
        .await;
    let _ = match answer {
        Ok(response) => socket.emit_args("server-ack-result", response),
        Err(AckError::Timeout) => socket.emit("server-ack-result", "timeout"),
        Err(err) => socket.emit("server-ack-result", &err.to_string()),
    };
}

async fn handshake(ack: AckSender, handshake: Handshake) {
    let query: BTreeMap<String, Value> = handshake
        .uri()
        .query()
        .map(|query| {
            form_pairs(query)
                .map(|(key, value)| (key, Value::from(value)))
                .collect()
        })
        .unwrap_or_default();
    let mut answer = BTreeMap::new();
    answer.insert("auth".to_owned(), handshake.auth().clone());
    answer.insert("query".to_owned(), Value::Object(query));
    let _ = ack.send(&Value::Object(answer));
}

fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (!key.is_empty()).then(|| (key.to_owned(), value.to_owned()))
    })
}

/// For the client's retry queue: the `retry` events in the order they arrived, and how
/// many times each key was seen.
static RETRIES: Mutex<Retries> = Mutex::new(Retries {
    log: Vec::new(),
    counts: None,
});

struct Retries {
    log: Vec<String>,
    counts: Option<HashMap<String, u64>>,
}

async fn retry(ack: AckSender, Data((key, failures)): Data<(String, u64)>) {
    let count = {
        let mut retries = RETRIES.lock().unwrap_or_else(|err| err.into_inner());
        retries.log.push(key.clone());
        let count = retries
            .counts
            .get_or_insert_with(HashMap::new)
            .entry(key)
            .or_insert(0);
        *count += 1;
        *count
    };
    if count > failures {
        let _ = ack.send(&count);
    }
}

async fn retry_log(ack: AckSender) {
    let log = RETRIES
        .lock()
        .unwrap_or_else(|err| err.into_inner())
        .log
        .clone();
    let _ = ack.send(&log);
}

async fn header(ack: AckSender, handshake: Handshake, Data(name): Data<String>) {
    let value = handshake
        .headers()
        .get(name.as_str())
        .and_then(|value| value.to_str().ok())
        .map(Value::from)
        .unwrap_or(Value::Null);
    let _ = ack.send(&value);
}

/// The handshake response (a request without `sid`) sets a cookie, for the clients'
/// cookie jars.
async fn set_cookie(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let handshake = !request
        .uri()
        .query()
        .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("sid=")));
    let mut response = next.run(request).await;
    if handshake {
        response.headers_mut().insert(
            axum::http::header::SET_COOKIE,
            axum::http::HeaderValue::from_static("fixture=yummy; Path=/"),
        );
    }
    response
}

async fn only_secret(handshake: Handshake) -> Result<(), ConnectError> {
    let token = handshake
        .auth()
        .as_object()
        .and_then(|auth| auth.get("token"));
    if token.and_then(Value::as_str) == Some("secret") {
        Ok(())
    } else {
        Err(ConnectError::new("unauthorized")
            .with_data(&serde_json::json!({ "reason": "bad token" })))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let msgpack = match args.iter().position(|arg| arg == "--parser") {
        Some(at) if args.get(at + 1).map(String::as_str) == Some("msgpack") => {
            args.drain(at..at + 2);
            true
        }
        Some(_) => return Err("--parser takes msgpack".into()),
        None => false,
    };
    let (mut options, port) = Options::from_args(args)?;
    if msgpack {
        options.parser = Some(socketio_server::ParserKind::Msgpack);
    }
    let main = main_namespace()
        .on("server-ack", server_ack)
        .on("handshake", handshake)
        .on("retry", retry)
        .on("header", header)
        .on("retry-log", retry_log)
        .on("disconnect-me", |socket: Socket| async move {
            let _ = socket.disconnect();
        })
        .on("close-transport", |socket: Socket| async move {
            socket.close_connection();
        })
        .on_disconnect(print_disconnect);
    let custom = custom_namespace().on_disconnect(print_disconnect);
    let (app, io) = app_with(&options, main, custom)?;
    let app = app.layer(axum::middleware::from_fn(set_cookie));
    io.ns(
        "/dyn/{id}",
        Namespace::new().on_connect(|socket: Socket| async move {
            let _ = socket.emit("hello", socket.ns());
        }),
    );
    io.ns(
        "/auth",
        Namespace::new()
            .middleware(only_secret)
            .on_connect(|socket: Socket| async move {
                let _ = socket.emit("welcome", &());
            }),
    );
    let listener = listen(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let addr = axum::serve::Listener::local_addr(&listener)?;
    println!("listening {}", addr.port());
    axum::serve(listener, app).await?;
    Ok(())
}
