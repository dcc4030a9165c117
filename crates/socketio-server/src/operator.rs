//! Broadcast operators: pick sockets by rooms, then emit to them, wait for their
//! acknowledgements, fetch, move or disconnect them.

use std::{
    fmt,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytestring::ByteString;
use futures_util::{Stream, StreamExt, stream::FuturesUnordered};
use serde::Serialize;
use socketio_core::{Args, Packet};

use crate::{
    AckError, EmitError, Socket,
    adapter::{BroadcastOptions, Room, SocketInfo},
    handler::BoxFuture,
    io::IoInner,
    namespace::NamespaceInner,
};

/// Something that names one or several rooms: a `&str`, a `String`, a [`Room`], or a
/// list (`Vec`, array, slice) of them.
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for Room {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl<T: IntoRooms> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms + Clone, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms + Clone> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter()
            .cloned()
            .flat_map(IntoRooms::into_rooms)
            .collect()
    }
}

/// A selection of sockets of one namespace, and how to send to them. Made by
/// [`Socket::to`], [`Socket::broadcast`], [`SocketIo::to`](crate::SocketIo::to),
/// [`NamespaceHandle::to`](crate::NamespaceHandle::to) and their siblings; cheap to
/// build, used once.
///
/// ```no_run
/// # fn demo(socket: socketio_server::Socket) {
/// // Everyone in "lobby" or "game-1", each once, but the sender and the "muted" room.
/// let _ = socket.to(["lobby", "game-1"]).except("muted").emit("news", &"hello");
/// # }
/// ```
#[must_use]
pub struct BroadcastOperator {
    pub(crate) ns: Arc<NamespaceInner>,
    pub(crate) io: Arc<IoInner>,
    pub(crate) opts: BroadcastOptions,
}

