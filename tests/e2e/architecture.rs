//! The layering `ARCHITECTURE.md` describes, checked on the sources themselves, so that it stays
//! true: dependencies point down towards `models`; the engine crates know nothing of HTTP (and
//! `query` has no database, `recommender` no search engine, `commerce` only the domain types);
//! inside the binary only `src/http` names axum; file names are joined onto a data directory in
//! `models::DataDir` alone; and no crate has a file-level import circle (two source files that
//! import each other, directly or through others), re-exports followed to where items live.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The workspace's root folder.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// The crates: folder (relative to the workspace) and package name.
const CRATES: [(&str, &str); 8] = [
    (".", "vitrine"),
    ("models", "vitrine-models"),
    ("indexer", "vitrine-indexer"),
    ("query", "vitrine-query"),
    ("recommender", "vitrine-recommender"),
    ("pipelines", "vitrine-pipelines"),
    ("commerce", "vitrine-commerce"),
    ("eval", "vitrine-eval"),
];

/// The `[dependencies]` (not dev- or build-dependencies) of the crate in `folder`.
fn dependencies(folder: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace().join(folder).join("Cargo.toml")).expect("Cargo.toml");
    let manifest: toml::Table = toml::from_str(&text).expect("a valid Cargo.toml");
    manifest
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .map(|table| table.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn dependencies_point_down_and_engines_know_no_http() {
    let http = ["axum", "tower", "tower-http", "hyper", "hyper-util", "vitrine"];
    for (folder, name) in CRATES.iter().skip(1) {
        let dependencies = dependencies(folder);
        for forbidden in http {
            assert!(!dependencies.contains(forbidden), "{name} depends on {forbidden}: engines know nothing of HTTP");
        }
    }
    let rules: [(&str, &[&str]); 5] = [
        (
            "models",
            &[
                "vitrine-indexer",
                "vitrine-query",
                "vitrine-recommender",
                "vitrine-pipelines",
                "vitrine-commerce",
                "vitrine-eval",
            ],
        ),
        ("query", &["sqlx", "vitrine-recommender", "vitrine-pipelines", "vitrine-commerce", "vitrine-eval"]),
        (
            "recommender",
            &[
                "tantivy",
                "sqlx",
                "polars",
                "vitrine-indexer",
                "vitrine-query",
                "vitrine-pipelines",
                "vitrine-commerce",
                "vitrine-eval",
            ],
        ),
        (
            "commerce",
            &[
                "tantivy",
                "polars",
                "vitrine-indexer",
                "vitrine-query",
                "vitrine-recommender",
                "vitrine-pipelines",
                "vitrine-eval",
            ],
        ),
        (
            "indexer",
            &[
                "sqlx",
                "polars",
                "vitrine-query",
                "vitrine-recommender",
                "vitrine-pipelines",
                "vitrine-commerce",
                "vitrine-eval",
            ],
        ),
    ];
    for (folder, forbidden) in rules {
        let dependencies = dependencies(folder);
        for crate_name in forbidden {
            assert!(!dependencies.contains(*crate_name), "{folder} depends on {crate_name}");
        }
    }
}

/// Every `.rs` file under `folder`, relative to the workspace.
fn sources(folder: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_owned()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn only_the_http_layer_names_axum_and_only_the_layout_names_files_in_the_data_directory() {
    let root = workspace();
    for file in sources(&root.join("src")) {
        let relative = file.strip_prefix(&root).expect("inside the workspace").to_string_lossy().into_owned();
        let code = strip_comments_and_strings(&std::fs::read_to_string(&file).expect("a source file"));
        if !relative.starts_with("src/http/") {
            assert!(!code.contains("axum"), "{relative} names axum: only src/http knows it");
        }
        if relative.starts_with("src/http/") && relative != "src/http/indexes/settings/drafts.rs" {
            assert!(!code.contains("vitrine_eval"), "{relative}: the HTTP API uses eval for the console's drafts only");
        }
    }
    for (folder, _) in CRATES {
        for file in sources(&root.join(folder).join("src")) {
            let code = strip_comments_and_strings(&std::fs::read_to_string(&file).expect("a source file"));
            assert!(
                !code.contains(".root().join("),
                "{}: a file name joined onto a data directory; name it in models::DataDir",
                file.display()
            );
        }
    }
}

#[test]
fn no_crate_has_a_file_level_import_circle() {
    let root = workspace();
    let mut circles = Vec::new();
    for (folder, name) in CRATES {
        let graph = ModuleGraph::read(&root.join(folder).join("src"));
        for circle in graph.circles() {
            circles.push(format!("{name}: {}", circle.join(" → ")));
        }
    }
    assert!(circles.is_empty(), "import circles:\n{}", circles.join("\n"));
}

/// A module path inside a crate (`[]` is the crate root).
type ModulePath = Vec<String>;

/// The file-level import graph of one crate: which source file names items of which other.
struct ModuleGraph {
    /// Each file module's path and its file.
    files: BTreeMap<ModulePath, PathBuf>,
    /// Each file module's code, comments, strings and tests left out.
    code: BTreeMap<ModulePath, String>,
    /// The file modules each file declares (`mod x;`).
    children: HashMap<ModulePath, BTreeSet<String>>,
    /// What each file re-exports (`pub use`): name → the path it stands for.
    reexports: HashMap<ModulePath, HashMap<String, Vec<String>>>,
}

impl ModuleGraph {
    fn read(src: &Path) -> ModuleGraph {
        let mut graph = ModuleGraph {
            files: BTreeMap::new(),
            code: BTreeMap::new(),
            children: HashMap::new(),
            reexports: HashMap::new(),
        };
        for file in sources(src) {
            let relative = file.strip_prefix(src).expect("inside src");
            let mut module: ModulePath =
                relative.with_extension("").iter().map(|part| part.to_string_lossy().into_owned()).collect();
            if module.last().is_some_and(|last| last == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                module.clear();
            }
            let code =
                without_tests(&strip_comments_and_strings(&std::fs::read_to_string(&file).expect("a source file")));
            let code = without_restricted_visibility(&code);
            graph.children.insert(module.clone(), declared_modules(&code));
            let mut reexports = HashMap::new();
            for (public, tree) in use_statements(&code) {
                if public {
                    for path in expand_use_tree(&tree) {
                        if let Some(last) = path.last().filter(|last| *last != "*") {
                            reexports.insert(last.clone(), path);
                        }
                    }
                }
            }
            graph.reexports.insert(module.clone(), reexports);
            graph.code.insert(module.clone(), code);
            graph.files.insert(module, relative.to_owned());
        }
        graph
    }

    /// `path` as written in `module`, made absolute; `None` for other crates' paths.
    fn absolute(&self, module: &ModulePath, path: &[String]) -> Option<ModulePath> {
        let head = path.first()?;
        match head.as_str() {
            "crate" => Some(path[1..].to_vec()),
            "self" => Some(module.iter().chain(&path[1..]).cloned().collect()),
            "super" => {
                let mut base = module.clone();
                let mut rest = path;
                while rest.first().is_some_and(|part| part == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                Some(base.into_iter().chain(rest.iter().cloned()).collect())
            }
            child if self.children.get(module).is_some_and(|children| children.contains(child)) => {
                Some(module.iter().chain(path).cloned().collect())
            }
            _ => None,
        }
    }

    /// The file that defines what `path` (absolute) names, following re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> ModulePath {
        let length = (0..=path.len()).rev().find(|&length| self.files.contains_key(&path[..length])).unwrap_or(0);
        let (module, rest) = (path[..length].to_vec(), &path[length..]);
        if let Some(name) = rest.first()
            && depth < 10
            && let Some(target) = self.reexports.get(&module).and_then(|reexports| reexports.get(name))
            && let Some(absolute) = self.absolute(&module, target)
        {
            let followed: Vec<String> = absolute.into_iter().chain(rest[1..].iter().cloned()).collect();
            return self.resolve(&followed, depth + 1);
        }
        module
    }

    /// Each file's imports of other files of the crate.
    fn edges(&self) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
        let mut edges = BTreeMap::new();
        for (module, code) in &self.code {
            let mut paths: Vec<Vec<String>> =
                use_statements(code).into_iter().flat_map(|(_, tree)| expand_use_tree(&tree)).collect();
            paths.extend(code_paths(&without_use_statements(code)));
            let targets: BTreeSet<ModulePath> = paths
                .iter()
                .filter_map(|path| self.absolute(module, path))
                .map(|absolute| self.resolve(&absolute, 0))
                .filter(|target| target != module)
                .collect();
            edges.insert(module.clone(), targets);
        }
        edges
    }

    /// The strongly connected groups of more than one file, as file names.
    fn circles(&self) -> Vec<Vec<String>> {
        let edges = self.edges();
        let nodes: Vec<&ModulePath> = edges.keys().collect();
        let reaches = |from: &ModulePath| {
            let mut seen = BTreeSet::new();
            let mut pending = vec![from.clone()];
            while let Some(node) = pending.pop() {
                for next in edges.get(&node).into_iter().flatten() {
                    if seen.insert(next.clone()) {
                        pending.push(next.clone());
                    }
                }
            }
            seen
        };
        let reachable: BTreeMap<&ModulePath, BTreeSet<ModulePath>> =
            nodes.iter().map(|node| (*node, reaches(node))).collect();
        let mut grouped = BTreeSet::new();
        let mut circles = Vec::new();
        for node in &nodes {
            if grouped.contains(*node) || !reachable[node].contains(*node) {
                continue;
            }
            let group: Vec<&ModulePath> = nodes
                .iter()
                .copied()
                .filter(|other| reachable[node].contains(*other) && reachable[other].contains(*node))
                .collect();
            if group.len() > 1 {
                grouped.extend(group.iter().map(|module| (*module).clone()));
                circles.push(group.iter().map(|module| self.files[*module].display().to_string()).collect());
            }
        }
        circles
    }
}

/// The code without comments, and with every string and character literal emptied.
fn strip_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += hashes + 2;
            while i < chars.len()
                && !(chars[i] == '"' && chars[i + 1..].iter().take(hashes).filter(|c| **c == '#').count() == hashes)
            {
                i += 1;
            }
            i += hashes + 1;
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A character literal ('x', '\n', '\u{1F600}'), not a lifetime.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The code before its unit tests (`#[cfg(test)] mod tests {`, maybe `pub(super)`, at the end of
/// a file by habit).
fn without_tests(code: &str) -> String {
    let mut search = 0;
    while let Some(found) = code[search..].find("#[cfg(test)]") {
        let at = search + found;
        let mut after = code[at + "#[cfg(test)]".len()..].trim_start();
        if let Some(public) = after.strip_prefix("pub") {
            after = public.strip_prefix('(').and_then(|scope| scope.split_once(')')).map_or(public, |(_, rest)| rest);
            after = after.trim_start();
        }
        if after.starts_with("mod ") && after.split('\n').next().is_some_and(|line| line.contains('{')) {
            return code[..at].to_owned();
        }
        search = at + 1;
    }
    code.to_owned()
}

/// The code with `pub(in path)` written `pub` (a visibility names a module; it imports nothing).
fn without_restricted_visibility(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("pub(in ") {
        out.push_str(&rest[..at]);
        out.push_str("pub");
        rest = rest[at..].find(')').map_or("", |close| &rest[at + close + 1..]);
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `code[at..]` starts the keyword `word` (not part of a longer identifier).
fn keyword_at(code: &str, at: usize, word: &str) -> bool {
    code[at..].starts_with(word)
        && !code[..at].chars().next_back().is_some_and(is_ident)
        && code[at + word.len()..].chars().next().is_some_and(char::is_whitespace)
}

/// Every `use …;` statement: whether it is public (a re-export) and its tree, without aliases.
fn use_statements(code: &str) -> Vec<(bool, String)> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("use") {
        if !keyword_at(code, at, "use") {
            continue;
        }
        let Some(end) = code[at..].find(';') else { continue };
        let before = code[..at].trim_end();
        let public = before.ends_with("pub")
            || before.ends_with(')') && before.rsplit("pub").next().is_some_and(|v| v.starts_with('('));
        let tree: String = code[at + 3..at + end].split_whitespace().collect::<Vec<_>>().join(" ");
        let mut cleaned = String::new();
        let mut words = tree.split(' ').peekable();
        while let Some(word) = words.next() {
            if word == "as" {
                // Skip the alias, keep what follows it (`,` or `}`).
                let alias = words.next().unwrap_or_default();
                cleaned.push_str(alias.trim_start_matches(is_ident));
            } else {
                cleaned.push_str(word);
            }
        }
        found.push((public, cleaned));
    }
    found
}

/// The code with its `use` statements left out.
fn without_use_statements(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut from = 0;
    for (at, _) in code.match_indices("use") {
        if at < from || !keyword_at(code, at, "use") {
            continue;
        }
        out.push_str(&code[from..at]);
        from = code[at..].find(';').map_or(code.len(), |end| at + end + 1);
    }
    out.push_str(&code[from.min(code.len())..]);
    out
}

/// The paths a use tree stands for: `a::{b, c::{d, e}}` is `a::b`, `a::c::d`, `a::c::e`.
fn expand_use_tree(tree: &str) -> Vec<Vec<String>> {
    fn parse(chars: &[char], at: &mut usize) -> Vec<Vec<String>> {
        let mut prefix: Vec<String> = Vec::new();
        let mut segment = String::new();
        while *at < chars.len() {
            match chars[*at] {
                ':' => {
                    if !segment.is_empty() {
                        prefix.push(std::mem::take(&mut segment));
                    }
                    *at += 1;
                }
                '{' => {
                    *at += 1;
                    let mut paths = Vec::new();
                    loop {
                        for path in parse(chars, at) {
                            paths.push(prefix.iter().cloned().chain(path).collect());
                        }
                        match chars.get(*at) {
                            Some(',') => *at += 1,
                            Some('}') => {
                                *at += 1;
                                break;
                            }
                            _ => break,
                        }
                        if chars.get(*at) == Some(&'}') {
                            *at += 1;
                            break;
                        }
                    }
                    return paths;
                }
                ',' | '}' => break,
                c => {
                    segment.push(c);
                    *at += 1;
                }
            }
        }
        if !segment.is_empty() {
            prefix.push(segment);
        }
        vec![prefix]
    }
    let chars: Vec<char> = tree.chars().filter(|c| !c.is_whitespace()).collect();
    parse(&chars, &mut 0).into_iter().filter(|path| !path.is_empty()).collect()
}

/// The file modules a file declares (`mod name;`, not inline `mod name { … }`).
fn declared_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("mod") {
        if !keyword_at(code, at, "mod") {
            continue;
        }
        let rest = code[at + 3..].trim_start();
        let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if !name.is_empty() && rest[name.len()..].trim_start().starts_with(';') {
            found.insert(name);
        }
    }
    found
}

/// Every `a::b::c` path written in code (outside `use` statements).
fn code_paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_ident(chars[i]) || (i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        loop {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            path.push(chars[start..i].iter().collect::<String>());
            if chars.get(i) == Some(&':')
                && chars.get(i + 1) == Some(&':')
                && chars.get(i + 2).is_some_and(|c| is_ident(*c))
            {
                i += 2;
            } else {
                break;
            }
        }
        if path.len() > 1 {
            paths.push(path);
        }
    }
    paths
}

#[test]
fn the_import_graph_reader_sees_circles_through_re_exports_and_ignores_tests_and_strings() {
    let use_tree = expand_use_tree("crate::{a::X, b::{c, d::Y}}, super::z");
    assert_eq!(use_tree, [vec!["crate", "a", "X"], vec!["crate", "b", "c"], vec!["crate", "b", "d", "Y"]]);
    let code = strip_comments_and_strings("let s = \"crate::x::Y\"; // crate::y::Z\nlet c = '\"'; crate::w::V::new()");
    assert_eq!(code_paths(&code), [vec!["crate", "w", "V", "new"]]);
    assert_eq!(without_tests("fn a() {}\n#[cfg(test)]\nmod tests {\n use crate::b::C;\n}"), "fn a() {}\n");
    assert_eq!(without_tests("fn a() {}\n#[cfg(test)]\npub(super) mod tests {\n use super::*;\n}"), "fn a() {}\n");
    let statements = use_statements("pub use error::{Error as E, Kind};\nuse crate::x::Y;");
    assert_eq!(statements, [(true, "error::{Error,Kind}".to_owned()), (false, "crate::x::Y".to_owned())]);

    let folder = tempfile::tempdir().expect("temp dir");
    let write = |path: &str, text: &str| {
        let file = folder.path().join(path);
        std::fs::create_dir_all(file.parent().expect("a folder")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    };
    write("lib.rs", "mod a;\nmod b;\nmod c;\npub use c::Shared;\n");
    write("a.rs", "use crate::b::B;\npub struct A;\n");
    write("b.rs", "use crate::Shared;\npub struct B(crate::a::A);\n");
    write("c.rs", "pub struct Shared;\n#[cfg(test)]\nmod tests {\n use crate::a::A;\n}\n");
    let graph = ModuleGraph::read(folder.path());
    assert_eq!(
        graph.circles(),
        [vec!["a.rs".to_owned(), "b.rs".to_owned()]],
        "a ↔ b; c only through a re-export and a test"
    );
    write("b.rs", "use crate::Shared;\npub struct B;\n");
    assert!(ModuleGraph::read(folder.path()).circles().is_empty());
}
