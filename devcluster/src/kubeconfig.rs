//! A kubeconfig that kube-rs (`Config::infer` with `KUBECONFIG`) and kubectl use as is.

/// The kubeconfig for a server at `url` (`http://127.0.0.1:PORT`), context `devcluster`.
pub fn render(url: &str) -> String {
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
  user: {{}}
"
    )
}
