//! Session ids.

use std::{borrow::Borrow, fmt, hash::Hash};

use base64::Engine as _;
use bytestring::ByteString;
use serde::{Deserialize, Serialize};

/// The number of random bytes in a session id made by [`Sid::from_random`]: 120 bits,
/// which base64url encodes to 20 characters without padding.
pub const SID_RANDOM_BYTES: usize = 15;

/// An Engine.IO session id.
///
/// The server makes one from [`SID_RANDOM_BYTES`] random bytes supplied by the caller
/// (the core never draws randomness itself); the client takes whatever the server sent.
///
/// ```
/// use engineio_core::Sid;
/// let sid = Sid::from_random([7; 15]);
/// assert_eq!(sid.as_str().len(), 20);
/// assert!(sid.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sid(ByteString);

impl Sid {
    /// Makes a URL-safe session id from random bytes.
    pub fn from_random(random: [u8; SID_RANDOM_BYTES]) -> Self {
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
        Self(ByteString::from(text))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Sid> for ByteString {
    /// The id's text, shared with the id (no copy).
    fn from(sid: Sid) -> Self {
        sid.0
    }
}

impl From<&str> for Sid {
    fn from(text: &str) -> Self {
        Self(ByteString::from(text))
    }
}

impl Hash for Sid {
    // Hash as the `str` it borrows as, so a map keyed by `Sid` can be searched by `&str`.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Borrow<str> for Sid {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Sid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Sid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Self(ByteString::from(text)))
    }
}
