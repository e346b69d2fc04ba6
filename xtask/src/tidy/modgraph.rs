//! The import circle rule: in every crate of the workspace, no top-level module uses a module
//! that (directly or through others) uses it back. Imports through the crate root's re-exports
//! count (`use crate::Filter` depends on the module `Filter` comes from).
//!
//! A plain text scan, good enough for this workspace's style: `crate::NAME` and `super::NAME`
//! paths outside comments and literals and outside a trailing `#[cfg(test)] mod tests { ... }`.

use super::{code_only, read, rust_files, shown};
use crate::workspace::Package;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Fails naming every circle found in `packages`' library and binary crates (the directory of
/// each `lib.rs` or `main.rs`).
pub(super) fn check(root: &Path, packages: &[Package]) -> Result<(), String> {
    let mut found = Vec::new();
    let mut dirs: Vec<PathBuf> = packages
        .iter()
        .flat_map(|p| &p.targets)
        .filter(|t| t.kind == "lib" || t.kind == "bin")
        .filter_map(|t| t.src.parent().map(Path::to_path_buf))
        // `src/bin/NAME.rs`: a binary of the crate whose `src` is counted already.
        .filter(|d| !d.ends_with("bin"))
        .collect();
    dirs.sort();
    dirs.dedup();
    for src in dirs {
        for cycle in cycles(&graph_of(&src)?) {
            found.push(format!("{}: {}", shown(root, &src), cycle.join(" <-> ")));
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "modules that import each other (directly or through others): {}",
            found.join("; ")
        ))
    }
}

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Module -> the modules it uses, for one crate's `src` directory.
fn graph_of(src: &Path) -> Result<Graph, String> {
    let root_file = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .find(|p| p.is_file());
    let reexports = match &root_file {
        Some(p) => reexports(&read(p)?),
        None => BTreeMap::new(),
    };
    let mut graph = Graph::new();
    for file in rust_files(src)? {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        let mut parts = rel.iter().map(|p| p.to_string_lossy().into_owned());
        let first = parts.next().unwrap_or_default();
        let top = first.trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" || top == "bin" {
            continue;
        }
        // `super::` in a nested file names its own top module, except in a `mod.rs`.
        let nested = rel.components().count() > 1 && !rel.ends_with("mod.rs");
        let text = code_of(&read(&file)?);
        let deps = graph.entry(top.clone()).or_default();
        for name in paths_after(&text, "crate::") {
            deps.insert(reexports.get(&name).cloned().unwrap_or(name));
        }
        if !nested {
            deps.extend(paths_after(&text, "super::"));
        }
        deps.remove(&top);
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    Ok(graph)
}

/// The code of a file: without comments and literals, and without a trailing test module.
fn code_of(text: &str) -> String {
    let code = code_only(text);
    match code.find("#[cfg(test)]\nmod tests {") {
        Some(at) => code[..at].to_owned(),
        None => code,
    }
}

/// The first path segments after each `prefix` (`crate::{a, b::c}` gives `a` and `b`).
fn paths_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.extend(ident(item.trim()));
            }
        } else {
            out.extend(ident(rest));
        }
    }
    out
}

fn ident(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `pub use MODULE::{A, B as C};` at the crate root: name -> module.
fn reexports(root: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in root.lines() {
        let Some(rest) = line
            .trim_start()
            .strip_prefix("pub use ")
            .or_else(|| line.trim_start().strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let Some((module, items)) = rest.trim_end_matches(';').split_once("::") else {
            continue;
        };
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.rsplit(" as ").next().unwrap_or("").trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    out
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let i = w.index.len();
        w.index.insert(v, i);
        w.low.insert(v, i);
        w.stack.push(v);
        for d in &w.graph[v] {
            let d = d.as_str();
            if !w.index.contains_key(d) {
                visit(w, d);
                let low = w.low[v].min(w.low[d]);
                w.low.insert(v, low);
            } else if w.stack.contains(&d) {
                let low = w.low[v].min(w.index[d]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(x) = w.stack.pop() {
                component.push(x.to_string());
                if x == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut w = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !w.index.contains_key(v.as_str()) {
            visit(&mut w, v);
        }
    }
    w.found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidy::fabricated;
    use test_support::TempDir;

    fn tree(dir: &TempDir, files: &[(&str, &str)]) -> PathBuf {
        fabricated(dir.path(), "t", files, &[]);
        dir.path().to_path_buf()
    }

    #[test]
    fn a_circle_through_a_reexport_is_found_and_a_chain_is_not() {
        let dir = TempDir::new("xtask-modgraph");
        let dir = tree(
            &dir,
            &[
                (
                    "lib.rs",
                    "mod a;\nmod b;\nmod c;\npub use b::{Bee, Other as O};\n",
                ),
                ("a.rs", "use crate::Bee;\n"),
                ("b.rs", "use crate::{c::See, x};\n"),
                (
                    "c.rs",
                    "// use crate::a::Ay; (a comment does not count)\nfn f() { crate::a::g() }\n",
                ),
            ],
        );
        assert_eq!(
            cycles(&graph_of(&dir).unwrap()),
            vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]]
        );
        let chain = TempDir::new("xtask-modgraph");
        let chain = tree(
            &chain,
            &[
                ("lib.rs", "mod a;\nmod b;\n"),
                (
                    "a.rs",
                    "use crate::b::B;\nconst S: &str = \"crate::a\";\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n",
                ),
                ("b/mod.rs", "mod inner;\n"),
                ("b/inner.rs", "use super::Thing;\n"),
            ],
        );
        assert!(cycles(&graph_of(&chain).unwrap()).is_empty());
    }

    /// The rule as the tidy test runs it, on a fabricated member whose two modules import each
    /// other: it fails, naming the crate's directory and the modules.
    #[test]
    fn the_rule_fails_on_a_fabricated_circle() {
        let root = TempDir::new("xtask-modgraph");
        let member = fabricated(
            &root.join("circle"),
            "circle",
            &[
                ("src/lib.rs", "mod net;\nmod wire;\n"),
                ("src/net.rs", "use crate::wire::Frame;\n"),
                ("src/wire.rs", "use crate::net::Socket;\n"),
                ("src/bin/tool.rs", "use circle::net;\n"),
            ],
            &[("lib", "src/lib.rs"), ("bin", "src/bin/tool.rs")],
        );
        let err = check(root.path(), std::slice::from_ref(&member)).unwrap_err();
        assert_eq!(
            err,
            "modules that import each other (directly or through others): circle/src: net <-> wire"
        );
        std::fs::write(root.join("circle/src/wire.rs"), "pub struct Frame;\n").unwrap();
        assert_eq!(check(root.path(), &[member]), Ok(()));
    }

    #[test]
    fn paths_are_read_with_groups_and_not_inside_other_names() {
        let found = paths_after(
            "use crate::{alpha, beta::x};\nmy_crate::gamma; crate::delta::y",
            "crate::",
        );
        let want: BTreeSet<String> = ["alpha", "beta", "delta"].map(String::from).into();
        assert_eq!(found, want);
    }
}
