//! Inputs of the codec micro-benchmarks (`benches/codecs.rs`), the same messages the load
//! generator sends.

use bytes::Bytes;
use serde::Serialize;

/// The Socket.IO packet of the echo round trip, without the Engine.IO `4`.
pub const ECHO_EVENT: &str = r#"2["echo","0123456789abcdef",42]"#;

/// A chat-like event of about 1 KiB: an object with nested fields.
pub fn chat_event_json() -> String {
    let mut text = String::from(
        r#"2["chat",{"room":"general","from":{"id":"u-1234","name":"Ada Lovelace","roles":["admin","author"]},"sent":1732531200123,"lines":["#,
    );
    for line in 0..12 {
        if line > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#""line {line}: the quick brown fox jumps over the lazy dog""#
        ));
    }
    text.push_str("]}]");
    text
}

/// The arguments of [`chat_event_json`] as typed data.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Chat {
    /// The room.
    pub room: String,
    /// The author.
    pub from: Author,
    /// When it was sent, in ms since the epoch.
    pub sent: u64,
    /// The text.
    pub lines: Vec<String>,
}

/// The author of a [`Chat`].
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Author {
    /// Their id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their roles.
    pub roles: Vec<String>,
}

/// The typed form of [`chat_event_json`]'s argument.
pub fn chat() -> Chat {
    Chat {
        room: "general".into(),
        from: Author {
            id: "u-1234".into(),
            name: "Ada Lovelace".into(),
            roles: vec!["admin".into(), "author".into()],
        },
        sent: 1_732_531_200_123,
        lines: (0..12)
            .map(|line| format!("line {line}: the quick brown fox jumps over the lazy dog"))
            .collect(),
    }
}

/// A binary attachment of `len` bytes.
pub fn blob(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 31 % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}
