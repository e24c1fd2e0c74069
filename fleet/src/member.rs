//! A Cluster's member client: built from its kubeconfig Secret (read from the watch)
//! only after the kubeconfig was checked ([`crate::probe::member_client`]), kept in the
//! [`crate::memory::Memory`] and built again when the Secret or its context changes.

use crate::context::Context;
use crate::probe;
use hoist_kube::types::Cluster;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};

/// Why a Cluster has no member client.
pub(super) enum NoMember {
    /// The Secret or its key is missing: a refused credential, as before.
    Missing(String),
    /// The kubeconfig is refused: nothing was sent, the condition says why.
    Refused(String),
}

/// The member client for `cluster`, rebuilt when its Secret or its context changes;
/// the kubeconfig is checked before anything is built from it.
pub(super) async fn member(cluster: &Cluster, ctx: &Context) -> Result<Client, NoMember> {
    let r = &cluster.spec.kubeconfig_secret_ref;
    let ns = cluster.namespace().unwrap_or_default();
    let secret = ctx
        .secrets
        .get(&ObjectRef::new(&r.name).within(&ns))
        .ok_or_else(|| NoMember::Missing(format!("Secret {ns}/{} does not exist", r.name)))?;
    let key = r.key.as_deref().unwrap_or("value");
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .ok_or_else(|| NoMember::Missing(format!("Secret {ns}/{} has no key {key:?}", r.name)))?;
    let source = format!(
        "{}/{key}/{}",
        secret.resource_version().unwrap_or_default(),
        r.context.as_deref().unwrap_or_default()
    );
    let uid = cluster.uid().unwrap_or_default();
    if let Some(client) = ctx.memory.member(&uid, &source) {
        return Ok(client);
    }
    let text = std::str::from_utf8(&bytes.0).map_err(|_| {
        NoMember::Refused(format!(
            "the kubeconfig is refused: Secret {ns}/{} key {key:?} is not UTF-8 text",
            r.name
        ))
    })?;
    let client = probe::member_client(text, r.context.as_deref(), ctx.opts.request_timeout)
        .await
        .map_err(|e| match e {
            probe::MemberError::Kubeconfig(_) => {
                NoMember::Refused(hoist_core::repo::format::cut(&e.to_string()))
            }
            probe::MemberError::Client(_) => NoMember::Missing(e.to_string()),
        })?;
    ctx.memory.keep_member(uid, source, client.clone());
    Ok(client)
}
