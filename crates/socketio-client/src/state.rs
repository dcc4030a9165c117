//! The per-socket state shared by the socket's handles and the Manager's task: the
//! connection status, the offline buffer, the acknowledgements waited for and the retry
//! queue. It is only ever locked for bookkeeping, never while user code runs.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use bytestring::ByteString;
use socketio_core::{Args, Packet, PacketKind};

use crate::{AckError, ack::AckTx};

/// The options of one socket.
#[derive(Debug, Clone)]
pub(crate) struct SocketOptions {
    pub(crate) ack_timeout: Option<Duration>,
    pub(crate) retries: u32,
    pub(crate) max_buffered_packets: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) event_capacity: usize,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            ack_timeout: None,
            retries: 0,
            max_buffered_packets: 1024,
            connect_timeout: Duration::from_secs(20),
            event_capacity: 1024,
        }
    }
}

#[derive(Debug)]
pub(crate) enum AckSlot {
    /// An `emit_with_ack` waits on it.
    Direct(AckTx),
    /// The packet of the retry queue with this sequence number waits on it.
    Queue(u64),
}

#[derive(Debug)]
pub(crate) struct Queued {
    seq: u64,
    event: ByteString,
    args: Args,
    tries: u32,
    pending: bool,
    tx: Option<AckTx>,
    timeout: Option<Duration>,
}

/// A packet to send, with the deadline of its acknowledgement, if it has one.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) packet: Packet,
    pub(crate) timer: Option<(u64, Instant)>,
}

/// What the bookkeeping asks the caller to do once the lock is released.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub(crate) resolve: Vec<(AckTx, Result<Args, AckError>)>,
    pub(crate) send: Vec<Outgoing>,
}

