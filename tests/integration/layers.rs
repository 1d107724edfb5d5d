//! The folders show the architecture (CONVENTIONS, "Layout"): dependencies
//! point down only, `ui` → `api` → `core` → `entities` → `types`, `http` →
//! `core`, and `http` never imports `api`. The compiler accepts an import
//! that runs back up, so this test reads the sources: it fails when a
//! module names a layer above its own, or when modules of `core` import
//! each other round a loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer (a folder or a file of `src/`) and the crate's top-level
/// modules it must never name.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "types",
        &[
            "entities",
            "core",
            "config",
            "state",
            "telemetry",
            "http",
            "api",
            "ui",
            "app",
            "server",
            "cli",
        ],
    ),
    (
        "entities",
        &[
            "core",
            "config",
            "state",
            "telemetry",
            "http",
            "api",
            "ui",
            "app",
            "server",
            "cli",
        ],
    ),
    (
        "core",
        &[
            "config",
            "state",
            "telemetry",
            "http",
            "api",
            "ui",
            "app",
            "server",
            "cli",
        ],
    ),
    (
        "state",
        &["telemetry", "http", "api", "ui", "app", "server", "cli"],
    ),
    ("telemetry", &["http", "api", "ui", "app", "server", "cli"]),
    ("http", &["api", "ui", "app", "server", "cli"]),
    ("api", &["ui", "app", "server", "cli"]),
    (
        "ui",
        &[
            "core",
            "entities",
            "state",
            "telemetry",
            "http",
            "server",
            "cli",
        ],
    ),
];

#[test]
fn no_layer_imports_one_above_it() {
    let mut breaches = Vec::new();
    for file in rust_files(&src()) {
        let module = module_path(&file);
        let Some((_, forbidden)) = FORBIDDEN.iter().find(|(layer, _)| module[0] == *layer) else {
            continue;
        };
        for path in crate_paths(&file, &module) {
            if forbidden.contains(&path[0].as_str()) {
                breaches.push(format!("{} names crate::{}", shown(&file), path.join("::")));
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "imports that run up a layer:\n{}",
        breaches.join("\n")
    );
}

#[test]
fn the_modules_of_core_import_each_other_in_no_loop() {
    // Edges between core's direct children (`core::oidc::*` counts as `oidc`).
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src().join("core")) {
        let module = module_path(&file);
        let Some(from) = module.get(1).filter(|m| *m != "mod") else {
            continue;
        };
        let entry = edges.entry(from.clone()).or_default();
        for path in crate_paths(&file, &module) {
            if path[0] == "core" && path.len() > 1 && path[1] != *from {
                entry.insert(path[1].clone());
            }
        }
    }
    let loops = loops(&edges);
    assert!(
        loops.is_empty(),
        "modules of core that import each other (each line one loop):\n{}",
        loops
            .iter()
            .map(|members| members.join(" ⇄ "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The checker itself: a file that imports upwards, and a loop, are found.
#[test]
fn the_layer_check_finds_what_it_looks_for() {
    let dir = std::env::temp_dir().join(format!("oneauth-layers-{}", std::process::id()));
    let file = dir.join("core").join("apps.rs");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        "use crate::{http::client, core::users};\nuse super::super::api::ApiError;\n// crate::ui in a comment\n",
    )
    .unwrap();
    let module = vec!["core".to_owned(), "apps".to_owned()];
    let mut found: Vec<String> = crate_paths(&file, &module)
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    found.sort();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, ["api::ApiError", "core::users", "http::client"]);

    let edges = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
        ("d".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(loops(&edges), [vec!["a", "b", "c"]]);
}

pub(crate) fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn shown(file: &Path) -> String {
    file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(file)
        .display()
        .to_string()
}

pub(crate) fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `src/core/oidc/keys.rs` is `["core", "oidc", "keys"]`; a `mod.rs` is its
/// folder's module; a file of `src/` is its own layer (`["types"]`).
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.len() > 1 && parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Every path the file names from the crate root: `crate::a::b`, each
/// member of `crate::{a, b::c}`, and `super::` chains resolved against the
/// file's own module. Comments are skipped.
fn crate_paths(file: &Path, module: &[String]) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(file).unwrap();
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut at = 0;
    while let Some(c) = code[at..].chars().next() {
        let tail = &code[at..];
        let boundary = code[..at]
            .chars()
            .last()
            .is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == ':'));
        let start = if !boundary {
            None
        } else if let Some(after) = tail.strip_prefix("crate::") {
            Some((Vec::new(), after))
        } else if tail.starts_with("super::") {
            let mut after = tail;
            let mut ups = 0;
            while let Some(next) = after.strip_prefix("super::") {
                after = next;
                ups += 1;
            }
            Some((module[..module.len().saturating_sub(ups)].to_vec(), after))
        } else {
            None
        };
        match start {
            Some((base, after)) => {
                for named in named_paths(after) {
                    let mut path = base.clone();
                    path.extend(named);
                    if !path.is_empty() {
                        paths.push(path);
                    }
                }
                at = code.len() - after.len();
            }
            None => at += c.len_utf8(),
        }
    }
    paths
}

/// The paths at the start of `text`: `a::b` gives one, `{a, b::c}` one per
/// member (nested groups and `self` are followed).
fn named_paths(text: &str) -> Vec<Vec<String>> {
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !ident.is_empty() {
        let after = &text[ident.len()..];
        if let Some(deeper) = after.strip_prefix("::") {
            let mut paths = named_paths(deeper);
            if paths.is_empty() {
                paths.push(Vec::new());
            }
            for path in &mut paths {
                path.insert(0, ident.clone());
            }
            return paths;
        }
        return vec![vec![ident]];
    }
    let Some(group) = text.strip_prefix('{') else {
        return Vec::new();
    };
    let mut depth = 0;
    let mut members = Vec::new();
    let mut start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                members.push(&group[start..i]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                members.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    members
        .into_iter()
        .map(str::trim)
        .filter(|m| !m.is_empty() && *m != "self" && *m != "*")
        .flat_map(named_paths)
        .collect()
}

/// The loops of a directed graph (its strongly connected components of
/// more than one node), each listed in name order (Tarjan).
fn loops(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(walk: &mut Walk<'a>, node: &'a str) {
        let order = walk.index.len();
        walk.index.insert(node, order);
        walk.low.insert(node, order);
        walk.stack.push(node);
        for next in walk.edges.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !walk.index.contains_key(next) {
                visit(walk, next);
                let low = walk.low[node].min(walk.low[next]);
                walk.low.insert(node, low);
            } else if walk.stack.contains(&next) {
                let low = walk.low[node].min(walk.index[next]);
                walk.low.insert(node, low);
            }
        }
        if walk.low[node] == walk.index[node] {
            let at = walk.stack.iter().rposition(|n| *n == node).unwrap();
            let mut members: Vec<String> = walk.stack.drain(at..).map(str::to_owned).collect();
            if members.len() > 1 {
                members.sort();
                walk.found.push(members);
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node.as_str()) {
            visit(&mut walk, node);
        }
    }
    walk.found.sort();
    walk.found
}
