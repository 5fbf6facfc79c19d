//! SASL authentication of a new connection: `SaslHandshake` names the mechanism, then the
//! mechanism's messages travel in `SaslAuthenticate` requests (rsasl computes them).

use crate::{
    settings::Sasl,
    wire::{Connection, WireError},
};
use bytes::Bytes;
use kafka_protocol::{
    messages::{SaslAuthenticateRequest, SaslHandshakeRequest},
    protocol::StrBytes,
};
use oibus_plugin_api::prelude::*;
use rsasl::prelude::{Mechname, SASLClient, SASLConfig, State};

/// Why an authentication failed.
pub(crate) enum AuthError {
    /// The connection broke: try again.
    Wire(WireError),
    /// The brokers refused the mechanism or the credentials: a settings matter.
    Refused(String),
}

impl From<WireError> for AuthError {
    fn from(e: WireError) -> Self {
        Self::Wire(e)
    }
}

/// The most exchanges a mechanism may take (SCRAM takes two).
const MAX_STEPS: usize = 8;

/// Authenticates `conn` with `sasl` (`authenticate_version`: the agreed `SaslAuthenticate`
/// version, at least 0).
pub(crate) async fn authenticate(
    conn: &mut Connection,
    sasl: &Sasl,
    authenticate_version: i16,
) -> Result<(), AuthError> {
    let name = sasl.mechanism.name();
    let handshake = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(name));
    let answer = conn.call(&handshake, 1).await?;
    if answer.error_code != 0 {
        let offered: Vec<&str> = answer.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(AuthError::Refused(format!(
            "broker {} does not offer SASL {name} (it offers: {})",
            conn.addr,
            offered.join(", ")
        )));
    }
    let config = SASLConfig::with_credentials(None, sasl.username.clone(), sasl.password.clone())
        .map_err(|e| AuthError::Refused(format!("SASL {name}: {e}")))?;
    let mechname = Mechname::parse(name.as_bytes())
        .map_err(|e| AuthError::Refused(format!("SASL {name}: {e}")))?;
    let mut session = SASLClient::new(config)
        .start_suggested(&[mechname])
        .map_err(|e| AuthError::Refused(format!("SASL {name}: {e}")))?;
    let mut input: Option<Bytes> = None;
    for _ in 0..MAX_STEPS {
        let mut out = Vec::new();
        let state = session.step(input.as_deref(), &mut out).map_err(|e| {
            AuthError::Refused(format!("SASL {name} with broker {}: {e}", conn.addr))
        })?;
        if !state.has_sent_message() {
            return Ok(());
        }
        let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(out));
        let answer = conn.call(&request, authenticate_version).await?;
        if answer.error_code != 0 {
            let why = answer
                .error_message
                .as_ref()
                .map(|m| m.as_str().chars().take(500).collect::<String>())
                .unwrap_or_else(|| format!("error {}", answer.error_code));
            return Err(AuthError::Refused(format!(
                "broker {} refused the SASL {name} credentials of {:?}: {why}",
                conn.addr, sasl.username
            )));
        }
        if matches!(state, State::Finished(_)) {
            return Ok(());
        }
        input = Some(answer.auth_bytes);
    }
    Err(AuthError::Refused(format!(
        "SASL {name} with broker {}: not done after {MAX_STEPS} exchanges",
        conn.addr
    )))
}
