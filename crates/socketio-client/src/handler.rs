//! Handlers are async functions whose arguments are extractors, as on the server (and
//! in axum): `|Data(msg): Data<String>, ack: AckSender| async move { ... }`.

use std::{future::Future, pin::Pin, sync::Arc};

use bytes::Bytes;
use bytestring::ByteString;
use serde::{Serialize, de::DeserializeOwned};
use socketio_core::{Args, ArgsError, Value};

use crate::{EmitError, Socket};

/// A boxed future, as handlers are stored.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A handler with its state, its types erased.
pub(crate) type ErasedHandler =
    Arc<dyn Fn(&EventContext) -> Result<BoxFuture<()>, Rejection> + Send + Sync>;

/// An incoming event, as extractors see it. The reserved events are delivered the same
/// way: `connect` with no argument, `disconnect` with the reason's words, and
/// `connect_error` with `{message, data}`.
#[derive(Debug, Clone)]
pub struct EventContext {
    pub(crate) socket: Socket,
    pub(crate) event: ByteString,
    pub(crate) args: Args,
    pub(crate) ack: Option<u64>,
}

impl EventContext {
    /// The socket the event came to.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The event's arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The id of the acknowledgement the server waits for, if it asked for one.
    pub fn ack_id(&self) -> Option<u64> {
        self.ack
    }
}

/// Why an extractor could not produce its value: the handler does not run, and the
/// failure is logged (`tracing`, at `warn`) with the namespace and event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The event's arguments do not fit the type asked for.
    #[error("the arguments do not fit: {0}")]
    Data(#[from] ArgsError),
    /// The handler asks for an [`AckSender`] but the server asked for no acknowledgement.
    #[error("the server asked for no acknowledgement")]
    NoAck,
    /// A custom extractor's failure.
    #[error("{0}")]
    Custom(String),
}

/// Extracts a value from an incoming event. Implement it for your own extractors.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a client event handler",
    note = "handler arguments implement `FromEvent`: `Socket`, `Data<T>`, `TryData<T>`, `Bin`, \
            `Args`, `AckSender`, `Event`, `State<T>`, and `Option<_>` / `Result<_, Rejection>` of them"
)]
pub trait FromEvent<S>: Sized {
    /// Extracts the value.
    ///
    /// # Errors
    ///
    /// When the value cannot be extracted; the handler does not run.
    fn from_event(ctx: &EventContext, state: &S) -> Result<Self, Rejection>;
}

/// An async function that handles an event. Implemented for `async fn`s and closures
/// returning futures, of up to 12 arguments that implement [`FromEvent`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a client event handler",
    label = "not an event handler",
    note = "an event handler is an async fn whose arguments all implement `FromEvent` \
            (such as `Socket`, `Data<T>`, `AckSender`, `State<T>`) and whose future is \
            `Send + 'static` and returns `()`"
)]
pub trait EventHandler<T, S>: Clone + Send + Sync + 'static {
    /// Extracts the arguments and starts the handler.
    ///
    /// # Errors
    ///
    /// When an extractor fails.
    fn call(&self, ctx: &EventContext, state: &S) -> Result<BoxFuture<()>, Rejection>;
}

macro_rules! impl_handler {
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
    };
}

impl_handler!();
impl_handler!(T1);
impl_handler!(T1, T2);
impl_handler!(T1, T2, T3);
impl_handler!(T1, T2, T3, T4);
impl_handler!(T1, T2, T3, T4, T5);
impl_handler!(T1, T2, T3, T4, T5, T6);
impl_handler!(T1, T2, T3, T4, T5, T6, T7);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);

impl<S> FromEvent<S> for Socket {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        Ok(ctx.socket.clone())
    }
}

/// Makes a part of a state type out of the whole, so that a handler can ask for only
/// the part it needs: `State<Db>` from a socket whose state is `AppState`.
pub trait FromRef<T> {
    /// Takes the part.
    fn from_ref(input: &T) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(input: &T) -> Self {
        input.clone()
    }
}

/// The socket's state (see [`SocketBuilder::with_state`](crate::SocketBuilder::with_state)),
/// or a part of it through [`FromRef`].
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<S, T: FromRef<S>> FromEvent<S> for State<T> {
    fn from_event(_: &EventContext, state: &S) -> Result<Self, Rejection> {
        Ok(Self(T::from_ref(state)))
    }
}

/// The event's arguments as a type of yours. A tuple takes one argument per element,
/// `()` none, any other type the first argument; binary arguments deserialize into
/// `bytes::Bytes` (or `Vec<u8>`). When they do not fit, the handler does not run.
#[derive(Debug, Clone)]
pub struct Data<T>(pub T);

impl<S, T: DeserializeOwned> FromEvent<S> for Data<T> {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        Ok(Self(ctx.args.deserialize()?))
    }
}

/// The event's arguments as a type of yours, or why they do not fit: the handler runs
/// either way.
#[derive(Debug)]
pub struct TryData<T>(pub Result<T, ArgsError>);

impl<S, T: DeserializeOwned> FromEvent<S> for TryData<T> {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        Ok(Self(ctx.args.deserialize()))
    }
}

/// Every binary value in the event's arguments, in order of appearance.
#[derive(Debug, Clone, Default)]
pub struct Bin(pub Vec<Bytes>);

impl<S> FromEvent<S> for Bin {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        fn collect(value: &Value, out: &mut Vec<Bytes>) {
            match value {
                Value::Binary(data) => out.push(data.clone()),
                Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
                Value::Object(map) => map.values().for_each(|item| collect(item, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        if ctx.args.has_binary() {
            for value in ctx.args.to_values()? {
                collect(&value, &mut out);
            }
        }
        Ok(Self(out))
    }
}

/// All the event's arguments, as they came.
impl<S> FromEvent<S> for Args {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        Ok(ctx.args.clone())
    }
}

/// The event's name (useful in a catch-all handler).
#[derive(Debug, Clone)]
pub struct Event(pub ByteString);

impl<S> FromEvent<S> for Event {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        Ok(Self(ctx.event.clone()))
    }
}

/// Answers the server's acknowledgement for this event. The extraction fails when the
/// server asked for none; take `Option<AckSender>` to accept both.
#[derive(Debug, Clone)]
pub struct AckSender {
    socket: Socket,
    id: u64,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: u64) -> Self {
        Self { socket, id }
    }

    /// Sends the answer: a tuple is several arguments, `()` none, anything else one.
    ///
    /// # Errors
    ///
    /// When the arguments cannot be encoded, or the Manager has stopped.
    pub fn send<T: Serialize + ?Sized>(self, args: &T) -> Result<(), EmitError> {
        let args = Args::from_serialize(args)?;
        self.socket.send_ack(self.id, args)
    }

    /// Sends arguments as they are, for example those of the event itself.
    ///
    /// # Errors
    ///
    /// When the Manager has stopped.
    pub fn send_args(self, args: Args) -> Result<(), EmitError> {
        self.socket.send_ack(self.id, args)
    }
}

impl<S> FromEvent<S> for AckSender {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        let id = ctx.ack.ok_or(Rejection::NoAck)?;
        Ok(Self::new(ctx.socket.clone(), id))
    }
}

impl<S, T: FromEvent<S>> FromEvent<S> for Option<T> {
    fn from_event(ctx: &EventContext, state: &S) -> Result<Self, Rejection> {
        Ok(T::from_event(ctx, state).ok())
    }
}

impl<S, T: FromEvent<S>> FromEvent<S> for Result<T, Rejection> {
    fn from_event(ctx: &EventContext, state: &S) -> Result<Self, Rejection> {
        Ok(T::from_event(ctx, state))
    }
}
