//! Where a request goes, as routes and scopes match it: its host name and
//! path, normalized. A client can write one resource's path many ways
//! (`/v1/%63ards`, `/v1//cards`, `/healthz/../v1/cards`) and its host with a
//! port or a trailing dot, and the application behind the proxy reads them
//! all as one; matched as sent, `inspect: false` would reach that resource,
//! or a blocking route or scope miss it.

use std::borrow::Cow;

/// The request's host name and path (without its query), normalized.
#[derive(Debug, Default)]
pub struct Destination {
    pub host: String,
    pub path: String,
}

impl Destination {
    /// From the request's `:authority` and `:path` (without its query).
    pub fn of(authority: &[u8], path: &[u8]) -> Destination {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Destination { host: text(host_name(authority)), path: text(&normalized(path)) }
    }
}

/// `host:port` → `host`, without a trailing dot (`api.example.com.` names
/// the same host); IPv6 literals keep their brackets.
pub fn host_name(authority: &[u8]) -> &[u8] {
    let host = match authority.iter().rposition(|&b| b == b':') {
        Some(colon) if !authority[colon..].contains(&b']') && authority[colon + 1..].iter().all(u8::is_ascii_digit) => {
            &authority[..colon]
        }
        _ => authority,
    };
    host.strip_suffix(b".").unwrap_or(host)
}

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
    fn hosts_lose_a_numeric_port_and_a_trailing_dot() {
        assert_eq!(host_name(b"api.example.com:8443"), b"api.example.com");
        assert_eq!(host_name(b"api.example.com.:8443"), b"api.example.com");
        assert_eq!(host_name(b"api.example.com."), b"api.example.com");
        assert_eq!(host_name(b"api.example.com"), b"api.example.com");
        assert_eq!(host_name(b"[::1]:80"), b"[::1]");
        assert_eq!(host_name(b"[::1]"), b"[::1]");
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
