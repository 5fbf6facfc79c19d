//! Every rule a configuration must follow, checked at once.

use super::{
    limits::{self, MAX_NAME, MAX_SETTING, quoted},
    problem::ConfigError,
    problem::Problem,
    types::Config,
    types::QueryKind,
    types::SUBSCRIPTION,
};
use crate::{loader::PluginRegistry, schema};
use oibus_plugin_api::{Capability, ConnectorKind, ConnectorTypeManifest};
use std::collections::HashSet;

struct Problems<'s>(Vec<Problem>, schema::Validators<'s>);

impl<'s> Problems<'s> {
    fn add(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            location: location.into(),
            message: message.into(),
        });
    }

    /// Every text of `value` (settings) longer than [`MAX_SETTING`], at `location`.
    fn texts(&mut self, location: &str, value: &serde_json::Value) {
        for (pointer, len) in limits::long_texts(value, MAX_SETTING) {
            self.add(
                format!("{location}{}", pointer.replace('/', ".")),
                limits::too_long("a text", len, MAX_SETTING),
            );
        }
    }

    /// A name longer than [`MAX_NAME`], at `location`.
    fn name(&mut self, location: &str, what: &str, name: &str) {
        if name.len() > MAX_NAME {
            self.add(location, limits::too_long(what, name.len(), MAX_NAME));
        }
    }

    fn schema(&mut self, location: &str, schema: &'s serde_json::Value, value: &serde_json::Value) {
        if let Err(e) = self.1.validate(location, schema, value) {
            for p in e.problems {
                let at = if p.pointer.is_empty() {
                    String::new()
                } else {
                    p.pointer.replacen('/', ".", 1).replace('/', ".")
                };
                self.add(format!("{location}{at}"), p.message);
            }
        }
    }
}

/// `[engine.admin]`: tokens long enough not to be guessed and sendable in a header, host
/// names that are names, and TLS files given as a pair.
fn admin(p: &mut Problems, a: &super::types::AdminConfig) {
    for (key, token) in [("token", &a.token), ("metrics_token", &a.metrics_token)] {
        if let Some(t) = token
            && let Some(why) = limits::bad_token(t)
        {
            p.add(format!("engine.admin.{key}"), why);
        }
    }
    for (i, host) in a.allowed_hosts.iter().enumerate() {
        if let Some(why) = limits::bad_host_name(host) {
            p.add(format!("engine.admin.allowed_hosts[{i}]"), why);
        }
    }
    if a.tls_certificate.is_some() != a.tls_private_key.is_some() {
        p.add(
            "engine.admin",
            "tls_certificate and tls_private_key go together: set both to serve HTTPS, or neither",
        );
    }
}

/// The query a South's scheduled items use: the configured one, or the only query capability of
/// its type.
pub fn query_kind(
    configured: Option<QueryKind>,
    manifest: &ConnectorTypeManifest,
) -> Result<Option<QueryKind>, String> {
    let supported: Vec<QueryKind> = [
        (Capability::QueriesLastPoint, QueryKind::LastPoint),
        (Capability::QueriesHistory, QueryKind::History),
        (Capability::QueriesFile, QueryKind::File),
    ]
    .into_iter()
    .filter(|(c, _)| manifest.capabilities.contains(c))
    .map(|(_, q)| q)
    .collect();
    let name = |q: &QueryKind| {
        serde_json::to_value(q)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let names = supported.iter().map(name).collect::<Vec<_>>().join(", ");
    match configured {
        Some(q) if supported.contains(&q) => Ok(Some(q)),
        Some(q) => Err(format!(
            "type {:?} cannot do {:?} (it supports: {})",
            manifest.id,
            name(&q),
            if names.is_empty() { "none" } else { &names }
        )),
        None if supported.len() <= 1 => Ok(supported.first().copied()),
        None => Err(format!(
            "type {:?} supports several queries ({names}): choose one with `query`",
            manifest.id
        )),
    }
}

/// The manifest of connector type `type_id`; a type no loaded plugin provides is added to
/// `waiting` (the connector waits for it), one of the other kind is a problem.
fn connector_type<'r>(
    registry: &'r PluginRegistry,
    (problems, waiting): (&mut Problems, &mut Vec<String>),
    at: &str,
    type_id: &str,
    kind: ConnectorKind,
) -> Option<&'r ConnectorTypeManifest> {
    match registry.connector_type(type_id) {
        None => {
            waiting.push(format!("{at} (type {type_id:?})"));
            let known: Vec<String> = registry
                .type_ids()
                .filter(|t| {
                    registry
                        .connector_type(t)
                        .is_some_and(|(_, m)| m.kind == kind)
                })
                .map(str::to_string)
                .collect();
            // Not an error: the connector waits until a plugin providing the type is added to
            // the plugins folder; its settings are checked then.
            tracing::warn!(
                "{at}: no loaded plugin provides the {kind} connector type {type_id:?} (loaded: {}); \
                 the connector waits until one is added to the plugins folder",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
            None
        }
        Some((_, m)) if m.kind != kind => {
            problems.add(
                format!("{at}.type"),
                format!(
                    "{type_id:?} is a {} connector type, not a {kind} one",
                    m.kind
                ),
            );
            None
        }
        Some((_, m)) => Some(m),
    }
}

