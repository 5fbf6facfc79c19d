//! The South connector, the same for every driver: runs each item's query and turns its rows
//! into values.

use crate::{
    cell::Record,
    driver::{Bounds, Driver, QueryError},
    placeholders::{Param, Query, rewrite},
    settings::ItemSettings,
};
use oibus_plugin_api::{ErrorKind, prelude::*};
use std::{collections::BTreeMap, path::PathBuf};
use tokio::sync::mpsc;

/// Where the rows of a query go.
enum Outlet<'a> {
    /// To the engine, batch by batch.
    Engine,
    /// Kept here, up to a number of values (an item test); the query stops there.
    Keep(&'a mut Vec<OibusValue>, usize),
}

/// How far back an item test reads: `@StartTime` is this long before now.
const TEST_SPAN_NANOS: i64 = 3_600 * 1_000_000_000;
/// The most values an item test returns (the query stops after them).
const TEST_MAX_VALUES: usize = 1_000;

/// A South reading SQL queries through driver `D`.
pub struct SqlSouth<D: Driver> {
    driver: D,
    ctx: Context,
    /// For last-point scans: the newest instant read per item (`@StartTime` of the next scan).
    newest: BTreeMap<String, Timestamp>,
    /// Where `newest` is kept across restarts.
    state_file: PathBuf,
    /// `@StartTime` of an item's first last-point scan.
    started: Timestamp,
}

impl<D: Driver> SqlSouth<D> {
    /// Runs the query of `item` and hands its rows to the engine as they come, batch by batch,
    /// so that memory stays bounded whatever the size of the result. Returns the newest instant
    /// read. Errors name the item (and the row).
    async fn read(
        &mut self,
        item: &SouthItem<ItemSettings>,
        query: &Query,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Option<Timestamp>> {
        self.read_into(item, query, (start, end), Outlet::Engine)
            .await
    }

    /// [`Self::read`], with the rows going to `outlet`.
    async fn read_into(
        &mut self,
        item: &SouthItem<ItemSettings>,
        query: &Query,
        (start, end): (Timestamp, Timestamp),
        mut outlet: Outlet<'_>,
    ) -> Result<Option<Timestamp>> {
        let s = &item.settings;
        let zone = crate::zone::Zone::parse(s.time_zone.as_deref())
            .map_err(|e| PluginError::invalid_settings(format!("item {:?}: {e}", item.name)))?;
        let bounds = Bounds {
            start,
            end,
            format: s.time_format,
            zone,
        };
        let read_at = Timestamp::now();
        let (batches, mut received) = mpsc::channel::<Vec<Record>>(2);
        let produce = self.driver.query(query, bounds, s.columns(), batches);
        let ctx = &self.ctx;
        let consume = async move {
            let (mut newest, mut rows) = (None, 0usize);
            while let Some(batch) = received.recv().await {
                let mut values = Vec::with_capacity(batch.len());
                for record in batch {
                    rows += 1;
                    let v = record
                        .into_value(&item.name, s.time_format, zone, read_at)
                        .map_err(|e| {
                            PluginError::invalid_settings(format!(
                                "item {:?}, row {rows}: {e}",
                                item.name
                            ))
                        })?;
                    newest = newest.max(Some(v.timestamp));
                    values.push(v);
                }
                match &mut outlet {
                    Outlet::Engine => ctx.add_values(values).await?,
                    Outlet::Keep(kept, max) => {
                        kept.extend(values);
                        if kept.len() >= *max {
                            kept.truncate(*max);
                            break;
                        }
                    }
                }
            }
            Ok::<_, PluginError>(newest)
        };
        // When the engine refuses the values, `consume` ends and drops its receiver, which
        // stops `produce` at its next batch.
        let (produced, consumed) = tokio::join!(produce, consume);
        let newest = consumed?;
        produced.map_err(|e| match e {
            QueryError::Settings(m) => {
                PluginError::invalid_settings(format!("item {:?}: {m}", item.name))
            }
            QueryError::Lost(m) => {
                PluginError::connection_lost(format!("item {:?}: {m}", item.name))
            }
            QueryError::Other(m) => PluginError::transient(format!("item {:?}: {m}", item.name)),
        })?;
        Ok(newest)
    }

    fn save_newest(&self) -> Result<()> {
        let map: BTreeMap<&String, String> =
            self.newest.iter().map(|(k, v)| (k, v.to_iso())).collect();
        let text = oibus_plugin_api::serde_json::to_vec_pretty(&map)
            .map_err(|e| PluginError::permanent(e.to_string()))?;
        oibus_plugin_api::sdk::state::save(&self.state_file, &text)
    }
}

fn load_newest(file: &PathBuf) -> BTreeMap<String, Timestamp> {
    let Ok(bytes) = std::fs::read(file) else {
        return BTreeMap::new();
    };
    match oibus_plugin_api::serde_json::from_slice::<BTreeMap<String, Timestamp>>(&bytes) {
        Ok(map) => map,
        Err(e) => {
            tracing::warn!(
                "{}: unreadable ({e}); last-point scans start from now",
                file.display()
            );
            BTreeMap::new()
        }
    }
}

impl<D: Driver> Connector for SqlSouth<D> {
    type Settings = D::Settings;

