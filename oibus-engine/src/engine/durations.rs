//! A histogram of durations with fixed buckets, lock-free to record: how long South runs take,
//! for the status and the metrics.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// Upper bounds of the buckets, in seconds (the last bucket, above them, is `+Inf`).
pub const BOUNDS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Durations recorded so far, by bucket.
#[derive(Debug, Default)]
pub struct Durations {
    /// One count per bound, and one for what is above the last.
    buckets: [AtomicU64; BOUNDS.len() + 1],
    /// Sum of the durations, in microseconds.
    sum_us: AtomicU64,
}

impl Durations {
    /// Records one duration.
    pub fn record(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BOUNDS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// The sum in seconds, the count, and the count of each bucket (not cumulative) with its
    /// upper bound (`f64::MAX` for the last).
    pub fn read(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets: Vec<(f64, u64)> = BOUNDS
            .iter()
            .copied()
            .chain([f64::MAX])
            .zip(self.buckets.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        (sum, count, buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_duration_lands_in_the_first_bucket_that_holds_it() {
        let d = Durations::default();
        d.record(Duration::from_micros(500));
        d.record(Duration::from_millis(1));
        d.record(Duration::from_millis(70));
        d.record(Duration::from_secs(400));
        let (sum, count, buckets) = d.read();
        assert_eq!(count, 4);
        assert!((sum - 400.0715).abs() < 1e-9, "{sum}");
        assert_eq!(buckets[0], (0.001, 2));
        assert_eq!(buckets[4], (0.1, 1));
        assert_eq!(buckets[12], (f64::MAX, 1));
        assert_eq!(buckets.len(), 13);
    }
}
