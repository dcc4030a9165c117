//! Adapters: where rooms live, and how a broadcast reaches the sockets of other server
//! processes.
//!
//! Every server process keeps the room membership of its own sockets, and delivers to
//! them itself. An [`Adapter`] holds that membership and carries everything that has to
//! cross processes: broadcasts (with and without acknowledgements), fetching, joining,
//! leaving and disconnecting the sockets a selection picks on other nodes, server-side
//! emits, the server count, and the storage that connection state recovery needs.
//! [`LocalAdapter`] is the in-memory adapter of a single process: it has no other node,
//! so its cluster operations complete at once with nothing to add.
//!
//! # Writing a remote adapter
//!
//! A remote adapter (Redis, NATS, ...) wraps a [`LocalAdapter`] for the membership of its
//! own sockets and for the recovery storage, and implements the cluster operations by
//! publishing a request that the other nodes apply to *their* local sockets:
//!
//! - [`Adapter::broadcast`] is called after the local delivery (unless the broadcast is
//!   `local`); it publishes the encoded packet and the [`BroadcastOptions`]; a node that
//!   receives it delivers to its own sockets with [`SocketIo::deliver_local`].
//! - [`Adapter::broadcast_with_ack`] publishes the same and answers, as a stream, the
//!   acknowledgements the other nodes forward, after telling how many clients they hold.
//! - [`Adapter::fetch_sockets`], [`Adapter::add_sockets`], [`Adapter::del_sockets`],
//!   [`Adapter::disconnect_sockets`] publish a request and apply it on every node with
//!   the matching [`SocketIo`] methods (`local_sockets_info`, `local_join`, ...).
//!
//! Nothing in the trait hands out a local [`Socket`](crate::Socket): every result is data
//! that can come from another process.
//!
//! The server calls [`Adapter::init`] once, when it is built, with a [`ServerHandle`]: the
//! way back from the adapter to this node's sockets, for what other nodes ask. It calls
//! [`Adapter::namespace_added`] for every namespace it creates (`/` first), so that a
//! remote adapter can subscribe to that namespace's traffic.

mod local;

use std::{
    fmt,
    pin::Pin,
    sync::{Arc, Weak},
    time::Duration,
};

use bytestring::ByteString;
use engineio_core::Sid;
use futures_util::Stream;
use socketio_core::{Args, Value};

pub use local::LocalAdapter;

use crate::{AckStream, SocketIo, handler::BoxFuture, io::IoInner};

/// A room name. Every socket is also in the room named by its own id.
pub type Room = ByteString;

/// Which sockets an operation selects, and how a broadcast is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// The rooms whose sockets are selected; empty selects every socket of the namespace.
    /// A socket in several of them is selected once.
    pub rooms: Vec<Room>,
    /// The rooms whose sockets are left out.
    pub except: Vec<Room>,
    /// Only this process's sockets.
    pub local: bool,
    /// May be dropped for a socket whose transport is not ready.
    pub volatile: bool,
    /// How long a broadcast with acknowledgements waits.
    pub timeout: Option<Duration>,
}

impl BroadcastOptions {
    /// Whether a socket in `socket_rooms` is selected.
    pub fn selects(&self, socket_rooms: &[Room]) -> bool {
        let included =
            self.rooms.is_empty() || self.rooms.iter().any(|room| socket_rooms.contains(room));
        included && !self.except.iter().any(|room| socket_rooms.contains(room))
    }
}

/// A socket as any node can describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketInfo {
    /// Its id.
    pub id: ByteString,
    /// Its namespace.
    pub ns: ByteString,
    /// Its rooms (its own id included).
    pub rooms: Vec<Room>,
    /// Its data (see [`Socket::data`](crate::Socket::data)).
    pub data: Value,
}

