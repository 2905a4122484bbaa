//! The `sieve` binary: exit codes, output formats, and no value in clear.

mod wire;

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};

/// sieve started with `args`, its standard streams piped.
fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sieve"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn sieve(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = spawn(args);
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn scan_reports_findings_as_json_lines_without_values() {
    let out = sieve(&["scan", "--format", "jsonl", "samples/api/orders-response.json"], b"");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 5, "{stdout}");
    let card = lines.iter().find(|l| l["detector"] == "credit-card").unwrap();
    for field in ["path", "detector", "category", "start", "end", "preview"] {
        assert!(!card[field].is_null(), "missing {field}");
    }
    assert_eq!(card["category"], "pci");
    assert_eq!(card["key_path"], "$.orders[0].payment.card_number");
    assert_eq!(card["preview"], "**** **** **** 7020");
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/api/orders-response.json")).unwrap();
    let (s, e) = (card["start"].as_u64().unwrap() as usize, card["end"].as_u64().unwrap() as usize);
    assert_eq!(&file[s..e], b"4532 2766 4457 7020", "offsets are byte offsets into the file");
    for value in ["4532 2766 4457 7020", "grace.hopper@example.com", "DE89 3704", "+1 415 555 0134"] {
        assert!(!stdout.contains(value), "{value} printed in clear");
    }
}

