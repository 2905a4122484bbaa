//! `sieve replay`: runs the HTTP inspection the filter runs in Envoy over the
//! exchanges of a HAR file, and reports what would be tagged, redacted or
//! blocked. Values never appear: only detector ids, places and fingerprints.

use std::sync::Arc;

use serde_json::{json, Value};
use sieve::flow::{BodyAction, Exchange, HeaderAction, Inspector, Record};
use sieve::policy::Direction;

use crate::args::Format;

mod form;

/// What happened to one direction of an exchange.
fn verdict(action: &BodyAction) -> &'static str {
    match action {
        BodyAction::Continue | BodyAction::Hold => "pass",
        BodyAction::Replace(_) => "redacted",
        BodyAction::Block(_) | BodyAction::Reset => "blocked",
    }
}

/// One replayed exchange.
pub struct Replayed {
    pub method: String,
    pub url: String,
    pub request: &'static str,
    pub response: &'static str,
    /// The tags sent upstream, and those sent to the client.
    pub request_tags: Vec<(String, String)>,
    pub response_tags: Vec<(String, String)>,
    pub record: Record,
}

/// Replays every entry of a HAR document.
pub fn replay(inspector: &Arc<Inspector>, har: &Value) -> Result<Vec<Replayed>, String> {
    let entries = har["log"]["entries"].as_array().ok_or("not a HAR file: no log.entries array")?;
    Ok(entries.iter().map(|e| replay_entry(inspector, e)).collect())
}

fn replay_entry(inspector: &Arc<Inspector>, entry: &Value) -> Replayed {
    let request = &entry["request"];
    let method = request["method"].as_str().unwrap_or("GET").to_string();
    let url = request["url"].as_str().unwrap_or_default().to_string();
    let mut ex = Exchange::new(Arc::clone(inspector));
    let mut unread = Vec::new();
    let (request_verdict, request_tags) = replay_request(&mut ex, request, &method, &url, &mut unread);
    let (response_verdict, response_tags) = match request_verdict {
        "blocked" => ("not sent", Vec::new()),
        _ => replay_response(&mut ex, &entry["response"], &mut unread),
    };
    let mut record = ex.record().clone();
    record.skipped.extend(unread);
    Replayed { method, url, request: request_verdict, response: response_verdict, request_tags, response_tags, record }
}

/// Why a HAR body could not be replayed.
const BAD_BASE64: &str = "the HAR's base64 text does not decode";

