//! Finds import circles among the files of one crate.
//!
//! Cargo refuses a circle between crates; nothing refuses one between the files of a crate. This
//! reads a crate from its root file (`lib.rs` or `main.rs`), follows its `mod` declarations to
//! every file, and draws an arrow from file A to file B when A names something in B: a `use`, or
//! a path in code or types that starts with `crate::`, `self::`, `super::` or the name of a child
//! module. A path to a module's re-export points at the file that re-exports it (the module's
//! own file): a `mod.rs` that re-exports its children depends on them, and a child that imports
//! from its parent's file closes a circle, as it should.
//!
//! Not followed: test code (`#[cfg(test)]` modules and items; tests may look at everything),
//! paths inside macro invocations (their tokens are not parsed), and names brought in by a `use`
//! of a module and then used bare (the `use` itself already drew the arrow).
//!
//! ```text
//! cargo run -p oibus-import-cycles -- oibus-engine/src/lib.rs   # one crate
//! cargo run -p oibus-import-cycles                              # every crate of the workspace
//! ```

use anyhow::{Context as _, bail};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt,
    path::{Path, PathBuf},
};
use syn::visit::Visit;

/// One crate's files and the arrows between them.
pub struct Graph {
    /// The files, as read from the crate's root.
    pub files: Vec<PathBuf>,
    /// Arrows `from → to`, with the first place that draws each.
    pub edges: BTreeMap<(usize, usize), Evidence>,
}

/// Where an arrow comes from: the line and the path written there.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// 1-based line in the importing file.
    pub line: usize,
    /// The path as written (`crate::engine::Engine`).
    pub path: String,
}

/// A circle: files that reach each other, with the arrows among them.
pub struct Circle<'g> {
    graph: &'g Graph,
    files: Vec<usize>,
}

impl Graph {
    /// Reads the crate whose root file is `root`.
    pub fn read(root: &Path) -> anyhow::Result<Self> {
        let mut reader = Reader::default();
        let dir = root
            .parent()
            .with_context(|| format!("{}: no parent folder", root.display()))?;
        reader.read_file(root, Vec::new(), dir.to_path_buf())?;
        let mut edges = BTreeMap::new();
        for (index, (file, module)) in reader.parsed.iter().enumerate() {
            let mut collector = Collector {
                modules: &reader.modules,
                stack: vec![module.clone()],
                file: index,
                found: Vec::new(),
            };
            collector.visit_file(file);
            for (to, evidence) in collector.found {
                if to != index {
                    edges.entry((index, to)).or_insert(evidence);
                }
            }
        }
        Ok(Self {
            files: reader.files,
            edges,
        })
    }

    /// The circles (strongly connected sets of more than one file), largest first.
    pub fn circles(&self) -> Vec<Circle<'_>> {
        let mut circles: Vec<Circle<'_>> = strongly_connected(self.files.len(), &self.edges)
            .into_iter()
            .filter(|set| set.len() > 1)
            .map(|files| Circle { graph: self, files })
            .collect();
        circles.sort_by_key(|c| std::cmp::Reverse(c.files.len()));
        circles
    }
}

impl fmt::Display for Circle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: BTreeSet<usize> = self.files.iter().copied().collect();
        writeln!(f, "circle of {} files:", self.files.len())?;
        for (&(from, to), evidence) in &self.graph.edges {
            if members.contains(&from) && members.contains(&to) {
                writeln!(
                    f,
                    "  {}:{} -> {}  ({})",
                    self.graph.files[from].display(),
                    evidence.line,
                    self.graph.files[to].display(),
                    evidence.path
                )?;
            }
        }
        Ok(())
    }
}

/// Every crate root of the workspace at `workspace`: `src/lib.rs` and `src/main.rs` of each
/// folder that holds a `Cargo.toml`, outside `target/`, `node_modules/` and the folders the
/// workspace's `exclude = [...]` names (a frozen copy of an old API release is not ours to change).
pub fn workspace_roots(workspace: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml"))
        .with_context(|| format!("cannot read {}/Cargo.toml", workspace.display()))?;
    let excluded: Vec<PathBuf> = manifest
        .lines()
        .filter_map(|line| line.trim().strip_prefix("exclude"))
        .flat_map(|rest| rest.split('"').skip(1).step_by(2))
        .map(|relative| workspace.join(relative))
        .collect();
    let mut roots = Vec::new();
    let mut folders = vec![workspace.to_path_buf()];
    while let Some(folder) = folders.pop() {
        if excluded.contains(&folder) {
            continue;
        }
        if folder.join("Cargo.toml").is_file() {
            for root in ["src/lib.rs", "src/main.rs"] {
                let file = folder.join(root);
                if file.is_file() {
                    roots.push(file);
                }
            }
        }
        let entries = std::fs::read_dir(&folder)
            .with_context(|| format!("cannot list {}", folder.display()))?;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let skip = matches!(
                name.to_str(),
                Some("target" | "node_modules" | "src" | ".git")
            );
            if entry.file_type()?.is_dir() && !skip {
                folders.push(entry.path());
            }
        }
    }
    roots.sort();
    Ok(roots)
}

