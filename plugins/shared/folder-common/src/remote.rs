//! Collecting from a folder on a server: the [`RemoteFolder`] a protocol provides, and the
//! [`Collector`] that applies the items' rules to it.
//!
//! Each chosen file is downloaded into the connector's state folder under its own name, then
//! checked: if its size or modification time changed while it was read, or fewer or more bytes
//! came than were listed, the copy is discarded and the file is taken at a later scan, once it
//! is steady again; a file still being written is never sent half-written. Only once the engine
//! holds its own durable copy is the original deleted, moved or recorded as sent, so a crash or
//! a lost connection at any moment never loses a file: at worst it is sent twice.

use crate::listing::{FileStamp, Listed};
use crate::select::{Candidate, Selector};
use crate::sent::SentFiles;
use crate::settings::{AfterRead, ItemSettings};
use oibus_plugin_api::{ErrorKind, prelude::*};
use std::{
    fs,
    future::Future,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A folder on a server, as the [`Collector`] uses it. The implementation bounds every call in
/// time and returns [`PluginError::connection_lost`] when the connection is gone, so that the
/// engine reconnects.
pub trait RemoteFolder: Send {
    /// The regular files of the folder (not folders, not links to folders).
    fn list(&mut self) -> impl Future<Output = Result<Vec<Listed>>> + Send;

    /// The stamp of the file `name` now, as [`RemoteFolder::list`] would give it, or `None` once
    /// it is gone.
    fn stat(&mut self, name: &str) -> impl Future<Output = Result<Option<FileStamp>>> + Send;

    /// Copies the file `name` into the local file `to` (created or truncated), `limit` bytes
    /// at most (a file that grows without end, or a server that streams forever, cannot fill
    /// the disk); returns the number of bytes written.
    fn download(
        &mut self,
        name: &str,
        to: &Path,
        limit: u64,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Deletes the file `name`.
    fn remove(&mut self, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// Moves the file `name` into the server's folder `folder` (created if missing), never
    /// overwriting a file there: if one of that name exists, the moved file is given
    /// [`unique_name`] instead.
    fn move_into(&mut self, name: &str, folder: &str) -> impl Future<Output = Result<()>> + Send;
}

/// Copies `from` into `to` until the end, failing with [`std::io::ErrorKind::TimedOut`] when no
/// byte comes for `idle` (a transfer that stalls, where a bound on the whole copy would cut
/// large files short); returns the number of bytes copied.
pub async fn copy_until_idle<R, W>(from: &mut R, to: &mut W, idle: Duration) -> std::io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = tokio::time::timeout(idle, from.read(&mut buf))
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no data for {} ms", idle.as_millis()),
                )
            })??;
        if n == 0 {
            to.flush().await?;
            return Ok(total);
        }
        to.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// `name` in the server's folder `folder`, with `/` between them (as FTP and SFTP servers write
/// paths, Windows ones included).
pub fn join(folder: &str, name: &str) -> String {
    if folder.ends_with('/') {
        format!("{folder}{name}")
    } else {
        format!("{folder}/{name}")
    }
}

/// The name a moved file takes when its own is already used in the destination:
/// `<nanoseconds since the epoch>-<name>`, as the local folder scanner does.
pub fn unique_name(name: &str) -> String {
    format!("{}-{name}", Timestamp::now().as_nanos())
}

/// Applies the items' rules to a [`RemoteFolder`]: chooses, downloads, checks, hands over and
/// releases files. One per connector; it keeps the record of preserved files sent.
pub struct Collector {
    ctx: Context,
    selector: Selector,
    sent: SentFiles,
    staging: PathBuf,
}

