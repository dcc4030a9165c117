//! Acknowledgements: the future an `emit_with_ack` returns, and the bookkeeping of the
//! ids a socket waits on.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use socketio_core::Args;
use tokio::sync::oneshot;

use crate::AckError;

pub(crate) type AckTx = oneshot::Sender<Result<Args, AckError>>;

/// The answer to an event sent with [`Socket::emit_with_ack`](crate::Socket::emit_with_ack):
/// the arguments the server passed to its callback, or why none came.
///
/// The timeout runs from the emit, whether or not the future is polled, as in the
/// official client; dropping the future forgets the answer.
///
/// ```no_run
/// use std::time::Duration;
/// use socketio_client::{AckError, Socket};
///
/// # async fn run(socket: Socket) -> Result<(), Box<dyn std::error::Error>> {
/// match socket.timeout(Duration::from_secs(1)).emit_with_ack("sum", &(1, 2)).await {
///     Ok(answer) => println!("{}", answer.deserialize::<u32>()?),
///     Err(AckError::Timeout) => println!("no answer in time"),
///     Err(err) => return Err(err.into()),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "an AckFuture does nothing unless awaited; the event is already sent"]
pub struct AckFuture {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Waiting(oneshot::Receiver<Result<Args, AckError>>),
    Failed(Option<AckError>),
}

impl AckFuture {
    pub(crate) fn waiting(rx: oneshot::Receiver<Result<Args, AckError>>) -> Self {
        Self {
            inner: Inner::Waiting(rx),
        }
    }

    pub(crate) fn failed(err: AckError) -> Self {
        Self {
            inner: Inner::Failed(Some(err)),
        }
    }
}

impl Future for AckFuture {
    type Output = Result<Args, AckError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            Inner::Waiting(rx) => Pin::new(rx)
                .poll(cx)
                .map(|answer| answer.unwrap_or(Err(AckError::Disconnected))),
            Inner::Failed(err) => Poll::Ready(Err(err.take().unwrap_or(AckError::Disconnected))),
        }
    }
}
