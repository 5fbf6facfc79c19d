//! The signal shapes, as pure functions of (seed, item name, instant).

use oibus_plugin_api::prelude::*;

/// A simulated signal.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(
    crate = "oibus_plugin_api::serde",
    tag = "type",
    rename_all = "lowercase",
    deny_unknown_fields
)]
#[schemars(crate = "oibus_plugin_api::schemars")]
pub enum Signal {
    /// `offset + amplitude * sin(2π t / period)`.
    Sine {
        /// Peak amplitude.
        #[serde(default = "one")]
        amplitude: f64,
        /// Period in seconds.
        #[serde(default = "sixty")]
        period_s: f64,
        /// Constant added.
        #[serde(default)]
        offset: f64,
    },
    /// Rises linearly from `min` to `max` over `period_s`, then starts again.
    Ramp {
        /// Start value.
        #[serde(default)]
        min: f64,
        /// End value.
        #[serde(default = "hundred")]
        max: f64,
        /// Period in seconds.
        #[serde(default = "sixty")]
        period_s: f64,
    },
    /// Uniform in `[min, max)`, reproducible from the seed, the item name and the instant.
    Random {
        /// Lower bound.
        #[serde(default)]
        min: f64,
        /// Upper bound.
        #[serde(default = "hundred")]
        max: f64,
    },
}

fn one() -> f64 {
    1.0
}
fn sixty() -> f64 {
    60.0
}
fn hundred() -> f64 {
    100.0
}

/// SplitMix64: a tiny, well-known mixing function; enough for reproducible test signals.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl Signal {
    /// The value at instant `t`.
    pub fn at(&self, seed: u64, item: &str, t: Timestamp) -> f64 {
        let secs = t.as_nanos() as f64 / 1e9;
        match *self {
            Signal::Sine {
                amplitude,
                period_s,
                offset,
            } => offset + amplitude * (std::f64::consts::TAU * secs / period_s.max(1e-9)).sin(),
            Signal::Ramp { min, max, period_s } => {
                let p = period_s.max(1e-9);
                min + (max - min) * (secs.rem_euclid(p) / p)
            }
            Signal::Random { min, max } => {
                let r = mix(seed ^ name_hash(item) ^ mix(t.as_nanos() as u64));
                min + (max - min) * ((r >> 11) as f64 / (1u64 << 53) as f64)
            }
        }
    }
}
