//! The `opcua` connector: its lifecycle and data calls.

use crate::request_size::{LARGE_REQUEST, too_large};
use crate::settings::*;
use oibus_plugin_api::prelude::*;
use opcua::types::{ReadValueId, StatusCode, TimestampsToReturn};

/// The OPC UA South connector.
pub struct OpcuaSouth {
    pub(crate) settings: OpcuaSettings,
    pub(crate) ctx: Context,
    pub(crate) live: Option<crate::session::Live>,
    pub(crate) subscription: Option<crate::subscription::Subscription>,
    /// Nodes per Read request: the setting, capped by the server's `MaxNodesPerRead`, and by
    /// what the server was seen to refuse as too large.
    pub(crate) per_read: usize,
    /// The largest Read the server refused as too large, kept across reconnections (a server
    /// may advertise more nodes than its message size allows, and close the connection).
    pub(crate) refused_read: Option<usize>,
    /// Values asked per history page: the setting, or less once the server was seen to refuse
    /// (or close the connection on) a page that large; kept across reconnections.
    pub(crate) per_page: u32,
}

impl Connector for OpcuaSouth {
    type Settings = OpcuaSettings;

    fn new(settings: OpcuaSettings, ctx: Context) -> Result<Self> {
        Ok(Self {
            per_page: settings.history_values_per_read,
            settings,
            ctx,
            live: None,
            subscription: None,
            per_read: usize::MAX,
            refused_read: None,
        })
    }

    async fn connect(&mut self) -> Result<()> {
        self.disconnect().await?;
        let live = crate::session::open_for(&self.settings.connection, &self.ctx).await?;
        let server_limit = crate::nodes::operation_limit(
            &live.session,
            opcua::types::VariableId::Server_ServerCapabilities_OperationLimits_MaxNodesPerRead,
        )
        .await;
        let own = match self.settings.max_nodes_per_read {
            0 => usize::MAX,
            n => n as usize,
        };
        self.per_read = own
            .min(server_limit.unwrap_or(usize::MAX))
            .min(self.refused_read.map_or(usize::MAX, |n| (n / 2).max(1)))
            .max(1);
        tracing::info!(
            "connected to {} ({} nodes per read)",
            self.settings.connection.url,
            if self.per_read == usize::MAX {
                "any number of".to_string()
            } else {
                self.per_read.to_string()
            }
        );
        self.live = Some(live);
        Ok(())
    }

    async fn disconnect(&mut self) -> Result<()> {
        if let Some(s) = self.subscription.take() {
            s.close();
        }
        if let Some(live) = self.live.take() {
            live.close().await;
        }
        Ok(())
    }
}

impl South for OpcuaSouth {
    type ItemSettings = ItemSettings;
}

