//! `oibus plugins list` and `oibus plugins inspect`.

use super::table;
use crate::plugin::{LoadOptions, PluginRegistry, PluginStatus, library};
use anyhow::Context as _;
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
pub fn print_reports(reports: &[crate::plugin::PluginReport]) {
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
pub fn inspect(file: &Path, options: &LoadOptions) -> anyhow::Result<i32> {
    let plugin = library::load(file, options)?;
    println!("{}", serde_json::to_string_pretty(plugin.manifest())?);
    Ok(0)
}
