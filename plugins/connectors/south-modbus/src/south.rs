//! The `south-modbus` connector: its lifecycle and data calls.

use crate::settings::*;
use oibus_plugin_api::{ErrorKind, prelude::*};
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tokio_modbus::{
    Request, Response,
    client::{Client as _, Context as ModbusClient, tcp},
    slave::Slave,
};

/// The Modbus South connector.
pub struct Modbus {
    pub(crate) settings: ModbusSettings,
    pub(crate) ctx: Context,
    pub(crate) client: Option<ModbusClient>,
    /// Whether the server closed the connection of `client`.
    pub(crate) closed: Arc<AtomicBool>,
}

impl Modbus {
    fn target(&self) -> String {
        format!("{}:{}", self.settings.host, self.settings.port)
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.settings.timeout_ms)
    }
}

/// Opens a connection to the server of `settings`; the flag says when the server closed it.
pub(crate) async fn open(settings: ModbusSettings) -> Result<(ModbusClient, Arc<AtomicBool>)> {
    let target = format!("{}:{}", settings.host, settings.port);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(&target)
        .await
        .map_err(|e| PluginError::transient(format!("host {target}: cannot resolve: {e}")))?
        .collect();
    let address = addresses
        .first()
        .copied()
        .ok_or_else(|| PluginError::transient(format!("host {target}: no address")))?;
    let slave = Slave(settings.unit_id);
    let timeout = Duration::from_millis(settings.timeout_ms);
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            let (stream, closed) = crate::stream::Watched::new(stream);
            Ok((tcp::attach_slave(stream, slave), closed))
        }
        Ok(Err(e)) => Err(PluginError::transient(format!(
            "Modbus server {target}: cannot connect: {e}"
        ))),
        Err(_) => Err(PluginError::transient(format!(
            "Modbus server {target}: no answer within {} ms",
            settings.timeout_ms
        ))),
    }
}

impl Modbus {
    /// Reads one planned request; the words (or bits as 0/1) of its range.
    async fn read(&mut self, request: &crate::plan::Request) -> Result<Vec<u16>> {
        let target = self.target();
        let timeout = self.timeout();
        let client = self.client.as_mut().ok_or_else(|| {
            PluginError::connection_lost(format!("Modbus server {target}: not connected"))
        })?;
        let (start, count) = (request.start, request.count);
        // The raw call, not the `Reader` helpers, which assert (in debug builds) that the server
        // answered as many as asked: a short answer is the server's fault, told by name below.
        let call = client.call(match request.register {
            RegisterType::Coil => Request::ReadCoils(start, count),
            RegisterType::DiscreteInput => Request::ReadDiscreteInputs(start, count),
            RegisterType::HoldingRegister => Request::ReadHoldingRegisters(start, count),
            RegisterType::InputRegister => Request::ReadInputRegisters(start, count),
        });
        let call = async {
            call.await.map(|answer| {
                answer.map(|response| match response {
                    // Bits come in whole bytes: those past the count asked are padding.
                    Response::ReadCoils(bits) | Response::ReadDiscreteInputs(bits) => bits
                        .into_iter()
                        .take(usize::from(count))
                        .map(u16::from)
                        .collect(),
                    Response::ReadHoldingRegisters(words) | Response::ReadInputRegisters(words) => {
                        words
                    }
                    // tokio-modbus refuses an answer to another function before this.
                    _ => Vec::new(),
                })
            })
        };
        let what = format!(
            "{:?} {start}..{}",
            request.register,
            u32::from(start) + u32::from(count)
        );
        match tokio::time::timeout(timeout, call).await {
            // A well-formed answer with fewer registers than asked: the items past its end are
            // named (read again one by one), never silently left without a value.
            Ok(Ok(Ok(words))) if words.len() < usize::from(count) => Err(PluginError::new(
                SHORT_ANSWER,
                format!(
                    "Modbus server {target} answered {} of the {count} {} asked ({what})",
                    words.len(),
                    if request.register.is_bits() {
                        "bit(s)"
                    } else {
                        "register(s)"
                    },
                ),
            )),
            Ok(Ok(Ok(words))) => Ok(words),
            // The server answered with an exception: the request itself is wrong (address…).
            Ok(Ok(Err(code))) => Err(PluginError::invalid_settings(format!(
                "Modbus server {target} refused reading {what}: {code}"
            ))),
            Ok(Err(e)) => {
                self.client = None;
                let why = if self.closed.load(Ordering::Relaxed) {
                    "the server closed the connection".to_string()
                } else {
                    e.to_string()
                };
                Err(PluginError::connection_lost(format!(
                    "Modbus server {target}: reading {what} failed: {why}"
                )))
            }
            Err(_) => {
                self.client = None;
                Err(PluginError::connection_lost(format!(
                    "Modbus server {target}: no answer to reading {what} within {} ms",
                    self.settings.timeout_ms
                )))
            }
        }
    }
}

impl Connector for Modbus {
    type Settings = ModbusSettings;

    fn new(settings: ModbusSettings, ctx: Context) -> Result<Self> {
        Ok(Self {
            settings,
            ctx,
            client: None,
            closed: Arc::default(),
        })
    }

    async fn connect(&mut self) -> Result<()> {
        let (client, closed) = open(self.settings.clone()).await?;
        (self.client, self.closed) = (Some(client), closed);
        tracing::info!("connected to {}", self.target());
        Ok(())
    }

