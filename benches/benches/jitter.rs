//! How late interval scans run: `cargo bench -p oibus-benches --bench jitter`.
//!
//! A `simulator` South reads 1,000 items on an `every` scan mode (100 ms, then 10 ms), then
//! 100,000 items every second (read from a CSV items file, then written inline in the TOML
//! file), each case in a fresh engine process, into the fsync'd cache and a `probe-north` that
//! writes down the timestamp of each scan (the simulator stamps a scan's values with one
//! instant, taken inside the plugin when the read begins).
//!
//! A scan's lateness is how far its timestamp falls after the schedule's grid. The grid's phase
//! is that of the earliest scans, so the constant cost of reaching the plugin cancels out and
//! what remains is the jitter the engine adds. Ticks in the run without a scan are counted as
//! missed (a scan later than a whole period).

use oibus_benches::{InProcess, Scratch, lateness::lateness};
use std::{fs, time::Duration};

/// Scans discarded at the start (the engine and the cache warming up).
const WARM_UP: Duration = Duration::from_secs(2);

/// `(every in milliseconds, items, measured for, where the items are)`: 1,000 items at 100 ms
/// and 10 ms (at least 300 scans each), and the plant-scale case of 100,000 items on a 1 s scan,
/// from a CSV items file and inline in the TOML file.
const CASES: &[(u64, usize, Duration, Items)] = &[
    (100, 1_000, Duration::from_secs(40), Items::Inline),
    (10, 1_000, Duration::from_secs(12), Items::Inline),
    (1000, 100_000, Duration::from_secs(60), Items::CsvFile),
    (1000, 100_000, Duration::from_secs(60), Items::Inline),
];

/// Where the South's items are written.
#[derive(Clone, Copy, PartialEq)]
enum Items {
    /// `items = [...]` in the TOML file.
    Inline,
    /// `items_file = "items.csv"` beside it.
    CsvFile,
}

impl Items {
    fn name(self) -> &'static str {
        match self {
            Items::Inline => "toml",
            Items::CsvFile => "csv",
        }
    }
}

/// The configuration, and the CSV file's text for [`Items::CsvFile`].
fn config(period: Duration, items: usize, timestamps: &str, at: Items) -> (String, String) {
    let every = format!("{}ms", period.as_millis());
    let (items, csv) = match at {
        Items::Inline => {
            let inline: Vec<String> = (0..items)
                .map(|i| {
                    format!(
                        "{{ name = \"i{i:06}\", scan_mode = \"fast\", settings = {{ signal = {{ type = \"sine\" }} }} }}"
                    )
                })
                .collect();
            (
                format!("items = [\n{}\n]", inline.join(",\n")),
                String::new(),
            )
        }
        Items::CsvFile => {
            let mut csv = String::from("name,scan_mode,signal.type\n");
            for i in 0..items {
                csv.push_str(&format!("i{i:06},fast,sine\n"));
            }
            ("items_file = \"items.csv\"".to_string(), csv)
        }
    };
    let text = format!(
        r#"
[engine]
log_level = "warn"

[[scan_modes]]
name = "fast"
every = "{every}"

[[south]]
id = "sim"
type = "simulator"
query = "last-point"
{items}

[[north]]
id = "dst"
type = "probe-north"
settings = {{ timestamps_file = {timestamps:?} }}
caching = {{ send_interval = "50ms" }}
"#
    );
    (text, csv)
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1e6
}

