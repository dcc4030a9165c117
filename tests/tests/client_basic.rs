//! The Rust client against both fixture servers: connecting, round trips with binary,
//! acknowledgements both ways, namespaces on one Manager, separate Managers, auth and
//! query, refusals, disconnect reasons and the catch-all handlers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod client_support;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use client_support::{Fixture, next_event, next_manager, next_matching, within};
use socketio_client::{
    AckSender, Args, ConnectError, Data, DisconnectReason, Event, Manager, ManagerEvent,
    SocketEvent, Transports, Value,
};

fn bin(bytes: &'static [u8]) -> Value {
    Value::Binary(Bytes::from_static(bytes))
}

/// The fixture contract's ARGS: binary at the top level, nested, and several of them.
fn binary_args() -> Vec<Value> {
    let mut nested = BTreeMap::new();
    nested.insert("bin".to_owned(), bin(&[4, 5]));
    let mut object = BTreeMap::new();
    object.insert("nested".to_owned(), Value::Object(nested));
    object.insert("list".to_owned(), Value::Array(vec![bin(&[6])]));
    let mut three = BTreeMap::new();
    three.insert("three".to_owned(), Value::Array(vec![Value::from(3u64)]));
    vec![
        Value::from(1u64),
        Value::from("two"),
        Value::Object(three),
        bin(&[1, 2, 3]),
        Value::Object(object),
        Value::Null,
        Value::Bool(true),
        Value::from("é✓"),
    ]
}

fn manager(url: &str, transports: Transports) -> Manager {
    Manager::builder(url)
        .transports(transports)
        .build()
        .unwrap()
}

