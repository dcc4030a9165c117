//! The classic Socket.IO chat: nicknames, messages, join and leave notices, "is typing".
//!
//! axum serves the page (`static/`) and the official `socket.io-client` browser bundle
//! (installed from npm into `node_modules/` by `npm ci`); the layer serves Socket.IO.
//!
//! Events from the page: `add user` (name), `new message` (text), `typing`,
//! `stop typing`. Events to the page: `login` `{numUsers}`, `new message`
//! `{username, message}`, `user joined` / `user left` `{username, numUsers}`,
//! `typing` / `stop typing` `{username}`.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::Router;
use serde::Serialize;
use socketio_server::{Data, Namespace, Socket, SocketIo, SocketIoLayer, State};
use tower_http::services::{ServeDir, ServeFile};

/// The folder of the example: `static/` and `node_modules/` are found there.
pub fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How many people are logged in.
#[derive(Debug, Clone, Default)]
struct Users(Arc<AtomicUsize>);

/// A logged-in socket's name, stored on the socket.
#[derive(Debug, Clone)]
struct Username(String);

#[derive(Serialize)]
struct Count {
    #[serde(rename = "numUsers")]
    num_users: usize,
}

#[derive(Serialize)]
struct Presence<'a> {
    username: &'a str,
    #[serde(rename = "numUsers")]
    num_users: usize,
}

#[derive(Serialize)]
struct Said<'a> {
    username: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct Who<'a> {
    username: &'a str,
}

/// Emits to every socket of `/` but `socket`.
fn to_others<T: Serialize + ?Sized>(socket: &Socket, event: &str, data: &T) {
    for other in socket.io().sockets("/") {
        if other.id() != socket.id() {
            let _ = other.emit(event, data);
        }
    }
}

fn chat() -> Namespace {
    Namespace::<Users>::default()
        .on(
            "add user",
            |socket: Socket, Data(name): Data<String>, State(users): State<Users>| async move {
                if socket.extension::<Username>().is_some() {
                    return;
                }
                socket.insert_extension(Username(name.clone()));
                let num_users = users.0.fetch_add(1, Ordering::Relaxed) + 1;
                let _ = socket.emit("login", &Count { num_users });
                to_others(
                    &socket,
                    "user joined",
                    &Presence {
                        username: &name,
                        num_users,
                    },
                );
            },
        )
        .on(
            "new message",
            |socket: Socket, Data(message): Data<String>| async move {
                if let Some(Username(username)) = socket.extension() {
                    to_others(
                        &socket,
                        "new message",
                        &Said {
                            username: &username,
                            message: &message,
                        },
                    );
                }
            },
        )
        .on("typing", |socket: Socket| async move {
            if let Some(Username(username)) = socket.extension() {
                to_others(
                    &socket,
                    "typing",
                    &Who {
                        username: &username,
                    },
                );
            }
        })
        .on("stop typing", |socket: Socket| async move {
            if let Some(Username(username)) = socket.extension() {
                to_others(
                    &socket,
                    "stop typing",
                    &Who {
                        username: &username,
                    },
                );
            }
        })
        .on_disconnect(|socket: Socket, State(users): State<Users>| async move {
            if let Some(Username(username)) = socket.extension() {
                let num_users = users.0.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
                to_others(
                    &socket,
                    "user left",
                    &Presence {
                        username: &username,
                        num_users,
                    },
                );
            }
        })
        .with_state(Users::default())
}

/// The chat app: the page from `dir/static`, the browser client from
/// `dir/node_modules`, and Socket.IO.
pub fn app(dir: &Path) -> (Router, SocketIo) {
    let (layer, io) = SocketIoLayer::new();
    io.ns("/", chat());
    let bundle = dir.join("node_modules/socket.io-client/dist/socket.io.min.js");
    let app = Router::new()
        .route_service("/socket.io.min.js", ServeFile::new(bundle))
        .fallback_service(ServeDir::new(dir.join("static")))
        .layer(layer);
    (app, io)
}
