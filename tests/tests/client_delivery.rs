//! Delivery against both fixture servers: the offline buffer, volatile emits,
//! acknowledgement timeouts and disconnections, the retry queue's wire order, auth
//! functions re-run on reconnection, and connection state recovery.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod client_support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use client_support::{Fixture, WAIT, free_port, next_event, next_matching, within};
use socketio_client::{AckError, ConnectError, EmitError, Manager, SocketEvent, Transports, Value};

fn fast(url: &str) -> socketio_client::ManagerBuilder {
    Manager::builder(url)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(500))
}

async fn wait_disconnect(events: &mut socketio_client::EventStream) {
    next_matching(events, "disconnect", |event| {
        matches!(event, SocketEvent::Disconnect(_))
    })
    .await;
}

/// Emits made before the first connect, and during a reconnection, go out in order once
/// connected.
async fn emits_while_disconnected_arrive_in_order(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let manager = fast(&server.url()).build().unwrap();
    let socket = manager.socket("/").build();
    let mut events = socket.events();
    for n in 0..5u32 {
        socket.emit("message", &n).unwrap();
    }
    assert_eq!(socket.buffered(), 5);
    socket.connect();
    for n in 0..5u32 {
        let back: u32 = next_event(&mut events, "message-back")
            .await
            .deserialize()
            .unwrap();
        assert_eq!(back, n);
    }
    socket.emit("close-transport", &()).unwrap();
    wait_disconnect(&mut events).await;
    for n in 5..10u32 {
        socket.emit("message", &n).unwrap();
    }
    for n in 5..10u32 {
        let back: u32 = next_event(&mut events, "message-back")
            .await
            .deserialize()
            .unwrap();
        assert_eq!(back, n);
    }
}

/// A volatile emit made while disconnected is dropped (and counted); one made while
/// connected goes out.
async fn volatile_is_dropped_while_disconnected(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let manager = fast(&server.url()).build().unwrap();
    let socket = manager.socket("/").build();
    let mut events = socket.events();
    socket.volatile().emit("message", &"dropped").unwrap();
    socket.emit("message", &"kept").unwrap();
    assert_eq!(socket.volatile_dropped(), 1);
    socket.connect();
    let first: String = next_event(&mut events, "message-back")
        .await
        .deserialize()
        .unwrap();
    assert_eq!(first, "kept");
    socket.volatile().emit("message", &"live").unwrap();
    let second: String = next_event(&mut events, "message-back")
        .await
        .deserialize()
        .unwrap();
    assert_eq!(second, "live");
}

/// No answer within the timeout: `AckError::Timeout`; the socket's `ack_timeout` applies
/// when the emit has none.
async fn ack_timeout(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let socket = fast(&server.url())
        .build()
        .unwrap()
        .socket("/")
        .ack_timeout(Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    // `message` is never acknowledged.
    let err = within(
        "timeout",
        socket
            .timeout(Duration::from_millis(100))
            .emit_with_ack("message", &1),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AckError::Timeout), "{err:?}");
    let err = within("timeout", socket.emit_with_ack("message", &2))
        .await
        .unwrap_err();
    assert!(matches!(err, AckError::Timeout), "{err:?}");
    let answer: u32 = within("ack", socket.emit_with_ack("ack", &3))
        .await
        .unwrap()
        .deserialize()
        .unwrap();
    assert_eq!(answer, 3);
}

/// As the official client: a sent packet's acknowledgement fails when the socket
/// disconnects; one still in the offline buffer survives and is answered after the
/// reconnection.
async fn acks_on_disconnect(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let socket = fast(&server.url())
        .reconnection_delay(Duration::from_millis(300))
        .randomization_factor(0.0)
        .build()
        .unwrap()
        .socket("/")
        .connect()
        .await
        .unwrap();
    let mut events = socket.events();
    let lost = socket.emit_with_ack("message", &"never answered");
    socket.emit("close-transport", &()).unwrap();
    let err = within("the lost ack", lost).await.unwrap_err();
    assert!(matches!(err, AckError::Disconnected), "{err:?}");
    wait_disconnect(&mut events).await;
    let buffered = socket.emit_with_ack("ack", &"buffered");
    let answer: String = within("the buffered ack", buffered)
        .await
        .unwrap()
        .deserialize()
        .unwrap();
    assert_eq!(answer, "buffered");
}