    async fn disconnect(&mut self) -> Result<()> {
        if let Some(mut c) = self.client.take() {
            let _ = c.disconnect().await;
        }
        Ok(())
    }
}

impl South for Modbus {
    type ItemSettings = ItemSettings;
}

/// The kind of error of an answer with fewer registers than asked: like a refusal, it is about
/// the items, which are read again one by one.
pub(crate) const SHORT_ANSWER: ErrorKind = ErrorKind::INVALID_SETTINGS;

pub(crate) fn check(item: &SouthItem<ItemSettings>) -> Result<()> {
    let width = item.settings.data_type.width();
    if u32::from(item.settings.address) + u32::from(width) > 65_536 {
        return Err(PluginError::invalid_settings(format!(
            "item {:?}: address {} with data_type {:?} ({width} addresses) goes past 65535, the \
             last Modbus address",
            item.name, item.settings.address, item.settings.data_type
        )));
    }
    let bits = item.settings.register.is_bits();
    let is_bool = item.settings.data_type == DataType::Bool;
    if bits != is_bool {
        return Err(PluginError::invalid_settings(format!(
            "item {:?}: data_type {:?} does not fit register {:?} (bits are `bool`, registers are numbers)",
            item.name, item.settings.data_type, item.settings.register
        )));
    }
    Ok(())
}

impl Modbus {
    /// The value of `item` in the words of a request, at `offset`.
    fn decode(
        item: &SouthItem<ItemSettings>,
        offset: u16,
        words: &[u16],
    ) -> std::result::Result<DataValue, String> {
        let at = usize::from(offset);
        let width = usize::from(item.settings.data_type.width());
        let slice = words.get(at..at + width).ok_or_else(|| {
            format!(
                "item {:?}: the answer of {} word(s) holds nothing at offset {at}",
                item.name,
                words.len()
            )
        })?;
        if item.settings.register.is_bits() {
            Ok(DataValue::Bool(slice[0] != 0))
        } else {
            crate::decode::registers(slice, &item.settings)
                .map_err(|e| format!("item {:?}: {e}", item.name))
        }
    }
}

impl QueriesLastPoint for Modbus {
    /// Reads every item, in as few requests as the plan allows, and hands over what was read.
    async fn last_point_query(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<()> {
        self.read_items(items).await?.hand_over(&self.ctx).await
    }
}

impl TestsItem for Modbus {
    /// Reads the item's registers once, as a scan would.
    async fn test_item(&mut self, item: &SouthItem<ItemSettings>) -> Result<Vec<OibusValue>> {
        self.read_items(std::slice::from_ref(item))
            .await?
            .into_test()
    }
}

impl Modbus {
    /// Reads items in as few requests as the plan allows. A grouped request the server refuses
    /// (an address it does not have), or answers with fewer registers than asked, is read again
    /// item by item: the items that work are read, each item the server refuses is reported by
    /// name (the first refusal is returned beside the values), and the scan goes on.
    async fn read_items(&mut self, items: &[SouthItem<ItemSettings>]) -> Result<PartialRead> {
        let mut refused = None;
        // An item that cannot be read is named; the others are read.
        let items: Vec<&SouthItem<ItemSettings>> = items
            .iter()
            .filter(|item| match check(item) {
                Ok(()) => true,
                Err(e) => {
                    self.ctx.item_failed(&item.name, e.message());
                    refused.get_or_insert(e);
                    false
                }
            })
            .collect();
        let settings: Vec<&ItemSettings> = items.iter().map(|i| &i.settings).collect();
        let requests = crate::plan::plan(&settings, self.settings.max_gap);
        let now = Timestamp::now();
        let mut values = Vec::with_capacity(items.len());
        for request in &requests {
            // The request, or its items one by one when the server refuses it.
            let parts: Vec<(crate::plan::Request, Vec<u16>)> = match self.read(request).await {
                Ok(w) => vec![(request.clone(), w)],
                Err(e) if e.kind == ErrorKind::INVALID_SETTINGS => {
                    let mut parts = Vec::new();
                    for &(i, offset) in &request.items {
                        let alone = crate::plan::Request {
                            register: request.register,
                            start: request.start + offset,
                            count: items[i].settings.data_type.width().max(1),
                            items: vec![(i, 0)],
                        };
                        let result = if request.items.len() > 1 {
                            self.read(&alone).await
                        } else {
                            Err(e.clone())
                        };
                        match result {
                            Ok(w) => parts.push((alone, w)),
                            Err(e) if e.kind == ErrorKind::INVALID_SETTINGS => {
                                let e = PluginError::invalid_settings(format!(
                                    "item {:?}: {}",
                                    items[i].name,
                                    e.message()
                                ));
                                self.ctx.item_failed(&items[i].name, e.message());
                                refused.get_or_insert(e);
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    parts
                }
                Err(e) => return Err(e),
            };
            for (part, words) in parts {
                for &(i, offset) in &part.items {
                    match Self::decode(items[i], offset, &words) {
                        Ok(value) => {
                            self.ctx.item_ok(&items[i].name);
                            values.push(OibusValue::new(items[i].name.as_str(), now, value));
                        }
                        Err(e) => {
                            self.ctx.item_failed(&items[i].name, &e);
                            refused.get_or_insert(PluginError::invalid_settings(e));
                        }
                    }
                }
            }
        }
        Ok(PartialRead {
            values,
            first_error: refused,
        })
    }
}
