//! The authenticator against kube-apiserver's documented behaviour
//! (https://kubernetes.io/docs/reference/access-authn-authz/authentication/) and its code:
//! bearer tokens, the static token file, ServiceAccount tokens from TokenRequest, anonymous
//! requests, TokenReview, and the 401 body byte for byte.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devcluster::auth::authn::{
    Authenticator, AuthnConfig, AuthnError, BoundObject, ISSUER, IssueError, ObjectRef,
    ServiceAccountState, TokenFile, TokenFileError, TokenReviewStatus, unauthorized_status,
};
use devcluster::auth::rbac::UserInfo;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

const T0: i64 = 1_750_000_000;

struct Cluster {
    authn: Authenticator,
    now: Arc<AtomicI64>,
}

impl Cluster {
    fn new(anonymous: bool, token_file: Option<&str>) -> Self {
        let now = Arc::new(AtomicI64::new(T0));
        let n = now.clone();
        let token_file =
            token_file.map(|t| TokenFile::parse("tokens.csv", t).expect("token file parses"));
        let authn = Authenticator::new(AuthnConfig {
            anonymous,
            token_file,
            clock: Some(Arc::new(move || n.load(Ordering::SeqCst))),
            ..AuthnConfig::default()
        })
        .expect("authenticator");
        Self { authn, now }
    }

    fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }

    fn token(&self, audiences: &[&str], seconds: Option<i64>) -> String {
        let audiences: Vec<String> = audiences.iter().map(|s| s.to_string()).collect();
        self.authn
            .issue("team-a", "builder", "uid-1", &audiences, seconds, None)
            .expect("issue")
            .token
    }

    fn auth(&self, header: &str) -> Result<UserInfo, AuthnError> {
        self.authn.authenticate(Some(header), &builder_exists)
    }
}

fn builder_exists(namespace: &str, name: &str) -> Option<ServiceAccountState> {
    (namespace == "team-a" && name == "builder").then(|| ServiceAccountState {
        uid: "uid-1".into(),
    })
}

fn no_service_accounts(_: &str, _: &str) -> Option<ServiceAccountState> {
    None
}

