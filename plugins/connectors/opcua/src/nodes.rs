//! Node ids as an operator writes them, and the server's limits.

use opcua::{
    client::Session,
    types::{NodeId, ReadValueId, TimestampsToReturn, VariableId, Variant},
};

/// Parses `ns=2;s=…`, `i=…`, `ns=2;g=…`, `ns=2;b=…`, or `nsu=URI;s=…` (the URI resolved through
/// the server's namespace array). The error says what is wrong and the forms that work.
pub async fn parse(session: &Session, text: &str) -> Result<NodeId, String> {
    let forms = "expected ns=<index>;s=<name>, ns=<index>;i=<number>, ns=<index>;g=<GUID>, \
                 ns=<index>;b=<base64>, or nsu=<namespace URI>;s=<name>";
    let text = text.trim();
    let resolved;
    let plain = match text.strip_prefix("nsu=") {
        Some(rest) => {
            let Some((uri, id)) = rest.split_once(';') else {
                return Err(format!(
                    "node id {text:?}: no ';' after the namespace URI ({forms})"
                ));
            };
            let index = session.get_namespace_index(uri).await.map_err(|e| {
                format!(
                    "node id {text:?}: the server has no namespace {uri:?} ({})",
                    crate::convert::status_text(e.status())
                )
            })?;
            resolved = format!("ns={index};{id}");
            resolved.as_str()
        }
        None => text,
    };
    plain
        .parse::<NodeId>()
        .map_err(|_| format!("node id {text:?} is not a node id ({forms})"))
}

/// One of the server's operation limits (`MaxNodesPerRead`…), if it sets one (0 means no limit).
pub async fn operation_limit(session: &Session, limit: VariableId) -> Option<usize> {
    let node: NodeId = limit.into();
    let read = session
        .read(&[ReadValueId::from(node)], TimestampsToReturn::Neither, 0.0)
        .await
        .ok()?;
    let n = match read.first()?.value.as_ref()? {
        Variant::UInt32(n) => *n as usize,
        Variant::UInt16(n) => *n as usize,
        Variant::Int32(n) => usize::try_from(*n).ok()?,
        _ => return None,
    };
    (n > 0).then_some(n)
}