/// What a disconnected socket leaves behind for connection state recovery.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The socket's id, given back on recovery.
    pub sid: ByteString,
    /// The private id the client sends back to recover.
    pub pid: ByteString,
    /// The namespace.
    pub ns: ByteString,
    /// Its rooms.
    pub rooms: Vec<Room>,
    /// Its data.
    pub data: Value,
}

/// A stored packet that a recovered socket receives, already encoded.
#[derive(Debug, Clone)]
pub struct MissedPacket {
    /// The packet's event name.
    pub event: ByteString,
    /// Its arguments, the offset last.
    pub args: Args,
}

/// A session found for a reconnecting client, with what it missed, in order.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The session.
    pub session: Session,
    /// The packets broadcast to its rooms since its last offset.
    pub missed: Vec<MissedPacket>,
}

/// Acknowledgements that other nodes forward for a broadcast.
pub struct RemoteAcks {
    /// How many clients the other nodes sent the packet to.
    pub expected: usize,
    /// Their answers, as they come.
    pub acks: Pin<Box<dyn Stream<Item = Args> + Send>>,
}

impl fmt::Debug for RemoteAcks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteAcks")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

/// Appends the recovery offset as a packet's last argument.
pub(crate) fn append_offset(args: Args, offset: &str) -> Result<Args, crate::EmitError> {
    let mut values = args.into_values().map_err(|err| {
        crate::EmitError::Encode(socketio_core::EncodeError::Json(serde::ser::Error::custom(
            err,
        )))
    })?;
    values.push(Value::String(offset.to_owned()));
    Ok(Args::from_values(values))
}

/// An adapter operation that did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The other nodes did not answer in time.
    #[error("the other nodes did not answer in time")]
    Timeout,
    /// The transport between nodes failed.
    #[error("adapter transport failed: {0}")]
    Transport(String),
    /// The adapter, as configured, cannot do this.
    #[error("not supported by this adapter: {0}")]
    Unsupported(&'static str),
}

/// The server an adapter serves, as the adapter holds it: weakly, so that the server and
/// its adapter do not keep each other alive. Given to [`Adapter::init`].
#[derive(Clone)]
pub struct ServerHandle {
    io: Weak<IoInner>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("alive", &(self.io.strong_count() > 0))
            .finish()
    }
}

impl ServerHandle {
    pub(crate) fn new(io: &Arc<IoInner>) -> Self {
        Self {
            io: Arc::downgrade(io),
        }
    }

    /// The server, while it exists. Its `deliver_local`, `local_sockets_info`,
    /// `local_join`, `local_leave` and `local_disconnect` apply what another node asks
    /// to this node's sockets.
    pub fn server(&self) -> Option<SocketIo> {
        self.io.upgrade().map(|inner| SocketIo { inner })
    }

    /// Emits to this node's sockets of `ns` that `opts` selects, asking each for an
    /// acknowledgement within `timeout`: what a node does for another node's broadcast
    /// with acknowledgements. Returns how many sockets it was sent to, and their
    /// answers; `None` when the server or the namespace is gone.
    pub fn deliver_local_with_ack(
        &self,
        ns: &str,
        event: &str,
        args: Args,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> Option<Result<(usize, AckStream), crate::EmitError>> {
        let ns = self.server()?.of(ns)?;
        let select = || {
            let operator = ns
                .all()
                .to(opts.rooms.clone())
                .except(opts.except.clone())
                .local()
                .timeout(timeout);
            if opts.volatile {
                operator.volatile()
            } else {
                operator
            }
        };
        let count = select().sockets().len();
        Some(
            select()
                .emit_args_with_ack(event, args)
                .map(|acks| (count, acks)),
        )
    }
}

/// Room membership and the operations that span server processes. See the
/// [module docs](self) for how a remote adapter implements it.
pub trait Adapter: Send + Sync + 'static {
    /// Called once when the server is built, before any namespace exists, with the way
    /// back to this node's sockets. The default does nothing.
    fn init(&self, server: ServerHandle) {
        let _ = server;
    }
    /// Called when the server creates a namespace (`/` when it is built, then each one
    /// mounted, and each dynamic one on first use); may be called again for the same
    /// name when its handlers are replaced. The default does nothing.
    fn namespace_added(&self, ns: &str) {
        let _ = ns;
    }
    /// Adds a local socket to rooms.
    fn add_all(&self, ns: &str, sid: &Sid, rooms: &[Room]);
    /// Removes a local socket from a room.
    fn del(&self, ns: &str, sid: &Sid, room: &Room);
    /// Removes a local socket from every room.
    fn del_all(&self, ns: &str, sid: &Sid);
    /// The rooms of a local socket.
    fn socket_rooms(&self, ns: &str, sid: &Sid) -> Vec<Room>;
    /// The local sockets `opts` selects, each once.
    fn local_targets(&self, ns: &str, opts: &BroadcastOptions) -> Vec<Sid>;
    /// The rooms that have local sockets.
    fn local_rooms(&self, ns: &str) -> Vec<Room>;

