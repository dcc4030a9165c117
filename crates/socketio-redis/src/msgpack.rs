//! Values to and from msgpack as notepack.io, the codec of the Node adapter, writes and
//! reads them.

use std::collections::BTreeMap;

use bytes::Bytes;
use rmpv::Value as Mp;
use socketio_core::Value;

/// The msgpack value of a Socket.IO value: what notepack.io writes for the same
/// JavaScript value (integers in their smallest form, other numbers as float64, binary
/// as `bin`).
pub(crate) fn to_msgpack(value: &Value) -> Mp {
    match value {
        Value::Null => Mp::Nil,
        Value::Bool(b) => Mp::Boolean(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Mp::from(u)
            } else if let Some(i) = n.as_i64() {
                Mp::from(i)
            } else {
                Mp::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Mp::from(s.as_str()),
        Value::Binary(b) => Mp::Binary(b.to_vec()),
        Value::Array(items) => Mp::Array(items.iter().map(to_msgpack).collect()),
        Value::Object(map) => Mp::Map(
            map.iter()
                .map(|(k, v)| (Mp::from(k.as_str()), to_msgpack(v)))
                .collect(),
        ),
        // A kind of value added later: nil, rather than a broadcast Node cannot read.
        _ => Mp::Nil,
    }
}

/// The Socket.IO value of a msgpack value, as a Node server would pass it to its
/// clients: a `Date` (timestamp extension −1) becomes its ISO string, NaN and ±Infinity
/// become `null`, `undefined` (fixext 1 type 0) becomes `null`, other ext-0 data is an
/// `ArrayBuffer` (binary), other extensions are `[type, bytes]` as notepack.io reads
/// them. Map keys that are not strings are written as strings.
pub(crate) fn from_msgpack(value: Mp) -> Value {
    match value {
        Mp::Nil => Value::Null,
        Mp::Boolean(b) => Value::Bool(b),
        Mp::Integer(i) => {
            if let Some(u) = i.as_u64() {
                Value::from(u)
            } else if let Some(i) = i.as_i64() {
                Value::from(i)
            } else {
                Value::Null
            }
        }
        Mp::F32(f) => float(f64::from(f)),
        Mp::F64(f) => float(f),
        Mp::String(s) => match s.into_str() {
            Some(s) => Value::String(s),
            None => Value::Null,
        },
        Mp::Binary(b) => Value::Binary(Bytes::from(b)),
        Mp::Array(items) => Value::Array(items.into_iter().map(from_msgpack).collect()),
        Mp::Map(entries) => {
            let mut map = BTreeMap::new();
            for (key, value) in entries {
                let key = match key {
                    Mp::String(s) => s.into_str().unwrap_or_default(),
                    other => other.to_string(),
                };
                map.insert(key, from_msgpack(value));
            }
            Value::Object(map)
        }
        Mp::Ext(-1, data) => timestamp(&data).map_or(Value::Null, Value::String),
        Mp::Ext(0, data) if data == [0] => Value::Null,
        Mp::Ext(0, data) => Value::Binary(Bytes::from(data)),
        Mp::Ext(kind, data) => Value::Array(vec![
            Value::from(i64::from(kind)),
            Value::Binary(Bytes::from(data)),
        ]),
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// `Date.prototype.toISOString` of a msgpack timestamp (32, 64 or 96 bits).
fn timestamp(data: &[u8]) -> Option<String> {
    let (secs, nanos): (i64, u32) = match data.len() {
        4 => (i64::from(u32::from_be_bytes(data.try_into().ok()?)), 0),
        8 => {
            let raw = u64::from_be_bytes(data.try_into().ok()?);
            ((raw & 0x3_ffff_ffff) as i64, (raw >> 34) as u32)
        }
        12 => {
            let nanos = u32::from_be_bytes(data.get(..4)?.try_into().ok()?);
            let secs = i64::from_be_bytes(data.get(4..)?.try_into().ok()?);
            (secs, nanos)
        }
        _ => return None,
    };
    let millis = secs
        .checked_mul(1000)?
        .checked_add(i64::from(nanos / 1_000_000))?;
    // JavaScript dates span ±8.64e15 ms.
    if millis.abs() > 8_640_000_000_000_000 {
        return None;
    }
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{}{:06}", if year < 0 { '-' } else { '+' }, year.abs())
    };
    Some(format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    ))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Encodes a msgpack value.
pub(crate) fn encode(value: &Mp) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// Decodes one msgpack value that fills `bytes` exactly (notepack.io refuses trailing
/// bytes too).
pub(crate) fn decode(bytes: &[u8]) -> Option<Mp> {
    let mut reader = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut reader, 256).ok()?;
    reader.is_empty().then_some(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn dates_become_their_iso_string() {
        // notepack.io's 32-bit timestamp for 2000-06-13T00:00:00Z.
        let date = decode(&[0xd6, 0xff, 0x39, 0x45, 0x79, 0x80]).unwrap();
        assert_eq!(
            from_msgpack(date),
            Value::String("2000-06-13T00:00:00.000Z".into())
        );
        let mut data = vec![0xd7, 0xff];
        let raw: u64 = (123_000_000u64 << 34) | 1;
        data.extend(raw.to_be_bytes());
        assert_eq!(
            from_msgpack(decode(&data).unwrap()),
            Value::String("1970-01-01T00:00:01.123Z".into())
        );
        let mut data = vec![0xc7, 12, 0xff, 0, 0, 0, 0];
        data.extend((-86_400i64).to_be_bytes());
        assert_eq!(
            from_msgpack(decode(&data).unwrap()),
            Value::String("1969-12-31T00:00:00.000Z".into())
        );
    }

    #[test]
    fn non_finite_numbers_and_undefined_become_null() {
        let nan = decode(&[0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(from_msgpack(nan), Value::Null);
        assert_eq!(from_msgpack(decode(&[0xd4, 0, 0]).unwrap()), Value::Null);
        assert_eq!(
            from_msgpack(decode(&[0xca, 0x3f, 0xc0, 0, 0]).unwrap()),
            Value::from(1.5)
        );
    }

    #[test]
    fn integers_are_written_in_their_smallest_form() {
        assert_eq!(
            encode(&to_msgpack(&Value::from(1u64 << 40))),
            [0xcf, 0, 0, 1, 0, 0, 0, 0, 0]
        );
        assert_eq!(encode(&to_msgpack(&Value::from(-1i64))), [0xff]);
        assert_eq!(
            encode(&to_msgpack(&Value::from(0.5))),
            [0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn trailing_bytes_and_garbage_are_refused() {
        assert!(decode(&[0x90, 0x90]).is_none());
        assert!(decode(&[0xa3, b'a']).is_none());
        assert!(decode(&[]).is_none());
    }
}
