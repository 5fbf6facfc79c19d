//! `probe-south`: emits numbered values and journals every acknowledgement, so a test can check
//! that every value the engine acknowledged reached the North.

use crate::behaviour::{Behaviour, probe_lifecycle};
use oibus_plugin_api::prelude::*;
use std::{
    collections::HashMap,
    fs,
    io::Write,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

/// Settings of `probe-south`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct SouthSettings {
    /// Lifecycle behaviour.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// Values per `add_values` call.
    #[serde(default = "default_batch")]
    #[schemars(range(min = 1))]
    pub batch_size: usize,
    /// Subscriptions: batches emitted per item before it goes quiet (0: no limit).
    #[serde(default)]
    pub batches: u64,
    /// Subscriptions: pause between batches in milliseconds (0: as fast as the engine accepts).
    #[serde(default)]
    pub interval_ms: u64,
    /// After each acknowledged batch, the line `<point id> <last number>` is appended here.
    #[serde(default)]
    pub ack_file: Option<String>,
    /// Subscriptions: after this many batches the connector reports its connection lost, once
    /// (0: never).
    #[serde(default)]
    pub lose_connection_after: u64,
    /// The first `subscribe` reports the connection lost (through the context, as a listener
    /// would) before it returns.
    #[serde(default)]
    pub lose_connection_in_subscribe: bool,
    /// Each value of a batch gets its own instant (the batch's, plus its rank in nanoseconds),
    /// for destinations where a point's instant is its key (InfluxDB).
    #[serde(default)]
    pub distinct_timestamps: bool,
    /// Last-point queries take this long (milliseconds) before they emit, and journal
    /// `last_point_query done` when they have.
    #[serde(default)]
    pub query_delay_ms: u64,
}

fn default_batch() -> usize {
    100
}

/// Item settings of `probe-south` (none are needed).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(crate = "oibus_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub struct ProbeItem {}

/// The probe South connector. Values of item `x` have point id `x#<run>` (the run number grows at
/// each creation of the connector, kept in its state folder) and the values 0, 1, 2…, so every
/// value ever produced is unique.
pub struct ProbeSouth {
    behaviour: Behaviour,
    settings: Arc<SouthSettings>,
    ctx: Context,
    run: u64,
    next: HashMap<String, Arc<AtomicI64>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    lost_reported: Arc<std::sync::atomic::AtomicBool>,
}

/// Reads, increments and saves the run counter of `state_dir`.
fn next_run(state_dir: &Path) -> Result<u64> {
    let file = state_dir.join("probe-run");
    let run = fs::read_to_string(&file)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(0, |r| r + 1);
    fs::create_dir_all(state_dir)?;
    // Temporary file and rename: a kill never leaves the counter empty (which would reuse ids).
    let tmp = state_dir.join("probe-run.tmp");
    fs::write(&tmp, run.to_string())?;
    fs::rename(&tmp, &file)?;
    Ok(run)
}

/// Emits one batch for `point` starting at the counter, then journals the acknowledgement.
async fn emit(
    ctx: &Context,
    settings: &SouthSettings,
    point: &str,
    counter: &AtomicI64,
) -> Result<()> {
    settings.behaviour.crash_if_asked();
    let n = settings.batch_size as i64;
    let first = counter.fetch_add(n, Ordering::Relaxed);
    let now = Timestamp::now();
    let values = (first..first + n)
        .map(|i| {
            let at = if settings.distinct_timestamps {
                Timestamp::from_nanos(now.as_nanos() + (i - first))
            } else {
                now
            };
            OibusValue::new(point, at, i)
        })
        .collect();
    ctx.add_values(values).await?;
    if let Some(path) = &settings.ack_file {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        // One write per line: the subscription tasks of several items append concurrently.
        f.write_all(format!("{point} {}\n", first + n - 1).as_bytes())?;
    }
    Ok(())
}

impl ProbeSouth {
    fn point(&self, item: &SouthItem<ProbeItem>) -> (String, Arc<AtomicI64>) {
        let point = format!("{}#{}", item.name, self.run);
        let counter = self.next.get(&point).cloned().unwrap_or_default();
        (point, counter)
    }

