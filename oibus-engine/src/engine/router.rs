//! Where a South's data goes: into the cache of every North subscribed to it, durably, before
//! the South's `add_values`/`add_file` completes.

use super::{
    history_edge::Edge,
    status::{ConnectorStatus, bump},
};
use crate::{
    cache::{NorthQueue, Store, ValueLog},
    connector::DataSink,
};
use futures_util::future::BoxFuture;
use oibus_plugin_api::{ErrorKind, OibusValue, PluginError};
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Instant,
};

/// The Norths a South feeds, per kind of data.
#[derive(Default, Clone)]
pub struct Routes {
    /// The South's log, which the Norths receiving values read.
    pub log: Option<Arc<ValueLog>>,
    /// Norths receiving values.
    pub values: Vec<Arc<NorthQueue>>,
    /// Norths receiving files.
    pub files: Vec<Arc<NorthQueue>>,
}

/// Routes and South statuses, by South id; replaced when the configuration changes.
#[derive(Default)]
pub struct Table {
    /// Norths fed by each South.
    pub routes: HashMap<String, Routes>,
    /// Status of each South (its counters).
    pub souths: HashMap<String, Arc<ConnectorStatus>>,
}

struct Inner {
    store: Store,
    table: std::sync::RwLock<Arc<Table>>,
    /// The history edge of each South that reads history (set when it starts).
    edges: std::sync::RwLock<HashMap<String, Arc<Edge>>>,
    latency: Arc<Mutex<hdrhistogram::Histogram<u64>>>,
}

/// The engine's [`DataSink`].
#[derive(Clone)]
pub struct Router(Arc<Inner>);

fn rejected(e: impl std::fmt::Display) -> PluginError {
    PluginError::new(ErrorKind::REJECTED_BY_HOST, e)
}

impl Router {
    /// A router with no routes yet.
    pub fn new(store: Store, latency: Arc<Mutex<hdrhistogram::Histogram<u64>>>) -> Self {
        Self(Arc::new(Inner {
            store,
            table: Default::default(),
            edges: Default::default(),
            latency,
        }))
    }
}

impl Router {
    /// Replaces the routes (data already accepted is not affected).
    pub fn set(&self, table: Table) {
        *self.0.table.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
    }

    /// Sets (or, with `None`, removes) the history edge through which South `south`'s values
    /// pass: values its tracked history runs already sent are not sent again.
    pub fn set_edge(&self, south: &str, edge: Option<Arc<Edge>>) {
        let mut edges = self.0.edges.write().unwrap_or_else(|p| p.into_inner());
        match edge {
            Some(e) => edges.insert(south.to_string(), e),
            None => edges.remove(south),
        };
    }
}

impl Inner {
    fn table(&self) -> Arc<Table> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The current routes and the Norths receiving this South's values (or files), once each
    /// of them has room (or an error naming what was refused).
    async fn targets(
        &self,
        south: &str,
        files: bool,
        what: &str,
    ) -> Result<(Arc<Table>, Option<Arc<ValueLog>>, Vec<Arc<NorthQueue>>), PluginError> {
        let table = self.table();
        let (log, targets) = table
            .routes
            .get(south)
            .map(|r| {
                let targets = if files { &r.files } else { &r.values };
                (r.log.clone(), targets.clone())
            })
            .unwrap_or_default();
        if targets.is_empty() {
            return Err(rejected(format!(
                "no North receives {} from South {south:?}: {what} not accepted",
                if files { "files" } else { "values" }
            )));
        }
        for q in &targets {
            q.wait_for_room().await?;
        }
        Ok((table, log, targets))
    }

