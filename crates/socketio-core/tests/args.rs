//! Reading event arguments into typed data and dynamic values.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Deserialize;
use socketio_core::{Args, Decoder, JsonParser, Message, PacketKind, Parser, Value};

/// The arguments of a text EVENT.
fn args_of(text: &str) -> Args {
    let packet = JsonParser::default()
        .decoder()
        .decode(Message::Text(text.into()))
        .unwrap()
        .unwrap();
    match packet.kind {
        PacketKind::Event { args, .. } => args,
        other => panic!("{other:?}"),
    }
}

#[derive(Debug, PartialEq, Deserialize)]
struct Message1 {
    text: String,
    room: Option<String>,
}

#[test]
fn tuple_takes_one_argument_per_element_and_ignores_extras() {
    let args = args_of(r#"2["e","a",2,true,{"x":1}]"#);
    let (a, n): (String, u8) = args.deserialize().unwrap();
    assert_eq!((a.as_str(), n), ("a", 2));
    let all: (String, u8, bool, BTreeMap<String, u8>) = args.deserialize().unwrap();
    assert_eq!(all.3["x"], 1);
    // Asking for more arguments than sent fails.
    assert!(args.deserialize::<(String, u8, bool, Value, u8)>().is_err());
}

#[test]
fn other_types_take_the_first_argument() {
    let args = args_of(r#"2["chat",{"text":"hi"},"extra"]"#);
    let m: Message1 = args.deserialize().unwrap();
    assert_eq!(
        m,
        Message1 {
            text: "hi".into(),
            room: None
        }
    );
    let v: Value = args.deserialize().unwrap();
    assert_eq!(v.as_object().unwrap()["text"], Value::from("hi"));
    // A Vec is one argument holding an array.
    assert!(args.deserialize::<Vec<String>>().is_err());
    let args = args_of(r#"2["e",["a","b"]]"#);
    assert_eq!(args.deserialize::<Vec<String>>().unwrap(), ["a", "b"]);
}

#[test]
fn missing_argument() {
    let args = args_of(r#"2["e"]"#);
    assert!(args.is_empty());
    assert_eq!(args.deserialize::<Option<String>>().unwrap(), None);
    args.deserialize::<()>().unwrap();
    assert!(args.deserialize::<String>().is_err());
    assert_eq!(args.raw_json(), Some(""));
    assert_eq!(args.to_values().unwrap(), Vec::<Value>::new());
}

#[test]
fn unit_ignores_arguments() {
    args_of(r#"2["e",1,2]"#).deserialize::<()>().unwrap();
}

#[test]
fn same_reading_from_json_text_and_from_values() {
    let json = args_of(r#"2["e",1,"two",[3],{"four":4},null]"#);
    let values = Args::from_values(json.to_values().unwrap());
    assert_eq!(json, values);
    type T = (u8, String, Vec<u8>, BTreeMap<String, u8>, Option<u8>);
    assert_eq!(
        json.deserialize::<T>().unwrap(),
        values.deserialize::<T>().unwrap()
    );
    assert_eq!(
        json.deserialize::<u8>().unwrap(),
        values.deserialize::<u8>().unwrap()
    );
    assert!(values.deserialize::<(u8, u8)>().is_err());
}

#[derive(Debug, PartialEq, Deserialize)]
enum Command {
    Stop,
    Move { x: i32 },
    Say(String),
}

#[test]
fn value_deserializes_into_typed_data() {
    let v = Value::from(serde_json::json!([
        "Stop",
        {"Move": {"x": -3}},
        {"Say": "hi"},
        null,
        1.5,
        18446744073709551615u64
    ]));
    let (a, b, c, d, e, f): (Command, Command, Command, Option<u8>, f64, u64) =
        v.deserialize_into().unwrap();
    assert_eq!(
        (a, b, c),
        (
            Command::Stop,
            Command::Move { x: -3 },
            Command::Say("hi".into())
        )
    );
    assert_eq!((d, e, f), (None, 1.5, u64::MAX));
    // Arrays must be read whole.
    assert!(v.deserialize_into::<(Command, Command)>().is_err());
}

#[test]
fn value_round_trips_through_serde() {
    let v = Value::Object(
        [
            (
                "bin".to_owned(),
                Value::Binary(Bytes::from_static(b"\x00\x01")),
            ),
            (
                "list".to_owned(),
                Value::Array(vec![Value::Null, Value::Bool(true), Value::from(-1i64)]),
            ),
            ("s".to_owned(), Value::from("x")),
        ]
        .into(),
    );
    assert!(v.has_binary());
    let back: Value = v.deserialize_into().unwrap();
    assert_eq!(back, v);
    let bytes: Bytes = Value::Binary(Bytes::from_static(b"ab"))
        .deserialize_into()
        .unwrap();
    assert_eq!(&bytes[..], b"ab");
    assert_eq!(Value::from(f64::NAN), Value::Null);
}

#[test]
fn args_from_serialize() {
    let args = Args::from_serialize(&("a", 1)).unwrap();
    assert_eq!(args.len(), 2);
    assert_eq!(args.raw_json(), Some(r#""a",1"#));
    let args = Args::from_serialize(&vec![1, 2]).unwrap();
    assert_eq!(args.len(), 1);
    assert_eq!(args.raw_json(), Some("[1,2]"));
    let args = Args::from_serialize(&()).unwrap();
    assert!(args.is_empty());
    assert_eq!(args.raw_json(), Some(""));
    assert_eq!(args, Args::new());
}
