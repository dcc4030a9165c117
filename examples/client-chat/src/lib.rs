//! A terminal client for `examples/chat`: it logs in with a name, prints what the others
//! say, who joins, leaves and types, and sends what is typed. It sits in the same room as
//! the browsers on the chat page.
//!
//! On every (re)connection it logs in again, since the chat server forgets a user whose
//! connection dropped.

use serde::Deserialize;
use socketio_client::{ConnectError, Data, Manager, Socket, State};
use tokio::sync::mpsc;

#[derive(Debug, Deserialize)]
struct Count {
    #[serde(rename = "numUsers")]
    num_users: usize,
}

#[derive(Debug, Deserialize)]
struct Presence {
    username: String,
    #[serde(rename = "numUsers")]
    num_users: usize,
}

#[derive(Debug, Deserialize)]
struct Said {
    username: String,
    message: String,
}

#[derive(Debug, Deserialize)]
struct Who {
    username: String,
}

/// Where the client's lines go, and the name to log in with.
#[derive(Debug, Clone)]
struct Chat {
    name: String,
    lines: mpsc::UnboundedSender<String>,
}

impl Chat {
    fn say(&self, line: String) {
        let _ = self.lines.send(line);
    }
}

fn participants(n: usize) -> String {
    if n == 1 {
        "1 participant".to_owned()
    } else {
        format!("{n} participants")
    }
}

/// Joins the chat at `url` as `name`; every line to show goes to `lines`.
///
/// # Errors
///
/// A bad URL, or no connection within the connect timeout.
pub async fn join(
    url: &str,
    name: &str,
    lines: mpsc::UnboundedSender<String>,
) -> Result<Socket, Box<dyn std::error::Error + Send + Sync>> {
    let chat = Chat {
        name: name.to_owned(),
        lines,
    };
    let socket = Manager::new(url)?
        .socket("/")
        .with_state(chat)
        .on(
            "connect",
            |socket: Socket, State(chat): State<Chat>| async move {
                let _ = socket.emit("add user", &chat.name);
            },
        )
        .on(
            "disconnect",
            |Data(reason): Data<String>, State(chat): State<Chat>| async move {
                chat.say(format!("* disconnected ({reason}), reconnecting…"));
            },
        )
        .on(
            "login",
            |Data(count): Data<Count>, State(chat): State<Chat>| async move {
                chat.say(format!(
                    "* Welcome to Socket.IO Chat – there are {}",
                    participants(count.num_users)
                ));
            },
        )
        .on(
            "new message",
            |Data(said): Data<Said>, State(chat): State<Chat>| async move {
                chat.say(format!("{}: {}", said.username, said.message));
            },
        )
        .on(
            "user joined",
            |Data(who): Data<Presence>, State(chat): State<Chat>| async move {
                chat.say(format!(
                    "* {} joined ({})",
                    who.username,
                    participants(who.num_users)
                ));
            },
        )
        .on(
            "user left",
            |Data(who): Data<Presence>, State(chat): State<Chat>| async move {
                chat.say(format!(
                    "* {} left ({})",
                    who.username,
                    participants(who.num_users)
                ));
            },
        )
        .on(
            "typing",
            |Data(who): Data<Who>, State(chat): State<Chat>| async move {
                chat.say(format!("* {} is typing…", who.username));
            },
        )
        .connect()
        .await
        .map_err(|err: ConnectError| Box::new(err))?;
    Ok(socket)
}

/// Sends a message to the others, as the page does (typing, the message, stop typing).
///
/// # Errors
///
/// When the offline buffer is full.
pub fn send(socket: &Socket, text: &str) -> Result<(), socketio_client::EmitError> {
    socket.volatile().emit("typing", &())?;
    socket.emit("new message", &text)?;
    socket.volatile().emit("stop typing", &())
}
