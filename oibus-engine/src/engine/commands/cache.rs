//! A North's cache as a command lists it.

use super::{
    refusal::CommandError,
    request::{CacheContents, CachedEntry},
};
use crate::engine::running::Engine;

pub(super) fn cache_listing(engine: &Engine, id: &str) -> Result<CacheContents, CommandError> {
    let queue = engine
        .queues
        .get(id)
        .ok_or_else(|| CommandError::not_found(format!("no enabled North {id:?}")))?;
    let file = |key: u64, f: crate::cache::FileRecord, set_aside| CachedEntry {
        key,
        file: Some(f.name),
        count: 1,
        bytes: f.size,
        points: Vec::new(),
        set_aside,
    };
    let (values, files) = queue.queued_entries();
    let mut queued: Vec<CachedEntry> = values
        .into_iter()
        .map(|(key, count, bytes)| CachedEntry {
            key,
            file: None,
            count,
            bytes: bytes as u64,
            points: Vec::new(),
            set_aside: None,
        })
        .collect();
    queued.extend(files.into_iter().map(|(k, f)| file(k, f, None)));
    let (batches, files) = queue.error_entries().map_err(CommandError::internal)?;
    let mut errors: Vec<CachedEntry> = batches
        .into_iter()
        .map(|b| CachedEntry {
            key: b.key,
            file: None,
            count: b.count,
            bytes: b.bytes,
            points: b.points,
            set_aside: b.why,
        })
        .collect();
    errors.extend(files.into_iter().map(|f| file(f.key, f.record, f.why)));
    Ok(CacheContents {
        queued,
        errors,
        logs: crate::engine::status::log_snapshots(queue),
    })
}