async fn round_trip(fixture: Fixture, transports: Transports) {
    let server = fixture.start(&[]).await;
    let manager = manager(&server.url(), transports);
    let socket = manager
        .socket("/")
        .auth(serde_json::json!({ "token": "abc" }))
        .build();
    let mut events = socket.events();
    socket.connect();
    within("connect", socket.wait_connected(client_support::WAIT))
        .await
        .unwrap();
    assert!(socket.id().is_some());
    let auth: serde_json::Value = next_event(&mut events, "auth").await.deserialize().unwrap();
    assert_eq!(auth, serde_json::json!({ "token": "abc" }));

    // Plain and binary round trips.
    socket.emit("message", &("hello", 42)).unwrap();
    let back: (String, u32) = next_event(&mut events, "message-back")
        .await
        .deserialize()
        .unwrap();
    assert_eq!(back, ("hello".to_owned(), 42));
    socket
        .emit_args("echo", Args::from_values(binary_args()))
        .unwrap();
    let echoed = next_event(&mut events, "echo").await;
    assert_eq!(echoed.to_values().unwrap(), binary_args());

    // Acknowledgements, with binary in them.
    let answer = within(
        "ack",
        socket.emit_with_ack(
            "ack",
            &Args::from_values(binary_args()).to_values().unwrap(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        answer.to_values().unwrap(),
        vec![Value::Array(binary_args())]
    );
    let answer = within(
        "ack",
        socket
            .timeout(Duration::from_secs(5))
            .emit_args_with_ack("message-with-ack", Args::from_values(binary_args())),
    )
    .await
    .unwrap();
    assert_eq!(answer.to_values().unwrap(), binary_args());

    // The server's acknowledgement, answered from a stream event.
    socket.emit("server-ack", &("question", 1)).unwrap();
    let ack = match next_matching(
        &mut events,
        "ask",
        |event| matches!(event, SocketEvent::Event { event, .. } if &**event == "ask"),
    )
    .await
    {
        SocketEvent::Event { args, ack, .. } => {
            let (text, n): (String, u32) = args.deserialize().unwrap();
            assert_eq!((text.as_str(), n), ("question", 1));
            ack.expect("the server asked for an ack")
        }
        other => panic!("{other:?}"),
    };
    ack.send_args(Args::from_values(vec![Value::from("answer"), bin(&[9, 9])]))
        .unwrap();
    let result = next_event(&mut events, "server-ack-result").await;
    assert_eq!(
        result.to_values().unwrap(),
        vec![Value::from("answer"), bin(&[9, 9])]
    );
    socket.disconnect();
}

async fn round_trip_polling(fixture: Fixture) {
    round_trip(fixture, Transports::Polling).await;
}

async fn round_trip_websocket(fixture: Fixture) {
    round_trip(fixture, Transports::WebSocket).await;
}

async fn round_trip_upgrade(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let manager = manager(&server.url(), Transports::Both);
    let mut manager_events = manager.events();
    let socket = manager.socket("/").connect().await.unwrap();
    let mut events = socket.events();
    // Messages sent during the upgrade keep their order.
    for i in 0..10u32 {
        socket.emit("message", &i).unwrap();
    }
    next_manager(&mut manager_events, "upgrade", |event| {
        *event == ManagerEvent::Upgrade
    })
    .await;
    for i in 10..20u32 {
        socket.emit("message", &i).unwrap();
    }
    for i in 0..20u32 {
        let n: u32 = next_event(&mut events, "message-back")
            .await
            .deserialize()
            .unwrap();
        assert_eq!(n, i);
    }
    socket
        .emit_args("echo", Args::from_values(binary_args()))
        .unwrap();
    assert_eq!(
        next_event(&mut events, "echo").await.to_values().unwrap(),
        binary_args()
    );
}

/// Handlers with extractors answer the server's acknowledgement.
async fn handlers_answer_server_acks(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let manager = manager(&server.url(), Transports::WebSocket);
    let socket = manager
        .socket("/")
        .with_state(Arc::new("state".to_owned()))
        .on(
            "ask",
            |Data(question): Data<String>,
             ack: AckSender,
             socketio_client::State(state): socketio_client::State<Arc<String>>| async move {
                ack.send(&(
                    format!("{question}-{state}"),
                    Value::Binary(Bytes::from_static(&[7])),
                ))
                .unwrap();
            },
        )
        .build();
    let mut events = socket.events();
    socket.connect();
    socket.wait_connected(client_support::WAIT).await.unwrap();
    socket.emit("server-ack", &"q").unwrap();
    let result = next_event(&mut events, "server-ack-result").await;
    assert_eq!(
        result.to_values().unwrap(),
        vec![Value::from("q-state"), bin(&[7])]
    );
}

/// One Manager carries two namespaces on one Engine.IO connection.
async fn one_manager_two_namespaces(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let manager = manager(&server.url(), Transports::Both);
    let mut manager_events = manager.events();
    let main = manager.socket("/").connect().await.unwrap();
    let custom = manager
        .socket("/custom")
        .auth(serde_json::json!({ "token": "c" }))
        .build();
    let mut events = custom.events();
    custom.connect();
    custom.wait_connected(client_support::WAIT).await.unwrap();
    let auth: serde_json::Value = next_event(&mut events, "auth").await.deserialize().unwrap();
    assert_eq!(auth, serde_json::json!({ "token": "c" }));
    assert_ne!(main.id(), custom.id());
    // One open only: both namespaces share the connection.
    next_manager(&mut manager_events, "open", |event| {
        *event == ManagerEvent::Open
    })
    .await;
    let dynamic = manager.socket("/dyn/42").build();
    let mut dyn_events = dynamic.events();
    dynamic.connect();
    let hello: String = next_event(&mut dyn_events, "hello")
        .await
        .deserialize()
        .unwrap();
    assert_eq!(hello, "/dyn/42");
    let mut main_events = main.events();
    main.emit("message", &1).unwrap();
    main.emit("message", &2).unwrap();
    for expected in [1, 2] {
        let n: u32 = next_event(&mut main_events, "message-back")
            .await
            .deserialize()
            .unwrap();
        assert_eq!(n, expected);
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), async {
            loop {
                if manager_events.recv().await == Some(ManagerEvent::Open) {
                    return;
                }
            }
        })
        .await
        .is_err(),
        "a second connection was opened"
    );
    // A namespace that does not exist is refused.
    let nope = manager.socket("/nope").connect().await.unwrap_err();
    assert!(
        matches!(nope, ConnectError::Refused { ref message, .. } if message == "Invalid namespace"),
        "{nope:?}"
    );
}

