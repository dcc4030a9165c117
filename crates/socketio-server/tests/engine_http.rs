//! The Engine.IO HTTP surface, driven through `tower::ServiceExt::oneshot`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use axum::{Router, body::Body, routing::get};
use engineio_core::{CloseReason, Message};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use socketio_server::engine::{EngineConnection, EngineHandler, EngineIo, EngineSocket};
use tokio::sync::mpsc;
use tower::ServiceExt;

struct Echo(mpsc::UnboundedSender<(String, CloseReason)>);

impl EngineHandler for Echo {
    fn on_connect(&self, socket: EngineSocket) -> Box<dyn EngineConnection> {
        Box::new(EchoConnection(socket, self.0.clone()))
    }
}

struct EchoConnection(EngineSocket, mpsc::UnboundedSender<(String, CloseReason)>);

impl EngineConnection for EchoConnection {
    fn on_message(&mut self, message: Message) {
        self.0.send(message).unwrap();
    }
    fn on_close(&mut self, reason: CloseReason) {
        let _ = self.1.send((self.0.sid().to_string(), reason));
    }
}

struct Server {
    app: Router,
    closed: mpsc::UnboundedReceiver<(String, CloseReason)>,
}

fn server(
    configure: impl FnOnce(
        socketio_server::engine::EngineIoBuilder,
    ) -> socketio_server::engine::EngineIoBuilder,
) -> Server {
    let (closes, closed) = mpsc::unbounded_channel();
    let (layer, _engine) = configure(EngineIo::builder()).build(Echo(closes)).unwrap();
    let app = Router::new()
        .route("/hello", get(|| async { "hello from the app" }))
        .layer(layer);
    Server { app, closed }
}

struct Reply {
    status: StatusCode,
    content_type: Option<String>,
    body: String,
}

async fn send(app: &Router, method: &str, uri: &str, body: impl Into<Body>) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(body.into())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get_(app: &Router, uri: &str) -> Reply {
    send(app, "GET", uri, Body::empty()).await
}

/// Opens a polling session and returns its sid.
async fn handshake(app: &Router) -> String {
    let reply = get_(app, "/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let json: serde_json::Value = serde_json::from_str(&reply.body[1..]).unwrap();
    json["sid"].as_str().unwrap().to_owned()
}

fn assert_error(reply: &Reply, status: StatusCode, code: u8, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "code": code, "message": message })
    );
}

async fn closed(server: &mut Server, sid: &str) -> CloseReason {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let (closed, reason) = server.closed.recv().await.unwrap();
            if closed == sid {
                return reason;
            }
        }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn handshake_body_and_headers() {
    let server = server(|builder| builder);
    let reply = get_(&server.app, "/engine.io/?EIO=4&transport=polling&t=abc").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("text/plain; charset=UTF-8")
    );
    assert!(reply.body.starts_with('0'), "{}", reply.body);
    let json: serde_json::Value = serde_json::from_str(&reply.body[1..]).unwrap();
    let sid = json["sid"].as_str().unwrap();
    assert_eq!(sid.len(), 20);
    assert!(
        sid.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(json["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(json["pingInterval"], 25_000);
    assert_eq!(json["pingTimeout"], 20_000);
    assert_eq!(json["maxPayload"], 1_000_000);
}

#[tokio::test]
async fn handshake_without_websocket_offers_no_upgrade() {
    let server = server(|builder| {
        builder
            .transports(&[engineio_core::TransportKind::Polling])
            .ping_interval(Duration::from_millis(1500))
    });
    let reply = get_(&server.app, "/engine.io/?EIO=4&transport=polling").await;
    let json: serde_json::Value = serde_json::from_str(&reply.body[1..]).unwrap();
    assert_eq!(json["upgrades"], serde_json::json!([]));
    assert_eq!(json["pingInterval"], 1500);
    let reply = get_(&server.app, "/engine.io/?EIO=4&transport=websocket").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 0, "Transport unknown");
}

#[tokio::test]
async fn other_paths_reach_the_inner_service() {
    let server = server(|builder| builder);
    let reply = get_(&server.app, "/hello").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "hello from the app");
    let reply = get_(&server.app, "/engine.iox/?EIO=4&transport=polling").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reference_errors() {
    let server =
        server(|builder| builder.allow_request(|parts| parts.headers.get("x-deny").is_none()));
    let app = &server.app;
    for uri in [
        "/engine.io/?EIO=4",
        "/engine.io/?EIO=4&transport=flashsocket",
        "/engine.io/?EIO=4&transport=",
        "/engine.io/",
    ] {
        assert_error(
            &get_(app, uri).await,
            StatusCode::BAD_REQUEST,
            0,
            "Transport unknown",
        );
    }
    let reply = get_(app, "/engine.io/?EIO=4&transport=polling&sid=nope").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 1, "Session ID unknown");
    let reply = send(app, "POST", "/engine.io/?EIO=4&transport=polling", "4hi").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 2, "Bad handshake method");
    for eio in ["3", "5", "", "four"] {
        let reply = get_(app, &format!("/engine.io/?EIO={eio}&transport=polling")).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            5,
            "Unsupported protocol version",
        );
    }
    let reply = get_(app, "/engine.io/?transport=polling").await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        5,
        "Unsupported protocol version",
    );
    // A WebSocket handshake that is not an upgrade request.
    let reply = get_(app, "/engine.io/?EIO=4&transport=websocket").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 3, "Bad request");
    let request = Request::get("/engine.io/?EIO=4&transport=polling")
        .header("x-deny", "1")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"code":4,"message":"Forbidden"}"#);

    let sid = handshake(app).await;
    let reply = send(
        app,
        "PUT",
        &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        "",
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 3, "Bad request");
    // An upgrade request without the upgrade headers.
    let reply = get_(
        app,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 3, "Bad request");
}

