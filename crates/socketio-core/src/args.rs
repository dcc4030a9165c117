//! The arguments of an event or an acknowledgement, decoded lazily.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use serde::de::value::{SeqAccessDeserializer, UnitDeserializer};
use serde::de::{DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserializer as _, Serialize};

use crate::attachments::plug;
use crate::shape::{Shape, de_shape};
use crate::text_encode::write_args_array;
use crate::value_de::ItemsAccess;
use crate::{ArgsError, EncodeError, Value};

/// The arguments of an EVENT (after its name) or of an ACK.
///
/// Decoding an event does not build a tree of its arguments: with the text format the
/// arguments stay as the JSON text they arrived in (a cheap slice of the message), and
/// are only parsed when a handler asks for them with [`Args::deserialize`] (typed) or
/// [`Args::to_values`] (dynamic). Arguments that hold binary (or that came from msgpack)
/// are kept as [`Value`]s, with the binary in place.
///
/// # Typed arguments
///
/// `T` maps onto the list of arguments with one rule, the same on both sides:
///
/// - a tuple `(A, B, ...)` takes one argument per element (extra arguments are ignored,
///   as JavaScript ignores them);
/// - `()` takes none;
/// - any other type takes the first argument. When there is no argument, `T` is read
///   from "nothing", so an `Option<_>` gives `None`.
///
/// A `Vec<_>` is one argument holding an array, not the list of arguments; ask for a
/// tuple to get several.
///
/// ```
/// use socketio_core::{Args, Value};
///
/// let args = Args::from_serialize(&("hello", 42)).unwrap();
/// assert_eq!(args.len(), 2);
/// let (s, n): (String, u32) = args.deserialize().unwrap();
/// assert_eq!((s.as_str(), n), ("hello", 42));
/// let first: String = args.deserialize().unwrap();
/// assert_eq!(first, "hello");
/// assert_eq!(args.to_values().unwrap(), vec![Value::from("hello"), Value::from(42u64)]);
/// ```
#[derive(Clone, Default)]
pub struct Args {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Json(JsonArgs),
    Values(Vec<Value>),
}

impl Default for Repr {
    fn default() -> Self {
        Self::Values(Vec::new())
    }
}

/// Arguments kept as JSON text.
#[derive(Clone)]
struct JsonArgs {
    /// A whole JSON array; for an event, its first element is the event name.
    text: ByteString,
    /// Whether the first element of `text` is the event name, to skip.
    skip_first: bool,
    /// Where the argument elements are in `text`, without the brackets and without the
    /// event name: what goes after `[` (and after the name and its comma) when encoding.
    elems: Range<usize>,
    /// The number of arguments.
    len: usize,
    /// Binary attachments the placeholders of `text` point to.
    attachments: Vec<Bytes>,
}

impl JsonArgs {
    fn elems(&self) -> &str {
        self.text.get(self.elems.clone()).unwrap_or_default()
    }
}

impl Args {
    /// No argument.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Arguments from dynamic values.
    #[must_use]
    pub fn from_values(values: Vec<Value>) -> Self {
        Self {
            repr: Repr::Values(values),
        }
    }

    /// Arguments from typed data, following the tuple rule of the type docs: a tuple is
    /// several arguments, `()` none, anything else one.
    ///
    /// The data is serialized to JSON once, here; binary values in it (anything that
    /// serializes with `serialize_bytes`, such as `bytes::Bytes` or [`Value::Binary`])
    /// are kept aside as attachments.
    ///
    /// # Errors
    ///
    /// When the `Serialize` impl of `data` fails.
    pub fn from_serialize<T: Serialize + ?Sized>(data: &T) -> Result<Self, EncodeError> {
        let mut buf = BytesMut::new();
        let sink = RefCell::new(Vec::new());
        let len = write_args_array(&mut buf, None, data, &sink)?;
        let end = buf.len().saturating_sub(1);
        let text = ByteString::try_from(buf).map_err(|_| EncodeError::NotUtf8)?;
        Ok(Self {
            repr: Repr::Json(JsonArgs {
                text,
                skip_first: false,
                elems: 1.min(end)..end,
                len,
                attachments: sink.into_inner(),
            }),
        })
    }

    /// Lazy arguments over JSON text that the decoder has already validated.
    pub(crate) fn from_json(
        text: ByteString,
        skip_first: bool,
        elems: Range<usize>,
        len: usize,
    ) -> Self {
        Self {
            repr: Repr::Json(JsonArgs {
                text,
                skip_first,
                elems,
                len,
                attachments: Vec::new(),
            }),
        }
    }

