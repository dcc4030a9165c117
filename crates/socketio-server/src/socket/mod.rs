//! A client's socket in one namespace.

mod acks;

use std::{
    fmt,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bytestring::ByteString;
use engineio_core::{Sid, TransportKind};
use serde::{Serialize, de::DeserializeOwned};
use socketio_core::{Args, Packet};
use tokio::sync::{mpsc, oneshot};

use crate::{
    AckError, EmitError, Handshake, NsParams, SocketIo, engine::EngineSocket,
    namespace::NamespaceInner, parser::Encoded,
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
    pub(crate) events: mpsc::UnboundedSender<ConnEvent>,
}

/// A client connected to a namespace: emit to it, wait for its acknowledgements,
/// disconnect it. Cheap to clone; usable from any task.
///
/// Its id is its own, not the connection's: the same client has one socket, with its
/// own id, in each namespace it joins.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    sid: Sid,
    ns: Arc<NamespaceInner>,
    conn: Arc<ConnShared>,
    handshake: Handshake,
    acks: Mutex<Acks>,
    connected: AtomicBool,
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
    pub(crate) fn new(
        ns: Arc<NamespaceInner>,
        conn: Arc<ConnShared>,
        handshake: Handshake,
    ) -> Self {
        Self {
            inner: Arc::new(SocketInner {
                sid: Sid::from_random(rand::random()),
                ns,
                conn,
                handshake,
                acks: Mutex::new(Acks::default()),
                connected: AtomicBool::new(false),
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

    /// Emits an event to the client. `args` is a tuple for several arguments, `()` for
    /// none, anything else for one; binary values (`bytes::Bytes`) go as attachments.
    /// Fails at once when the socket's queue is full or the socket is gone.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, args: &T) -> Result<(), EmitError> {
        self.check_connected()?;
        self.notify_outgoing(event, args);
        let encoded = self.parser().encode_event(self.ns(), event, None, args)?;
        self.send_encoded(&encoded)
    }

    /// Emits an event with arguments as they are, for example those of an incoming
    /// event ([`Args`] is an extractor).
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), EmitError> {
        self.check_connected()?;
        if let Some(listener) = &self.inner.ns.handlers.outgoing {
            listener(self, event, &args);
        }
        let packet = Packet::event(self.inner.ns.name.clone(), event, args, None);
        let encoded = self.parser().encode(&packet)?;
        self.send_encoded(&encoded)
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
        let timeout = self.inner.conn.io.inner.config.ack_timeout;
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
        let prepared = self.start_ack_serialize(event, args);
        self.wait_ack(prepared, timeout, |args| Ok(args.deserialize()?))
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
        let prepared = self.start_ack(|id| {
            let packet = Packet::event(self.inner.ns.name.clone(), event, args, Some(id));
            self.parser().encode(&packet)
        });
        self.wait_ack(prepared, timeout, Ok)
    }

    fn start_ack_serialize<T: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &T,
    ) -> Result<(u64, oneshot::Receiver<Args>), EmitError> {
        self.notify_outgoing(event, args);
        self.start_ack(|id| self.parser().encode_event(self.ns(), event, Some(id), args))
    }

    /// Registers an acknowledgement, then queues the packet `encode` makes with its id.
    fn start_ack(
        &self,
        encode: impl FnOnce(u64) -> Result<Encoded, socketio_core::EncodeError>,
    ) -> Result<(u64, oneshot::Receiver<Args>), EmitError> {
        self.check_connected()?;
        let max = self.inner.conn.io.inner.config.max_pending_acks;
        let (id, answer) = self.lock_acks().register(max)?;
        let sent = encode(id)
            .map_err(EmitError::from)
            .and_then(|encoded| self.send_encoded(&encoded));
        if let Err(err) = sent {
            self.lock_acks().forget(id);
            return Err(err);
        }
        Ok((id, answer))
    }

    fn wait_ack<R: Send + 'static>(
        &self,
        prepared: Result<(u64, oneshot::Receiver<Args>), EmitError>,
        timeout: Duration,
        read: impl FnOnce(Args) -> Result<R, AckError> + Send + 'static,
    ) -> impl Future<Output = Result<R, AckError>> + Send + 'static {
        let socket = self.clone();
        async move {
            let (id, answer) = prepared?;
            let _forget = acks::Forget {
                socket: &socket,
                id,
            };
            match tokio::time::timeout(timeout, answer).await {
                Ok(Ok(args)) => read(args),
                Ok(Err(_)) => Err(AckError::Disconnected),
                Err(_) => Err(AckError::Timeout),
            }
        }
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
        let _ = self.inner.conn.events.send(ConnEvent::Disconnect(
            self.inner.ns.name.clone(),
            self.sid().clone(),
        ));
        Ok(())
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

    pub(crate) fn send_encoded(&self, encoded: &Encoded) -> Result<(), EmitError> {
        Ok(self.inner.conn.engine.send_all(encoded.messages())?)
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

    pub(crate) fn mark_connected(&self) {
        self.inner.connected.store(true, Ordering::Release);
        self.inner.ns.add(self.clone());
    }

    /// Takes the socket out of its namespace; `false` when it already was. Waiting
    /// acknowledgements fail with `Disconnected`.
    pub(crate) fn mark_disconnected(&self) -> bool {
        let was = self.inner.connected.swap(false, Ordering::AcqRel);
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

    fn parser(&self) -> &crate::parser::AnyParser {
        &self.inner.conn.io.inner.parser
    }

    fn lock_acks(&self) -> std::sync::MutexGuard<'_, Acks> {
        self.inner
            .acks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
