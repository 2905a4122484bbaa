//! `sieve`: runs the classification engine on files or standard input.
//!
//! ```text
//! sieve scan   [--policy FILE] [--format text|jsonl] [PATH...]
//! sieve redact [--policy FILE] [--by-action] [PATH]
//! sieve replay [--policy FILE] [--format text|jsonl] FILE.har
//! sieve check  POLICY
//! sieve detectors [--policy FILE]
//! sieve --version
//! ```
//!
//! Exit codes: 0 no findings (or a valid policy), 1 findings, 2 error.

mod args;
mod compressed;
mod replay;
mod report;

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use args::{Args, Format};
use report::Reporter;
use sieve::engine::{DetectorSet, Engine, Finding, ScanOptions};
use sieve::flow::Inspector;

const USAGE: &str = "usage:
  sieve scan   [--policy FILE] [--format text|jsonl] [PATH...]   find sensitive data (PATH: file, directory or -)
  sieve redact [--policy FILE] [--by-action] [PATH]             write the redacted stream to stdout
  sieve replay [--policy FILE] [--format text|jsonl] FILE.har   what the Envoy filter would do to each exchange
  sieve check  POLICY                                           validate a policy file
  sieve detectors [--policy FILE]                               list the active detectors
  sieve --version
exit codes: 0 nothing found / policy valid, 1 findings, 2 error";

const CHUNK: usize = 64 * 1024;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        // What reads the output has stopped (`sieve scan | head`): nothing
        // is wrong, and nothing more can be said, as ripgrep does.
        Err(Stop::Closed) => ExitCode::SUCCESS,
        Err(Stop::Error(message)) => {
            eprintln!("sieve: {message}");
            ExitCode::from(2)
        }
    }
}

/// Why a command stopped before its end.
enum Stop {
    /// Its standard output was closed.
    Closed,
    /// An error, for the user.
    Error(String),
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Error(message)
    }
}

/// A failed write to standard output.
impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        match e.kind() {
            io::ErrorKind::BrokenPipe => Stop::Closed,
            _ => Stop::Error(format!("standard output: {e}")),
        }
    }
}

fn run(argv: Vec<String>) -> Result<ExitCode, Stop> {
    let args = Args::parse(argv).map_err(|e| format!("{e}\n{USAGE}"))?;
    match args.command.as_str() {
        "scan" => scan(&args),
        "redact" => redact(&args),
        "replay" => replay(&args),
        "check" => check(&args),
        "detectors" => detectors(&args),
        "help" | "--help" | "-h" => {
            writeln!(io::stdout(), "{USAGE}")?;
            Ok(ExitCode::SUCCESS)
        }
        "version" | "--version" | "-V" => {
            writeln!(io::stdout(), "sieve {}", env!("CARGO_PKG_VERSION"))?;
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}").into()),
    }
}

/// The policy in a file, or the default (empty) one, compiled as the filter
/// compiles it: every command refuses what Envoy would refuse, the `http`
/// and `tcp` parts included, with the file's name before the reason.
fn load(policy: Option<&Path>) -> Result<Arc<Inspector>, String> {
    let text = match policy {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => String::new(),
    };
    Inspector::from_policy_text(&text).map_err(|e| match policy {
        Some(p) => format!("{}: {e}", p.display()),
        None => e.to_string(),
    })
}

/// The engine of [`load`]'s policy.
fn load_engine(policy: Option<&Path>) -> Result<Arc<Engine>, String> {
    Ok(Arc::clone(&load(policy)?.engine))
}

