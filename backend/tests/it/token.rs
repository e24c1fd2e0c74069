//! Serving with a token (what listening beyond loopback requires): every request but
//! the probes needs it; a browser trades `?token=` for a cookie once.

use crate::common;
use common::*;
use hoist_proto::v1 as pb;

const TOKEN: &str = "3f9c2a77d1e04b6b9e55";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn with_a_token_only_its_bearers_get_in_and_a_browser_trades_the_address_for_a_cookie() {
    let (_c, client) = cluster().await;
    let running = backend(
        &client,
        hoist::serve::ServeOptions {
            token: Some(TOKEN.into()),
            ..options()
        },
    )
    .await;
    running.ready().await;
    let url = running.url();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = http().get(format!("{url}{path}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        async move { req.send().await.expect("answered") }
    };

    // Nothing but the probes without the token.
    let r = get("/", &[]).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.expect("text").contains("?token="));
    assert_eq!(get("/metrics", &[]).await.status(), 401);
    assert_eq!(get("/readyz", &[]).await.status(), 200);
    assert_eq!(get("/livez", &[]).await.status(), 200);
    assert_eq!(get("/?token=wrong-token-here", &[]).await.status(), 401);

    // The address with the token: a cookie, and the token leaves the address.
    let r = get(&format!("/?token={TOKEN}"), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        cookie.starts_with(&format!("hoist-token={TOKEN};"))
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let jar = format!("hoist-token={TOKEN}");
    let r = get("/", &[("cookie", &jar)]).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .expect("text")
            .contains("<title>Hoist</title>")
    );
    // Any host name: the dashboard is reached through a Service or an Ingress.
    let r = get("/", &[("cookie", &jar), ("host", "hoist.example.com")]).await;
    assert_eq!(r.status(), 200);
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(
        get("/metrics", &[("authorization", &bearer)])
            .await
            .status(),
        200
    );

    // gRPC: with the bearer token served, without it UNAUTHENTICATED.
    let mut g = grpc(&running).await;
    let e = g
        .list_packages(pb::ListPackagesRequest {})
        .await
        .expect_err("no token");
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
    let mut req = tonic::Request::new(pb::ListPackagesRequest {});
    req.metadata_mut()
        .insert("authorization", bearer.parse().expect("ascii"));
    g.list_packages(req).await.expect("with the token");
}

#[tokio::test]
async fn beyond_loopback_without_a_token_or_with_a_weak_one_nothing_is_served() {
    let (_c, client) = cluster().await;
    // Refused before binding: no socket is opened on any other address.
    let wide = hoist::serve::ServeOptions {
        listen: "0.0.0.0:0".parse().expect("addr"),
        ..options()
    };
    let e = hoist::serve::start(client.clone(), wide.clone())
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("without a token"), "{e}");
    let weak = hoist::serve::ServeOptions {
        token: Some("short".into()),
        ..wide
    };
    let e = hoist::serve::start(client, weak)
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("at least 16"), "{e}");
}
