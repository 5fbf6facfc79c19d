//! Which files the items take now.
//!
//! A file is taken by the first item whose regular expression matches its name, once it is
//! *ready*: older than the item's minimum age by its modification time (allowing for the time's
//! precision), or seen by the gateway with the same size and time for at least that long. The
//! second rule makes a remote folder safe whatever its clock says (behind, ahead, or minutes
//! coarse), and the first keeps old files from waiting a scan.

use crate::listing::{FileStamp, Listed, check_name};
use crate::sent::SentFiles;
use crate::settings::{AfterRead, ItemSettings};
use oibus_plugin_api::prelude::*;
use regex::Regex;
use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

/// A file chosen by a scan, with what to do once the engine has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The file's name in its folder.
    pub name: String,
    /// The version chosen.
    pub stamp: FileStamp,
    /// What happens to it once sent.
    pub after_read: AfterRead,
}

/// Chooses the files of a listing; remembers since when each file has looked the same.
#[derive(Default)]
pub struct Selector {
    regexes: HashMap<String, Regex>,
    seen: HashMap<String, (FileStamp, Instant)>,
    /// Names refused (see [`check_name`]) and already logged, of the files still listed.
    refused: HashSet<String>,
}

impl Selector {
    /// A selector that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The compiled regular expression of `item`, or an error naming the item.
    pub fn regex(&mut self, item: &SouthItem<ItemSettings>) -> Result<&Regex> {
        let pattern = &item.settings.regex;
        if !self.regexes.contains_key(pattern) {
            let re = Regex::new(pattern).map_err(|e| {
                PluginError::invalid_settings(format!(
                    "item {:?}: regex {pattern:?} is invalid: {e}",
                    item.name
                ))
            })?;
            self.regexes.insert(pattern.clone(), re);
        }
        Ok(&self.regexes[pattern])
    }

    /// The files of `listing` the items take now, oldest first. `now` is the current time in
    /// nanoseconds since the epoch, `clock` the current instant of the monotonic clock; a file
    /// matched by several items goes with the first; a preserved file already sent in this
    /// version is skipped.
    pub fn choose(
        &mut self,
        listing: &[Listed],
        items: &[SouthItem<ItemSettings>],
        sent: &SentFiles,
        now: i64,
        clock: Instant,
    ) -> Result<Vec<Candidate>> {
        self.observe(listing, clock);
        let mut chosen = Vec::new();
        let mut taken = HashSet::new();
        for item in items {
            let min_age = Duration::from_millis(item.settings.min_age_ms);
            let re = self.regex(item)?.clone();
            for file in listing {
                if taken.contains(&file.name) || !re.is_match(&file.name) {
                    continue;
                }
                // The first item that matches owns the file, even when it is not ready for it
                // yet or skips it: a later item never takes it with other rules.
                taken.insert(file.name.clone());
                if !self.ready(file, min_age, now, clock) {
                    continue;
                }
                if let AfterRead::Preserve {
                    ignore_modified_date,
                } = item.settings.after_read
                    && sent.already_sent(&file.name, file.stamp, ignore_modified_date)
                {
                    continue;
                }
                chosen.push(Candidate {
                    name: file.name.clone(),
                    stamp: file.stamp,
                    after_read: item.settings.after_read.clone(),
                });
            }
        }
        chosen.sort_by(|a, b| (a.stamp.modified, &a.name).cmp(&(b.stamp.modified, &b.name)));
        Ok(chosen)
    }

    /// Forgets how long `name` has looked the same (it changed while it was read).
    pub fn forget(&mut self, name: &str) {
        self.seen.remove(name);
    }

    /// Notes the stamp of every listed file whose name is safe, logging each refused name once
    /// while it is listed; files gone from the folder are forgotten.
    fn observe(&mut self, listing: &[Listed], clock: Instant) {
        let mut seen = HashMap::with_capacity(listing.len());
        let mut refused = HashSet::new();
        for file in listing {
            if let Err(e) = check_name(&file.name) {
                if !self.refused.contains(&file.name) {
                    tracing::warn!("{e}; the file is left where it is");
                }
                refused.insert(file.name.clone());
                continue;
            }
            let since = match self.seen.get(&file.name) {
                Some(&(stamp, since)) if stamp == file.stamp => since,
                _ => clock,
            };
            seen.insert(file.name.clone(), (file.stamp, since));
        }
        self.seen = seen;
        self.refused = refused;
    }