impl OpcuaSouth {
    /// Reads items in groups of at most `per_read` nodes: the values, and the first item that
    /// failed (each failing item is reported by name; the others are read all the same).
    async fn read_items(
        &mut self,
        items: &[SouthItem<ItemSettings>],
    ) -> Result<(Vec<OibusValue>, Option<PluginError>)> {
        let url = self.settings.connection.url.clone();
        let session = crate::session::of(&self.live, &url)?;
        let mut values = Vec::with_capacity(items.len());
        let mut failed = None;
        let mut fail = |ctx: &Context, name: &str, why: String| {
            let e = PluginError::invalid_settings(format!("item {name:?}: {why}"));
            ctx.item_failed(name, &why);
            failed.get_or_insert(e);
        };
        // Node ids first: an item whose id does not parse fails alone.
        let mut readable = Vec::with_capacity(items.len());
        for item in items {
            match crate::nodes::parse(&session, &item.settings.node_id).await {
                Ok(id) => readable.push((item, id)),
                Err(why) => fail(&self.ctx, &item.name, why),
            }
        }
        // Groups of `per_read` nodes (ranges of `readable`), up to `max_parallel_reads` of them
        // in flight; a group refused as too large goes back, cut to the new size.
        let parallel = (self.settings.max_parallel_reads as usize).max(1);
        let mut pending: std::collections::VecDeque<std::ops::Range<usize>> =
            split(0..readable.len(), self.per_read).collect();
        while !pending.is_empty() {
            let batch: Vec<_> = pending.drain(..parallel.min(pending.len())).collect();
            let reads = futures_util::future::join_all(batch.iter().map(|range| {
                let ids: Vec<ReadValueId> = readable[range.clone()]
                    .iter()
                    .map(|(_, id)| id.clone().into())
                    .collect();
                let session = session.clone();
                async move {
                    let read_at = Timestamp::now();
                    (
                        read_at,
                        session.read(&ids, TimestampsToReturn::Both, 0.0).await,
                    )
                }
            }))
            .await;
            let mut again = Vec::new();
            for (range, (read_at, read)) in batch.into_iter().zip(reads) {
                let read = match read {
                    Ok(read) => read,
                    // A server may advertise more nodes per Read than its message size allows:
                    // halve the groups, for this and every later scan of this connection.
                    Err(e) if too_large(e.status()) && range.len() > 1 => {
                        if self.per_read >= range.len() {
                            self.refused_read = Some(range.len());
                            self.per_read = (range.len() / 2).max(1);
                            tracing::warn!(
                                "OPC UA server {url} refused a Read of {} nodes ({}): reading {} \
                                 at a time",
                                range.len(),
                                crate::convert::status_text(e.status()),
                                self.per_read
                            );
                        }
                        again.push(range);
                        continue;
                    }
                    Err(e) => {
                        // Some servers close the connection on a request over their message
                        // size instead of answering BadRequestTooLarge: after such a close on a
                        // large Read, the next connection reads half as many nodes at a time.
                        if e.status() == StatusCode::BadConnectionClosed
                            && range.len() > LARGE_REQUEST
                        {
                            self.refused_read = Some(range.len());
                            tracing::warn!(
                                "OPC UA server {url} closed the connection during a Read of {} \
                                 nodes; the next connection reads {} at a time",
                                range.len(),
                                range.len() / 2
                            );
                        }
                        return Err(read_error(&url, e.status()));
                    }
                };
                for ((item, id), result) in readable[range].iter().zip(read.iter()) {
                    match crate::convert::value(
                        &item.name,
                        result,
                        item.settings.timestamp_origin,
                        read_at,
                    ) {
                        Ok(v) => {
                            self.ctx.item_ok(&item.name);
                            values.push(v);
                        }
                        Err(why) => fail(&self.ctx, &item.name, format!("node {id}: {why}")),
                    }
                }
            }
            for range in again.into_iter().rev() {
                for part in split(range, self.per_read).rev() {
                    pending.push_front(part);
                }
            }
        }
        Ok((values, failed))
    }
}

/// `range` cut into consecutive ranges of at most `size`.
pub(crate) fn split(
    range: std::ops::Range<usize>,
    size: usize,
) -> impl DoubleEndedIterator<Item = std::ops::Range<usize>> {
    let size = size.max(1);
    let end = range.end;
    range
        .step_by(size)
        .map(move |start| start..(start + size).min(end))
        .collect::<Vec<_>>()
        .into_iter()
}

/// A Read that failed as a whole.
pub(crate) fn read_error(url: &str, code: StatusCode) -> PluginError {
    let text = crate::convert::status_text(code);
    if too_large(code) {
        return PluginError::invalid_settings(format!(
            "OPC UA server {url} refused a Read of one node as too large ({text})"
        ));
    }
    PluginError::connection_lost(format!("OPC UA server {url}: read failed: {text}"))
}

impl QueriesLastPoint for OpcuaSouth {
    /// Reads every item, in as few requests as the server's limit allows.
    async fn last_point_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let (values, failed) = self.read_items(items).await?;
        self.ctx.add_values(values).await?;
        failed.map_or(Ok(()), Err)
    }
}

impl QueriesHistory for OpcuaSouth {
    /// Reads the history of each item over `[start, end)`, page by page, handing each page over
    /// as it comes; returns the newest instant read.
    async fn history_query(
        &mut self,
        items: &[SouthItem<ItemSettings>],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let url = self.settings.connection.url.clone();
        let session = crate::session::of(&self.live, &url)?;
        let mut newest = None;
        for item in items {
            let fail =
                |why: String| PluginError::invalid_settings(format!("item {:?}: {why}", item.name));
            let node = crate::nodes::parse(&session, &item.settings.node_id)
                .await
                .map_err(fail)?;
            let mut continuation = opcua::types::ByteString::null();
            loop {
                let asked = (start, end);
                let page = crate::history::page(
                    &session,
                    &node,
                    item,
                    asked,
                    self.per_page,
                    continuation.clone(),
                )
                .await;
                let (values, next) = match page {
                    Ok(page) => page,
                    Err(crate::history::PageError::Request(code))
                        if too_large(code) && self.per_page > 1 =>
                    {
                        self.per_page = (self.per_page / 2).max(1);
                        tracing::warn!(
                            "OPC UA server {url} refused a history page of {} values ({}): asking {} at a time",
                            self.per_page * 2,
                            crate::convert::status_text(code),
                            self.per_page
                        );
                        continue;
                    }
                    Err(crate::history::PageError::Request(code))
                        if code == StatusCode::BadConnectionClosed
                            && self.per_page as usize > LARGE_REQUEST =>
                    {
                        // Some servers close the connection on an answer over their message
                        // size: the next connection asks half as many values a page.
                        self.per_page /= 2;
                        tracing::warn!(
                            "OPC UA server {url} closed the connection during a history read of \
                             {} values a page; the next connection asks {}",
                            self.per_page * 2,
                            self.per_page
                        );
                        return Err(
                            crate::history::PageError::Request(code).into_plugin_error(&item.name)
                        );
                    }
                    Err(e) => return Err(e.into_plugin_error(&item.name)),
                };
                newest = newest.max(values.iter().map(|v| v.timestamp).max());
                self.ctx.add_values(values).await?;
                match next {
                    Some(c) => continuation = c,
                    None => break,
                }
            }
            self.ctx.item_ok(&item.name);
        }
        Ok(newest)
    }
}

