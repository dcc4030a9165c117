//! A many-to-one queue for rare requests that costs nothing until it is used: what the
//! HTTP side asks of a session's driver (a long-polling GET or POST, an upgrade), and what
//! a connection's sockets ask of it (a server-side disconnect). A channel would allocate
//! its first block for every session up front, and most sessions (WebSocket ones) never
//! use it.
//!
//! The receiver, a session's driver, has one waker for all its sources: a push wakes it
//! through that.

use std::sync::{
    Mutex,
    atomic::{AtomicBool, Ordering},
};

use crate::engine::DriverWaker;

pub(crate) struct Mailbox<T> {
    inner: Mutex<Inner<T>>,
    /// Whether `items` may hold something: checked on every poll without the lock.
    pending: AtomicBool,
    /// How many items may wait; more are refused.
    limit: usize,
}

struct Inner<T> {
    items: Vec<T>,
    closed: bool,
}

impl<T> Mailbox<T> {
    /// A mailbox that holds at most `limit` waiting items.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                items: Vec::new(),
                closed: false,
            }),
            pending: AtomicBool::new(false),
            limit,
        }
    }

    /// Queues `item` and wakes the `receiver`; gives the item back when the mailbox is
    /// closed or full.
    pub(crate) fn push(&self, item: T, receiver: &DriverWaker) -> Result<(), T> {
        {
            let Ok(mut inner) = self.inner.lock() else {
                return Err(item);
            };
            if inner.closed || inner.items.len() >= self.limit {
                return Err(item);
            }
            inner.items.push(item);
            self.pending.store(true, Ordering::Release);
        }
        receiver.wake();
        Ok(())
    }

    /// Moves everything queued, in order, into `out` (which should be empty: its
    /// allocation is kept for the next items); `false` when nothing was queued. The
    /// receiver registers its waker before it looks: a push after that wakes it.
    pub(crate) fn take(&self, out: &mut Vec<T>) -> bool {
        if !self.pending.load(Ordering::Acquire) {
            return false;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return false;
        };
        self.pending.store(false, Ordering::Release);
        std::mem::swap(&mut inner.items, out);
        true
    }

    /// Takes everything queued, in order.
    pub(crate) fn take_all(&self) -> Vec<T> {
        let mut items = Vec::new();
        self.take(&mut items);
        items
    }

    /// Refuses further items and drops those waiting.
    pub(crate) fn close(&self) {
        let dropped = match self.inner.lock() {
            Ok(mut inner) => {
                inner.closed = true;
                std::mem::take(&mut inner.items)
            }
            Err(_) => Vec::new(),
        };
        drop(dropped);
    }
}
