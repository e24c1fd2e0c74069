//! The catalogue as the dashboard sees it: live on the Watch stream, credentials from
//! Secrets, package details resolved from the repositories without API reads.

use crate::common;
use common::repo_server::{Reply, RepoServer};
use common::*;
use hoist::demo::samples::SampleRepository;
use hoist::types::{
    BearerAuth, PackageRepository, PackageRepositoryAuth, PackageRepositorySpec, SecretKeyRef,
};
use hoist_proto::v1 as pb;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

const INDEX: &str = "packages:\n- name: hello\n  shortDescription: says hello\n";

fn token_repository(name: &str, url: &str, secret: &str) -> PackageRepository {
    PackageRepository::new(
        name,
        PackageRepositorySpec {
            url: url.into(),
            auth: Some(PackageRepositoryAuth {
                bearer: Some(BearerAuth {
                    token: None,
                    token_secret_ref: Some(SecretKeyRef {
                        name: secret.into(),
                        key: "token".into(),
                    }),
                }),
                basic: None,
            }),
        },
    )
}

async fn put_secret(client: &kube::Client, name: &str, token: &str) {
    hoist::demo::seed::namespace(client, hoist::serve::DEFAULT_NAMESPACE)
        .await
        .expect("namespace");
    let api: Api<Secret> = Api::namespaced(client.clone(), hoist::serve::DEFAULT_NAMESPACE);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name},
        "stringData": {"token": token},
    }))
    .expect("secret");
    api.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(&secret),
    )
    .await
    .expect("secret applied");
}

/// devcluster with the CRDs, a backend on it once READY, and a Watch stream open.
async fn ready_backend(
    opts: hoist::serve::ServeOptions,
) -> (
    devcluster::DevCluster,
    kube::Client,
    hoist::serve::Running,
    tonic::Streaming<pb::WatchEvent>,
) {
    let (c, client) = cluster().await;
    let running = backend(&client, opts).await;
    running.ready().await;
    let stream = open_watch(&running).await;
    (c, client, running, stream)
}

fn repo<'a>(c: &'a pb::Catalogue, name: &str) -> Option<&'a pb::Repository> {
    c.repositories.iter().find(|r| r.name == name)
}

#[tokio::test]
async fn credentials_come_from_a_secret_and_a_changed_secret_is_used_at_once() {
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    *server.state.require_token.lock().expect("lock") = Some("first".into());
    let (_c, client, running, mut stream) = ready_backend(options()).await;

    // The Secret does not exist yet: the repository says so, and nothing else breaks.
    let repos: Api<PackageRepository> = Api::all(client.clone());
    repos
        .create(
            &PostParams::default(),
            &token_repository("private", &server.base, "repo-token"),
        )
        .await
        .expect("repository");
    let c = catalogue_until(&mut stream, |c| {
        repo(c, "private").is_some_and(|r| !r.error.is_empty())
    })
    .await;
    let error = &repo(&c, "private").expect("listed").error;
    assert!(error.contains("Secret \"repo-token\" not found"), "{error}");

    // The Secret appears: the client is rebuilt with it and the index loads.
    put_secret(&client, "repo-token", "first").await;
    let c = catalogue_until(&mut stream, |c| {
        repo(c, "private").is_some_and(|r| r.error.is_empty() && r.packages == 1)
    })
    .await;
    assert!(repo(&c, "private").expect("listed").has_credentials);
    assert_eq!(c.entries.len(), 1);

    // The token is rotated on the server: after a Refresh the page hears 401.
    *server.state.require_token.lock().expect("lock") = Some("second".into());
    refresh(&running, false).await;
    let c = catalogue_until(&mut stream, |c| {
        repo(c, "private").is_some_and(|r| !r.error.is_empty())
    })
    .await;
    assert!(repo(&c, "private").expect("listed").error.contains("401"));
    // Then in the Secret: the client is rebuilt at once and the next fetch uses the
    // new token, with no restart, no Refresh and no API read per fetch.
    put_secret(&client, "repo-token", "second").await;
    catalogue_until(&mut stream, |c| {
        repo(c, "private").is_some_and(|r| r.error.is_empty() && r.packages == 1)
    })
    .await;
}