/// Child process: one case; prints `values/s scans missed p50-ms p99-ms max-ms cpu-% peak-RSS-MB
/// RSS-MB start-up-s` (RSS at the end of the measurement; start-up: until the engine's first
/// status).
fn child(period: Duration, items: usize, measure: Duration, at: Items) {
    let scratch = Scratch::new(
        env!("CARGO_TARGET_TMPDIR"),
        &["oibus_south_simulator", "oibus_test_probe"],
    );
    let stamps_file = scratch.path("timestamps");
    let (text, csv) = config(period, items, &stamps_file.to_string_lossy(), at);
    let config_file = scratch.path("oibus.toml");
    fs::write(&config_file, text).expect("the configuration");
    fs::write(scratch.path("items.csv"), csv).expect("the items file");
    // Start-up includes reading the configuration, as `oibus run` does.
    let began = std::time::Instant::now();
    let loaded = oibus_engine::config::load(&config_file).unwrap_or_else(|e| panic!("{e}"));
    let engine = InProcess::start_loaded(
        loaded,
        &scratch.data,
        scratch.plugins.clone(),
        Vec::new(),
        None,
    );
    while oibus_engine::engine::read_status(&scratch.data).is_err() {
        assert!(
            began.elapsed() < Duration::from_secs(300),
            "no status after 5 min"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = began.elapsed();
    std::thread::sleep(WARM_UP);
    let from = fs::read_to_string(&stamps_file).map_or(0, |s| s.lines().count());
    let cpu0 = oibus_benches::cpu_seconds("/proc/self/stat");
    let (t0, sent0) = oibus_tests::values_sent_at(&scratch.data, "dst");
    std::thread::sleep(measure);
    let cpu = oibus_benches::cpu_seconds("/proc/self/stat") - cpu0;
    let (t1, sent1) = oibus_tests::values_sent_at(&scratch.data, "dst");
    let rss = oibus_tests::memory_mb("VmRSS");
    // What was scanned in the measured span, delivered before the engine stops.
    let text = fs::read_to_string(&stamps_file).expect("the timestamps the North wrote");
    engine.stop();
    let stamps: Vec<i64> = text
        .lines()
        .skip(from)
        .filter_map(|l| l.parse().ok())
        .collect();
    let (mut late, missed) = lateness(stamps, period.as_nanos() as i64);
    assert!(
        late.len() > 10,
        "only {} scans reached the North",
        late.len()
    );
    late.sort();
    println!(
        "{:.0} {} {missed} {:.3} {:.3} {:.3} {:.1} {:.1} {rss:.1} {:.2}",
        (sent1 - sent0) as f64 / (t1 - t0),
        late.len(),
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        percentile(&late, 1.0),
        cpu / measure.as_secs_f64() * 100.0,
        oibus_tests::memory_mb("VmHWM"),
        started.as_secs_f64()
    );
}

fn main() {
    let run_case = |args: &[String]| {
        let ms: u64 = args[0].parse().expect("milliseconds");
        let items: usize = args[1].parse().expect("items");
        let secs: u64 = args[2].parse().expect("seconds");
        let at = if args[3] == Items::CsvFile.name() {
            Items::CsvFile
        } else {
            Items::Inline
        };
        child(
            Duration::from_millis(ms),
            items,
            Duration::from_secs(secs),
            at,
        );
    };
    if !oibus_benches::main_goes_on(run_case) {
        return;
    }
    oibus_tests::build();
    println!(
        "simulator South, its items on one `every` scan mode → fsync'd cache → probe-north; \
         each case a fresh engine process, {} s of warm-up discarded",
        WARM_UP.as_secs()
    );
    println!(
        "| every  |   items | items in | values/s | scans | missed ticks | lateness p50 | p99      | max      | CPU (% of a core) | peak RSS | RSS at the end | start-up |"
    );
    println!(
        "|--------|--------:|----------|---------:|------:|-------------:|-------------:|---------:|---------:|------------------:|---------:|---------------:|---------:|"
    );
    for (every, items, measure, at) in CASES {
        let out = oibus_benches::run_self_child(&[
            &every.to_string(),
            &items.to_string(),
            &measure.as_secs().to_string(),
            at.name(),
        ]);
        let every = format!("{every}ms");
        let f: Vec<&str> = out.split_whitespace().collect();
        println!(
            "| {every:<6} | {items:>7} | {:<8} | {:>8} | {:>5} | {:>12} | {:>9} ms | {:>5} ms | {:>5} ms | {:>17} | {:>5} MB | {:>11} MB | {:>6} s |",
            match at {
                Items::Inline => "TOML",
                Items::CsvFile => "CSV file",
            },
            f[0],
            f[1],
            f[2],
            f[3],
            f[4],
            f[5],
            f[6],
            f[7],
            f[8],
            f[9]
        );
    }
}