impl fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("ns", &self.ns.name)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NamespaceInner>, io: Arc<IoInner>) -> Self {
        Self {
            ns,
            io,
            opts: BroadcastOptions::default(),
        }
    }

    /// Selects the sockets in these rooms (added to the rooms already selected).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.rooms.extend(rooms.into_rooms());
        self
    }

    /// The same as [`to`](Self::to).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in these rooms.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.opts.except.extend(rooms.into_rooms());
        self
    }

    /// Only the sockets of this server process.
    pub fn local(mut self) -> Self {
        self.opts.local = true;
        self
    }

    /// The packet may be dropped for a socket that still has unsent packets queued;
    /// drops are counted in [`SocketIo::volatile_drops`](crate::SocketIo::volatile_drops).
    pub fn volatile(mut self) -> Self {
        self.opts.volatile = true;
        self
    }

    /// How long [`emit_with_ack`](Self::emit_with_ack) waits for each socket.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.timeout = Some(timeout);
        self
    }

    /// The local sockets selected.
    pub fn sockets(&self) -> Vec<Socket> {
        let mut sockets = Vec::new();
        self.ns
            .each_target(self.io.adapter.as_ref(), &self.opts, |socket| {
                sockets.push(socket.clone());
            });
        sockets
    }

    /// The sockets selected on every node: this one's, then the others' (through the
    /// adapter).
    pub async fn fetch_sockets(&self) -> Result<Vec<SocketInfo>, crate::adapter::AdapterError> {
        let mut found: Vec<SocketInfo> = self.sockets().iter().map(Socket::info).collect();
        if !self.opts.local {
            found.extend(
                self.io
                    .adapter
                    .fetch_sockets(&self.ns.name, &self.opts)
                    .await?,
            );
        }
        Ok(found)
    }

    /// Emits an event to the selected sockets. The packet is encoded once and shared by
    /// every receiver. A socket whose queue is full misses it (counted in the returned
    /// report), as does, for a volatile emit, a socket that is not ready.
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, args: &T) -> Result<Delivery, EmitError> {
        let args = Args::from_serialize(args)?;
        self.emit_args(event, args)
    }

    /// [`emit`](Self::emit) with arguments as they are.
    ///
    /// With connection state recovery on and an adapter whose cluster keeps broadcasts
    /// in a shared log ([`Adapter::publish_stored`](crate::adapter::Adapter::publish_stored)),
    /// this node's sockets get the packet once the log has given it its offset, in the
    /// order the broadcasts were made; the report is then [`Delivery::deferred`].
    pub fn emit_args(self, event: &str, args: Args) -> Result<Delivery, EmitError> {
        if !self.opts.local && !self.opts.volatile && self.io.config.recovery.is_some() {
            if let Some(publish) =
                self.io
                    .adapter
                    .publish_stored(&self.ns.name, event, &args, &self.opts)
            {
                let event = ByteString::from(event);
                let ns = Arc::clone(&self.ns);
                ns.deliver_in_order(Box::pin(async move {
                    let offset = publish.await.map_err(|err| {
                        tracing::warn!(%err, "broadcast not stored: delivered here without an offset");
                    });
                    if let Err(err) = self.deliver_at(&event, args, offset.ok().as_deref()) {
                        tracing::warn!(%err, "broadcast not delivered");
                    }
                }));
                return Ok(Delivery {
                    deferred: true,
                    ..Delivery::default()
                });
            }
        }
        let delivery = self.deliver(event, args.clone())?;
        if !self.opts.local {
            let publish = self
                .io
                .adapter
                .broadcast(&self.ns.name, event, &args, &self.opts);
            tokio::spawn(async move {
                if let Err(err) = publish.await {
                    tracing::warn!(%err, "broadcast not sent to the other nodes");
                }
            });
        }
        Ok(delivery)
    }

    /// Delivers to the local sockets only, with an offset from the adapter's
    /// [`store_packet`](crate::adapter::Adapter::store_packet) when recovery keeps it.
    pub(crate) fn deliver(&self, event: &str, args: Args) -> Result<Delivery, EmitError> {
        let offset = if self.io.config.recovery.is_some() && !self.opts.volatile {
            self.io
                .adapter
                .store_packet(&self.ns.name, event, &args, &self.opts)
        } else {
            None
        };
        self.deliver_at(event, args, offset.as_deref())
    }

    /// Delivers to the local sockets only, `offset` appended as the last argument.
    pub(crate) fn deliver_at(
        &self,
        event: &str,
        mut args: Args,
        offset: Option<&str>,
    ) -> Result<Delivery, EmitError> {
        if let Some(offset) = offset {
            args = crate::adapter::append_offset(args, offset)?;
        }
        let packet = Packet::event(self.ns.name.clone(), event, args, None);
        let encoded = self.io.parser.encode(&packet)?;
        let mut delivery = Delivery::default();
        self.ns
            .each_target(self.io.adapter.as_ref(), &self.opts, |socket| {
                if self.opts.volatile && !socket.is_ready() {
                    delivery.dropped += 1;
                    self.io.count_volatile_drop();
                    return;
                }
                match socket.send_encoded(&encoded) {
                    Ok(()) => delivery.sent += 1,
                    Err(err) => {
                        tracing::debug!(socket = %socket.id(), %err, "broadcast not queued");
                        delivery.failed += 1;
                    }
                }
            });
        Ok(delivery)
    }

    /// Emits an event to the selected sockets and gathers each one's acknowledgement as
    /// it comes, as a stream of [`Ack`]s: one per local socket (with
    /// `AckError::Timeout` for those that did not answer within the operator's timeout,
    /// or the server's ack timeout), then those the other nodes forward. Nothing stays
    /// pending once the stream ends or is dropped.
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        self,
        event: &str,
        args: &T,
    ) -> Result<AckStream, EmitError> {
        let args = Args::from_serialize(args)?;
        self.emit_args_with_ack(event, args)
    }

    /// [`emit_with_ack`](Self::emit_with_ack) with arguments as they are.
    pub fn emit_args_with_ack(self, event: &str, args: Args) -> Result<AckStream, EmitError> {
        let timeout = self.opts.timeout.unwrap_or(self.io.config.ack_timeout);
        let id = self.ns.next_ack_id();
        let packet = Packet::event(self.ns.name.clone(), event, args.clone(), Some(id));
        let encoded = self.io.parser.encode(&packet)?;
        let local = FuturesUnordered::new();
        self.ns
            .each_target(self.io.adapter.as_ref(), &self.opts, |socket| {
                let answer = socket.send_encoded_with_ack(id, &encoded, timeout);
                let socket = Some(ByteString::from(socket.id()));
                local.push(Box::pin(async move {
                    Ack {
                        socket,
                        answer: answer.await,
                    }
                }) as BoxFuture<Ack>);
            });
        if self.opts.local {
            return Ok(AckStream {
                inner: Box::pin(local),
            });
        }
        let request = self
            .io
            .adapter
            .broadcast_with_ack(&self.ns.name, event, &args, &self.opts);
        let remote = futures_util::stream::once(request)
            .flat_map(|result| match result {
                Ok(remote) => remote.acks.take(remote.expected).boxed(),
                Err(err) => {
                    tracing::warn!(%err, "acknowledgements from the other nodes not gathered");
                    futures_util::stream::empty().boxed()
                }
            })
            .map(|args| Ack {
                socket: None,
                answer: Ok(args),
            })
            .take_until(tokio::time::sleep(timeout));
        Ok(AckStream {
            inner: Box::pin(futures_util::stream::select(local, remote)),
        })
    }

    /// Makes the selected sockets join rooms, on every node.
    pub async fn join(self, rooms: impl IntoRooms) -> Result<(), crate::adapter::AdapterError> {
        let rooms = rooms.into_rooms();
        for socket in self.sockets() {
            socket.join(rooms.clone());
        }
        if self.opts.local {
            return Ok(());
        }
        self.io
            .adapter
            .add_sockets(&self.ns.name, &self.opts, &rooms)
            .await
    }

    /// Makes the selected sockets leave rooms, on every node.
    pub async fn leave(self, rooms: impl IntoRooms) -> Result<(), crate::adapter::AdapterError> {
        let rooms = rooms.into_rooms();
        for socket in self.sockets() {
            socket.leave(rooms.clone());
        }
        if self.opts.local {
            return Ok(());
        }
        self.io
            .adapter
            .del_sockets(&self.ns.name, &self.opts, &rooms)
            .await
    }

    /// Disconnects the selected sockets from the namespace, on every node.
    pub async fn disconnect(self) -> Result<(), crate::adapter::AdapterError> {
        for socket in self.sockets() {
            let _ = socket.disconnect();
        }
        if self.opts.local {
            return Ok(());
        }
        self.io
            .adapter
            .disconnect_sockets(&self.ns.name, &self.opts, false)
            .await
    }
}

