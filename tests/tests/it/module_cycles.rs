//! The top-level modules of each crate of the workspace with a module tree
//! (`hoist-core`, `hoist-kube`, `hoist-operator`, `hoist-fleet`, `hoist-dashboard`,
//! `hoist-cli`, `hoist`, `devcluster`, `hoist-soak`) form a graph without cycles: a
//! module uses the ones below it, and nothing below calls back up. In the dashboard,
//! for example, `serve` wires `api` and `cache`; the cache never imports the API.
//!
//! The graph is read from the source text, not from the compiler: each file under a
//! crate's `src/` belongs to the top-level module its path names (`src/verbs/list.rs`
//! is `verbs`; `src/lib.rs` is the crate root, `crate`), and a file depends on every
//! top-level module a `crate::` path in it names (`use crate::store::Store`,
//! `use crate::{app::App, respond}`, `crate::events::convert(..)`). A `crate::Item`
//! that is not a module (`crate::Options`) is a dependency on the crate root.
//!
//! Caveats of a text scan:
//! - comments and string literals are skipped, so intra-doc links do not count;
//! - `super::` paths are resolved against the module they are written in: the file's,
//!   and each inline `mod name { .. }` around them is a level (so `use super::x` in a
//!   file's `mod tests` names the file's own module); `self::` paths stay in it;
//! - in the crate root, where modules are named without `crate::`, every `name::` of
//!   a top-level module counts;
//! - paths made by macros (other than a literal `$crate::name`) are not seen, nor
//!   are `#[path]` attributes or glob re-exports followed;
//! - binaries are crates of their own (they use the library by its name) and are left
//!   out: `src/bin/`, and `src/main.rs` beside a `src/lib.rs`. A crate with no
//!   `lib.rs` (the soak) is its `main.rs`, which is then the crate root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Dependencies that close a cycle and are tolerated for now, `(crate, from, to)`;
/// each says why and should go away ([`each_allowed_back_edge_is_still_there`] fails
/// once one is gone, so the list stays current).
const ALLOWED_BACK_EDGES: &[(&str, &str, &str)] = &[];

/// Checks one crate (its directory under the workspace root): the scan sees it (each
/// of `expected` is a dependency it finds), and its graph has no cycle.
fn assert_no_cycles(krate: &str, expected: &[(&str, &str)]) {
    let graph = Graph::of_crate(krate);
    for (from, to) in expected {
        assert!(
            graph
                .edges
                .contains_key(&(from.to_string(), to.to_string())),
            "the scan did not find `{from}` -> `{to}` in {krate}; is it still reading {krate}/src/?\n{}",
            graph.describe()
        );
    }
    // Shown with `--nocapture`: the graph as the scan reads it.
    println!("{krate}:\n{}", graph.describe());
    let cycles = graph.cycles();
    assert!(
        cycles.is_empty(),
        "{krate}'s top-level modules import each other in a cycle:\n{}\n\nthe whole graph:\n{}",
        cycles
            .iter()
            .map(|c| graph.explain(c))
            .collect::<Vec<_>>()
            .join("\n"),
        graph.describe()
    );
}

#[test]
fn the_modules_of_the_core_import_each_other_without_cycles() {
    assert_no_cycles("core", &[("operator", "repo"), ("install", "repo")]);
}

// The backend's components are crates of their own (decision 0032): what one may
// import of another is the compiler's to check; these tests keep each crate's own
// top-level modules acyclic. In the operator and the fleet the rooms name the
// `Context`, the `Error` and the options by their own modules, never through the
// crate root's re-exports, which are for other crates.

#[test]
fn the_modules_of_hoist_kube_import_each_other_without_cycles() {
    assert_no_cycles("kube", &[("install", "installs"), ("reflector", "repo")]);
}

#[test]
fn the_modules_of_the_operator_import_each_other_without_cycles() {
    assert_no_cycles(
        "operator",
        &[
            ("reconcile", "pass"),
            ("pass", "apply"),
            ("controller", "watches"),
        ],
    );
}

#[test]
fn the_modules_of_the_fleet_import_each_other_without_cycles() {
    assert_no_cycles(
        "fleet",
        &[
            ("start", "reconcile"),
            ("reconcile", "cleanup"),
            ("cleanup", "context"),
        ],
    );
}

#[test]
fn the_modules_of_the_dashboard_import_each_other_without_cycles() {
    assert_no_cycles("dashboard", &[("serve", "api"), ("api", "cache")]);
}

