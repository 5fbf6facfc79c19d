//! The files pipeline: `cargo bench -p oibus-benches --bench files`.
//!
//! `folder-scanner` (scanning every 100 ms, files taken at once) → the engine's durable cache →
//! `file-writer`, with real plugin files, each run in a fresh process on fresh folders. The
//! input files are made before the engine starts; a run ends when every file is in the output
//! folder, and its time is from the engine's start to the last output file's modification.
//!
//! The same run measures the disk: new files of 1 KiB written and fsynced one after the other
//! (the rate the pipeline would be held to if every file waited for its own fsync), so that the
//! result reads as a ratio to the disk. With `strace` on the machine, one more run of each case
//! under `strace -f -c` counts the fsyncs and renames per file.
//!
//! `OIBUS_BENCH_ROUNDS` (default 3) sets the runs per case; `OIBUS_BENCH_CASES` picks cases by
//! name (`10k,10k-fs,50k,50k-fs,1m`; `-fs`: `file-writer` with `sync = "file-system"`);
//! `OIBUS_BENCH_DIR` puts the folders and the disk's measurement on another file system than
//! the target folder's (both sides of the ratio on the same one).

use oibus_benches::{InProcess, Scratch};
use std::{
    fs,
    io::Write,
    path::Path,
    time::{Duration, Instant, SystemTime},
};

struct Case {
    name: &'static str,
    label: &'static str,
    files: usize,
    size: usize,
    /// `file-writer`'s `sync` setting.
    sync: &'static str,
}

const CASES: [Case; 5] = [
    Case {
        name: "10k",
        label: "10,000 × 1 KiB",
        files: 10_000,
        size: 1024,
        sync: "each-file",
    },
    Case {
        name: "10k-fs",
        label: "10,000 × 1 KiB, `sync = \"file-system\"`",
        files: 10_000,
        size: 1024,
        sync: "file-system",
    },
    Case {
        name: "50k",
        label: "50,000 × 1 KiB",
        files: 50_000,
        size: 1024,
        sync: "each-file",
    },
    Case {
        name: "50k-fs",
        label: "50,000 × 1 KiB, `sync = \"file-system\"`",
        files: 50_000,
        size: 1024,
        sync: "file-system",
    },
    Case {
        name: "1m",
        label: "500 × 1 MiB",
        files: 500,
        size: 1 << 20,
        sync: "each-file",
    },
];

/// Longest a run may take before the benchmark gives up on it.
const GIVE_UP: Duration = Duration::from_secs(600);

fn config(input: &Path, output: &Path, sync: &str) -> String {
    format!(
        r#"
[engine]
log_level = "warn"

{}
[[north]]
id = "out"
type = "file-writer"
settings = {{ output_folder = {output:?}, sync = {sync:?} }}
caching = {{ max_size = "4GiB" }}
"#,
        oibus_tests::process::folder_scanner_south(&input.to_string_lossy(), "100ms")
    )
}

