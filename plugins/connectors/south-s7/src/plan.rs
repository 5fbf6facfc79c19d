//! Reading items in as few exchanges as the PDU size allows: items of the same area close to
//! each other become one range; ranges are cut into chunks that fit one answer; chunks are packed
//! into requests whose question and answer both fit the negotiated PDU.
//!
//! ```
//! use oibus_south_s7::{address::Area, plan::{Wanted, ranges, pack}};
//! // Two REALs of DB1 four bytes apart, and a 1000-byte block of DB2.
//! let items = [
//!     Wanted { area: Area::DataBlock, db: 1, start: 0, width: 4 },
//!     Wanted { area: Area::DataBlock, db: 1, start: 8, width: 4 },
//!     Wanted { area: Area::DataBlock, db: 2, start: 0, width: 1000 },
//! ];
//! let r = ranges(&items, 16, 480);
//! assert_eq!(r.len(), 2);
//! // 1000 bytes do not fit one answer of a 480-byte PDU: three chunks (462, 462, 76 bytes);
//! // the 12 bytes of DB1 share a request with the last.
//! assert_eq!(pack(&r, 480).len(), 3);
//! ```

use crate::{
    address::Area,
    protocol::{
        ACK_HEADER_LEN, ANSWER_ITEM_HEADER_LEN, JOB_HEADER_LEN, READ_ITEM_LEN, READ_PARAM_LEN,
        ReadItem,
    },
};

/// What one item needs read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// Its area.
    pub area: Area,
    /// Its data block (0 outside data blocks).
    pub db: u16,
    /// First byte (timers and counters: first element).
    pub start: u32,
    /// Bytes (timers and counters: elements).
    pub width: u32,
}

/// A run of one area read for one or more items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// Its area.
    pub area: Area,
    /// Its data block.
    pub db: u16,
    /// First byte or element.
    pub start: u32,
    /// Bytes or elements.
    pub len: u32,
    /// The items it serves: index into the wanted list, and offset from `start` (in bytes or
    /// elements).
    pub items: Vec<(usize, u32)>,
}

impl Range {
    /// Bytes its data takes.
    pub fn bytes(&self) -> usize {
        self.len as usize * unit(self.area)
    }
}

fn unit(area: Area) -> usize {
    if area.by_element() { 2 } else { 1 }
}

/// The most bytes one item of an answer may carry with this PDU size.
pub fn max_answer_bytes(pdu_size: u16) -> usize {
    usize::from(pdu_size).saturating_sub(ACK_HEADER_LEN + READ_PARAM_LEN + ANSWER_ITEM_HEADER_LEN)
}

/// The most items one request may ask for with this PDU size (and never more than 20, the
/// limit of S7 CPUs).
pub fn max_items(pdu_size: u16) -> usize {
    (usize::from(pdu_size).saturating_sub(JOB_HEADER_LEN + READ_PARAM_LEN) / READ_ITEM_LEN).min(20)
}

/// Groups `items` into ranges: per area and data block, in address order, an item joins the
/// current range when it starts at most `max_gap` bytes after its end and the range still fits
/// one answer of a `pdu_size` PDU (an item larger than that is a range of its own, read in
/// chunks).
pub fn ranges(items: &[Wanted], max_gap: u32, pdu_size: u16) -> Vec<Range> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (items[i].area, items[i].db, items[i].start));
    let mut out: Vec<Range> = Vec::new();
    for i in order {
        let w = items[i];
        let cap = (max_answer_bytes(pdu_size) / unit(w.area)) as u32;
        let gap = if w.area.by_element() { 0 } else { max_gap };
        let end = u64::from(w.start) + u64::from(w.width);
        if let Some(r) = out.last_mut()
            && (r.area, r.db) == (w.area, w.db)
        {
            let r_end = u64::from(r.start) + u64::from(r.len);
            let merged = end.max(r_end) - u64::from(r.start);
            if u64::from(w.start) <= r_end + u64::from(gap) && merged <= u64::from(cap) {
                r.len = merged as u32;
                r.items.push((i, w.start - r.start));
                continue;
            }
        }
        out.push(Range {
            area: w.area,
            db: w.db,
            start: w.start,
            len: w.width,
            items: vec![(i, 0)],
        });
    }
    out
}

/// A piece of a range that one item of a request reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// The range (index into the range list).
    pub range: usize,
    /// Where its bytes go in the range's data.
    pub byte_offset: usize,
    /// What the request asks.
    pub item: ReadItem,
}

