//! The real loader on real plugin files: everything loads, and each kind of bad file is refused
//! with one line naming the file and the reason, without stopping the others.

use oibus_engine::loader::{PluginRegistry, PluginReport, PluginStatus};
use oibus_plugin_api::{API_VERSION, Capability, ConnectorKind};
use oibus_tests::{PRODUCT_PLUGINS, copy_plugin, library, library_name, plugin_folder};
use std::{fs, path::Path};

fn discover(dir: &Path) -> (PluginRegistry, Vec<PluginReport>, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let (registry, reports) = PluginRegistry::discover(
        dir,
        &oibus_engine::loader::LoadOptions::unchecked(cache.path()),
    )
    .unwrap();
    (registry, reports, cache)
}

fn report<'a>(reports: &'a [PluginReport], file: &str) -> &'a PluginReport {
    reports
        .iter()
        .find(|r| r.file.file_name().unwrap() == file)
        .unwrap_or_else(|| panic!("no report for {file}: {reports:#?}"))
}

fn refusal(reports: &[PluginReport], file: &str) -> String {
    match &report(reports, file).status {
        PluginStatus::Refused { reason } => reason.clone(),
        other => panic!("{file} is {other:?}, expected a refusal"),
    }
}

#[test]
fn the_four_product_plugins_load_with_their_manifests() {
    let dir = plugin_folder(PRODUCT_PLUGINS);
    let (registry, reports, _cache) = discover(dir.path());
    assert_eq!(reports.len(), 4);
    for r in &reports {
        assert!(matches!(r.status, PluginStatus::Ok), "{r:?}");
        assert_eq!(r.manifest.as_ref().unwrap().api_version, API_VERSION);
    }
    let (_, sim) = registry.connector_type("simulator").unwrap();
    assert_eq!(sim.kind, ConnectorKind::South);
    assert_eq!(
        sim.capabilities,
        [
            Capability::QueriesLastPoint,
            Capability::QueriesHistory,
            Capability::QueriesSubscription,
            Capability::TestsItem
        ]
    );
    assert!(sim.item_schema.is_some());
    let (_, fw) = registry.connector_type("file-writer").unwrap();
    assert_eq!(
        fw.capabilities,
        [
            Capability::HandlesValues,
            Capability::HandlesFile,
            Capability::HandlesFileBatches
        ]
    );
    assert!(
        fw.settings_schema.to_string().contains("output_folder"),
        "{}",
        fw.settings_schema
    );
    let (_, scanner) = registry.connector_type("folder-scanner").unwrap();
    assert_eq!(scanner.capabilities, [Capability::QueriesFile]);
    assert!(registry.connector_type("console").is_some());
}

#[test]
fn every_bad_file_is_refused_with_its_reason_and_the_others_still_load() {
    let dir = plugin_folder(PRODUCT_PLUGINS);
    let d = dir.path();
    // Random bytes named like a library.
    let noise: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    fs::write(d.join("x.so"), noise).unwrap();
    // A real plugin cut short, as an interrupted copy leaves it.
    let whole = fs::read(library("oibus_north_console")).unwrap();
    fs::write(d.join("truncated.so"), &whole[..whole.len() / 3]).unwrap();
    // A real shared library that is not an oibus plugin.
    copy_plugin("oibus_test_not_a_plugin", d);
    // A plugin built for a newer API minor than this engine's.
    copy_plugin("oibus_test_newer_api", d);
    // The same plugin under another name: the same library, so both rows are ok. The same
    // version with other content (a byte appended): refused as a duplicate.
    fs::copy(
        library("oibus_north_file_writer"),
        d.join("zz-file-writer-copy.so"),
    )
    .unwrap();
    let mut other = fs::read(library("oibus_north_file_writer")).unwrap();
    other.push(0);
    fs::write(d.join("zz-file-writer-other.so"), other).unwrap();
    // Not a library extension: ignored.
    fs::write(d.join("README.txt"), "not a plugin").unwrap();

    let (registry, reports, _cache) = discover(d);
    assert_eq!(reports.len(), 10, "{reports:#?}");
    for base in PRODUCT_PLUGINS {
        let r = report(&reports, &library_name(base));
        assert!(matches!(r.status, PluginStatus::Ok), "{r:?}");
    }
    assert_eq!(registry.plugins().count(), 4);

    let reason = refusal(&reports, "x.so");
    assert!(reason.contains("not a shared library"), "{reason}");

    let reason = refusal(&reports, "truncated.so");
    assert!(reason.contains("truncated"), "{reason}");

    let reason = refusal(&reports, &library_name("oibus_test_not_a_plugin"));
    assert!(reason.contains("not an oibus plugin"), "{reason}");

    let newer = refusal(&reports, &library_name("oibus_test_newer_api"));
    let host = semver::Version::parse(API_VERSION).unwrap();
    let wanted = semver::Version::new(host.major, host.minor + 1, 0);
    assert!(
        newer.contains(&wanted.to_string()) && newer.contains(API_VERSION),
        "names both versions: {newer}"
    );
    assert!(
        newer.contains("oibus-test-newer-api"),
        "names the plugin: {newer}"
    );
    assert!(newer.contains("upgrade the engine"), "{newer}");
    let declared = &report(&reports, &library_name("oibus_test_newer_api")).declared;
    assert_eq!(
        declared.as_deref(),
        Some("oibus-test-newer-api 0.1.0"),
        "the declaration names the plugin even though its manifest was never read"
    );

    assert!(
        matches!(
            report(&reports, "zz-file-writer-copy.so").status,
            PluginStatus::Ok
        ),
        "{reports:#?}"
    );
    let dup = refusal(&reports, "zz-file-writer-other.so");
    assert!(
        dup.contains("version 0.1.0 is already loaded from") && dup.contains("other content"),
        "{dup}"
    );
}

