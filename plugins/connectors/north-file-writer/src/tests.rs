//! Unit tests of the `north-file-writer` connector.

use crate::north::*;
use crate::settings::*;
use oibus_plugin_api::prelude::*;
use std::{fs, path::Path};

use oibus_plugin_api::sdk::testing::TestHost;

fn writer(dir: &Path, prefix: &str, suffix: &str) -> FileWriter {
    writer_with(dir, prefix, suffix, false)
}

fn writer_with(dir: &Path, prefix: &str, suffix: &str, unique_names: bool) -> FileWriter {
    let (ctx, _) = TestHost::new(dir).context("fw");
    FileWriter::new(
        FileWriterSettings {
            output_folder: dir.join("out").to_string_lossy().into_owned(),
            prefix: prefix.into(),
            suffix: suffix.into(),
            unique_names,
            sync: BatchSync::EachFile,
        },
        ctx,
    )
    .unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn values_become_one_json_file_in_oibus_shape() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path(), "pre-", "-suf");
    w.connect().await.unwrap();
    let values = vec![
        OibusValue::new("a", Timestamp::from_millis(1_000), 1.5),
        OibusValue::new("b", Timestamp::from_millis(2_000), "on").with_quality(Quality::Bad),
    ];
    w.handle_values(values.clone()).await.unwrap();
    let files = listing(&dir.path().join("out"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].starts_with("pre-") && files[0].ends_with("-suf.json"),
        "{files:?}"
    );
    let text = fs::read_to_string(dir.path().join("out").join(&files[0])).unwrap();
    let back: Vec<OibusValue> = oibus_plugin_api::serde_json::from_str(&text).unwrap();
    assert_eq!(back, values);
    assert!(text.contains("\"pointId\":\"a\""), "{text}");
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn files_keep_their_name_with_prefix_and_suffix_and_a_resend_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path(), "pre-", "-suf");
    w.connect().await.unwrap();
    let src = dir.path().join("f00041.bin");
    fs::write(&src, b"first").unwrap();
    w.handle_file(&src).await.unwrap();
    fs::write(&src, b"second").unwrap();
    w.handle_file(&src).await.unwrap();
    let noext = dir.path().join("README");
    fs::write(&noext, b"text").unwrap();
    w.handle_file(&noext).await.unwrap();
    let out = dir.path().join("out");
    assert_eq!(listing(&out), ["pre-README-suf", "pre-f00041-suf.bin"]);
    assert_eq!(fs::read(out.join("pre-f00041-suf.bin")).unwrap(), b"second");
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn with_unique_names_files_are_copied_apart_and_no_temp_left() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer_with(dir.path(), "", "", true);
    w.connect().await.unwrap();
    let src = dir.path().join("report.csv");
    fs::write(&src, b"a,b\n1,2\n").unwrap();
    w.handle_file(&src).await.unwrap();
    w.handle_file(&src).await.unwrap();
    let files = listing(&dir.path().join("out"));
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        assert!(f.starts_with("report-") && f.ends_with(".csv"), "{f}");
        assert_eq!(
            fs::read(dir.path().join("out").join(f)).unwrap(),
            b"a,b\n1,2\n"
        );
    }
    assert!(
        src.exists(),
        "the source file belongs to the engine and must stay"
    );
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn a_batch_is_written_whole_under_the_names_and_the_last_of_a_name_wins() {
    for sync in [BatchSync::EachFile, BatchSync::FileSystem] {
        batch_written_whole(sync).await;
    }
}

async fn batch_written_whole(sync: BatchSync) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path(), "", "");
    w.sync = sync;
    w.connect().await.unwrap();
    let mut paths = Vec::new();
    for i in 0..40 {
        let sub = dir.path().join(format!("in/{}", i % 2));
        fs::create_dir_all(&sub).unwrap();
        // Two folders: every name but one comes twice, the later one must win.
        let name = format!("f{:02}.bin", i / 2);
        fs::write(sub.join(&name), format!("{i}")).unwrap();
        paths.push(sub.join(name));
    }
    w.handle_files(&paths).await.unwrap();
    let out = dir.path().join("out");
    let files = listing(&out);
    assert_eq!(files.len(), 20, "{files:?}");
    for (k, f) in files.iter().enumerate() {
        assert_eq!(
            fs::read_to_string(out.join(f)).unwrap(),
            format!("{}", 2 * k + 1)
        );
    }
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn a_batch_with_a_missing_file_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path(), "", "");
    w.connect().await.unwrap();
    let there = dir.path().join("there.bin");
    fs::write(&there, "x").unwrap();
    let gone = dir.path().join("gone.bin");
    let e = w.handle_files(&[there, gone]).await.unwrap_err();
    assert!(e.message().contains("gone.bin"), "{e}");
}

#[tokio::test(crate = "oibus_plugin_api::tokio")]
async fn unwritable_folder_fails_test_connection_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("out"), b"a file, not a folder").unwrap();
    let mut w = writer(dir.path(), "", "");
    let e = w.test_connection().await.unwrap_err();
    assert!(e.message().contains("output_folder"), "{e}");
}
