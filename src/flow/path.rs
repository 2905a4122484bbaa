//! The request path as routes and scopes match it. A client can write one
//! resource's path many ways (`/v1/%63ards`, `/v1//cards`,
//! `/healthz/../v1/cards`), and the application behind the proxy reads them
//! all as `/v1/cards`; a route matched on the path as sent would let
//! `inspect: false` reach that resource, or a blocking route miss it.

use std::borrow::Cow;

/// `path` (without its query) as Envoy's `normalize_path` with
/// `merge_slashes` has it (Istio's `MERGE_SLASHES` path normalization):
/// RFC 3986's, with percent-encoded unreserved characters decoded and `.`
/// and `..` segments removed, a backslash read as a slash, and runs of
/// slashes merged. Other escapes stay as they are (`%2F` does not end a
/// segment), and so does a path that does not start with `/` (`*`).
pub fn normalized(path: &[u8]) -> Cow<'_, [u8]> {
    let plain = !path.iter().any(|&b| b == b'%' || b == b'\\') && !path.windows(2).any(|w| w == b"//" || w == b"/.");
    if plain || !path.starts_with(b"/") {
        return Cow::Borrowed(path);
    }
    let decoded = canonical_bytes(path);
    let mut out = Vec::with_capacity(decoded.len());
    // Where each segment kept in `out` starts (its slash), for `..` to drop it.
    let mut starts = Vec::new();
    let mut ends_in_slash = false;
    for segment in decoded.split(|&b| b == b'/').skip(1) {
        ends_in_slash = matches!(segment, b"" | b"." | b"..");
        match segment {
            b"" | b"." => {}
            b".." => out.truncate(starts.pop().unwrap_or_default()),
            _ => {
                starts.push(out.len());
                out.push(b'/');
                out.extend_from_slice(segment);
            }
        }
    }
    if ends_in_slash || out.is_empty() {
        out.push(b'/');
    }
    Cow::Owned(out)
}

/// `%XX` decoded where it encodes a letter, digit, `-`, `.`, `_` or `~`,
/// and a backslash made a slash.
fn canonical_bytes(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while let Some(&b) = path.get(i) {
        let hex = |at: usize| path.get(at).and_then(|&h| (h as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) if is_unreserved((h * 16 + l) as u8) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            _ => {
                out.push(if b == b'\\' { b'/' } else { b });
                i += 1;
            }
        }
    }
    out
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(path: &str) -> String {
        String::from_utf8(normalized(path.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn one_resource_written_many_ways_is_one_path() {
        for path in [
            "/v1/cards/42",
            "/v1/%63ards/42",
            "/v1/%63%61rds/%34%32",
            "//v1///cards/42",
            "/v1/./cards/42",
            "/healthz/../v1/cards/42",
            "/healthz/%2e%2E/v1/cards/42",
            "/a/b/../../v1/cards/x/../42",
            "/../../v1/cards/42",
            "/v1\\cards\\..\\cards/42",
        ] {
            assert_eq!(n(path), "/v1/cards/42", "{path}");
        }
    }

    #[test]
    fn reserved_escapes_trailing_slashes_and_other_forms_stay() {
        assert_eq!(n("/files/a%2Fb"), "/files/a%2Fb", "an encoded slash is not a segment's end");
        assert_eq!(n("/users/ann%40example.com"), "/users/ann%40example.com");
        assert_eq!(n("/v1/cards/"), "/v1/cards/");
        assert_eq!(n("/v1/cards/."), "/v1/cards/");
        assert_eq!(n("/v1/cards/.."), "/v1/");
        assert_eq!(n("/.."), "/");
        assert_eq!(n("/"), "/");
        assert_eq!(n("/.well-known/x"), "/.well-known/x");
        assert_eq!(n("/a/..b/c"), "/a/..b/c");
        assert_eq!(n("*"), "*");
        assert_eq!(n("/%zz/%4"), "/%zz/%4", "malformed escapes stay");
        assert!(matches!(normalized(b"/v1/orders"), Cow::Borrowed(_)), "the common path is not copied");
    }
}
