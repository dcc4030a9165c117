//! The request that opened a session, kept for the session's life in little memory.
//!
//! A session keeps its handshake request (headers, URI, extensions) for the application,
//! which seldom reads it. An `http::HeaderMap` costs about 100 bytes per header plus an
//! allocation per value, so the headers are kept as one buffer of `name\0value\0` entries
//! instead, and the `http::request::Parts` is built from it the first time it is asked
//! for. The buffer and the URI are copies: the request's own header values are slices of
//! the connection's read buffer (8 KiB or more), which a session must not keep alive.

use std::sync::OnceLock;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, request::Parts};

pub(super) struct RequestHead {
    method: http::Method,
    uri: http::Uri,
    version: http::Version,
    /// For each header, in order: a byte that says whether its value is sensitive (1) or
    /// not (0), its name, 0, its value, 0 (neither holds a 0).
    headers: Bytes,
    extensions: http::Extensions,
    parts: OnceLock<Box<Parts>>,
}

impl RequestHead {
    pub(super) fn new(parts: Parts) -> Self {
        let Parts {
            method,
            uri,
            version,
            headers,
            mut extensions,
            ..
        } = parts;
        let size = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 3)
            .sum();
        let mut buffer = BytesMut::with_capacity(size);
        for (name, value) in &headers {
            buffer.put_u8(u8::from(value.is_sensitive()));
            buffer.put_slice(name.as_str().as_bytes());
            buffer.put_u8(0);
            buffer.put_slice(value.as_bytes());
            buffer.put_u8(0);
        }
        let detached = detach_uri(&uri);
        // axum's router keeps the request's URI as it came, a slice of the same buffer:
        // the same URI unless a router nested the service, then one copy serves both.
        #[cfg(feature = "axum")]
        if let Some(original) = extensions.get_mut::<axum::extract::OriginalUri>() {
            original.0 = if original.0 == uri {
                detached.clone()
            } else {
                detach_uri(&original.0)
            };
        }
        Self {
            method,
            uri: detached,
            version,
            headers: buffer.freeze(),
            extensions,
            parts: OnceLock::new(),
        }
    }

    /// The request's parts, built on first use (the header values are slices of one
    /// buffer).
    pub(super) fn parts(&self) -> &Parts {
        self.parts.get_or_init(|| {
            let (mut parts, ()) = http::Request::new(()).into_parts();
            parts.method = self.method.clone();
            parts.uri = self.uri.clone();
            parts.version = self.version;
            parts.headers = self.header_map();
            parts.extensions = self.extensions.clone();
            Box::new(parts)
        })
    }

    fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        let mut rest = self.headers.clone();
        while !rest.is_empty() {
            let sensitive = rest.split_to(1).first() == Some(&1);
            let Some(name_end) = rest.iter().position(|byte| *byte == 0) else {
                break;
            };
            let name = rest.split_to(name_end);
            let _ = rest.split_to(1);
            let value_end = rest
                .iter()
                .position(|byte| *byte == 0)
                .unwrap_or(rest.len());
            let value = rest.split_to(value_end);
            if !rest.is_empty() {
                let _ = rest.split_to(1);
            }
            // Both came from a valid name and value.
            let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(&name),
                HeaderValue::from_maybe_shared(value),
            ) else {
                continue;
            };
            value.set_sensitive(sensitive);
            map.append(name, value);
        }
        map
    }
}

/// A copy of `uri` that shares nothing with the request's buffer.
fn detach_uri(uri: &http::Uri) -> http::Uri {
    // The usual request target, a path and a query, is its own text: copied as it is,
    // rather than written out piece by piece.
    if uri.scheme().is_none() && uri.authority().is_none() {
        let target = uri.path_and_query().map(http::uri::PathAndQuery::as_str);
        let copy = target
            .map(|target| http::Uri::from_maybe_shared(Bytes::copy_from_slice(target.as_bytes())));
        if let Some(Ok(copy)) = copy {
            return copy;
        }
    }
    http::Uri::try_from(uri.to_string()).unwrap_or_else(|_| uri.clone())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn a_detached_uri_reads_as_the_original() {
        for text in [
            "/socket.io/?EIO=4&transport=websocket&x=%20y",
            "/",
            "*",
            "http://example.com:8080/socket.io/?EIO=4",
            "example.com:443",
        ] {
            let uri: http::Uri = text.parse().unwrap();
            let detached = detach_uri(&uri);
            assert_eq!(detached, uri, "{text}");
            assert_eq!(detached.to_string(), uri.to_string(), "{text}");
        }
    }

    #[test]
    fn the_parts_come_back_as_they_were() {
        let mut sensitive = HeaderValue::from_static("secret");
        sensitive.set_sensitive(true);
        let request = http::Request::builder()
            .method("GET")
            .uri("/socket.io/?EIO=4&transport=websocket&x=%20y")
            .header("host", "example.com")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .header("authorization", sensitive)
            .header("x-empty", "")
            .header("x-tab", "a\tb")
            .body(())
            .unwrap();
        let (mut original, ()) = request.into_parts();
        original.extensions.insert(7u32);
        let expected_headers = original.headers.clone();
        let head = RequestHead::new(original);
        let parts = head.parts();
        assert_eq!(parts.method, http::Method::GET);
        assert_eq!(parts.uri, "/socket.io/?EIO=4&transport=websocket&x=%20y");
        assert_eq!(parts.headers, expected_headers);
        let cookies: Vec<_> = parts.headers.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(parts.headers["authorization"].is_sensitive());
        assert!(!parts.headers["host"].is_sensitive());
        assert_eq!(parts.extensions.get::<u32>(), Some(&7));
        // Built once.
        assert!(std::ptr::eq(head.parts(), parts));
    }

    #[cfg(feature = "axum")]
    #[test]
    fn the_router_s_original_uri_is_kept_whether_or_not_it_is_the_request_s() {
        use axum::extract::OriginalUri;
        for (uri, original) in [
            ("/socket.io/?EIO=4&sid=a", "/socket.io/?EIO=4&sid=a"),
            ("/socket.io/?EIO=4&sid=a", "/api/socket.io/?EIO=4&sid=a"),
        ] {
            let (mut parts, ()) = http::Request::builder()
                .uri(uri)
                .body(())
                .unwrap()
                .into_parts();
            parts
                .extensions
                .insert(OriginalUri(original.parse().unwrap()));
            let head = RequestHead::new(parts);
            let parts = head.parts();
            assert_eq!(parts.uri, uri);
            assert_eq!(parts.extensions.get::<OriginalUri>().unwrap().0, original);
        }
    }
}
