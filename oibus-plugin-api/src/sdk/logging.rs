//! Forwards the connector's `tracing` events to the host, which logs them inside the connector's span.

use crate::ffi::{HostBox, LogLevel};
use abi_stable::std_types::RStr;
use std::{fmt::Write as _, sync::Arc};
use tracing::{Event, Level, Subscriber, field::Field};
use tracing_subscriber::{
    Layer,
    layer::{Context as LayerContext, SubscriberExt as _},
};

struct Forward {
    host: Arc<HostBox>,
    max: LogLevel,
    /// Targets (prefixes) logged at debug whatever their level.
    quiet: Vec<&'static str>,
}

impl Forward {
    /// The level an event is logged at.
    fn level(&self, metadata: &tracing::Metadata<'_>) -> LogLevel {
        let target = metadata.target();
        if self.quiet.iter().any(|p| target.starts_with(p)) {
            LogLevel::DEBUG
        } else {
            level_of(metadata.level())
        }
    }
}

fn level_of(l: &Level) -> LogLevel {
    match *l {
        Level::ERROR => LogLevel::ERROR,
        Level::WARN => LogLevel::WARN,
        Level::INFO => LogLevel::INFO,
        Level::DEBUG => LogLevel::DEBUG,
        _ => LogLevel::TRACE,
    }
}

/// Collects `message` first, then the other fields as `key=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl tracing::field::Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

impl<S: Subscriber> Layer<S> for Forward {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: LayerContext<'_, S>) -> bool {
        self.level(metadata) <= self.max
    }

    fn on_event(&self, event: &Event<'_>, _: LayerContext<'_, S>) {
        let mut text = Text::default();
        event.record(&mut text);
        text.message.push_str(&text.fields);
        let meta = event.metadata();
        self.host.log(
            self.level(meta),
            RStr::from_str(meta.target()),
            RStr::from_str(&text.message),
        );
    }
}

/// A dispatcher whose events go to this connector's host logger, those of `quiet` targets at
/// debug.
pub(crate) fn dispatch_for(host: Arc<HostBox>, quiet: Vec<&'static str>) -> tracing::Dispatch {
    let max = host.max_level();
    tracing::Dispatch::new(tracing_subscriber::registry().with(Forward { host, max, quiet }))
}