/// Runs a HAR request through `ex`: its verdict, and the tags sent upstream.
/// A body that cannot be read is noted in `unread`.
fn replay_request(
    ex: &mut Exchange,
    request: &Value,
    method: &str,
    url: &str,
    unread: &mut Vec<(Direction, &'static str)>,
) -> (&'static str, Vec<(String, String)>) {
    let (authority, path) = split_url(url);
    let mut headers = vec![pair(":method", method), pair(":authority", authority), pair(":path", path)];
    headers.extend(har_headers(&request["headers"]));
    let body = request_body(&request["postData"], &mut headers);
    replay_direction(ex, Direction::Request, &headers, readable(body, Direction::Request, unread))
}

/// Runs a HAR response through `ex`: its verdict, and the tags sent to the client.
fn replay_response(
    ex: &mut Exchange,
    response: &Value,
    unread: &mut Vec<(Direction, &'static str)>,
) -> (&'static str, Vec<(String, String)>) {
    let status = response["status"].as_u64().unwrap_or(200).to_string();
    let mut headers = vec![pair(":status", &status)];
    headers.extend(har_headers(&response["headers"]));
    let content = &response["content"];
    with_content_type(&mut headers, content["mimeType"].as_str());
    let body = text_of(&content["text"], &content["encoding"]);
    replay_direction(ex, Direction::Response, &headers, readable(body, Direction::Response, unread))
}

/// The body, or none with the reason noted.
fn readable(
    body: Result<Vec<u8>, &'static str>,
    direction: Direction,
    unread: &mut Vec<(Direction, &'static str)>,
) -> Vec<u8> {
    body.unwrap_or_else(|why| {
        unread.push((direction, why));
        Vec::new()
    })
}

/// A request's body from its HAR `postData`: its `text`, or its `params`
/// (HAR 1.2 gives one or the other; a form is often recorded as params)
/// encoded as the content type says, multipart or URL-encoded, which
/// `headers` then carry.
fn request_body(post: &Value, headers: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Result<Vec<u8>, &'static str> {
    with_content_type(headers, post["mimeType"].as_str());
    match post["params"].as_array() {
        Some(params) if post["text"].is_null() => {
            let (body, content_type) = form::encode(params, &content_type(headers).unwrap_or_default());
            headers.retain(|(k, _)| k != b"content-type");
            headers.push(pair("content-type", &content_type));
            Ok(body)
        }
        _ => text_of(&post["text"], &post["encoding"]),
    }
}

/// Adds `content-type: mime` where the headers have none (some exporters
/// keep the type only in the body's `mimeType`).
fn with_content_type(headers: &mut Vec<(Vec<u8>, Vec<u8>)>, mime: Option<&str>) {
    match mime {
        Some(mime) if !mime.is_empty() && content_type(headers).is_none() => headers.push(pair("content-type", mime)),
        _ => {}
    }
}

/// The `content-type` header's value, if there is one.
fn content_type(headers: &[(Vec<u8>, Vec<u8>)]) -> Option<std::borrow::Cow<'_, str>> {
    headers.iter().find(|(k, _)| k == b"content-type").map(|(_, v)| String::from_utf8_lossy(v))
}

/// Runs one direction's headers, then its body if it has one, through `ex`,
/// as the filter does: the direction's verdict, and the tags its headers
/// get (those with a value; a tag without one is a peer's removed).
fn replay_direction(
    ex: &mut Exchange,
    direction: Direction,
    headers: &[(Vec<u8>, Vec<u8>)],
    body: Vec<u8>,
) -> (&'static str, Vec<(String, String)>) {
    let headers = borrowed(headers);
    let action = match direction {
        Direction::Request => ex.request_headers(&headers, body.is_empty()),
        Direction::Response => ex.response_headers(&headers, body.is_empty()),
    };
    let (tags, set) = match action {
        HeaderAction::Block(_) => {
            ex.local_reply_sent();
            return ("blocked", Vec::new());
        }
        HeaderAction::Continue { tags, set, .. } => (tags, set),
    };
    let tags = tags.into_iter().filter_map(|(name, value)| Some((name.to_string(), value?))).collect();
    let headers_verdict = if set.is_empty() { "pass" } else { "redacted" };
    if body.is_empty() {
        return (headers_verdict, tags);
    }
    let action = match direction {
        Direction::Request => ex.request_body(body, true),
        Direction::Response => ex.response_body(body, true),
    };
    if matches!(action, BodyAction::Block(_)) {
        ex.local_reply_sent();
    }
    (combined(headers_verdict, verdict(&action)), tags)
}

/// One direction's verdict from its headers' and its body's: blocked over
/// redacted over pass.
fn combined(headers: &'static str, body: &'static str) -> &'static str {
    match (headers, body) {
        (_, "blocked") => "blocked",
        ("redacted", _) | (_, "redacted") => "redacted",
        _ => "pass",
    }
}

/// One report line per exchange with findings (text), or per exchange (jsonl).
pub fn report(r: &Replayed, index: usize, format: Format) -> Option<String> {
    match format {
        Format::Jsonl => Some(
            json!({
                "entry": index,
                "method": r.method,
                "url": r.url,
                "request": r.request,
                "response": r.response,
                "tags": r.request_tags.iter().map(|(k, v)| json!({k: v})).collect::<Vec<_>>(),
                "response_tags": r.response_tags.iter().map(|(k, v)| json!({k: v})).collect::<Vec<_>>(),
                "findings": r.record.findings,
                "truncated": r.record.truncated,
                "skipped": r.record.skipped,
            })
            .to_string(),
        ),
        Format::Text if r.record.findings.is_empty() && r.record.skipped.is_empty() => None,
        Format::Text => {
            let mut out = format!("#{index} {} {}: request {}, response {}", r.method, r.url, r.request, r.response);
            for f in &r.record.findings {
                let place = f.key_path.as_deref().or(f.header.as_deref()).unwrap_or("");
                out.push_str(&format!(
                    "\n    {} {} {place} {} ({}, {}) -> {} #{}",
                    f.direction.as_str(),
                    f.part.as_str(),
                    f.detector,
                    f.category,
                    f.severity,
                    f.action.as_str(),
                    f.fingerprint.as_deref().unwrap_or_default()
                ));
            }
            for (direction, tags) in [("request", &r.request_tags), ("response", &r.response_tags)] {
                if !tags.is_empty() {
                    let tags: Vec<String> = tags.iter().map(|(name, value)| format!("{name}: {value}")).collect();
                    out.push_str(&format!("\n    {direction} tagged {}", tags.join("; ")));
                }
            }
            for (direction, why) in &r.record.skipped {
                out.push_str(&format!("\n    {} body not inspected: {why}", direction.as_str()));
            }
            Some(out)
        }
    }
}

fn pair(k: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
    (k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

/// Header pairs as the flow takes them: borrowed, like Envoy's map in the filter.
fn borrowed(headers: &[(Vec<u8>, Vec<u8>)]) -> Vec<(&[u8], &[u8])> {
    headers.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect()
}

/// A HAR header list, without pseudo-headers and without `content-encoding`:
/// HAR keeps bodies decoded (HAR 1.2: `content.text` is decompressed), so
/// the encoding no longer describes them and the flow must not decode them again.
fn har_headers(list: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| Some(pair(&h["name"].as_str()?.to_ascii_lowercase(), h["value"].as_str()?)))
        .filter(|(k, _)| !k.starts_with(b":") && k != b"content-encoding")
        .collect()
}

/// A HAR text field, base64-decoded when its `encoding` says so.
fn text_of(text: &Value, encoding: &Value) -> Result<Vec<u8>, &'static str> {
    let text = text.as_str().unwrap_or_default();
    if encoding.as_str() == Some("base64") {
        sieve::engine::validate::base64_decode(text.trim().as_bytes()).ok_or(BAD_BASE64)
    } else {
        Ok(text.as_bytes().to_vec())
    }
}

/// `https://host:port/path?q` into (authority, path with query).
fn split_url(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(split_url("https://api.example.com:8443/v1/x?y=1"), ("api.example.com:8443", "/v1/x?y=1"));
        assert_eq!(split_url("http://example.com"), ("example.com", "/"));
    }
}
