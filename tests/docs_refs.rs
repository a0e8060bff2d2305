//! The code's references into the repository's own documents resolve (issue 14 item 4):
//! every "§N.N" cited in `src/`, `tests/`, `examples/` or `bench/` is a heading of a
//! document in `docs/`, and every document `docs/<name>.md` named there exists.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if !p.ends_with("target") && !p.ends_with("node_modules") {
                files(&p, exts, out);
            }
        } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
            out.push(p);
        }
    }
}

/// "§" followed by dotted numbers, as written in the code ("§7.2", "§15").
fn section_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices('§') {
        let rest = &text[i + '§'.len_utf8()..];
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let r = rest[..end].trim_end_matches('.');
        if !r.is_empty() {
            out.push(r.to_string());
        }
    }
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn code_files() -> Vec<PathBuf> {
    let mut code = Vec::new();
    for d in ["src", "tests", "examples", "bench", "scripts"] {
        files(&root().join(d), &["rs", "py", "sh"], &mut code);
    }
    assert!(code.len() > 50, "found only {} code files", code.len());
    code
}

#[test]
fn every_section_cited_in_the_code_is_a_heading_in_docs() {
    let mut docs = Vec::new();
    files(&root().join("docs"), &["md"], &mut docs);
    let mut headings = BTreeSet::new();
    for d in &docs {
        for line in fs::read_to_string(d).unwrap().lines().filter(|l| l.starts_with('#')) {
            headings.extend(section_refs(line));
        }
    }
    assert!(headings.len() > 20, "docs/ has only {} numbered headings", headings.len());
    let mut missing = Vec::new();
    for f in code_files() {
        let text = fs::read_to_string(&f).unwrap_or_default();
        for r in section_refs(&text) {
            if !headings.contains(&r) {
                missing.push(format!("{}: §{r}", f.strip_prefix(root()).unwrap().display()));
            }
        }
    }
    assert!(missing.is_empty(), "sections cited but not a heading in docs/:\n{}", missing.join("\n"));
}

#[test]
fn every_document_named_in_the_code_exists() {
    let mut missing = BTreeSet::new();
    for f in code_files() {
        let text = fs::read_to_string(&f).unwrap_or_default();
        for (i, _) in text.match_indices("docs/") {
            let rest = &text[i..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || "/_-.".contains(c))).unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches('.');
            if name.ends_with(".md") && !root().join(name).exists() {
                missing.insert(format!("{}: {name}", f.strip_prefix(root()).unwrap().display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documents named but missing:\n{}",
        missing.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_reference_parser_finds_what_it_should() {
    assert_eq!(section_refs("(§7.2, §15.) see §3 and §"), ["7.2", "15", "3"]);
}