fn recreated(_: &str, _: &str) -> Option<ServiceAccountState> {
    Some(ServiceAccountState {
        uid: "uid-2".into(),
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn admin_token_is_devcluster_admin_in_system_masters() {
    let c = Cluster::new(false, None);
    let user = c
        .auth(&format!("Bearer {}", c.authn.admin_token()))
        .expect("admin");
    assert_eq!(user.name, "devcluster-admin");
    assert_eq!(
        user.groups,
        strings(&["system:masters", "system:authenticated"])
    );
    assert!(user.is_master());
}

#[test]
fn token_file_users_get_their_groups_and_system_authenticated() {
    let c = Cluster::new(
        false,
        Some("alice-token,alice,uid-alice,\"team-a,devs\"\nbob-token,bob,uid-bob\n"),
    );
    let alice = c.auth("Bearer alice-token").expect("alice");
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.uid, "uid-alice");
    assert_eq!(
        alice.groups,
        strings(&["team-a", "devs", "system:authenticated"])
    );
    let bob = c.auth("bearer bob-token").expect("bob");
    assert_eq!(bob.groups, strings(&["system:authenticated"]));
    assert_eq!(
        c.auth("Bearer carol-token"),
        Err(AuthnError::InvalidBearerToken)
    );
}

#[test]
fn token_file_parses_quotes_blank_lines_and_extra_columns_like_go_csv() {
    let file = TokenFile::parse(
        "tokens.csv",
        "\n\"t1\",\"Alice \"\"A\"\"\",u1,\"g1,g2\",ignored\r\n\n,empty,u2\nt1,again,u3\n",
    )
    .expect("parses");
    assert_eq!(file.len(), 1, "empty token skipped, duplicate replaces");
    assert_eq!(file.warnings().len(), 2);
    let c = Authenticator::new(AuthnConfig {
        token_file: Some(file),
        ..AuthnConfig::default()
    })
    .expect("authenticator");
    let user = c
        .authenticate(Some("Bearer t1"), &no_service_accounts)
        .expect("t1");
    assert_eq!(user.name, "again");
}

#[test]
fn token_file_with_a_short_record_names_its_line() {
    let err = TokenFile::parse("tokens.csv", "t1,alice,u1\n\nt2,bob\n").expect_err("short");
    assert_eq!(
        err,
        TokenFileError::Columns {
            path: "tokens.csv".into(),
            line: 3,
            found: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "token file \"tokens.csv\", line 3: must have at least 3 columns (token, user name, user uid), found 2"
    );
}

#[test]
fn token_file_has_no_comments_like_the_real_parser() {
    // encoding/csv with Comment unset: "# ..." is a record, here one with one field.
    let err = TokenFile::parse("tokens.csv", "# static users\nt1,alice,u1\n").expect_err("comment");
    assert!(matches!(
        err,
        TokenFileError::Columns {
            line: 1,
            found: 1,
            ..
        }
    ));
    let err = TokenFile::parse("tokens.csv", "t1,ali\"ce,u1\n").expect_err("bare quote");
    assert!(
        matches!(err, TokenFileError::Parse { line: 1, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("t1"), "no token in errors: {err}");
}

#[test]
fn no_header_is_anonymous_only_when_allowed() {
    let closed = Cluster::new(false, None);
    assert_eq!(
        closed.authn.authenticate(None, &builder_exists),
        Err(AuthnError::Unauthenticated)
    );
    let open = Cluster::new(true, None);
    let user = open
        .authn
        .authenticate(None, &builder_exists)
        .expect("anonymous");
    assert_eq!(user.name, "system:anonymous");
    assert_eq!(user.groups, strings(&["system:unauthenticated"]));
}

#[test]
fn malformed_headers_are_not_credentials() {
    // bearertoken.go ignores them: 401 without anonymous, anonymous with it.
    for header in [
        "Bearer",
        "Bearer ",
        "Bearer  two-spaces",
        "Basic YTpi",
        "   ",
        "token",
    ] {
        let closed = Cluster::new(false, None);
        assert_eq!(
            closed.auth(header),
            Err(AuthnError::Unauthenticated),
            "{header:?}"
        );
        let open = Cluster::new(true, None);
        assert_eq!(open.auth(header).expect(header).name, "system:anonymous");
    }
}

#[test]
fn a_bad_bearer_token_is_refused_even_with_anonymous() {
    let open = Cluster::new(true, None);
    assert_eq!(
        open.auth("Bearer not-a-token"),
        Err(AuthnError::InvalidBearerToken)
    );
}

#[test]
fn service_account_token_round_trips_to_the_service_account_identity() {
    let c = Cluster::new(false, None);
    let issued = c
        .authn
        .issue(
            "team-a",
            "builder",
            "uid-1",
            &[],
            None,
            Some(&BoundObject::Pod {
                pod: ObjectRef::new("web-0", "pod-uid"),
                node: Some(ObjectRef::new("node-1", "node-uid")),
            }),
        )
        .expect("issue");
    assert_eq!(issued.expiration_timestamp.timestamp(), T0 + 3600);
    let user = c
        .auth(&format!("Bearer {}", issued.token))
        .expect("authenticated");
    assert_eq!(user.name, "system:serviceaccount:team-a:builder");
    assert_eq!(user.uid, "uid-1");
    assert_eq!(
        user.groups,
        strings(&[
            "system:serviceaccounts",
            "system:serviceaccounts:team-a",
            "system:authenticated"
        ])
    );
    let payload = issued.token.split('.').nth(1).expect("payload");
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    let jti = claims["jti"].as_str().expect("jti");
    let extra: BTreeMap<String, Vec<String>> = [
        (
            "authentication.kubernetes.io/credential-id",
            format!("JTI={jti}"),
        ),
        ("authentication.kubernetes.io/node-name", "node-1".into()),
        ("authentication.kubernetes.io/node-uid", "node-uid".into()),
        ("authentication.kubernetes.io/pod-name", "web-0".into()),
        ("authentication.kubernetes.io/pod-uid", "pod-uid".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), vec![v]))
    .collect();
    assert_eq!(user.extra, extra);
    assert_eq!(claims["iss"], json!(ISSUER));
    assert_eq!(claims["aud"], json!([ISSUER]));
    assert_eq!(
        claims["kubernetes.io"]["serviceaccount"],
        json!({"name": "builder", "uid": "uid-1"})
    );
}

#[test]
fn expired_token_is_refused_after_the_leeway() {
    let c = Cluster::new(false, None);
    let token = c.token(&[], Some(600));
    c.advance(600 + 60);
    assert!(c.auth(&format!("Bearer {token}")).is_ok(), "within leeway");
    c.advance(1);
    assert_eq!(
        c.auth(&format!("Bearer {token}")),
        Err(AuthnError::InvalidToken(
            "service account token has expired".into()
        ))
    );
}

#[test]
fn token_for_another_audience_is_refused() {
    let c = Cluster::new(false, None);
    let token = c.token(&["vault"], None);
    assert_eq!(
        c.auth(&format!("Bearer {token}")),
        Err(AuthnError::InvalidToken(format!(
            "token audiences [\"vault\"] is invalid for the target audiences [\"{ISSUER}\"]"
        )))
    );
    let both = c.token(&["vault", ISSUER], None);
    assert!(c.auth(&format!("Bearer {both}")).is_ok());
}

#[test]
fn tampered_token_is_refused() {
    let c = Cluster::new(false, None);
    let token = c.token(&[], None);
    let parts: Vec<&str> = token.split('.').collect();
    // Another service account in the payload, the original signature.
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).expect("b64"))
        .expect("utf8")
        .replace("builder", "admin00");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload),
        parts[2]
    );
    assert!(matches!(
        c.auth(&format!("Bearer {forged}")),
        Err(AuthnError::InvalidToken(_))
    ));
    // A flipped signature byte.
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
    sig[0] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
    assert!(c.auth(&format!("Bearer {flipped}")).is_err());
    // A token signed by another devcluster.
    let other = Cluster::new(false, None).token(&[], None);
    assert!(c.auth(&format!("Bearer {other}")).is_err());
    // alg none.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        parts[1]
    );
    assert!(c.auth(&format!("Bearer {none}")).is_err());
}

