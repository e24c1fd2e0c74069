//! Fixtures for end-to-end tests: a headless Chromium driven over WebDriver, and the
//! built web app (the fixtures shared with the backend's tests are `hoist-testkit`'s).
//!
//! Chromium and chromedriver come from Debian (`cargo xtask test` installs them); the
//! web app from `trunk build --release` (`cargo xtask test` builds it and sets
//! `HOIST_DIST`). A missing piece fails the test with what to run.

#![forbid(unsafe_code)]

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long any one wait in a browser test may take: generous for shared CI machines.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub use hoist_testkit::cluster::cluster_with_samples;
pub use hoist_testkit::dist::built as dist;

/// `hoist serve` against `client` on a free loopback port, serving the built web app.
pub async fn serve(client: &kube::Client) -> hoist::serve::Running {
    hoist::serve::start(
        client.clone(),
        hoist::serve::ServeOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            dist: dist(),
            ..Default::default()
        },
    )
    .await
    .expect("backend")
}

/// devcluster (started with `options`) with the samples, namespaces team-a and
/// hoist-system, the dashboard and the operator: keep it alive for the test.
pub struct WithOperator {
    pub cluster: devcluster::DevCluster,
    pub client: kube::Client,
    pub samples: hoist::demo::samples::SampleRepository,
    pub backend: hoist::serve::Running,
    pub repositories: hoist::reflector::RepositoryWatch,
    pub operator: hoist::operator::Running,
}

/// See [`WithOperator`].
pub async fn with_operator(options: devcluster::Options) -> WithOperator {
    let (cluster, client, samples) =
        hoist_testkit::cluster::cluster_with_samples_and(options).await;
    for ns in ["team-a", "hoist-system"] {
        hoist::demo::seed::namespace(&client, ns)
            .await
            .expect("namespace");
    }
    let backend = serve(&client).await;
    let repositories =
        hoist::reflector::watch_repositories(&client, Default::default(), "hoist-system");
    repositories.synced().await;
    let operator = hoist::operator::start(
        client.clone(),
        repositories.clientset.clone(),
        Default::default(),
    )
    .await
    .expect("operator");
    WithOperator {
        cluster,
        client,
        samples,
        backend,
        repositories,
        operator,
    }
}

/// Creates Package `name` of hello-web at `version` in `packages`' namespace.
pub async fn install_hello_web(
    packages: &kube::Api<hoist::types::Package>,
    name: &str,
    version: &str,
) {
    let spec = hoist::types::PackageSpec {
        package_info: hoist::types::PackageInfoTemplate {
            name: "hello-web".into(),
            version: version.into(),
            repository_name: None,
        },
        ..Default::default()
    };
    packages
        .create(
            &Default::default(),
            &hoist::types::Package::new(name, hoist::types::NamespacedPackageSpec::from(spec)),
        )
        .await
        .expect("installed");
}

/// Creates a ClusterPackage of hello-web v1.0.0+1 for each name, 16 at a time (as the
/// backend's benchmarks seed: devcluster takes thousands a second).
pub async fn create_cluster_packages(client: &kube::Client, names: &[String]) {
    const IN_FLIGHT: usize = 16;
    let names = std::sync::Arc::new(names.to_vec());
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|worker| {
            let api: kube::Api<hoist::types::ClusterPackage> = kube::Api::all(client.clone());
            let names = names.clone();
            tokio::spawn(async move {
                for name in names.iter().skip(worker).step_by(IN_FLIGHT) {
                    let spec = hoist::types::PackageSpec {
                        package_info: hoist::types::PackageInfoTemplate {
                            name: "hello-web".into(),
                            version: "v1.0.0+1".into(),
                            repository_name: None,
                        },
                        ..Default::default()
                    };
                    let package = hoist::types::ClusterPackage::new(name, spec);
                    api.create(&Default::default(), &package)
                        .await
                        .expect("created");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a seeding task");
    }
}

/// Sets ClusterPackage `name`'s status as the operator would: its `Ready` condition
/// (`True` or not) with `reason` and `message`, through the status subresource.
pub async fn set_ready(
    client: &kube::Client,
    name: &str,
    ready: bool,
    reason: &str,
    message: &str,
) {
    let api: kube::Api<hoist::types::ClusterPackage> = kube::Api::all(client.clone());
    let status = serde_json::json!({"status": {"conditions": [{
        "type": "Ready",
        "status": if ready { "True" } else { "False" },
        "reason": reason,
        "message": message,
    }]}});
    api.patch_status(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&status),
    )
    .await
    .expect("status patched");
}

/// A chromedriver process and a headless Chromium session; both end on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// [`Browser::start`] with more Chromium flags (the browser benchmark's
    /// `--js-flags=--expose-gc`, for one).
    pub async fn start_with(extra_args: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install -y chromium chromium-driver, or cargo xtask test)");
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(extra_args.iter().copied())
            .collect();
        let caps = serde_json::json!({"goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}});
        let caps = caps.as_object().cloned().expect("object");
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen: retry the session until it answers.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let client = loop {
            match ClientBuilder::rustls()
                .expect("tls")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot start a Chromium session: {e}"),
            }
        };
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Waits until `css` matches an element whose text satisfies `pred`; returns the text.
    pub async fn wait_text(&self, css: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = el.text().await
            {
                if pred(&text) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} never matched; last text {last:?}");
    }

    /// Waits until `css` matches exactly `n` elements.
    pub async fn wait_count(&self, css: &str, n: usize) -> Vec<fantoccini::elements::Element> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut last = 0;
        while tokio::time::Instant::now() < deadline {
            let found = self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default();
            if found.len() == n {
                return found;
            }
            last = found.len();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css}: expected {n} elements, last saw {last}");
    }

    /// Saves a screenshot when `HOIST_UPDATE_SCREENSHOTS` is set (to refresh docs/).
    pub async fn screenshot_for_docs(&self, name: &str) {
        if std::env::var_os("HOIST_UPDATE_SCREENSHOTS").is_none() {
            return;
        }
        let png = self.client.screenshot().await.expect("screenshot");
        let path =
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/screenshots")).join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(&path, png).expect("write screenshot");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