#[tokio::test]
async fn polling_round_trip() {
    let server = server(|builder| builder);
    let app = &server.app;
    let sid = handshake(app).await;
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let reply = send(app, "POST", &uri, "4hello\x1ebAQID\x1e4").await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(reply.content_type.as_deref(), Some("text/html"));
    let reply = get_(app, &uri).await;
    assert_eq!(reply.body, "4hello\x1ebAQID\x1e4");
}

#[tokio::test]
async fn post_over_max_payload_closes_only_its_session() {
    let mut server = server(|builder| builder.max_payload(100));
    let app = server.app.clone();
    let victim = handshake(&app).await;
    let other = handshake(&app).await;
    let victim_uri = format!("/engine.io/?EIO=4&transport=polling&sid={victim}");
    let reply = send(&app, "POST", &victim_uri, format!("4{}", "x".repeat(100))).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        closed(&mut server, &victim).await,
        CloseReason::TransportError(engineio_core::TransportError::PayloadTooLarge)
    );
    let reply = get_(&app, &victim_uri).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, 1, "Session ID unknown");

    let other_uri = format!("/engine.io/?EIO=4&transport=polling&sid={other}");
    let reply = send(&app, "POST", &other_uri, "4still here").await;
    assert_eq!(reply.body, "ok");
    assert_eq!(get_(&app, &other_uri).await.body, "4still here");
}

#[tokio::test]
async fn malformed_bodies_close_with_parse_error() {
    let mut server = server(|builder| builder.max_packets_per_payload(3));
    let app = server.app.clone();
    let bodies: [&[u8]; 6] = [
        b"9",
        b"",
        b"b!!!",
        b"4a\x1e\x1e4b",
        &[b'4', 0xff, 0xfe],
        b"4\x1e4\x1e4\x1e4",
    ];
    for body in bodies {
        let sid = handshake(&app).await;
        let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
        let reply = send(&app, "POST", &uri, body.to_vec()).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, 3, "Bad request");
        assert_eq!(
            closed(&mut server, &sid).await,
            CloseReason::ParseError,
            "{body:?}"
        );
    }
}

#[tokio::test]
async fn second_get_ends_the_session() {
    let mut server = server(|builder| builder);
    let app = server.app.clone();
    let sid = handshake(&app).await;
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    // Whichever GET the session takes first waits; the other overlaps. The waiting one
    // then receives the close packet, and the overlapping one the reference error.
    let (a, b) = tokio::join!(get_(&app, &uri), get_(&app, &uri));
    let (pending, overlap) = if a.status == StatusCode::OK {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(
        (pending.status, pending.body.as_str()),
        (StatusCode::OK, "1")
    );
    assert_error(&overlap, StatusCode::BAD_REQUEST, 3, "Bad request");
    assert!(matches!(
        closed(&mut server, &sid).await,
        CloseReason::TransportError(_)
    ));
}

#[tokio::test]
async fn a_post_while_another_is_read_ends_the_session() {
    let mut server = server(|builder| builder);
    let app = server.app.clone();
    let sid = handshake(&app).await;
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");

    // The first POST's body comes from a channel; the server polling it for the first
    // time says that it is reading that POST.
    let (chunks, mut chunks_rx) = mpsc::unbounded_channel::<&'static str>();
    let (reading, being_read) = tokio::sync::oneshot::channel::<()>();
    let mut reading = Some(reading);
    let body = futures_util::stream::poll_fn(move |cx| {
        if let Some(reading) = reading.take() {
            let _ = reading.send(());
        }
        chunks_rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(Ok::<_, std::convert::Infallible>))
    });
    let first = tokio::spawn({
        let app = app.clone();
        let uri = uri.clone();
        async move { send(&app, "POST", &uri, Body::from_stream(body)).await }
    });
    tokio::time::timeout(Duration::from_secs(5), being_read)
        .await
        .unwrap()
        .unwrap();

    let second = send(&app, "POST", &uri, "4hello").await;
    assert_error(&second, StatusCode::BAD_REQUEST, 3, "Bad request");
    assert!(matches!(
        closed(&mut server, &sid).await,
        CloseReason::TransportError(_)
    ));

    // The first one ends against a closed session.
    chunks.send("4late").unwrap();
    drop(chunks);
    let first = tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status, StatusCode::BAD_REQUEST);
}

#[test]
fn a_server_close_with_no_get_pending_reaches_the_next_get() {
    // On a single-threaded runtime of its own: a driver that never yielded would hold
    // that thread, and this thread would see no answer instead of hanging with it.
    let (done, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = done.send(runtime.block_on(async {
            let (closes, mut closed) = mpsc::unbounded_channel();
            let (layer, engine) = EngineIo::builder().build(Echo(closes)).unwrap();
            let app = Router::new().layer(layer);
            let sid = handshake(&app).await;
            let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
            // The handshake's GET is answered: none is pending when the server closes.
            engine.get(&sid).unwrap().close();
            let (_, reason) = closed.recv().await.unwrap();
            // The session waits for the client's next GET, which gets the close
            // packet; then it is gone.
            let next = get_(&app, &uri).await;
            let after = get_(&app, &uri).await;
            (reason, next, after)
        }));
    });
    let (reason, next, after) = answer
        .recv_timeout(Duration::from_secs(10))
        .expect("the server answers");
    assert_eq!(reason, CloseReason::ForcedClose);
    assert_eq!((next.status, next.body.as_str()), (StatusCode::OK, "1"));
    assert_error(&after, StatusCode::BAD_REQUEST, 1, "Session ID unknown");
}
