//! The lateness of interval scans, from the timestamps their values carry (the `jitter` bench).

/// The lateness of each scan in nanoseconds, and the number of ticks without a scan, from the
/// scans' timestamps (nanoseconds, in order; repeated when a scan spans two batches).
pub fn lateness(mut stamps: Vec<i64>, period: i64) -> (Vec<i64>, usize) {
    stamps.dedup();
    let Some(&first) = stamps.first() else {
        return (Vec::new(), 0);
    };
    // Phases against a grid through the first scan, in [-period/2, period/2).
    let phase = |t: i64| (t - first + period / 2).rem_euclid(period) - period / 2;
    let mut phases: Vec<i64> = stamps.iter().map(|t| phase(*t)).collect();
    phases.sort();
    let median = phases[phases.len() / 2];
    // The grid's phase: the earliest scan that is not a late one wrapped around.
    let base = phases
        .iter()
        .copied()
        .find(|p| (median - p) < period / 4)
        .unwrap_or(median);
    let late: Vec<i64> = stamps
        .iter()
        .map(|t| (t - first - base).rem_euclid(period))
        .collect();
    let span = stamps[stamps.len() - 1] - first;
    let ticks = ((span as f64) / period as f64).round() as usize + 1;
    (late, ticks.saturating_sub(stamps.len()))
}

#[cfg(test)]
mod tests {
    use super::lateness;

    #[test]
    fn lateness_is_measured_from_the_earliest_phase_and_gaps_are_missed_ticks() {
        const P: i64 = 10_000_000;
        // On time (+1 ms of constant cost), one 3 ms late, one 7 ms late, one tick missing, one
        // repeated across two batches.
        let t0 = 1_000 * P + 1_000_000;
        let stamps = vec![
            t0,
            t0 + P,
            t0 + P,
            t0 + 2 * P + 3_000_000,
            t0 + 3 * P,
            t0 + 5 * P + 7_000_000,
            t0 + 6 * P,
        ];
        let (late, missed) = lateness(stamps, P);
        assert_eq!(late, vec![0, 0, 3_000_000, 0, 7_000_000, 0]);
        assert_eq!(missed, 1);
    }
}
