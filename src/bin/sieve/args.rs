//! Command-line arguments, parsed by hand: four subcommands and four flags
//! do not need a parser crate in the binary.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Jsonl,
}

#[derive(Debug)]
pub struct Args {
    pub command: String,
    pub policy: Option<PathBuf>,
    pub format: Format,
    pub by_action: bool,
    pub paths: Vec<PathBuf>,
}

impl Args {
    pub fn parse(argv: Vec<String>) -> Result<Args, String> {
        let mut it = argv.into_iter();
        let command = it.next().ok_or("missing command")?;
        let mut args = Args { command, policy: None, format: Format::Text, by_action: false, paths: Vec::new() };
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--policy" | "-p" => args.policy = Some(it.next().ok_or("--policy needs a FILE")?.into()),
                "--format" | "-f" => {
                    args.format = match it.next().as_deref() {
                        Some("text") => Format::Text,
                        Some("jsonl") => Format::Jsonl,
                        Some(other) => return Err(format!("--format takes text or jsonl, not {other:?}")),
                        None => return Err("--format needs text or jsonl".into()),
                    }
                }
                "--by-action" => args.by_action = true,
                "-" => args.paths.push(arg.into()),
                flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
                _ => args.paths.push(arg.into()),
            }
        }
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Args, String> {
        Args::parse(s.split_whitespace().map(String::from).collect())
    }

    #[test]
    fn flags_and_paths() {
        let a = parse("scan --policy p.yaml --format jsonl a b -").unwrap();
        assert_eq!(a.policy, Some("p.yaml".into()));
        assert_eq!(a.format, Format::Jsonl);
        assert_eq!(a.paths.len(), 3);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(parse("scan --format xml").unwrap_err(), r#"--format takes text or jsonl, not "xml""#);
        assert_eq!(parse("scan --format").unwrap_err(), "--format needs text or jsonl");
        assert!(parse("scan --policy").is_err());
        assert!(parse("scan --bogus").is_err());
        assert!(parse("").is_err());
    }
}
