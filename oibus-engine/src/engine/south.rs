//! Running a South: one timer per scan mode of its items, the configured query on each tick
//! (skipped and counted while the previous run of the same scan mode is still going, or while
//! disconnected), and its subscriptions made after every (re)connection.

use super::{
    history, history_edge,
    status::{ConnectorStatus, bump},
    supervisor::Hooks,
};
use crate::{
    cache::Store,
    config::{QueryKind, SUBSCRIPTION, ScanModeConfig, SouthConfig},
    connector::{ConnectorError, ConnectorHandle},
};
use futures_util::future::BoxFuture;
use oibus_plugin_api::Item;
use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};
use tokio::sync::{mpsc, watch};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// The items of a South as the plugin receives them; those read from an items file get the
/// types of `item_schema` (the plugin's), their cells being text.
pub fn items(config: &SouthConfig, item_schema: Option<&serde_json::Value>) -> Vec<Item> {
    let from_file = config.items_file.is_some();
    config
        .items
        .iter()
        .filter(|i| i.enabled)
        .map(|i| Item {
            name: i.name.as_str().into(),
            enabled: true,
            scan_mode: i.scan_mode.as_str().into(),
            settings: match item_schema {
                Some(schema) if from_file => crate::config::items_file::typed(&i.settings, schema)
                    .as_str()
                    .into(),
                _ => i.settings.as_str().into(),
            },
        })
        .collect()
}

/// Subscribes the South's subscription items after each connection. Nothing is unsubscribed when
/// the connector stops: a persistent subscription (an MQTT session, say) must outlive a restart or
/// an upgrade of the gateway so that what arrives meanwhile is kept for it; `disconnect` ends the
/// connector's listeners.
pub struct SouthHooks {
    /// The connector.
    pub connector: Arc<ConnectorHandle>,
    /// Its items whose scan mode is `subscription`.
    pub subscribed: Vec<Item>,
    /// Its scans in progress.
    pub scans: TaskTracker,
    /// Its status.
    pub status: Arc<ConnectorStatus>,
}

impl Hooks for SouthHooks {
    fn connected(&self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async {
            if self.subscribed.is_empty() {
                return Ok(());
            }
            self.connector.subscribe(self.subscribed.clone()).await
        })
    }

    /// A scan in progress when the connector stops (an upgrade, a configuration change, the
    /// engine stopping) is let finish, within its `timeouts.data`, so that no scan is lost.
    fn stopping(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            self.scans.close();
            let running = self.scans.len();
            if running > 0 {
                bump(&self.status.counters.runs_awaited_at_stop, running as u64);
                tracing::info!("stopping: waiting for {running} scan(s) in progress to finish");
                self.scans.wait().await;
                tracing::info!("stopping: the scan(s) in progress finished");
            }
        })
    }
}

/// Everything a South's scan timers need.
pub struct SouthRunner {
    /// The connector.
    pub connector: Arc<ConnectorHandle>,
    /// Its configuration.
    pub config: Arc<SouthConfig>,
    /// The query run on each tick (`None`: the type has no query capability).
    pub query: Option<QueryKind>,
    /// Its status.
    pub status: Arc<ConnectorStatus>,
    /// The store (history tracked instants).
    pub store: Store,
    /// Whether it is connected.
    pub connected: watch::Receiver<bool>,
    /// Where a timed-out call reports a lost connection.
    pub lost: mpsc::Sender<String>,
    /// Where its scans run, so that a stop waits for the one in progress.
    pub scans: TaskTracker,
    /// What its tracked history runs sent near the live edge.
    pub edge: Arc<history_edge::Edge>,
}

