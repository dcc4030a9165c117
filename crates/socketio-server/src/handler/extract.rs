//! The extractors.

use bytes::Bytes;
use bytestring::ByteString;
use serde::{Serialize, de::DeserializeOwned};
use socketio_core::{ArgsError, Value};

use super::{ConnectContext, DisconnectContext, EventContext};
use crate::{DisconnectReason, EmitError, Handshake, Socket, SocketIo};

/// Why an extractor could not produce its value. The handler does not run; the failure
/// is logged with the socket and event, and reported to the server's error hook.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The event's arguments do not fit the type asked for.
    #[error("the arguments do not fit: {0}")]
    Data(#[from] ArgsError),
    /// The auth data does not fit the type asked for.
    #[error("the auth data does not fit: {0}")]
    Auth(#[source] serde_json::Error),
    /// The handler asks for an [`AckSender`] but the client asked for no acknowledgement.
    #[error("the client asked for no acknowledgement")]
    NoAck,
    /// No extension of the type asked for is on the socket.
    #[error("no extension of type {0} on the socket")]
    MissingExtension(&'static str),
    /// A custom extractor's failure.
    #[error("{0}")]
    Custom(String),
}

/// Extracts a value from an incoming event. Implement it for your own extractors.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of an event handler",
    note = "event handler arguments implement `FromEvent`: `Socket`, `Data<T>`, `TryData<T>`, \
            `Bin`, `AckSender`, `Event`, `State<T>`, `Auth<T>`, `Handshake`, `Extension<T>`, \
            `NsParams`, `SocketIo`, and `Option<_>` / `Result<_, Rejection>` of them"
)]
pub trait FromEvent<S>: Sized {
    /// Extracts the value.
    fn from_event(ctx: &EventContext, state: &S) -> Result<Self, Rejection>;
}

/// Extracts a value when a socket joins a namespace (connect handlers and middlewares).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a connect handler or middleware",
    note = "connect handler arguments implement `FromConnect`: `Socket`, `Auth<T>`, \
            `Handshake`, `State<T>`, `Extension<T>`, `NsParams`, `SocketIo`"
)]
pub trait FromConnect<S>: Sized {
    /// Extracts the value.
    fn from_connect(ctx: &ConnectContext, state: &S) -> Result<Self, Rejection>;
}

/// Extracts a value when a socket leaves its namespace.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a disconnect handler",
    note = "disconnect handler arguments implement `FromDisconnect`: `Socket`, \
            `DisconnectReason`, `State<T>`, `Auth<T>`, `Handshake`, `Extension<T>`, `SocketIo`"
)]
pub trait FromDisconnect<S>: Sized {
    /// Extracts the value.
    fn from_disconnect(ctx: &DisconnectContext, state: &S) -> Result<Self, Rejection>;
}

/// Values that come from the socket alone, in every kind of handler.
trait FromSocket<S>: Sized {
    fn from_socket(socket: &Socket, state: &S) -> Result<Self, Rejection>;
}

macro_rules! via_socket {
    ([$($gen:ident),*] $ty:ty) => {
        impl<S, $($gen),*> FromEvent<S> for $ty
        where
            $ty: FromSocket<S>,
        {
            fn from_event(ctx: &EventContext, state: &S) -> Result<Self, Rejection> {
                <$ty as FromSocket<S>>::from_socket(&ctx.socket, state)
            }
        }

        impl<S, $($gen),*> FromConnect<S> for $ty
        where
            $ty: FromSocket<S>,
        {
            fn from_connect(ctx: &ConnectContext, state: &S) -> Result<Self, Rejection> {
                <$ty as FromSocket<S>>::from_socket(&ctx.socket, state)
            }
        }

        impl<S, $($gen),*> FromDisconnect<S> for $ty
        where
            $ty: FromSocket<S>,
        {
            fn from_disconnect(ctx: &DisconnectContext, state: &S) -> Result<Self, Rejection> {
                <$ty as FromSocket<S>>::from_socket(&ctx.socket, state)
            }
        }
    };
}

impl<S> FromSocket<S> for Socket {
    fn from_socket(socket: &Socket, _: &S) -> Result<Self, Rejection> {
        Ok(socket.clone())
    }
}
via_socket!([] Socket);

impl<S> FromSocket<S> for SocketIo {
    fn from_socket(socket: &Socket, _: &S) -> Result<Self, Rejection> {
        Ok(socket.io().clone())
    }
}
via_socket!([] SocketIo);

impl<S> FromSocket<S> for Handshake {
    fn from_socket(socket: &Socket, _: &S) -> Result<Self, Rejection> {
        Ok(socket.handshake().clone())
    }
}
via_socket!([] Handshake);

/// Makes a part of a state type out of the whole, so that a handler can ask for only
/// the part it needs: `State<Db>` from a namespace whose state is `AppState`.
pub trait FromRef<T> {
    /// Takes the part.
    fn from_ref(input: &T) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(input: &T) -> Self {
        input.clone()
    }
}