/// Two Managers are two connections (the official `forceNew`): two sockets of `/`, and
/// a broadcast reaches both.
async fn two_managers_two_connections(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let first = manager(&server.url(), Transports::WebSocket)
        .socket("/")
        .connect()
        .await
        .unwrap();
    let second = manager(&server.url(), Transports::Polling)
        .socket("/")
        .connect()
        .await
        .unwrap();
    assert_ne!(first.id(), second.id());
    let (mut one, mut two) = (first.events(), second.events());
    first.emit("broadcast", &"to all").unwrap();
    for events in [&mut one, &mut two] {
        let text: String = next_event(events, "broadcast").await.deserialize().unwrap();
        assert_eq!(text, "to all");
    }
}

/// The query and the auth reach the server's handshake.
async fn query_and_auth_reach_the_server(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let socket = Manager::builder(server.url())
        .query("color", "blue")
        .build()
        .unwrap()
        .socket("/")
        .auth(serde_json::json!({ "token": "abc" }))
        .connect()
        .await
        .unwrap();
    let answer: serde_json::Value = within("handshake", socket.emit_with_ack("handshake", &()))
        .await
        .unwrap()
        .deserialize()
        .unwrap();
    assert_eq!(answer["auth"]["token"], "abc");
    assert_eq!(answer["query"]["color"], "blue");
}

/// A refused CONNECT is final: no retry, the error carries the message and the data;
/// new auth and an explicit connect get in.
async fn auth_rejection_is_final(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let manager = manager(&server.url(), Transports::WebSocket);
    let mut manager_events = manager.events();
    let socket = manager
        .socket("/auth")
        .auth(serde_json::json!({ "token": "wrong" }))
        .build();
    let mut events = socket.events();
    socket.connect();
    let err = socket
        .wait_connected(client_support::WAIT)
        .await
        .unwrap_err();
    let ConnectError::Refused { message, data } = err else {
        panic!("{err:?}")
    };
    assert_eq!(message, "unauthorized");
    assert_eq!(
        serde_json::to_value(&data).unwrap(),
        serde_json::json!({ "reason": "bad token" })
    );
    next_matching(&mut events, "connect_error", |event| {
        matches!(
            event,
            SocketEvent::ConnectError(ConnectError::Refused { .. })
        )
    })
    .await;
    assert!(!socket.active());
    // Final: the Manager closes (no active socket) and does not reconnect.
    next_manager(&mut manager_events, "close", |event| {
        matches!(event, ManagerEvent::Close(_))
    })
    .await;
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), async {
            loop {
                if let Some(ManagerEvent::ReconnectAttempt(_)) = manager_events.recv().await {
                    return;
                }
            }
        })
        .await
        .is_err(),
        "a refused socket was retried"
    );
    socket.set_auth(serde_json::json!({ "token": "secret" }));
    socket.connect();
    next_event(&mut events, "welcome").await;
    assert!(socket.connected());
}

