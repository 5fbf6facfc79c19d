//! `oibus-import-cycles [ROOT.rs ...]`: prints the import circles among the files of each crate
//! (every crate of the workspace when no root is given) and fails when there is one.

use oibus_import_cycles::{Graph, workspace_roots};
use std::{path::PathBuf, process::ExitCode};

fn main() -> anyhow::Result<ExitCode> {
    let mut roots: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if roots.is_empty() {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        roots = workspace_roots(&workspace)?;
    }
    let mut circles = 0;
    for root in &roots {
        let graph = Graph::read(root)?;
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
