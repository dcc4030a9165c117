//! The commands to Redis, in the order the server makes them: one queue per adapter,
//! bounded while Redis does not answer, written by one task that pipelines them.

use std::sync::Arc;

use bytes::Bytes;
use fred::{clients::SubscriberClient, interfaces::PubsubInterface};
use socketio_server::adapter::AdapterError;
use tokio::sync::{mpsc, oneshot};

use super::{BoxFuture, Inner, transport};

/// What the queue carries.
pub(super) enum Outgoing {
    /// A Redis command, written when first polled, that reports its outcome itself.
    Command(BoxFuture<()>),
    /// Sharded mode: a room channel to SSUBSCRIBE (`true`) or SUNSUBSCRIBE, in order
    /// with the messages around it.
    RoomChannel(String, bool),
}

impl Inner {
    /// Queues a Redis command at once, and returns a future of its outcome: commands are
    /// written in the order they were queued.
    pub(super) fn queue<T: Send + 'static>(
        &self,
        command: impl std::future::Future<Output = Result<T, fred::error::Error>> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, AdapterError>> + Send + 'static {
        use std::sync::atomic::Ordering::Relaxed;
        let (sent, result) = oneshot::channel();
        // While Redis does not answer, what is queued waits here: refused past the bound
        // rather than held without end.
        let admitted = self
            .queued
            .fetch_update(Relaxed, Relaxed, |queued| {
                (queued < self.config.max_queued).then_some(queued + 1)
            })
            .is_ok();
        let queued = if !admitted {
            // Said once until Redis answers again.
            if !self.refusing.swap(true, Relaxed) {
                tracing::error!(
                    limit = self.config.max_queued,
                    "Redis is not answering: messages dropped"
                );
            }
            Err("Redis is not answering: too many commands queued")
        } else {
            let (counter, refusing) = (Arc::clone(&self.queued), Arc::clone(&self.refusing));
            let command = Box::pin(async move {
                let outcome = command.await.map_err(transport);
                counter.fetch_sub(1, Relaxed);
                if outcome.is_ok() {
                    refusing.store(false, Relaxed);
                }
                let _ = sent.send(outcome);
            });
            self.outbox.send(Outgoing::Command(command)).map_err(|_| {
                self.queued.fetch_sub(1, Relaxed);
                "the adapter is closed"
            })
        };
        async move {
            if let Err(why) = queued {
                return Err(AdapterError::Transport(why.to_owned()));
            }
            result.await.unwrap_or_else(|_| {
                Err(AdapterError::Transport("the adapter is closed".to_owned()))
            })
        }
    }

    /// Queues a message at once, and returns a future that tells when it was published.
    pub(super) fn publish(
        &self,
        channel: String,
        payload: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<(), AdapterError>> + Send + 'static {
        let publisher = self.publisher.clone();
        let payload = Bytes::from(payload);
        let spublish = self.spublish();
        self.queue(async move {
            if spublish {
                publisher.spublish::<(), _, _>(channel, payload).await
            } else {
                publisher.publish::<(), _, _>(channel, payload).await
            }
        })
    }
}

/// Sends what was queued, in order, until the adapter is dropped. Commands queued
/// together are pipelined: fred writes each command when its future is first polled, and
/// `join_all` polls them in order, so they reach Redis in the order they were queued
/// without waiting for one reply before sending the next.
pub(super) async fn publish_in_order(
    subscriber: SubscriberClient,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, 256).await > 0 {
        let mut commands = Vec::new();
        for message in batch.drain(..) {
            match message {
                Outgoing::Command(command) => commands.push(command),
                Outgoing::RoomChannel(channel, subscribe) => {
                    // What was queued before goes first.
                    futures_util::future::join_all(commands.drain(..)).await;
                    let result = if subscribe {
                        subscriber.ssubscribe(channel).await
                    } else {
                        subscriber.sunsubscribe(channel).await
                    };
                    if let Err(err) = result {
                        tracing::warn!(%err, subscribe, "room channel subscription not changed");
                    }
                }
            }
        }
        futures_util::future::join_all(commands).await;
    }
}