/// Why a connector id cannot be used: it names the connector's folders in the data folder
/// (`connectors/<id>`, `cache/<id>`), so it must be a plain file name.
fn bad_id(id: &str) -> Option<&'static str> {
    let plain = id.len() <= limits::MAX_ID
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    (!plain).then_some(
        "an id holds at most 128 letters, digits, '.', '_' and '-', and starts with a letter or \
         digit (it names the connector's folders in the data folder)",
    )
}

/// A connector's `plugin_version` must be a semver requirement.
fn pin(p: &mut Problems, at: &str, pin: Option<&str>) {
    if let Some(pin) = pin
        && let Err(e) = semver::VersionReq::parse(pin)
    {
        p.add(
            format!("{at}.plugin_version"),
            format!("{pin:?} is not a version requirement such as \"=0.1.0\" or \"~0.1\" ({e})"),
        );
    }
}

/// Checks `config` against the engine's rules and the plugins' schemas. Disabled connectors are
/// checked too: enabling one later must not reveal an old mistake. Answers the connectors that
/// would wait for a plugin providing their type (`north "files" (type "file-writer")`): not a
/// problem, they start once it is added.
pub fn validate(
    config: &Config,
    registry: &PluginRegistry,
    origin: &str,
) -> Result<Vec<String>, ConfigError> {
    let mut p = Problems(Vec::new(), schema::Validators::default());
    let mut waiting = Vec::new();
    let e = &config.engine;
    if e.reconnect.min.0.is_zero() || e.reconnect.min > e.reconnect.max {
        p.add(
            "engine.reconnect",
            format!(
                "min ({}) must be above zero and at most max ({})",
                e.reconnect.min, e.reconnect.max
            ),
        );
    }
    for (name, d) in [
        ("lifecycle", e.timeouts.lifecycle),
        ("data", e.timeouts.data),
    ] {
        if d.0.is_zero() {
            p.add(format!("engine.timeouts.{name}"), "must be above zero");
        }
    }

    admin(&mut p, &e.admin);

    let mut scan_modes = HashSet::new();
    for (i, m) in config.scan_modes.iter().enumerate() {
        let at = format!("scan_modes[{i}] {}", quoted(&m.name));
        p.name(&at, "a scan mode name", &m.name);
        if m.name == SUBSCRIPTION {
            p.add(
                &at,
                format!("{SUBSCRIPTION:?} is reserved for subscribed items"),
            );
        } else if !scan_modes.insert(m.name.as_str()) {
            p.add(&at, "duplicate scan mode name");
        }
        if let Err((setting, err)) = super::schedule::Schedule::of(m) {
            p.add(format!("{at}.{setting}"), err);
        }
    }

    let mut ids = HashSet::new();
    let mut south_ids = HashSet::new();
    for s in &config.south {
        let at = format!("south {}", quoted(&s.id));
        if s.id.trim().is_empty() {
            p.add("south", "a South has an empty id");
        } else if let Some(why) = bad_id(&s.id) {
            p.add(&at, why);
        } else if !ids.insert(s.id.as_str()) {
            p.add(&at, "duplicate connector id");
        }
        south_ids.insert(s.id.as_str());
        pin(&mut p, &at, s.plugin_version.as_deref());
        if !s.retention.max_age.0.is_zero() && s.retention.max_size.0 == 0 {
            p.add(
                format!("{at}.retention.max_size"),
                "a max_age needs a max_size too (for example \"1GB\"): the size bound is what keeps the disk from filling",
            );
        }
        let found = (&mut p, &mut waiting);
        let manifest = connector_type(registry, found, &at, &s.type_id, ConnectorKind::South);
        p.texts(&format!("{at} settings"), &s.settings);
        if let Some(m) = manifest {
            p.schema(&format!("{at} settings"), &m.settings_schema, &s.settings);
            let scheduled = s.items.iter().any(|i| i.scan_mode != SUBSCRIPTION);
            if (scheduled || s.query.is_some())
                && let Err(err) = query_kind(s.query, m)
            {
                p.add(format!("{at}.query"), err);
            }
        }
        if s.history.max_read_interval.0.is_zero() {
            p.add(
                format!("{at} history.max_read_interval"),
                "must be above zero",
            );
        }
        if super::history::first_start(&s.history.start, oibus_plugin_api::Timestamp::now())
            .is_err()
        {
            p.add(
                format!("{at} history.start"),
                format!(
                    "{:?} is neither an RFC 3339 instant nor a duration",
                    s.history.start
                ),
            );
        }
        let mut names = HashSet::new();
        for (i, item) in s.items.iter().enumerate() {
            let iat = match &s.items_file {
                // The header is row 1.
                Some(f) => format!(
                    "{at} {} {}",
                    super::items_file::row_location(&f.display().to_string(), i + 2),
                    quoted(&item.name)
                ),
                None => format!("{at} items[{i}] {}", quoted(&item.name)),
            };
            p.name(&format!("{iat}.name"), "an item name", &item.name);
            p.texts(&format!("{iat} settings"), &item.settings.value());
            if !names.insert(item.name.as_str()) {
                p.add(&iat, "duplicate item name");
            }
            if item.scan_mode == SUBSCRIPTION {
                if let Some(m) = manifest
                    && !m.capabilities.contains(&Capability::QueriesSubscription)
                {
                    p.add(
                        format!("{iat}.scan_mode"),
                        format!("type {:?} cannot do subscriptions", m.id),
                    );
                }
            } else if !scan_modes.contains(item.scan_mode.as_str()) {
                let mut known: Vec<&str> = scan_modes.iter().copied().collect();
                known.sort();
                known.push(SUBSCRIPTION);
                p.add(
                    format!("{iat}.scan_mode"),
                    format!(
                        "unknown scan mode {} (known: {})",
                        quoted(&item.scan_mode),
                        known.join(", ")
                    ),
                );
            }
            if let Some(schema) = manifest.and_then(|m| m.item_schema.as_ref()) {
                let settings = match &s.items_file {
                    Some(_) => super::items_file::typed(&item.settings, schema),
                    None => item.settings.clone(),
                };
                p.schema(&format!("{iat} settings"), schema, &settings.value());
            }
        }
    }

    for n in &config.north {
        let at = format!("north {}", quoted(&n.id));
        p.texts(&format!("{at} settings"), &n.settings);
        pin(&mut p, &at, n.plugin_version.as_deref());
        if n.id.trim().is_empty() {
            p.add("north", "a North has an empty id");
        } else if let Some(why) = bad_id(&n.id) {
            p.add(&at, why);
        } else if !ids.insert(n.id.as_str()) {
            p.add(&at, "duplicate connector id");
        }
        let found = (&mut p, &mut waiting);
        if let Some(m) = connector_type(registry, found, &at, &n.type_id, ConnectorKind::North) {
            p.schema(&format!("{at} settings"), &m.settings_schema, &n.settings);
        }
        for sub in &n.subscriptions {
            if !south_ids.contains(sub.as_str()) {
                p.add(
                    format!("{at}.subscriptions"),
                    format!("no South has the id {}", quoted(sub)),
                );
            }
        }
        let c = &n.caching;
        if c.group_count == 0 || c.max_send_count == 0 {
            p.add(
                format!("{at} caching"),
                "group_count and max_send_count must be at least 1",
            );
        }
        if c.max_send_files == 0 {
            p.add(format!("{at} caching.max_send_files"), "must be at least 1");
        }
        if c.max_size.0 == 0 {
            p.add(format!("{at} caching.max_size"), "must be above zero");
        }
        if c.send_interval.0.is_zero() || c.retry_interval.0.is_zero() {
            p.add(
                format!("{at} caching"),
                "send_interval and retry_interval must be above zero",
            );
        }
    }

    if p.0.is_empty() {
        Ok(waiting)
    } else {
        Err(ConfigError {
            origin: origin.to_string(),
            problems: p.0,
        })
    }
}
