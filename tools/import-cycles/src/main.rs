//! `oibus-import-cycles [--edges] [ROOT.rs ...]`: prints the import circles among the files of
//! each crate (every crate of the workspace when no root is given) and fails when there is one.
//! With `--edges`, also prints every arrow `from -> to` (paths relative to the crate's root
//! folder), for drawing or grepping the layers.

use oibus_import_cycles::{Graph, workspace_roots};
use std::{path::PathBuf, process::ExitCode};

fn main() -> anyhow::Result<ExitCode> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let edges = args.iter().any(|a| a == "--edges");
    args.retain(|a| a != "--edges");
    let mut roots: Vec<PathBuf> = args.into_iter().map(PathBuf::from).collect();
    if roots.is_empty() {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        roots = workspace_roots(&workspace)?;
    }
    let mut circles = 0;
    for root in &roots {
        let graph = Graph::read(root)?;
        if edges {
            let base = root.parent().unwrap_or(root);
            let name = |i: usize| {
                let file = &graph.files[i];
                file.strip_prefix(base)
                    .unwrap_or(file)
                    .display()
                    .to_string()
            };
            for &(from, to) in graph.edges.keys() {
                println!("{}: {} -> {}", root.display(), name(from), name(to));
            }
        }
        for circle in graph.circles() {
            circles += 1;
            print!("{}: {circle}", root.display());
        }
    }
    println!("{} crates read, {circles} import circles", roots.len());
    Ok(if circles == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
