//! The repository fetcher against a real HTTP server on 127.0.0.1: single flight, TTL,
//! conditional revalidation, errors that never replace good data, limits, auth.

use crate::common;
use common::repo_server::{Reply, RepoServer};
use hoist::repo::fetch::{Auth, FetchError, FetchOptions, Fetcher, Freshness, Source};
use hoist::repo::format::Index;
use std::sync::Arc;
use std::time::Duration;

const INDEX: &str = "packages:\n- name: cert-manager\n  latestVersion: v1.17.0+2\n- name: velero\n";

fn fetcher(opts: FetchOptions) -> Arc<Fetcher> {
    Arc::new(Fetcher::new(opts, Auth::None))
}

#[tokio::test]
async fn concurrent_cold_lookups_make_exactly_one_request() {
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    let f = fetcher(FetchOptions::default());
    let lookups = (0..32).map(|_| {
        let (f, url) = (f.clone(), server.url("/index.yaml"));
        tokio::spawn(async move { f.get::<Index>(&url, "index.yaml", Freshness::Cached).await })
    });
    for l in lookups {
        let got = l.await.expect("task").expect("fetched");
        assert_eq!(got.value.packages.len(), 2);
    }
    assert_eq!(server.hits("/index.yaml"), 1);
}

#[tokio::test]
async fn within_the_ttl_no_request_and_after_it_one_conditional_request_answered_304() {
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    let url = server.url("/index.yaml");
    let long = fetcher(FetchOptions::default());
    assert_eq!(
        long.get::<Index>(&url, "index.yaml", Freshness::Cached)
            .await
            .expect("cold")
            .source,
        Source::Network
    );
    for _ in 0..10 {
        assert_eq!(
            long.get::<Index>(&url, "index.yaml", Freshness::Cached)
                .await
                .expect("warm")
                .source,
            Source::Cache
        );
    }
    assert_eq!(server.hits("/index.yaml"), 1, "within the TTL: no request");

    // A TTL of zero: every lookup is past it.
    let expired = fetcher(FetchOptions {
        ttl: Duration::ZERO,
        ..Default::default()
    });
    expired
        .get::<Index>(&url, "index.yaml", Freshness::Cached)
        .await
        .expect("cold");
    let again = expired
        .get::<Index>(&url, "index.yaml", Freshness::Cached)
        .await
        .expect("revalidated");
    assert_eq!(again.source, Source::Revalidated);
    assert_eq!(again.value.packages.len(), 2);
    assert_eq!(
        (server.hits("/index.yaml"), server.not_modified()),
        (3, 1),
        "one conditional request, answered 304"
    );
}

#[tokio::test]
async fn bad_answers_are_clear_errors_and_leave_the_good_data_in_place() {
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    let url = server.url("/index.yaml");
    let f = fetcher(FetchOptions {
        max_body: 1024,
        timeout: Duration::from_millis(300),
        ..Default::default()
    });
    f.get::<Index>(&url, "index.yaml", Freshness::Cached)
        .await
        .expect("good data first");

    let cases: Vec<(Reply, &str)> = vec![
        (Reply::Status(500), "answered HTTP 500"),
        (
            Reply::Body("packages: [ {name: ".into()),
            "index.yaml is malformed",
        ),
        (
            Reply::Body(format!("packages: []\n#{}", "x".repeat(4096))),
            "larger than the 1024-byte limit",
        ),
        (Reply::Slow(Duration::from_secs(3)), "did not answer within"),
    ];
    for (reply, says) in cases {
        server.set("/index.yaml", reply);
        let got = f
            .get::<Index>(&url, "index.yaml", Freshness::Revalidate)
            .await
            .expect("stale data is served");
        let err = got.stale.expect("the error is reported").to_string();
        assert!(err.contains(says), "{err:?} should say {says:?}");
        assert_eq!(got.value.packages.len(), 2, "the good data stays");
    }
}