    /// Sends a broadcast, already delivered locally, to the other nodes. Called in the
    /// order the broadcasts are made, but the future is polled later, from a task of its
    /// own: an adapter that must keep that order queues the message in this call, not
    /// when the future first runs.
    fn broadcast(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>>;
    /// Sends a broadcast that asks for acknowledgements to the other nodes.
    fn broadcast_with_ack(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<RemoteAcks, AdapterError>>;
    /// The sockets `opts` selects on the other nodes.
    fn fetch_sockets(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>>;
    /// Makes the sockets `opts` selects on the other nodes join rooms.
    fn add_sockets(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
        rooms: &[Room],
    ) -> BoxFuture<Result<(), AdapterError>>;
    /// Makes the sockets `opts` selects on the other nodes leave rooms.
    fn del_sockets(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
        rooms: &[Room],
    ) -> BoxFuture<Result<(), AdapterError>>;
    /// Disconnects the sockets `opts` selects on the other nodes.
    fn disconnect_sockets(
        &self,
        ns: &str,
        opts: &BroadcastOptions,
        close: bool,
    ) -> BoxFuture<Result<(), AdapterError>>;
    /// Emits an event to the other server processes (not to clients); with `ack`, waits
    /// for each one's answer.
    fn server_side_emit(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        ack: Option<Duration>,
    ) -> BoxFuture<Result<Vec<Args>, AdapterError>>;
    /// How many server processes share the adapter, this one included.
    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>>;

    /// Keeps a packet for connection state recovery and returns its offset, which is
    /// sent as the packet's last argument; `None` when the packet gets no offset (an
    /// adapter whose offsets come from [`publish_stored`](Self::publish_stored) keeps
    /// nothing here: this is only called for this node's `local` broadcasts then).
    fn store_packet(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> Option<ByteString>;
    /// For an adapter whose cluster keeps broadcasts in a log that every node reads (so
    /// that a client can recover on any node, as with Redis streams): publishes a
    /// broadcast that recovery keeps, and answers the offset the log gave it. With
    /// connection state recovery on, the server calls it instead of
    /// [`store_packet`](Self::store_packet) and [`broadcast`](Self::broadcast) for every
    /// broadcast that is neither `local` nor volatile, and delivers to this node's
    /// sockets once the offset is known, in the order the broadcasts were made (without
    /// an offset if the publish failed). Like `broadcast`, it must queue the message in
    /// this call. The default, `None`, is for adapters that keep packets themselves.
    fn publish_stored(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> Option<BoxFuture<Result<ByteString, AdapterError>>> {
        let _ = (ns, event, args, opts);
        None
    }
    /// Keeps what a disconnected socket needs to be recovered.
    fn persist_session(&self, session: Session);
    /// Finds the session of a client reconnecting to namespace `ns` and what it missed
    /// since `offset`; `None` when it expired, is unknown, or the offset is no longer
    /// stored.
    fn restore_session(
        &self,
        ns: &str,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<Result<Option<Restored>, AdapterError>>;
}