impl Effects {
    /// Hands the answers to the futures waiting on them (no user code runs here).
    pub(crate) fn resolve_all(&mut self) {
        for (tx, outcome) in self.resolve.drain(..) {
            let _ = tx.send(outcome);
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct SocketState {
    /// Whether the socket wants to be connected (the official `active`).
    pub(crate) active: bool,
    pub(crate) connected: bool,
    pub(crate) id: Option<String>,
    pub(crate) pid: Option<String>,
    pub(crate) offset: Option<String>,
    pub(crate) recovered: bool,
    /// Events that arrived before the CONNECT (a recovering server sends the missed
    /// ones first), delivered in order on connect.
    pub(crate) receive_buffer: VecDeque<(ByteString, Args, Option<u64>)>,
    /// Packets emitted while disconnected, sent in order on connect.
    pub(crate) send_buffer: VecDeque<Packet>,
    next_ack: u64,
    acks: HashMap<u64, AckSlot>,
    queue: VecDeque<Queued>,
    queue_seq: u64,
    pub(crate) volatile_dropped: u64,
}

impl SocketState {
    /// The next acknowledgement id: monotonic for the socket's whole life.
    pub(crate) fn register_ack(&mut self, slot: AckSlot) -> u64 {
        let id = self.next_ack;
        self.next_ack = self.next_ack.wrapping_add(1);
        self.acks.insert(id, slot);
        id
    }

    pub(crate) fn forget_ack(&mut self, id: u64) -> Option<AckSlot> {
        self.acks.remove(&id)
    }

    /// How many emits wait in the retry queue (the one in flight included).
    pub(crate) fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Adds an emit to the retry queue and sends its head if it can.
    pub(crate) fn enqueue(
        &mut self,
        event: ByteString,
        args: Args,
        tx: Option<AckTx>,
        timeout: Option<Duration>,
        ctx: &QueueCtx<'_>,
        fx: &mut Effects,
    ) {
        let seq = self.queue_seq;
        self.queue_seq = self.queue_seq.wrapping_add(1);
        self.queue.push_back(Queued {
            seq,
            event,
            args,
            tries: 0,
            pending: false,
            tx,
            timeout,
        });
        self.drain_queue(false, ctx, fx);
    }

    /// Sends the head of the retry queue: one packet in flight at a time.
    pub(crate) fn drain_queue(&mut self, force: bool, ctx: &QueueCtx<'_>, fx: &mut Effects) {
        if !self.connected {
            return;
        }
        let Some(front) = self.queue.front_mut() else {
            return;
        };
        if front.pending && !force {
            return;
        }
        front.pending = true;
        front.tries = front.tries.saturating_add(1);
        let seq = front.seq;
        let event = front.event.clone();
        let args = front.args.clone();
        let timeout = front.timeout.or(ctx.ack_timeout);
        let id = self.register_ack(AckSlot::Queue(seq));
        fx.send.push(Outgoing {
            packet: Packet::event(ctx.nsp.clone(), event, args, Some(id)),
            timer: timeout.map(|timeout| (id, ctx.now + timeout)),
        });
    }

    /// Settles acknowledgement `id` with an answer or an error.
    pub(crate) fn settle(
        &mut self,
        id: u64,
        outcome: Result<Args, AckError>,
        ctx: &QueueCtx<'_>,
        fx: &mut Effects,
    ) {
        match self.acks.remove(&id) {
            None => {}
            Some(AckSlot::Direct(tx)) => fx.resolve.push((tx, outcome)),
            Some(AckSlot::Queue(seq)) => {
                let Some(front) = self.queue.front_mut() else {
                    return;
                };
                if front.seq != seq {
                    // Already settled by an earlier try.
                    return;
                }
                let done = outcome.is_ok() || front.tries > ctx.retries;
                if done {
                    if let Some(queued) = self.queue.pop_front() {
                        if let Some(tx) = queued.tx {
                            fx.resolve.push((tx, outcome));
                        }
                    }
                } else {
                    front.pending = false;
                }
                self.drain_queue(false, ctx, fx);
            }
        }
    }

    /// An acknowledgement's timer fired: the packet leaves the offline buffer if it is
    /// still there, and the acknowledgement fails.
    pub(crate) fn time_out(&mut self, id: u64, ctx: &QueueCtx<'_>, fx: &mut Effects) {
        self.send_buffer.retain(
            |packet| !matches!(packet.kind, PacketKind::Event { ack: Some(ack), .. } if ack == id),
        );
        self.settle(id, Err(AckError::Timeout), ctx, fx);
    }

    /// On disconnection, as the official client: the acknowledgements of packets still
    /// in the offline buffer survive, the others fail.
    pub(crate) fn clear_acks(&mut self, ctx: &QueueCtx<'_>, fx: &mut Effects) {
        let buffered: Vec<u64> = self.send_buffer.iter().filter_map(Packet::ack_id).collect();
        let mut ids: Vec<u64> = self
            .acks
            .keys()
            .copied()
            .filter(|id| !buffered.contains(id))
            .collect();
        ids.sort_unstable();
        for id in ids {
            self.settle(id, Err(AckError::Disconnected), ctx, fx);
        }
    }
}

/// What the retry queue needs to know beside the state.
#[derive(Debug)]
pub(crate) struct QueueCtx<'a> {
    pub(crate) nsp: &'a ByteString,
    pub(crate) now: Instant,
    pub(crate) ack_timeout: Option<Duration>,
    pub(crate) retries: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    fn ctx(nsp: &ByteString, retries: u32) -> QueueCtx<'_> {
        QueueCtx {
            nsp,
            now: Instant::now(),
            ack_timeout: Some(Duration::from_secs(1)),
            retries,
        }
    }

    fn sent_ack(fx: &mut Effects) -> Option<u64> {
        let out = fx.send.pop()?;
        out.packet.ack_id()
    }

    #[test]
    fn ack_ids_are_monotonic() {
        let mut state = SocketState::default();
        let ids: Vec<u64> = (0..5)
            .map(|_| {
                let (tx, _rx) = oneshot::channel();
                state.register_ack(AckSlot::Direct(tx))
            })
            .collect();
        assert_eq!(ids, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn the_queue_sends_one_at_a_time_and_retries_n_times() {
        let nsp = ByteString::from_static("/");
        let ctx = ctx(&nsp, 2);
        let mut state = SocketState {
            connected: true,
            ..SocketState::default()
        };
        let mut fx = Effects::default();
        let (tx, mut rx) = oneshot::channel();
        state.enqueue("a".into(), Args::new(), Some(tx), None, &ctx, &mut fx);
        state.enqueue("b".into(), Args::new(), None, None, &ctx, &mut fx);
        // Only the head goes out.
        assert_eq!(fx.send.len(), 1);
        let mut sends = 0;
        let mut id = sent_ack(&mut fx);
        while let Some(current) = id {
            sends += 1;
            state.time_out(current, &ctx, &mut fx);
            let next = fx.send.pop();
            if let Some(next) = next {
                let PacketKind::Event { event, .. } = &next.packet.kind else {
                    unreachable!()
                };
                if event == "b" {
                    break;
                }
                id = next.packet.ack_id();
            } else {
                id = None;
            }
        }
        // Two retries: three sends of "a", then it fails and "b" goes.
        assert_eq!(sends, 3);
        fx.resolve_all();
        assert!(matches!(rx.try_recv(), Ok(Err(AckError::Timeout))));
    }

    #[test]
    fn an_answer_settles_the_head_and_sends_the_next() {
        let nsp = ByteString::from_static("/");
        let ctx = ctx(&nsp, 3);
        let mut state = SocketState::default();
        let mut fx = Effects::default();
        let (tx, mut rx) = oneshot::channel();
        // Queued while disconnected: nothing goes out until the connection.
        state.enqueue("a".into(), Args::new(), Some(tx), None, &ctx, &mut fx);
        state.enqueue("b".into(), Args::new(), None, None, &ctx, &mut fx);
        assert!(fx.send.is_empty());
        state.connected = true;
        state.drain_queue(true, &ctx, &mut fx);
        let first = sent_ack(&mut fx).unwrap_or_else(|| unreachable!());
        // A late answer to an id that is not the head's changes nothing.
        state.settle(first + 100, Ok(Args::new()), &ctx, &mut fx);
        assert!(fx.send.is_empty());
        state.settle(
            first,
            Ok(Args::from_values(vec![1u64.into()])),
            &ctx,
            &mut fx,
        );
        fx.resolve_all();
        assert!(matches!(rx.try_recv(), Ok(Ok(args)) if args.len() == 1));
        assert_eq!(fx.send.len(), 1, "b goes out once a is answered");
    }

    #[test]
    fn buffered_acks_survive_a_disconnection() {
        let nsp = ByteString::from_static("/");
        let ctx = ctx(&nsp, 0);
        let mut state = SocketState::default();
        let (sent_tx, mut sent_rx) = oneshot::channel();
        let (buffered_tx, mut buffered_rx) = oneshot::channel();
        state.register_ack(AckSlot::Direct(sent_tx));
        let id = state.register_ack(AckSlot::Direct(buffered_tx));
        state
            .send_buffer
            .push_back(Packet::event("/", "x", Args::new(), Some(id)));
        let mut fx = Effects::default();
        state.clear_acks(&ctx, &mut fx);
        fx.resolve_all();
        assert!(matches!(
            sent_rx.try_recv(),
            Ok(Err(AckError::Disconnected))
        ));
        assert!(buffered_rx.try_recv().is_err());
    }
}
