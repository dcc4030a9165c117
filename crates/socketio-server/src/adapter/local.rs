//! The in-memory adapter of a single server process.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use bytestring::ByteString;
use engineio_core::Sid;
use socketio_core::Args;

use crate::small_set::SmallSet;

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
    members: HashMap<Room, SmallSet<Sid>>,
    of_socket: HashMap<Sid, SmallSet<Room>>,
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
        // The name is copied only for a namespace's first entry.
        match namespaces.get_mut(ns) {
            Some(rooms) => write(rooms),
            None => write(namespaces.entry(ByteString::from(ns)).or_default()),
        }
    }

    fn recovery(&self) -> std::sync::MutexGuard<'_, Recovery> {
        self.recovery.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Recovery {
    fn prune(&mut self, now: Instant) {
        let window = self.window;
        let expired = |at: Instant| now.saturating_duration_since(at) >= window;
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
            let rooms = index.of_socket.remove(sid).unwrap_or_default();
            for room in rooms.iter() {
                if let Some(members) = index.members.get_mut(room) {
                    members.remove(sid);
                    if members.is_empty() {
                        index.members.remove(room);
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
                .flat_map(SmallSet::iter)
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
                .flat_map(SmallSet::iter)
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
    ) -> Option<ByteString> {
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
        Some(offset)
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
        ns: &str,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<Result<Option<Restored>, AdapterError>> {
        let mut recovery = self.recovery();
        recovery.prune(Instant::now());
        let restored = (|| {
            let (session, _) = recovery.sessions.remove(pid)?;
            if session.ns != ns {
                return None;
            }
            let start = recovery
                .packets
                .iter()
                .position(|packet| packet.offset == offset)?;
            let missed = recovery
                .packets
                .iter()
                .skip(start + 1)
                .filter(|packet| packet.ns == session.ns && packet.opts.selects(&session.rooms))
                .filter_map(|packet| {
                    Some(MissedPacket {
                        event: packet.event.clone(),
                        args: super::append_offset(packet.args.clone(), &packet.offset).ok()?,
                    })
                })
                .collect();
            Some(Restored { session, missed })
        })();
        done(restored)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn sid(n: u8) -> Sid {
        Sid::from_random([n; 15])
    }

    fn room(name: &str) -> Room {
        Room::from(name)
    }

    fn opts(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| room(r)).collect(),
            except: except.iter().map(|r| room(r)).collect(),
            ..BroadcastOptions::default()
        }
    }

    fn targets(adapter: &LocalAdapter, opts: &BroadcastOptions) -> Vec<Sid> {
        let mut found = adapter.local_targets("/", opts);
        found.sort();
        found
    }

    #[test]
    fn targets_are_unique_and_honour_exceptions() {
        let adapter = LocalAdapter::default();
        let (a, b, c) = (sid(1), sid(2), sid(3));
        adapter.add_all("/", &a, &[room("r1")]);
        adapter.add_all("/", &b, &[room("r1"), room("r2")]);
        adapter.add_all("/", &c, &[room("r2")]);
        let mut all = vec![a.clone(), b.clone(), c.clone()];
        all.sort();
        assert_eq!(targets(&adapter, &opts(&[], &[])), all);
        let mut in_both = vec![a.clone(), b.clone(), c.clone()];
        in_both.sort();
        assert_eq!(targets(&adapter, &opts(&["r1", "r2"], &[])), in_both);
        assert_eq!(targets(&adapter, &opts(&["r2"], &["r1"])), vec![c.clone()]);
        assert_eq!(targets(&adapter, &opts(&[], &["r2"])), vec![a.clone()]);
        assert!(targets(&adapter, &opts(&["nobody"], &[])).is_empty());
        assert!(adapter.local_targets("/other", &opts(&[], &[])).is_empty());

        adapter.del("/", &b, &room("r1"));
        assert_eq!(targets(&adapter, &opts(&["r1"], &[])), vec![a.clone()]);
        adapter.del_all("/", &a);
        assert!(targets(&adapter, &opts(&["r1"], &[])).is_empty());
        assert!(!adapter.local_rooms("/").contains(&room("r1")));
        assert_eq!(adapter.socket_rooms("/", &c), vec![room("r2")]);
    }

    fn session(pid: &str, rooms: &[&str]) -> Session {
        Session {
            sid: ByteString::from("socket"),
            pid: ByteString::from(pid),
            ns: ByteString::from("/"),
            rooms: rooms.iter().map(|r| room(r)).collect(),
            data: socketio_core::Value::Null,
        }
    }

    fn restore(adapter: &LocalAdapter, pid: &str, offset: &str) -> Option<Restored> {
        let future = adapter.restore_session("/", pid, offset);
        futures_util::FutureExt::now_or_never(future)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn restores_what_the_session_missed_in_order() {
        let adapter = LocalAdapter::new(Duration::from_secs(60));
        let args = |n: u64| Args::from_values(vec![socketio_core::Value::from(n)]);
        let last_seen = adapter
            .store_packet("/", "e", &args(0), &opts(&["r"], &[]))
            .unwrap();
        adapter.persist_session(session("pid", &["r", "socket"]));
        adapter.store_packet("/", "e", &args(1), &opts(&["r"], &[]));
        adapter.store_packet("/", "e", &args(2), &opts(&["elsewhere"], &[]));
        adapter.store_packet("/", "e", &args(3), &opts(&[], &["r"]));
        adapter.store_packet("/other", "e", &args(4), &opts(&[], &[]));
        adapter.store_packet("/", "e", &args(5), &opts(&[], &[]));
        let restored = restore(&adapter, "pid", &last_seen).unwrap();
        let missed: Vec<socketio_core::Value> = restored
            .missed
            .iter()
            .map(|packet| packet.args.to_values().unwrap()[0].clone())
            .collect();
        assert_eq!(missed, [1u64.into(), 5u64.into()]);
        // Each with its offset last.
        assert!(restored.missed.iter().all(|packet| matches!(
            packet.args.to_values().unwrap().get(1),
            Some(socketio_core::Value::String(offset)) if offset.contains('-')
        )));
        // A session is restored once.
        assert!(restore(&adapter, "pid", &last_seen).is_none());
    }

    #[test]
    fn unknown_sessions_offsets_and_expired_ones_are_not_restored() {
        let adapter = LocalAdapter::new(Duration::from_secs(60));
        let offset = adapter
            .store_packet("/", "e", &Args::new(), &opts(&[], &[]))
            .unwrap();
        adapter.persist_session(session("pid", &[]));
        assert!(restore(&adapter, "nope", &offset).is_none());
        assert!(restore(&adapter, "pid", "not-an-offset").is_none());

        let adapter = LocalAdapter::new(Duration::ZERO);
        let offset = adapter
            .store_packet("/", "e", &Args::new(), &opts(&[], &[]))
            .unwrap();
        adapter.persist_session(session("pid", &[]));
        // With no window, a session expires as soon as it is stored.
        assert!(restore(&adapter, "pid", &offset).is_none());
    }
}
