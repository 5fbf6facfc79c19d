//! What a South's history runs have sent near their live edge, so that a run reading its
//! `overlap` again (to catch values a server stored after their window was read) sends each value
//! once. A value is known by its point id, timestamp, value and quality; one read again exactly
//! is skipped, one stored late (or changed) is new and sent.
//!
//! The memory is kept from the lowest instant a run may read again (its items' tracked instant
//! minus `overlap`) and stored with the tracked instants after each window, so that a restart
//! repeats nothing either. It holds at most [`CAPACITY`] values: past that, the oldest are
//! forgotten (logged once), which may repeat them, never lose them.

use crate::cache::Op;
use oibus_plugin_api::{DataValue, OibusValue, Timestamp};
use std::{
    collections::{BTreeSet, HashMap},
    hash::Hasher as _,
    sync::Mutex,
};

/// Most values remembered per South (16 bytes each in memory and in the store).
pub const CAPACITY: usize = 200_000;

/// One value as remembered: its timestamp (nanoseconds) and a digest of the rest.
type Key = (i64, u64);

/// The key, in the store's state, of South `south`'s memory (no other South's key starts with
/// it: a delete removes it by prefix).
pub fn state_key(south: &str) -> String {
    format!("history-edge/{south}/")
}

/// The values a South's history runs sent from the lowest instant any of them may read again.
pub struct Edge {
    south: String,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    seen: BTreeSet<Key>,
    /// The lowest instant each scan mode's next run may read, once known.
    floors: HashMap<String, i64>,
    capped_logged: bool,
}

/// The values of one `add_values` call an [`Edge`] let through, to remember once they are durable.
#[derive(Debug, Default)]
pub struct Admitted(Vec<Key>);

impl Edge {
    /// An empty memory for South `south`.
    pub fn new(south: &str) -> Self {
        Self {
            south: south.to_string(),
            inner: Mutex::default(),
        }
    }

    /// South `south`'s memory as stored (`bytes`: its state entry, if any). An entry that cannot
    /// be read is logged and ignored: the next overlap may then repeat values, never lose them.
    pub fn load(south: &str, bytes: Option<&[u8]>) -> Self {
        let edge = Self::new(south);
        if let Some(bytes) = bytes {
            match decode(bytes) {
                Some(seen) => edge.lock().seen = seen,
                None => tracing::warn!(
                    "South {south:?}: the stored memory of its history edge ({} bytes) is unreadable; \
                     values read again inside its overlap may be sent twice once",
                    bytes.len()
                ),
            }
        }
        edge
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Removes from `values` those already sent; returns how many were removed, and the values
    /// kept, to [`remember`](Self::remember) once they are durable (remembered before, a value
    /// whose write failed would be skipped when read again, that is lost).
    pub fn admit(&self, values: &mut Vec<OibusValue>) -> (usize, Admitted) {
        let inner = self.lock();
        let floor = inner.floor();
        let before = values.len();
        let mut admitted = Vec::new();
        values.retain(|v| {
            let t = v.timestamp.as_nanos();
            if floor.is_some_and(|f| t < f) {
                return true;
            }
            let key = (t, digest(v));
            if inner.seen.contains(&key) {
                return false;
            }
            admitted.push(key);
            true
        });
        (before - values.len(), Admitted(admitted))
    }

    /// Remembers values that are now durable.
    pub fn remember(&self, admitted: Admitted) {
        if admitted.0.is_empty() {
            return;
        }
        let mut inner = self.lock();
        inner.seen.extend(admitted.0);
        if inner.seen.len() > CAPACITY {
            let excess = inner.seen.len() - CAPACITY;
            for _ in 0..excess {
                inner.seen.pop_first();
            }
            if !std::mem::replace(&mut inner.capped_logged, true) {
                tracing::warn!(
                    "South {:?}: more than {CAPACITY} values sent inside the history overlap; the \
                     oldest are forgotten and may be sent twice if read again (lower `overlap`, or \
                     read fewer items per South)",
                    self.south
                );
            }
        }
    }

    /// Scan mode `mode`'s next run reads from `floor` at the earliest: what lies below the floor
    /// of every scan mode is forgotten.
    pub fn set_floor(&self, mode: &str, floor: Timestamp) {
        let mut inner = self.lock();
        inner.floors.insert(mode.to_string(), floor.as_nanos());
        if let Some(f) = inner.floor() {
            inner.seen = inner.seen.split_off(&(f, 0));
        }
    }

    /// [`set_floor`](Self::set_floor), then the operation that stores the memory, to apply with
    /// the tracked instants it goes with.
    pub fn advance(&self, mode: &str, floor: Timestamp) -> Op {
        self.set_floor(mode, floor);
        Op::PutState {
            key: state_key(&self.south),
            value: encode(&self.lock().seen),
        }
    }

    /// How many values are remembered.
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    /// The lowest instant a run of any scan mode may read again (`None` until one is known).
    fn floor(&self) -> Option<i64> {
        self.floors.values().copied().min()
    }
}

/// A digest of what tells two values of the same instant apart, the same in every version of
/// the engine (it is stored): SipHash 1-3 with fixed keys.
fn digest(v: &OibusValue) -> u64 {
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0x6f69_6275_735f_6564, 0x6765);
    h.write_u64(v.point_id.len() as u64);
    h.write(v.point_id.as_bytes());
    h.write_u8(v.quality as u8);
    match &v.value {
        DataValue::Null => h.write_u8(0),
        DataValue::Bool(b) => {
            h.write_u8(1);
            h.write_u8(u8::from(*b));
        }
        DataValue::Int(i) => {
            h.write_u8(2);
            h.write_i64(*i);
        }
        DataValue::Float(f) => {
            h.write_u8(3);
            h.write_u64(f.to_bits());
        }
        DataValue::Text(s) => {
            h.write_u8(4);
            h.write_u64(s.len() as u64);
            h.write(s.as_bytes());
        }
    }
    h.finish()
}

