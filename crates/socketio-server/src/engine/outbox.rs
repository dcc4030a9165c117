//! A session's outgoing queue: many producers (handlers, broadcasts, any task), one
//! consumer (the session's driver).
//!
//! A bounded channel would do, but this is the path every message to every client takes,
//! a broadcast to N clients takes it N times, and a server holds one queue per client.
//! So the queue is an `InlineQueue` under a mutex that is never held for more than a few
//! pushes or pops: it allocates nothing for one message at a time, gives back what a
//! burst took once drained, and wakes the driver only when it goes from empty to
//! non-empty.

use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, Ordering},
};

use bytestring::ByteString;
use engineio_core::{InlineQueue, Message, SendError};
use tokio::sync::Notify;

use super::waker::DriverWaker;

/// What the application queues for a session.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    /// A message.
    Message(Message),
    /// A text message already framed (`4` then the text), shared by the many sessions a
    /// broadcast goes to.
    FramedText(ByteString),
}

impl From<Message> for Outgoing {
    fn from(message: Message) -> Self {
        Self::Message(message)
    }
}

pub(super) struct Outbox {
    state: Mutex<State>,
    capacity: usize,
    /// Whether the driver has something to take (messages, or the end of the queue):
    /// read on every turn of the driver's loop, so checked without the lock. Changed
    /// only under it.
    ready: AtomicBool,
    /// Producers waiting for room.
    room: Notify,
}

struct State {
    queue: InlineQueue<Outgoing>,
    closed: bool,
    /// Producers waiting for room: the driver notifies them only when there are some.
    waiting: usize,
}

impl Outbox {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                queue: InlineQueue::new(),
                closed: false,
                waiting: 0,
            }),
            capacity: capacity.max(1),
            ready: AtomicBool::new(false),
            room: Notify::new(),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, SendError> {
        // A poisoned queue (a panic while it was held) counts as a closed one.
        self.state.lock().map_err(|_| SendError::Closed)
    }

    /// Queues all the messages, in order, or none of them, and wakes the `driver` when the
    /// queue was empty. A group larger than the whole queue is accepted when the queue is
    /// empty, so that no packet is unsendable.
    pub(super) fn push_all(
        &self,
        driver: &DriverWaker,
        count: usize,
        messages: impl Iterator<Item = Outgoing>,
    ) -> Result<(), SendError> {
        let state = self.lock()?;
        if state.closed {
            return Err(SendError::Closed);
        }
        if !self.has_room(&state, count) {
            return Err(SendError::Full);
        }
        self.append(state, driver, messages);
        Ok(())
    }

    /// Whether `count` more messages fit: any group fits an empty queue.
    fn has_room(&self, state: &State, count: usize) -> bool {
        let len = state.queue.len();
        len == 0 || len + count <= self.capacity
    }

    /// Queues `messages` and lets the lock go; wakes the `driver` when the queue was
    /// empty (it looks again only when woken).
    fn append(
        &self,
        mut state: MutexGuard<'_, State>,
        driver: &DriverWaker,
        messages: impl Iterator<Item = Outgoing>,
    ) {
        let was_empty = state.queue.is_empty();
        state.queue.extend(messages);
        self.ready.store(true, Ordering::Release);
        drop(state);
        if was_empty {
            driver.wake_from_work();
        }
    }

    /// [`push_all`](Self::push_all), waiting while the queue has no room.
    pub(super) async fn push_all_wait(
        &self,
        driver: &DriverWaker,
        count: usize,
        messages: impl Iterator<Item = Outgoing>,
    ) -> Result<(), SendError> {
        let mut messages = Some(messages);
        loop {
            let notified = self.room.notified();
            let mut notified = std::pin::pin!(notified);
            {
                let mut state = self.lock()?;
                if state.closed {
                    return Err(SendError::Closed);
                }
                if self.has_room(&state, count) {
                    self.append(state, driver, messages.take().into_iter().flatten());
                    return Ok(());
                }
                // Registered before the lock is let go: room made from now on is seen.
                notified.as_mut().enable();
                state.waiting += 1;
            }
            // Counted out when the wait ends, also when the caller gives up on it.
            let _waiting = Waiting(self);
            notified.await;
        }
    }

    /// Hands up to `max` queued messages to `each`, in order, until it gives one back
    /// (that one stays first in the queue): `Some(true)` when there were some,
    /// `Some(false)` when there were none and the queue is closed, `None` when there were
    /// none. The driver registers its waker before it looks: producers wake it when they
    /// find the queue empty, after they set `ready`.
    pub(super) fn take(
        &self,
        max: usize,
        mut each: impl FnMut(Outgoing) -> Option<Outgoing>,
    ) -> Option<bool> {
        if !self.ready.load(Ordering::Acquire) {
            return None;
        }
        let Ok(mut state) = self.state.lock() else {
            return Some(false);
        };
        if state.queue.is_empty() {
            if state.closed {
                return Some(false);
            }
            self.ready.store(false, Ordering::Release);
            return None;
        }
        for _ in 0..max {
            let Some(message) = state.queue.pop_front() else {
                break;
            };
            if let Some(refused) = each(message) {
                state.queue.push_front(refused);
                break;
            }
        }
        if state.queue.is_empty() && !state.closed {
            self.ready.store(false, Ordering::Release);
        }
        let waiting = state.waiting > 0;
        drop(state);
        if waiting {
            self.room.notify_waiters();
        }
        Some(true)
    }

    /// Refuses further messages; those queued can still be taken.
    pub(super) fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
            self.ready.store(true, Ordering::Release);
        }
        self.room.notify_waiters();
    }

    /// Whether [`close`](Self::close) was called.
    pub(super) fn is_closed(&self) -> bool {
        self.state.lock().map_or(true, |state| state.closed)
    }

    /// How many messages wait.
    pub(super) fn len(&self) -> usize {
        self.state.lock().map_or(0, |state| state.queue.len())
    }
}

/// A producer waiting for room, counted in [`State::waiting`] while it lives.
struct Waiting<'a>(&'a Outbox);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.waiting = state.waiting.saturating_sub(1);
        }
    }
}