fn scan(args: &Args) -> Result<ExitCode, Stop> {
    let engine = load_engine(args.policy.as_deref())?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let reporter = Reporter::new(&engine, args.format);
    let mut total = 0;
    for input in inputs(&args.paths)? {
        total += scan_input(&engine, &reporter, &input, &mut out)?;
    }
    if args.format == Format::Text {
        writeln!(out, "{total} finding{}", if total == 1 { "" } else { "s" })?;
    }
    out.flush()?;
    Ok(if total > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Scans one input, each finding's line written as it is found, so memory
/// stays bounded however many there are, and a closed output stops the
/// scan; how many it found.
fn scan_input<W: Write>(engine: &Arc<Engine>, reporter: &Reporter, input: &Path, out: &mut W) -> Result<usize, Stop> {
    let name = input.display().to_string();
    let mut reader = open(input)?;
    let mut scanner = engine.scanner(options_for(engine, input, &mut reader));
    let (mut found, mut written) = (0, Ok(()));
    let line = |out: &mut W, found: &mut usize, written: &mut io::Result<()>, f: Finding, value: &[u8]| {
        *found += 1;
        if written.is_ok() {
            *written = writeln!(out, "{}", reporter.line(&name, &f, value));
        }
    };
    let mut buf = vec![0; CHUNK];
    while written.is_ok() {
        let n = reader.read(&mut buf).map_err(|e| format!("{name}: {e}"))?;
        if n == 0 {
            scanner.finish(&mut |f, value| line(out, &mut found, &mut written, f, value));
            break;
        }
        scanner.feed(&buf[..n], &mut |f, value| line(out, &mut found, &mut written, f, value));
    }
    written?;
    Ok(found)
}

fn redact(args: &Args) -> Result<ExitCode, Stop> {
    let engine = load_engine(args.policy.as_deref())?;
    let input = match args.paths.as_slice() {
        [] => PathBuf::from("-"),
        [one] => one.clone(),
        _ => return Err(Stop::Error("redact takes one PATH".into())),
    };
    let mut reader = open(&input)?;
    let mut options = options_for(&engine, &input, &mut reader);
    if !args.by_action {
        options.redact = DetectorSet::all(&engine);
    }
    let mut scanner = engine.scanner(options);
    let mut stdout = io::stdout().lock();
    let (mut found, mut out, mut buf) = (0usize, Vec::with_capacity(CHUNK), vec![0; CHUNK]);
    loop {
        let n = reader.read(&mut buf).map_err(|e| format!("{}: {e}", input.display()))?;
        if n == 0 {
            break;
        }
        scanner.feed_redact(&buf[..n], &mut out, &mut |_, _| found += 1);
        stdout.write_all(&out)?;
        out.clear();
    }
    scanner.finish_redact(&mut out, &mut |_, _| found += 1);
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(if found > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn replay(args: &Args) -> Result<ExitCode, Stop> {
    let [har] = args.paths.as_slice() else { return Err(format!("replay takes one HAR file\n{USAGE}").into()) };
    let inspector = load(args.policy.as_deref())?;
    let har_text = std::fs::read_to_string(har).map_err(|e| format!("{}: {e}", har.display()))?;
    let har_json = serde_json::from_str(&har_text).map_err(|e| format!("{}: not JSON: {e}", har.display()))?;
    let replayed = replay::replay(&inspector, &har_json).map_err(|e| format!("{}: {e}", har.display()))?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut found = 0;
    for (i, r) in replayed.iter().enumerate() {
        found += r.record.findings.len();
        if let Some(line) = replay::report(r, i, args.format) {
            writeln!(out, "{line}")?;
        }
    }
    if args.format == Format::Text {
        writeln!(out, "{} exchanges, {found} findings", replayed.len())?;
    }
    out.flush()?;
    Ok(if found > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn check(args: &Args) -> Result<ExitCode, Stop> {
    let [policy] = args.paths.as_slice() else { return Err(format!("check takes one POLICY file\n{USAGE}").into()) };
    let engine = load_engine(Some(policy))?;
    writeln!(
        io::stdout(),
        "{}: ok, {} detectors in {} categories, streaming window {} bytes",
        policy.display(),
        engine.detectors().len(),
        engine.categories().len(),
        engine.window()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn detectors(args: &Args) -> Result<ExitCode, Stop> {
    let engine = load_engine(args.policy.as_deref())?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    for (i, d) in engine.detectors().iter().enumerate() {
        let cat = engine.category_of(i);
        let (severity, action) = (d.severity.as_str(), d.action.as_str());
        writeln!(out, "{:<24} {:<12} {severity:<9} {action:<8} {}", d.id, cat.name, d.description)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// JSON key paths are tracked for `.json` files (compressed too) and for
/// anything that starts like JSON once decoded (after a byte order mark, if
/// any); the tracker falls back to text on its own.
fn options_for(engine: &Engine, input: &Path, reader: &mut dyn BufRead) -> ScanOptions {
    let plain = match input.extension() {
        Some(e) if e == "gz" || e == "zst" => input.file_stem().map(Path::new).unwrap_or(input),
        _ => input,
    };
    let named = plain.extension().is_some_and(|e| e == "json" || e == "jsonl" || e == "har");
    let first = reader.fill_buf().ok().and_then(|head| {
        let head = head.strip_prefix(&sieve::engine::BOM[..]).unwrap_or(head);
        head.iter().copied().find(|b| !b.is_ascii_whitespace())
    });
    if named || first.is_some_and(|b| b == b'{' || b == b'[') {
        ScanOptions::json(engine)
    } else {
        ScanOptions::text(engine)
    }
}

/// A file, or standard input for `-`, decoded if it is compressed.
fn open(path: &Path) -> Result<Box<dyn BufRead>, String> {
    let reader: Box<dyn std::io::Read> = if path == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?)
    };
    compressed::decoded(reader).map_err(|e| format!("{}: {e}", path.display()))
}

/// Files named on the command line, directories walked in name order;
/// no paths means standard input. Inside a directory only files and
/// directories are read, as ripgrep does by default: a symbolic link to a
/// parent would loop, one to elsewhere leaves the tree that was named, and a
/// FIFO or a device may never end.
fn inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    if paths.is_empty() {
        return Ok(vec![PathBuf::from("-")]);
    }
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out)?;
    }
    Ok(out)
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_dir()))
        .map(|e| e.path())
        .collect();
    entries.sort();
    for e in entries {
        walk(&e, out)?;
    }
    Ok(())
}