#[tokio::test]
async fn a_cold_failure_is_an_error_naming_the_url() {
    let server = RepoServer::start().await;
    let f = fetcher(FetchOptions::default());
    let err = f
        .get::<Index>(
            &server.url("/missing/index.yaml"),
            "index.yaml",
            Freshness::Cached,
        )
        .await
        .expect_err("404");
    assert!(
        matches!(&err, FetchError::Status { code: 404, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("/missing/index.yaml"));
    let unreachable = f
        .get::<Index>(
            "http://127.0.0.1:9/index.yaml",
            "index.yaml",
            Freshness::Cached,
        )
        .await
        .expect_err("closed port");
    assert_eq!(unreachable.metric_label(), "unreachable");
}

#[tokio::test]
async fn bearer_auth_is_sent_and_clear_forgets_everything() {
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    *server.state.require_token.lock().expect("lock") = Some("s3cret".into());
    let url = server.url("/index.yaml");
    let anonymous = fetcher(FetchOptions::default());
    let err = anonymous
        .get::<Index>(&url, "index.yaml", Freshness::Cached)
        .await
        .expect_err("401");
    assert!(matches!(err, FetchError::Status { code: 401, .. }));
    let f = Fetcher::new(FetchOptions::default(), Auth::Bearer("s3cret".into()));
    f.get::<Index>(&url, "index.yaml", Freshness::Cached)
        .await
        .expect("authorized");
    f.clear().await;
    assert_eq!(
        f.get::<Index>(&url, "index.yaml", Freshness::Cached)
            .await
            .expect("again")
            .source,
        Source::Network
    );
}

#[tokio::test]
async fn a_restart_serves_from_the_disk_cache_before_the_network() {
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Body(INDEX.into()));
    let url = server.url("/index.yaml");
    let dir = tempfile::tempdir().expect("tempdir");
    let with_disk = |ttl: Duration| {
        fetcher(FetchOptions {
            ttl,
            disk: Some(dir.path().to_path_buf()),
            ..Default::default()
        })
    };

    let before = with_disk(Duration::from_secs(300));
    assert_eq!(
        before
            .get::<Index>(&url, "index.yaml", Freshness::Cached)
            .await
            .expect("cold")
            .source,
        Source::Network
    );
    drop(before);

    // "Restart": a new fetcher over the same directory answers without the network.
    let after = with_disk(Duration::from_secs(300));
    let got = after
        .get::<Index>(&url, "index.yaml", Freshness::Cached)
        .await
        .expect("from disk");
    assert_eq!((got.source, got.value.packages.len()), (Source::Disk, 2));
    assert_eq!(
        server.hits("/index.yaml"),
        1,
        "no refetch after the restart"
    );

    // Past the TTL it revalidates with the stored ETag: one 304, no body.
    let expired = with_disk(Duration::ZERO);
    assert_eq!(
        expired
            .get::<Index>(&url, "index.yaml", Freshness::Cached)
            .await
            .expect("304")
            .source,
        Source::Revalidated
    );
    assert_eq!((server.hits("/index.yaml"), server.not_modified()), (2, 1));

    // And with the server down, the disk copy is served with the error.
    server.set("/index.yaml", Reply::Status(503));
    let down = with_disk(Duration::ZERO);
    let stale = down
        .get::<Index>(&url, "index.yaml", Freshness::Cached)
        .await
        .expect("stale from disk");
    assert_eq!(stale.value.packages.len(), 2);
    assert!(stale.stale.is_some_and(|e| e.to_string().contains("503")));
}

#[tokio::test]
async fn the_repositorys_cache_headers_decide_freshness_over_the_ttl() {
    let server = RepoServer::start().await;
    let with = |cc: &str| Reply::BodyWith(INDEX.into(), vec![("cache-control", cc.into())]);
    server.set("/revalidate.yaml", with("max-age=0"));
    server.set("/never.yaml", with("no-store"));
    server.set("/hour.yaml", with("public, max-age=3600"));
    server.set(
        "/expired.yaml",
        Reply::BodyWith(
            INDEX.into(),
            vec![("expires", "Thu, 01 Jan 1970 00:00:00 GMT".into())],
        ),
    );
    let disk = tempfile::tempdir().expect("dir");
    let f = fetcher(FetchOptions {
        disk: Some(disk.path().to_path_buf()),
        ..Default::default()
    });
    let get = |path: &'static str| {
        let (f, url) = (f.clone(), server.url(path));
        async move {
            f.get::<Index>(&url, "index.yaml", Freshness::Cached)
                .await
                .expect("fetched")
                .source
        }
    };
    // max-age=0 and an Expires in the past: revalidated at once, despite a 5 min TTL.
    for path in ["/revalidate.yaml", "/expired.yaml"] {
        assert_eq!(get(path).await, Source::Network);
        assert_eq!(get(path).await, Source::Revalidated, "{path}");
    }
    // no-store: fetched whole each time (nothing kept to revalidate), nothing on disk.
    assert_eq!(get("/never.yaml").await, Source::Network);
    assert_eq!(get("/never.yaml").await, Source::Network);
    assert_eq!(server.hits("/never.yaml"), 2);
    let on_disk: Vec<String> = std::fs::read_dir(hoist::repo::fetch::disk_dir(disk.path()))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !on_disk.iter().any(|n| n.contains("never")),
        "a no-store answer was written to disk: {on_disk:?}"
    );
    // max-age=3600: served from the cache within it.
    assert_eq!(get("/hour.yaml").await, Source::Network);
    assert_eq!(get("/hour.yaml").await, Source::Cache);
    assert_eq!(server.hits("/hour.yaml"), 1);
}