#[test]
fn the_loaded_code_is_a_shadow_copy_so_the_original_can_be_replaced() {
    let dir = plugin_folder(&["oibus_north_console"]);
    let cache = tempfile::tempdir().unwrap();
    let (registry, _) = PluginRegistry::discover(
        dir.path(),
        &oibus_engine::loader::LoadOptions::unchecked(cache.path()),
    )
    .unwrap();
    let plugin = registry.plugins().next().unwrap();
    let shadow = plugin.shadow_path().to_path_buf();
    assert!(shadow.starts_with(cache.path()));
    assert!(
        shadow
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(plugin.sha256())
    );
    // Overwrite the original while loaded: the shadow copy is untouched.
    let original = dir.path().join(library_name("oibus_north_console"));
    fs::write(&original, b"replaced").unwrap();
    assert_eq!(fs::metadata(&shadow).unwrap().len(), plugin.size());
}

#[test]
fn an_unreadable_folder_is_an_error() {
    let cache = tempfile::tempdir().unwrap();
    let missing = cache.path().join("no-such-folder");
    let e = PluginRegistry::discover(
        &missing,
        &oibus_engine::loader::LoadOptions::unchecked(cache.path()),
    )
    .err()
    .expect("error");
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn a_large_file_that_is_no_library_is_refused_from_its_headers_without_being_copied() {
    let dir = tempfile::tempdir().unwrap();
    let f = fs::File::create(dir.path().join("zeros.so")).unwrap();
    f.set_len(200 << 20).unwrap(); // 200 MB of zeros (sparse: nothing to write)
    let (_, reports, cache) = discover(dir.path());
    assert!(
        refusal(&reports, "zeros.so").contains("not a shared library"),
        "{reports:?}"
    );
    let copies: Vec<_> = fs::read_dir(cache.path())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        copies.is_empty(),
        "copied before its headers were checked: {copies:?}"
    );
}

#[test]
fn a_library_for_another_architecture_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = fs::read(library("oibus_north_console")).unwrap();
    // ELF e_machine (bytes 18-19): the host's, replaced by the other of x86-64 / AArch64.
    assert_eq!(&bytes[..4], b"\x7fELF", "an ELF host");
    let other: u16 = if std::env::consts::ARCH == "aarch64" {
        62
    } else {
        183
    };
    bytes[18..20].copy_from_slice(&other.to_le_bytes());
    fs::write(dir.path().join("foreign.so"), &bytes).unwrap();
    let (_, reports, _cache) = discover(dir.path());
    let reason = refusal(&reports, "foreign.so");
    let (foreign, host) = if other == 183 {
        ("Aarch64", "X86_64")
    } else {
        ("X86_64", "Aarch64")
    };
    assert!(
        reason.contains(foreign) && reason.contains(host),
        "{reason}"
    );
}