impl QueriesSubscription for OpcuaSouth {
    /// Monitors the items' nodes in the connector's subscription (made at the first call after
    /// each connection); values are handed over as the server publishes them.
    async fn subscribe(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        let url = self.settings.connection.url.clone();
        let session = crate::session::of(&self.live, &url)?;
        if self.subscription.is_none() {
            self.subscription = Some(
                crate::subscription::Subscription::create(&session, &self.settings, &self.ctx)
                    .await?,
            );
        }
        let mut nodes = Vec::with_capacity(items.len());
        for item in items {
            match crate::nodes::parse(&session, &item.settings.node_id).await {
                Ok(node) => nodes.push((item.clone(), node)),
                Err(why) => self.ctx.item_failed(&item.name, why),
            }
        }
        match &mut self.subscription {
            Some(s) => s.add(&session, &nodes, &self.ctx).await,
            None => Ok(()),
        }
    }

    async fn unsubscribe(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        if let (Some(s), Some(live)) = (&mut self.subscription, &self.live) {
            let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
            s.remove(&live.session, &names).await;
        }
        Ok(())
    }
}

impl Browses for OpcuaSouth {
    /// Lists the objects and variables under a node (the Objects folder by default).
    async fn browse(&mut self, request: &BrowseRequest) -> Result<Vec<BrowsedNode>> {
        let url = self.settings.connection.url.clone();
        let session = crate::session::of(&self.live, &url)?;
        crate::browse::browse(&session, request, &url).await
    }
}

impl TestsItem for OpcuaSouth {
    /// Tests the item as its scan mode and settings read it: an item of scan mode
    /// `subscription` is monitored in a subscription of its own until the server publishes
    /// (its current value first); an item with an `aggregate` gets the aggregates of its last ten
    /// intervals (a processed history read); any other is read once.
    async fn test_item(&mut self, item: &SouthItem<ItemSettings>) -> Result<Vec<OibusValue>> {
        let url = self.settings.connection.url.clone();
        let fail =
            |why: String| PluginError::invalid_settings(format!("item {:?}: {why}", item.name));
        if item.scan_mode == "subscription" {
            let session = crate::session::of(&self.live, &url)?;
            let node = crate::nodes::parse(&session, &item.settings.node_id)
                .await
                .map_err(fail)?;
            let wait =
                std::time::Duration::from_millis(self.settings.connection.request_timeout_ms);
            return crate::subscription::Subscription::first_values(
                &session,
                &self.settings,
                item,
                node,
                wait,
            )
            .await;
        }
        if item.settings.aggregate != crate::settings::Aggregate::Raw {
            let session = crate::session::of(&self.live, &url)?;
            let node = crate::nodes::parse(&session, &item.settings.node_id)
                .await
                .map_err(fail)?;
            let end = Timestamp::now();
            let span = item.settings.resampling_interval_ms.saturating_mul(10);
            let start =
                Timestamp::from_nanos(end.as_nanos() - (span as i64).saturating_mul(1_000_000));
            let (values, _) = crate::history::page(
                &session,
                &node,
                item,
                (start, end),
                self.per_page,
                opcua::types::ByteString::null(),
            )
            .await
            .map_err(|e| e.into_plugin_error(&item.name))?;
            return Ok(values);
        }
        let (values, failed) = self.read_items(std::slice::from_ref(item)).await?;
        failed.map_or(Ok(values), Err)
    }
}
