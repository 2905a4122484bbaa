//! A form recorded as HAR `params` turned back into the body a client sent:
//! `multipart/form-data`, or `application/x-www-form-urlencoded`.

use serde_json::Value;

/// The boundary of a multipart form whose content type names none.
const BOUNDARY: &str = "sieve-replay-boundary";

/// The body of `params` (HAR 1.2: `name`, `value`, and for a file
/// `fileName` and `contentType`) as `content_type` says, and the content
/// type that describes it.
pub fn encode(params: &[Value], content_type: &str) -> (Vec<u8>, String) {
    let text = |p: &Value, field: &str| p[field].as_str().unwrap_or_default().to_owned();
    if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        let fields: Vec<String> =
            params.iter().map(|p| format!("{}={}", escape(&text(p, "name")), escape(&text(p, "value")))).collect();
        let urlencoded = content_type.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded");
        let content_type = if urlencoded { content_type } else { "application/x-www-form-urlencoded" };
        return (fields.join("&").into_bytes(), content_type.to_owned());
    }
    let (boundary, content_type) = match boundary(content_type) {
        Some(b) => (b.to_owned(), content_type.to_owned()),
        None => (BOUNDARY.to_owned(), format!("multipart/form-data; boundary={BOUNDARY}")),
    };
    let mut body = String::new();
    for p in params {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"",
            quoted(&text(p, "name"))
        ));
        if let Some(file) = p["fileName"].as_str() {
            body.push_str(&format!("; filename=\"{}\"", quoted(file)));
        }
        if let Some(kind) = p["contentType"].as_str() {
            body.push_str(&format!("\r\nContent-Type: {kind}"));
        }
        body.push_str(&format!("\r\n\r\n{}\r\n", text(p, "value")));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (body.into_bytes(), content_type)
}

/// The `boundary` parameter of a content type, unquoted.
fn boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        let value = value.trim();
        (name.trim().eq_ignore_ascii_case("boundary") && !value.is_empty()).then(|| value.trim_matches('"'))
    })
}

/// A form field's name or value percent-encoded, spaces as `+`.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A name for a quoted header parameter: quotes and line ends percent-encoded, as browsers do.
fn quoted(name: &str) -> String {
    name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn params_become_a_urlencoded_form_unless_the_type_is_multipart() {
        let params = [json!({"name": "card no", "value": "4111 1111&x=1"}), json!({"name": "ok"})];
        let (body, kind) = encode(&params, "");
        assert_eq!(
            (body.as_slice(), kind.as_str()),
            (&b"card+no=4111+1111%26x%3D1&ok="[..], "application/x-www-form-urlencoded")
        );
        let (_, kind) = encode(&params, "application/x-www-form-urlencoded; charset=UTF-8");
        assert_eq!(kind, "application/x-www-form-urlencoded; charset=UTF-8");
    }

    #[test]
    fn multipart_params_keep_the_boundary_the_type_names_or_get_one() {
        let params = [
            json!({"name": "note", "value": "hi"}),
            json!({"name": "f\"x", "fileName": "a.txt", "contentType": "text/plain", "value": "data"}),
        ];
        let (body, kind) = encode(&params, "multipart/form-data; boundary=\"XyZ\"");
        assert_eq!(kind, "multipart/form-data; boundary=\"XyZ\"");
        let expected = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n\
                        --XyZ\r\nContent-Disposition: form-data; name=\"f%22x\"; filename=\"a.txt\"\r\n\
                        Content-Type: text/plain\r\n\r\ndata\r\n--XyZ--\r\n";
        assert_eq!(String::from_utf8(body).unwrap(), expected);
        let (body, kind) = encode(&params[..1], "multipart/form-data");
        assert_eq!(kind, format!("multipart/form-data; boundary={BOUNDARY}"));
        assert!(body.starts_with(format!("--{BOUNDARY}\r\n").as_bytes()));
    }
}