#[tokio::test]
async fn memory_holds_at_most_its_bound_however_many_files_are_browsed() {
    let server = RepoServer::start().await;
    let body = format!("{INDEX}# {}\n", "x".repeat(900));
    for i in 0..40 {
        server.set(&format!("/p{i}.yaml"), Reply::Body(body.clone()));
    }
    // Room for about five ~1 KB files.
    let f = fetcher(FetchOptions {
        max_memory: 5 * 1024,
        ..Default::default()
    });
    for i in 0..40 {
        let url = server.url(&format!("/p{i}.yaml"));
        f.get::<Index>(&url, "index.yaml", Freshness::Cached)
            .await
            .expect("fetched");
    }
    let held = f.cached_entries();
    assert!(held <= 5, "{held} files held in 5 KiB");
    assert!(held >= 1, "the cache still caches");
}

#[tokio::test]
async fn a_redirect_loop_is_an_error_that_says_so() {
    let server = RepoServer::start().await;
    server.set("/a.yaml", Reply::Redirect(server.url("/b.yaml")));
    server.set("/b.yaml", Reply::Redirect(server.url("/a.yaml")));
    let e = fetcher(FetchOptions::default())
        .get::<Index>(&server.url("/a.yaml"), "index.yaml", Freshness::Cached)
        .await
        .expect_err("a loop");
    assert!(matches!(e, FetchError::Redirect { .. }), "{e:?}");
    assert!(e.to_string().contains("more than 5 redirects"), "{e}");
}

/// A clientset with one repository, `r`, at `url`.
fn repository(url: &str, opts: FetchOptions) -> Arc<hoist::repo::clientset::RepoClient> {
    use hoist::sink::Sink;
    let set = hoist::repo::clientset::Clientset::new(opts);
    let repo = hoist::types::PackageRepository::new(
        "r",
        hoist::types::PackageRepositorySpec {
            url: url.to_string(),
            auth: None,
        },
    );
    set.apply(&repo);
    set.get("r").expect("the repository's client")
}

#[tokio::test]
async fn names_and_versions_from_a_repository_or_a_tenant_never_change_what_is_fetched() {
    let repo = RepoServer::start().await;
    let client = repository(&repo.url("/"), FetchOptions::default());
    for bad in ["../secret", "a?x=1", "a#frag", "a%2f..", "A", "a/b"] {
        let e = client
            .versions(bad, Freshness::default())
            .await
            .err()
            .unwrap_or_else(|| panic!("{bad:?} was fetched"));
        assert!(
            matches!(&e, FetchError::InvalidUrl { reason, .. } if reason.contains("DNS-1123")),
            "{bad:?}: {e}"
        );
    }
    for bad in ["v1.0.0/../../index", "v1.0.0?x", "1.0", "v1.0.0#"] {
        assert!(
            client
                .manifest("hello", bad, Freshness::default())
                .await
                .is_err(),
            "{bad:?}"
        );
        assert!(
            client
                .objects("hello", bad, "manifests.yaml", Freshness::default())
                .await
                .is_err(),
            "{bad:?}"
        );
    }
    assert_eq!(repo.total_hits(), 0, "nothing reached the repository");
}

#[tokio::test]
async fn a_manifest_url_cannot_reach_a_private_address_of_another_host() {
    let repo = RepoServer::start().await;
    // An internal service on this machine that a repository author would like read.
    let internal = RepoServer::start().await;
    internal.set("/secret.yaml", Reply::Body("kind: ConfigMap\n".into()));
    let port = reqwest::Url::parse(&internal.url("/"))
        .expect("url")
        .port()
        .expect("port");
    let by_name = format!("http://localhost:{port}/secret.yaml");
    let client = repository(&repo.url("/"), FetchOptions::default());
    // A name that resolves to loopback: refused at connection time, nothing sent.
    let refused = client
        .objects("hello", "v1.0.0", &by_name, Freshness::default())
        .await;
    assert!(
        matches!(refused, Err(FetchError::Unreachable { .. })),
        "{:?}",
        refused.err()
    );
    // An address written into the URL: refused before any connection.
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.96.0.1/api",
        "http://[::ffff:a9fe:a9fe]/",
    ] {
        let e = client
            .objects("hello", "v1.0.0", url, Freshness::default())
            .await
            .err()
            .unwrap_or_else(|| panic!("{url} was fetched"));
        assert!(
            e.to_string().contains("--allow-private-manifest-hosts"),
            "{url}: {e}"
        );
    }
    assert_eq!(internal.hits("/secret.yaml"), 0);
    // The repository's own host is the administrator's choice (the demo's is loopback).
    let same_host = internal.url("/secret.yaml");
    client
        .objects("hello", "v1.0.0", &same_host, Freshness::default())
        .await
        .expect("the repository's own host (127.0.0.1) may be private");
    // And with --allow-private-manifest-hosts, any.
    let open = repository(
        &repo.url("/"),
        FetchOptions {
            allow_private_hosts: true,
            ..FetchOptions::default()
        },
    );
    open.objects("hello", "v1.0.0", &by_name, Freshness::default())
        .await
        .expect("allowed by the operator's flag");
}
