//! `oibus plugins list` and `oibus plugins inspect`.

use super::table;
use anyhow::Context as _;
use oibus_engine::loader::{LoadOptions, PluginRegistry, PluginStatus, library};
use std::path::Path;

/// Prints one row per library file of `dir`. Exit code 0 even when some files are refused.
pub fn list(dir: &Path, json: bool, options: &LoadOptions) -> anyhow::Result<i32> {
    let (_registry, reports) = PluginRegistry::discover(dir, options)
        .with_context(|| format!("cannot read the plugins folder {}", dir.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(0);
    }
    print_reports(&reports);
    Ok(0)
}

/// Prints plugin reports as a table.
pub fn print_reports(reports: &[oibus_engine::loader::PluginReport]) {
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let file = r
                .file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (id, version, api, types) = match &r.manifest {
                Some(m) => (
                    m.id.clone(),
                    m.version.clone(),
                    m.api_version.clone(),
                    m.connector_types
                        .iter()
                        .map(|t| {
                            let caps: Vec<String> =
                                t.capabilities.iter().map(ToString::to_string).collect();
                            format!("{} ({}: {})", t.id, t.kind, caps.join("+"))
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                None => {
                    let (id, version) = r
                        .declared
                        .as_deref()
                        .and_then(|d| d.split_once(' '))
                        .unwrap_or(("-", "-"));
                    (id.into(), version.into(), "-".into(), "-".into())
                }
            };
            let status = match &r.status {
                PluginStatus::Ok => "ok".to_string(),
                PluginStatus::Refused { reason } => format!("refused: {reason}"),
                PluginStatus::Standby { reason } => format!("standby: {reason}"),
            };
            let signer = r.signer.as_ref().map_or_else(|| "-".into(), |s| s.short());
            vec![file, id, version, api, types, signer, status]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &[
                "FILE",
                "PLUGIN",
                "VERSION",
                "API",
                "CONNECTOR TYPES",
                "SIGNER",
                "STATUS"
            ],
            &rows
        )
    );
    let refused = reports
        .iter()
        .filter(|r| matches!(r.status, PluginStatus::Refused { .. }))
        .count();
    let standby = reports
        .iter()
        .filter(|r| matches!(r.status, PluginStatus::Standby { .. }))
        .count();
    println!(
        "{} file(s): {} ok, {standby} standby, {refused} refused",
        reports.len(),
        reports.len() - refused - standby
    );
}

/// Prints the manifest of one plugin file as JSON.
/// `oibus plugins doc`: prints the reference of FILE's connector types, or writes it into the
/// block for FILE's name of page `out` (`check`: only compares). Exit 1 when a checked page is
/// stale.
pub fn doc(
    file: &Path,
    out: Option<&Path>,
    check: bool,
    options: &LoadOptions,
) -> anyhow::Result<i32> {
    let plugin = library::load(file, options)?;
    let reference = super::reference::render(plugin.manifest());
    let Some(page_path) = out else {
        print!("{reference}");
        return Ok(0);
    };
    let library = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let page = std::fs::read_to_string(page_path)
        .with_context(|| format!("cannot read {}", page_path.display()))?;
    let Some(updated) = super::reference::replace_block(&page, &library, &reference) else {
        anyhow::bail!(
            "{} has no generated block for {library}: put these two lines where the reference goes\n{}\n{}",
            page_path.display(),
            super::reference::begin_line(&library),
            super::reference::END
        );
    };
    let command = format!(
        "oibus plugins doc {} --out {}",
        file.display(),
        page_path.display()
    );
    match (updated == page, check) {
        (true, _) => println!(
            "{}: the reference of {library} is up to date",
            page_path.display()
        ),
        (false, true) => {
            eprintln!(
                "{} is stale: the reference of {library} differs from its JSON Schemas; run `{command}` (or scripts/connector-docs)",
                page_path.display()
            );
            return Ok(1);
        }
        (false, false) => {
            std::fs::write(page_path, updated)
                .with_context(|| format!("cannot write {}", page_path.display()))?;
            println!(
                "{}: the reference of {library} written",
                page_path.display()
            );
        }
    }
    Ok(0)
}

pub fn inspect(file: &Path, options: &LoadOptions) -> anyhow::Result<i32> {
    let plugin = library::load(file, options)?;
    println!("{}", serde_json::to_string_pretty(plugin.manifest())?);
    Ok(0)
}
