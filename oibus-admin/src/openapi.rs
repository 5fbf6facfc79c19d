//! The OpenAPI 3.1 document of the admin API, served without authentication. The paths are
//! listed here; every request and response schema is generated from the Rust type the handler
//! reads or returns, so the document cannot drift from what the API does.

use super::error::ApiError;
use super::wire::{
    BrowseAnswer, BrowseApiRequest, CacheListing, ErrorSelection, ForceRequest, HistoryRequest,
    PluginsListing, ReplayAnswer, ReplayRequest, TestItemAnswer, TestItemRequest, TestRequest,
    TypeInfo, UnforceRequest,
};
use oibus_engine::{
    config::{NorthConfig, SouthConfig},
    loader::PluginReport,
};
use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

/// Builds the document: operations refer to schemas that the generator collects.
struct Doc {
    schemas: SchemaGenerator,
    paths: Map<String, Value>,
}

/// One response: status, description, and its body's schema (`None`: no body).
type Answer = (&'static str, &'static str, Option<Value>);

impl Doc {
    fn schema<T: JsonSchema>(&mut self) -> Value {
        self.schemas.subschema_for::<T>().to_value()
    }

    fn error(&mut self, code: &'static str, text: &'static str) -> Answer {
        (code, text, Some(self.schema::<ApiError>()))
    }

    /// Adds `method` on `path` (path parameters are read from `{…}` in it).
    fn op(
        &mut self,
        path: &str,
        method: &str,
        summary: &str,
        body: Option<Value>,
        answers: Vec<Answer>,
    ) {
        let mut answers = answers;
        answers.push(self.error("401", "missing or wrong bearer token"));
        answers.push(self.error(
            "421",
            "the Host header names a host this gateway does not go by (engine.admin.allowed_hosts)",
        ));
        answers.push(self.error(
            "429",
            "too many wrong tokens from this address: try again after Retry-After seconds",
        ));
        let responses: Map<String, Value> = answers
            .into_iter()
            .map(|(code, text, schema)| {
                let mut r = json!({ "description": text });
                if let Some(s) = schema {
                    r["content"] = json!({"application/json": {"schema": s}});
                }
                (code.to_string(), r)
            })
            .collect();
        let mut o = json!({ "summary": summary, "responses": responses });
        if let Some(schema) = body {
            o["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": schema}}
            });
        }
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !parameters.is_empty() {
            o["parameters"] = Value::Array(parameters);
        }
        let entry = self
            .paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}));
        entry[method] = o;
    }
}

