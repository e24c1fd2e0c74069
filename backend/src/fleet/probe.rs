//! One probe of a member: `GET /version` (is it there, which version) and the
//! `kube-system` namespace (its UID is the cluster's identity), within one deadline.
//! 401 and 403 are a refused credential; anything else that fails is a failure.

use hoist_core::fleet::probe::Outcome;
use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, Client};
use std::time::Duration;

/// Probes the member behind `client`, giving up after `deadline`.
pub async fn probe(client: &Client, deadline: Duration) -> Outcome {
    let run = async {
        let version = client.apiserver_version().await?;
        let ns = Api::<Namespace>::all(client.clone())
            .get("kube-system")
            .await?;
        Ok::<_, kube::Error>((version.git_version, ns.metadata.uid.unwrap_or_default()))
    };
    match tokio::time::timeout(deadline, run).await {
        Ok(Ok((version, identity))) if !identity.is_empty() => Outcome::Ok { identity, version },
        Ok(Ok(_)) => Outcome::Failed("kube-system has no uid".into()),
        Ok(Err(kube::Error::Api(s))) if s.code == 401 || s.code == 403 => Outcome::Refused(
            format!("the credential is refused ({}): {}", s.code, s.message),
        ),
        Ok(Err(e)) => Outcome::Failed(hoist_core::repo::format::cut(&e.to_string())),
        Err(_) => Outcome::Failed(format!("no answer within {}s", deadline.as_secs())),
    }
}

/// A client for the member a kubeconfig describes (`context`: the current one when
/// unset), with short timeouts: a probe must never hang on a member.
pub async fn member_client(
    kubeconfig: &str,
    context: Option<&str>,
    timeout: Duration,
) -> Result<Client, String> {
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig)
        .map_err(|e| format!("the kubeconfig cannot be read: {e}"))?;
    let opts = kube::config::KubeConfigOptions {
        context: context.map(String::from),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| format!("the kubeconfig cannot be used: {e}"))?;
    config.connect_timeout = Some(timeout);
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);
    Client::try_from(config).map_err(|e| format!("no client for the member: {e}"))
}