    /// Whether `file` may be taken now (a refused name never is: it was not observed).
    fn ready(&self, file: &Listed, min_age: Duration, now: i64, clock: Instant) -> bool {
        let Some(&(_, since)) = self.seen.get(&file.name) else {
            return false;
        };
        let min_age_ns = i64::try_from(min_age.as_nanos()).unwrap_or(i64::MAX);
        let old_enough =
            file.stamp.modified > 0 && now.saturating_sub(file.latest_modification()) >= min_age_ns;
        let steady = clock.saturating_duration_since(since) >= min_age;
        old_enough || steady
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn file(name: &str, modified: i64, size: u64, precision: i64) -> Listed {
        Listed::new(name.into(), FileStamp { modified, size }, precision)
    }

    fn item(regex: &str, min_age_ms: u64, after_read: AfterRead) -> SouthItem<ItemSettings> {
        SouthItem {
            name: "files".into(),
            enabled: true,
            scan_mode: "every-second".into(),
            settings: ItemSettings {
                regex: regex.into(),
                min_age_ms,
                after_read,
            },
        }
    }

    fn names(c: &[Candidate]) -> Vec<&str> {
        c.iter().map(|c| c.name.as_str()).collect()
    }

    fn sent() -> (tempfile::TempDir, SentFiles) {
        let dir = tempfile::tempdir().unwrap();
        let sent = SentFiles::load(dir.path()).unwrap();
        (dir, sent)
    }

    #[test]
    fn old_files_are_taken_at_once_oldest_first_and_young_ones_wait() {
        let (_d, sent) = sent();
        let mut sel = Selector::new();
        let now = 1_000 * S;
        let listing = [
            file("b.csv", now - 10 * S, 1, 0),
            file("a.csv", now - 20 * S, 1, 0),
            file("young.csv", now - S / 2, 1, 0),
            file("other.txt", now - 20 * S, 1, 0),
        ];
        let items = [item(r"\.csv$", 1000, AfterRead::Delete)];
        let t0 = Instant::now();
        let c = sel.choose(&listing, &items, &sent, now, t0).unwrap();
        assert_eq!(names(&c), ["a.csv", "b.csv"]);
    }

    #[test]
    fn a_coarse_time_counts_as_its_latest_possible_instant() {
        let (_d, sent) = sent();
        let mut sel = Selector::new();
        let now = 1_000 * S;
        // Listed as "hh:mm": modified somewhere in the minute that began 30 s ago.
        let listing = [file("a.csv", now - 30 * S, 1, 60 * S)];
        let items = [item(".*", 1000, AfterRead::Delete)];
        let t0 = Instant::now();
        assert!(
            sel.choose(&listing, &items, &sent, now, t0)
                .unwrap()
                .is_empty()
        );
        let later = now + 31 * S;
        assert!(
            !sel.choose(&listing, &items, &sent, later, t0)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_file_from_the_future_is_taken_once_it_has_looked_the_same_for_the_minimum_age() {
        let (_d, sent) = sent();
        let mut sel = Selector::new();
        let now = 1_000 * S;
        // A server whose clock is an hour ahead.
        let listing = [file("a.csv", now + 3600 * S, 5, S)];
        let items = [item(".*", 1000, AfterRead::Delete)];
        let t0 = Instant::now();
        assert!(
            sel.choose(&listing, &items, &sent, now, t0)
                .unwrap()
                .is_empty()
        );
        let t1 = t0 + Duration::from_millis(600);
        assert!(
            sel.choose(&listing, &items, &sent, now, t1)
                .unwrap()
                .is_empty()
        );
        // It grew: the wait starts again.
        let grown = [file("a.csv", now + 3600 * S, 9, S)];
        let t2 = t0 + Duration::from_millis(1200);
        assert!(
            sel.choose(&grown, &items, &sent, now, t2)
                .unwrap()
                .is_empty()
        );
        let t3 = t2 + Duration::from_millis(1000);
        assert_eq!(
            names(&sel.choose(&grown, &items, &sent, now, t3).unwrap()),
            ["a.csv"]
        );
        // Forgotten (changed while read): it waits again.
        sel.forget("a.csv");
        assert!(
            sel.choose(&grown, &items, &sent, now, t3)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_file_matched_by_two_items_goes_with_the_first_and_preserved_files_go_once() {
        let (_d, mut sent) = sent();
        let mut sel = Selector::new();
        let now = 1_000 * S;
        let listing = [file("a.csv", now - 10 * S, 1, 0)];
        let keep = AfterRead::Preserve {
            ignore_modified_date: false,
        };
        let items = [
            item("a", 0, keep.clone()),
            item("csv", 0, AfterRead::Delete),
        ];
        let c = sel
            .choose(&listing, &items, &sent, now, Instant::now())
            .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].after_read, keep);
        sent.record("a.csv", listing[0].stamp);
        // Preserved and unchanged: the first item skips it, and the second may not delete it.
        let c = sel
            .choose(&listing, &items, &sent, now, Instant::now())
            .unwrap();
        assert!(c.is_empty());
    }

    #[test]
    fn a_name_that_would_leave_the_folder_is_never_taken() {
        let (_d, sent) = sent();
        let mut sel = Selector::new();
        let now = 1_000 * S;
        let listing = [
            file("../escape.csv", now - 10 * S, 1, 0),
            file("a\\b.csv", now - 10 * S, 1, 0),
            file("ok.csv", now - 10 * S, 1, 0),
        ];
        let items = [item(".*", 0, AfterRead::Delete)];
        for _ in 0..2 {
            let c = sel
                .choose(&listing, &items, &sent, now, Instant::now())
                .unwrap();
            assert_eq!(names(&c), ["ok.csv"]);
        }
        assert_eq!(sel.refused.len(), 2);
    }

    #[test]
    fn a_file_not_ready_for_its_first_item_is_not_taken_by_a_later_one() {
        let (_d, sent) = sent();
        let mut sel = Selector::new();
        let now = 1_000 * S;
        let listing = [file("x.csv", now - 2 * S, 1, 0)];
        let items = [
            item(
                r"\.csv$",
                60_000,
                AfterRead::Preserve {
                    ignore_modified_date: false,
                },
            ),
            item(".*", 1000, AfterRead::Delete),
        ];
        let c = sel
            .choose(&listing, &items, &sent, now, Instant::now())
            .unwrap();
        assert!(c.is_empty(), "{c:?}");
    }

    #[test]
    fn an_invalid_regex_names_its_item() {
        let (_d, sent) = sent();
        let e = Selector::new()
            .choose(
                &[],
                &[item("(", 0, AfterRead::Delete)],
                &sent,
                0,
                Instant::now(),
            )
            .unwrap_err();
        assert!(e.to_string().contains("item \"files\": regex \"(\""), "{e}");
    }
}
