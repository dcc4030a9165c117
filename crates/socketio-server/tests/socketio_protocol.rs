//! The Socket.IO server driven over a real WebSocket by a scripted peer that speaks the
//! wire protocol, for what the official client never sends: malformed packets, silence,
//! and the edges of acks, extractors and shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use futures_util::StreamExt;
use serde_json::Value as Json;
use socketio_server::{
    AckError, Data, DisconnectReason, Event, Namespace, Rejection, Socket, SocketIo,
    SocketIoBuilder,
};
use support::{Peer, WAIT};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Ws;

struct Server {
    addr: SocketAddr,
    io: SocketIo,
    disconnects: mpsc::UnboundedReceiver<(String, DisconnectReason)>,
    /// Disconnects seen while waiting for another socket's.
    seen: Vec<(String, DisconnectReason)>,
}

impl Server {
    async fn start(configure: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder) -> Self {
        Self::with(configure, |ns| ns).await
    }

    async fn with(
        configure: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder,
        handlers: impl FnOnce(Namespace) -> Namespace,
    ) -> Self {
        let (layer, io) = configure(SocketIo::builder()).build().unwrap();
        let (tx, disconnects) = mpsc::unbounded_channel();
        let ns = Namespace::new()
            .on(
                "echo",
                |socket: Socket, Data(value): Data<Json>| async move {
                    socket.emit("echo", &value).unwrap();
                },
            )
            .on(
                "echo-args",
                |socket: Socket, args: socketio_server::Args| async move {
                    socket.emit_args("echo-args", args).unwrap();
                },
            )
            .on_disconnect(move |socket: Socket, reason: DisconnectReason| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((socket.id().to_owned(), reason));
                }
            });
        io.ns("/", handlers(ns));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, axum::Router::new().layer(layer)).await });
        Self {
            addr,
            io,
            disconnects,
            seen: Vec::new(),
        }
    }

    /// The reason `id` disconnected for, whatever the order sockets disconnect in.
    async fn disconnected(&mut self, id: &str) -> DisconnectReason {
        if let Some(at) = self.seen.iter().position(|(socket, _)| socket == id) {
            return self.seen.remove(at).1;
        }
        tokio::time::timeout(WAIT, async {
            loop {
                let (socket, reason) = self.disconnects.recv().await.unwrap();
                if socket == id {
                    return reason;
                }
                self.seen.push((socket, reason));
            }
        })
        .await
        .expect("no disconnect")
    }
}