/// Cuts `ranges` into chunks that fit one answer each and packs them into requests whose
/// question and answer both fit a `pdu_size` PDU: each chunk goes to the first request with room
/// for it (first fit), so small ranges fill the room large ones leave.
pub fn pack(ranges: &[Range], pdu_size: u16) -> Vec<Vec<Chunk>> {
    let max_bytes = max_answer_bytes(pdu_size).max(2);
    let max_items = max_items(pdu_size).max(1);
    let answer_room = usize::from(pdu_size).saturating_sub(ACK_HEADER_LEN + READ_PARAM_LEN);
    // Each request, and the answer bytes it will take.
    let mut requests: Vec<(Vec<Chunk>, usize)> = Vec::new();
    for (index, range) in ranges.iter().enumerate() {
        let unit = unit(range.area);
        let per_chunk = (max_bytes / unit) as u32;
        let mut done = 0u32;
        while done < range.len {
            let count = (range.len - done).min(per_chunk);
            let bytes = count as usize * unit;
            // Each item of the answer: its header, its bytes, and a fill byte when odd.
            let cost = ANSWER_ITEM_HEADER_LEN + bytes + bytes % 2;
            let chunk = Chunk {
                range: index,
                byte_offset: done as usize * unit,
                item: ReadItem {
                    area: range.area.code(),
                    db: range.db,
                    start: range.start + done,
                    count: count as u16,
                    by_element: range.area.by_element(),
                },
            };
            match requests
                .iter_mut()
                .find(|(chunks, used)| chunks.len() < max_items && used + cost <= answer_room)
            {
                Some((chunks, used)) => {
                    chunks.push(chunk);
                    *used += cost;
                }
                None => requests.push((vec![chunk], cost)),
            }
            done += count;
        }
    }
    requests.into_iter().map(|(chunks, _)| chunks).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{READ_ITEM_LEN, read_request};

    fn db(db: u16, start: u32, width: u32) -> Wanted {
        Wanted {
            area: Area::DataBlock,
            db,
            start,
            width,
        }
    }

    #[test]
    fn neighbours_of_one_area_share_a_range() {
        let items = [
            db(1, 8, 4),
            db(1, 0, 2),
            db(1, 2, 2),
            db(1, 40, 4),
            Wanted {
                area: Area::Merker,
                db: 0,
                start: 0,
                width: 1,
            },
            db(2, 0, 4),
            // Inside another item (a bit of a byte already read).
            db(1, 1, 1),
        ];
        let r = ranges(&items, 0, 480);
        let spans: Vec<(Area, u16, u32, u32)> =
            r.iter().map(|r| (r.area, r.db, r.start, r.len)).collect();
        assert_eq!(
            spans,
            [
                (Area::Merker, 0, 0, 1),
                (Area::DataBlock, 1, 0, 4),
                (Area::DataBlock, 1, 8, 4),
                (Area::DataBlock, 1, 40, 4),
                (Area::DataBlock, 2, 0, 4),
            ]
        );
        assert_eq!(r[1].items, vec![(1, 0), (6, 1), (2, 2)]);
        // A gap of 4 joins bytes 0..12; 28 more are needed for byte 40.
        assert_eq!(ranges(&items, 4, 480).len(), 4);
        assert_eq!(ranges(&items, 28, 480).len(), 3);
    }

    #[test]
    fn every_request_fits_the_pdu_and_every_byte_is_read_once() {
        for pdu in [240u16, 480, 960] {
            // 300 scattered REALs, a 5000-byte block and 40 timers.
            let mut items: Vec<Wanted> = (0..300).map(|i| db(3, i * 12, 4)).collect();
            items.push(db(4, 0, 5000));
            items.extend((0..40).map(|i| Wanted {
                area: Area::Timer,
                db: 0,
                start: i,
                width: 1,
            }));
            let r = ranges(&items, 0, pdu);
            let requests = pack(&r, pdu);
            let mut read: Vec<Vec<(usize, usize)>> = vec![Vec::new(); r.len()];
            for request in &requests {
                assert!(!request.is_empty() && request.len() <= max_items(pdu));
                let question = read_request(1, &request.iter().map(|c| c.item).collect::<Vec<_>>());
                assert!(
                    question.len() - 7 <= usize::from(pdu),
                    "question of {}",
                    question.len()
                );
                assert_eq!(question.len() - 7 - 12, request.len() * READ_ITEM_LEN);
                let answer: usize = 14
                    + request
                        .iter()
                        .map(|c| 4 + c.item.answer_bytes() + c.item.answer_bytes() % 2)
                        .sum::<usize>();
                assert!(answer <= usize::from(pdu), "answer of {answer} for {pdu}");
                for c in request {
                    read[c.range].push((c.byte_offset, c.item.answer_bytes()));
                }
            }
            // Every byte of every range, once.
            for (range, mut pieces) in r.iter().zip(read) {
                pieces.sort();
                let mut at = 0;
                for (offset, len) in pieces {
                    assert_eq!(offset, at, "no hole, no overlap");
                    at += len;
                }
                assert_eq!(at, range.bytes());
            }
            // A block larger than the answer is cut: 5000 bytes of a 480-byte PDU in 11 chunks
            // of at most 462.
            if pdu == 480 {
                let block = r.iter().position(|r| r.db == 4).unwrap();
                let chunks = requests
                    .iter()
                    .flatten()
                    .filter(|c| c.range == block)
                    .count();
                assert_eq!(chunks, 5000usize.div_ceil(462));
            }
        }
    }

    #[test]
    fn timers_are_read_in_elements() {
        let t = |start| Wanted {
            area: Area::Timer,
            db: 0,
            start,
            width: 1,
        };
        let r = ranges(&[t(5), t(6), t(9)], 16, 480);
        // No gap between elements: 5..7, then 9.
        assert_eq!(
            r.iter().map(|r| (r.start, r.len)).collect::<Vec<_>>(),
            [(5, 2), (9, 1)]
        );
        let p = pack(&r, 480);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0][0].item.count, 2);
        assert!(p[0][0].item.by_element);
        assert_eq!(p[0][1].byte_offset, 0);
        // 300 timers at a 240-byte PDU: 111 per answer (222 bytes), first-fit in 3 requests.
        let many: Vec<Wanted> = (0..300).map(t).collect();
        let r = ranges(&many, 0, 240);
        assert_eq!(r.len(), 3);
        assert_eq!(pack(&r, 240).len(), 3);
    }
}
