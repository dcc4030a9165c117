//! Events as streams: a socket's ([`Socket::events`](crate::Socket::events)) and a
//! Manager's ([`Manager::events`](crate::Manager::events)).

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytestring::ByteString;
use futures_util::Stream;
use socketio_core::Args;
use tokio::sync::{broadcast, mpsc};

use crate::{AckSender, ConnectError, DisconnectReason};

/// Something that happened to a socket.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SocketEvent {
    /// The socket joined its namespace.
    Connect,
    /// The socket left its namespace.
    Disconnect(DisconnectReason),
    /// Joining failed: the server refused (final), or the connection failed (the
    /// Manager keeps trying, then [`ConnectError::Refused`] does not apply).
    ConnectError(ConnectError),
    /// The server emitted an event.
    Event {
        /// The event name.
        event: ByteString,
        /// Its arguments.
        args: Args,
        /// The acknowledgement to answer, when the server asked for one.
        ack: Option<AckSender>,
    },
}

/// A stream of [`SocketEvent`]s; also readable with [`EventStream::recv`].
///
/// ```no_run
/// use socketio_client::{Manager, SocketEvent};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let socket = Manager::new("http://localhost:3000")?.socket("/").build();
/// let mut events = socket.events();
/// socket.connect();
/// while let Some(event) = events.recv().await {
///     match event {
///         SocketEvent::Event { event, args, ack } => {
///             println!("{} with {} arguments", &*event, args.len());
///             if let Some(ack) = ack {
///                 ack.send(&"got it")?;
///             }
///         }
///         SocketEvent::Disconnect(reason) => println!("disconnected: {reason}"),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<SocketEvent>,
}

impl EventStream {
    pub(crate) fn new(rx: mpsc::Receiver<SocketEvent>) -> Self {
        Self { rx }
    }

    /// The next event; `None` once the socket and its Manager are gone.
    pub async fn recv(&mut self) -> Option<SocketEvent> {
        self.rx.recv().await
    }
}

impl Stream for EventStream {
    type Item = SocketEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SocketEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// Something that happened to a Manager's connection, in the official client's order:
/// on a reconnection attempt `ReconnectAttempt`, then `Open` and `Reconnect` on success,
/// or `Error`, then `ReconnectError` (or `ReconnectFailed` first, after the last
/// attempt) on failure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagerEvent {
    /// The Engine.IO connection opened.
    Open,
    /// The server pinged.
    Ping,
    /// The connection moved from long-polling to WebSocket (the engine's `upgrade`).
    Upgrade,
    /// Opening the connection failed (the message says why, e.g. "timeout").
    Error(String),
    /// The connection closed.
    Close(DisconnectReason),
    /// A reconnection attempt starts (its number, from 1).
    ReconnectAttempt(u32),
    /// A reconnection attempt failed.
    ReconnectError(String),
    /// A reconnection succeeded after that many attempts.
    Reconnect(u32),
    /// The last allowed attempt failed: no more attempts.
    ReconnectFailed,
}

/// A stream of [`ManagerEvent`]s from the moment it was made; also readable with
/// [`ManagerEvents::recv`]. A subscriber more than 1,024 events behind misses the
/// oldest ones.
pub struct ManagerEvents {
    inner: Pin<Box<dyn Stream<Item = ManagerEvent> + Send>>,
}

impl std::fmt::Debug for ManagerEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagerEvents").finish_non_exhaustive()
    }
}

impl ManagerEvents {
    pub(crate) fn new(rx: broadcast::Receiver<ManagerEvent>) -> Self {
        let inner = futures_util::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(event) => return Some((event, rx)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "manager events missed");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Self {
            inner: Box::pin(inner),
        }
    }

    /// The next event; `None` once the Manager is gone.
    pub async fn recv(&mut self) -> Option<ManagerEvent> {
        futures_util::StreamExt::next(&mut self.inner).await
    }
}

impl Stream for ManagerEvents {
    type Item = ManagerEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ManagerEvent>> {
        self.inner.as_mut().poll_next(cx)
    }
}