#[test]
fn token_of_a_deleted_service_account_is_refused() {
    let c = Cluster::new(false, None);
    let header = format!("Bearer {}", c.token(&[], None));
    assert!(c.auth(&header).is_ok());
    assert_eq!(
        c.authn.authenticate(Some(&header), &no_service_accounts),
        Err(AuthnError::InvalidToken(
            "serviceaccounts \"builder\" not found".into()
        ))
    );
}

#[test]
fn token_of_a_recreated_service_account_is_refused() {
    let c = Cluster::new(false, None);
    let header = format!("Bearer {}", c.token(&[], None));
    assert_eq!(
        c.authn.authenticate(Some(&header), &recreated),
        Err(AuthnError::InvalidToken(
            "service account UID (uid-2) does not match claim (uid-1)".into()
        ))
    );
}

#[test]
fn expiration_below_ten_minutes_is_refused() {
    let c = Cluster::new(false, None);
    let err = c
        .authn
        .issue("team-a", "builder", "uid-1", &[], Some(599), None)
        .expect_err("too short");
    assert_eq!(err, IssueError::ExpirationTooShort(599));
    assert_eq!(
        err.to_string(),
        "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes"
    );
    assert!(
        c.authn
            .issue("team-a", "builder", "uid-1", &[], Some(600), None)
            .is_ok()
    );
    assert!(matches!(
        c.authn
            .issue("team-a", "builder", "uid-1", &[], Some(1 << 33), None),
        Err(IssueError::ExpirationTooLong(_))
    ));
}

