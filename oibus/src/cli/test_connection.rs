//! `oibus test-connection`: validate settings, create the connector, run `test_connection`.

use super::scratch::{ScratchConnector, TypeArgs};
use oibus_engine::connector::{self, DiscardSink};
use std::sync::Arc;

/// Arguments of `oibus test-connection`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    of: TypeArgs,
}

/// Runs the command; exit code 0 when the connection works, 1 otherwise.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let trial = ScratchConnector::open(&args.of)?;
    let result = trial.runtime.block_on(async {
        let c = connector::create(
            &trial.registry,
            trial.spec("test-connection", &args.of.type_id),
            Arc::new(DiscardSink),
            tokio::runtime::Handle::current(),
        )?;
        c.test_connection().await
    });
    match result {
        Ok(()) => {
            println!("connection OK ({})", args.of.type_id);
            Ok(0)
        }
        Err(e) => {
            eprintln!("connection FAILED: {e}");
            Ok(1)
        }
    }
}
