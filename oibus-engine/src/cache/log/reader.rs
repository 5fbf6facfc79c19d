//! A North's place in a South's log (its cursor), and its form in the store's state table: the
//! first key it has not sent, a little-endian `u64`.

/// Where a North reads a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    /// The first key not sent yet.
    pub next: u64,
}

impl Reader {
    /// A reader starting at `next`.
    pub fn at(next: u64) -> Self {
        Self { next }
    }

    /// The state entry's bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.next.to_le_bytes().to_vec()
    }

    /// Reads a state entry (`None` if it is not one).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let word: [u8; 8] = bytes.try_into().ok()?;
        Some(Self::at(u64::from_le_bytes(word)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_round_trips_and_anything_else_is_refused() {
        assert_eq!(Reader::decode(&Reader::at(3).encode()), Some(Reader::at(3)));
        assert_eq!(Reader::decode(&[1, 2]), None);
        assert_eq!(Reader::decode(&[0; 24]), None);
    }
}
