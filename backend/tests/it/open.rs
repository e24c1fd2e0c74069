//! Opening what a package installed (issue 22, item 2): `hoist open` and the
//! dashboard's Open forward a local port to a ready pod behind the entrypoint's Service
//! through the API server's `pods/portforward`, and follow a rollout to the new pod.
//! devcluster's pods forward to the demo's stand-in page for hello-web's image.

use crate::common;
use common::cli::Cli;
use common::operator::*;
use hoist::demo::stand_in::TITLE;
use hoist::types::Package;
use hoist_proto::v1 as pb;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, ListParams};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

/// Reads the command's output until a line holds `needle`; returns that line.
async fn line_with(lines: &mut Lines<BufReader<ChildStdout>>, needle: &str) -> String {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match lines.next_line().await.expect("output") {
                Some(l) if l.contains(needle) => return l,
                Some(_) => {}
                None => panic!("hoist open ended before printing {needle:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{needle:?} printed in time"))
}

fn url_in(line: &str) -> String {
    line.split_whitespace()
        .find(|w| w.starts_with("http://localhost:"))
        .unwrap_or_else(|| panic!("a local URL in {line:?}"))
        .to_string()
}

async fn page(url: &str) -> String {
    reqwest::get(url)
        .await
        .expect("the forwarded page answers")
        .text()
        .await
        .expect("body")
}

/// The names of the ready pods behind hello-web's Service `web-hello-web` in team-b.
async fn ready_pods(client: &kube::Client) -> Vec<String> {
    let svc: Service = Api::namespaced(client.clone(), "team-b")
        .get("web-hello-web")
        .await
        .expect("service");
    let selector = svc
        .spec
        .and_then(|s| s.selector)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "team-b");
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("pods");
    let ready = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    list.items
        .iter()
        .filter(|p| ready(p) && p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

/// Waits (bounded) for the pods behind the Service to be exactly one ready pod that is
/// not `old`, by watching pod events.
async fn replaced(client: &kube::Client, old: &[String]) -> String {
    use futures::StreamExt;
    use kube::runtime::watcher;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "team-b");
    let mut events = watcher(pods, watcher::Config::default()).boxed();
    tokio::time::timeout(PATIENCE, async {
        loop {
            let now = ready_pods(client).await;
            if now.len() == 1 && !old.contains(&now[0]) {
                return now[0].clone();
            }
            events.next().await;
        }
    })
    .await
    .expect("the pod replaced in time")
}

async fn installed_web() -> (Harness, hoist::demo::stand_in::StandIn, Api<Package>) {
    let (h, page) = harness_with_hello_web_page().await;
    let packages = install(&h.client, "team-b", "web", "hello-web", "v1.1.0+2").await;
    wait_package(&packages, "web", is_ready).await;
    (h, page, packages)
}

#[tokio::test]
async fn hoist_open_forwards_a_local_port_to_the_entrypoints_pod_and_follows_a_rollout() {
    let (h, _page, packages) = installed_web().await;
    let before = ready_pods(&h.client).await;
    assert_eq!(before.len(), 1, "one replica: {before:?}");
    let cli = Cli::for_cluster(&h.setup.cluster);
    let mut child = cli.spawn(&["open", "web", "-n", "team-b", "--no-browser", "--port", "0"]);
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = line_with(&mut lines, "http://localhost:").await;
    assert!(
        line.contains("hello-web") && line.contains("Service team-b/web-hello-web port 80"),
        "{line}"
    );
    let url = url_in(&line);
    assert!(page(&url).await.contains(TITLE));
    line_with(&mut lines, &format!("forwarding to pod {}", before[0])).await;

    // A new pod template (a value the page's container reads) replaces the pod; the
    // forward finds the new one on the next connection.
    set_value(&packages, "web", "message", "after the rollout").await;
    let new = replaced(&h.client, &before).await;
    assert!(
        page(&url).await.contains(TITLE),
        "the page through the new pod"
    );
    line_with(&mut lines, &format!("forwarding to pod {new}")).await;
    child.kill().await.expect("stopped");
}

