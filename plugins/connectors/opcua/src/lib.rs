//! `opcua`: reads OPC UA servers (async-opcua client, RustCrypto: no OpenSSL).
//!
//! Last-point scans read the items' values with as few Read requests as the server's limit
//! allows; each item is stamped as it chooses and its status code becomes a quality. The
//! gateway's certificate and the trust list of server certificates are shared by the plugin's
//! connectors in the data folder (`<data>/plugin-data/oibus-opcua/pki/{own,trusted}`): the
//! certificate is made at the first start, and a server certificate that is not trusted is
//! saved in `pki/rejected` and named in the error, for the operator to move.

mod browse;
mod certificate;
mod convert;
mod history;
mod nodes;
mod north;
mod request_size;
mod session;
mod settings;
mod south;
mod subscription;
#[cfg(test)]
mod tests;

pub use north::OpcuaNorth;
use oibus_plugin_api::prelude::*;
pub use settings::{ItemSettings, NorthSettings, OpcuaSettings};
use south::OpcuaSouth;

fn plugin() -> Plugin {
    Plugin::new("OPC UA client", "oibus-rs")
        .description("Reads and writes OPC UA servers")
        // async-opcua warns and errs about what the connector reports as its own error (an
        // untrusted certificate, a lost connection), and about its configuration on every
        // connection: at debug, those stay available without filling the operator's log.
        .quiet_libraries(&["opcua"])
        .connector(
            ConnectorType::<OpcuaSouth>::south("opcua", "OPC UA")
                .description("Reads nodes of an OPC UA server, secured and authenticated")
                .queries_last_point()
                .queries_history()
                .queries_subscription()
                .tests_item()
                .browses(),
        )
        .connector(
            ConnectorType::<OpcuaNorth>::north("opcua-north", "OPC UA (write)")
                .description("Writes values to nodes of an OPC UA server, converted to their types")
                .handles_values(),
        )
}

oibus_plugin_api::export_plugin!(plugin);