#[tokio::test]
async fn the_stream_carries_the_catalogue_and_each_repository_state_live() {
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    let (_c, client, running, mut stream) = ready_backend(options()).await;
    catalogue_until(&mut stream, |c| c.repositories.is_empty()).await;

    let repos: Api<PackageRepository> = Api::all(client.clone());
    add_repository(&client, "main", &server.base).await;
    let c = catalogue_until(&mut stream, |c| c.entries.len() == 1).await;
    assert_eq!(c.entries[0].name, "hello");
    assert_eq!(c.entries[0].repository, "main");
    let r = repo(&c, "main").expect("listed");
    assert!(r.error.is_empty() && r.fetched_unix_ms > 0);

    // The repository breaks; Refresh asks it again: the page hears why, and keeps
    // the packages it had.
    server.set("/index.yaml", Reply::Status(500));
    refresh(&running, false).await;
    let c = catalogue_until(&mut stream, |c| {
        repo(c, "main").is_some_and(|r| !r.error.is_empty())
    })
    .await;
    assert!(repo(&c, "main").expect("listed").error.contains("500"));
    assert_eq!(c.entries.len(), 1, "the last good index is still offered");

    // It is removed: the catalogue forgets it.
    repos
        .delete("main", &Default::default())
        .await
        .expect("remove");
    catalogue_until(&mut stream, |c| {
        c.repositories.is_empty() && c.entries.is_empty()
    })
    .await;
}

fn details_request(name: &str, version: &str) -> pb::PackageDetailsRequest {
    pb::PackageDetailsRequest {
        name: name.into(),
        repository: String::new(),
        version: version.into(),
    }
}

#[tokio::test]
async fn package_details_come_from_the_repository_and_make_no_api_requests() {
    let (c, client) = cluster().await;
    let samples = SampleRepository::start().await.expect("sample repository");
    samples.register(&client).await.expect("registered");
    let api: Api<hoist::types::ClusterPackage> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &package("metrics-agent", "v2.0.1+3"),
    )
    .await
    .expect("an installed package");
    let running = backend(&client, options()).await;
    running.ready().await;
    let mut g = grpc(&running).await;

    // The newest version is computed: versions.yaml says v1.1.0+1, a folder has +2.
    let d = g
        .get_package_details(details_request("hello-web", ""))
        .await
        .expect("details")
        .into_inner();
    assert_eq!(d.version, "v1.1.0+2");
    assert_eq!(d.latest_version, "v1.1.0+2");
    assert_eq!(d.declared_latest_version, "v1.1.0+1");
    assert!(d.differs_from_declared);
    assert_eq!(d.versions, ["v1.1.0+2", "v1.1.0+1", "v1.0.0+1"]);
    assert_eq!(d.repository, hoist::demo::samples::REPOSITORY_NAME);
    assert!(
        d.conformance.is_empty(),
        "the sample is in the real format: {:?}",
        d.conformance
    );
    let replicas = d
        .values
        .iter()
        .find(|v| v.key == "replicas")
        .expect("a value");
    assert_eq!(
        (replicas.r#type.as_str(), replicas.default_value.as_str()),
        ("number", "1")
    );
    assert_eq!(
        d.manifests,
        [format!(
            "{}hello-web/v1.1.0+2/manifests.yaml",
            samples.url()
        )]
    );

    // A chosen version, dependencies with their ranges, and who has it installed.
    let d = g
        .get_package_details(details_request("guestbook", "0.2.0+1"))
        .await
        .expect("details at a version")
        .into_inner();
    assert_eq!(d.version, "v0.2.0+1");
    let deps: Vec<(&str, &str)> = d
        .dependencies
        .iter()
        .map(|x| (x.name.as_str(), x.range.as_str()))
        .collect();
    assert_eq!(deps, [("redis-cache", ">=7.0.0"), ("hello-web", "")]);
    let d = g
        .get_package_details(details_request("metrics-agent", ""))
        .await
        .expect("details")
        .into_inner();
    assert_eq!(d.installed.len(), 1);
    assert_eq!(d.installed[0].name, "metrics-agent");

    // Unknown names and versions are NOT_FOUND and say what exists.
    let e = g
        .get_package_details(details_request("no-such-package", ""))
        .await
        .expect_err("unknown package");
    assert_eq!(e.code(), tonic::Code::NotFound);
    let e = g
        .get_package_details(details_request("hello-web", "v9.9.9"))
        .await
        .expect_err("unknown version");
    assert_eq!(e.code(), tonic::Code::NotFound);
    assert!(e.message().contains("v1.0.0+1"), "{}", e.message());

    // Detail pages and repository listings are served from the caches: no API request
    // at all, PackageRepository GETs included.
    c.counters().reset();
    for name in [
        "hello-web",
        "redis-cache",
        "guestbook",
        "metrics-agent",
        "cert-issuer",
    ] {
        for _ in 0..10 {
            g.get_package_details(details_request(name, ""))
                .await
                .expect("details");
        }
    }
    g.list_repositories(pb::ListRepositoriesRequest {})
        .await
        .expect("repositories");
    assert_eq!(
        c.counters().snapshot(),
        Default::default(),
        "no API requests for 50 detail pages and a repository listing"
    );
}

