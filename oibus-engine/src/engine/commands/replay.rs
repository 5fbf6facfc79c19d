//! A North sent again what the Souths' logs retain since an instant (a replay).

use super::{
    refusal::CommandError,
    request::{Replayed, ReplayedLog},
};
use crate::engine::running::Engine;
use oibus_plugin_api::Timestamp;

/// Moves North `id`'s cursor in every log it reads (or only South `south`'s) back to the
/// first entry appended at `since` or later; replies with what it will send again.
pub(super) fn replay(
    engine: &Engine,
    id: String,
    since: Timestamp,
    south: Option<String>,
    reply: tokio::sync::oneshot::Sender<Result<Replayed, CommandError>>,
) {
    let Some(queue) = engine.queues.get(&id).cloned() else {
        let _ = reply.send(Err(CommandError::not_found(format!(
            "no enabled North {id:?}"
        ))));
        return;
    };
    let logs: Vec<_> = queue
        .logs()
        .into_iter()
        .filter(|l| south.as_deref().is_none_or(|s| l.south() == s))
        .collect();
    if logs.is_empty() {
        let _ = reply.send(Err(CommandError::not_found(match south {
            Some(s) => format!("North {id:?} does not receive the values of South {s:?}"),
            None => format!("North {id:?} receives no South's values"),
        })));
        return;
    }
    tokio::spawn(async move {
        let mut replayed = Replayed::default();
        for log in logs {
            match log.rewind(&id, since.as_millis()).await {
                Ok(Some(r)) => {
                    replayed.values += r.values;
                    replayed.logs.push(ReplayedLog {
                        south: log.south().to_string(),
                        values: r.values,
                        from: r.from_ms.map(Timestamp::from_millis),
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = reply.send(Err(CommandError::internal(e)));
                    return;
                }
            }
        }
        tracing::info!(
            north = id,
            "replay from {}: {} value(s) to send again",
            since.to_iso(),
            replayed.values
        );
        queue.arrived.notify_one();
        let _ = reply.send(Ok(replayed));
    });
}
