//! A kubeconfig that kube-rs (`Config::infer` with `KUBECONFIG`) and kubectl use as is.

/// The kubeconfig for a server at `url` (`http://127.0.0.1:PORT`), context `devcluster`,
/// with the admin's bearer `token` when the server authenticates.
pub fn render(url: &str, token: Option<&str>) -> String {
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
    server: {url}
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
