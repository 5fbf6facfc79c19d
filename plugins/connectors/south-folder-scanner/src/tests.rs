use super::*;
use crate::{AfterRead, ItemSettings, ScannerSettings};
use std::{fs, path::PathBuf};

use oibus_plugin_api::sdk::testing::{Recorded, TestHost};
use std::sync::Arc;

struct Setup {
    _dir: tempfile::TempDir,
    input: PathBuf,
    state: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let state = dir.path().join("state");
    fs::create_dir_all(&input).unwrap();
    Setup {
        input,
        state,
        _dir: dir,
    }
}

fn scanner(s: &Setup) -> (FolderScanner, Arc<Recorded>) {
    let (ctx, rec) = TestHost::new(&s.state).context("scan");
    let settings = ScannerSettings {
        input_folder: s.input.to_string_lossy().into_owned(),
    };
    (FolderScanner::new(settings, ctx).unwrap(), rec)
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

fn names(rec: &Recorded) -> Vec<String> {
    let mut v: Vec<String> = rec
        .files()
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn matching_files_are_sent_then_deleted() {
    let s = setup();
    fs::write(s.input.join("a.csv"), b"1").unwrap();
    fs::write(s.input.join("b.csv"), b"22").unwrap();
    fs::write(s.input.join("c.txt"), b"333").unwrap();
    let (mut sc, rec) = scanner(&s);
    sc.file_query(&[item(r"\.csv$", 0, AfterRead::Delete)])
        .await
        .unwrap();
    assert_eq!(names(&rec), ["a.csv", "b.csv"]);
    let contents: Vec<Vec<u8>> = rec.files().into_iter().map(|(_, b)| b).collect();
    assert!(contents.contains(&b"22".to_vec()));
    assert!(!s.input.join("a.csv").exists() && !s.input.join("b.csv").exists());
    assert!(
        s.input.join("c.txt").exists(),
        "non-matching file left alone"
    );
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn young_files_wait_for_min_age() {
    let s = setup();
    fs::write(s.input.join("fresh.csv"), b"x").unwrap();
    let (mut sc, rec) = scanner(&s);
    sc.file_query(&[item(".*", 60_000, AfterRead::Delete)])
        .await
        .unwrap();
    assert!(rec.files().is_empty());
    assert!(s.input.join("fresh.csv").exists());
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn preserved_files_are_sent_once_until_modified() {
    let s = setup();
    let f = s.input.join("data.csv");
    fs::write(&f, b"v1").unwrap();
    let preserve = AfterRead::Preserve {
        ignore_modified_date: false,
    };
    let (mut sc, rec) = scanner(&s);
    sc.file_query(&[item(".*", 0, preserve.clone())])
        .await
        .unwrap();
    sc.file_query(&[item(".*", 0, preserve.clone())])
        .await
        .unwrap();
    assert_eq!(rec.files().len(), 1, "sent once");
    assert!(f.exists());
    // A new connector instance (restart) remembers it too.
    drop(sc);
    let (mut sc, rec2) = scanner(&s);
    sc.file_query(&[item(".*", 0, preserve.clone())])
        .await
        .unwrap();
    assert!(rec2.files().is_empty(), "remembered across restarts");
    // Modified: sent again.
    fs::write(&f, b"version 2").unwrap();
    sc.file_query(&[item(".*", 0, preserve)]).await.unwrap();
    assert_eq!(rec2.files()[0].1, b"version 2");
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn moved_files_land_in_the_archive_without_overwriting() {
    let s = setup();
    let archive = s.input.parent().unwrap().join("archive");
    let mv = AfterRead::Move {
        folder: archive.to_string_lossy().into_owned(),
    };
    let (mut sc, rec) = scanner(&s);
    for content in [b"first".as_slice(), b"second"] {
        fs::write(s.input.join("r.csv"), content).unwrap();
        sc.file_query(&[item(".*", 0, mv.clone())]).await.unwrap();
    }
    assert_eq!(rec.files().len(), 2);
    assert!(!s.input.join("r.csv").exists());
    let mut archived: Vec<Vec<u8>> = fs::read_dir(&archive)
        .unwrap()
        .map(|e| fs::read(e.unwrap().path()).unwrap())
        .collect();
    archived.sort();
    assert_eq!(archived, [b"first".to_vec(), b"second".to_vec()]);
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn a_refused_file_is_kept_for_the_next_scan() {
    let s = setup();
    fs::write(s.input.join("keep.csv"), b"x").unwrap();
    let (mut sc, rec) = scanner(&s);
    rec.refuse(Some("cache full"));
    let e = sc
        .file_query(&[item(".*", 0, AfterRead::Delete)])
        .await
        .unwrap_err();
    assert!(e.message().contains("cache full"), "{e}");
    assert!(
        s.input.join("keep.csv").exists(),
        "never deleted before the engine has it"
    );
    rec.refuse(None);
    sc.file_query(&[item(".*", 0, AfterRead::Delete)])
        .await
        .unwrap();
    assert_eq!(names(&rec), ["keep.csv"]);
    assert!(!s.input.join("keep.csv").exists());
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn bad_regex_and_missing_folder_are_named() {
    let s = setup();
    let (mut sc, _) = scanner(&s);
    let e = sc
        .file_query(&[item("(", 0, AfterRead::Delete)])
        .await
        .unwrap_err();
    assert!(
        e.message().contains("regex") && e.message().contains("files"),
        "{e}"
    );
    fs::remove_dir_all(&s.input).unwrap();
    let e = sc.test_connection().await.unwrap_err();
    assert!(e.message().contains("input_folder"), "{e}");
}
