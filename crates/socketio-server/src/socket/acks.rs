//! The acknowledgements a socket waits for.

use std::collections::HashMap;

use socketio_core::Args;
use tokio::sync::oneshot;

use super::Socket;
use crate::EmitError;

/// Ids come from the namespace's counter, so that a broadcast carries one id for all its
/// receivers, and they never collide on a socket.
#[derive(Debug, Default)]
pub(super) struct Acks {
    pending: HashMap<u64, oneshot::Sender<Args>>,
}

impl Acks {
    pub(super) fn register(
        &mut self,
        id: u64,
        max: usize,
    ) -> Result<oneshot::Receiver<Args>, EmitError> {
        if self.pending.len() >= max {
            return Err(EmitError::TooManyPendingAcks);
        }
        let (waiter, answer) = oneshot::channel();
        self.pending.insert(id, waiter);
        Ok(answer)
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
pub(super) struct Forget {
    pub(super) socket: Socket,
    pub(super) id: u64,
}

impl Drop for Forget {
    fn drop(&mut self) {
        self.socket.lock_acks().forget(self.id);
    }
}