#[test]
fn token_review_of_a_good_token() {
    let c = Cluster::new(false, None);
    let token = c.token(&["vault", ISSUER], None);
    let status = c
        .authn
        .review(&token, &strings(&["vault"]), &builder_exists);
    assert!(status.authenticated);
    assert_eq!(status.audiences, strings(&["vault"]));
    let json = serde_json::to_value(&status).expect("json");
    let jti =
        &status.user.as_ref().expect("user").extra["authentication.kubernetes.io/credential-id"][0];
    assert_eq!(
        json,
        json!({
            "authenticated": true,
            "user": {
                "username": "system:serviceaccount:team-a:builder",
                "uid": "uid-1",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"],
                "extra": {"authentication.kubernetes.io/credential-id": [jti]}
            },
            "audiences": ["vault"]
        })
    );
    let admin = c.authn.review(c.authn.admin_token(), &[], &builder_exists);
    assert!(admin.authenticated);
    assert_eq!(admin.audiences, strings(&[ISSUER]));
}

#[test]
fn token_review_of_bad_tokens() {
    let c = Cluster::new(true, None);
    let unknown = c.authn.review("nope", &[], &builder_exists);
    assert_eq!(
        serde_json::to_value(&unknown).expect("json"),
        json!({"user": {}, "error": "invalid bearer token"})
    );
    let token = c.token(&[], None);
    let wrong_audience = c
        .authn
        .review(&token, &strings(&["vault"]), &builder_exists);
    assert!(!wrong_audience.authenticated);
    assert_eq!(
        wrong_audience.error.as_deref(),
        Some(
            format!(
                "token audiences [\"{ISSUER}\"] is invalid for the target audiences [\"vault\"]"
            )
            .as_str()
        )
    );
    let deleted = c.authn.review(&token, &[], &no_service_accounts);
    assert_eq!(
        deleted,
        TokenReviewStatus {
            error: Some("serviceaccounts \"builder\" not found".into()),
            ..TokenReviewStatus::default()
        }
    );
    // A static token is audience-agnostic: only good for the API server's audiences.
    let admin = c
        .authn
        .review(c.authn.admin_token(), &strings(&["vault"]), &builder_exists);
    assert!(!admin.authenticated);
}

#[test]
fn unauthorized_body_is_the_api_servers_byte_for_byte() {
    let expected = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;
    for err in [
        AuthnError::Unauthenticated,
        AuthnError::InvalidBearerToken,
        AuthnError::InvalidToken("service account token has expired".into()),
    ] {
        assert_eq!(err.status_body(), expected);
        assert_eq!(
            err.status(),
            serde_json::from_str::<serde_json::Value>(expected).expect("json")
        );
        assert_eq!(err.code(), 401);
    }
    assert_eq!(unauthorized_status(), AuthnError::Unauthenticated.status());
}

#[test]
fn debug_output_and_errors_never_show_a_token() {
    let c = Cluster::new(false, Some("secret-static,alice,u1\n"));
    let issued = c
        .authn
        .issue("team-a", "builder", "uid-1", &[], None, None)
        .expect("issue");
    let debug = format!("{:?} {:?}", c.authn, issued);
    assert!(!debug.contains(c.authn.admin_token()), "{debug}");
    assert!(!debug.contains("secret-static"), "{debug}");
    assert!(!debug.contains(&issued.token), "{debug}");
    let expired = Cluster::new(false, None);
    let token = expired.token(&[], Some(600));
    expired.advance(10_000);
    let err = expired
        .auth(&format!("Bearer {token}"))
        .expect_err("expired");
    assert!(!err.to_string().contains(&token));
    assert!(!format!("{err:?}").contains(&token));
}
