//! A kubeconfig that kube-rs (`Config::infer` with `KUBECONFIG`) and kubectl use as is.

/// The kubeconfig for a server at `url` (`http://127.0.0.1:PORT`), context `devcluster`,
/// with the admin's bearer `token` and the server's CA (`ca_pem`) when it authenticates.
pub fn render(url: &str, token: Option<&str>, ca_pem: Option<&str>) -> String {
    use base64::Engine;
    let ca = ca_pem
        .map(|pem| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    let user = match token {
        Some(t) => format!("{{token: \"{t}\"}}"),
        None => "{}".to_string(),
    };
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: devcluster
  cluster:
    server: {url}{ca}
contexts:
- name: devcluster
  context:
    cluster: devcluster
    namespace: default
    user: devcluster
current-context: devcluster
preferences: {{}}
users:
- name: devcluster
  user: {user}
"
    )
}
