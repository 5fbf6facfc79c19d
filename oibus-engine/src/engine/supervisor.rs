//! The lifecycle the engine owns for every connector: stopped → connecting → connected, and on a
//! failure → backoff (exponential, with jitter) → connecting again; stopping at the end.

use super::status::{ConnectorStatus, State, bump};
use crate::{config::ReconnectConfig, connector::ConnectorHandle};
use futures_util::future::BoxFuture;
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Work done on every (re)connection, before the connector counts as connected (a South makes
/// its subscriptions there), and before it stops.
pub trait Hooks: Send + Sync + 'static {
    /// After a successful `start`/`connect`.
    fn connected(&self) -> BoxFuture<'_, Result<(), crate::connector::ConnectorError>> {
        Box::pin(async { Ok(()) })
    }
    /// Before `stop`.
    fn stopping(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// No hooks.
pub struct NoHooks;
impl Hooks for NoHooks {}

/// The delay before attempt `attempt` (1-based): `min · 2^(attempt-1)`, at most `max`, minus up to
/// half of it at random so that many connectors do not retry in step.
pub fn backoff(config: &ReconnectConfig, attempt: u32) -> Duration {
    let base = config
        .min
        .0
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(config.max.0);
    base.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// Drives `connector` until `cancel`: connects with back-off, reconnects when `lost` receives a
/// reason, publishes whether it is connected on `connected`, and stops it at the end.
pub async fn supervise(
    connector: Arc<ConnectorHandle>,
    status: Arc<ConnectorStatus>,
    reconnect: ReconnectConfig,
    hooks: Arc<dyn Hooks>,
    connected: watch::Sender<bool>,
    mut lost: mpsc::Receiver<String>,
    cancel: CancellationToken,
) {
    let mut started = false;
    let mut attempt = 0u32;
    'life: loop {
        status.set(State::Connecting);
        // Reports left from the previous session are about a connection that is gone; a loss
        // reported from here on (during `connect` or the subscriptions) is about this one.
        while lost.try_recv().is_ok() {}
        let call = async {
            let r = if started {
                connector.connect().await
            } else {
                connector.start().await
            };
            match r {
                Ok(()) => {
                    started = true;
                    let hooked = hooks.connected().await;
                    if hooked.is_err() {
                        // Connected but not usable (a subscription failed): start clean next time.
                        let _ = connector.disconnect().await;
                    }
                    hooked
                }
                Err(e) => Err(e),
            }
        };
        let result = tokio::select! {
            () = cancel.cancelled() => break 'life,
            r = call => r,
        };
        match result {
            Ok(()) => {
                attempt = 0;
                bump(&status.counters.connects, 1);
                status.ok();
                status.set(State::Connected);
                tracing::info!("connected");
                let _ = connected.send(true);
                let reason = tokio::select! {
                    () = cancel.cancelled() => break 'life,
                    Some(r) = lost.recv() => r,
                };
                let _ = connected.send(false);
                tracing::warn!("connection lost ({reason}): reconnecting");
                status.error(format!("connection lost: {reason}"));
                if let Err(e) = connector.disconnect().await {
                    tracing::debug!("disconnect after loss: {e}");
                }
            }
            Err(e) => {
                bump(&status.counters.connect_failures, 1);
                status.error(e.to_string());
                if let crate::connector::ConnectorError::Quarantined { .. } = e {
                    status.set(State::Quarantined);
                    cancel.cancelled().await;
                    break 'life;
                }
                if !e.is_retryable() {
                    tracing::error!("{e}: not retried; fix the configuration and restart it");
                    status.set(State::Failed);
                    cancel.cancelled().await;
                    break 'life;
                }
                tracing::warn!("{e}");
            }
        }
        attempt += 1;
        let delay = backoff(&reconnect, attempt);
        status.set(State::Backoff);
        tracing::info!("next connection attempt in {delay:?}");
        tokio::select! {
            () = cancel.cancelled() => break 'life,
            () = tokio::time::sleep(delay) => {}
        }
    }
    let _ = connected.send(false);
    status.set(State::Stopping);
    if started {
        hooks.stopping().await;
        if let Err(e) = connector.stop().await {
            tracing::warn!("{e}");
            status.error(e.to_string());
        }
    }
    status.set(State::Stopped);
    tracing::info!("stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Dur;

    #[test]
    fn backoff_doubles_up_to_max_with_jitter() {
        let c = ReconnectConfig {
            min: Dur::millis(100),
            max: Dur::secs(1),
        };
        for _ in 0..50 {
            let d1 = backoff(&c, 1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = backoff(&c, 3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d30 = backoff(&c, 30);
            assert!(d30 >= Duration::from_millis(500) && d30 <= Duration::from_secs(1));
        }
    }
}
