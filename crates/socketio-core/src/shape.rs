//! How typed data maps onto a list of event arguments.
//!
//! The convention: a tuple is spread over several arguments (`("a", 1)` is two
//! arguments), `()` is no argument at all, and any other type is exactly one argument
//! (a `Vec` is one argument holding an array). Serialization and deserialization follow
//! the same rule, so `emit("x", &(a, b))` on one side is read back as `(A, B)` on the
//! other.
//!
//! The shape is found by a probe that runs the type's own serde code against a
//! serializer (or deserializer) that stops at the very first call: the name of that call
//! tells what the type is, at the cost of one function call.

use std::fmt;

use serde::de::{self, Deserialize, Visitor};
use serde::forward_to_deserialize_any;
use serde::ser::{self, Impossible, Serialize, Serializer};

/// The shape of typed data seen as event arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `()`: no argument.
    Unit,
    /// A tuple of this many arguments.
    Tuple(usize),
    /// Anything else: one argument.
    Single,
}

/// The shape of `value` as event arguments.
pub(crate) fn ser_shape<T: Serialize + ?Sized>(value: &T) -> Shape {
    match value.serialize(SerProbe) {
        Ok(()) | Err(Probe::Found(Shape::Single)) | Err(Probe::Custom) => Shape::Single,
        Err(Probe::Found(shape)) => shape,
    }
}

/// The shape of `T` as event arguments.
pub(crate) fn de_shape<'de, T: Deserialize<'de>>() -> Shape {
    match T::deserialize(DeProbe) {
        Err(Probe::Found(shape)) => shape,
        Ok(_) | Err(Probe::Custom) => Shape::Single,
    }
}

/// The probe's error: the shape it found, or an error raised by the type itself.
#[derive(Debug)]
enum Probe {
    Found(Shape),
    Custom,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shape probe")
    }
}

impl std::error::Error for Probe {}

impl ser::Error for Probe {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Self::Custom
    }
}

impl de::Error for Probe {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Self::Custom
    }
}

const SINGLE: Probe = Probe::Found(Shape::Single);

struct SerProbe;

macro_rules! single {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), Probe> { Err(SINGLE) })*
    };
}

impl Serializer for SerProbe {
    type Ok = ();
    type Error = Probe;
    type SerializeSeq = Impossible<(), Probe>;
    type SerializeTuple = Impossible<(), Probe>;
    type SerializeTupleStruct = Impossible<(), Probe>;
    type SerializeTupleVariant = Impossible<(), Probe>;
    type SerializeMap = Impossible<(), Probe>;
    type SerializeStruct = Impossible<(), Probe>;
    type SerializeStructVariant = Impossible<(), Probe>;

    single! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]),
        serialize_none(), serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_unit(self) -> Result<(), Probe> {
        Err(Probe::Found(Shape::Unit))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Probe> {
        Err(SINGLE)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Probe> {
        Err(SINGLE)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Probe> {
        Err(SINGLE)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Probe> {
        Err(SINGLE)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Probe> {
        Err(Probe::Found(Shape::Tuple(len)))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Probe> {
        Err(SINGLE)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Probe> {
        Err(SINGLE)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Probe> {
        Err(SINGLE)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Probe> {
        Err(SINGLE)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Probe> {
        Err(SINGLE)
    }
}

struct DeProbe;

impl<'de> de::Deserializer<'de> for DeProbe {
    type Error = Probe;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probe> {
        Err(SINGLE)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probe> {
        Err(Probe::Found(Shape::Unit))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, _: V) -> Result<V::Value, Probe> {
        Err(Probe::Found(Shape::Tuple(len)))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit_struct newtype_struct seq tuple_struct
        map struct enum identifier ignored_any
    }
}

/// Receives the elements of a tuple, one at a time (see [`spread_tuple`]).
pub(crate) trait ElementSink {
    /// The error of the underlying format.
    type Error: ser::Error;

    /// Writes one element.
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error>;
}

/// Serializes the elements of the tuple `value` one by one into `sink`, without the
/// tuple's own array around them, so that they can be written as separate arguments.
///
/// Only call this for values whose [`ser_shape`] is [`Shape::Tuple`].
pub(crate) fn spread_tuple<T, K>(value: &T, sink: &mut K) -> Result<(), K::Error>
where
    T: Serialize + ?Sized,
    K: ElementSink,
{
    value.serialize(Spread(sink))
}

struct Spread<'a, K>(&'a mut K);

fn not_a_tuple<E: ser::Error>() -> E {
    E::custom("the value serialized differently from its shape probe")
}

macro_rules! not_a_tuple {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), K::Error> { Err(not_a_tuple()) })*
    };
}

impl<K: ElementSink> Serializer for Spread<'_, K> {
    type Ok = ();
    type Error = K::Error;
    type SerializeSeq = Impossible<(), K::Error>;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Impossible<(), K::Error>;
    type SerializeTupleVariant = Impossible<(), K::Error>;
    type SerializeMap = Impossible<(), K::Error>;
    type SerializeStruct = Impossible<(), K::Error>;
    type SerializeStructVariant = Impossible<(), K::Error>;

    not_a_tuple! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]),
        serialize_none(), serialize_unit(), serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), K::Error> {
        Err(not_a_tuple())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), K::Error> {
        Err(not_a_tuple())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), K::Error> {
        Err(not_a_tuple())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, K::Error> {
        Err(not_a_tuple())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self, K::Error> {
        Ok(self)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, K::Error> {
        Err(not_a_tuple())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, K::Error> {
        Err(not_a_tuple())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, K::Error> {
        Err(not_a_tuple())
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, K::Error> {
        Err(not_a_tuple())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, K::Error> {
        Err(not_a_tuple())
    }
}

impl<K: ElementSink> ser::SerializeTuple for Spread<'_, K> {
    type Ok = ();
    type Error = K::Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), K::Error> {
        self.0.element(value)
    }

    fn end(self) -> Result<(), K::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn shapes_of_common_types() {
        assert_eq!(ser_shape(&()), Shape::Unit);
        assert_eq!(ser_shape(&(1, "a")), Shape::Tuple(2));
        assert_eq!(ser_shape(&(1,)), Shape::Tuple(1));
        assert_eq!(ser_shape(&vec![1, 2]), Shape::Single);
        assert_eq!(ser_shape(&"a"), Shape::Single);
        assert_eq!(ser_shape(&Some((1, 2))), Shape::Single);
        assert_eq!(ser_shape(&Box::new((1, 2))), Shape::Tuple(2));
        assert_eq!(ser_shape(&HashMap::<String, u8>::new()), Shape::Single);

        assert_eq!(de_shape::<()>(), Shape::Unit);
        assert_eq!(de_shape::<(u8, String)>(), Shape::Tuple(2));
        assert_eq!(de_shape::<Vec<u8>>(), Shape::Single);
        assert_eq!(de_shape::<Option<(u8, u8)>>(), Shape::Single);
        assert_eq!(de_shape::<String>(), Shape::Single);
        assert_eq!(de_shape::<Box<(u8, u8)>>(), Shape::Tuple(2));
    }
}