    fn new(settings: D::Settings, ctx: Context) -> Result<Self> {
        let state_file = ctx.state_dir().join("last-point.json");
        Ok(Self {
            driver: D::new(settings, ctx.clone()),
            newest: load_newest(&state_file),
            state_file,
            ctx,
            started: Timestamp::now(),
        })
    }

    async fn connect(&mut self) -> Result<()> {
        self.driver.connect().await
    }

    async fn disconnect(&mut self) -> Result<()> {
        self.driver.disconnect().await;
        Ok(())
    }
}

impl<D: Driver> South for SqlSouth<D> {
    type ItemSettings = ItemSettings;
}

impl<D: Driver> QueriesHistory for SqlSouth<D> {
    async fn history_query(
        &mut self,
        items: &[SouthItem<ItemSettings>],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let mut newest = None;
        for item in items {
            let query = rewrite(&item.settings.query, D::STYLE);
            if item.settings.reference_column.is_none() {
                return Err(PluginError::invalid_settings(format!(
                    "item {:?}: reading history needs reference_column, the column of each row's instant",
                    item.name
                )));
            }
            if !query.uses(Param::Start) || !query.uses(Param::End) {
                return Err(PluginError::invalid_settings(format!(
                    "item {:?}: a history query must use @StartTime and @EndTime (for example \
                     `WHERE ts > @StartTime AND ts <= @EndTime`), or every window reads the same rows",
                    item.name
                )));
            }
            newest = newest.max(self.read(item, &query, start, end).await?);
        }
        Ok(newest)
    }
}

impl<D: Driver> TestsItem for SqlSouth<D> {
    /// Runs the item's query once over the last hour (`@StartTime` one hour ago, `@EndTime`
    /// now) and returns its first 1,000 rows as values.
    async fn test_item(&mut self, item: &SouthItem<ItemSettings>) -> Result<Vec<OibusValue>> {
        let query = rewrite(&item.settings.query, D::STYLE);
        let end = Timestamp::now();
        let start = Timestamp::from_nanos(end.as_nanos().saturating_sub(TEST_SPAN_NANOS));
        let mut kept = Vec::new();
        self.read_into(
            item,
            &query,
            (start, end),
            Outlet::Keep(&mut kept, TEST_MAX_VALUES),
        )
        .await?;
        Ok(kept)
    }
}

impl<D: Driver> QueriesLastPoint for SqlSouth<D> {
    /// Reads every item; an item that fails (for any reason but a lost connection) is reported
    /// by name and keeps its instant, and the others are read all the same.
    async fn last_point_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let mut failed = None;
        for item in items {
            let query = rewrite(&item.settings.query, D::STYLE);
            let start = self.newest.get(&item.name).copied().unwrap_or(self.started);
            let newest = match self.read(item, &query, start, Timestamp::now()).await {
                Ok(newest) => newest,
                Err(e) if e.kind == ErrorKind::CONNECTION_LOST => return Err(e),
                Err(e) => {
                    self.ctx.item_failed(&item.name, e.message());
                    failed.get_or_insert(e);
                    continue;
                }
            };
            self.ctx.item_ok(&item.name);
            if query.uses(Param::Start)
                && let Some(t) = newest
                && t > start
            {
                self.newest.insert(item.name.clone(), t);
                self.save_newest()?;
            }
        }
        failed.map_or(Ok(()), Err)
    }
}
