//! From registers to values.

use crate::settings::{DataType, ItemSettings, Order};
use oibus_plugin_api::DataValue;

/// The bytes of `words` in value order (most significant first).
fn bytes(words: &[u16], byte_order: Order, word_order: Order) -> Vec<u8> {
    let ordered: Vec<u16> = match word_order {
        Order::Big => words.to_vec(),
        Order::Little => words.iter().rev().copied().collect(),
    };
    ordered
        .iter()
        .flat_map(|w| match byte_order {
            Order::Big => w.to_be_bytes(),
            Order::Little => w.to_le_bytes(),
        })
        .collect()
}

/// Decodes a register value (`words` has exactly `data_type.width()` registers).
pub fn registers(words: &[u16], item: &ItemSettings) -> Result<DataValue, String> {
    let b = bytes(words, item.byte_order, item.word_order);
    let arr = |n: usize| -> Result<Vec<u8>, String> {
        if b.len() == n {
            Ok(b.clone())
        } else {
            Err(format!("expected {} registers, got {}", n / 2, words.len()))
        }
    };
    let raw: f64 = match item.data_type {
        DataType::Bool => return Err("`bool` is for coils and discrete inputs".into()),
        DataType::Int16 => {
            let a = arr(2)?;
            f64::from(i16::from_be_bytes([a[0], a[1]]))
        }
        DataType::Uint16 => {
            let a = arr(2)?;
            f64::from(u16::from_be_bytes([a[0], a[1]]))
        }
        DataType::Int32 => {
            let a = arr(4)?;
            f64::from(i32::from_be_bytes([a[0], a[1], a[2], a[3]]))
        }
        DataType::Uint32 => {
            let a = arr(4)?;
            f64::from(u32::from_be_bytes([a[0], a[1], a[2], a[3]]))
        }
        DataType::Float32 => {
            let a = arr(4)?;
            // The register holds an f32: its shortest decimal, not the f64 widening's noise.
            oibus_plugin_api::f32_as_decimal(f32::from_be_bytes([a[0], a[1], a[2], a[3]]))
        }
        DataType::Float64 => {
            let a = arr(8)?;
            f64::from_be_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]])
        }
    };
    let integer = !matches!(item.data_type, DataType::Float32 | DataType::Float64);
    Ok(if integer && item.scale == 1.0 && item.offset == 0.0 {
        DataValue::Int(raw as i64)
    } else {
        DataValue::Float(raw * item.scale + item.offset)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RegisterType;

    fn item(data_type: DataType, byte_order: Order, word_order: Order) -> ItemSettings {
        ItemSettings {
            register: RegisterType::HoldingRegister,
            address: 0,
            data_type,
            byte_order,
            word_order,
            scale: 1.0,
            offset: 0.0,
        }
    }

    fn words(be: &[u8]) -> Vec<u16> {
        be.chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn every_type_and_order() {
        let big = |t| item(t, Order::Big, Order::Big);
        assert_eq!(
            registers(&[0xFFF9], &big(DataType::Int16)).unwrap(),
            DataValue::Int(-7)
        );
        assert_eq!(
            registers(&[0xFFF9], &big(DataType::Uint16)).unwrap(),
            DataValue::Int(65529)
        );
        assert_eq!(
            registers(&words(&100000u32.to_be_bytes()), &big(DataType::Uint32)).unwrap(),
            DataValue::Int(100000)
        );
        assert_eq!(
            registers(&words(&(-5i32).to_be_bytes()), &big(DataType::Int32)).unwrap(),
            DataValue::Int(-5)
        );
        assert_eq!(
            registers(&words(&12.5f32.to_be_bytes()), &big(DataType::Float32)).unwrap(),
            DataValue::Float(12.5)
        );
        // No widening noise: 12.34f32 reads as 12.34, not 12.34000015258789.
        assert_eq!(
            registers(&words(&12.34f32.to_be_bytes()), &big(DataType::Float32)).unwrap(),
            DataValue::Float(12.34)
        );
        assert_eq!(
            registers(&words(&(-0.125f64).to_be_bytes()), &big(DataType::Float64)).unwrap(),
            DataValue::Float(-0.125)
        );
        // Low word first.
        let mut w = words(&(-2.25f32).to_be_bytes());
        w.reverse();
        let low_first = item(DataType::Float32, Order::Big, Order::Little);
        assert_eq!(registers(&w, &low_first).unwrap(), DataValue::Float(-2.25));
        // Bytes swapped inside the register.
        let swapped = item(DataType::Uint16, Order::Little, Order::Big);
        assert_eq!(
            registers(&[0x3412], &swapped).unwrap(),
            DataValue::Int(0x1234)
        );
    }

    #[test]
    fn scale_and_offset_make_a_float() {
        let mut i = item(DataType::Uint16, Order::Big, Order::Big);
        i.scale = 0.1;
        i.offset = -1.0;
        assert_eq!(
            registers(&[321], &i).unwrap(),
            DataValue::Float(321.0 * 0.1 - 1.0)
        );
        assert!(registers(&[1], &item(DataType::Float32, Order::Big, Order::Big)).is_err());
    }
}
