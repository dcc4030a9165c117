//! The in-memory adapter of a single server process.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use bytestring::ByteString;
use engineio_core::Sid;
use socketio_core::Args;

use super::{
    Adapter, AdapterError, BroadcastOptions, MissedPacket, RemoteAcks, Restored, Room, Session,
    SocketInfo,
};
use crate::handler::BoxFuture;

/// Room membership in memory, and the recovery storage of one process. It has no other
/// node: its cluster operations complete at once with nothing to add.
#[derive(Debug)]
pub struct LocalAdapter {
    namespaces: RwLock<HashMap<ByteString, Rooms>>,
    recovery: Mutex<Recovery>,
}

#[derive(Debug, Default)]
struct Rooms {
    members: HashMap<Room, HashSet<Sid>>,
    of_socket: HashMap<Sid, HashSet<Room>>,
}

#[derive(Debug)]
struct Recovery {
    window: Duration,
    /// Offsets are `<prefix>-<counter>`: unique across restarts of the process.
    prefix: String,
    next: u64,
    sessions: HashMap<ByteString, (Session, Instant)>,
    packets: VecDeque<Stored>,
}

#[derive(Debug)]
struct Stored {
    offset: ByteString,
    at: Instant,
    ns: ByteString,
    event: ByteString,
    args: Args,
    opts: BroadcastOptions,
}

impl Default for LocalAdapter {
    fn default() -> Self {
        Self::new(Duration::from_secs(120))
    }
}

impl LocalAdapter {
    /// An adapter that keeps sessions and packets for recovery for `recovery_window`
    /// (the longest disconnection a client may recover from).
    pub fn new(recovery_window: Duration) -> Self {
        let prefix: u64 = rand::random();
        Self {
            namespaces: RwLock::new(HashMap::new()),
            recovery: Mutex::new(Recovery {
                window: recovery_window,
                prefix: format!("{prefix:x}"),
                next: 0,
                sessions: HashMap::new(),
                packets: VecDeque::new(),
            }),
        }
    }

    fn with_rooms<T>(&self, ns: &str, read: impl FnOnce(&Rooms) -> T) -> Option<T> {
        let namespaces = self
            .namespaces
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        namespaces.get(ns).map(read)
    }

    fn with_rooms_mut(&self, ns: &str, write: impl FnOnce(&mut Rooms)) {
        let mut namespaces = self
            .namespaces
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        write(namespaces.entry(ByteString::from(ns)).or_default());
    }

    fn recovery(&self) -> std::sync::MutexGuard<'_, Recovery> {
        self.recovery.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Recovery {
    fn prune(&mut self, now: Instant) {
        let window = self.window;
        let expired = |at: Instant| now.saturating_duration_since(at) > window;
        while self
            .packets
            .front()
            .is_some_and(|packet| expired(packet.at))
        {
            self.packets.pop_front();
        }
        self.sessions.retain(|_, (_, at)| !expired(*at));
    }
}

fn done<T: Send + 'static>(value: T) -> BoxFuture<Result<T, AdapterError>> {
    Box::pin(std::future::ready(Ok(value)))
}

impl Adapter for LocalAdapter {
    fn add_all(&self, ns: &str, sid: &Sid, rooms: &[Room]) {
        self.with_rooms_mut(ns, |index| {
            let of_socket = index.of_socket.entry(sid.clone()).or_default();
            for room in rooms {
                of_socket.insert(room.clone());
                index
                    .members
                    .entry(room.clone())
                    .or_default()
                    .insert(sid.clone());
            }
        });
    }

    fn del(&self, ns: &str, sid: &Sid, room: &Room) {
        self.with_rooms_mut(ns, |index| {
            if let Some(rooms) = index.of_socket.get_mut(sid) {
                rooms.remove(room);
            }
            if let Some(members) = index.members.get_mut(room) {
                members.remove(sid);
                if members.is_empty() {
                    index.members.remove(room);
                }
            }
        });
    }

    fn del_all(&self, ns: &str, sid: &Sid) {
        self.with_rooms_mut(ns, |index| {
            for room in index.of_socket.remove(sid).unwrap_or_default() {
                if let Some(members) = index.members.get_mut(&room) {
                    members.remove(sid);
                    if members.is_empty() {
                        index.members.remove(&room);
                    }
                }
            }
        });
    }