/// How many sockets a broadcast reached on this node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Queued for sending.
    pub sent: usize,
    /// Volatile, and the socket was not ready.
    pub dropped: usize,
    /// The socket's queue was full, or it was gone.
    pub failed: usize,
    /// The local delivery waits for the adapter to store the broadcast (see
    /// [`BroadcastOperator::emit_args`]); the counts are not known yet.
    pub deferred: bool,
}

/// One socket's answer to a broadcast with acknowledgements.
#[derive(Debug)]
pub struct Ack {
    /// The socket's id; `None` for an answer forwarded by another node.
    pub socket: Option<ByteString>,
    /// Its answer, or why there is none.
    pub answer: Result<Args, AckError>,
}

/// The acknowledgements of a broadcast, as they come. See
/// [`BroadcastOperator::emit_with_ack`].
pub struct AckStream {
    inner: Pin<Box<dyn Stream<Item = Ack> + Send>>,
}

impl fmt::Debug for AckStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckStream").finish_non_exhaustive()
    }
}

impl AckStream {
    /// Waits for every answer (or its timeout) and returns them all.
    pub async fn collect_all(self) -> Vec<Ack> {
        self.collect().await
    }
}

impl Stream for AckStream {
    type Item = Ack;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Ack>> {
        self.inner.as_mut().poll_next(cx)
    }
}
