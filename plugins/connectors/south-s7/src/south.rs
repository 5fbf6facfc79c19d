//! The `s7` connector: its lifecycle and data calls.

use crate::{
    address::{Address, Location},
    client::{Answered, Client, ClientError, Endpoint},
    decode,
    plan::{self, Range, Wanted},
    protocol,
    settings::{ItemSettings, S7Settings},
};
use oibus_plugin_api::prelude::*;
use std::time::Duration;

/// The Siemens S7 South connector.
pub struct S7 {
    endpoint: Endpoint,
    max_gap: u32,
    ctx: Context,
    client: Option<Client>,
}

/// Parses a TSAP written as two hex bytes (`"03.01"`, `"0301"`).
fn tsap(setting: &str, text: &str) -> Result<u16> {
    let hex: String = text.chars().filter(|&c| c != '.').collect();
    if hex.len() != 4 {
        return Err(PluginError::invalid_settings(format!(
            "{setting} {text:?}: write two hex bytes, e.g. \"03.01\""
        )));
    }
    u16::from_str_radix(&hex, 16).map_err(|_| {
        PluginError::invalid_settings(format!(
            "{setting} {text:?}: write two hex bytes, e.g. \"03.01\""
        ))
    })
}

/// The endpoint the settings describe, or which setting is wrong.
fn endpoint(s: &S7Settings) -> Result<Endpoint> {
    let remote_tsap = match (&s.remote_tsap, s.rack, s.slot) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(PluginError::invalid_settings(
                "remote_tsap names the PLC's TSAP: leave rack and slot out (or remote_tsap)",
            ));
        }
        (Some(t), None, None) => tsap("remote_tsap", t)?,
        (None, rack, slot) => {
            let (rack, slot) = (rack.unwrap_or(0), slot.unwrap_or(1));
            if rack > 7 || slot > 31 {
                return Err(PluginError::invalid_settings(format!(
                    "rack {rack} and slot {slot}: a rack is 0 to 7, a slot 0 to 31"
                )));
            }
            u16::from(s.connection_type.code()) << 8 | u16::from(rack * 32 + slot)
        }
    };
    let local_tsap = match &s.local_tsap {
        Some(t) => tsap("local_tsap", t)?,
        None => 0x0100,
    };
    if !(240..=960).contains(&s.pdu_size) {
        return Err(PluginError::invalid_settings(format!(
            "pdu_size {}: S7 PLCs negotiate 240 to 960 bytes",
            s.pdu_size
        )));
    }
    Ok(Endpoint {
        target: format!("{}:{}", s.host, s.port),
        local_tsap,
        remote_tsap,
        pdu_size: s.pdu_size,
        timeout: Duration::from_millis(s.timeout_ms.max(1)),
    })
}

impl Connector for S7 {
    type Settings = S7Settings;

    fn new(settings: S7Settings, ctx: Context) -> Result<Self> {
        Ok(Self {
            endpoint: endpoint(&settings)?,
            max_gap: u32::from(settings.max_gap),
            ctx,
            client: None,
        })
    }

    async fn connect(&mut self) -> Result<()> {
        let client = Client::connect(&self.endpoint)
            .await
            .map_err(|e| PluginError::transient(e.to_string()))?;
        tracing::info!(
            "connected to PLC {} (TSAP {:04X}), PDU of {} bytes",
            self.endpoint.target,
            self.endpoint.remote_tsap,
            client.pdu_size()
        );
        self.client = Some(client);
        Ok(())
    }

    async fn disconnect(&mut self) -> Result<()> {
        if let Some(c) = self.client.take() {
            c.close().await;
        }
        Ok(())
    }
}

impl South for S7 {
    type ItemSettings = ItemSettings;
}

/// What a range (start, length) is, in messages: `DB1.100 (4 bytes)`, `T5 (2 timers)`.
fn describe(range: &Range) -> String {
    let start = Address {
        area: range.area,
        db: range.db,
        start: range.start,
        bit: None,
        size: None,
    };
    let unit = match range.area {
        crate::address::Area::Timer => "timer(s)",
        crate::address::Area::Counter => "counter(s)",
        _ => "byte(s)",
    };
    format!("{start} ({} {unit})", range.len)
}