/// With `retries`, one packet is in flight at a time, in order, each sent until
/// acknowledged and at most `retries + 1` times.
async fn retry_queue_wire_order(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let socket = fast(&server.url())
        .transports(Transports::WebSocket)
        .build()
        .unwrap()
        .socket("/")
        .retries(2)
        .ack_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let a = socket.emit_with_ack("retry", &("a", 1));
    let b = socket.emit_with_ack("retry", &("b", 0));
    let c = socket.emit_with_ack("retry", &("c", 5));
    let d = socket.emit_with_ack("retry", &("d", 0));
    let count = |answer: Result<socketio_client::Args, AckError>| -> u32 {
        answer.unwrap().deserialize().unwrap()
    };
    assert_eq!(count(within("a", a).await), 2);
    assert_eq!(count(within("b", b).await), 1);
    let err = within("c", c).await.unwrap_err();
    assert!(matches!(err, AckError::Timeout), "{err:?}");
    assert_eq!(count(within("d", d).await), 1);
    let log: Vec<String> = within("the log", socket.emit_with_ack("retry-log", &()))
        .await
        .unwrap()
        .deserialize()
        .unwrap();
    assert_eq!(log, ["a", "a", "b", "c", "c", "c", "d"]);
}

/// An auth function runs again before every connection.
async fn auth_fn_runs_on_every_reconnection(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let socket = fast(&server.url())
        .build()
        .unwrap()
        .socket("/")
        .auth_fn(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Value::from(serde_json::json!({ "token": n })) }
        })
        .build();
    let mut events = socket.events();
    socket.connect();
    let auth: serde_json::Value = next_event(&mut events, "auth").await.deserialize().unwrap();
    assert_eq!(auth, serde_json::json!({ "token": 1 }));
    socket.emit("close-transport", &()).unwrap();
    let auth: serde_json::Value = next_event(&mut events, "auth").await.deserialize().unwrap();
    assert_eq!(auth, serde_json::json!({ "token": 2 }));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// Connection state recovery: after the engine drops, the socket comes back with its id
/// and receives what was broadcast to its room meanwhile, once each and in order.
async fn recovery_keeps_the_id_and_missed_messages(fixture: Fixture) {
    let server = fixture.start(&["--recovery", "10000"]).await;
    let manager = Manager::builder(server.url())
        .transports(Transports::WebSocket)
        .reconnection_delay(Duration::from_millis(800))
        .randomization_factor(0.0)
        .build()
        .unwrap();
    let x = manager.socket("/").build();
    let mut events = x.events();
    x.connect();
    x.wait_connected(WAIT).await.unwrap();
    assert!(!x.recovered());
    let helper = Manager::new(server.url())
        .unwrap()
        .socket("/")
        .connect()
        .await
        .unwrap();
    x.emit("join", &"r").unwrap();
    // The join is in once a broadcast to the room reaches x.
    within("m0", async {
        loop {
            helper.emit("to-room", &("r", "m0")).unwrap();
            if tokio::time::timeout(
                Duration::from_millis(200),
                next_event(&mut events, "to-room"),
            )
            .await
            .is_ok()
            {
                return;
            }
        }
    })
    .await;
    let id = x.id().unwrap();
    x.emit("close-transport", &()).unwrap();
    wait_disconnect(&mut events).await;
    for m in ["m1", "m2", "m3"] {
        helper.emit("to-room", &("r", m)).unwrap();
    }
    // As in the official client, the missed events (which a recovering server sends
    // before its CONNECT) are delivered first, then `connect`.
    let mut missed = Vec::new();
    let mut connected = false;
    within("the recovery", async {
        while !connected || missed.len() < 3 {
            match events.recv().await {
                Some(SocketEvent::Connect) => connected = true,
                Some(SocketEvent::Event { event, args, .. }) if &*event == "to-room" => {
                    let text: String = args.deserialize().unwrap();
                    if text != "m0" {
                        missed.push(text);
                    }
                }
                Some(_) => {}
                None => panic!("the stream ended"),
            }
        }
    })
    .await;
    assert!(x.recovered(), "not recovered");
    assert_eq!(x.id().unwrap(), id);
    assert_eq!(missed, ["m1", "m2", "m3"]);
}

