//! Two terminal clients on the chat example's server: one sees the other join, type and
//! speak.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tokio::sync::mpsc;

async fn expect(lines: &mut mpsc::UnboundedReceiver<String>, wanted: &str) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let line = lines.recv().await.expect("the client stopped");
            if line == wanted {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no line {wanted:?}"));
}

#[tokio::test]
async fn two_terminals_chat() {
    let (app, _io) = example_chat::app(&example_chat::example_dir());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (alice_tx, mut alice) = mpsc::unbounded_channel();
    let alice_socket = example_client_chat::join(&url, "alice", alice_tx)
        .await
        .unwrap();
    expect(
        &mut alice,
        "* Welcome to Socket.IO Chat – there are 1 participant",
    )
    .await;
    let (bob_tx, mut bob) = mpsc::unbounded_channel();
    let bob_socket = example_client_chat::join(&url, "bob", bob_tx)
        .await
        .unwrap();
    expect(
        &mut bob,
        "* Welcome to Socket.IO Chat – there are 2 participants",
    )
    .await;
    expect(&mut alice, "* bob joined (2 participants)").await;

    example_client_chat::send(&alice_socket, "hello bob").unwrap();
    expect(&mut bob, "* alice is typing…").await;
    expect(&mut bob, "alice: hello bob").await;

    bob_socket.disconnect();
    expect(&mut alice, "* bob left (1 participant)").await;
}
