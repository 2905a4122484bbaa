//! Every built-in detector: positives, and hard negatives that look alike.

use sieve::engine::{Engine, ScanOptions};

fn engine() -> Engine {
    Engine::from_policy_text("").expect("default policy")
}

/// (detector id, matched text) for every finding in `text`.
fn found(e: &Engine, text: &str) -> Vec<(String, String)> {
    e.scan(text.as_bytes(), &ScanOptions::text(e))
        .into_iter()
        .map(|f| (e.detector(f.detector).id.clone(), text[f.start as usize..f.end as usize].to_string()))
        .collect()
}

fn json_found(e: &Engine, text: &str) -> Vec<(String, String, Option<String>)> {
    e.scan(text.as_bytes(), &ScanOptions::json(e))
        .into_iter()
        .map(|f| (e.detector(f.detector).id.clone(), text[f.start as usize..f.end as usize].to_string(), f.path))
        .collect()
}

#[track_caller]
fn assert_finds(e: &Engine, id: &str, text: &str, value: &str) {
    let got = found(e, text);
    assert!(got.iter().any(|(d, v)| d == id && v == value), "{id} should find {value:?} in {text:?}; got {got:?}");
}

#[track_caller]
fn assert_not(e: &Engine, id: &str, text: &str) {
    let got = found(e, text);
    assert!(!got.iter().any(|(d, _)| d == id), "{id} should not fire on {text:?}; got {got:?}");
}

