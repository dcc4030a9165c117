//! The one waker of a session's driver.
//!
//! Everything that gives the driver work wakes it through this: the outgoing queue, the
//! HTTP side's requests, a close request and the connection's own events. The driver
//! registers its waker once per turn of its loop, before it looks at each of these (a
//! flag each, read without a lock), instead of once per source.

use std::{cell::Cell, task::Waker};

use futures_util::task::AtomicWaker;

thread_local! {
    /// The address of the driver waker whose driver runs its connection's work on this
    /// thread, or 0.
    static DRIVING: Cell<usize> = const { Cell::new(0) };
}

pub(crate) struct DriverWaker(AtomicWaker);

impl DriverWaker {
    pub(super) fn new() -> Self {
        Self(AtomicWaker::new())
    }

    /// Registers the driver's waker: whatever gives it work from now on wakes it.
    pub(super) fn register(&self, waker: &Waker) {
        self.0.register(waker);
    }

    /// Wakes the driver.
    pub(crate) fn wake(&self) {
        self.0.wake();
    }

    /// Wakes the driver, unless it is the one asking, from its connection's work (see
    /// [`driving`](Self::driving)).
    pub(super) fn wake_from_work(&self) {
        if DRIVING.with(Cell::get) != self.address() {
            self.0.wake();
        }
    }

    /// Runs `work` (the connection's handlers) for the driver; what `work` queues and
    /// wakes with [`wake_from_work`](Self::wake_from_work) wakes nothing: the driver looks
    /// at its queue after the work, before it waits again. A wake from inside the driver's
    /// own turn would only make the runtime poll it once more for nothing.
    pub(super) fn driving<R>(&self, work: impl FnOnce() -> R) -> R {
        /// Puts back what was there before, also when `work` panics.
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                DRIVING.with(|driving| driving.set(self.0));
            }
        }
        let _restore = Restore(DRIVING.with(|driving| driving.replace(self.address())));
        work()
    }

    fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
}
