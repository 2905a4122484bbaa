//! A bound on how deeply YAML flow collections (`[...]`, `{...}`) nest,
//! checked before the YAML parser runs. libyaml's scanner takes time
//! quadratic in that depth: 200 KB of `[` kept it busy for over 20 seconds,
//! a worker's configure blocked all that time, before serde_yaml_ng refused
//! the document for passing its own limit of 128 levels. A policy never
//! needs more than a few.

/// Far above serde_yaml_ng's limit, so the check refuses nothing the
/// parser would accept, even where it counts a bracket that is not one (it
/// does not tell every YAML construct: a block scalar's lines among them).
const MAX_FLOW_DEPTH: usize = 1000;

/// The line (from 1) where flow collections nest past [`MAX_FLOW_DEPTH`].
pub(super) fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut line, mut i) = (0usize, 1usize, 0usize);
    // Whether a collection or a quoted scalar may start here: at a line's
    // start, after `- ` or `: `, or inside a flow collection after `[`, `{`,
    // `,` or `:`. Elsewhere a bracket or a quote is part of a plain scalar.
    let mut may_open = true;
    while i < bytes.len() {
        let b = bytes[i];
        let spaced = |at: usize| bytes.get(at).is_none_or(|b| b.is_ascii_whitespace());
        match b {
            b'\n' => {
                line += 1;
                may_open = true;
            }
            b' ' | b'\t' | b'\r' => {}
            b'#' if i == 0 || bytes[i - 1].is_ascii_whitespace() => {
                i = bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'\'' | b'"' if may_open => {
                let end = quoted_end(bytes, i);
                line += bytes[i..end].iter().filter(|&&b| b == b'\n').count();
                (i, may_open) = (end, false);
                continue;
            }
            b'[' | b'{' if may_open => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(line);
                }
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                may_open = false;
            }
            b',' if depth > 0 => may_open = true,
            b':' if depth > 0 || spaced(i + 1) => may_open = true,
            b'-' | b'?' if spaced(i + 1) => may_open = true,
            _ => may_open = false,
        }
        i += 1;
    }
    None
}

/// Where the quoted scalar opening at `start` ends (past its closing quote,
/// or the text's end): `''` is a quote in single quotes, `\` escapes in double.
fn quoted_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 1,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
            b if b == quote => return i + 1,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_found_and_brackets_in_scalars_are_not_counted() {
        let deep = format!("a: 1\ncategories: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(too_deep(&deep), Some(2));
        let flow = format!("{}{}", "{a: [".repeat(MAX_FLOW_DEPTH / 2), "]}".repeat(MAX_FLOW_DEPTH / 2));
        assert_eq!(too_deep(&flow), None, "exactly the limit");
        assert_eq!(too_deep(&format!("x: [{flow}]")), Some(1));
        // Brackets in quoted and plain scalars, and in comments, open nothing.
        let scalars = "patterns: ['[[[[', \"[[\\\"[[\"]\nplain: a[[[[\n# [[[[\n".repeat(MAX_FLOW_DEPTH);
        assert_eq!(too_deep(&scalars), None);
        let quoted = "it''s".repeat(3);
        assert_eq!(too_deep(&format!("k: '{quoted}[[[['\n{}", "k: [".repeat(MAX_FLOW_DEPTH + 1))), Some(2));
    }
}
