//! Grouping items into as few requests as the protocol allows.

use crate::settings::{ItemSettings, RegisterType};

/// One request: a range of one table, and which items it serves (index into the item list and
/// offset of the item in the range).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The table.
    pub register: RegisterType,
    /// First address.
    pub start: u16,
    /// Registers (or bits) read.
    pub count: u16,
    /// `(item index, offset from start)`.
    pub items: Vec<(usize, u16)>,
}

/// Plans the requests reading `items`: per table, in address order, an item joins the current
/// request if it starts at most `max_gap` after its end and the request stays within the
/// protocol's limit.
pub fn plan(items: &[&ItemSettings], max_gap: u16) -> Vec<Request> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (items[i].register, items[i].address));
    let mut requests: Vec<Request> = Vec::new();
    for i in order {
        let it = items[i];
        let width = it.data_type.width();
        let end = u32::from(it.address) + u32::from(width);
        if let Some(r) = requests.last_mut()
            && r.register == it.register
        {
            let r_end = u32::from(r.start) + u32::from(r.count);
            let fits = end - u32::from(r.start) <= u32::from(it.register.max_per_request());
            if u32::from(it.address) <= r_end + u32::from(max_gap) && fits {
                r.count = r.count.max((end - u32::from(r.start)) as u16);
                r.items.push((i, it.address - r.start));
                continue;
            }
        }
        requests.push(Request {
            register: it.register,
            start: it.address,
            count: width,
            items: vec![(i, 0)],
        });
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{DataType, Order};

    fn item(register: RegisterType, address: u16, data_type: DataType) -> ItemSettings {
        ItemSettings {
            register,
            address,
            data_type,
            byte_order: Order::Big,
            word_order: Order::Big,
            scale: 1.0,
            offset: 0.0,
        }
    }

    #[test]
    fn contiguous_items_share_a_request_per_table() {
        use DataType::*;
        use RegisterType::*;
        let items = [
            item(HoldingRegister, 3, Uint32),
            item(HoldingRegister, 0, Float32),
            item(HoldingRegister, 2, Int16),
            item(HoldingRegister, 10, Float32),
            item(Coil, 0, Bool),
            item(Coil, 2, Bool),
            item(InputRegister, 0, Uint16),
        ];
        let refs: Vec<&ItemSettings> = items.iter().collect();
        let plan = plan(&refs, 0);
        assert_eq!(plan.len(), 5, "{plan:#?}");
        assert_eq!(
            plan[0],
            Request {
                register: Coil,
                start: 0,
                count: 1,
                items: vec![(4, 0)]
            }
        );
        let hr: Vec<&Request> = plan
            .iter()
            .filter(|r| r.register == HoldingRegister)
            .collect();
        assert_eq!((hr[0].start, hr[0].count), (0, 5));
        assert_eq!(hr[0].items, vec![(1, 0), (2, 2), (0, 3)]);
        assert_eq!((hr[1].start, hr[1].count), (10, 2));
        // With a gap allowed, the two holding ranges and the two coils merge.
        let merged = super::plan(&refs, 5);
        assert_eq!(merged.len(), 3, "{merged:#?}");
    }

    #[test]
    fn requests_stay_within_the_protocol_limit() {
        let items: Vec<ItemSettings> = (0..300)
            .map(|a| item(RegisterType::InputRegister, a, DataType::Uint16))
            .collect();
        let refs: Vec<&ItemSettings> = items.iter().collect();
        let plan = plan(&refs, 0);
        assert_eq!(
            plan.iter().map(|r| r.count).collect::<Vec<_>>(),
            [125, 125, 50]
        );
    }
}
