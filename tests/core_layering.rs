//! The core's modules form layers, not a circle (issue 14.1): reading `src/core/**/*.rs`,
//! every module's references to its siblings (`use super::…`, `use crate::core::…`, and
//! paths such as `super::failover::start(…)`) must make an acyclic graph, so that each
//! stage of the tick can be read on its own, below the pipeline in `src/core/mod.rs`.
//!
//! The nodes are the modules `src/core/mod.rs` declares (`mod links;` is `links.rs` or
//! `links/`). `mod.rs` itself is the root that composes the stages: its own references
//! are not edges, and neither are the stages' references to items it defines (`Global`,
//! `details`, the re-exported types). Unit-test modules (`#[cfg(test)] mod tests` at the
//! end of a file) and comments are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// The modules declared in `src/core/mod.rs`.
fn modules(root: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root.join("mod.rs")).expect("src/core/mod.rs");
    code_of(&text)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub(crate) ").or_else(|| l.strip_prefix("pub ")).unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';').map(|m| m.trim().to_string())
        })
        .collect()
}

/// `text` without comments and without the trailing `#[cfg(test)] mod …` unit tests.
fn code_of(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") && lines.get(i + 1).is_some_and(|n| n.trim_start().starts_with("mod ")) {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        // A trailing comment (no string in this code base holds "// ").
        let code = line.find("// ").map_or(*line, |at| &line[..at]);
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The first segments of the items a `{a, b::c, d}` group names (`s` starts after `{`).
fn group_heads(s: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let (mut depth, mut item_start) = (0usize, true);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && !c.is_whitespace() => {
                heads.push(ident_at(&s[i..]).to_string());
                item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// The core modules (named relative to `src/core`) that `code` refers to, for a file
/// `depth` directories below `src/core` (`links.rs`: 0, `monitor/info.rs`: 1).
fn references(code: &str, depth: usize) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    let mut add = |rest: &str| {
        if let Some(group) = rest.strip_prefix('{') {
            refs.extend(group_heads(group));
        } else {
            refs.insert(ident_at(rest).to_string());
        }
    };
    for (at, _) in code.match_indices("crate::core::") {
        add(&code[at + "crate::core::".len()..]);
    }
    // `super::` once per level up to `src/core` (a file inside `monitor/` reaching
    // `core::fencing` writes `super::super::fencing`); fewer stay inside its module.
    let up = "super::".repeat(depth + 1);
    for (at, _) in code.match_indices(&up) {
        let preceded = code[..at].ends_with("super::");
        let rest = &code[at + up.len()..];
        if !preceded && !rest.starts_with("super::") {
            add(rest);
        }
    }
    refs
}

/// module → module it refers to → the files that do.
fn graph(root: &Path) -> Graph {
    let nodes = modules(root);
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut g: Graph = nodes.iter().map(|n| (n.clone(), BTreeMap::new())).collect();
    for file in files {
        let rel = file.strip_prefix(root).expect("under src/core");
        let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let node = parts[0].trim_end_matches(".rs").to_string();
        if node == "mod" {
            continue; // the root
        }
        // `monitor/mod.rs` sits at the same level as `links.rs`.
        let depth = if parts.last().is_some_and(|p| p == "mod.rs") { parts.len() - 2 } else { parts.len() - 1 };
        let code = code_of(&std::fs::read_to_string(&file).expect("readable source file"));
        for r in references(&code, depth) {
            if r != node && nodes.contains(&r) {
                let by = g.entry(node.clone()).or_default().entry(r).or_default();
                by.insert(rel.display().to_string());
            }
        }
    }
    g
}

/// One cycle of `g`, if any, as the modules along it (the first repeated at the end).
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(g: &Graph, n: &str, state: &mut BTreeMap<String, u8>, path: &mut Vec<String>) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in g.get(n).into_iter().flat_map(|e| e.keys()) {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = path.iter().position(|p| p == m).expect("on the path");
                    let mut cycle = path[start..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(g, m, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(g, n, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn core_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core")
}

#[test]
fn core_modules_do_not_import_each_other_in_a_circle() {
    let g = graph(&core_dir());
    if let Some(cycle) = find_cycle(&g) {
        let mut why = String::new();
        for pair in cycle.windows(2) {
            let files: Vec<&String> = g[&pair[0]][&pair[1]].iter().collect();
            why.push_str(&format!("\n  {} -> {} (in {:?})", pair[0], pair[1], files));
        }
        panic!("src/core has an import cycle: {}{why}", cycle.join(" -> "));
    }
}

/// The reader sees real edges: a parser that found none would pass the test above.
#[test]
fn the_reader_sees_the_references() {
    let g = graph(&core_dir());
    let edges = |m: &str| g.get(m).map(|e| e.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    // `use super::{details, election, …}` in a group, and `use super::io::…`.
    assert!(edges("failover").contains(&"election".to_string()), "{g:#?}");
    assert!(edges("failover").contains(&"io".to_string()), "{g:#?}");
    // `use crate::core::…` from inside a directory module.
    assert!(edges("commands").contains(&"failover".to_string()), "{g:#?}");
    // Items of the root and of a module's own files are not edges.
    assert!(!g.values().any(|e| e.contains_key("mod")), "{g:#?}");
    assert!(!edges("monitor").contains(&"monitor".to_string()), "{g:#?}");
}

#[test]
fn a_cycle_is_found_when_there_is_one() {
    let code = "use super::io::{Io, ReqKind};\nuse super::{details, election, Global};\n";
    assert_eq!(references(code, 0), ["Global", "details", "election", "io"].map(String::from).into());
    let nested = "use super::info::Role;\nlet x = crate::core::fencing::lease_wait(1);\nsuper::super::links::send();";
    assert_eq!(references(nested, 1), ["fencing", "links"].map(String::from).into());
    let mut g = Graph::new();
    let edge = |to: &str| BTreeMap::from([(to.to_string(), BTreeSet::new())]);
    g.insert("a".into(), edge("b"));
    g.insert("b".into(), edge("c"));
    g.insert("c".into(), BTreeMap::new());
    assert_eq!(find_cycle(&g), None);
    g.insert("c".into(), edge("a"));
    assert_eq!(find_cycle(&g), Some(["a", "b", "c", "a"].map(String::from).to_vec()));
}
