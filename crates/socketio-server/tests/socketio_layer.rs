//! The Socket.IO layer through `tower::ServiceExt::oneshot`: its path, the app's routes
//! beside it, and a namespace CONNECT over long-polling.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use axum::{Router, body::Body, routing::get};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use socketio_server::{Namespace, Socket, SocketIoLayer};
use tower::ServiceExt;

async fn call(app: &Router, method: &str, uri: &str, body: &'static str) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn the_layer_serves_its_path_and_leaves_the_rest_to_the_app() {
    let (layer, io) = SocketIoLayer::new();
    io.ns(
        "/",
        Namespace::new().on_connect(|socket: Socket| async move {
            socket.emit("hello", &"world").unwrap();
        }),
    );
    let app = Router::new()
        .route("/", get(|| async { "the app" }))
        .layer(layer);

    assert_eq!(
        call(&app, "GET", "/", "").await,
        (StatusCode::OK, "the app".to_owned())
    );
    assert_eq!(
        call(&app, "GET", "/engine.io/?EIO=4&transport=polling", "")
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let (status, open) = call(&app, "GET", "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, StatusCode::OK);
    let handshake: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let sid = handshake["sid"].as_str().unwrap().to_owned();
    let uri = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");

    assert_eq!(
        call(&app, "POST", &uri, "40").await,
        (StatusCode::OK, "ok".to_owned())
    );
    let (_, reply) = call(&app, "GET", &uri, "").await;
    let mut packets = reply.split('\x1e');
    let connect = packets.next().unwrap();
    assert!(connect.starts_with("40{\"sid\":\""), "{reply}");
    let hello = match packets.next() {
        Some(hello) => hello.to_owned(),
        None => call(&app, "GET", &uri, "").await.1,
    };
    assert_eq!(hello, r#"42["hello","world"]"#);
    assert_eq!(io.sockets("/").len(), 1);
}

/// An application that keeps only the layer (it never emits from outside a handler)
/// still serves: the layer keeps the server alive.
#[tokio::test]
async fn a_server_whose_handle_is_dropped_still_serves() {
    let app = {
        let (layer, io) = SocketIoLayer::new();
        io.ns(
            "/",
            Namespace::new().on_connect(|socket: Socket| async move {
                socket.emit("hello", &"world").unwrap();
            }),
        );
        Router::new().layer(layer)
    };
    let (status, open) = call(&app, "GET", "/socket.io/?EIO=4&transport=polling", "").await;
    assert_eq!(status, StatusCode::OK);
    let handshake: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let uri = format!(
        "/socket.io/?EIO=4&transport=polling&sid={}",
        handshake["sid"].as_str().unwrap()
    );
    assert_eq!(
        call(&app, "POST", &uri, "40").await,
        (StatusCode::OK, "ok".to_owned())
    );
    let (_, reply) = call(&app, "GET", &uri, "").await;
    assert!(reply.starts_with("40{\"sid\":\""), "{reply}");
    assert!(reply.contains("42[\"hello\",\"world\"]"), "{reply}");
}
