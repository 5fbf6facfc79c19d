//! The OpenAPI 3.1 document of the admin API, served without authentication.

use serde_json::{Value, json};

fn op(summary: &str, body: Option<&str>, responses: &[(&str, &str)]) -> Value {
    let mut o = json!({
        "summary": summary,
        "responses": responses
            .iter()
            .map(|(code, text)| (code.to_string(), json!({
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Any"}}}
            })))
            .collect::<serde_json::Map<_, _>>(),
    });
    if let Some(schema) = body {
        o["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
        });
    }
    o
}

fn id_param() -> Value {
    json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}])
}

/// The document.
pub fn document() -> Value {
    let ok = [("200", "success"), ("401", "missing or wrong token")];
    let ok_404 = [
        ("200", "success"),
        ("401", "missing or wrong token"),
        ("404", "unknown id"),
    ];
    let changed = [
        ("204", "done"),
        (
            "400",
            "invalid body; `problems` has a JSON pointer per bad field",
        ),
        ("401", "missing or wrong token"),
        ("404", "unknown id"),
        (
            "409",
            "conflict (exists already, or the configuration cannot be changed)",
        ),
        ("413", "body too large"),
    ];
    let created = [
        ("201", "created"),
        (
            "400",
            "invalid body; `problems` has a JSON pointer per bad field",
        ),
        ("401", "missing or wrong token"),
        ("409", "exists already"),
        ("413", "body too large"),
    ];
    let mut paths = serde_json::Map::new();
    paths.insert(
        "/api/status".into(),
        json!({"get": op("state, counters, caches and plugins of the engine", None, &ok)}),
    );
    paths.insert(
        "/api/plugins".into(),
        json!({"get": op("every file of the plugins folder and every loaded version", None, &ok)}),
    );
    paths.insert(
        "/api/plugins/rescan".into(),
        json!({"post": op("look at the plugins folder now", None, &ok)}),
    );
    paths.insert(
        "/api/connector-types".into(),
        json!({"get": op("connector types of the loaded plugins, with their schemas", None, &ok)}),
    );
    paths.insert("/api/connector-types/{type}".into(), json!({"get": {
        "parameters": [{"name": "type", "in": "path", "required": true, "schema": {"type": "string"}}],
        "summary": "one connector type",
        "responses": op("", None, &ok_404)["responses"].clone()
    }}));
    for (kind, schema) in [("south", "South"), ("north", "North")] {
        paths.insert(format!("/api/{kind}"), json!({
            "get": op(&format!("every {kind} connector"), None, &ok),
            "post": op(&format!("create a {kind} connector (validated, saved, started)"), Some(schema), &created),
        }));
        let mut one = json!({
            "get": op(&format!("one {kind} connector"), None, &ok_404),
            "put": op(&format!("replace a {kind} connector (validated, saved, restarted)"), Some(schema), &changed),
            "delete": op(&format!("delete a {kind} connector"), None, &changed),
        });
        one["parameters"] = id_param();
        paths.insert(format!("/api/{kind}/{{id}}"), one);
        for action in ["start", "stop"] {
            let mut p = json!({"post": op(&format!("{action} a {kind} connector until the next restart"), None, &changed)});
            p["parameters"] = id_param();
            paths.insert(format!("/api/{kind}/{{id}}/{action}"), p);
        }
        paths.insert(format!("/api/{kind}/test-connection"), json!({"post": op(
            "check settings for a connector type and run its test_connection",
            Some("TestConnection"),
            &[("200", "the connection works"), ("400", "invalid settings"), ("401", "missing or wrong token"), ("404", "unknown type"), ("422", "the connection failed")]
        )}));
    }
    let mut p = json!({"post": op("read a South's history over a range into its Norths", Some("HistoryRange"), &[("200", "windows read"), ("400", "invalid range"), ("401", "missing or wrong token"), ("404", "unknown id"), ("409", "not connected"), ("502", "the query failed")])});
    p["parameters"] = id_param();
    paths.insert("/api/south/{id}/history".into(), p);
    let mut p = json!({"get": op("a North's queued and error-store entries", None, &ok_404)});
    p["parameters"] = id_param();
    paths.insert("/api/north/{id}/cache".into(), p);
    for (action, text) in [
        ("retry", "queue error-store entries again"),
        ("delete", "delete error-store entries"),
    ] {
        let mut p = json!({"post": op(text, Some("ErrorSelection"), &ok_404)});
        p["post"]["requestBody"]["required"] = json!(false);
        p["parameters"] = id_param();
        paths.insert(format!("/api/north/{{id}}/cache/errors/{action}"), p);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "oibus-rs admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every route but this document needs `Authorization: Bearer <token>`; the token is in the `admin-token` file of the data folder unless set in the configuration."
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Any": {},
                "South": {"type": "object", "required": ["id", "type"], "description": "as [[south]] in the configuration (docs/configuration.md)",
                    "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "enabled": {"type": "boolean"},
                        "query": {"enum": ["last-point", "history", "file"]}, "settings": {"type": "object"},
                        "items": {"type": "array", "items": {"type": "object", "required": ["name", "scan_mode"],
                            "properties": {"name": {"type": "string"}, "enabled": {"type": "boolean"}, "scan_mode": {"type": "string"}, "settings": {"type": "object"}}}},
                        "history": {"type": "object"}}},
                "North": {"type": "object", "required": ["id", "type"], "description": "as [[north]] in the configuration (docs/configuration.md)",
                    "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "enabled": {"type": "boolean"},
                        "settings": {"type": "object"}, "subscriptions": {"type": "array", "items": {"type": "string"}}, "caching": {"type": "object"}}},
                "ForcePlugin": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "description": "file name in the plugins folder"}}},
                "TestConnection": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}, "settings": {"type": "object"}}},
                "HistoryRange": {"type": "object", "required": ["start", "end"], "properties": {"start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"}}},
                "ErrorSelection": {"type": "object", "description": "keys to act on; absent: all",
                    "properties": {"batches": {"type": "array", "items": {"type": "integer"}}, "files": {"type": "array", "items": {"type": "integer"}}}}
            }
        }
    })
}
