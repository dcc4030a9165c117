//! A client's socket in one namespace.

mod acks;
mod rooms;

use std::{
    fmt,
    future::Future,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bytestring::ByteString;
use engineio_core::{Sid, TransportKind};
use serde::{Serialize, de::DeserializeOwned};
use socketio_core::{Args, Packet, Value};
use tokio::sync::oneshot;

use crate::{
    AckError, EmitError, Handshake, NsParams, SocketIo,
    adapter::{Session, SocketInfo},
    engine::EngineSocket,
    namespace::NamespaceInner,
    operator::BroadcastOperator,
    parser::{Encoded, ServerParser},
};
use acks::Acks;

/// What a socket asks of the connection that carries it.
pub(crate) enum ConnEvent {
    /// The server disconnected the socket from its namespace.
    Disconnect(ByteString, Sid),
}

/// What the sockets of one connection share.
pub(crate) struct ConnShared {
    pub(crate) engine: EngineSocket,
    pub(crate) io: SocketIo,
    pub(crate) events: crate::mailbox::Mailbox<ConnEvent>,
}

/// A client connected to a namespace: emit to it, wait for its acknowledgements, put it
/// in rooms, broadcast from it, disconnect it. Cheap to clone; usable from any task.
///
/// Its id is its own, not the connection's: the same client has one socket, with its
/// own id, in each namespace it joins.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    sid: Sid,
    /// The private id a client sends back to recover this socket's state.
    pid: Option<ByteString>,
    recovered: bool,
    ns: Arc<NamespaceInner>,
    conn: Arc<ConnShared>,
    handshake: Handshake,
    acks: Mutex<Acks>,
    connected: AtomicBool,
    data: Mutex<Value>,
    extensions: Mutex<http::Extensions>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.inner.sid)
            .field("ns", &self.inner.ns.name)
            .field("connected", &self.connected())
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// A new socket, or the one a recovered session describes.
    pub(crate) fn new(
        ns: Arc<NamespaceInner>,
        conn: Arc<ConnShared>,
        handshake: Handshake,
        restored: Option<&Session>,
    ) -> Self {
        let recovery = conn.io.inner.config.recovery.is_some();
        let (sid, pid, data) = match restored {
            Some(session) => (
                Sid::from(&*session.sid),
                Some(session.pid.clone()),
                session.data.clone(),
            ),
            None => (
                Sid::from_random(rand::random()),
                recovery.then(|| ByteString::from(Sid::from_random(rand::random()).as_str())),
                Value::Null,
            ),
        };
        Self {
            inner: Arc::new(SocketInner {
                sid,
                pid,
                recovered: restored.is_some(),
                ns,
                conn,
                handshake,
                acks: Mutex::new(Acks::default()),
                connected: AtomicBool::new(false),
                data: Mutex::new(data),
                extensions: Mutex::new(http::Extensions::new()),
            }),
        }
    }

    /// The socket's id.
    pub fn id(&self) -> &str {
        self.inner.sid.as_str()
    }

    pub(crate) fn sid(&self) -> &Sid {
        &self.inner.sid
    }

    pub(crate) fn pid(&self) -> Option<&ByteString> {
        self.inner.pid.as_ref()
    }

    /// The namespace's name.
    pub fn ns(&self) -> &str {
        &self.inner.ns.name
    }

    /// What the client sent to connect.
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// The server.
    pub fn io(&self) -> &SocketIo {
        &self.inner.conn.io
    }

    /// The transport of the socket's connection.
    pub fn transport(&self) -> TransportKind {
        self.inner.conn.engine.transport()
    }

    /// Whether the socket is still in its namespace.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// Whether this socket was recovered: the client reconnected within the recovery
    /// window and got its id, rooms and data back, and the packets it missed.
    pub fn recovered(&self) -> bool {
        self.inner.recovered
    }

    /// The socket's data: anything that describes it to other nodes
    /// ([`SocketInfo::data`]) and survives connection state recovery.
    pub fn data(&self) -> Value {
        self.inner
            .data
            .lock()
            .map(|data| data.clone())
            .unwrap_or_default()
    }

    /// Replaces the socket's data.
    pub fn set_data(&self, data: Value) {
        if let Ok(mut current) = self.inner.data.lock() {
            *current = data;
        }
    }

    /// Emits an event to the client. `args` is a tuple for several arguments, `()` for
    /// none, anything else for one; binary values (`bytes::Bytes`) go as attachments.
    /// Fails at once when the socket's queue is full or the socket is gone.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.check_connected()?;
        self.notify_outgoing(event, args);
        if self.io().inner.config.recovery.is_some() {
            // Through the socket's own room, so that the packet gets an offset and is
            // kept for recovery.
            return self.own_room().emit(event, args).map(|_| ());
        }
        let encoded = self.parser().encode_event(self.ns(), event, None, args)?;
        self.send_encoded(&encoded)
    }

    /// [`emit`](Self::emit), waiting while the socket's queue is full instead of
    /// failing: a producer that uses it goes at the client's pace.
    pub async fn emit_wait<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(), EmitError> {
        self.check_connected()?;
        self.notify_outgoing(event, args);
        let encoded = self.parser().encode_event(self.ns(), event, None, args)?;
        self.inner
            .conn
            .engine
            .send_outgoing_wait(encoded.messages())
            .await
            .map_err(EmitError::from)
    }

    /// Emits an event with arguments as they are, for example those of an incoming
    /// event ([`Args`] is an extractor).
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), EmitError> {
        self.check_connected()?;
        if let Some(listener) = &self.inner.ns.handlers.outgoing {
            listener(self, event, &args);
        }
        if self.io().inner.config.recovery.is_some() {
            return self.own_room().emit_args(event, args).map(|_| ());
        }
        self.send_packet(event, args)
    }

    /// Emits the `message` event.
    pub fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// Emits an event and waits for the client's acknowledgement, deserialized into `R`
    /// (the tuple rule of [`Data`](crate::Data)), for the server's ack timeout.
    pub fn emit_with_ack<T, R>(
        &self,
        event: &str,
        args: &T,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        let timeout = self.io().inner.config.ack_timeout;
        self.emit_with_ack_timeout(event, args, timeout)
    }

    /// [`emit_with_ack`](Self::emit_with_ack) with a timeout of its own.
    pub fn emit_with_ack_timeout<T, R>(
        &self,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static
    where
        T: Serialize + ?Sized,
        R: DeserializeOwned + Send + 'static,
    {
        self.notify_outgoing(event, args);
        let id = self.inner.ns.next_ack_id();
        let answer = self
            .check_connected()
            .and_then(|()| {
                Ok(self
                    .parser()
                    .encode_event(self.ns(), event, Some(id), args)?)
            })
            .map(|encoded| self.send_encoded_with_ack(id, &encoded, timeout));
        async move { answer?.await?.deserialize().map_err(AckError::from) }
    }

    /// Emits an event with arguments as they are, and waits for the acknowledgement's
    /// arguments as they come, for `timeout`.
    pub fn emit_args_with_ack(
        &self,
        event: &str,
        args: Args,
        timeout: Duration,
    ) -> impl Future<Output = Result<Args, AckError>> + Send + 'static {
        if let Some(listener) = &self.inner.ns.handlers.outgoing {
            listener(self, event, &args);
        }
        let id = self.inner.ns.next_ack_id();
        let packet = Packet::event(self.inner.ns.name.clone(), event, args, Some(id));
        let answer = self
            .check_connected()
            .and_then(|()| Ok(self.parser().encode(&packet)?))
            .map(|encoded| self.send_encoded_with_ack(id, &encoded, timeout));
        async move { answer?.await }
    }

    /// Queues a packet that asks for acknowledgement `id`, and waits for the answer.
    pub(crate) fn send_encoded_with_ack(
        &self,
        id: u64,
        encoded: &Encoded,
        timeout: Duration,
    ) -> impl Future<Output = Result<Args, AckError>> + Send + 'static + use<> {
        let max = self.io().inner.config.max_pending_acks;
        let registered: Result<oneshot::Receiver<Args>, EmitError> = self
            .lock_acks()
            .register(id, max)
            .and_then(|answer| match self.send_encoded(encoded) {
                Ok(()) => Ok(answer),
                Err(err) => {
                    self.lock_acks().forget(id);
                    Err(err)
                }
            });
        let forget = acks::Forget {
            socket: self.clone(),
            id,
        };
        async move {
            let _forget = forget;
            let answer = registered?;
            match tokio::time::timeout(timeout, answer).await {
                Ok(Ok(args)) => Ok(args),
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => Err(AckError::Timeout),
            }
        }
    }

    /// Every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.operator().except(self.sid().as_str())
    }

    /// The sockets in these rooms, but this one.
    pub fn to(&self, rooms: impl crate::IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// The same as [`to`](Self::to).
    pub fn within(&self, rooms: impl crate::IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Every socket of the namespace but those in these rooms and this one.
    pub fn except(&self, rooms: impl crate::IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Every socket of the namespace on this server process, but this one.
    pub fn local(&self) -> BroadcastOperator {
        self.broadcast().local()
    }

    /// This socket alone, with an emit that may be dropped when the socket still has
    /// unsent packets queued.
    pub fn volatile(&self) -> BroadcastOperator {
        self.own_room().volatile()
    }

    /// This socket alone, with an acknowledgement timeout of its own for
    /// [`BroadcastOperator::emit_with_ack`].
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.own_room().timeout(timeout)
    }

    fn own_room(&self) -> BroadcastOperator {
        self.operator().to(self.sid().as_str())
    }

    fn operator(&self) -> BroadcastOperator {
        BroadcastOperator::new(Arc::clone(&self.inner.ns), Arc::clone(&self.io().inner))
    }

    /// Closes the socket's whole connection (all its namespaces); the client sees
    /// "transport close" and, with the official client's defaults, reconnects.
    pub fn close_connection(&self) {
        self.inner.conn.engine.close();
    }

    /// Removes the socket from its namespace: the client is told (its reason is "io
    /// server disconnect") and the disconnect handler runs with "server namespace
    /// disconnect". The connection stays open for the client's other namespaces.
    pub fn disconnect(&self) -> Result<(), EmitError> {
        self.check_connected()?;
        let encoded = self.parser().encode(&Packet::disconnect(self.ns()))?;
        // The client learns first; a full queue must not keep the socket in.
        let _ = self.send_encoded(&encoded);
        let event = ConnEvent::Disconnect(self.inner.ns.name.clone(), self.sid().clone());
        let _ = self
            .inner
            .conn
            .events
            .push(event, self.inner.conn.engine.driver());
        Ok(())
    }

    /// How many messages wait in the queue of the socket's connection.
    pub fn queued(&self) -> usize {
        self.inner.conn.engine.queued()
    }

    /// The number of acknowledgements the socket waits for from its client.
    pub fn pending_acks(&self) -> usize {
        self.lock_acks().len()
    }

    /// A value stored on the socket, cloned.
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.inner.extensions.lock().ok()?.get::<T>().cloned()
    }

    /// Stores a value on the socket (one per type), for later handlers to extract with
    /// [`Extension`](crate::Extension).
    pub fn insert_extension<T: Clone + Send + Sync + 'static>(&self, value: T) {
        if let Ok(mut extensions) = self.inner.extensions.lock() {
            extensions.insert(value);
        }
    }

    /// The socket as any node can describe it.
    pub fn info(&self) -> SocketInfo {
        SocketInfo {
            id: ByteString::from(self.id()),
            ns: self.inner.ns.name.clone(),
            rooms: self.rooms(),
            data: self.data(),
        }
    }

    /// Whether nothing is waiting in the socket's outgoing queue: a volatile emit is
    /// dropped when something is.
    pub(crate) fn is_ready(&self) -> bool {
        self.inner.conn.engine.queued() == 0
    }

    pub(crate) fn send_ack<T: Serialize + ?Sized>(
        &self,
        id: u64,
        args: &T,
    ) -> Result<(), EmitError> {
        self.check_connected()?;
        let encoded = self.parser().encode_ack(self.ns(), id, args)?;
        self.send_encoded(&encoded)
    }

    pub(crate) fn send_ack_args(&self, id: u64, args: Args) -> Result<(), EmitError> {
        self.check_connected()?;
        let encoded = self
            .parser()
            .encode(&Packet::ack(self.inner.ns.name.clone(), id, args))?;
        self.send_encoded(&encoded)
    }

    /// Encodes and queues an event, with no offset and no listener.
    pub(crate) fn send_packet(&self, event: &str, args: Args) -> Result<(), EmitError> {
        let packet = Packet::event(self.inner.ns.name.clone(), event, args, None);
        let encoded = self.parser().encode(&packet)?;
        self.send_encoded(&encoded)
    }

    pub(crate) fn send_encoded(&self, encoded: &Encoded) -> Result<(), EmitError> {
        Ok(self.inner.conn.engine.send_outgoing(encoded.messages())?)
    }

    /// The client answered acknowledgement `id`.
    pub(crate) fn resolve_ack(&self, id: u64, args: Args) {
        if let Some(waiter) = self.lock_acks().take(id) {
            let _ = waiter.send(args);
        }
    }

    pub(crate) fn ns_params(&self) -> NsParams {
        NsParams(self.inner.ns.params.clone())
    }

    pub(crate) fn namespace(&self) -> &Arc<NamespaceInner> {
        &self.inner.ns
    }

    /// Puts the socket in its namespace, in its own room and in `rooms`.
    pub(crate) fn mark_connected(&self, rooms: &[crate::Room]) {
        self.inner.connected.store(true, Ordering::Release);
        self.inner.ns.add(self.clone());
        self.join(crate::Room::from(self.sid().clone()));
        self.join(rooms.to_vec());
    }

    /// Takes the socket out of its namespace and its rooms; `false` when it already
    /// was. Waiting acknowledgements fail with `Disconnected`.
    pub(crate) fn mark_disconnected(&self) -> bool {
        let was = self.inner.connected.swap(false, Ordering::AcqRel);
        self.leave_all();
        self.inner.ns.remove(self.sid());
        self.lock_acks().clear();
        was
    }

    fn check_connected(&self) -> Result<(), EmitError> {
        if self.connected() {
            Ok(())
        } else {
            Err(EmitError::Disconnected)
        }
    }

    fn notify_outgoing<T: Serialize + ?Sized>(&self, event: &str, args: &T) {
        if let Some(listener) = &self.inner.ns.handlers.outgoing {
            if let Ok(args) = Args::from_serialize(args) {
                listener(self, event, &args);
            }
        }
    }

    fn parser(&self) -> &ServerParser {
        &self.io().inner.parser
    }

    fn lock_acks(&self) -> std::sync::MutexGuard<'_, Acks> {
        self.inner
            .acks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