async fn echo_still_works(peer: &mut Peer) {
    peer.send(r#"42["echo","still here"]"#).await;
    assert_eq!(peer.recv().await, r#"42["echo","still here"]"#);
}

#[tokio::test]
async fn malformed_packets_close_only_their_connection_with_parse_error() {
    let mut server = Server::start(|builder| builder).await;
    let (mut bystander, _) = Peer::join(server.addr).await;
    let attachments_over_limit = format!(r#"4511-["x",{}]"#, r#"{"_placeholder":true,"num":0}"#);
    for bad in [
        "42{}",
        r#"42abc["x"]"#,
        r#"42["connect"]"#,
        "42[]",
        r#"42/other,["x"]"#,
        r#"43/other,1[]"#,
        attachments_over_limit.as_str(),
        "9",
        "",
    ] {
        let (mut peer, id) = Peer::join(server.addr).await;
        peer.send(bad).await;
        assert_eq!(
            server.disconnected(&id).await,
            DisconnectReason::ParseError,
            "{bad:?}"
        );
        peer.closed().await;
        echo_still_works(&mut bystander).await;
    }
}

#[tokio::test]
async fn an_unexpected_binary_message_is_a_parse_error() {
    let mut server = Server::start(|builder| builder).await;
    let (mut peer, id) = Peer::join(server.addr).await;
    peer.send_binary(&[1, 2, 3]).await;
    assert_eq!(server.disconnected(&id).await, DisconnectReason::ParseError);
    peer.closed().await;
}

#[tokio::test]
async fn binary_events_are_reassembled() {
    let server = Server::start(|builder| builder).await;
    let (mut peer, _) = Peer::join(server.addr).await;
    peer.send(r#"451-["echo-args",{"_placeholder":true,"num":0}]"#)
        .await;
    peer.send_binary(&[7, 8]).await;
    assert_eq!(
        peer.recv().await,
        r#"451-["echo-args",{"_placeholder":true,"num":0}]"#
    );
    match tokio::time::timeout(WAIT, peer.ws.next()).await {
        Ok(Some(Ok(Ws::Binary(data)))) => assert_eq!(&data[..], [7, 8]),
        other => panic!("expected the attachment, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_namespace_gets_invalid_namespace() {
    let server = Server::start(|builder| builder).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40/nope,").await;
    assert_eq!(
        peer.recv().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    // The connection is still usable for a namespace that exists.
    peer.send("40").await;
    assert!(peer.recv().await.starts_with("40{\"sid\":"));
}

#[tokio::test]
async fn connect_timeout_closes_a_connection_that_joins_nothing() {
    let server = Server::start(|builder| builder.connect_timeout(Duration::from_millis(200))).await;
    let mut idle = Peer::open(server.addr).await;
    let (mut joined, _) = Peer::join(server.addr).await;
    idle.closed().await;
    echo_still_works(&mut joined).await;
}

#[tokio::test]
async fn close_disconnects_everyone_with_server_shutting_down() {
    let mut server = Server::start(|builder| builder).await;
    let (mut a, a_id) = Peer::join(server.addr).await;
    let (mut b, b_id) = Peer::join(server.addr).await;
    server.io.close();
    assert_eq!(
        server.disconnected(&a_id).await,
        DisconnectReason::ServerShuttingDown
    );
    assert_eq!(
        server.disconnected(&b_id).await,
        DisconnectReason::ServerShuttingDown
    );
    a.closed().await;
    b.closed().await;
}

#[tokio::test]
async fn client_namespace_disconnect_and_server_disconnect() {
    let mut server = Server::start(|builder| builder).await;
    let (mut peer, id) = Peer::join(server.addr).await;
    peer.send("41").await;
    assert_eq!(
        server.disconnected(&id).await,
        DisconnectReason::ClientNamespaceDisconnect
    );

    peer.send("40").await;
    let reply = peer.recv().await;
    let id: String = serde_json::from_str::<Json>(&reply[2..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let socket = server
        .io
        .sockets("/")
        .into_iter()
        .find(|s| s.id() == id)
        .unwrap();
    socket.disconnect().unwrap();
    assert_eq!(peer.recv().await, "41");
    assert_eq!(
        server.disconnected(&id).await,
        DisconnectReason::ServerNamespaceDisconnect
    );
    assert!(!socket.connected());
    assert!(socket.emit("late", &()).is_err());
}

#[tokio::test]
async fn acks_from_the_client_resolve_and_time_out_without_leaking() {
    let server = Server::start(|builder| builder.ack_timeout(Duration::from_millis(300))).await;
    let (mut peer, id) = Peer::join(server.addr).await;
    let socket = server
        .io
        .sockets("/")
        .into_iter()
        .find(|s| s.id() == id)
        .unwrap();

    let answered = tokio::spawn({
        let socket = socket.clone();
        async move {
            socket
                .emit_with_ack::<_, (String, u32)>("question", &"why")
                .await
        }
    });
    assert_eq!(peer.recv().await, r#"420["question","why"]"#);
    peer.send(r#"430["because",42]"#).await;
    let (text, n) = answered.await.unwrap().unwrap();
    assert_eq!((text.as_str(), n), ("because", 42));

    let silent = socket.emit_with_ack::<_, Json>("question", &"again");
    assert_eq!(peer.recv().await, r#"421["question","again"]"#);
    assert!(matches!(silent.await, Err(AckError::Timeout)));
    assert_eq!(socket.pending_acks(), 0);
    // A late answer is ignored.
    peer.send(r#"431["late"]"#).await;
    echo_still_works(&mut peer).await;
}

#[tokio::test]
async fn acks_fail_when_the_socket_disconnects() {
    let server = Server::start(|builder| builder).await;
    let (mut peer, id) = Peer::join(server.addr).await;
    let socket = server
        .io
        .sockets("/")
        .into_iter()
        .find(|s| s.id() == id)
        .unwrap();
    let waiting = socket.emit_with_ack::<_, Json>("question", &());
    assert_eq!(peer.recv().await, r#"420["question"]"#);
    peer.send("41").await;
    assert!(matches!(waiting.await, Err(AckError::Disconnected)));
    assert_eq!(socket.pending_acks(), 0);
}

#[tokio::test]
async fn a_failed_extraction_is_reported_and_the_session_carries_on() {
    let (errors_tx, mut errors) = mpsc::unbounded_channel();
    let server = Server::with(
        move |builder| {
            builder.on_error(
                move |_socket: &Socket, event: &str, rejection: &Rejection| {
                    let _ = errors_tx.send((event.to_owned(), rejection.to_string()));
                },
            )
        },
        |ns| {
            ns.on("number", |socket: Socket, Data(n): Data<u32>| async move {
                socket.emit("number", &n).unwrap();
            })
        },
    )
    .await;
    let (mut peer, _) = Peer::join(server.addr).await;
    peer.send(r#"42["number","not a number"]"#).await;
    let (event, rejection) = tokio::time::timeout(WAIT, errors.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event, "number");
    assert!(rejection.contains("do not fit"), "{rejection}");
    peer.send(r#"42["number",7]"#).await;
    assert_eq!(peer.recv().await, r#"42["number",7]"#);
}

#[tokio::test]
async fn catch_all_listeners_see_incoming_and_outgoing_events_in_order() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<String>();
    let incoming = seen_tx.clone();
    let outgoing = seen_tx;
    let server = Server::with(
        |builder| builder,
        move |ns| {
            ns.on_any(move |Event(name): Event| {
                let incoming = incoming.clone();
                async move {
                    let _ = incoming.send(format!("in {name}"));
                }
            })
            .on_any_outgoing(
                move |_socket: &Socket, event: &str, _args: &socketio_server::Args| {
                    let _ = outgoing.send(format!("out {event}"));
                },
            )
        },
    )
    .await;
    let (mut peer, _) = Peer::join(server.addr).await;
    for n in 0..5 {
        peer.send(&format!(r#"42["echo",{n}]"#)).await;
        assert_eq!(peer.recv().await, format!(r#"42["echo",{n}]"#));
    }
    let mut order = Vec::new();
    while order.len() < 10 {
        order.push(
            tokio::time::timeout(WAIT, seen.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(order.iter().filter(|line| *line == "in echo").count(), 5);
    assert_eq!(order.iter().filter(|line| *line == "out echo").count(), 5);
}

#[tokio::test]
async fn events_reach_handlers_in_arrival_order() {
    let (order_tx, mut order) = mpsc::unbounded_channel();
    let order_tx = Arc::new(order_tx);
    let server = Server::with(
        |builder| builder,
        move |ns| {
            ns.on("seq", move |Data(n): Data<u32>| {
                // The send happens when the handler starts, before any await.
                let _ = order_tx.send(n);
                async {}
            })
        },
    )
    .await;
    let (mut peer, _) = Peer::join(server.addr).await;
    for n in 0..200 {
        peer.send(&format!(r#"42["seq",{n}]"#)).await;
    }
    for n in 0..200 {
        assert_eq!(
            tokio::time::timeout(WAIT, order.recv()).await.unwrap(),
            Some(n)
        );
    }
}

#[tokio::test]
async fn rooms_are_visible_while_disconnecting_and_gone_after() {
    let (rooms_tx, mut rooms) = mpsc::unbounded_channel();
    let server = Server::with(
        |builder| builder,
        move |ns| {
            ns.on(
                "join",
                |socket: Socket, Data(room): Data<String>| async move {
                    socket.join(room);
                    socket.emit("joined", &()).unwrap();
                },
            )
            .on_disconnecting(
                move |socket: Socket, socketio_server::Rooms(before): socketio_server::Rooms| {
                    let rooms_tx = rooms_tx.clone();
                    async move {
                        let _ = rooms_tx.send((before, socket.rooms()));
                    }
                },
            )
        },
    )
    .await;
    let (mut peer, id) = Peer::join(server.addr).await;
    peer.send(r#"42["join","lobby"]"#).await;
    assert_eq!(peer.recv().await, r#"42["joined"]"#);
    assert_eq!(server.io.to("lobby").sockets().len(), 1);
    peer.send("41").await;
    let (mut before, after) = tokio::time::timeout(WAIT, rooms.recv())
        .await
        .unwrap()
        .unwrap();
    before.sort();
    let mut expected = [
        socketio_server::Room::from(id.as_str()),
        socketio_server::Room::from("lobby"),
    ];
    expected.sort();
    assert_eq!(before, expected);
    assert!(after.is_empty());
    assert!(server.io.to("lobby").sockets().is_empty());
}

#[tokio::test]
async fn socket_operators_leave_out_the_sender_and_selection_operators_move_sockets() {
    let server = Server::with(
        |builder| builder,
        |ns| {
            ns.on(
                "join",
                |socket: Socket, Data(room): Data<String>| async move {
                    socket.join(room);
                    socket.emit("joined", &()).unwrap();
                },
            )
            .on("shout", |socket: Socket| async move {
                socket.broadcast().emit("shout", &socket.id()).unwrap();
            })
            .on("to-lobby", |socket: Socket| async move {
                socket.to("lobby").emit("to-lobby", &()).unwrap();
            })
        },
    )
    .await;
    let (mut a, a_id) = Peer::join(server.addr).await;
    let (mut b, _) = Peer::join(server.addr).await;
    let (mut c, c_id) = Peer::join(server.addr).await;
    for peer in [&mut a, &mut c] {
        peer.send(r#"42["join","lobby"]"#).await;
        assert_eq!(peer.recv().await, r#"42["joined"]"#);
    }
    // a's broadcast reaches b and c, not a; a's "to lobby" reaches c only.
    a.send(r#"42["shout"]"#).await;
    a.send(r#"42["to-lobby"]"#).await;
    assert_eq!(b.recv().await, format!(r#"42["shout","{a_id}"]"#));
    assert_eq!(c.recv().await, format!(r#"42["shout","{a_id}"]"#));
    assert_eq!(c.recv().await, r#"42["to-lobby"]"#);
    echo_still_works(&mut a).await;
    echo_still_works(&mut b).await;

    // Selection operators: move the lobby into "stage", then disconnect the stage but c.
    server.io.to("lobby").join("stage").await.unwrap();
    assert_eq!(server.io.to("stage").sockets().len(), 2);
    assert_eq!(server.io.to("stage").local().sockets().len(), 2);
    let fetched = server.io.to("stage").fetch_sockets().await.unwrap();
    assert!(
        fetched
            .iter()
            .all(|info| info.rooms.contains(&socketio_server::Room::from("stage")))
    );
    server
        .io
        .to("stage")
        .except(c_id.as_str())
        .disconnect()
        .await
        .unwrap();
    assert_eq!(a.recv().await, "41");
    assert_eq!(server.io.to("stage").sockets().len(), 1);
    server.io.to("stage").leave("stage").await.unwrap();
    assert!(server.io.to("stage").sockets().is_empty());
    echo_still_works(&mut c).await;
}

#[tokio::test]
async fn a_predicate_mounts_dynamic_namespaces() {
    let server = Server::start(|builder| builder).await;
    server.io.dyn_ns(
        |name| name.starts_with("/tenant-"),
        Namespace::new().on(
            "echo",
            |socket: Socket, Data(value): Data<Json>| async move {
                socket.emit("echo", &(socket.ns(), value)).unwrap();
            },
        ),
    );
    assert!(server.io.of("/tenant-7").is_none());
    let mut peer = Peer::open(server.addr).await;
    peer.send("40/tenant-7,").await;
    assert!(
        peer.recv().await.starts_with(r#"40/tenant-7,{"sid":"#),
        "the predicate admits the name"
    );
    peer.send(r#"42/tenant-7,["echo",1]"#).await;
    assert_eq!(peer.recv().await, r#"42/tenant-7,["echo","/tenant-7",1]"#);
    // The namespace exists from its first connection on, with its own sockets.
    let tenant = server.io.of("/tenant-7").unwrap();
    assert_eq!(tenant.sockets().len(), 1);
    // A name the predicate refuses is an unknown namespace.
    peer.send("40/other,").await;
    assert_eq!(
        peer.recv().await,
        r#"44/other,{"message":"Invalid namespace"}"#
    );
}
