//! Reading a configuration file.

use super::{problem::ConfigError, problem::Problem, types::Config};
use std::path::Path;

/// The demo configuration `oibus run` uses when no `--config` is given: the simulator feeding a
/// file writer and the console.
pub const DEMO: &str = include_str!("demo.toml");

/// Reads and parses `path`, and the items files of its Souths (beside it, unless absolute).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        origin: origin.clone(),
        problems: vec![Problem {
            location: String::new(),
            message: format!("cannot read: {e}"),
        }],
    })?;
    let mut config = parse(&text, &origin)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    read_items_files(&mut config, dir).map_err(|problems| ConfigError { origin, problems })?;
    Ok(config)
}

/// Where a South's `items_file` is: `dir` is the configuration file's folder.
pub fn items_file_path(dir: &Path, file: &Path) -> std::path::PathBuf {
    if file.is_absolute() {
        file.to_path_buf()
    } else {
        dir.join(file)
    }
}

/// Reads the items of every South that has an `items_file`; every problem of every file at once.
fn read_items_files(config: &mut Config, dir: &Path) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    for s in &mut config.south {
        let Some(file) = &s.items_file else { continue };
        let at = format!("south {:?}", s.id);
        if !s.items.is_empty() {
            problems.push(Problem {
                location: at,
                message: "has both items and items_file: keep one".into(),
            });
            continue;
        }
        let shown = format!("{at} {}", file.display());
        match super::items_file::read(&items_file_path(dir, file), &shown) {
            Ok(items) => s.items = std::sync::Arc::new(items),
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Parses configuration text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let location = match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}")
            }
            None => String::new(),
        };
        ConfigError {
            origin: origin.to_string(),
            problems: vec![Problem {
                location,
                message: e.message().trim().to_string(),
            }],
        }
    })
}

/// Replaces `${name}` by its value in every connector setting, item setting and the plugins
/// folder (for example `${data_dir}` and `${config_dir}`).
pub fn expand_variables(config: &mut Config, vars: &[(&str, String)]) {
    let expand = |s: &str| {
        let mut out = s.to_string();
        for (name, value) in vars {
            out = out.replace(&format!("${{{name}}}"), value);
        }
        out
    };
    fn walk(v: &mut serde_json::Value, f: &dyn Fn(&str) -> String) {
        match v {
            serde_json::Value::String(s) => *s = f(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, f)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    if let Some(p) = &config.engine.plugins.folder {
        config.engine.plugins.folder = Some(expand(&p.to_string_lossy()).into());
    }
    for s in &mut config.south {
        walk(&mut s.settings, &expand);
        // Most items use no variable: only those whose text has one are parsed.
        if s.items.iter().any(|i| i.settings.as_str().contains("${")) {
            for i in std::sync::Arc::make_mut(&mut s.items) {
                if i.settings.as_str().contains("${") {
                    i.settings.update(|v| walk(v, &expand));
                }
            }
        }
    }
    for n in &mut config.north {
        walk(&mut n.settings, &expand);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_parses() {
        let c = parse(DEMO, "demo").unwrap();
        assert!(!c.south.is_empty() && !c.north.is_empty());
    }

    #[test]
    fn syntax_and_type_errors_name_the_line_and_key() {
        let e = parse("[engine]\nname = \"x\"\n\n[[south]]\nid = 3\n", "c.toml").unwrap_err();
        let line = e.to_string();
        assert!(line.starts_with("c.toml: line 5: "), "{line}");
        let e = parse("[engine]\nnmae = \"x\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("nmae"), "{e}");
        let e = parse(
            "[[north]]\nid = \"n\"\ntype = \"t\"\n[north.caching]\nsend_interval = \"often\"\n",
            "c.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("often"), "{e}");
    }

    #[test]
    fn variables_are_expanded_in_settings() {
        let mut c = parse(
            "[[north]]\nid = \"n\"\ntype = \"t\"\nsettings = { dir = \"${data_dir}/out\", n = 3 }\n",
            "c",
        )
        .unwrap();
        expand_variables(&mut c, &[("data_dir", "/var/oibus".into())]);
        assert_eq!(c.north[0].settings["dir"], "/var/oibus/out");
        assert_eq!(c.north[0].settings["n"], 3);
    }
}