both! {
    emits_while_disconnected_are_delivered_in_order => emits_while_disconnected_arrive_in_order;
    volatile_emits_are_dropped_while_disconnected => volatile_is_dropped_while_disconnected;
    acks_time_out => ack_timeout;
    acks_on_disconnect_as_the_official_client => acks_on_disconnect;
    the_retry_queue_keeps_wire_order => retry_queue_wire_order;
    auth_functions_run_on_every_reconnection => auth_fn_runs_on_every_reconnection;
    recovery_keeps_the_id_and_delivers_missed_messages => recovery_keeps_the_id_and_missed_messages;
}

/// The offline buffer is bounded (no server needed).
#[tokio::test]
async fn the_offline_buffer_is_bounded() {
    let manager = Manager::new(format!("http://127.0.0.1:{}", free_port())).unwrap();
    let socket = manager.socket("/").max_buffered_packets(2).build();
    socket.emit("a", &1).unwrap();
    socket.emit("b", &2).unwrap();
    assert!(matches!(socket.emit("c", &3), Err(EmitError::BufferFull)));
    let err = within("a failed ack", socket.emit_with_ack("d", &4))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AckError::Emit(EmitError::BufferFull)),
        "{err:?}"
    );
    assert!(matches!(
        socket.emit("connect", &()),
        Err(EmitError::ReservedEvent(_))
    ));
    // The retry queue has the same bound.
    let queued = manager
        .socket("/other")
        .retries(1)
        .max_buffered_packets(1)
        .build();
    queued.emit("a", &1).unwrap();
    assert!(matches!(queued.emit("b", &2), Err(EmitError::BufferFull)));
}

/// `connect()` gives up after its own timeout (the official client waits forever).
#[tokio::test]
async fn connect_has_its_own_timeout() {
    let manager = fast(&format!("http://127.0.0.1:{}", free_port()))
        .build()
        .unwrap();
    let err = manager
        .socket("/")
        .connect_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err, ConnectError::Timeout);
}

/// A buffered emit times out even when its socket never connects, and leaves the
/// offline buffer (no server needed).
#[tokio::test]
async fn a_buffered_ack_times_out_without_a_connection() {
    let manager = Manager::new(format!("http://127.0.0.1:{}", free_port())).unwrap();
    let socket = manager.socket("/").build();
    let answer = socket
        .timeout(Duration::from_millis(100))
        .emit_with_ack("never", &());
    assert_eq!(socket.buffered(), 1);
    let err = within("the timeout", answer).await.unwrap_err();
    assert!(matches!(err, AckError::Timeout), "{err:?}");
    assert_eq!(socket.buffered(), 0);
}

/// Handlers far behind: the client stops reading until they catch up, and then every
/// event arrives, in order. On the Node fixture only: our server's bounded outgoing
/// queue (1,024 by default) refuses emits to a client that stops reading, by design.
#[tokio::test]
async fn slow_handlers_hold_back_reading_and_lose_nothing() {
    let server = Fixture::Node.start(&[]).await;
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (count, mut counted) = tokio::sync::watch::channel(0usize);
    let (handler_gate, handler_seen) = (Arc::clone(&gate), Arc::clone(&seen));
    let socket = Manager::builder(server.url())
        .transports(Transports::WebSocket)
        .build()
        .unwrap()
        .socket("/")
        .on(
            "message-back",
            move |socketio_client::Data(n): socketio_client::Data<u32>| {
                let len = {
                    let mut seen = handler_seen.lock().unwrap();
                    seen.push(n);
                    seen.len()
                };
                count.send_replace(len);
                let gate = Arc::clone(&handler_gate);
                async move {
                    let _ = gate.acquire().await;
                }
            },
        )
        .connect()
        .await
        .unwrap();
    let total = 6_000u32;
    for n in 0..total {
        socket.emit("message", &n).unwrap();
    }
    // The handlers pile up to the backlog limit, then reading stops.
    within("the backlog", counted.wait_for(|n| *n >= 4096))
        .await
        .unwrap();
    gate.add_permits(usize::try_from(total).unwrap());
    within("every event", counted.wait_for(|n| *n >= total as usize))
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), (0..total).collect::<Vec<_>>());
}

/// One socket per namespace on a Manager (no server needed).
#[tokio::test]
async fn a_namespace_has_one_socket_per_manager() {
    let manager = fast(&format!("http://127.0.0.1:{}", free_port()))
        .build()
        .unwrap();
    let first = manager.socket("/").build();
    first.connect();
    let err = manager.socket("/").connect().await.unwrap_err();
    assert_eq!(err, ConnectError::NamespaceTaken);
    assert!(first.active());
}