/// The document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut d = Doc {
        schemas: settings.into_generator(),
        paths: Map::new(),
    };
    let ok = |s: Value| -> Answer { ("200", "success", Some(s)) };
    let snapshot = d.schema::<crate::wire::StatusAnswer>();
    d.op(
        "/api/status",
        "get",
        "state, counters, caches and plugins of the engine",
        None,
        vec![ok(snapshot)],
    );
    let page = d.schema::<super::live::StatusPage>();
    let bad_page = d.error("400", "a limit, kind or interval out of range");
    d.op(
        "/api/status/page",
        "get",
        "one page of the connectors' status, for large sites: query q (text in the id, type, \
         plugin or last error), kind (south, north), state, offset, limit (default 50, at most \
         1000); with the totals by state of every connector",
        None,
        vec![ok(page), bad_page.clone()],
    );
    d.op(
        "/api/status/stream",
        "get",
        "server-sent events: the same page (a `status` event) now and every interval_ms \
         (default 1000, 200 to 60000) until the client goes",
        None,
        vec![("200", "text/event-stream", None), bad_page],
    );
    let records = d.schema::<Vec<oibus_engine::logs::LogRecord>>();
    let bad_level = d.error(
        "400",
        "a level that is not error, warn, info, debug or trace",
    );
    d.op(
        "/api/logs",
        "get",
        "the recent log records (engine.log_records kept), newest last; query: connector, level \
         (that level and above), since (RFC 3339), after (a record number), text (letter case \
         ignored), limit (default 500, at most 10,000); answers {\"records\": [...]}",
        None,
        vec![
            (
                "200",
                "the records",
                Some(json!({"type": "object", "properties": {"records": records}})),
            ),
            bad_level,
        ],
    );
    d.op(
        "/api/logs/stream",
        "get",
        "server-sent events: the records kept that pass the same query, then each new one as it \
         is logged (an event per record, its JSON as data and its number as id; a `lagged` event \
         says how many a slow reader missed)",
        None,
        vec![("200", "text/event-stream", None)],
    );
    d.op(
        "/metrics",
        "get",
        "Prometheus metrics (OpenMetrics text): connector states, counters, queues, error stores, \
         South run and store commit durations, plugins; the admin token or \
         engine.admin.metrics_token",
        None,
        vec![(
            "200",
            "OpenMetrics text (application/openmetrics-text)",
            None,
        )],
    );
    let (modes, mode, bad_mode, used, no_mode) = (
        d.schema::<Vec<oibus_engine::config::ScanModeConfig>>(),
        d.schema::<oibus_engine::config::ScanModeConfig>(),
        d.error("400", "not a scan mode: a cron or an every, each checked"),
        d.error(
            "409",
            "items use it (named): give them another scan mode first",
        ),
        d.error("404", "no such scan mode"),
    );
    d.op(
        "/api/scan-modes",
        "get",
        "the scan modes (`[[scan_modes]]` of the configuration)",
        None,
        vec![ok(modes)],
    );
    d.op(
        "/api/scan-modes/{name}",
        "put",
        "creates or replaces a scan mode: `{\"cron\": \"* * * * * *\"}` or `{\"every\": \"10s\"}`; \
         saved to the configuration; the running Souths whose items use a replaced mode start \
         again with it",
        Some(mode),
        vec![("204", "saved and applied", None), bad_mode],
    );
    d.op(
        "/api/scan-modes/{name}",
        "delete",
        "deletes a scan mode no item uses",
        None,
        vec![("204", "deleted", None), no_mode, used],
    );
    let listing = d.schema::<PluginsListing>();
    d.op(
        "/api/plugins",
        "get",
        "every file of the plugins folder and every loaded version",
        None,
        vec![ok(listing)],
    );
    let reports = d.schema::<Vec<PluginReport>>();
    d.op(
        "/api/plugins/rescan",
        "post",
        "look at the plugins folder now",
        None,
        vec![ok(reports)],
    );
    let (reports, bad_name) = (
        d.schema::<Vec<PluginReport>>(),
        d.error(
            "400",
            "not a plugin file name (a plain name ending in .so, .dll or .dylib, or that name \
             with .minisig), or an empty body",
        ),
    );
    let (too_big, not_found, in_use, reports_left) = (
        d.error(
            "413",
            "larger than 512 MiB (refused at once when Content-Length says so)",
        ),
        d.error("404", "no such file in the plugins folder"),
        d.error("409", "a connector runs on the plugin this file holds"),
        d.schema::<Vec<PluginReport>>(),
    );
    d.op(
        "/api/plugins/files/{name}",
        "put",
        "streams the body (application/octet-stream, up to 512 MiB) into the plugins folder as \
         `name`, atomically, then looks at the folder: a plugin library, or its `.minisig` \
         signature (send that first); a file that is not a plugin library is refused (400) and \
         not kept; answers every file's report",
        None,
        vec![ok(reports), bad_name, too_big],
    );
    d.op(
        "/api/plugins/files/{name}",
        "delete",
        "removes a file of the plugins folder (a refused plugin, a version no connector runs \
         on, a signature), then looks at the folder; answers every remaining file's report",
        None,
        vec![ok(reports_left), not_found, in_use],
    );
    d.op(
        "/console-session",
        "post",
        "the web console's sign-in: body {\"token\": the admin token}; sets the HttpOnly, \
         SameSite=Strict session cookie and answers {\"csrf\": …}, the token that every change \
         made with the cookie carries in X-CSRF-Token (GET: the same answer for a live session; \
         DELETE: signs out)",
        None,
        vec![("200", "signed in", None)],
    );
    let (force, report, not_found) = (
        d.schema::<ForceRequest>(),
        d.schema::<PluginReport>(),
        d.error("404", "no such file in the plugins folder"),
    );
    d.op(
        "/api/plugins/force",
        "post",
        "use this file's plugin even if older (forced downgrade), until unforced, across restarts",
        Some(force),
        vec![ok(report.clone()), not_found],
    );
    let unforce = d.schema::<UnforceRequest>();
    let not_forced = d.error("400", "the plugin has no forced version");
    d.op(
        "/api/plugins/unforce",
        "post",
        "forget a plugin's forced version: back to its highest version",
        Some(unforce),
        vec![ok(report), not_forced],
    );
    let types = d.schema::<Vec<TypeInfo>>();
    d.op(
        "/api/connector-types",
        "get",
        "connector types of the loaded plugins, with their schemas",
        None,
        vec![ok(types)],
    );
    let (one_type, unknown) = (d.schema::<TypeInfo>(), d.error("404", "unknown type"));
    d.op(
        "/api/connector-types/{type}",
        "get",
        "one connector type",
        None,
        vec![ok(one_type), unknown],
    );

    for kind in ["south", "north"] {
        let (one, many) = if kind == "south" {
            (d.schema::<SouthConfig>(), d.schema::<Vec<SouthConfig>>())
        } else {
            (d.schema::<NorthConfig>(), d.schema::<Vec<NorthConfig>>())
        };
        let bad = d.error(
            "400",
            "invalid body; `problems` has a JSON pointer per bad field",
        );
        let exists = d.error(
            "409",
            "exists already, or the configuration cannot be changed",
        );
        let too_big = d.error("413", "body too large");
        let unknown = d.error("404", "unknown id");
        d.op(
            &format!("/api/{kind}"),
            "get",
            &format!("every {kind} connector"),
            None,
            vec![ok(many)],
        );
        d.op(
            &format!("/api/{kind}"),
            "post",
            &format!("create a {kind} connector (validated, saved, started)"),
            Some(one.clone()),
            vec![
                ("201", "created", None),
                bad.clone(),
                exists.clone(),
                too_big.clone(),
            ],
        );
        let path = format!("/api/{kind}/{{id}}");
        d.op(
            &path,
            "get",
            &format!("one {kind} connector"),
            None,
            vec![ok(one.clone()), unknown.clone()],
        );
        d.op(
            &path,
            "put",
            &format!("replace a {kind} connector (validated, saved, restarted)"),
            Some(one),
            vec![
                ("204", "done", None),
                bad.clone(),
                unknown.clone(),
                exists.clone(),
                too_big,
            ],
        );
        d.op(
            &path,
            "delete",
            &format!("delete a {kind} connector, its cache and its state"),
            None,
            vec![("204", "done", None), unknown.clone(), exists],
        );
        if kind == "north" {
            let delete = &mut d.paths[&path]["delete"];
            delete["description"] = json!(
                "A North whose queue or error store holds data is refused with 409, the answer \
                 saying what it holds; with discard_queue=true it is deleted with that data."
            );
            delete["parameters"] = json!([{
                "name": "discard_queue",
                "in": "query",
                "required": false,
                "schema": {"type": "boolean", "default": false},
                "description": "delete the North even though its cache holds data, which is lost"
            }]);
        }
        for action in ["start", "stop"] {
            d.op(
                &format!("/api/{kind}/{{id}}/{action}"),
                "post",
                &format!("{action} a {kind} connector until the next restart"),
                None,
                vec![("204", "done", None), unknown.clone()],
            );
        }
        let (test, failed, no_type) = (
            d.schema::<TestRequest>(),
            d.error("422", "the connection failed; `error` says why"),
            d.error("404", "unknown type"),
        );
        d.op(
            &format!("/api/{kind}/test-connection"),
            "post",
            "check settings for a connector type and run its test_connection",
            Some(test),
            vec![
                ok(json!({"type": "object", "properties": {"ok": {"const": true}}})),
                bad,
                no_type,
                failed,
            ],
        );
    }
    let (trial, answer, bad, no_type, failed) = (
        d.schema::<TestItemRequest>(),
        d.schema::<TestItemAnswer>(),
        d.error("400", "invalid settings or item settings (pointers under /settings, /item/settings), or not a South type"),
        d.error("404", "unknown type"),
        d.error("422", "the read failed, or the type does not offer item testing (`not-supported: …`)"),
    );
    d.op(
        "/api/south/test-item",
        "post",
        "read one item of a South type once, on a connector made for the test; nothing is sent",
        Some(trial),
        vec![ok(answer), bad, no_type, failed],
    );
    let (request, answer, bad, no_type, failed) = (
        d.schema::<BrowseApiRequest>(),
        d.schema::<BrowseAnswer>(),
        d.error("400", "invalid settings (pointers under /settings), a depth out of 1 to 10, or not a South type"),
        d.error("404", "unknown type"),
        d.error("422", "the browse failed, or the type does not offer browsing (`not-supported: …`)"),
    );
    d.op(
        "/api/south/browse",
        "post",
        "list the nodes of a South type's source, each with the settings of an item that reads it",
        Some(request),
        vec![ok(answer), bad, no_type, failed],
    );
    let (range, unknown, busy, failed) = (
        d.schema::<HistoryRequest>(),
        d.error("404", "unknown id"),
        d.error("409", "not connected"),
        d.error("502", "the query failed"),
    );
    let bad = d.error("400", "invalid range");
    d.op(
        "/api/south/{id}/history",
        "post",
        "read a South's history over a range into its Norths",
        Some(range),
        vec![
            ok(json!({"type": "object", "properties": {"windows": {"type": "integer"}}})),
            bad,
            unknown.clone(),
            busy,
            failed,
        ],
    );
    let cache = d.schema::<CacheListing>();
    d.op(
        "/api/north/{id}/cache",
        "get",
        "a North's queued and error-store entries",
        None,
        vec![ok(cache), unknown.clone()],
    );
    let replay = (d.schema::<ReplayRequest>(), d.schema::<ReplayAnswer>());
    let not_an_instant = d.error("400", "not an RFC 3339 instant");
    d.op(
        "/api/north/{id}/cache/replay",
        "post",
        "send again what the Souths' logs retain since an instant (moves the North's cursors back)",
        Some(replay.0),
        vec![ok(replay.1), not_an_instant, unknown.clone()],
    );
    let selection = d.schema::<ErrorSelection>();
    for (action, text) in [
        ("retry", "queue error-store entries again"),
        ("delete", "delete error-store entries"),
    ] {
        let done = json!({"type": "object", "properties": {"entries": {"type": "integer"}}});
        d.op(
            &format!("/api/north/{{id}}/cache/errors/{action}"),
            "post",
            text,
            Some(selection.clone()),
            vec![ok(done), unknown.clone()],
        );
        d.paths[&format!("/api/north/{{id}}/cache/errors/{action}")]["post"]["requestBody"]["required"] =
            json!(false);
    }
    let schemas = d.schemas.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "oibus-rs admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every route but this document needs `Authorization: Bearer <token>`; the token is in the `admin-token` file of the data folder unless set in the configuration."
        },
        "security": [{"bearer": []}],
        "paths": d.paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        }
    })
}