impl SouthRunner {
    /// Starts one timer task per scan mode used by the South's items.
    pub fn spawn(
        self,
        items: Vec<Item>,
        scan_modes: &[ScanModeConfig],
        cancel: &CancellationToken,
        tasks: &mut tokio::task::JoinSet<()>,
    ) {
        let Some(query) = self.query else { return };
        let mut by_mode: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        for item in items {
            if item.scan_mode.as_str() != SUBSCRIPTION {
                by_mode
                    .entry(item.scan_mode.to_string())
                    .or_default()
                    .push(item);
            }
        }
        let runner = Arc::new(self);
        for (mode, items) in by_mode {
            let Some(when) = scan_modes
                .iter()
                .find(|m| m.name == mode)
                .and_then(|m| crate::config::schedule::Schedule::of(m).ok())
            else {
                continue;
            };
            let (runner, cancel) = (runner.clone(), cancel.clone());
            let span = runner.connector.span().clone();
            tasks.spawn(tracing::Instrument::instrument(
                async move { runner.timer(&mode, &when, items, query, cancel).await },
                span,
            ));
        }
    }

    async fn timer(
        self: Arc<Self>,
        mode: &str,
        when: &crate::config::schedule::Schedule,
        items: Vec<Item>,
        query: QueryKind,
        cancel: CancellationToken,
    ) {
        let busy = Arc::new(AtomicBool::new(false));
        let items = Arc::new(items);
        let mut ticker = when.ticker();
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                tick = ticker.tick() => if tick.is_none() {
                    tracing::warn!("scan mode {mode:?} has no next occurrence");
                    return;
                }
            }
            if !*self.connected.borrow() {
                bump(&self.status.counters.skipped_disconnected, 1);
                continue;
            }
            if cancel.is_cancelled() {
                return;
            }
            if busy.swap(true, Ordering::AcqRel) {
                bump(&self.status.counters.skipped_busy, 1);
                tracing::debug!("scan mode {mode:?}: previous run still going, tick skipped");
                continue;
            }
            bump(&self.status.counters.runs, 1);
            let (me, mode, items, busy, cancel) = (
                self.clone(),
                mode.to_string(),
                items.clone(),
                busy.clone(),
                cancel.clone(),
            );
            let span = tracing::Span::current();
            // Not cut short by a stop: the stop waits for it (see `SouthHooks::stopping`). A
            // history run stops between windows.
            self.scans.spawn(tracing::Instrument::instrument(
                async move {
                    me.run(query, &mode, &items, &cancel).await;
                    busy.store(false, Ordering::Release);
                },
                span,
            ));
        }
    }

    async fn run(&self, query: QueryKind, mode: &str, items: &[Item], cancel: &CancellationToken) {
        let c = &self.connector;
        let began = oibus_plugin_api::Timestamp::now();
        let clock = std::time::Instant::now();
        let result = match query {
            QueryKind::LastPoint => c.last_point_query(items.to_vec()).await,
            QueryKind::File => c.file_query(items.to_vec()).await,
            QueryKind::History => history::run(
                c,
                mode,
                items,
                &history::Tracking {
                    south: &self.config.id,
                    config: &self.config.history,
                    store: &self.store,
                    edge: &self.edge,
                    windows_read: &self.status.counters.history_windows,
                    reports: &self.status.reports,
                },
                cancel,
            )
            .await
            .map(|report| {
                tracing::debug!(
                    "history: {} window(s), newest value {:?}",
                    report.windows,
                    report.newest
                );
            }),
        };
        self.status.run_durations.record(clock.elapsed());
        let Err(e) = result else {
            self.status.ok();
            return;
        };
        self.status.error(e.to_string());
        if e.is_connection_lost() {
            bump(&self.status.counters.run_failures, 1);
            tracing::warn!("{e}");
            let _ = self.lost.try_send(e.to_string());
        } else if self.status.reports.item_failed_since(began) {
            // The run read its other items; the failing ones are in the status, and each was
            // logged when it started failing.
            bump(&self.status.counters.runs_with_failed_items, 1);
            tracing::debug!("{e}");
        } else {
            bump(&self.status.counters.run_failures, 1);
            tracing::warn!("{e}");
        }
    }
}
