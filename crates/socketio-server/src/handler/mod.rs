//! Handlers are async functions whose arguments are extractors, as in axum.
//!
//! An event handler takes any number (up to 16) of arguments that implement
//! [`FromEvent`]; a connect handler or middleware, arguments that implement
//! [`FromConnect`]; a disconnect handler, arguments that implement [`FromDisconnect`].
//! Extraction runs when the event arrives, in arrival order; the handler's future then
//! runs on the connection's task, beside the others.

mod context;
mod extract;

use std::{future::Future, pin::Pin};

pub use context::{ConnectContext, DisconnectContext, EventContext};
pub use extract::{
    AckSender, Auth, Bin, Data, Event, Extension, FromConnect, FromDisconnect, FromEvent, FromRef,
    NsParams, Rejection, Rooms, State, TryData,
};

use crate::ConnectError;

/// A boxed future, as handlers are stored.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An async function that handles an event. Implemented for `async fn`s and closures
/// returning futures, of up to 16 arguments that implement [`FromEvent`].
///
/// A function with an argument that is not an extractor is a compile error that says
/// the function "is not an event handler" and lists the extractors it may take:
///
/// ```compile_fail
/// use socketio_server::Namespace;
///
/// struct NotAnExtractor;
/// let _ = Namespace::new().on("event", |_: NotAnExtractor| async {});
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event handler",
    label = "not an event handler",
    note = "an event handler is an async fn whose arguments all implement `FromEvent` \
            (such as `Socket`, `Data<T>`, `AckSender`, `State<T>`) and whose future is \
            `Send + 'static` and returns `()`"
)]
pub trait EventHandler<T, S>: Clone + Send + Sync + 'static {
    /// Extracts the arguments and starts the handler.
    fn call(&self, ctx: &EventContext, state: &S) -> Result<BoxFuture<()>, Rejection>;
}

/// An async function that runs when a socket has joined a namespace. Implemented for
/// async functions of up to 16 arguments that implement [`FromConnect`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a connect handler",
    label = "not a connect handler",
    note = "a connect handler is an async fn whose arguments all implement `FromConnect` \
            (such as `Socket`, `Auth<T>`, `State<T>`) and whose future is `Send + 'static` \
            and returns `()`"
)]
pub trait ConnectHandler<T, S>: Clone + Send + Sync + 'static {
    /// Extracts the arguments and starts the handler.
    fn call(&self, ctx: &ConnectContext, state: &S) -> Result<BoxFuture<()>, Rejection>;
}

/// An async function that decides whether a socket may join a namespace: `Ok(())` lets
/// it in, an error refuses it with a CONNECT_ERROR packet carrying the error's message
/// and data. Implemented for async functions of up to 16 arguments that implement
/// [`FromConnect`] and return `Result<(), E>` with `E: Into<ConnectError>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a connect middleware",
    label = "not a connect middleware",
    note = "a middleware is an async fn whose arguments all implement `FromConnect` and \
            that returns `Result<(), E>` where `E: Into<ConnectError>`"
)]
pub trait ConnectMiddleware<T, S>: Clone + Send + Sync + 'static {
    /// Extracts the arguments and starts the middleware.
    fn call(
        &self,
        ctx: &ConnectContext,
        state: &S,
    ) -> Result<BoxFuture<Result<(), ConnectError>>, Rejection>;
}

/// An async function that runs when a socket has left its namespace. Implemented for
/// async functions of up to 16 arguments that implement [`FromDisconnect`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a disconnect handler",
    label = "not a disconnect handler",
    note = "a disconnect handler is an async fn whose arguments all implement \
            `FromDisconnect` (such as `Socket`, `DisconnectReason`, `State<T>`)"
)]
pub trait DisconnectHandler<T, S>: Clone + Send + Sync + 'static {
    /// Extracts the arguments and starts the handler.
    fn call(&self, ctx: &DisconnectContext, state: &S) -> Result<BoxFuture<()>, Rejection>;
}

macro_rules! impl_handlers {
    ($($ty:ident),*) => {
        #[diagnostic::do_not_recommend]
        impl<F, Fut, S, $($ty,)*> EventHandler<($($ty,)*), S> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($ty: FromEvent<S>,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(&self, ctx: &EventContext, state: &S) -> Result<BoxFuture<()>, Rejection> {
                $(let $ty = $ty::from_event(ctx, state)?;)*
                Ok(Box::pin((self)($($ty),*)))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<F, Fut, S, $($ty,)*> ConnectHandler<($($ty,)*), S> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($ty: FromConnect<S>,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(&self, ctx: &ConnectContext, state: &S) -> Result<BoxFuture<()>, Rejection> {
                $(let $ty = $ty::from_connect(ctx, state)?;)*
                Ok(Box::pin((self)($($ty),*)))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<F, Fut, E, S, $($ty,)*> ConnectMiddleware<(E, $($ty,)*), S> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Result<(), E>> + Send + 'static,
            E: Into<ConnectError>,
            $($ty: FromConnect<S>,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(
                &self,
                ctx: &ConnectContext,
                state: &S,
            ) -> Result<BoxFuture<Result<(), ConnectError>>, Rejection> {
                $(let $ty = $ty::from_connect(ctx, state)?;)*
                let future = (self)($($ty),*);
                Ok(Box::pin(async move { future.await.map_err(Into::into) }))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<F, Fut, S, $($ty,)*> DisconnectHandler<($($ty,)*), S> for F
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($ty: FromDisconnect<S>,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(&self, ctx: &DisconnectContext, state: &S) -> Result<BoxFuture<()>, Rejection> {
                $(let $ty = $ty::from_disconnect(ctx, state)?;)*
                Ok(Box::pin((self)($($ty),*)))
            }
        }
    };
}

impl_handlers!();
impl_handlers!(T1);
impl_handlers!(T1, T2);
impl_handlers!(T1, T2, T3);
impl_handlers!(T1, T2, T3, T4);
impl_handlers!(T1, T2, T3, T4, T5);
impl_handlers!(T1, T2, T3, T4, T5, T6);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13);
impl_handlers!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14);
impl_handlers!(
    T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15
);
impl_handlers!(
    T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15, T16
);