/// The official reasons, and which disconnections are final.
async fn disconnect_reasons(fixture: Fixture) {
    let mut server = fixture.start(&[]).await;
    let manager = manager(&server.url(), Transports::Polling);
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reasons);
    let socket = manager
        .socket("/")
        .on("disconnect", move |Data(reason): Data<String>| {
            seen.lock().unwrap().push(reason);
            async {}
        })
        .build();
    let mut events = socket.events();
    socket.connect();
    socket.wait_connected(client_support::WAIT).await.unwrap();
    let first = socket.id().unwrap();
    socket.emit("disconnect-me", &()).unwrap();
    let event = next_matching(&mut events, "disconnect", |event| {
        matches!(event, SocketEvent::Disconnect(_))
    })
    .await;
    assert!(matches!(
        event,
        SocketEvent::Disconnect(DisconnectReason::IoServerDisconnect)
    ));
    assert!(!socket.active(), "a server disconnect is final");
    server
        .output()
        .expect_line(
            &format!("disconnect / {first} server namespace disconnect"),
            client_support::WAIT,
        )
        .await
        .unwrap();
    socket.connect();
    socket.wait_connected(client_support::WAIT).await.unwrap();
    let second = socket.id().unwrap();
    socket.disconnect();
    next_matching(&mut events, "disconnect", |event| {
        matches!(
            event,
            SocketEvent::Disconnect(DisconnectReason::IoClientDisconnect)
        )
    })
    .await;
    server
        .output()
        .expect_line(
            &format!("disconnect / {second} client namespace disconnect"),
            client_support::WAIT,
        )
        .await
        .unwrap();
    assert_eq!(
        *reasons.lock().unwrap(),
        ["io server disconnect", "io client disconnect"]
    );
}

/// The catch-all handlers see every event in order, before the event's own handler; the
/// outgoing one sees every emit in order.
async fn catch_all_order(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let outgoing = Arc::new(Mutex::new(Vec::new()));
    let (any_log, own_log, out_log) = (Arc::clone(&log), Arc::clone(&log), Arc::clone(&outgoing));
    let socket = manager(&server.url(), Transports::WebSocket)
        .socket("/")
        .on_any(move |Event(name): Event, Data(n): Data<u32>| {
            any_log.lock().unwrap().push(format!("any {} {n}", &*name));
            async {}
        })
        .on("echo", move |Data(n): Data<u32>| {
            own_log.lock().unwrap().push(format!("echo {n}"));
            async {}
        })
        .on_any_outgoing(move |event, args| {
            out_log
                .lock()
                .unwrap()
                .push(format!("{event} {}", args.len()));
        })
        .build();
    let mut events = socket.events();
    socket.connect();
    socket.wait_connected(client_support::WAIT).await.unwrap();
    for n in 1..=3u32 {
        socket.emit("echo", &n).unwrap();
    }
    socket.emit("message", &(4, 5)).unwrap();
    next_event(&mut events, "message-back").await;
    let log = log.lock().unwrap().clone();
    // The `auth` event comes first (sent on connection).
    let log: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .filter(|line| !line.starts_with("any auth"))
        .collect();
    assert_eq!(
        log,
        [
            "any echo 1",
            "echo 1",
            "any echo 2",
            "echo 2",
            "any echo 3",
            "echo 3",
            "any message-back 4"
        ]
    );
    assert_eq!(
        *outgoing.lock().unwrap(),
        ["echo 1", "echo 1", "echo 1", "message 2"]
    );
}

/// The npm `socket.io-msgpack-parser` format, binary included.
async fn msgpack_round_trip(fixture: Fixture) {
    let server = fixture.start(&["--parser", "msgpack"]).await;
    for transports in [Transports::Polling, Transports::WebSocket] {
        let socket = Manager::builder(server.url())
            .transports(transports)
            .parser(socketio_client::ParserKind::Msgpack)
            .build()
            .unwrap()
            .socket("/")
            .connect()
            .await
            .unwrap();
        let mut events = socket.events();
        socket
            .emit_args("echo", Args::from_values(binary_args()))
            .unwrap();
        assert_eq!(
            next_event(&mut events, "echo").await.to_values().unwrap(),
            binary_args(),
            "{transports:?}"
        );
        let answer = within(
            "ack",
            socket.emit_args_with_ack("ack", Args::from_values(binary_args())),
        )
        .await
        .unwrap();
        assert_eq!(answer.to_values().unwrap(), binary_args());
    }
}