#[test]
fn scan_of_clean_input_exits_zero() {
    let out = sieve(&["scan", "-"], br#"{"status": "ok", "count": 3}"#);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("0 findings"));
}

#[test]
fn redact_writes_the_stream_with_values_replaced() {
    let out = sieve(&["redact", "-"], b"card 4111 1111 1111 1111, mail a@b.io\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "card **** **** **** 1111, mail ******\n");
}

#[test]
fn redact_by_action_follows_the_policy() {
    let policy =
        temp_file("p.yaml", "categories:\n  contact: {action: redact, redact: {method: replace, text: '<email>'}}\n");
    let out = sieve(&["redact", "--by-action", "--policy", &policy, "-"], b"4111111111111111 a@b.io");
    assert_eq!(text(&out.stdout), "4111111111111111 <email>");
}

#[test]
fn check_accepts_good_and_refuses_bad_policies() {
    let good = temp_file("good.yaml", "detectors:\n  - id: codename\n    category: internal\n    keywords: [falcon]\n");
    let out = sieve(&["check", &good], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bad = temp_file("bad.json", r#"{"detectors": [{"id": "x", "category": "c", "patterns": ["([a-z"]}]}"#);
    let out = sieve(&["check", &bad], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("detectors[0].patterns[0]") && err.contains("\"x\"") && err.contains("invalid regex"),
        "{err}"
    );
    // What Envoy refuses in the HTTP filter's part of a policy, check refuses too.
    let cases = [
        ("http:\n  sample: 1.5\n", "http.sample"),
        ("http:\n  block_status: 99\n", "http.block_status"),
        ("http:\n  routes:\n    - {paths: ['/x'], actions: {nosuch: block}}\n", "http.routes[0].actions.nosuch"),
    ];
    for (policy, field) in cases {
        let out = sieve(&["check", &temp_file("http.yaml", policy)], b"");
        assert_eq!(out.status.code(), Some(2), "{policy}");
        assert!(text(&out.stderr).contains(&format!("http.yaml: {field}")), "{}", text(&out.stderr));
    }
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(sieve(&["scan", "--format", "xml"], b"").status.code(), Some(2));
    assert_eq!(sieve(&["frobnicate"], b"").status.code(), Some(2));
    assert_eq!(sieve(&["scan", "no/such/file"], b"").status.code(), Some(2));
    let out = sieve(&["scan", "--format"], b"");
    assert!(text(&out.stderr).starts_with("sieve: --format needs text or jsonl\n"), "{}", text(&out.stderr));
}

#[test]
fn version_and_help_exit_zero() {
    let out = sieve(&["--version"], b"");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), format!("sieve {}\n", env!("CARGO_PKG_VERSION"))));
    let out = sieve(&["--help"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("sieve replay"));
}

/// Writes a file (a policy, a HAR file, a compressed input) in a directory of
/// this test process's own; its path.
fn temp_file(name: &str, contents: impl AsRef<[u8]>) -> String {
    let dir = std::env::temp_dir().join(format!("sieve-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_string()
}

fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    text(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn replay_reports_what_the_filter_would_do_to_each_har_exchange() {
    let policy = temp_file("block.yaml", "categories:\n  credentials: {action: block}\n  pci: {action: redact}\n");
    let out = sieve(&["replay", "--format", "jsonl", "--policy", &policy, "samples/traffic.har"], b"");
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4, "one line per exchange");
    assert_eq!(lines[0]["request"], "redacted", "the card in the body");
    assert_eq!(lines[1]["request"], "blocked", "the bearer token in a header");
    assert_eq!(lines[1]["response"], "not sent");
    assert_eq!(lines[2]["findings"], serde_json::json!([]));
    // HAR keeps bodies decoded: a response sent as brotli is scanned as the text it holds.
    assert_eq!(lines[3]["skipped"], serde_json::json!([]), "{}", lines[3]);
    assert_eq!(lines[3]["findings"][0]["detector"], "email", "{}", lines[3]);
    // The base64-encoded response body of entry 1 is decoded and scanned under the default policy.
    let out = sieve(&["replay", "samples/traffic.har"], b"");
    let report = text(&out.stdout);
    assert!(report.contains("response body $.ssn us-ssn"), "{report}");
    for value in ["4111 1111", "531-21-7351", "eyJhbGci", "grace@example.com"] {
        assert!(!report.contains(value), "{value} printed in clear");
    }
}

#[test]
fn replay_reports_the_tags_each_direction_would_carry() {
    let policy = temp_file("tag-both.yaml", "http:\n  tag_response: true\n");
    let lines =
        json_lines(&sieve(&["replay", "--format", "jsonl", "--policy", &policy, "samples/traffic.har"], b"").stdout);
    // The card and the email are in the request body, read after the request headers went
    // upstream untagged; the response headers carry what the request held.
    assert_eq!(lines[0]["tags"], serde_json::json!([]), "{}", lines[0]);
    let tagged = serde_json::json!([{"x-sieve-categories": "contact,pci"}, {"x-sieve-detectors": "credit-card,email"}]);
    assert_eq!(lines[0]["response_tags"], tagged, "{}", lines[0]);
    // A bearer token in a request header tags the request itself.
    assert!(lines[1]["tags"].to_string().contains("credentials"), "{}", lines[1]);
    let report = text(&sieve(&["replay", "--policy", &policy, "samples/traffic.har"], b"").stdout);
    let line = "response tagged x-sieve-categories: contact,pci; x-sieve-detectors: credit-card,email";
    assert!(report.contains(line), "{report}");
}

#[test]
fn replay_refuses_what_is_not_a_har_file() {
    let out = sieve(&["replay", "samples/api/orders-response.json"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("log.entries"));
}

/// Runs sieve with its standard output already closed, as `sieve ... | head`
/// leaves it once `head` has its lines: the input comes on standard input,
/// after the output's reader is gone, so every write meets a closed pipe.
fn with_output_closed(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = spawn(args);
    drop(child.stdout.take());
    // sieve may stop reading once it cannot write; what it did not read is not the point.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_output_ends_every_command_quietly() {
    let file = |path: &str| std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + path).unwrap();
    let cases: [(&[&str], Vec<u8>); 5] = [
        (&["scan", "-"], file("samples/api/orders-response.json")),
        (&["redact", "-"], file("samples/logs/gateway.log")),
        (&["replay", "/dev/stdin"], file("samples/traffic.har")),
        (&["check", "/dev/stdin"], file("examples/policies/monitor.yaml")),
        (&["detectors", "--policy", "/dev/stdin"], Vec::new()),
    ];
    for (args, stdin) in cases {
        let out = with_output_closed(args, &stdin);
        assert_eq!((out.status.code(), text(&out.stderr)), (Some(0), String::new()), "sieve {args:?}");
    }
}

#[test]
fn scan_walks_a_directorys_files_and_directories_only() {
    let dir = std::env::temp_dir().join(format!("sieve-cli-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("a/card.txt"), "card 4111 1111 1111 1111\n").unwrap();
    // A link to a parent made the walk loop until the OS refused the path.
    std::os::unix::fs::symlink("..", dir.join("a/up")).unwrap();
    std::os::unix::fs::symlink("card.txt", dir.join("a/same-card.txt")).unwrap();
    // A FIFO no one writes to made the scan wait for ever.
    assert!(Command::new("mkfifo").arg(dir.join("a/fifo")).status().unwrap().success());
    let out = sieve(&["scan", "--format", "jsonl", dir.to_str().unwrap()], b"");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "the card once: {lines:?}");
    assert!(lines[0]["path"].as_str().unwrap().ends_with("a/card.txt"), "{lines:?}");
}

#[test]
fn replay_reads_forms_recorded_as_params_and_notes_bodies_it_cannot_decode() {
    // HAR 1.2 records a posted form as `text` or as `params`, one or the other.
    let har = serde_json::json!({"log": {"entries": [
        {"request": {"method": "POST", "url": "https://shop.example.com/checkout", "headers": [],
            "postData": {"mimeType": "application/x-www-form-urlencoded",
                "params": [{"name": "card", "value": "4111 1111 1111 1111"}, {"name": "note", "value": "a & b"}]}},
         "response": {"status": 200, "headers": [],
            "content": {"mimeType": "application/json", "text": "@@ not base64 @@", "encoding": "base64"}}},
        {"request": {"method": "POST", "url": "https://shop.example.com/upload", "headers": [],
            "postData": {"mimeType": "multipart/form-data; boundary=----B", "params": [
                {"name": "email", "value": "ann@example.com"},
                {"name": "doc", "fileName": "x.bin", "contentType": "application/octet-stream",
                 "value": "4111 1111 1111 1111"}]}},
         "response": {"status": 204, "headers": []}}
    ]}});
    let har = temp_file("params.har", har.to_string());
    let lines = json_lines(&sieve(&["replay", "--format", "jsonl", &har], b"").stdout);
    let found = |line: &serde_json::Value| -> Vec<(String, String)> {
        let findings = line["findings"].as_array().unwrap();
        findings.iter().map(|f| (f["detector"].to_string(), f["key_path"].to_string())).collect()
    };
    assert_eq!(found(&lines[0]), [(r#""credit-card""#.into(), r#""$.card""#.into())], "{}", lines[0]);
    assert_eq!(lines[0]["skipped"], serde_json::json!([["response", "the HAR's base64 text does not decode"]]));
    // The file part's type is binary, so only the text field is read, as the filter reads it.
    assert_eq!(found(&lines[1]), [(r#""email""#.into(), r#""$.email""#.into())], "{}", lines[1]);
}

#[test]
fn compressed_files_are_scanned_as_the_text_they_hold() {
    let json = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/api/orders-response.json")).unwrap();
    let plain = json_lines(&sieve(&["scan", "--format", "jsonl", "samples/api/orders-response.json"], b"").stdout);
    let without_path = |lines: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
        lines
            .into_iter()
            .map(|mut l| {
                l.as_object_mut().unwrap().retain(|k, _| k != "path" && k != "fingerprint");
                l
            })
            .collect()
    };
    let plain = without_path(plain);
    assert!(!plain.is_empty());
    // Rotated logs are gzip files, often of several members; zstd is the other common choice.
    let (half, rest) = json.split_at(json.len() / 2);
    let cases =
        [("orders.json.gz", [wire::gzip(half), wire::gzip(rest)].concat()), ("orders.json.zst", wire::zstd(&json))];
    for (name, bytes) in cases {
        let path = temp_file(name, bytes);
        let out = sieve(&["scan", "--format", "jsonl", &path], b"");
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out.stderr));
        assert_eq!(without_path(json_lines(&out.stdout)), plain, "{name}: the same findings, key paths and offsets");
    }
    let cut = wire::gzip(&json);
    let path = temp_file("cut.json.gz", &cut[..cut.len() / 2]);
    let out = sieve(&["scan", &path], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("gzip data cut short"), "{}", text(&out.stderr));
}

#[test]
fn a_preview_never_shows_a_value_whole_whatever_the_policy_keeps() {
    let policy = temp_file("keep.yaml", "overrides: {email: {action: redact, redact: {method: partial, keep: 100}}}\n");
    for format in ["text", "jsonl"] {
        let out = sieve(&["scan", "--format", format, "--policy", &policy, "-"], b"mail ann@example.com now\n");
        assert_eq!(out.status.code(), Some(1));
        let report = text(&out.stdout);
        assert!(report.contains("***@****ple.com") && !report.contains("ann@"), "{report}");
    }
}

#[test]
fn json_after_a_byte_order_mark_is_read_as_json() {
    let doc = "\u{feff}{\"customer\": {\"email\": \"ann@example.com\"}}";
    let from_stdin = json_lines(&sieve(&["scan", "--format", "jsonl", "-"], doc.as_bytes()).stdout);
    let from_file = json_lines(&sieve(&["scan", "--format", "jsonl", &temp_file("bom.json", doc)], b"").stdout);
    for found in [from_stdin, from_file] {
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["key_path"], "$.customer.email");
    }
}

#[test]
fn a_closed_output_stops_a_scan_before_the_rest_of_its_input_is_read() {
    let mut child = spawn(&["scan", "-"]);
    drop(child.stdout.take());
    // 50 MB, a finding on every line: each line is written as it is found, so the first
    // write that fails ends the scan, and sieve stops reading (it kept every line until
    // the input's end, and read all of it).
    let fed = child.stdin.take().unwrap().write_all(&b"card 4111 1111 1111 1111\n".repeat(2_000_000));
    let out = child.wait_with_output().unwrap();
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(0), String::new()));
    assert!(fed.is_err(), "sieve read all its input though it could write nothing");
}
