//! The reqwest type stays out of the public API of the HTTP kit, the Buildkite adapter and
//! the proxy, except where a function's name says so (one clearly named door per crate).

use std::path::{Path, PathBuf};

/// Public functions that may name reqwest though their name does not: `execute` sends what
/// a closure builds from `HttpClient::reqwest()`.
const ALLOWED: &[&str] = &["execute"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `(name, signature)` of every `pub fn` (not `pub(crate)`), up to its body.
fn public_fns(source: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (start, _) in source.match_indices("pub ") {
        let rest = &source[start + 4..];
        let rest = rest.strip_prefix("async ").unwrap_or(rest);
        let Some(rest) = rest.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let end = rest.find(['{', ';']).unwrap_or(rest.len());
        found.push((name, rest[..end].to_owned()));
    }
    found
}

#[test]
fn reqwest_appears_only_behind_named_doors() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut offenders = Vec::new();
    let mut doors = Vec::new();
    for krate in ["unidir-http", "unidir-buildkite", "unidir-proxy"] {
        let mut files = Vec::new();
        rust_files(&root.join("crates").join(krate).join("src"), &mut files);
        assert!(!files.is_empty(), "{krate} has sources");
        for file in files {
            let source = std::fs::read_to_string(&file).expect("source");
            assert!(
                !source.contains("pub use reqwest"),
                "{} re-exports reqwest",
                file.display()
            );
            for (name, signature) in public_fns(&source) {
                if !signature.contains("reqwest") {
                    continue;
                }
                if name.contains("reqwest") {
                    doors.push(format!("{krate}::{name}"));
                } else if !ALLOWED.contains(&name.as_str()) {
                    offenders.push(format!("{}: pub fn {name}", file.display()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "public functions naming reqwest without saying so: {offenders:#?}"
    );
    for door in [
        "unidir-http::with_reqwest_client",
        "unidir-http::harden_reqwest",
        "unidir-buildkite::with_reqwest_client",
        "unidir-proxy::with_reqwest_client_builder",
    ] {
        assert!(doors.iter().any(|d| d == door), "{door} in {doors:?}");
    }
}

#[test]
fn the_scan_sees_signatures_across_lines() {
    let source = "impl X {\n    pub async fn go(\n        &self,\n        c: reqwest::Client,\n    ) -> u8 {\n    }\n    pub(crate) fn hidden(c: reqwest::Client) {}\n}";
    assert_eq!(
        public_fns(source),
        [(
            "go".to_owned(),
            "go(\n        &self,\n        c: reqwest::Client,\n    ) -> u8 ".to_owned()
        )]
    );
}