impl S7 {
    /// Reads `ranges`; the data of each, or why the PLC did not give it. A lost connection ends
    /// the read (the engine reconnects).
    async fn read_ranges(
        &mut self,
        ranges: &[Range],
    ) -> Result<Vec<std::result::Result<Vec<u8>, String>>> {
        let target = self.endpoint.target.clone();
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| PluginError::connection_lost(format!("PLC {target}: not connected")))?;
        let mut data: Vec<std::result::Result<Vec<u8>, String>> =
            ranges.iter().map(|r| Ok(vec![0u8; r.bytes()])).collect();
        for request in plan::pack(ranges, client.pdu_size()) {
            let items: Vec<protocol::ReadItem> = request.iter().map(|c| c.item).collect();
            let answers = match client.read(&items).await {
                Ok(a) => a,
                Err(ClientError::Refused(why)) => {
                    for chunk in &request {
                        let range = &ranges[chunk.range];
                        data[chunk.range] = Err(format!(
                            "PLC {target} refused reading {}: {why}",
                            describe(range)
                        ));
                    }
                    continue;
                }
                Err(ClientError::Lost(why)) => {
                    self.client = None;
                    return Err(PluginError::connection_lost(format!(
                        "PLC {target}: reading failed: {why}"
                    )));
                }
            };
            for (chunk, answer) in request.iter().zip(answers) {
                let range = &ranges[chunk.range];
                let Ok(buffer) = &mut data[chunk.range] else {
                    continue;
                };
                let expected = chunk.item.answer_bytes();
                match answer {
                    Answered::Bytes(bytes) if bytes.len() == expected => {
                        buffer[chunk.byte_offset..chunk.byte_offset + expected]
                            .copy_from_slice(&bytes);
                    }
                    Answered::Bytes(bytes) => {
                        data[chunk.range] = Err(format!(
                            "PLC {target} answered {} of the {expected} bytes asked in {}",
                            bytes.len(),
                            describe(range)
                        ));
                    }
                    Answered::Refused(code) => {
                        data[chunk.range] = Err(format!(
                            "PLC {target} refused reading {}: {} (code {code:#04x})",
                            describe(range),
                            protocol::item_code_meaning(code)
                        ));
                    }
                }
            }
        }
        Ok(data)
    }

    /// Reads items in as few requests as the plan allows. A range the PLC refuses (an address
    /// past the end of a data block, say) is read again item by item: the items that work are
    /// read, each item the PLC refuses is reported by name (the first refusal is returned beside
    /// the values), and the scan goes on.
    async fn read_items(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<PartialRead> {
        let mut refused: Option<PluginError> = None;
        let mut fail = |ctx: &Context, name: &str, why: String| {
            let e = PluginError::invalid_settings(format!("item {name:?}: {why}"));
            ctx.item_failed(name, e.message());
            refused.get_or_insert(e);
        };
        let mut located: Vec<(&SouthItem<ItemSettings>, Location)> = Vec::new();
        for item in items {
            match Location::of(&item.settings) {
                Ok(l) => located.push((item, l)),
                Err(why) => fail(&self.ctx, &item.name, why),
            }
        }
        let wanted: Vec<Wanted> = located
            .iter()
            .map(|(_, l)| Wanted {
                area: l.address.area,
                db: l.address.db,
                start: l.address.start,
                width: l.width,
            })
            .collect();
        let pdu_size = self.client.as_ref().map_or(240, Client::pdu_size);
        let now = Timestamp::now();
        let mut values = Vec::with_capacity(located.len());
        let mut ranges = plan::ranges(&wanted, self.max_gap, pdu_size);
        // Two rounds: the grouped ranges, then alone each item of a range the PLC refused.
        for round in 0..2 {
            let data = self.read_ranges(&ranges).await?;
            let mut again = Vec::new();
            for (range, data) in ranges.iter().zip(data) {
                match data {
                    Ok(bytes) => {
                        for &(i, offset) in &range.items {
                            let (item, location) = &located[i];
                            let unit = if range.area.by_element() { 2 } else { 1 };
                            let at = offset as usize * unit;
                            let slice = &bytes[at..at + location.width as usize * unit];
                            let s = &item.settings;
                            match decode::value(
                                s.data_type,
                                slice,
                                location.address.bit,
                                s.length(),
                            ) {
                                Ok(v) => {
                                    self.ctx.item_ok(&item.name);
                                    let v = decode::scaled(v, s.scale, s.offset);
                                    values.push(OibusValue::new(item.name.as_str(), now, v));
                                }
                                Err(why) => fail(
                                    &self.ctx,
                                    &item.name,
                                    format!("{} at {}: {why}", s.address, describe(range)),
                                ),
                            }
                        }
                    }
                    Err(why) if round == 0 && range.items.len() > 1 => {
                        tracing::debug!("{why}; reading its items one by one");
                        again.extend(range.items.iter().map(|&(i, _)| i));
                    }
                    Err(why) => {
                        for &(i, _) in &range.items {
                            fail(&self.ctx, &located[i].0.name, why.clone());
                        }
                    }
                }
            }
            if again.is_empty() {
                break;
            }
            ranges = again
                .into_iter()
                .map(|i| Range {
                    area: wanted[i].area,
                    db: wanted[i].db,
                    start: wanted[i].start,
                    len: wanted[i].width,
                    items: vec![(i, 0)],
                })
                .collect();
        }
        Ok(PartialRead {
            values,
            first_error: refused,
        })
    }
}

