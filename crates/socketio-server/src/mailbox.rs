//! A rarely used, unbounded, many-to-one queue that costs nothing until it is used: the
//! requests a connection's sockets make of it (a server-side disconnect). A channel would
//! allocate its first block for every connection up front.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use futures_util::task::AtomicWaker;

pub(crate) struct Mailbox<T> {
    items: Mutex<Vec<T>>,
    /// Whether `items` may hold something: checked on every poll without the lock.
    pending: AtomicBool,
    waker: AtomicWaker,
}

impl<T> Mailbox<T> {
    pub(crate) fn new() -> Self {
        Self {
            items: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    /// Queues `item` and wakes the receiver.
    pub(crate) fn push(&self, item: T) {
        if let Ok(mut items) = self.items.lock() {
            items.push(item);
            self.pending.store(true, Ordering::Release);
        }
        self.waker.wake();
    }

    /// Takes everything queued, in order; registers the receiver's waker when nothing is.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        if !self.pending.load(Ordering::Acquire) {
            self.waker.register(cx.waker());
            // A push between the check and the registration set the flag first.
            if !self.pending.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
        let Ok(mut items) = self.items.lock() else {
            return Poll::Pending;
        };
        self.pending.store(false, Ordering::Release);
        Poll::Ready(std::mem::take(&mut *items))
    }
}
