//! The URL, query and body of one call, with a history window's instants written in.
//!
//! ```
//! use oibus_rest::{TimeFormat, request::{Timestamp, Window, fill, join}};
//! assert_eq!(join("http://h:8080/api/", "/values"), "http://h:8080/api/values");
//! let w = Window {
//!     start: Timestamp::parse("2026-12-05T10:00:00Z").unwrap(),
//!     end: Timestamp::parse("2026-12-05T11:00:00Z").unwrap(),
//! };
//! assert_eq!(fill("@StartTime", Some(&w), TimeFormat::UnixS), Ok("1796464800".into()));
//! assert!(fill("@EndTime", None, TimeFormat::Iso).is_err());
//! ```

use crate::settings::{ItemSettings, Method, TimeFormat};
/// The instants of a window (the plugin API's).
pub use oibus_plugin_api::Timestamp;

/// The instants of a history query: `(start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// `@StartTime`.
    pub start: Timestamp,
    /// `@EndTime`.
    pub end: Timestamp,
}

/// One HTTP call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Its method.
    pub method: Method,
    /// Its address, without the query.
    pub url: String,
    /// Its query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Its JSON body.
    pub body: Option<String>,
}

/// `base` and `path` with exactly one `/` between them (an empty path: `base` as it is).
pub fn join(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_string();
    }
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// `t` as `format` writes it.
pub fn format_instant(t: Timestamp, format: TimeFormat) -> String {
    let dt = t.to_datetime();
    match format {
        TimeFormat::Iso => dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        TimeFormat::UnixMs => dt.timestamp_millis().to_string(),
        TimeFormat::UnixS => dt.timestamp().to_string(),
    }
}

const START: &str = "@StartTime";
const END: &str = "@EndTime";

/// Whether `text` names an instant of the window.
pub fn has_placeholder(text: &str) -> bool {
    text.contains(START) || text.contains(END)
}

/// Whether the item's request names an instant of the window (in its query or body).
pub fn uses_window(item: &ItemSettings) -> bool {
    item.query.values().any(|v| has_placeholder(v))
        || item.body.as_deref().is_some_and(has_placeholder)
}

/// `template` with `@StartTime` and `@EndTime` replaced by the window's instants; an error when
/// it names them and there is no window.
pub fn fill(template: &str, window: Option<&Window>, format: TimeFormat) -> Result<String, String> {
    if !has_placeholder(template) {
        return Ok(template.to_string());
    }
    let w = window.ok_or_else(|| {
        "@StartTime and @EndTime are the window of a history query: read this item with \
         `query = \"history\"` on its South (or remove them)"
            .to_string()
    })?;
    Ok(template
        .replace(START, &format_instant(w.start, format))
        .replace(END, &format_instant(w.end, format)))
}

/// The call that reads `item` from `base`, over `window` when it has one.
pub fn call(base: &str, item: &ItemSettings, window: Option<&Window>) -> Result<Call, String> {
    let format = item.time_format;
    let query = item
        .query
        .iter()
        .map(|(k, v)| Ok((k.clone(), fill(v, window, format)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let body = match (&item.body, item.method) {
        (Some(_), Method::Get) => {
            return Err("`body` is sent with `method = \"POST\"` only".into());
        }
        (Some(b), Method::Post) => {
            let filled = fill(b, window, format)?;
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&filled) {
                return Err(format!(
                    "`body` is not JSON once @StartTime and @EndTime are written in ({e}): \
                     with `time_format = \"iso\"` they go between quotes"
                ));
            }
            Some(filled)
        }
        (None, _) => None,
    };
    Ok(Call {
        method: item.method,
        url: join(base, &item.path),
        query,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Pagination;
    use std::collections::BTreeMap;

    fn item() -> ItemSettings {
        ItemSettings {
            method: Method::Get,
            path: "values".into(),
            query: BTreeMap::new(),
            body: None,
            records: "$".into(),
            value: "$.v".into(),
            timestamp: None,
            quality: None,
            point_id: None,
            time_format: TimeFormat::Iso,
            pagination: Pagination::None,
            max_pages: 10,
        }
    }

    fn window() -> Window {
        Window {
            start: Timestamp::parse("2026-12-05T10:00:00.5Z").unwrap(),
            end: Timestamp::parse("2026-12-05T11:00:00Z").unwrap(),
        }
    }

    #[test]
    fn paths_join_with_one_slash() {
        assert_eq!(join("http://h/api", "v"), "http://h/api/v");
        assert_eq!(join("http://h/api//", "//v"), "http://h/api/v");
        assert_eq!(join("http://h/api", ""), "http://h/api");
    }

    #[test]
    fn the_window_goes_into_the_query_and_the_body() {
        let mut it = item();
        it.query = BTreeMap::from([
            ("from".into(), "@StartTime".into()),
            ("to".into(), "@EndTime".into()),
            ("tag".into(), "TT-101".into()),
        ]);
        assert!(uses_window(&it));
        let c = call("http://h/api", &it, Some(&window())).unwrap();
        assert_eq!(c.url, "http://h/api/values");
        assert_eq!(
            c.query,
            vec![
                ("from".into(), "2026-12-05T10:00:00.500Z".into()),
                ("tag".into(), "TT-101".into()),
                ("to".into(), "2026-12-05T11:00:00.000Z".into()),
            ]
        );
        let e = call("http://h/api", &it, None).unwrap_err();
        assert!(e.contains("query = \"history\""), "{e}");

        let mut post = item();
        post.method = Method::Post;
        post.time_format = TimeFormat::UnixMs;
        post.body = Some(r#"{"from": @StartTime, "to": @EndTime}"#.into());
        let c = call("http://h", &post, Some(&window())).unwrap();
        assert_eq!(
            c.body.as_deref(),
            Some(r#"{"from": 1796464800500, "to": 1796468400000}"#)
        );
        // ISO instants need quotes in JSON: the mistake is named.
        post.time_format = TimeFormat::Iso;
        let e = call("http://h", &post, Some(&window())).unwrap_err();
        assert!(e.contains("between quotes"), "{e}");
        let mut get_with_body = item();
        get_with_body.body = Some("{}".into());
        assert!(
            call("http://h", &get_with_body, None)
                .unwrap_err()
                .contains("POST")
        );
    }
}
