//! The dependency rules of ARCHITECTURE.md, checked on the source: the domain never
//! imports a front end, the two front ends stay apart, the public page and the console
//! never import each other nor the API (a room of its own), console pages share only the console's common rooms, and the
//! top-level modules import each other without a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const TOP_LEVEL: [&str; 12] = [
    "batch", "cli", "config", "crypto", "export", "i18n", "imap", "mail", "outbox", "roster",
    "storage", "web",
];
const DOMAIN: [&str; 10] = [
    "batch", "config", "crypto", "export", "i18n", "imap", "mail", "outbox", "roster", "storage",
];
/// The console's shared rooms, which its pages may import.
const CONSOLE_SHARED: [&str; 3] = ["layout", "batch_page", "session"];
/// Source files over this many lines are split (crypto/mod.rs, the key hierarchy, stays
/// one auditable file).
const MAX_LINES: usize = 700;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
    out
}

/// The code of a file without its comments (so a doc line naming a module is no import).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file belongs to (`src/web/console/auth.rs` → `web`).
fn top_module(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The top-level modules a file names through `crate::`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if TOP_LEVEL.contains(&name.as_str()) {
            refs.insert(name);
        } else if rest.starts_with('{') {
            // `use crate::{a, b::c};`
            let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for part in group.split(',') {
                let name = part.trim().split("::").next().unwrap_or("").trim();
                if TOP_LEVEL.contains(&name) {
                    refs.insert(name.to_owned());
                }
            }
        }
    }
    refs
}

#[test]
fn the_domain_never_imports_a_front_end() {
    for (path, text) in sources(&src()) {
        let top = top_module(&path);
        if !DOMAIN.contains(&top.as_str()) {
            continue;
        }
        let refs = crate_refs(&code(&text));
        assert!(
            !refs.contains("cli") && !refs.contains("web"),
            "{} (domain) imports a front end: {refs:?}",
            path.display()
        );
    }
}

#[test]
fn the_front_ends_stay_apart() {
    for (path, text) in sources(&src()) {
        let refs = crate_refs(&code(&text));
        match top_module(&path).as_str() {
            "web" => assert!(
                !refs.contains("cli"),
                "{} (web) imports cli",
                path.display()
            ),
            "cli" => {
                let name = path.file_name().unwrap().to_string_lossy();
                assert!(
                    !refs.contains("web") || name == "serve.rs" || name == "doctor.rs",
                    "{} imports web; only serve and the doctor may",
                    path.display()
                );
            }
            _ => {}
        }
    }
}

#[test]
fn the_public_page_and_the_console_never_import_each_other() {
    for (side, other) in [("public", "console"), ("console", "public")] {
        for (path, text) in sources(&src().join("web").join(side)) {
            let code = code(&text);
            for needle in [
                format!("{other}::"),
                format!("web::{other}"),
                format!("super::{other}"),
            ] {
                assert!(
                    !code.contains(&needle),
                    "{} ({side}) names {needle}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn the_api_is_a_room_of_its_own() {
    // The API imports neither side, and neither side imports it.
    for (path, text) in sources(&src().join("web").join("api")) {
        let code = code(&text);
        for other in ["public", "console"] {
            for needle in [format!("web::{other}"), format!("super::{other}")] {
                assert!(
                    !code.contains(&needle),
                    "{} (api) names {needle}",
                    path.display()
                );
            }
        }
    }
    for side in ["public", "console"] {
        for (path, text) in sources(&src().join("web").join(side)) {
            let code = code(&text);
            for needle in ["web::api", "super::api", "api::"] {
                assert!(
                    !code.contains(needle),
                    "{} ({side}) names {needle}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn console_pages_share_only_the_consoles_common_rooms() {
    let dir = src().join("web").join("console");
    let files = sources(&dir);
    let siblings: Vec<String> = files
        .iter()
        .map(|(p, _)| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "mod")
        .collect();
    for (path, text) in &files {
        let me = path.file_stem().unwrap().to_string_lossy();
        if me == "mod" {
            continue;
        }
        let code = code(text);
        for sibling in &siblings {
            if *sibling == me || CONSOLE_SHARED.contains(&sibling.as_str()) {
                continue;
            }
            let direct = format!("super::{sibling}");
            let grouped = code.match_indices("super::{").any(|(i, _)| {
                let group = &code[i..i + code[i..].find('}').unwrap_or(0)];
                group.contains(&format!("{sibling}::"))
            });
            assert!(
                !code.contains(&direct) && !grouped,
                "console/{me}.rs imports console/{sibling}.rs; share it through console/mod.rs instead"
            );
        }
    }
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources(&src()) {
        let top = top_module(&path);
        if !TOP_LEVEL.contains(&top.as_str()) {
            continue;
        }
        let refs = crate_refs(&code(&text));
        edges
            .entry(top.clone())
            .or_default()
            .extend(refs.into_iter().filter(|r| *r != top));
    }
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(start) = path.iter().position(|n| n == node) {
            panic!("import cycle: {} -> {node}", path[start..].join(" -> "));
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done);
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, &edges, &mut Vec::new(), &mut done);
    }
}

#[test]
fn no_source_file_is_too_long_to_read() {
    for (path, text) in sources(&src()) {
        if path.ends_with("crypto/mod.rs") {
            continue;
        }
        let lines = text.lines().count();
        assert!(
            lines <= MAX_LINES,
            "{} has {lines} lines (at most {MAX_LINES}): split it by concern",
            path.display()
        );
    }
}
