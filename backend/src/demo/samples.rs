//! The sample repository (`samples/repository/`, embedded in the binary) served over
//! real HTTP on a loopback port, and registered as the default PackageRepository.
//!
//! Guarantees: files are served as a static web server would, with a strong `ETag`
//! (a hash of the content) and `304 Not Modified` for a matching `If-None-Match`, so
//! the fetcher's revalidation path runs in the demo exactly as against a real
//! repository. Unknown paths are 404.

use crate::types::{PackageRepository, PackageRepositorySpec};
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

/// The repository's files, as committed under `samples/repository/`.
pub static REPOSITORY: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../samples/repository");

/// The name the demo registers the sample repository under.
pub const REPOSITORY_NAME: &str = "hoist-samples";

fn etag(bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("\"{:016x}-{}\"", h.finish(), bytes.len())
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(f) = REPOSITORY.get_file(&path) else {
        return (StatusCode::NOT_FOUND, format!("{path}: no such file\n")).into_response();
    };
    let tag = etag(f.contents());
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == tag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut resp = f.contents().to_vec().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    resp
}

/// A running sample repository server; stops when dropped.
pub struct SampleRepository {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl SampleRepository {
    /// Serves the embedded repository on `127.0.0.1` at a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().route("/{*path}", axum::routing::get(file));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "sample repository server failed");
            }
        });
        Ok(Self { addr, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Creates or updates the `hoist-samples` PackageRepository to point here, as the
    /// default. The port differs on every start, so the spec is applied each time (the
    /// clientset swaps its client when the watch sees the new URL).
    pub async fn register(&self, client: &Client) -> Result<(), kube::Error> {
        let api: Api<PackageRepository> = Api::all(client.clone());
        let mut repo = PackageRepository::new(
            REPOSITORY_NAME,
            PackageRepositorySpec {
                url: self.url(),
                auth: None,
            },
        );
        repo.set_default();
        let pp = PatchParams::apply("hoist-demo").force();
        api.patch(REPOSITORY_NAME, &pp, &Patch::Apply(&repo))
            .await?;
        Ok(())
    }
}

impl Drop for SampleRepository {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::REPOSITORY;
    use crate::repo::format::{Index, PackageManifest, Versions, parse};
    use crate::repo::version;

    fn read<T: serde::de::DeserializeOwned>(path: &str) -> T {
        let f = REPOSITORY
            .get_file(path)
            .unwrap_or_else(|| panic!("{path} is missing from samples/repository"));
        parse(path, f.contents()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every package in the index has a versions file, every version a package.yaml
    /// that names the package and parses, every manifest URL a file beside it, and
    /// every dependency a package in the same repository with a version in range.
    #[test]
    fn sample_repository_is_complete_and_consistent() {
        let index: Index = read("index.yaml");
        assert!(index.packages.len() >= 5);
        let names: Vec<&str> = index.packages.iter().map(|p| p.name.as_str()).collect();
        for entry in &index.packages {
            let versions: Versions = read(&format!("{}/versions.yaml", entry.name));
            assert!(
                !versions.versions.is_empty(),
                "{} has no versions",
                entry.name
            );
            for v in &versions.versions {
                let dir = format!("{}/{}", entry.name, v.version);
                let m: PackageManifest = read(&format!("{dir}/package.yaml"));
                assert_eq!(m.name, entry.name);
                assert_eq!(m.scope, entry.scope, "{dir}: scope differs from the index");
                for file in &m.manifests {
                    assert!(
                        REPOSITORY.get_file(format!("{dir}/{}", file.url)).is_some(),
                        "{dir}: manifest {} is missing",
                        file.url
                    );
                }
                for d in &m.dependencies {
                    assert!(
                        names.contains(&d.name.as_str()),
                        "{dir}: unknown dependency {}",
                        d.name
                    );
                    let dv: Versions = read(&format!("{}/versions.yaml", d.name));
                    let (best, invalid) =
                        version::latest(dv.versions.iter().map(|v| v.version.as_str()));
                    assert!(invalid.is_empty());
                    if let (Some(range), Some(best)) = (&d.version, best) {
                        let req = version::Range::parse(range).expect("a valid range");
                        assert!(best.matches(&req), "{dir}: no {} matches {range}", d.name);
                    }
                }
            }
        }
    }
}
