//! A many-to-one queue for rare requests that costs nothing until it is used: what the
//! HTTP side asks of a session's driver (a long-polling GET or POST, an upgrade), and what
//! a connection's sockets ask of it (a server-side disconnect). A channel would allocate
//! its first block for every session up front, and most sessions (WebSocket ones) never
//! use it.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use futures_util::task::AtomicWaker;

pub(crate) struct Mailbox<T> {
    inner: Mutex<Inner<T>>,
    /// Whether `items` may hold something: checked on every poll without the lock.
    pending: AtomicBool,
    waker: AtomicWaker,
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
            waker: AtomicWaker::new(),
            limit,
        }
    }

    /// Queues `item` and wakes the receiver; gives it back when the mailbox is closed or
    /// full.
    pub(crate) fn push(&self, item: T) -> Result<(), T> {
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
        self.waker.wake();
        Ok(())
    }

    /// Moves everything queued, in order, into `out` (which should be empty: its
    /// allocation is kept for the next items); registers the receiver's waker when
    /// nothing is queued.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<()> {
        if !self.pending.load(Ordering::Acquire) {
            self.waker.register(cx.waker());
            // A push between the check and the registration set the flag first.
            if !self.pending.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
        let Ok(mut inner) = self.inner.lock() else {
            return Poll::Pending;
        };
        self.pending.store(false, Ordering::Release);
        std::mem::swap(&mut inner.items, out);
        Poll::Ready(())
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
