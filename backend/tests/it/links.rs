//! Links a repository offers reach the browser only as http(s): a hostile package.yaml
//! cannot plant a `javascript:` link on the package page, and the page says how many
//! links were hidden.

use crate::common;
use common::repo_server::{Reply, RepoServer};
use common::*;
use hoist_proto::v1 as pb;

const HOSTILE: &str = r#"name: trap
shortDescription: links everywhere
iconUrl: "javascript:alert(document.cookie)"
references:
  - label: Docs
    url: https://example.org/trap
  - label: Click me
    url: "javascript:fetch('/hoist.v1.Dashboard/Install',{method:'POST'})"
  - label: Data
    url: "data:text/html,<script>alert(1)</script>"
manifests:
  - url: manifests.yaml
  - url: "javascript:alert(2)"
"#;

#[tokio::test]
async fn a_repository_with_javascript_links_gets_none_of_them_to_the_api_and_says_how_many_were_hidden()
 {
    let repo = RepoServer::start().await;
    repo.set(
        "/index.yaml",
        Reply::Body(
            "packages:\n- name: trap\n  iconUrl: \"javascript:alert(0)\"\n  latestVersion: v1.0.0\n"
                .into(),
        ),
    );
    repo.set(
        "/trap/versions.yaml",
        Reply::Body("versions:\n- version: v1.0.0\n".into()),
    );
    repo.set("/trap/v1.0.0/package.yaml", Reply::Body(HOSTILE.into()));
    let (_c, client) = cluster().await;
    add_repository(&client, "hostile", &repo.base).await;
    let running = backend(&client, options()).await;
    running.ready().await;

    let mut stream = open_watch(&running).await;
    let catalogue =
        catalogue_until(&mut stream, |c| c.entries.iter().any(|e| e.name == "trap")).await;
    let entry = catalogue
        .entries
        .iter()
        .find(|e| e.name == "trap")
        .expect("listed");
    assert_eq!(
        entry.icon_url, "",
        "a javascript: icon is not an image source"
    );

    let d = grpc(&running)
        .await
        .get_package_details(pb::PackageDetailsRequest {
            name: "trap".into(),
            ..Default::default()
        })
        .await
        .expect("details")
        .into_inner();
    let urls: Vec<&str> = d
        .references
        .iter()
        .map(|r| r.url.as_str())
        .chain(d.manifests.iter().map(String::as_str))
        .chain([d.icon_url.as_str()])
        .collect();
    assert_eq!(
        urls,
        [
            "https://example.org/trap",
            &format!("{}/trap/v1.0.0/manifests.yaml", repo.base),
            ""
        ]
    );
    assert_eq!(d.hidden_links, 4, "two references, a manifest and the icon");
}
