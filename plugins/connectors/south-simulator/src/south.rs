//! The `south-simulator` connector: its lifecycle and data calls.

use crate::settings::*;
use oibus_plugin_api::prelude::*;
use std::{collections::HashMap, time::Duration};

/// The simulator South connector.
pub struct Simulator {
    pub(crate) settings: SimulatorSettings,
    pub(crate) ctx: Context,
    pub(crate) subscriptions: HashMap<String, tokio::task::JoinHandle<()>>,
}

impl Simulator {
    fn value(&self, item: &SouthItem<ItemSettings>, t: Timestamp) -> OibusValue {
        let point = item.settings.point_id.as_deref().unwrap_or(&item.name);
        let v = item.settings.signal.at(self.settings.seed, &item.name, t);
        OibusValue::new(point, t, v)
    }

    fn interval(&self) -> i64 {
        i64::try_from(self.settings.sample_interval_ms)
            .unwrap_or(i64::MAX / 1_000_000)
            .max(1)
            * 1_000_000
    }
}

impl Connector for Simulator {
    type Settings = SimulatorSettings;

    fn new(settings: SimulatorSettings, ctx: Context) -> Result<Self> {
        Ok(Self {
            settings,
            ctx,
            subscriptions: HashMap::new(),
        })
    }

    async fn disconnect(&mut self) -> Result<()> {
        for (_, task) in self.subscriptions.drain() {
            task.abort();
        }
        Ok(())
    }
}

impl South for Simulator {
    type ItemSettings = ItemSettings;
}

impl QueriesLastPoint for Simulator {
    async fn last_point_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let now = Timestamp::now();
        let values = items.iter().map(|i| self.value(i, now)).collect();
        self.ctx.add_values(values).await
    }
}

impl TestsItem for Simulator {
    /// The item's value now.
    async fn test_item(&mut self, item: &SouthItem<ItemSettings>) -> Result<Vec<OibusValue>> {
        Ok(vec![self.value(item, Timestamp::now())])
    }
}

impl QueriesHistory for Simulator {
    /// Samples every item at each multiple of `sample_interval_ms` in `[start, end)`.
    async fn history_query(
        &mut self,
        items: &[SouthItem<ItemSettings>],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let step = self.interval();
        let mut t = start.as_nanos().div_euclid(step) * step;
        if t < start.as_nanos() {
            t += step;
        }
        let mut newest = None;
        let mut batch = Vec::with_capacity(self.settings.batch_size);
        while t < end.as_nanos() {
            for item in items {
                batch.push(self.value(item, Timestamp::from_nanos(t)));
            }
            newest = Some(Timestamp::from_nanos(t));
            if batch.len() >= self.settings.batch_size {
                self.ctx.add_values(std::mem::take(&mut batch)).await?;
            }
            t += step;
        }
        self.ctx.add_values(batch).await?;
        Ok(newest)
    }
}

impl QueriesSubscription for Simulator {
    async fn subscribe(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let period = Duration::from_millis(self.settings.sample_interval_ms.max(1));
        for item in items {
            if let Some(old) = self.subscriptions.remove(&item.name) {
                old.abort();
            }
            let ctx = self.ctx.clone();
            let name = item.name.clone();
            let item = item.clone();
            let seed = self.settings.seed;
            let task = self.ctx.spawn(async move {
                let mut tick = tokio::time::interval(period);
                loop {
                    tick.tick().await;
                    let t = Timestamp::now();
                    let point = item.settings.point_id.as_deref().unwrap_or(&item.name);
                    let v = OibusValue::new(point, t, item.settings.signal.at(seed, &item.name, t));
                    if let Err(e) = ctx.add_values(vec![v]).await {
                        tracing::warn!("item {}: value not accepted: {e}", item.name);
                    }
                }
            })?;
            self.subscriptions.insert(name, task);
        }
        Ok(())
    }

    async fn unsubscribe(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        for item in items {
            if let Some(task) = self.subscriptions.remove(&item.name) {
                task.abort();
            }
        }
        Ok(())
    }
}