    fn socket_rooms(&self, ns: &str, sid: &Sid) -> Vec<Room> {
        self.with_rooms(ns, |index| {
            index
                .of_socket
                .get(sid)
                .map(|rooms| rooms.iter().cloned().collect())
                .unwrap_or_default()
        })
        .unwrap_or_default()
    }

    fn local_targets(&self, ns: &str, opts: &BroadcastOptions) -> Vec<Sid> {
        self.with_rooms(ns, |index| {
            let excluded: HashSet<&Sid> = opts
                .except
                .iter()
                .filter_map(|room| index.members.get(room))
                .flatten()
                .collect();
            if opts.rooms.is_empty() {
                return index
                    .of_socket
                    .keys()
                    .filter(|sid| !excluded.contains(sid))
                    .cloned()
                    .collect();
            }
            let mut seen = HashSet::new();
            opts.rooms
                .iter()
                .filter_map(|room| index.members.get(room))
                .flatten()
                .filter(|sid| !excluded.contains(sid) && seen.insert(*sid))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
    }

    fn local_rooms(&self, ns: &str) -> Vec<Room> {
        self.with_rooms(ns, |index| index.members.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn broadcast(
        &self,
        _: &str,
        _: &str,
        _: &Args,
        _: &BroadcastOptions,
    ) -> BoxFuture<Result<(), AdapterError>> {
        done(())
    }

    fn broadcast_with_ack(
        &self,
        _: &str,
        _: &str,
        _: &Args,
        _: &BroadcastOptions,
    ) -> BoxFuture<Result<RemoteAcks, AdapterError>> {
        done(RemoteAcks {
            expected: 0,
            acks: Box::pin(futures_util::stream::empty()),
        })
    }

    fn fetch_sockets(
        &self,
        _: &str,
        _: &BroadcastOptions,
    ) -> BoxFuture<Result<Vec<SocketInfo>, AdapterError>> {
        done(Vec::new())
    }

    fn add_sockets(
        &self,
        _: &str,
        _: &BroadcastOptions,
        _: &[Room],
    ) -> BoxFuture<Result<(), AdapterError>> {
        done(())
    }

    fn del_sockets(
        &self,
        _: &str,
        _: &BroadcastOptions,
        _: &[Room],
    ) -> BoxFuture<Result<(), AdapterError>> {
        done(())
    }

    fn disconnect_sockets(
        &self,
        _: &str,
        _: &BroadcastOptions,
        _: bool,
    ) -> BoxFuture<Result<(), AdapterError>> {
        done(())
    }

    fn server_side_emit(
        &self,
        _: &str,
        _: &str,
        _: &Args,
        _: Option<Duration>,
    ) -> BoxFuture<Result<Vec<Args>, AdapterError>> {
        done(Vec::new())
    }

    fn server_count(&self) -> BoxFuture<Result<usize, AdapterError>> {
        done(1)
    }

    fn store_packet(
        &self,
        ns: &str,
        event: &str,
        args: &Args,
        opts: &BroadcastOptions,
    ) -> ByteString {
        let now = Instant::now();
        let mut recovery = self.recovery();
        recovery.prune(now);
        let offset = ByteString::from(format!("{}-{:x}", recovery.prefix, recovery.next));
        recovery.next += 1;
        recovery.packets.push_back(Stored {
            offset: offset.clone(),
            at: now,
            ns: ByteString::from(ns),
            event: ByteString::from(event),
            args: args.clone(),
            opts: opts.clone(),
        });
        offset
    }

    fn persist_session(&self, session: Session) {
        let now = Instant::now();
        let mut recovery = self.recovery();
        recovery.prune(now);
        recovery
            .sessions
            .insert(session.pid.clone(), (session, now));
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<Result<Option<Restored>, AdapterError>> {
        let mut recovery = self.recovery();
        recovery.prune(Instant::now());
        let restored = (|| {
            let (session, _) = recovery.sessions.remove(pid)?;
            let start = recovery
                .packets
                .iter()
                .position(|packet| packet.offset == offset)?;
            let missed = recovery
                .packets
                .iter()
                .skip(start + 1)
                .filter(|packet| packet.ns == session.ns && packet.opts.selects(&session.rooms))
                .map(|packet| MissedPacket {
                    event: packet.event.clone(),
                    args: packet.args.clone(),
                })
                .collect();
            Some(Restored { session, missed })
        })();
        done(restored)
    }
}