#[tokio::test]
async fn hoist_open_refuses_an_unknown_entrypoint_or_install_and_listens_on_nothing() {
    let (h, _page, _packages) = installed_web().await;
    let cli = Cli::for_cluster(&h.setup.cluster);
    let (ok, out) = cli
        .run(&["open", "web", "-n", "team-b", "admin", "--no-browser"])
        .await;
    assert!(!ok);
    assert!(
        out.contains("web has no entrypoint \"admin\" (it has: hello-web)"),
        "{out}"
    );
    let (ok, out) = cli
        .run(&["open", "ghost", "-n", "team-b", "--no-browser"])
        .await;
    assert!(!ok);
    assert!(
        out.contains("Package team-b/ghost is not installed")
            || out.contains("ghost is not installed"),
        "{out}"
    );
}

#[tokio::test]
async fn the_dashboard_opens_an_entrypoint_on_a_port_of_its_own_once_and_lists_it() {
    let (h, _page, _packages) = installed_web().await;
    let running = common::backend(&h.client, common::options()).await;
    running.ready().await;
    let mut g = common::grpc(&running).await;
    let key = pb::PackageKey {
        scope: pb::Scope::Namespaced as i32,
        namespace: "team-b".into(),
        name: "web".into(),
    };
    let details = g
        .get_install(key.clone())
        .await
        .expect("details")
        .into_inner();
    assert!(
        details.can_open,
        "loopback without a token: the user's machine"
    );
    let [entry] = details.entrypoints.as_slice() else {
        panic!("one entrypoint: {:?}", details.entrypoints)
    };
    assert_eq!(entry.name, "hello-web");
    assert_eq!(entry.service, "team-b/web-hello-web");
    assert_eq!(entry.command, "hoist open web -n team-b hello-web");
    assert!(entry.url.is_empty(), "not open yet");

    let open = |entrypoint: &str| pb::OpenRequest {
        key: Some(key.clone()),
        entrypoint: entrypoint.into(),
    };
    let opened = g
        .open(open("hello-web"))
        .await
        .expect("opened")
        .into_inner();
    assert!(
        opened.url.starts_with("http://localhost:"),
        "{}",
        opened.url
    );
    assert!(
        !opened.url.contains(&format!(":{}/", running.addr.port())),
        "another port than the dashboard's"
    );
    assert!(page(&opened.url).await.contains(TITLE));
    let again = g.open(open("")).await.expect("opened again").into_inner();
    assert_eq!(again.url, opened.url, "one forward per entrypoint");
    let details = g
        .get_install(key.clone())
        .await
        .expect("details")
        .into_inner();
    assert_eq!(details.entrypoints[0].url, opened.url);

    let e = g.open(open("admin")).await.expect_err("no such entrypoint");
    assert_eq!(e.code(), tonic::Code::NotFound, "{}", e.message());
    let e = g
        .open(pb::OpenRequest {
            key: Some(pb::PackageKey {
                name: "ghost".into(),
                ..key.clone()
            }),
            entrypoint: String::new(),
        })
        .await
        .expect_err("not installed");
    assert_eq!(e.code(), tonic::Code::NotFound, "{}", e.message());
}

#[tokio::test]
async fn a_dashboard_in_the_cluster_shows_the_command_instead_of_forwarding() {
    const TOKEN: &str = "open-test-token-0123456789abcdef0123456789";
    let (h, _page, _packages) = installed_web().await;
    let running = common::backend(
        &h.client,
        hoist::serve::ServeOptions {
            token: Some(TOKEN.into()),
            ..common::options()
        },
    )
    .await;
    running.ready().await;
    let channel = tonic::transport::Channel::from_shared(running.url())
        .expect("url")
        .connect()
        .await
        .expect("connects");
    let mut g = pb::dashboard_client::DashboardClient::with_interceptor(
        channel,
        |mut req: tonic::Request<()>| {
            let bearer = format!("Bearer {TOKEN}").parse().expect("header");
            req.metadata_mut().insert("authorization", bearer);
            Ok(req)
        },
    );
    let key = pb::PackageKey {
        scope: pb::Scope::Namespaced as i32,
        namespace: "team-b".into(),
        name: "web".into(),
    };
    let details = g
        .get_install(key.clone())
        .await
        .expect("details")
        .into_inner();
    assert!(!details.can_open);
    assert_eq!(details.entrypoints.len(), 1);
    let e = g
        .open(pb::OpenRequest {
            key: Some(key),
            entrypoint: "hello-web".into(),
        })
        .await
        .expect_err("not from a cluster");
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(
        e.message()
            .contains("run `hoist open web -n team-b hello-web`"),
        "{}",
        e.message()
    );
}
