//! Reconnection as the official client does it, against both fixture servers: after the
//! engine drops, after a restart, from a failed first connect; the attempts, their
//! delays and the manager events; stopping and restarting the loop; the heartbeat.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod client_support;

use std::time::{Duration, Instant};

use client_support::{Fixture, WAIT, free_port, next_event, next_manager, next_matching, within};
use socketio_client::{DisconnectReason, Manager, ManagerEvent, SocketEvent, Transports};

fn fast(url: &str) -> socketio_client::ManagerBuilder {
    Manager::builder(url)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(500))
}

/// The server closes the Engine.IO connection: the socket reconnects by itself, with a
/// new id.
async fn reconnect_after_the_engine_drops(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    for transports in [Transports::Polling, Transports::WebSocket, Transports::Both] {
        let manager = fast(&server.url()).transports(transports).build().unwrap();
        let mut manager_events = manager.events();
        let socket = manager.socket("/").connect().await.unwrap();
        let mut events = socket.events();
        let first = socket.id().unwrap();
        socket.emit("close-transport", &()).unwrap();
        let event = next_matching(&mut events, "disconnect", |event| {
            matches!(event, SocketEvent::Disconnect(_))
        })
        .await;
        // Both servers answer the next GET with the `close` packet when none was
        // waiting (on long-polling, also before an upgrade is done).
        assert!(
            matches!(
                event,
                SocketEvent::Disconnect(DisconnectReason::TransportClose)
            ),
            "{event:?} over {transports:?}"
        );
        next_matching(&mut events, "connect", |event| {
            matches!(event, SocketEvent::Connect)
        })
        .await;
        assert_ne!(socket.id().unwrap(), first);
        // The official order: close, attempt, open, reconnect.
        let mut seen = Vec::new();
        within("reconnect", async {
            while let Some(event) = manager_events.recv().await {
                if matches!(event, ManagerEvent::Ping | ManagerEvent::Upgrade) {
                    continue;
                }
                let done = matches!(event, ManagerEvent::Reconnect(_));
                seen.push(event);
                if done {
                    break;
                }
            }
        })
        .await;
        let SocketEvent::Disconnect(reason) = event else {
            unreachable!()
        };
        assert_eq!(
            seen,
            [
                ManagerEvent::Open,
                ManagerEvent::Close(reason),
                ManagerEvent::ReconnectAttempt(1),
                ManagerEvent::Open,
                ManagerEvent::Reconnect(1),
            ],
            "{transports:?}"
        );
        socket.emit("message", &"after").unwrap();
        let text: String = next_event(&mut events, "message-back")
            .await
            .deserialize()
            .unwrap();
        assert_eq!(text, "after");
    }
}

/// The server process dies and a new one listens on the same port: the socket comes
/// back, twice.
async fn reconnect_after_a_restart(fixture: Fixture) {
    let mut server = fixture.start(&[]).await;
    let port = server.port;
    let manager = fast(&server.url()).build().unwrap();
    let socket = manager.socket("/").connect().await.unwrap();
    let mut events = socket.events();
    for _ in 0..2 {
        server.kill().await.unwrap();
        next_matching(&mut events, "disconnect", |event| {
            matches!(event, SocketEvent::Disconnect(_))
        })
        .await;
        server = fixture.start_on(port, &[]).await;
        next_matching(&mut events, "connect", |event| {
            matches!(event, SocketEvent::Connect)
        })
        .await;
        socket.emit("message", &1).unwrap();
        next_event(&mut events, "message-back").await;
    }
}

/// A first connect that fails enters the loop: the socket connects once a server
/// listens, and the manager events come in the official order.
async fn a_failed_first_connect_enters_the_loop(fixture: Fixture) {
    let port = free_port();
    let manager = fast(&format!("http://127.0.0.1:{port}")).build().unwrap();
    let mut manager_events = manager.events();
    let socket = manager.socket("/").build();
    let mut events = socket.events();
    socket.connect();
    let mut seen = Vec::new();
    within("two failed attempts", async {
        while let Some(event) = manager_events.recv().await {
            let done = matches!(event, ManagerEvent::ReconnectError(_));
            seen.push(event);
            if done {
                break;
            }
        }
    })
    .await;
    assert!(
        matches!(
            seen.as_slice(),
            [
                ManagerEvent::Error(_),
                ManagerEvent::ReconnectAttempt(1),
                ManagerEvent::Error(_),
                ManagerEvent::ReconnectError(_),
            ]
        ),
        "{seen:?}"
    );
    next_matching(&mut events, "connect_error", |event| {
        matches!(event, SocketEvent::ConnectError(_))
    })
    .await;
    let _server = fixture.start_on(port, &[]).await;
    next_matching(&mut events, "connect", |event| {
        matches!(event, SocketEvent::Connect)
    })
    .await;
    next_manager(&mut manager_events, "reconnect", |event| {
        matches!(event, ManagerEvent::Reconnect(_))
    })
    .await;
    assert!(socket.connected());
}