    fn remember(&mut self, point: String, counter: Arc<AtomicI64>) {
        self.next.insert(point, counter);
    }
}

impl Connector for ProbeSouth {
    type Settings = SouthSettings;

    fn new(settings: SouthSettings, ctx: Context) -> Result<Self> {
        let run = next_run(&ctx.state_dir())?;
        Ok(Self {
            behaviour: settings.behaviour.clone(),
            settings: Arc::new(settings),
            ctx,
            run,
            next: HashMap::new(),
            tasks: Vec::new(),
            lost_reported: Arc::default(),
        })
    }

    probe_lifecycle!();

    async fn disconnect(&mut self) -> Result<()> {
        self.behaviour.journal("disconnect")?;
        for t in self.tasks.drain(..) {
            t.abort();
        }
        Ok(())
    }
}

impl South for ProbeSouth {
    type ItemSettings = ProbeItem;
}

impl QueriesLastPoint for ProbeSouth {
    async fn last_point_query(&mut self, items: &[SouthItem<ProbeItem>]) -> Result<()> {
        self.behaviour.journal("last_point_query")?;
        if self.settings.query_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.settings.query_delay_ms)).await;
        }
        for item in items {
            let (point, counter) = self.point(item);
            emit(&self.ctx, &self.settings, &point, &counter).await?;
            self.remember(point, counter);
        }
        if self.settings.query_delay_ms > 0 {
            self.behaviour.journal("last_point_query done")?;
        }
        Ok(())
    }
}

impl QueriesHistory for ProbeSouth {
    /// One value per item per second of `[start, end)`, numbered from the window's start.
    async fn history_query(
        &mut self,
        items: &[SouthItem<ProbeItem>],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Option<Timestamp>> {
        self.behaviour
            .journal(&format!("history_query {start} {end}"))?;
        const SECOND: i64 = 1_000_000_000;
        let mut t = start.as_nanos().div_euclid(SECOND) * SECOND;
        if t < start.as_nanos() {
            t += SECOND;
        }
        let mut newest = None;
        let mut values = Vec::new();
        while t < end.as_nanos() {
            for item in items {
                values.push(OibusValue::new(
                    item.name.as_str(),
                    Timestamp::from_nanos(t),
                    t / SECOND,
                ));
            }
            newest = Some(Timestamp::from_nanos(t));
            t += SECOND;
        }
        self.ctx.add_values(values).await?;
        Ok(newest)
    }
}

impl QueriesSubscription for ProbeSouth {
    async fn subscribe(&mut self, items: &[SouthItem<ProbeItem>]) -> Result<()> {
        self.behaviour.journal("subscribe")?;
        if self.settings.lose_connection_in_subscribe
            && !self.lost_reported.swap(true, Ordering::Relaxed)
        {
            self.ctx
                .connection_lost("probe: connection lost while subscribing, as configured");
        }
        for item in items {
            let (point, counter) = self.point(item);
            let (ctx, settings) = (self.ctx.clone(), self.settings.clone());
            let task_counter = counter.clone();
            let lost_reported = self.lost_reported.clone();
            let task = self.ctx.spawn(async move {
                let mut sent = 0u64;
                while settings.batches == 0 || sent < settings.batches {
                    if settings.lose_connection_after > 0
                        && sent == settings.lose_connection_after
                        && !lost_reported.swap(true, Ordering::Relaxed)
                    {
                        ctx.connection_lost("probe: connection lost as configured");
                    }
                    if let Err(e) = emit(&ctx, &settings, &point, &task_counter).await {
                        tracing::warn!("{point}: batch refused: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    sent += 1;
                    if settings.interval_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(settings.interval_ms)).await;
                    }
                }
            })?;
            self.tasks.push(task);
            self.remember(format!("{}#{}", item.name, self.run), counter);
        }
        Ok(())
    }

    async fn unsubscribe(&mut self, _items: &[SouthItem<ProbeItem>]) -> Result<()> {
        self.behaviour.journal("unsubscribe")?;
        for t in self.tasks.drain(..) {
            t.abort();
        }
        Ok(())
    }
}
