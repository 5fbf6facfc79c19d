//! The copies of files kept inside the store, written out to a North's `sending/` folder to be
//! handed to the plugin under their real names, and the spare copies whose inodes are reused.
//!
//! A written-out copy is not synced (the store holds the content) and lives only while its
//! file is being sent; `sending/` is emptied when the queue opens. Once a copy has been sent,
//! its inode is kept as a spare (`sending/spare-<n>`, at most [`SPARES`]) and the next copy is
//! written into it and linked under its name: a file then costs neither an inode allocation nor
//! the freeing of its blocks. Spares are removed once the North has no file left to send. Both
//! dominated the small-file path on a file system without a journal mounted with `discard`
//! (each freed block discarded synchronously; BENCHMARKS.md).

use super::slots::{copy_into_slot, place_in_slot};
use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Mutex,
};

/// The folder of a North's files folder where files kept inside the store are written out.
pub(super) const SENDING: &str = "sending";

/// Most spare copies a North keeps (about a batch of `max_send_files`).
pub(super) const SPARES: usize = 64;

/// The written-out copies of one North's queue.
pub(super) struct Sending {
    dir: PathBuf,
    spares: Mutex<Spares>,
}

#[derive(Default)]
struct Spares {
    free: Vec<PathBuf>,
    next: u64,
}

impl Sending {
    /// The `sending/` folder of `files_dir`, emptied (what an earlier process wrote out is not
    /// needed: the store holds every such file).
    pub(super) fn open(files_dir: &Path) -> std::io::Result<Self> {
        let dir = files_dir.join(SENDING);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(Self {
            dir,
            spares: Mutex::new(Spares::default()),
        })
    }

    fn spares(&self) -> std::sync::MutexGuard<'_, Spares> {
        self.spares.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `content` out as a file called `name` in the first slot folder of `sending/`
    /// without one, into a spare copy when there is one; returns its path.
    pub(super) fn write_out(&self, name: &str, content: &[u8]) -> std::io::Result<PathBuf> {
        let spare = self.spares().free.pop();
        if let Some(spare) = spare {
            match self.reuse(&spare, name, content) {
                Ok(path) => return Ok(path),
                Err(e) => {
                    tracing::debug!("spare copy {} not reused: {e}", spare.display());
                    let _ = std::fs::remove_file(&spare);
                }
            }
        }
        copy_into_slot(&self.dir, name, false, |out| {
            out.write_all(content).map(|()| content.len() as u64)
        })
        .map(|(path, _)| path)
    }

    /// Overwrites `spare` with `content` and links it as `name` in the first slot folder
    /// without a file of that name (a link fails rather than replace one), then drops the
    /// spare's own name.
    fn reuse(&self, spare: &Path, name: &str, content: &[u8]) -> std::io::Result<PathBuf> {
        let mut f = std::fs::OpenOptions::new().write(true).open(spare)?;
        f.write_all(content)?;
        f.set_len(content.len() as u64)?;
        drop(f);
        let (target, ()) = place_in_slot(&self.dir, name, false, |target| {
            std::fs::hard_link(spare, target)
        })?;
        std::fs::remove_file(spare)?;
        Ok(target)
    }

    /// The written-out copy at `path` is no longer needed (sent, or set apart with its content
    /// in the store): kept as a spare, or removed when there are enough.
    pub(super) fn done(&self, path: &Path) {
        let mut spares = self.spares();
        if spares.free.len() < SPARES {
            let spare = self.dir.join(format!("spare-{}", spares.next));
            if std::fs::rename(path, &spare).is_ok() {
                spares.next += 1;
                spares.free.push(spare);
                return;
            }
        }
        drop(spares);
        if let Err(e) = std::fs::remove_file(path) {
            tracing::warn!("cannot remove sent file {}: {e}", path.display());
        }
    }

    /// Removes the spare copies (the North has nothing more to send: their disk space is
    /// given back, and the next burst starts with new ones).
    pub(super) fn drop_spares(&self) {
        let free = std::mem::take(&mut self.spares().free);
        for spare in free {
            let _ = std::fs::remove_file(spare);
        }
    }

    /// Whether `path` is a copy written out here.
    pub(super) fn holds(&self, path: &Path) -> bool {
        path.starts_with(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_copy_is_reused_for_the_next_file_under_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sending::open(dir.path()).unwrap();
        let a = s.write_out("a.csv", b"first content\n").unwrap();
        assert_eq!(a, dir.path().join("sending/0/a.csv"));
        s.done(&a);
        assert!(!a.exists());
        // Shorter content in the reused inode: nothing of the old one is left.
        let b = s.write_out("b.csv", b"b\n").unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"b\n");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sending"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["0"], "the spare's own name is gone");
        // A name still handed out goes to the next slot, the first copy untouched.
        let b2 = s.write_out("b.csv", b"again\n").unwrap();
        assert_eq!(b2, dir.path().join("sending/1/b.csv"));
        assert_eq!(std::fs::read(&b).unwrap(), b"b\n");
    }

    #[test]
    fn spares_are_bounded_given_back_when_idle_and_the_folder_is_emptied_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sending::open(dir.path()).unwrap();
        let copies: Vec<_> = (0..SPARES + 5)
            .map(|i| s.write_out(&format!("f{i}"), b"x").unwrap())
            .collect();
        for c in &copies {
            s.done(c);
        }
        let count = |d: &Path| std::fs::read_dir(d).map_or(0, |r| r.count());
        // The spares, plus the slot folder 0 (now empty).
        assert_eq!(count(&dir.path().join("sending")), SPARES + 1);
        assert_eq!(count(&dir.path().join("sending/0")), 0);
        s.drop_spares();
        assert_eq!(count(&dir.path().join("sending")), 1);
        s.done(&s.write_out("g", b"y").unwrap());
        drop(s);
        let _s = Sending::open(dir.path()).unwrap();
        assert!(!dir.path().join("sending").exists());
    }
}
