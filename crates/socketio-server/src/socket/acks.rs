//! The acknowledgements a socket waits for.

use std::collections::HashMap;

use socketio_core::Args;
use tokio::sync::oneshot;

use super::Socket;
use crate::EmitError;

/// Ids count up from 0 for each socket, so they never collide.
#[derive(Debug, Default)]
pub(super) struct Acks {
    next: u64,
    pending: HashMap<u64, oneshot::Sender<Args>>,
}

impl Acks {
    pub(super) fn register(
        &mut self,
        max: usize,
    ) -> Result<(u64, oneshot::Receiver<Args>), EmitError> {
        if self.pending.len() >= max {
            return Err(EmitError::TooManyPendingAcks);
        }
        let id = self.next;
        self.next += 1;
        let (waiter, answer) = oneshot::channel();
        self.pending.insert(id, waiter);
        Ok((id, answer))
    }

    pub(super) fn take(&mut self, id: u64) -> Option<oneshot::Sender<Args>> {
        self.pending.remove(&id)
    }

    pub(super) fn forget(&mut self, id: u64) {
        self.pending.remove(&id);
    }

    pub(super) fn clear(&mut self) {
        self.pending.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.pending.len()
    }
}

/// Forgets a pending acknowledgement when its future ends or is dropped, answered or
/// not, so that nothing waits forever in the table.
pub(super) struct Forget<'a> {
    pub(super) socket: &'a Socket,
    pub(super) id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.socket.lock_acks().forget(self.id);
    }
}