#[tokio::test]
async fn clearing_the_repository_cache_empties_memory_and_disk_so_the_next_fetch_is_unconditional()
{
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    let disk = tempfile::tempdir().expect("temp dir");
    let mut opts = options();
    opts.fetch.disk = Some(disk.path().to_path_buf());
    let (_c, client, running, mut stream) = ready_backend(opts).await;
    add_repository(&client, "main", &server.base).await;
    catalogue_until(&mut stream, |c| c.entries.len() == 1).await;
    let cache_dir = hoist::repo::fetch::disk_dir(disk.path());
    let files = std::fs::read_dir(&cache_dir).expect("dir").count();
    assert_eq!(files, 1, "the index is kept on disk");
    // A file that is not Hoist's, beside its folder and inside it: a clear keeps both.
    std::fs::write(disk.path().join("settings.json"), "{}").expect("foreign file");
    std::fs::write(cache_dir.join("notes.json"), "{}").expect("foreign file");
    assert_eq!(server.hits("/index.yaml"), 1);

    // A plain Refresh asks conditionally; the answer is a 304 and the data stays.
    refresh(&running, false).await;
    server
        .until("a revalidation", |s| s.not_modified() > 0)
        .await;
    // Clearing forgets it: the next load is a full fetch, not a conditional one.
    let (hits, revalidated) = (server.hits("/index.yaml"), server.not_modified());
    refresh(&running, true).await;
    server
        .until("a fetch after the clear", |s| s.hits("/index.yaml") > hits)
        .await;
    // Had the file stayed on disk, the fetcher would have loaded it and asked with its
    // ETag (a 304): an unconditional request shows memory and disk were both emptied.
    assert_eq!(
        server.not_modified(),
        revalidated,
        "asked without an ETag: nothing was left to revalidate"
    );
    assert!(
        disk.path().join("settings.json").exists(),
        "a foreign file survived"
    );
    assert!(
        cache_dir.join("notes.json").exists(),
        "a foreign file survived"
    );
}

#[tokio::test]
async fn secrets_hoist_may_not_read_leave_it_ready_and_are_named_where_they_matter() {
    use devcluster::{Fault, FaultAction};
    use hoist::reflector::readiness::Phase;
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    *server.state.require_token.lock().expect("lock") = Some("t0ken".into());
    let (c, client) = cluster().await;
    c.faults().add(
        Fault::new(FaultAction::Error {
            code: 403,
            retry_after: None,
        })
        .verb("list")
        .path("/secrets"),
    );
    let running = backend(&client, options()).await;
    running.ready().await;

    // Forbidden again and again (kube-rs retries): still READY, never DEGRADED, since
    // nothing the dashboard shows depends on Secrets.
    let mut rx = running.gate.subscribe();
    let mut seen = std::collections::BTreeSet::new();
    tokio::time::timeout(PATIENCE, async {
        while seen.len() < 3 {
            let at = rx.borrow_and_update().kinds["Secret"].last_error_at;
            seen.extend(at);
            assert_eq!(rx.borrow().phase, Phase::Ready, "{:?}", rx.borrow().message);
            rx.changed().await.expect("gate alive");
        }
    })
    .await
    .expect("three refusals in time");
    let said = running.gate.status().kinds["Secret"]
        .last_error
        .clone()
        .unwrap_or_default();
    assert!(said.contains("grant it list and watch"), "{said}");

    // A repository that needs a Secret says why it fetches without credentials.
    let mut stream = open_watch(&running).await;
    Api::<PackageRepository>::all(client.clone())
        .create(
            &PostParams::default(),
            &token_repository("private", &server.base, "repo-token"),
        )
        .await
        .expect("repository");
    let c2 = catalogue_until(&mut stream, |c| {
        repo(c, "private").is_some_and(|r| !r.error.is_empty())
    })
    .await;
    let error = &repo(&c2, "private").expect("listed").error;
    assert!(
        error.contains("Secret \"repo-token\" cannot be read") && error.contains("grant"),
        "{error}"
    );

    // Leave granted and the Secret there: credentials work, with no restart.
    c.faults().clear();
    put_secret(&client, "repo-token", "t0ken").await;
    catalogue_until(&mut stream, |c| {
        repo(c, "private").is_some_and(|r| r.error.is_empty() && r.packages == 1)
    })
    .await;
}

