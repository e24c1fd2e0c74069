//! The catalogue merged across repositories served over real HTTP.

use crate::common;
use common::repo_server::{Reply, RepoServer};
use hoist::repo::catalogue::{self, latest_version};
use hoist::repo::clientset::Clientset;
use hoist::repo::fetch::{FetchOptions, Freshness};
use hoist::sink::Sink;
use hoist::types::{PackageRepository, PackageRepositorySpec};

fn repo(name: &str, url: &str, default: bool) -> PackageRepository {
    let mut r = PackageRepository::new(
        name,
        PackageRepositorySpec {
            url: url.into(),
            auth: None,
        },
    );
    if default {
        r.set_default();
    }
    r
}

#[tokio::test]
async fn the_default_repository_wins_a_name_and_a_broken_one_hides_nothing() {
    let (main, extra, down) = (
        RepoServer::start().await,
        RepoServer::start().await,
        RepoServer::start().await,
    );
    main.set(
        "/index.yaml",
        Reply::Body("packages:\n- name: cert-manager\n  shortDescription: from main\n".into()),
    );
    extra.set(
        "/index.yaml",
        Reply::Body(
            "packages:\n- name: cert-manager\n  shortDescription: from extra\n- name: velero\n"
                .into(),
        ),
    );
    down.set("/index.yaml", Reply::Status(500));
    let set = Clientset::new(FetchOptions::default());
    // "a-extra" sorts first by name; the default annotation must still win.
    set.apply(&repo("a-extra", &extra.base, false));
    set.apply(&repo("main", &main.base, true));
    set.apply(&repo("down", &down.base, false));

    let cat = catalogue::load(&set, Freshness::Cached).await;
    let names: Vec<&str> = cat.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["cert-manager", "velero"],
        "the broken repository hides nothing"
    );
    let cm = &cat.entries[0];
    assert_eq!(
        (cm.repository.as_str(), cm.short_description.as_deref()),
        ("main", Some("from main"))
    );
    assert_eq!(cm.also_in, ["a-extra"]);
    let down_state = cat
        .repositories
        .iter()
        .find(|r| r.name == "down")
        .expect("listed");
    assert!(
        down_state
            .error
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 500")),
        "{down_state:?}"
    );
    assert_eq!(down_state.packages, 0);
    let main_state = cat
        .repositories
        .iter()
        .find(|r| r.name == "main")
        .expect("listed");
    assert_eq!(
        (
            main_state.error.as_deref(),
            main_state.packages,
            main_state.is_default
        ),
        (None, 1, true)
    );
}

#[tokio::test]
async fn the_latest_version_is_computed_and_a_disagreeing_index_is_flagged() {
    let server = RepoServer::start().await;
    server.set(
        "/velero/versions.yaml",
        Reply::Body("latestVersion: v1.1.0+2\nversions:\n- version: v1.0.0+1\n- version: v1.1.0+2\n- version: v1.1.0+10\n- version: bogus\n".into()),
    );
    let set = Clientset::new(FetchOptions::default());
    set.apply(&repo("main", &server.base, true));
    let client = set.get("main").expect("client");
    let latest = latest_version(&client, "velero", Freshness::Cached)
        .await
        .expect("versions");
    assert_eq!(latest.computed, "v1.1.0+10", "revision 10 beats revision 2");
    assert!(latest.differs(), "the file says v1.1.0+2");
    assert_eq!(latest.invalid, ["bogus"]);
}

#[tokio::test]
async fn a_password_in_a_repository_url_is_never_shown_in_its_state_or_errors() {
    let server = RepoServer::start().await;
    server.set("/index.yaml", Reply::Status(500));
    let with_password = server.base.replace("http://", "http://robot:hunter2@");
    let set = Clientset::new(FetchOptions::default());
    set.apply(&repo("private", &with_password, true));
    let cat = catalogue::load(&set, Freshness::Cached).await;
    let state = &cat.repositories[0];
    let error = state.error.as_deref().expect("the 500 is reported");
    assert!(error.contains("500"), "{error}");
    for shown in [state.url.as_str(), error] {
        assert!(
            !shown.contains("hunter2") && !shown.contains("robot"),
            "user info shown: {shown}"
        );
    }
}