fn encode(seen: &BTreeSet<Key>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + seen.len() * 16);
    out.push(1); // format version
    for (t, d) in seen {
        out.extend_from_slice(&t.to_le_bytes());
        out.extend_from_slice(&d.to_le_bytes());
    }
    out
}

fn decode(bytes: &[u8]) -> Option<BTreeSet<Key>> {
    let (&1, rest) = bytes.split_first()? else {
        return None;
    };
    if rest.len() % 16 != 0 || rest.len() / 16 > CAPACITY {
        return None;
    }
    rest.chunks_exact(16)
        .map(|c| {
            let t = i64::from_le_bytes(c[..8].try_into().ok()?);
            let d = u64::from_le_bytes(c[8..].try_into().ok()?);
            Some((t, d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oibus_plugin_api::Quality;

    fn v(point: &str, ms: i64, value: f64) -> OibusValue {
        OibusValue::new(point, Timestamp::from_millis(ms), value)
    }

    fn send(edge: &Edge, mut values: Vec<OibusValue>) -> (usize, Vec<OibusValue>) {
        let (skipped, admitted) = edge.admit(&mut values);
        edge.remember(admitted);
        (skipped, values)
    }

    #[test]
    fn a_value_read_again_is_skipped_and_a_late_or_changed_one_is_sent() {
        let edge = Edge::new("s");
        assert_eq!(send(&edge, vec![v("a", 1, 1.0), v("a", 2, 2.0)]).0, 0);
        let (skipped, kept) = send(
            &edge,
            vec![
                v("a", 1, 1.0),
                v("a", 2, 2.5), // changed at the source
                v("a", 3, 3.0), // new
                v("b", 1, 1.0), // another point at the same instant
                v("a", 0, 0.5), // stored late, older than what was read
            ],
        );
        assert_eq!(skipped, 1);
        assert_eq!(kept.len(), 4);
        let mut bad = v("a", 3, 3.0);
        bad.quality = Quality::Bad;
        assert_eq!(send(&edge, vec![bad, v("a", 3, 3.0)]).0, 1);
    }

    #[test]
    fn values_not_made_durable_are_not_remembered() {
        let edge = Edge::new("s");
        let mut values = vec![v("a", 1, 1.0)];
        let (_, admitted) = edge.admit(&mut values);
        drop(admitted); // the write failed
        assert_eq!(send(&edge, vec![v("a", 1, 1.0)]).0, 0);
    }

    #[test]
    fn what_no_scan_mode_reads_again_is_forgotten_and_below_the_floor_nothing_is_skipped() {
        let edge = Edge::new("s");
        send(&edge, (0..10).map(|i| v("a", i * 1000, 1.0)).collect());
        edge.advance("slow", Timestamp::from_millis(3000));
        edge.advance("fast", Timestamp::from_millis(5000));
        assert_eq!(edge.len(), 7); // 3 s to 9 s: the slow mode may read them again
        edge.advance("slow", Timestamp::from_millis(8000));
        assert_eq!(edge.len(), 5); // 5 s to 9 s
        // Below every floor, a value is new whatever it is (a history request, a rewind).
        assert_eq!(send(&edge, vec![v("a", 1000, 1.0)]).0, 0);
        assert_eq!(send(&edge, vec![v("a", 9000, 1.0)]).0, 1);
    }

    #[test]
    fn the_memory_survives_a_restart_and_an_unreadable_one_is_ignored() {
        let edge = Edge::new("s");
        send(&edge, vec![v("a", 1, 1.0), v("b", 2, 2.0)]);
        let Op::PutState { key, value } = edge.advance("m", Timestamp::from_millis(0)) else {
            panic!("not a state write")
        };
        assert_eq!(key, "history-edge/s/");
        let again = Edge::load("s", Some(&value));
        assert_eq!(send(&again, vec![v("a", 1, 1.0), v("b", 2, 2.0)]).0, 2);
        for junk in [&[][..], &[2, 0][..], &[1, 0, 0, 0][..]] {
            assert!(Edge::load("s", Some(junk)).is_empty());
        }
    }

    #[test]
    fn the_memory_is_bounded_and_forgets_the_oldest() {
        let edge = Edge::new("s");
        send(
            &edge,
            (0..CAPACITY as i64 + 10).map(|i| v("a", i, 1.0)).collect(),
        );
        assert_eq!(edge.len(), CAPACITY);
        assert_eq!(send(&edge, vec![v("a", 0, 1.0)]).0, 0);
        assert_eq!(send(&edge, vec![v("a", CAPACITY as i64 + 9, 1.0)]).0, 1);
    }
}