    async fn add_values(
        &self,
        south: &str,
        mut values: Vec<OibusValue>,
    ) -> Result<(), PluginError> {
        let began = Instant::now();
        let (table, log, targets) = self.targets(south, false, "the values were").await?;
        let log = log.ok_or_else(|| {
            rejected(format!(
                "South {south:?} has no log: the values were not accepted"
            ))
        })?;
        let status = table.souths.get(south);
        // A history request (a command) reads again what it is asked, sent or not.
        let edge = self
            .edges
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(south)
            .cloned()
            .filter(|_| !status.is_some_and(|s| s.history_request_running()));
        let admitted = edge.as_ref().map(|e| {
            let (repeated, admitted) = e.admit(&mut values);
            if let Some(s) = status {
                bump(&s.counters.history_repeats_skipped, repeated as u64);
            }
            admitted
        });
        if values.is_empty() {
            return Ok(());
        }
        let not_finite = mark_not_finite(&mut values);
        // Appended once, whatever the number of Norths: each reads it through its cursor.
        log.append(&values).await.map_err(rejected)?;
        for q in &targets {
            q.arrived.notify_one();
        }
        if let (Some(e), Some(a)) = (&edge, admitted) {
            e.remember(a);
        }
        if let Some(s) = status {
            bump(&s.counters.values_in, values.len() as u64);
            bump(&s.counters.values_not_finite, not_finite);
        }
        let micros = began.elapsed().as_micros() as u64;
        if let Ok(mut h) = self.latency.lock() {
            let _ = h.record(micros.max(1));
        }
        Ok(())
    }

    async fn add_file(&self, south: &str, path: PathBuf) -> Result<(), PluginError> {
        let what = format!("{} was", path.display());
        let (table, _, targets) = self.targets(south, true, &what).await?;
        let (queues, p, s) = (targets.clone(), path.clone(), south.to_string());
        let ops = tokio::task::spawn_blocking(move || {
            // A small file is read once, whatever the number of Norths.
            let mut shared = None;
            queues
                .iter()
                .map(|q| q.store_file(&p, &s, &mut shared))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(rejected)??;
        let keys = self
            .store
            .apply(ops.clone(), true)
            .await
            .map_err(rejected)?;
        for ((q, op), keys) in targets.iter().zip(&ops).zip(&keys) {
            q.appended_file(op, keys);
        }
        if let Some(s) = table.souths.get(south) {
            bump(&s.counters.files_in, 1);
        }
        Ok(())
    }
}

/// The engine's one rule for values that are not numbers: a float NaN, +Inf or -Inf is kept,
/// with quality `bad` (a JSON output writes it as `null`, JSON having no such numbers), so that
/// it never looks like a good measurement. Returns how many there were.
pub fn mark_not_finite(values: &mut [OibusValue]) -> u64 {
    let mut n = 0;
    for v in values {
        if let oibus_plugin_api::DataValue::Float(f) = v.value
            && !f.is_finite()
        {
            v.quality = oibus_plugin_api::Quality::Bad;
            n += 1;
        }
    }
    n
}

impl DataSink for Router {
    fn add_values(
        &self,
        connector: &str,
        values: Vec<OibusValue>,
    ) -> BoxFuture<'static, Result<(), PluginError>> {
        let (inner, south) = (self.0.clone(), connector.to_string());
        Box::pin(async move { inner.add_values(&south, values).await })
    }

    fn add_file(
        &self,
        connector: &str,
        path: PathBuf,
    ) -> BoxFuture<'static, Result<(), PluginError>> {
        let (inner, south) = (self.0.clone(), connector.to_string());
        Box::pin(async move { inner.add_file(&south, path).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_plugin_api::{DataValue, Quality, Timestamp};

    #[test]
    fn values_that_are_not_numbers_get_quality_bad_and_are_counted() {
        let t = Timestamp::from_millis(0);
        let mut values = vec![
            OibusValue::new("a", t, 1.5),
            OibusValue::new("b", t, f64::NAN),
            OibusValue::new("c", t, f64::INFINITY).with_quality(Quality::Uncertain),
            OibusValue::new("d", t, f64::NEG_INFINITY),
            OibusValue::new("e", t, 3i64),
        ];
        assert_eq!(mark_not_finite(&mut values), 3);
        let q: Vec<_> = values.iter().map(|v| v.quality).collect();
        use Quality::{Bad, Good};
        assert_eq!(q, [Good, Bad, Bad, Bad, Good]);
        assert!(matches!(values[1].value, DataValue::Float(f) if f.is_nan()));
    }
}