/// `disconnect()` stops a running loop; `connect()` starts again.
async fn disconnect_stops_the_loop_and_connect_restarts_it(fixture: Fixture) {
    let port = free_port();
    let manager = fast(&format!("http://127.0.0.1:{port}")).build().unwrap();
    let mut manager_events = manager.events();
    let socket = manager.socket("/").build();
    socket.connect();
    next_manager(&mut manager_events, "an attempt", |event| {
        matches!(event, ManagerEvent::ReconnectAttempt(_))
    })
    .await;
    socket.disconnect();
    assert!(
        tokio::time::timeout(Duration::from_millis(1200), async {
            loop {
                if let Some(ManagerEvent::ReconnectAttempt(_)) = manager_events.recv().await {
                    return;
                }
            }
        })
        .await
        .is_err(),
        "the loop went on after disconnect()"
    );
    let _server = fixture.start_on(port, &[]).await;
    socket.connect();
    socket.wait_connected(WAIT).await.unwrap();
}

/// The server goes silent (stopped, connections open): "ping timeout", then the socket
/// reconnects once it answers again... or here, once it is replaced.
async fn ping_timeout_when_the_server_goes_silent(fixture: Fixture) {
    let mut server = fixture
        .start(&["--ping-interval", "300", "--ping-timeout", "200"])
        .await;
    let manager = fast(&server.url())
        .transports(Transports::WebSocket)
        .build()
        .unwrap();
    let socket = manager.socket("/").connect().await.unwrap();
    let mut events = socket.events();
    let frozen = Instant::now();
    server.output().freeze().await.unwrap();
    let event = next_matching(&mut events, "disconnect", |event| {
        matches!(event, SocketEvent::Disconnect(_))
    })
    .await;
    assert!(
        matches!(
            event,
            SocketEvent::Disconnect(DisconnectReason::PingTimeout)
        ),
        "{event:?}"
    );
    // Within ping interval + ping timeout (and a margin) of the last ping.
    assert!(frozen.elapsed() < Duration::from_secs(3));
    assert!(socket.active(), "a ping timeout is not final");
}

/// `remember_upgrade`: after a connection that upgraded, the next one opens over
/// WebSocket at once (no upgrade needed).
async fn remember_upgrade(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let manager = fast(&server.url()).remember_upgrade(true).build().unwrap();
    let mut manager_events = manager.events();
    let socket = manager.socket("/").connect().await.unwrap();
    next_manager(&mut manager_events, "the upgrade", |event| {
        *event == ManagerEvent::Upgrade
    })
    .await;
    socket.emit("close-transport", &()).unwrap();
    next_manager(&mut manager_events, "the reconnection", |event| {
        matches!(event, ManagerEvent::Reconnect(_))
    })
    .await;
    let upgraded_again = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            if manager_events.recv().await == Some(ManagerEvent::Upgrade) {
                return;
            }
        }
    })
    .await;
    assert!(upgraded_again.is_err(), "the second connection upgraded");
    let mut events = socket.events();
    socket.emit("message", &"over websocket").unwrap();
    next_event(&mut events, "message-back").await;
}

both! {
    remember_upgrade_opens_over_websocket => remember_upgrade;
    reconnection_after_the_engine_drops => reconnect_after_the_engine_drops;
    reconnection_after_a_server_restart => reconnect_after_a_restart;
    failed_first_connect_enters_the_loop => a_failed_first_connect_enters_the_loop;
    disconnect_stops_the_loop_connect_restarts_it => disconnect_stops_the_loop_and_connect_restarts_it;
    ping_timeout_on_a_silent_server => ping_timeout_when_the_server_goes_silent;
}