both! {
    msgpack_round_trips => msgpack_round_trip;
    connect_and_round_trip_over_polling => round_trip_polling;
    connect_and_round_trip_over_websocket => round_trip_websocket;
    connect_and_round_trip_after_upgrade => round_trip_upgrade;
    handlers_with_extractors_answer_server_acks => handlers_answer_server_acks;
    one_manager_for_two_namespaces => one_manager_two_namespaces;
    two_managers_are_two_connections => two_managers_two_connections;
    query_and_auth_reach_the_server => query_and_auth_reach_the_server;
    an_auth_rejection_is_final => auth_rejection_is_final;
    official_disconnect_reasons => disconnect_reasons;
    catch_all_in_and_out_in_order => catch_all_order;
}

/// Extra headers reach the server; with `with_credentials`, the cookie the handshake set
/// comes back on the next connection's handshake (and not without it).
async fn headers_and_cookies(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    for credentials in [true, false] {
        let socket = Manager::builder(server.url())
            .header("x-client", "rust")
            .with_credentials(credentials)
            .reconnection_delay(Duration::from_millis(50))
            .build()
            .unwrap()
            .socket("/")
            .connect()
            .await
            .unwrap();
        let header = |name: &'static str| {
            let socket = socket.clone();
            async move {
                within(name, socket.emit_with_ack("header", &name))
                    .await
                    .unwrap()
                    .deserialize::<Option<String>>()
                    .unwrap()
            }
        };
        assert_eq!(header("x-client").await.as_deref(), Some("rust"));
        let mut events = socket.events();
        socket.emit("close-transport", &()).unwrap();
        next_matching(&mut events, "reconnection", |event| {
            matches!(event, SocketEvent::Connect)
        })
        .await;
        let cookie = header("cookie").await;
        if credentials {
            assert_eq!(cookie.as_deref(), Some("fixture=yummy"));
        } else {
            assert_eq!(cookie, None);
        }
    }
}

/// Large binary payloads and many small messages in a burst, on each transport.
async fn large_and_many(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let big = Bytes::from(
        (0..300_000u32)
            .map(|n| (n % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    for transports in [Transports::Polling, Transports::WebSocket, Transports::Both] {
        let socket = manager(&server.url(), transports)
            .socket("/")
            .connect()
            .await
            .unwrap();
        let mut events = socket.events();
        socket.emit("echo", &("big", &big)).unwrap();
        for n in 0..200u32 {
            socket.emit("message", &n).unwrap();
        }
        let (name, data): (String, Bytes) =
            next_event(&mut events, "echo").await.deserialize().unwrap();
        assert_eq!((name.as_str(), data.len()), ("big", big.len()));
        assert_eq!(data, big, "{transports:?}");
        for n in 0..200u32 {
            let back: u32 = next_event(&mut events, "message-back")
                .await
                .deserialize()
                .unwrap();
            assert_eq!(back, n, "{transports:?}");
        }
    }
}

/// A flood of emits, more than the Engine.IO session holds at once: every one reaches
/// the server, in order (the server logs them without answering, so that its own
/// outgoing queue is not what is measured).
async fn a_flood_of_emits(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    for transports in [Transports::Polling, Transports::WebSocket] {
        let socket = manager(&server.url(), transports)
            .socket("/")
            .connect()
            .await
            .unwrap();
        let total = 10_000u32;
        let prefix = format!("{transports:?}-");
        let pending: Vec<_> = (0..total)
            .map(|n| socket.emit_with_ack("retry", &(format!("{prefix}{n}"), u64::MAX)))
            .collect();
        let log: Vec<String> = within("the log", socket.emit_with_ack("retry-log", &()))
            .await
            .unwrap()
            .deserialize()
            .unwrap();
        let ours: Vec<&String> = log.iter().filter(|key| key.starts_with(&prefix)).collect();
        assert_eq!(ours.len(), total as usize, "{transports:?}");
        for (n, key) in ours.into_iter().enumerate() {
            assert_eq!(*key, format!("{prefix}{n}"));
        }
        drop(pending);
    }
}

both! {
    a_flood_of_emits_loses_nothing => a_flood_of_emits;
    headers_and_the_cookie_jar => headers_and_cookies;
    large_binaries_and_bursts => large_and_many;
}