    /// The number of arguments.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Json(j) => j.len,
            Repr::Values(v) => v.len(),
        }
    }

    /// Whether there is no argument.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether any argument holds binary data.
    #[must_use]
    pub fn has_binary(&self) -> bool {
        match &self.repr {
            Repr::Json(j) => !j.attachments.is_empty(),
            Repr::Values(v) => v.iter().any(Value::has_binary),
        }
    }

    /// The arguments as the JSON text they arrived in: the elements separated by commas,
    /// without the surrounding brackets and without the event name (wrap them in `[`
    /// and `]` to get a JSON array). `None` when the arguments are not kept as JSON text
    /// (binary arguments, msgpack, or values built by hand).
    #[must_use]
    pub fn raw_json(&self) -> Option<&str> {
        match &self.repr {
            Repr::Json(j) if j.attachments.is_empty() => Some(j.elems()),
            Repr::Json(_) | Repr::Values(_) => None,
        }
    }

    /// Deserializes the arguments into `T`, following the tuple rule of the type docs.
    ///
    /// Arguments kept as JSON text are read straight from the text; binary arguments
    /// go through [`Value`], so `bytes::Bytes` (or anything that accepts bytes) receives
    /// them.
    ///
    /// # Errors
    ///
    /// When the arguments do not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ArgsError> {
        let shape = de_shape::<T>();
        match &self.repr {
            Repr::Json(j) if j.attachments.is_empty() => {
                let mut de = serde_json::Deserializer::from_str(&j.text);
                let value = de.deserialize_seq(ArgsVisitor::<T> {
                    skip_first: j.skip_first,
                    shape,
                    marker: PhantomData,
                })?;
                de.end()?;
                Ok(value)
            }
            Repr::Json(_) => from_items(&self.to_values()?, shape),
            Repr::Values(values) => from_items(values, shape),
        }
    }

    /// The arguments as dynamic values, binary in place.
    ///
    /// # Errors
    ///
    /// When a placeholder points to no attachment (only possible for arguments built
    /// from a `Serialize` impl that wrote a placeholder object of its own).
    pub fn to_values(&self) -> Result<Vec<Value>, ArgsError> {
        match &self.repr {
            Repr::Json(j) => {
                let mut de = serde_json::Deserializer::from_str(&j.text);
                let mut values = de.deserialize_seq(ValuesVisitor {
                    skip_first: j.skip_first,
                })?;
                de.end()?;
                if !j.attachments.is_empty() {
                    for v in &mut values {
                        plug(v, &j.attachments).map_err(|_| ArgsError::InvalidPlaceholder)?;
                    }
                }
                Ok(values)
            }
            Repr::Values(values) => Ok(values.clone()),
        }
    }

    /// The arguments as dynamic values, binary in place, consuming them.
    ///
    /// # Errors
    ///
    /// As [`Args::to_values`].
    pub fn into_values(self) -> Result<Vec<Value>, ArgsError> {
        match self.repr {
            Repr::Values(values) => Ok(values),
            Repr::Json(_) => self.to_values(),
        }
    }

    /// The argument elements as JSON text when it can be copied verbatim into a packet
    /// whose attachments so far are `attachments_before`: the text and its attachments.
    pub(crate) fn json_elems(&self, attachments_before: usize) -> Option<(&str, &[Bytes])> {
        match &self.repr {
            // Placeholders count from 0: the text is only reusable as the first source of
            // attachments in the packet.
            Repr::Json(j) if j.attachments.is_empty() || attachments_before == 0 => {
                Some((j.elems(), &j.attachments))
            }
            Repr::Json(_) | Repr::Values(_) => None,
        }
    }

    /// The values, when kept as values.
    pub(crate) fn values(&self) -> Option<&[Value]> {
        match &self.repr {
            Repr::Values(values) => Some(values),
            Repr::Json(_) => None,
        }
    }
}

impl From<Vec<Value>> for Args {
    fn from(values: Vec<Value>) -> Self {
        Self::from_values(values)
    }
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Json(j) => f
                .debug_struct("Args")
                .field("json", &j.elems())
                .field("attachments", &j.attachments.len())
                .finish(),
            Repr::Values(v) => f.debug_struct("Args").field("values", v).finish(),
        }
    }
}

/// Compares the arguments as values: JSON text and values that mean the same are equal.
/// This parses JSON text, so it is meant for tests, not for hot paths.
impl PartialEq for Args {
    fn eq(&self, other: &Self) -> bool {
        match (self.to_values(), other.to_values()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// Reads `T` out of the argument array, skipping the event name if there is one.
struct ArgsVisitor<T> {
    skip_first: bool,
    shape: Shape,
    marker: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for ArgsVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of arguments")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        if self.skip_first {
            seq.next_element::<IgnoredAny>()?;
        }
        let value = match self.shape {
            Shape::Unit => T::deserialize(UnitDeserializer::new())?,
            Shape::Tuple(_) => T::deserialize(SeqAccessDeserializer::new(&mut seq))?,
            Shape::Single => match seq.next_element::<T>()? {
                Some(value) => value,
                None => T::deserialize(UnitDeserializer::new())?,
            },
        };
        // Trailing arguments the handler did not ask for are fine.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(value)
    }
}

/// Reads the argument array as values, skipping the event name if there is one.
struct ValuesVisitor {
    skip_first: bool,
}

impl<'de> Visitor<'de> for ValuesVisitor {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of arguments")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        if self.skip_first {
            seq.next_element::<IgnoredAny>()?;
        }
        let mut values = Vec::new();
        while let Some(v) = seq.next_element()? {
            values.push(v);
        }
        Ok(values)
    }
}

/// Reads `T` out of argument values.
fn from_items<T: DeserializeOwned>(items: &[Value], shape: Shape) -> Result<T, ArgsError> {
    let value = match shape {
        Shape::Unit => T::deserialize(UnitDeserializer::<serde_json::Error>::new())?,
        Shape::Tuple(_) => T::deserialize(SeqAccessDeserializer::new(ItemsAccess {
            iter: items.iter(),
        }))?,
        Shape::Single => match items.first() {
            Some(first) => T::deserialize(first)?,
            None => T::deserialize(UnitDeserializer::<serde_json::Error>::new())?,
        },
    };
    Ok(value)
}