/// Child process: one run of a case; prints `seconds cpu-seconds peak-RSS-MB`.
fn child(case: &Case) {
    let scratch = Scratch::new(
        &scratch_root(),
        &["oibus_south_folder_scanner", "oibus_north_file_writer"],
    );
    let (input, output) = (scratch.path("input"), scratch.path("output"));
    fs::create_dir_all(&input).expect("the input folder");
    let mut content = vec![0u8; case.size];
    for i in 0..case.files {
        content[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let mut f = fs::File::create(input.join(format!("f{i:06}.bin"))).expect("an input file");
        f.write_all(&content).expect("an input file");
    }
    // The inputs are on disk before the clock starts: their writeback is not the engine's.
    let _ = std::process::Command::new("sync").status();
    let cpu_before = oibus_benches::cpu_seconds("/proc/self/stat");
    let poller_before = oibus_benches::cpu_seconds("/proc/thread-self/stat");
    let started = SystemTime::now();
    let began = Instant::now();
    let engine = InProcess::start(
        &config(&input, &output, case.sync),
        &scratch.data,
        scratch.plugins.clone(),
        Vec::new(),
    );
    let count = || fs::read_dir(&output).map_or(0, |d| d.filter(|e| e.is_ok()).count());
    while count() < case.files {
        assert!(
            began.elapsed() < GIVE_UP,
            "{} of {} files arrived in {GIVE_UP:?}",
            count(),
            case.files
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // This thread's polling is not the pipeline's work.
    let poller = oibus_benches::cpu_seconds("/proc/thread-self/stat") - poller_before;
    let cpu = oibus_benches::cpu_seconds("/proc/self/stat") - cpu_before - poller;
    let last = fs::read_dir(&output)
        .expect("the output folder")
        .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
        .max()
        .expect("output files");
    let seconds = last
        .duration_since(started)
        .unwrap_or_default()
        .as_secs_f64();
    engine.stop();
    let left = fs::read_dir(&input).map_or(0, Iterator::count);
    assert_eq!(left, 0, "every source file is deleted once cached");
    println!(
        "{seconds:.3} {cpu:.2} {:.1}",
        oibus_tests::memory_mb("VmHWM")
    );
}

/// The disk's rate of new 1 KiB files, each written and fsynced before the next, in files/s.
/// Where the runs' folders and the disk's measurement go: `OIBUS_BENCH_DIR`, else the target
/// folder's temporary folder.
fn scratch_root() -> String {
    std::env::var("OIBUS_BENCH_DIR").unwrap_or_else(|_| env!("CARGO_TARGET_TMPDIR").to_string())
}

fn disk_fsync_rate() -> f64 {
    let dir = tempfile::tempdir_in(scratch_root()).expect("a temporary folder");
    let n = 2000;
    let began = Instant::now();
    for i in 0..n {
        let mut f = fs::File::create(dir.path().join(format!("{i}"))).expect("a file");
        f.write_all(&[7u8; 1024]).expect("a write");
        f.sync_all().expect("an fsync");
    }
    n as f64 / began.elapsed().as_secs_f64()
}

/// Waits for the file system to settle: everything written is synced, and the files the last
/// run deleted are no longer "recently deleted" (an ext4 without a journal, as on this kind of
/// machine, skips such inodes at every file creation, which made a run that followed another
/// at once up to 5 times slower). `OIBUS_BENCH_SETTLE` seconds, default 15.
fn settle() {
    let _ = std::process::Command::new("sync").status();
    let seconds = std::env::var("OIBUS_BENCH_SETTLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    std::thread::sleep(Duration::from_secs(seconds));
}

/// One more run under `strace -f -c`: fsyncs (fsync, fdatasync, syncfs) and renames per file.
fn syscalls_per_file(case: &Case) -> Option<(f64, f64)> {
    let report = tempfile::NamedTempFile::new().ok()?;
    let status = std::process::Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(report.path())
        .args([
            "-e",
            "trace=fsync,fdatasync,syncfs,rename,renameat,renameat2",
        ])
        .arg(std::env::current_exe().ok()?)
        .args(["--child", case.name])
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    let text = fs::read_to_string(report.path()).ok()?;
    let calls = |names: &[&str]| -> f64 {
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let name = *f.last()?;
                // Lines: % time, seconds, usecs/call, calls, [errors], syscall.
                names
                    .contains(&name)
                    .then(|| f.get(3)?.parse::<f64>().ok())?
            })
            .sum()
    };
    let n = case.files as f64;
    Some((
        calls(&["fsync", "fdatasync", "syncfs"]) / n,
        calls(&["rename", "renameat", "renameat2"]) / n,
    ))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let run_case = |args: &[String]| {
        child(
            CASES
                .iter()
                .find(|c| c.name == args[0])
                .expect("a case name"),
        )
    };
    if !oibus_benches::main_goes_on(run_case) {
        return;
    }
    oibus_tests::build();
    let rounds: usize = std::env::var("OIBUS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let chosen =
        std::env::var("OIBUS_BENCH_CASES").unwrap_or_else(|_| "10k,10k-fs,50k,50k-fs,1m".into());
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| chosen.split(',').any(|n| n == c.name))
        .collect();
    let strace = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    println!(
        "folder-scanner → durable cache → file-writer, real plugin files; {rounds} runs per case, \
         each a fresh process and folders; medians"
    );
    let mut disk = Vec::new();
    let mut rows = Vec::new();
    for case in &cases {
        let mut runs = Vec::new();
        for _ in 0..rounds {
            settle();
            let rate = disk_fsync_rate();
            disk.push(rate);
            settle();
            let out = oibus_benches::run_self_child(&[case.name]);
            let f: Vec<f64> = out
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            runs.push((f[0], f[1], f[2]));
        }
        let counted = if strace {
            syscalls_per_file(case)
        } else {
            None
        };
        rows.push((case, runs, counted));
    }
    let disk = median(disk);
    println!(
        "disk: {disk:.0} new 1 KiB files/s, each written and fsynced before the next (median of \
         the {} measurements taken between the runs)",
        rounds * cases.len()
    );
    println!(
        "| case | files/s | MB/s | ratio to the disk's fsync rate | CPU s | CPU ms per file | peak RSS MB | fsyncs per file | renames per file |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (case, runs, counted) in rows {
        let seconds = median(runs.iter().map(|r| r.0).collect());
        let cpu = median(runs.iter().map(|r| r.1).collect());
        let rss = runs.iter().map(|r| r.2).fold(0.0, f64::max);
        let rate = case.files as f64 / seconds;
        let mb = rate * case.size as f64 / 1e6;
        let (fsyncs, renames) = counted.map_or(("n/a".into(), "n/a".into()), |(f, r)| {
            (format!("{f:.2}"), format!("{r:.2}"))
        });
        println!(
            "| {} | {rate:.0} | {mb:.1} | {:.2} | {cpu:.2} | {:.3} | {rss:.0} | {fsyncs} | {renames} |",
            case.label,
            rate / disk,
            cpu * 1000.0 / case.files as f64
        );
    }
}