#[derive(Default)]
struct Reader {
    files: Vec<PathBuf>,
    parsed: Vec<(syn::File, Vec<String>)>,
    /// Module path → (file index, child module names).
    modules: HashMap<Vec<String>, (usize, BTreeSet<String>)>,
}

impl Reader {
    fn read_file(&mut self, path: &Path, module: Vec<String>, dir: PathBuf) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file =
            syn::parse_file(&text).with_context(|| format!("cannot parse {}", path.display()))?;
        let index = self.files.len();
        self.files.push(path.to_path_buf());
        self.modules
            .insert(module.clone(), (index, BTreeSet::new()));
        let items = file.items.clone();
        // Pushed before the children are read, so that `parsed[i]` is `files[i]`.
        self.parsed.push((file, module.clone()));
        self.read_items(&items, &module, index, &dir)
    }

    fn read_items(
        &mut self,
        items: &[syn::Item],
        module: &[String],
        file: usize,
        dir: &Path,
    ) -> anyhow::Result<()> {
        for item in items {
            let syn::Item::Mod(declared) = item else {
                continue;
            };
            if is_test(&declared.attrs) {
                continue;
            }
            let name = declared.ident.to_string();
            let mut child = module.to_vec();
            child.push(name.clone());
            if let Some(parent) = self.modules.get_mut(module) {
                parent.1.insert(name.clone());
            }
            let child_dir = dir.join(&name);
            match &declared.content {
                Some((_, inner)) => {
                    self.modules.insert(child.clone(), (file, BTreeSet::new()));
                    self.read_items(inner, &child, file, &child_dir)?;
                }
                None => {
                    let flat = dir.join(format!("{name}.rs"));
                    let nested = child_dir.join("mod.rs");
                    let found = if flat.is_file() {
                        flat
                    } else if nested.is_file() {
                        nested
                    } else {
                        bail!(
                            "module {} declared but neither {} nor {} exists",
                            child.join("::"),
                            flat.display(),
                            nested.display()
                        );
                    };
                    self.read_file(&found, child, child_dir)?;
                }
            }
        }
        Ok(())
    }
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

struct Collector<'r> {
    modules: &'r HashMap<Vec<String>, (usize, BTreeSet<String>)>,
    /// The module path of the code being read (inline modules push onto it).
    stack: Vec<Vec<String>>,
    file: usize,
    found: Vec<(usize, Evidence)>,
}

impl Collector<'_> {
    fn current(&self) -> &[String] {
        self.stack.last().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The file that `segments` (as written in the current module) points into, if any.
    fn resolve(&self, segments: &[String]) -> Option<usize> {
        let first = segments.first()?;
        let mut absolute: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.current().to_vec(),
            "super" => {
                let mut here = self.current().to_vec();
                let supers = segments.iter().take_while(|s| *s == "super").count();
                for _ in 0..supers {
                    here.pop()?;
                }
                here.extend(segments[supers..].iter().cloned());
                return self.longest_module(&here);
            }
            _ => {
                let children = &self.modules.get(self.current())?.1;
                if !children.contains(first) {
                    return None;
                }
                self.current().to_vec()
            }
        };
        let skip = usize::from(matches!(first.as_str(), "crate" | "self"));
        absolute.extend(segments[skip..].iter().cloned());
        self.longest_module(&absolute)
    }

    fn longest_module(&self, absolute: &[String]) -> Option<usize> {
        (0..=absolute.len())
            .rev()
            .find_map(|n| self.modules.get(&absolute[..n]).map(|m| m.0))
    }

    fn note(&mut self, segments: &[String], span: proc_macro2::Span) {
        if let Some(to) = self.resolve(segments)
            && to != self.file
        {
            self.found.push((
                to,
                Evidence {
                    line: span.start().line,
                    path: segments.join("::"),
                },
            ));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.note(&prefix.clone(), n.ident.span());
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.note(&prefix.clone(), r.ident.span());
                prefix.pop();
            }
            syn::UseTree::Glob(g) => {
                let span = g.star_token.spans[0];
                self.note(&prefix.clone(), span);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if is_test(&item.attrs) {
            return;
        }
        // A module in its own file is read as that file; only inline modules are walked here.
        if let Some((_, items)) = &item.content {
            let mut child = self.current().to_vec();
            child.push(item.ident.to_string());
            self.stack.push(child);
            for inner in items {
                self.visit_item(inner);
            }
            self.stack.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        if is_test(&item.attrs) {
            return;
        }
        let mut prefix = Vec::new();
        self.use_tree(&mut prefix, &item.tree);
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if !is_test(&item.attrs) {
            syn::visit::visit_item_fn(self, item);
        }
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if !is_test(&item.attrs) {
            syn::visit::visit_item_impl(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !is_test(&item.attrs) {
            syn::visit::visit_impl_item_fn(self, item);
        }
    }

    // `pub(super)`, `pub(crate)`, `pub(in path)` say who may see an item, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            if let Some(first) = path.segments.first() {
                self.note(&segments, first.ident.span());
            }
        }
        syn::visit::visit_path(self, path);
    }
}