impl QueriesLastPoint for S7 {
    /// Reads every item, in as few requests as the plan allows, and hands over what was read.
    async fn last_point_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        self.read_items(items).await?.hand_over(&self.ctx).await
    }
}

impl TestsItem for S7 {
    /// Reads the item once, as a scan would.
    async fn test_item(&mut self, item: &SouthItem<ItemSettings>) -> Result<Vec<OibusValue>> {
        self.read_items(std::slice::from_ref(item))
            .await?
            .into_test()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ConnectionType;

    fn settings() -> S7Settings {
        S7Settings {
            host: "plc".into(),
            port: 102,
            rack: None,
            slot: None,
            connection_type: ConnectionType::Pg,
            remote_tsap: None,
            local_tsap: None,
            pdu_size: 960,
            timeout_ms: 1000,
            max_gap: 16,
        }
    }

    #[test]
    fn rack_and_slot_or_tsaps_make_the_plcs_tsap() {
        let e = endpoint(&settings()).unwrap();
        assert_eq!((e.local_tsap, e.remote_tsap), (0x0100, 0x0101));
        let mut s = settings();
        (s.rack, s.slot, s.connection_type) = (Some(0), Some(2), ConnectionType::S7Basic);
        assert_eq!(endpoint(&s).unwrap().remote_tsap, 0x0302);
        s.rack = Some(1);
        assert_eq!(endpoint(&s).unwrap().remote_tsap, 0x0322);
        let mut logo = settings();
        (logo.remote_tsap, logo.local_tsap) = (Some("02.00".into()), Some("0100".into()));
        let e = endpoint(&logo).unwrap();
        assert_eq!((e.local_tsap, e.remote_tsap), (0x0100, 0x0200));
        logo.slot = Some(1);
        assert!(
            endpoint(&logo)
                .unwrap_err()
                .message()
                .contains("leave rack and slot out")
        );
        let mut bad = settings();
        bad.remote_tsap = Some("3.1".into());
        assert!(
            endpoint(&bad)
                .unwrap_err()
                .message()
                .contains("remote_tsap \"3.1\"")
        );
        let mut big = settings();
        big.pdu_size = 2000;
        assert!(
            endpoint(&big)
                .unwrap_err()
                .message()
                .contains("pdu_size 2000")
        );
    }
}