#[test]
fn credit_cards() {
    let e = engine();
    assert_finds(&e, "credit-card", "pay with 4111 1111 1111 1111 today", "4111 1111 1111 1111");
    assert_finds(&e, "credit-card", "card=5555-5555-5555-4444;", "5555-5555-5555-4444");
    assert_finds(&e, "credit-card", "amex 378282246310005", "378282246310005");
    assert_finds(&e, "credit-card", "diners 3600 6666 3333 44.", "3600 6666 3333 44");
    assert_not(&e, "credit-card", "order 4111 1111 1111 1112"); // Luhn
    assert_not(&e, "credit-card", "ts=1700000000004"); // ms timestamp, Luhn-valid
    assert_not(&e, "credit-card", "id 41111111111111111111111"); // too long: no word boundary in range
    assert_not(&e, "credit-card", "x0000 0000 0000 0000");
    // A random UUID whose middle groups pass as a 12-digit Maestro number.
    assert_not(&e, "credit-card", r#"{"id": "28906165-6998-7546-8976-afac7352c12a"}"#);
    assert_finds(&e, "credit-card", "ref 28906165 6998-7546-8976 x", "6998-7546-8976");
}

#[test]
fn iban() {
    let e = engine();
    assert_finds(&e, "iban", "IBAN: DE89370400440532013000.", "DE89370400440532013000");
    assert_finds(&e, "iban", "to GB82 WEST 1234 5698 7654 32 please", "GB82 WEST 1234 5698 7654 32");
    assert_not(&e, "iban", "DE89370400440532013001"); // mod-97
    assert_not(&e, "iban", "DE8937040044053201300"); // length
    assert_not(&e, "iban", "ZZ89370400440532013000"); // country
}

#[test]
fn aba_routing_needs_banking_context() {
    let e = engine();
    assert_finds(&e, "aba-routing", "routing number 021000021", "021000021");
    assert_not(&e, "aba-routing", "order 021000021 shipped");
    assert_not(&e, "aba-routing", "routing number 021000022");
}

#[test]
fn us_ssn() {
    let e = engine();
    assert_finds(&e, "us-ssn", "SSN 531-21-7351", "531-21-7351");
    assert_finds(&e, "us-ssn", "her number is 403-57-9558", "403-57-9558");
    assert_finds(&e, "us-ssn", "ssn: 531217351", "531217351");
    assert_not(&e, "us-ssn", "id 531217351"); // bare nine digits without context
    for bad in ["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000", "078-05-1120"] {
        assert_not(&e, "us-ssn", &format!("SSN {bad}"));
    }
}

#[test]
fn email() {
    let e = engine();
    assert_finds(&e, "email", "mail jane.doe+x@example.co.uk now", "jane.doe+x@example.co.uk");
    assert_finds(&e, "email", "<a@b.io>", "a@b.io");
    assert_not(&e, "email", "user@localhost");
    assert_not(&e, "email", "a..b@example.com");
    assert_not(&e, "email", "@example.com");
}

#[test]
fn phone() {
    let e = engine();
    assert_finds(&e, "phone", "ring +1 415 555 0100 now", "+1 415 555 0100");
    assert_finds(&e, "phone", "+44 20 7946 0958", "+44 20 7946 0958");
    assert_finds(&e, "phone", "call me at (96) 627-277", "(96) 627-277");
    assert_finds(&e, "phone", "phone: 986.291.2294x751", "986.291.2294x751");
    assert_not(&e, "phone", "version 1.2.3 released 2024"); // no context, too few digits
    assert_not(&e, "phone", "order 415 555 0100 shipped"); // national layout, no context
}

#[test]
fn ip_addresses() {
    let e = engine();
    assert_finds(&e, "ipv4", "from 58.74.121.78:443", "58.74.121.78");
    assert_not(&e, "ipv4", "999.1.1.1");
    assert_not(&e, "ipv4", "v1.2.3.4.5");
    let chrome =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    assert_not(&e, "ipv4", chrome);
    assert_finds(&e, "ipv6", "addr 2001:db8::8a2e:370:7334 ok", "2001:db8::8a2e:370:7334");
    assert_not(&e, "ipv6", "at 12:30:45");
    assert_not(&e, "ipv6", "mac 00:1a:2b:3c:4d:5e");
}

#[test]
fn date_of_birth_needs_context() {
    let e = engine();
    assert_finds(&e, "date-of-birth", "DOB: 1985-03-12", "1985-03-12");
    assert_finds(&e, "date-of-birth", "born on 12 March 1985", "12 March 1985");
    assert_not(&e, "date-of-birth", "shipped 1985-03-12");
    assert_not(&e, "date-of-birth", "DOB: 1985-13-45");
}

#[test]
fn aws_keys() {
    let e = engine();
    assert_finds(&e, "aws-access-key-id", "key=AKIAZ7XQ3MPLW2HVKNUF&x", "AKIAZ7XQ3MPLW2HVKNUF");
    assert_not(&e, "aws-access-key-id", "AKIAIOSFODNN7EXAMPLE"); // documented example
    assert_not(&e, "aws-access-key-id", "AKIA1234"); // too short
    let secret = "Zq8/ZbXk3f+Jm2Qv9Lr4Ts7Wn1Yp6Hc0Gd5Ea3Ux";
    assert_eq!(secret.len(), 40);
    assert_finds(&e, "aws-secret-access-key", &format!("aws_secret_access_key = {secret}\n"), secret);
    assert_not(&e, "aws-secret-access-key", &format!("checksum {secret}\n")); // no context
    assert_not(&e, "aws-secret-access-key", "aws_secret commit 3f9a1c2b4d5e6f708192a3b4c5d6e7f801234567\n"); // hex: low entropy
    assert_not(&e, "aws-secret-access-key", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
}

#[test]
fn vendor_tokens() {
    let e = engine();
    let gh = format!("ghp_{}", "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5");
    assert_finds(&e, "github-token", &format!("token {gh} end"), &gh);
    let pat = format!("github_pat_{}_{}", "A".repeat(22), "b".repeat(59));
    assert_finds(&e, "github-token", &pat, &pat);
    for prefix in ["gho_", "ghu_", "ghs_", "ghr_"] {
        let t = format!("{prefix}{}", "x1".repeat(18));
        assert_finds(&e, "github-token", &t, &t);
    }
    assert_not(&e, "github-token", "ghp_short");
    assert_finds(&e, "gitlab-token", "glpat-xYz12_AbC34-dEf56gHi", "glpat-xYz12_AbC34-dEf56gHi");
    assert_finds(&e, "slack-token", "xoxb-1234567890-abcdefghijkl", "xoxb-1234567890-abcdefghijkl");
    let stripe = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
    assert_finds(&e, "stripe-key", stripe, stripe);
    assert_not(&e, "stripe-key", "pk_live_4eC39HqLyjWDarjtT1zdp7dc"); // publishable
    let google = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY";
    assert_finds(&e, "google-api-key", google, google);
    let openai = format!("sk-proj-{}T3BlbkFJ{}", "a1B2".repeat(6), "c3D4".repeat(6));
    assert_finds(&e, "openai-api-key", &openai, &openai);
    let anthropic = format!("sk-ant-api03-{}AA", "Xy9_".repeat(23));
    assert_finds(&e, "anthropic-api-key", &anthropic, &anthropic);
    let npm = format!("npm_{}", "aB3dE5fG7h".repeat(3) + "J9kL1m");
    assert_finds(&e, "npm-token", &format!("//registry.npmjs.org/:_authToken={npm}\n"), &npm);
    assert_not(&e, "npm-token", "npm_install_dependencies_for_the_project_now");
    let sendgrid = format!("SG.{}.{}", "aB3dE5fG7hJ9kL1mN3pQ5r", "S7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS1tU3vW");
    assert_finds(&e, "sendgrid-key", &format!("\"{sendgrid}\""), &sendgrid);
    let vault = format!("hvs.{}", "CAESIJ7xq_Lm2".repeat(8));
    assert_finds(&e, "vault-token", &format!("X-Vault-Token: {vault}"), &vault);
    assert_not(&e, "vault-token", "hvs.short");
    let shopify = format!("shpat_{}", "0123456789abcdef".repeat(2));
    assert_finds(&e, "shopify-token", &shopify, &shopify);
    let digitalocean = format!("dop_v1_{}", "0123456789abcdef".repeat(4));
    assert_finds(&e, "digitalocean-token", &digitalocean, &digitalocean);
    let oauth = "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";
    assert_finds(&e, "google-oauth-client-secret", &format!(r#"{{"client_secret":"{oauth}"}}"#), oauth);
}

#[test]
fn jwt() {
    let e = engine();
    let t =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert_finds(&e, "jwt", &format!("jwt={t}&"), t);
    assert_not(&e, "jwt", "eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"); // header without alg
}

#[test]
fn private_key_block_is_found_whole() {
    let e = engine();
    let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n".repeat(30);
    let key = format!("-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----");
    assert_finds(&e, "private-key", &format!("cfg: {key}\n"), &key);
    let rsa = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----");
    assert_finds(&e, "private-key", &rsa, &rsa);
    assert_not(
        &e,
        "private-key",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----",
    );
}

#[test]
fn azure_storage_keys_in_connection_strings() {
    let e = engine();
    let key = "CzBVep/E6Q4zWH2ix+wRNluApcrvFDleg6jN8hc8YYar0PUaP2SJrtP4HUJnjLHW+yBFao+02f4jSG2St9wBJg==";
    let conn =
        format!("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={key};EndpointSuffix=core.windows.net");
    assert_finds(&e, "azure-storage-key", &conn, key);
    assert_not(&e, "azure-storage-key", "AccountKey=Zm9vYmFy=="); // not 64 bytes
                                                                  // The storage emulator's published key is a documented example.
    let emulator = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    assert_not(&e, "azure-storage-key", &format!("AccountName=devstoreaccount1;AccountKey={emulator};"));
}

#[test]
fn credentials_in_json_strings_are_found_as_json_encoders_escape_them() {
    let e = engine();
    // A service account key file (GCP's layout): the PEM's line ends are `\n` escapes, and
    // PHP's json_encode writes `/` as `\/` too.
    let lines = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n".repeat(20) + "Ab+c\\/dEf==\\n";
    let key = format!("-----BEGIN PRIVATE KEY-----\\n{lines}-----END PRIVATE KEY-----");
    let account = format!(
        r#"{{"type": "service_account", "private_key": "{key}\n", "client_email": "ci@p.iam.gserviceaccount.com"}}"#
    );
    let got = json_found(&e, &account);
    let want = ("private-key".to_string(), key.clone(), Some("$.private_key".to_string()));
    assert!(got.contains(&want), "{got:?}");
    assert_finds(&e, "url-password", r#"{"dsn": "postgres:\/\/app:s3cr3tPw@db.internal:5432\/x"}"#, "s3cr3tPw");
    let hook = r#"https:\/\/hooks.slack.com\/services\/T0123ABCD\/B0123ABCD\/abcdefghijklmnopqrstuvwx"#;
    assert_finds(&e, "slack-token", &format!(r#"{{"webhook": "{hook}"}}"#), hook);
    let token = r#"9fK2mQ7xL4\/pZ8wR1+aB3"#;
    assert_finds(&e, "bearer-token", &format!(r#"{{"authorization": "Bearer {token}"}}"#), token);
}

#[test]
fn url_passwords_and_http_credentials() {
    let e = engine();
    assert_finds(&e, "url-password", "db=postgres://app:s3cr3tPw@db.internal:5432/x", "s3cr3tPw");
    assert_not(&e, "url-password", "see https://example.com/a:b@c"); // colon in the path, not userinfo
    assert_finds(&e, "basic-auth", "Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==");
    assert_not(&e, "basic-auth", "Basic aGVsbG8gd29ybGQ="); // "hello world", no colon
    assert_finds(&e, "bearer-token", "auth: Bearer abcDEF123456ghiJKL789", "abcDEF123456ghiJKL789");
    assert_not(&e, "bearer-token", "bearer aaaaaaaaaaaaaaaaaaaa"); // no entropy
}

#[test]
fn generic_secrets_next_to_secret_keys() {
    let e = engine();
    assert_finds(&e, "generic-secret", r#"{"client_secret": "9fK2mQ7xL4pZ8wR1"}"#, "9fK2mQ7xL4pZ8wR1");
    assert_finds(&e, "generic-secret", "DB_PASSWORD=Tr0ub4dor&3", "Tr0ub4dor");
    assert_not(&e, "generic-secret", r#"{"password": "aaaaaaaaaaaa"}"#); // entropy
    assert_not(&e, "generic-secret", r#"{"username": "9fK2mQ7xL4pZ8wR1"}"#); // not a secret-like key
}

#[test]
fn a_value_that_is_something_more_specific_is_reported_as_that() {
    let e = engine();
    let jwt =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert_eq!(found(&e, &format!("Authorization: Bearer {jwt}")), [("jwt".to_string(), jwt.to_string())]);
    assert_eq!(found(&e, &format!("api_token={jwt}")), [("jwt".to_string(), jwt.to_string())]);
    // The first pattern matching at the value's start is refused (an
    // allowlisted value): the next one, still more specific than the
    // assignment, is reported.
    let e = Engine::from_policy_text(
        r#"
builtin: {include: []}
detectors:
  - {id: strict-code, category: internal, patterns: ['\bAB\d{6}\b'], allow: [AB111111]}
  - {id: loose-code, category: internal, patterns: ['\bAB\d{1,20}']}
  - {id: assigned, category: internal, patterns: ['code=(?P<value>\S{1,40})']}
"#,
    )
    .unwrap();
    assert_eq!(found(&e, "code=AB111111 x"), [("loose-code".to_string(), "AB111111".to_string())]);
    assert_eq!(found(&e, "code=AB222222 x"), [("strict-code".to_string(), "AB222222".to_string())]);
    assert_eq!(found(&e, "code=XY222222 x"), [("assigned".to_string(), "XY222222".to_string())]);
}

#[test]
fn json_key_paths_are_reported_and_give_context() {
    let e = engine();
    let got = json_found(&e, r#"{"user": {"ssn": "531217351", "id": "531217351"}}"#);
    assert_eq!(got, vec![("us-ssn".to_string(), "531217351".to_string(), Some("$.user.ssn".to_string()))]);
}

#[test]
fn malformed_json_falls_back_to_text() {
    let e = engine();
    let got = json_found(&e, r#"{"card": "4111111111111111", oops"#);
    assert_eq!(got.len(), 1);
    let got = json_found(&e, r#"not json 4111111111111111"#);
    assert_eq!(got[0].2, None);
}

#[test]
fn custom_detectors_keywords_and_json_path_scopes() {
    let e = Engine::from_policy_text(
        r#"
detectors:
  - id: project-codename
    category: confidential
    keywords: [Project Falcon]
  - id: employee-id
    category: pii
    patterns: ['\bE\d{6}\b']
    scope: {json_paths: ['*.employee_id']}
"#,
    )
    .unwrap();
    assert_finds(&e, "project-codename", "about project falcon.", "project falcon");
    assert_not(&e, "project-codename", "projectfalcons");
    let got = json_found(&e, r#"{"a": {"employee_id": "E123456"}, "note": "E654321"}"#);
    let ids: Vec<_> = got.iter().filter(|g| g.0 == "employee-id").map(|g| g.1.as_str()).collect();
    assert_eq!(ids, ["E123456"]);
}

#[test]
fn allowlists() {
    let on =
        Engine::from_policy_text("allowlists: {issuer_test_cards: true, values: ['5105 1051 0510 5100']}").unwrap();
    assert_not(&on, "credit-card", "4111111111111111"); // reserved test PAN
    assert_not(&on, "credit-card", "5105-1051-0510-5100"); // listed value, other separators
    assert_finds(&on, "credit-card", "4532276644577020", "4532276644577020");
    let off = engine();
    assert_finds(&off, "credit-card", "4111111111111111", "4111111111111111");
}

#[test]
fn binary_and_invalid_utf8_are_scanned_without_trouble() {
    let e = engine();
    let mut bytes = vec![0xff, 0xfe, 0x00, 0xc3];
    bytes.extend_from_slice(b" 4111111111111111 ");
    bytes.extend((0..=255u8).cycle().take(5000));
    let got = e.scan(&bytes, &ScanOptions::json(&e));
    assert!(got.iter().any(|f| e.detector(f.detector).id == "credit-card"));
}