/// Tarjan's strongly connected components, iteratively (no recursion depth limit).
fn strongly_connected(count: usize, edges: &BTreeMap<(usize, usize), Evidence>) -> Vec<Vec<usize>> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); count];
    for &(from, to) in edges.keys() {
        next[from].push(to);
    }
    let mut index = vec![usize::MAX; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0;
    for start in 0..count {
        if index[start] != usize::MAX {
            continue;
        }
        // (node, position in its successor list)
        let mut work = vec![(start, 0usize)];
        index[start] = counter;
        low[start] = counter;
        counter += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&mut (node, ref mut position)) = work.last_mut() {
            if let Some(&succ) = next[node].get(*position) {
                *position += 1;
                if index[succ] == usize::MAX {
                    index[succ] = counter;
                    low[succ] = counter;
                    counter += 1;
                    stack.push(succ);
                    on_stack[succ] = true;
                    work.push((succ, 0));
                } else if on_stack[succ] {
                    low[node] = low[node].min(index[succ]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                component.sort_unstable();
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_of(files: &[(&str, &str)]) -> (tempfile_dir::Dir, Graph) {
        let dir = tempfile_dir::Dir::new();
        for (name, text) in files {
            let path = dir.0.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let graph = Graph::read(&dir.0.join("lib.rs")).unwrap();
        (dir, graph)
    }

    /// A scratch folder removed on drop (std only: the tool has no dev-dependencies to build).
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let unique = format!(
                    "import-cycles-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                )
                .replace(['(', ')'], "");
                let path = std::env::temp_dir().join(unique);
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(&path).unwrap();
                Self(path)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn a_child_importing_from_its_parents_file_closes_a_circle() {
        let (_dir, graph) = crate_of(&[
            ("lib.rs", "mod engine;"),
            (
                "engine/mod.rs",
                "mod slot; pub use slot::Slot; pub struct Engine;",
            ),
            ("engine/slot.rs", "pub struct Slot(super::Engine);"),
        ]);
        let circles = graph.circles();
        assert_eq!(
            circles.len(),
            1,
            "{}",
            circles.iter().map(|c| c.to_string()).collect::<String>()
        );
        let text = circles[0].to_string();
        assert!(text.contains("engine/slot.rs:1 -> "), "{text}");
        assert!(text.contains("(super::Engine)"), "{text}");
        assert!(text.contains("(slot::Slot)"), "{text}");
    }

    #[test]
    fn siblings_through_crate_paths_and_use_groups() {
        let (_dir, graph) = crate_of(&[
            ("lib.rs", "pub mod a; pub mod b; pub mod c;"),
            ("a.rs", "use crate::{b::{self, B}, c};\npub struct A;"),
            ("b.rs", "pub struct B;\nfn f() -> crate::c::C { todo!() }"),
            ("c.rs", "pub struct C;\nfn g() { let _ = crate::a::A; }"),
        ]);
        let circles = graph.circles();
        assert_eq!(circles.len(), 1);
        assert_eq!(circles[0].files.len(), 3);
    }

    #[test]
    fn test_code_and_layered_files_make_no_circle() {
        let (_dir, graph) = crate_of(&[
            ("lib.rs", "pub mod low; pub mod high;"),
            (
                "low.rs",
                "pub struct Low;\n#[cfg(test)]\nmod tests { use crate::high::High; }",
            ),
            ("high.rs", "use crate::low::Low;\npub struct High(Low);"),
        ]);
        assert!(graph.circles().is_empty());
        assert_eq!(graph.edges.len(), 1);
    }

    #[test]
    fn this_workspace_has_no_circle() {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut report = String::new();
        for root in workspace_roots(&workspace).unwrap() {
            let graph = Graph::read(&root).unwrap();
            for circle in graph.circles() {
                report.push_str(&format!("{}: {circle}", root.display()));
            }
        }
        assert!(report.is_empty(), "import circles:\n{report}");
    }
}