#[tokio::test]
async fn only_referenced_secret_keys_are_held_and_a_new_reference_reads_a_dropped_one() {
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    *server.state.require_token.lock().expect("lock") = Some("second-token".into());
    let (_c, client, running, mut stream) = ready_backend(options()).await;
    // A Secret with a referenced key and one that is not, and a Secret nobody uses
    // (yet), as Helm releases and TLS keys sit beside credentials in a namespace.
    put_secret(&client, "repo-token", "first-token").await;
    let api: Api<Secret> = Api::namespaced(client.clone(), hoist::serve::DEFAULT_NAMESPACE);
    api.patch(
        "repo-token",
        &PatchParams::apply("extra").force(),
        &Patch::Apply(&json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "repo-token"},
            "stringData": {"tls.key": "-----BEGIN PRIVATE KEY-----"},
        })),
    )
    .await
    .expect("another key");
    put_secret(&client, "later", "second-token").await;
    let repos: Api<PackageRepository> = Api::all(client.clone());
    repos
        .create(
            &PostParams::default(),
            &token_repository("first", &server.base, "repo-token"),
        )
        .await
        .expect("repository");
    catalogue_until(&mut stream, |c| repo(c, "first").is_some()).await;
    let held = running.repositories.held_secret_keys();
    assert_eq!(
        held.get("repo-token"),
        Some(&vec!["token".to_string()]),
        "{held:?}"
    );
    assert_eq!(held.get("later"), Some(&Vec::new()), "{held:?}");

    // A repository that needs the key dropped from "later": the Secrets are read
    // again and it loads with that token.
    repos
        .create(
            &PostParams::default(),
            &token_repository("second", &server.base, "later"),
        )
        .await
        .expect("repository");
    catalogue_until(&mut stream, |c| {
        repo(c, "second").is_some_and(|r| r.error.is_empty() && r.packages == 1)
    })
    .await;
    assert_eq!(
        running.repositories.held_secret_keys().get("later"),
        Some(&vec!["token".to_string()])
    );
}

#[tokio::test]
async fn a_package_page_says_what_would_not_be_installed_as_written_before_anyone_installs() {
    let server = RepoServer::start().await;
    server.set(
        "/index.yaml",
        Reply::Body("packages:\n- name: slip\n  scope: Namespaced\n".into()),
    );
    server.set(
        "/slip/versions.yaml",
        Reply::Body("latestVersion: v1.0.0\nversions:\n- version: v1.0.0\n".into()),
    );
    server.set(
        "/slip/v1.0.0/package.yaml",
        Reply::Body(
            "name: slip\nscope: Namespaced\ndefaultNamespace: slip\nmanifests:\n- url: m.yaml\nvalueDefinitions:\n  replicas:\n    type: number\n    defaultValue: \"1\"\n    targets:\n    - resource: {apiGroup: apps, kind: Deployment, name: web}\n      patch: {op: add, path: /spec/replicas}\n      valueTemplate: \"{{ . }}\"\n    tagets: []\n"
                .into(),
        ),
    );
    server.set(
        "/slip/v1.0.0/m.yaml",
        Reply::Body(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {spec: {containers: []}}}\n"
                .into(),
        ),
    );
    let (_c, client, running, mut stream) = ready_backend(options()).await;
    add_repository(&client, "slips", &server.base).await;
    catalogue_until(&mut stream, |c| {
        repo(c, "slips").is_some_and(|r| r.packages == 1)
    })
    .await;
    let mut g = grpc(&running).await;
    let d = g
        .get_package_details(details_request("slip", ""))
        .await
        .expect("details")
        .into_inner();
    assert_eq!(d.conformance.len(), 2, "{:?}", d.conformance);
    assert!(
        d.conformance.iter().any(|c| c.contains("tagets")),
        "the misspelt field: {:?}",
        d.conformance
    );
    assert!(
        d.conformance
            .iter()
            .any(|c| c.contains("apps Deployment web") && c.contains("apps/<version>")),
        "the target in the old reading, with the fix: {:?}",
        d.conformance
    );
}