/// Exactly N attempts, then `reconnect_failed`, and nothing more (no server needed).
#[tokio::test]
async fn exactly_n_attempts_then_reconnect_failed() {
    let port = free_port();
    let manager = Manager::builder(format!("http://127.0.0.1:{port}"))
        .reconnection_delay(Duration::from_millis(20))
        .reconnection_delay_max(Duration::from_millis(50))
        .reconnection_attempts(3)
        .build()
        .unwrap();
    let mut manager_events = manager.events();
    let socket = manager.socket("/").build();
    socket.connect();
    let mut seen = Vec::new();
    within("reconnect_failed", async {
        while let Some(event) = manager_events.recv().await {
            let done = event == ManagerEvent::ReconnectFailed;
            seen.push(event);
            if done {
                break;
            }
        }
    })
    .await;
    let attempts: Vec<u32> = seen
        .iter()
        .filter_map(|event| match event {
            ManagerEvent::ReconnectAttempt(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    // The official order of the last attempt: error, reconnect_failed, reconnect_error.
    let tail: Vec<&ManagerEvent> = seen.iter().rev().take(3).collect();
    assert!(
        matches!(
            tail.as_slice(),
            [
                ManagerEvent::ReconnectFailed,
                ManagerEvent::Error(_),
                ManagerEvent::ReconnectAttempt(3)
            ]
        ),
        "{seen:?}"
    );
    let err = socket.wait_connected(WAIT).await.unwrap_err();
    assert!(
        matches!(err, socketio_client::ConnectError::Disconnected(_)),
        "{err:?}"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), async {
            loop {
                if let Some(ManagerEvent::ReconnectAttempt(_)) = manager_events.recv().await {
                    return;
                }
            }
        })
        .await
        .is_err(),
        "an attempt after reconnect_failed"
    );
}

/// Without randomization, each delay doubles up to the maximum (no server needed).
#[tokio::test]
async fn delays_grow_strictly_up_to_the_maximum() {
    let port = free_port();
    let manager = Manager::builder(format!("http://127.0.0.1:{port}"))
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(400))
        .randomization_factor(0.0)
        .reconnection_attempts(5)
        .build()
        .unwrap();
    let mut manager_events = manager.events();
    let socket = manager.socket("/").build();
    let start = Instant::now();
    socket.connect();
    // When each attempt was seen, from the start: an event is seen late, never early, so
    // attempt k comes no sooner than the sum of the first k delays. (Measuring from the
    // error before it would shrink when that error is seen late.)
    let mut at = Vec::new();
    within("five attempts", async {
        while let Some(event) = manager_events.recv().await {
            match event {
                ManagerEvent::ReconnectAttempt(_) => at.push(start.elapsed()),
                ManagerEvent::ReconnectFailed => break,
                _ => {}
            }
        }
    })
    .await;
    let delays = [50u64, 100, 200, 400, 400];
    assert_eq!(at.len(), delays.len());
    let mut sum = 0;
    for (seen, delay) in at.iter().zip(delays) {
        sum += delay;
        let ms = u64::try_from(seen.as_millis()).unwrap();
        assert!(ms >= sum, "{at:?}");
        // Generous above: a loaded machine runs timers late, never early.
        assert!(ms < sum + 400, "{at:?}");
    }
}

/// `try_all_transports`: when long-polling is refused, the same attempt opens over
/// WebSocket (our server with WebSocket alone; the Node fixture has no such switch).
#[tokio::test]
async fn try_all_transports_falls_back_to_websocket() {
    use socketio_server::{Namespace, SocketIo};
    let (layer, io) = SocketIo::builder()
        .transports(&[engineio_core::TransportKind::WebSocket])
        .build()
        .unwrap();
    io.ns("/", Namespace::new());
    let addr = interop_tests::serve(axum::Router::new().layer(layer))
        .await
        .unwrap();
    let manager = Manager::builder(format!("http://{addr}"))
        .try_all_transports(true)
        .build()
        .unwrap();
    let mut manager_events = manager.events();
    let socket = manager.socket("/").connect().await.unwrap();
    assert!(socket.connected());
    // Opened on the second transport of the first attempt: no error, no reconnection.
    assert_eq!(
        next_manager(&mut manager_events, "open", |_| true).await,
        ManagerEvent::Open
    );
    // Without it, the attempt fails on long-polling.
    let manager = Manager::builder(format!("http://{addr}"))
        .reconnection(false)
        .build()
        .unwrap();
    let mut manager_events = manager.events();
    let err = manager.socket("/").connect().await.unwrap_err();
    assert!(
        matches!(err, socketio_client::ConnectError::Connection(_)),
        "{err:?}"
    );
    assert!(matches!(
        next_manager(&mut manager_events, "error", |_| true).await,
        ManagerEvent::Error(_)
    ));
}

/// The open timeout: a server that accepts connections and never answers fails the
/// attempt with "timeout", which enters the loop (no fixture needed).
#[tokio::test]
async fn the_open_timeout_fails_a_silent_handshake() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let manager = Manager::builder(format!("http://127.0.0.1:{port}"))
        .timeout(Some(Duration::from_millis(200)))
        .reconnection_delay(Duration::from_millis(50))
        .build()
        .unwrap();
    let mut manager_events = manager.events();
    let started = Instant::now();
    manager.socket("/").build().connect();
    let event = next_manager(&mut manager_events, "the error", |event| {
        matches!(event, ManagerEvent::Error(_))
    })
    .await;
    assert_eq!(event, ManagerEvent::Error("timeout".to_owned()));
    assert!(started.elapsed() >= Duration::from_millis(200));
    next_manager(&mut manager_events, "an attempt", |event| {
        matches!(event, ManagerEvent::ReconnectAttempt(1))
    })
    .await;
}