impl Collector {
    /// A collector for the connector of `ctx`. Its downloads go to `<state>/download/`, emptied
    /// here of any copy a crash left behind.
    pub fn new(ctx: Context) -> Result<Self> {
        let state = ctx.state_dir();
        let sent = SentFiles::load(&state)?;
        let staging = state.join("download");
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(|e| {
                PluginError::transient(format!("cannot empty {}: {e}", staging.display()))
            })?;
        }
        fs::create_dir_all(&staging).map_err(|e| {
            PluginError::transient(format!("cannot create {}: {e}", staging.display()))
        })?;
        Ok(Self {
            ctx,
            selector: Selector::new(),
            sent,
            staging,
        })
    }

    /// The selector, to check an item's settings.
    pub fn selector(&mut self) -> &mut Selector {
        &mut self.selector
    }

    /// One scan: every file of `folder` the items take now is sent, oldest first. A file that
    /// fails is logged and the others go on; the first error is returned at the end, except a
    /// lost connection, returned at once.
    pub async fn collect<F: RemoteFolder>(
        &mut self,
        folder: &mut F,
        items: &[SouthItem<ItemSettings>],
    ) -> Result<()> {
        let listing = folder.list().await?;
        let now = Timestamp::now().as_nanos();
        let candidates = self
            .selector
            .choose(&listing, items, &self.sent, now, Instant::now())?;
        if !candidates.is_empty() {
            tracing::debug!("{} file(s) to send", candidates.len());
        }
        let mut first_error = None;
        for c in &candidates {
            if let Err(e) = self.take(folder, c).await {
                tracing::warn!("{}: {e}", c.name);
                if e.kind == ErrorKind::CONNECTION_LOST {
                    self.sent.save()?;
                    return Err(e);
                }
                first_error.get_or_insert(e);
            }
        }
        self.sent.save()?;
        first_error.map_or(Ok(()), Err)
    }

    /// Downloads, checks, hands over and releases one file; the local copy is removed whatever
    /// happens.
    async fn take<F: RemoteFolder>(&mut self, folder: &mut F, c: &Candidate) -> Result<()> {
        let staged = self.staging.join(&c.name);
        let outcome = self.take_staged(folder, c, &staged).await;
        if let Err(e) = fs::remove_file(&staged)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove the copy {}: {e}", staged.display());
        }
        outcome
    }

    async fn take_staged<F: RemoteFolder>(
        &mut self,
        folder: &mut F,
        c: &Candidate,
        staged: &Path,
    ) -> Result<()> {
        // One byte more than listed tells that the file grew, without reading all it grew by.
        let limit = c.stamp.size.saturating_add(1);
        let bytes = folder.download(&c.name, staged, limit).await?;
        let after = folder.stat(&c.name).await?;
        if bytes != c.stamp.size || after != Some(c.stamp) {
            tracing::info!(
                "{}: changed while it was read ({} bytes listed, {bytes} read, now {}): taken \
                 once it is steady",
                c.name,
                c.stamp.size,
                after.map_or("gone".to_string(), |s| format!("{} bytes", s.size)),
            );
            self.selector.forget(&c.name);
            return Ok(());
        }
        self.ctx.add_file(staged).await?;
        match &c.after_read {
            AfterRead::Delete => folder.remove(&c.name).await,
            AfterRead::Preserve { .. } => {
                self.sent.record(&c.name, c.stamp);
                Ok(())
            }
            AfterRead::Move { folder: to } => folder.move_into(&c.name, to).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(crate = "oibus_plugin_api::tokio")]
    async fn a_copy_goes_to_the_end_and_a_stalled_one_fails() {
        let data = vec![7u8; 200_000];
        let mut out = Vec::new();
        let n = copy_until_idle(&mut data.as_slice(), &mut out, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!((n, out), (200_000, data));
        // A reader that gives 3 bytes then nothing.
        let (mut tx, mut rx) = tokio::io::duplex(16);
        tx.write_all(b"abc").await.unwrap();
        let mut out = Vec::new();
        let e = copy_until_idle(&mut rx, &mut out, Duration::from_millis(100))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(out, b"abc");
        drop(tx);
    }
}
