//! Binary attachments of the text format: split them out on encode, plug them back on
//! decode.
//!
//! The spec: every binary value is "replaced by a placeholder" object
//! `{"_placeholder":true,"num":N}`, where `N` is the index of the attachment, and the
//! attachments travel as separate binary messages after the text.

use std::cell::RefCell;

use bytes::Bytes;
use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

use crate::Value;

/// The key that marks a placeholder object.
pub(crate) const PLACEHOLDER_KEY: &str = "_placeholder";
/// The key of the attachment index in a placeholder object.
pub(crate) const NUM_KEY: &str = "num";

/// Where extracted attachments are collected while serializing.
pub(crate) type Sink = RefCell<Vec<Bytes>>;

/// Serializes `value` with `serializer`, replacing each binary value (anything that
/// serializes through `serialize_bytes`) with a placeholder and collecting its bytes in
/// `sink`.
pub(crate) fn serialize_extracting<T, S>(
    value: &T,
    serializer: S,
    sink: &Sink,
) -> Result<S::Ok, S::Error>
where
    T: Serialize + ?Sized,
    S: Serializer,
{
    value.serialize(Extract {
        inner: serializer,
        sink,
    })
}

/// The placeholder that stands for attachment `num`.
struct Placeholder(usize);

impl Serialize for Placeholder {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Placeholder", 2)?;
        s.serialize_field(PLACEHOLDER_KEY, &true)?;
        s.serialize_field(NUM_KEY, &self.0)?;
        s.end()
    }
}

/// A value to serialize through [`Extract`].
struct Wrap<'a, T: ?Sized> {
    value: &'a T,
    sink: &'a Sink,
}

impl<T: Serialize + ?Sized> Serialize for Wrap<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_extracting(self.value, serializer, self.sink)
    }
}

/// A serializer that forwards to `inner`, except for bytes, which become placeholders.
struct Extract<'a, S> {
    inner: S,
    sink: &'a Sink,
}

impl<'a, S> Extract<'a, S> {
    fn wrap<'v, T: ?Sized>(&self, value: &'v T) -> Wrap<'v, T>
    where
        'a: 'v,
    {
        Wrap {
            value,
            sink: self.sink,
        }
    }
}

/// A compound serializer (seq, map, struct, ...) whose items go through [`Extract`].
struct Compound<'a, C> {
    inner: C,
    sink: &'a Sink,
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.inner.$method($($arg),*)
        })*
    };
}

impl<'a, S: Serializer> Serializer for Extract<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<'a, S::SerializeSeq>;
    type SerializeTuple = Compound<'a, S::SerializeTuple>;
    type SerializeTupleStruct = Compound<'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<'a, S::SerializeTupleVariant>;
    type SerializeMap = Compound<'a, S::SerializeMap>;
    type SerializeStruct = Compound<'a, S::SerializeStruct>;
    type SerializeStructVariant = Compound<'a, S::SerializeStructVariant>;

    forward! {
        serialize_bool(v: bool), serialize_i8(v: i8), serialize_i16(v: i16),
        serialize_i32(v: i32), serialize_i64(v: i64), serialize_i128(v: i128),
        serialize_u8(v: u8), serialize_u16(v: u16), serialize_u32(v: u32),
        serialize_u64(v: u64), serialize_u128(v: u128), serialize_f32(v: f32),
        serialize_f64(v: f64), serialize_char(v: char), serialize_str(v: &str),
        serialize_none(), serialize_unit(), serialize_unit_struct(name: &'static str),
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str),
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        let num = {
            let mut sink = self.sink.borrow_mut();
            sink.push(Bytes::copy_from_slice(v));
            sink.len() - 1
        };
        Placeholder(num).serialize(self.inner)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let wrapped = self.wrap(value);
        self.inner.serialize_some(&wrapped)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let wrapped = self.wrap(value);
        self.inner.serialize_newtype_struct(name, &wrapped)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let wrapped = self.wrap(value);
        self.inner
            .serialize_newtype_variant(name, index, variant, &wrapped)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        let c = self.inner.serialize_seq(len)?;
        Ok(Compound {
            inner: c,
            sink: self.sink,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        let c = self.inner.serialize_tuple(len)?;
        Ok(Compound {
            inner: c,
            sink: self.sink,
        })
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        let c = self.inner.serialize_tuple_struct(name, len)?;
        Ok(Compound {
            inner: c,
            sink: self.sink,
        })
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        let sink = self.sink;
        let c = self
            .inner
            .serialize_tuple_variant(name, index, variant, len)?;
        Ok(Compound { inner: c, sink })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        let c = self.inner.serialize_map(len)?;
        Ok(Compound {
            inner: c,
            sink: self.sink,
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let c = self.inner.serialize_struct(name, len)?;
        Ok(Compound {
            inner: c,
            sink: self.sink,
        })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        let sink = self.sink;
        let c = self
            .inner
            .serialize_struct_variant(name, index, variant, len)?;
        Ok(Compound { inner: c, sink })
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.collect_str(value)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

impl<C: SerializeSeq> SerializeSeq for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = Wrap {
            value,
            sink: self.sink,
        };
        self.inner.serialize_element(&wrapped)
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeTuple> SerializeTuple for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = Wrap {
            value,
            sink: self.sink,
        };
        self.inner.serialize_element(&wrapped)
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeTupleStruct> SerializeTupleStruct for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = Wrap {
            value,
            sink: self.sink,
        };
        self.inner.serialize_field(&wrapped)
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeTupleVariant> SerializeTupleVariant for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = Wrap {
            value,
            sink: self.sink,
        };
        self.inner.serialize_field(&wrapped)
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeMap> SerializeMap for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        let wrapped = Wrap {
            value: key,
            sink: self.sink,
        };
        self.inner.serialize_key(&wrapped)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        let wrapped = Wrap {
            value,
            sink: self.sink,
        };
        self.inner.serialize_value(&wrapped)
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeStruct> SerializeStruct for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        let wrapped = Wrap {
            value,
            sink: self.sink,
        };
        self.inner.serialize_field(key, &wrapped)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeStructVariant> SerializeStructVariant for Compound<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        let wrapped = Wrap {
            value,
            sink: self.sink,
        };
        self.inner.serialize_field(key, &wrapped)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.inner.skip_field(key)
    }

    fn end(self) -> Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

/// Why a placeholder could not be plugged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadPlaceholder;

/// Replaces every placeholder object in `value` with the attachment it points to.
///
/// As in the reference implementation, an object is a placeholder when its
/// `_placeholder` key is `true`; its `num` must then be an index into `attachments`.
pub(crate) fn plug(value: &mut Value, attachments: &[Bytes]) -> Result<(), BadPlaceholder> {
    match value {
        Value::Object(map) => {
            if matches!(map.get(PLACEHOLDER_KEY), Some(Value::Bool(true))) {
                let bytes = map
                    .get(NUM_KEY)
                    .and_then(|num| match num {
                        Value::Number(n) => n.as_u64(),
                        _ => None,
                    })
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| attachments.get(n))
                    .ok_or(BadPlaceholder)?;
                *value = Value::Binary(bytes.clone());
                Ok(())
            } else {
                map.values_mut().try_for_each(|v| plug(v, attachments))
            }
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| plug(v, attachments)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) | Value::Binary(_) => {
            Ok(())
        }
    }
}