/// The namespace's state (see [`Namespace::with_state`](crate::Namespace::with_state)),
/// or a part of it through [`FromRef`].
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<S, T: FromRef<S>> FromSocket<S> for State<T> {
    fn from_socket(_: &Socket, state: &S) -> Result<Self, Rejection> {
        Ok(Self(T::from_ref(state)))
    }
}
via_socket!([T] State<T>);

/// The auth data the client sent with its namespace CONNECT, as a type of yours.
#[derive(Debug, Clone)]
pub struct Auth<T>(pub T);

impl<S, T: DeserializeOwned> FromSocket<S> for Auth<T> {
    fn from_socket(socket: &Socket, _: &S) -> Result<Self, Rejection> {
        socket
            .handshake()
            .auth_as()
            .map(Self)
            .map_err(Rejection::Auth)
    }
}
via_socket!([T] Auth<T>);

/// A value stored on the socket with [`Socket::insert_extension`] (for example by a
/// middleware), cloned.
#[derive(Debug, Clone)]
pub struct Extension<T>(pub T);

impl<S, T: Clone + Send + Sync + 'static> FromSocket<S> for Extension<T> {
    fn from_socket(socket: &Socket, _: &S) -> Result<Self, Rejection> {
        socket
            .extension::<T>()
            .map(Self)
            .ok_or(Rejection::MissingExtension(std::any::type_name::<T>()))
    }
}
via_socket!([T] Extension<T>);

/// The parameters a dynamic namespace's pattern captured: `{id}` in `/room/{id}`.
#[derive(Debug, Clone, Default)]
pub struct NsParams(pub(crate) Vec<(String, String)>);

impl NsParams {
    /// The value captured for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl<S> FromSocket<S> for NsParams {
    fn from_socket(socket: &Socket, _: &S) -> Result<Self, Rejection> {
        Ok(socket.ns_params())
    }
}
via_socket!([] NsParams);

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

/// All the event's arguments, as they came: to pass them on unchanged (with
/// [`Socket::emit_args`] or [`AckSender::send_args`]), or to read them later.
impl<S> FromEvent<S> for socketio_core::Args {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        Ok(ctx.args.clone())
    }
}

/// The event's name.
#[derive(Debug, Clone)]
pub struct Event(pub ByteString);

impl<S> FromEvent<S> for Event {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        Ok(Self(ctx.event.clone()))
    }
}

/// Answers the client's acknowledgement for this event. The extraction fails when the
/// client asked for none; take `Option<AckSender>` to accept both.
#[derive(Debug, Clone)]
pub struct AckSender {
    socket: Socket,
    id: u64,
}

impl AckSender {
    /// Sends the answer: a tuple is several arguments, `()` none, anything else one.
    pub fn send<T: Serialize + ?Sized>(self, args: &T) -> Result<(), EmitError> {
        self.socket.send_ack(self.id, args)
    }

    /// Sends arguments as they are, for example those of the event itself.
    pub fn send_args(self, args: socketio_core::Args) -> Result<(), EmitError> {
        self.socket.send_ack_args(self.id, args)
    }
}

impl<S> FromEvent<S> for AckSender {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        let id = ctx.ack.ok_or(Rejection::NoAck)?;
        Ok(Self {
            socket: ctx.socket.clone(),
            id,
        })
    }
}

/// The socket's rooms (its own id included): as they are for events and connect
/// handlers, as they were for disconnecting and disconnect handlers.
#[derive(Debug, Clone, Default)]
pub struct Rooms(pub Vec<crate::Room>);

impl<S> FromEvent<S> for Rooms {
    fn from_event(ctx: &EventContext, _: &S) -> Result<Self, Rejection> {
        Ok(Self(ctx.socket.rooms()))
    }
}

impl<S> FromConnect<S> for Rooms {
    fn from_connect(ctx: &ConnectContext, _: &S) -> Result<Self, Rejection> {
        Ok(Self(ctx.socket.rooms()))
    }
}

impl<S> FromDisconnect<S> for Rooms {
    fn from_disconnect(ctx: &DisconnectContext, _: &S) -> Result<Self, Rejection> {
        Ok(Self(ctx.rooms.clone()))
    }
}

impl<S> FromDisconnect<S> for DisconnectReason {
    fn from_disconnect(ctx: &DisconnectContext, _: &S) -> Result<Self, Rejection> {
        Ok(ctx.reason)
    }
}

macro_rules! wrappers {
    ($trait:ident, $method:ident, $ctx:ty) => {
        impl<S, T: $trait<S>> $trait<S> for Option<T> {
            fn $method(ctx: &$ctx, state: &S) -> Result<Self, Rejection> {
                Ok(T::$method(ctx, state).ok())
            }
        }

        impl<S, T: $trait<S>> $trait<S> for Result<T, Rejection> {
            fn $method(ctx: &$ctx, state: &S) -> Result<Self, Rejection> {
                Ok(T::$method(ctx, state))
            }
        }
    };
}

wrappers!(FromEvent, from_event, EventContext);
wrappers!(FromConnect, from_connect, ConnectContext);
wrappers!(FromDisconnect, from_disconnect, DisconnectContext);