#[test]
fn the_modules_of_the_cli_import_each_other_without_cycles() {
    assert_no_cycles("cli", &[("install", "repo"), ("catalogue", "repo")]);
}

#[test]
fn the_modules_of_the_top_floor_import_each_other_without_cycles() {
    assert_no_cycles("backend", &[("app", "crate"), ("demo", "crate")]);
}

#[test]
fn the_modules_of_devcluster_import_each_other_without_cycles() {
    assert_no_cycles(
        "devcluster",
        &[("server", "verbs"), ("server", "auth"), ("crate", "server")],
    );
}

#[test]
fn the_modules_of_the_soak_import_each_other_without_cycles() {
    assert_no_cycles("soak", &[("crate", "run"), ("run", "check")]);
}

#[test]
fn each_allowed_back_edge_is_still_there() {
    for (krate, from, to) in ALLOWED_BACK_EDGES {
        let graph = Graph::of_crate(krate);
        assert!(
            graph
                .edges
                .contains_key(&(from.to_string(), to.to_string())),
            "`{from}` -> `{to}` is gone from {krate}: remove it from ALLOWED_BACK_EDGES"
        );
    }
}

#[test]
fn the_scan_reads_crate_paths_and_skips_comments_and_strings() {
    let modules: BTreeSet<String> = ["app", "store", "verbs", "respond", "auth"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let text = r#"
//! A doc link to [`crate::verbs`] is no dependency.
use crate::{app::App, respond::{self, json}};
use crate::store::Store;
/* crate::verbs in a block comment */
fn f() -> String {
    let _ = crate::Options::default();
    let s = "crate::verbs in a string";
    let c = '"';
    let q = super::super::auth::gate();
    let l: &'static str = "x";
    format!("{s}{c}{l}")
}
"#;
    let found: BTreeSet<String> = references(text, &["verbs", "list"], &modules)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let want: BTreeSet<String> = ["app", "respond", "store", "crate", "auth"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, want);
    // `super::` within a module stays in it; the root names modules bare.
    let inner = references("use super::list::selectors;", &["verbs", "watch"], &modules);
    assert_eq!(inner, vec![(1, "verbs".to_string())]);
    // An inline module is a level: its `super::` is the file's module.
    let tests = references(
        "fn edited() {}\n#[cfg(test)]\nmod tests {\n    use super::edited;\n    fn f() { super::super::store::x(); }\n}",
        &["verbs"],
        &modules,
    );
    assert_eq!(
        tests,
        vec![(4, "verbs".to_string()), (5, "store".to_string())]
    );
    let root = references(
        "let s = store::Store::new(); x.verbs::y; a::store::b;",
        &[],
        &modules,
    );
    assert_eq!(root, vec![(1, "store".to_string())]);
}

/// Module dependencies, with the first place each was seen (`file:line`).
struct Graph {
    /// The crate's directory under the workspace root, for its allowed back edges.
    krate: String,
    nodes: BTreeSet<String>,
    edges: BTreeMap<(String, String), String>,
}

impl Graph {
    fn of_crate(krate: &str) -> Graph {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the tests crate is in the workspace");
        let src = &root.join(krate).join("src");
        let has_lib = src.join("lib.rs").is_file();
        let mut files = Vec::new();
        rust_files(src, &mut files);
        files.sort();
        let module_path = |file: &Path| -> Vec<String> {
            let rel = file.strip_prefix(src).expect("under src");
            let mut segs: Vec<String> = rel
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            let last = segs.pop().expect("a file name");
            match last.as_str() {
                "mod.rs" | "lib.rs" => {}
                "main.rs" if segs.is_empty() && !has_lib => {}
                other => segs.push(other.trim_end_matches(".rs").to_string()),
            }
            segs
        };
        let files: Vec<(PathBuf, Vec<String>)> = files
            .into_iter()
            .filter(|f| {
                let rel = f.strip_prefix(src).expect("under src");
                let binary = rel.starts_with("bin") || (has_lib && rel == Path::new("main.rs"));
                !binary
            })
            .map(|f| {
                let m = module_path(&f);
                (f, m)
            })
            .collect();
        let mut nodes: BTreeSet<String> = files
            .iter()
            .filter_map(|(_, m)| m.first().cloned())
            .collect();
        let modules = nodes.clone();
        nodes.insert("crate".to_string());
        let mut edges = BTreeMap::new();
        for (file, module) in &files {
            let text = std::fs::read_to_string(file).expect("readable source");
            let from = module.first().cloned().unwrap_or_else(|| "crate".into());
            let segs: Vec<&str> = module.iter().map(String::as_str).collect();
            for (line, to) in references(&text, &segs, &modules) {
                if to != from {
                    let at = format!(
                        "{krate}/src/{}:{line}",
                        file.strip_prefix(src).expect("under src").display()
                    );
                    edges.entry((from.clone(), to)).or_insert(at);
                }
            }
        }
        Graph {
            krate: krate.to_string(),
            nodes,
            edges,
        }
    }

    fn allowed(&self, from: &str, to: &str) -> bool {
        ALLOWED_BACK_EDGES
            .iter()
            .any(|(k, f, t)| *k == self.krate && *f == from && *t == to)
    }

    fn successors(&self, node: &str) -> impl Iterator<Item = &str> {
        self.edges
            .keys()
            .filter(move |(from, to)| from == node && !self.allowed(from, to))
            .map(|(_, to)| to.as_str())
    }

    /// The strongly connected components of more than one module (Tarjan's).
    fn cycles(&self) -> Vec<Vec<String>> {
        struct Tarjan<'g> {
            graph: &'g Graph,
            index: BTreeMap<&'g str, usize>,
            low: BTreeMap<&'g str, usize>,
            stack: Vec<&'g str>,
            on_stack: BTreeSet<&'g str>,
            out: Vec<Vec<String>>,
        }
        impl<'g> Tarjan<'g> {
            fn visit(&mut self, v: &'g str) {
                let i = self.index.len();
                self.index.insert(v, i);
                self.low.insert(v, i);
                self.stack.push(v);
                self.on_stack.insert(v);
                for w in self.graph.successors(v) {
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let lw = self.low[w];
                        let lv = self.low.get_mut(v).expect("visited");
                        *lv = (*lv).min(lw);
                    } else if self.on_stack.contains(w) {
                        let iw = self.index[w];
                        let lv = self.low.get_mut(v).expect("visited");
                        *lv = (*lv).min(iw);
                    }
                }
                if self.low[v] == self.index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = self.stack.pop() {
                        self.on_stack.remove(w);
                        component.push(w.to_string());
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort();
                        self.out.push(component);
                    }
                }
            }
        }
        let mut t = Tarjan {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            out: Vec::new(),
        };
        for n in &self.nodes {
            if !t.index.contains_key(n.as_str()) {
                t.visit(n);
            }
        }
        t.out
    }

    /// One cycle through `component`, each step with where it was seen.
    fn explain(&self, component: &[String]) -> String {
        let inside = |n: &str| component.iter().any(|c| c == n);
        let start = component[0].as_str();
        // Breadth-first from `start` back to it, inside the component.
        let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        while let Some(v) = queue.pop_front() {
            for w in self.successors(v).filter(|w| inside(w)) {
                if w == start {
                    closing = Some(v);
                    break;
                }
                if !previous.contains_key(w) {
                    previous.insert(w, v);
                    queue.push_back(w);
                }
            }
            if closing.is_some() {
                break;
            }
        }
        let mut chain = Vec::new();
        let mut v = closing.expect("a component has a cycle");
        while v != start {
            chain.push(v);
            v = previous[v];
        }
        chain.reverse();
        let path: Vec<&str> = std::iter::once(start)
            .chain(chain)
            .chain(std::iter::once(start))
            .collect();
        let steps: Vec<String> = path
            .windows(2)
            .map(|p| {
                let at = &self.edges[&(p[0].to_string(), p[1].to_string())];
                format!("  {} -> {}  ({at})", p[0], p[1])
            })
            .collect();
        let all: Vec<String> = self
            .edges
            .iter()
            .filter(|((from, to), _)| inside(from) && inside(to) && !self.allowed(from, to))
            .map(|((from, to), at)| format!("  {from} -> {to}  ({at})"))
            .collect();
        format!(
            "cycle among {{{}}}:\n{}\nevery dependency among them:\n{}",
            component.join(", "),
            steps.join("\n"),
            all.join("\n")
        )
    }

    fn describe(&self) -> String {
        self.edges
            .iter()
            .map(|((from, to), at)| format!("  {from} -> {to}  ({at})"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules (or `crate`, for the crate root) that the code of a file of
/// module `module` (its path below the crate root) names, with the line of each.
fn references(text: &str, module: &[&str], modules: &BTreeSet<String>) -> Vec<(usize, String)> {
    let code = strip_comments_and_strings(text);
    let bytes = code.as_bytes();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let ident_at = |mut at: usize| -> (String, usize) {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        (code[start..at].to_string(), at)
    };
    // The first segments named after `prefix::` at `at`: one, or each of a `{...}` group.
    let heads = |at: usize| -> Vec<String> {
        let mut at = at;
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if bytes.get(at) != Some(&b'{') {
            return vec![ident_at(at).0];
        }
        let mut out = Vec::new();
        let mut depth = 0;
        let mut expect_head = true;
        for (i, &b) in bytes.iter().enumerate().skip(at) {
            match b {
                b'{' => {
                    depth += 1;
                    expect_head = depth == 1;
                }
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                b',' if depth == 1 => expect_head = true,
                b if expect_head && !b.is_ascii_whitespace() => {
                    expect_head = false;
                    out.push(ident_at(i).0);
                }
                _ => {}
            }
        }
        out
    };
    let boundary_before = |at: usize| {
        at == 0 || {
            let b = bytes[at - 1];
            !(b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        }
    };
    let top_of = |head: &str| -> String {
        if modules.contains(head) {
            head.to_string()
        } else {
            "crate".to_string()
        }
    };
    // The spans (`{` to `}`) of the inline modules declared in the file.
    let mut inline_modules = Vec::new();
    for (at, _) in code.match_indices("mod") {
        let keyword = boundary_before(at)
            && bytes
                .get(at + "mod".len())
                .is_some_and(|b| b.is_ascii_whitespace());
        let (name, mut open) = ident_at(at + "mod".len());
        if !keyword || name.is_empty() {
            continue;
        }
        while open < bytes.len() && bytes[open].is_ascii_whitespace() {
            open += 1;
        }
        if bytes.get(open) != Some(&b'{') {
            continue;
        }
        let mut depth = 0;
        let mut close = bytes.len();
        for (i, &b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        inline_modules.push((open, close));
    }
    let mut out = Vec::new();
    let mut push = |at: usize, to: String| {
        let entry = (line_of(at), to);
        if !out.contains(&entry) {
            out.push(entry);
        }
    };
    for (at, _) in code.match_indices("crate::") {
        let macro_crate = at > 0 && bytes[at - 1] == b'$';
        if !(boundary_before(at) || macro_crate) {
            continue;
        }
        for head in heads(at + "crate::".len()) {
            push(at, top_of(&head));
        }
    }
    for (at, _) in code.match_indices("super::") {
        if !boundary_before(at) {
            continue;
        }
        let mut depth = 0;
        let mut next = at;
        while code[next..].starts_with("super::") {
            depth += 1;
            next += "super::".len();
            while next < bytes.len() && bytes[next].is_ascii_whitespace() {
                next += 1;
            }
        }
        // Inline modules (`mod tests { .. }`) around the path are levels too.
        let inline = inline_modules
            .iter()
            .filter(|(open, close)| *open < at && at < *close)
            .count();
        let Some(base) = (module.len() + inline).checked_sub(depth) else {
            continue;
        };
        if base > 0 {
            // Still inside the file's module (or, in the root, an inline module of it).
            push(at, module.first().map_or("crate", |m| m).to_string());
        } else {
            for head in heads(next) {
                if head != "self" && !head.is_empty() {
                    push(at, top_of(&head));
                }
            }
        }
    }
    if module.is_empty() {
        // The crate root names its modules without `crate::`.
        for m in modules {
            let pattern = format!("{m}::");
            for (at, _) in code.match_indices(&pattern) {
                if boundary_before(at) && !(at > 0 && bytes[at - 1] == b'.') {
                    push(at, m.clone());
                }
            }
        }
    }
    out.sort();
    out
}

/// `text` with comments and the contents of string and char literals blanked
/// (newlines kept, so lines still count).
fn strip_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !(i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let body_start = j + 1;
            let rest: String = chars[body_start..].iter().collect();
            let body_len = rest
                .find(&closing)
                .map_or(rest.len(), |b| rest[..b].chars().count());
            let end = (body_start + body_len + closing.chars().count()).min(chars.len());
            for &ch in &chars[i..end] {
                out.push(blank(ch));
            }
            i = end;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'); otherwise a lifetime.
            let end = if next == Some('\\') {
                chars[i + 2..]
                    .iter()
                    .position(|&ch| ch == '\'')
                    .map(|p| i + 2 + p + 1)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    for &ch in &chars[i..end] {
                        out.push(blank(ch));
                    }
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}
