//! A member cluster's kubeconfig as hostile input (issue 20, item 3): a table of
//! kubeconfigs and the verdict on each, and a property over generated kubeconfigs: the
//! validator's verdict agrees with an independent oracle written over the generator's
//! model, and no kubeconfig it accepts uses a file path, a program, an auth provider,
//! `tokenFile` or a proxy.

use hoist_core::fleet::kubeconfig::{self, KubeconfigError, Member, Rule};
use proptest::prelude::*;
use serde_json::{Value, json};

const CA: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t";

fn doc(cluster: Value, user: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    })
}

fn https() -> Value {
    json!({"server": "https://member.example:6443", "certificate-authority-data": CA})
}

/// `Ok(())` or the refused field's path and a word of its message.
type Expect = Result<(), (&'static str, &'static str)>;

#[test]
fn each_kubeconfig_gets_its_verdict_naming_the_refused_field() {
    let exec = json!({"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/sh",
        "args": ["-c", "touch /tmp/marker"]});
    let cases: Vec<(&str, Value, Expect)> = vec![
        (
            "https with CA data and a token",
            doc(https(), json!({"token": "t"})),
            Ok(()),
        ),
        (
            "client certificate data",
            doc(
                https(),
                json!({"client-certificate-data": CA, "client-key-data": CA}),
            ),
            Ok(()),
        ),
        ("anonymous", doc(https(), json!({})), Ok(())),
        (
            "plain http to 127.0.0.1",
            doc(json!({"server": "http://127.0.0.1:8080"}), json!({})),
            Ok(()),
        ),
        (
            "plain http to localhost",
            doc(json!({"server": "http://localhost:8080"}), json!({})),
            Ok(()),
        ),
        (
            "plain http to ::1",
            doc(json!({"server": "http://[::1]:8080"}), json!({})),
            Ok(()),
        ),
        (
            "insecure to loopback",
            doc(
                json!({"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": true}),
                json!({}),
            ),
            Ok(()),
        ),
        (
            "insecure false anywhere",
            doc(
                json!({"server": "https://member.example", "insecure-skip-tls-verify": false}),
                json!({}),
            ),
            Ok(()),
        ),
        (
            "null is absent",
            doc(
                https(),
                json!({"token": "t", "tokenFile": null, "exec": null}),
            ),
            Ok(()),
        ),
        (
            "extensions and unknown fields are ignored",
            doc(
                json!({"server": "https://m.example", "extensions": [{"name": "e", "extension": {}}]}),
                json!({"token": "t", "extensions": [], "something-new": 1}),
            ),
            Ok(()),
        ),
        (
            "exec",
            doc(https(), json!({"exec": exec})),
            Err(("users[0].user.exec", "may not run a program")),
        ),
        (
            "auth-provider",
            doc(
                https(),
                json!({"auth-provider": {"name": "gcp", "config": {"cmd-path": "/bin/sh"}}}),
            ),
            Err(("users[0].user.auth-provider", "auth provider")),
        ),
        (
            "tokenFile with a token beside it",
            doc(
                https(),
                json!({"token": "t", "tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}),
            ),
            Err(("users[0].user.tokenFile", "inline it as token")),
        ),
        (
            "tokenFile empty",
            doc(https(), json!({"tokenFile": ""})),
            Err(("users[0].user.tokenFile", "may not read files")),
        ),
        (
            "client-certificate file",
            doc(
                https(),
                json!({"client-certificate": "/etc/cert.pem", "client-key-data": CA}),
            ),
            Err((
                "users[0].user.client-certificate",
                "client-certificate-data",
            )),
        ),
        (
            "client-key file",
            doc(
                https(),
                json!({"client-certificate-data": CA, "client-key": "/etc/key.pem"}),
            ),
            Err(("users[0].user.client-key", "client-key-data")),
        ),
        (
            "certificate-authority file",
            doc(
                json!({"server": "https://m.example", "certificate-authority": "/etc/ca.pem"}),
                json!({}),
            ),
            Err((
                "clusters[0].cluster.certificate-authority",
                "certificate-authority-data",
            )),
        ),
        (
            "proxy-url",
            doc(
                json!({"server": "https://m.example", "proxy-url": "http://proxy:3128"}),
                json!({}),
            ),
            Err(("clusters[0].cluster.proxy-url", "proxy")),
        ),
        (
            "impersonation",
            doc(https(), json!({"token": "t", "as": "system:admin"})),
            Err(("users[0].user.as", "impersonate")),
        ),
        (
            "impersonated groups",
            doc(
                https(),
                json!({"token": "t", "as-groups": ["system:masters"]}),
            ),
            Err(("users[0].user.as-groups", "impersonate")),
        ),
        (
            "basic auth",
            doc(https(), json!({"username": "admin", "password": "pw"})),
            Err(("users[0].user.username", "basic authentication")),
        ),
        (
            "plain http elsewhere",
            doc(json!({"server": "http://member.example:8080"}), json!({})),
            Err(("clusters[0].cluster.server", "plain http")),
        ),
        (
            "plain http to a private address",
            doc(json!({"server": "http://10.0.0.1"}), json!({})),
            Err(("clusters[0].cluster.server", "plain http")),
        ),
        (
            "plain http to a lookalike",
            doc(
                json!({"server": "http://localhost.evil.example"}),
                json!({}),
            ),
            Err(("clusters[0].cluster.server", "plain http")),
        ),
        (
            "insecure elsewhere",
            doc(
                json!({"server": "https://m.example", "insecure-skip-tls-verify": true}),
                json!({}),
            ),
            Err(("clusters[0].cluster.insecure-skip-tls-verify", "loopback")),
        ),
        (
            "a server carrying credentials",
            doc(json!({"server": "https://u:p@m.example"}), json!({})),
            Err(("clusters[0].cluster.server", "user or password")),
        ),
        (
            "a server of another scheme",
            doc(json!({"server": "file:///etc/passwd"}), json!({})),
            Err(("clusters[0].cluster.server", "https://")),
        ),
        (
            "no server",
            doc(json!({"certificate-authority-data": CA}), json!({})),
            Err(("clusters[0].cluster.server", "no server")),
        ),
        (
            "a certificate without its key",
            doc(https(), json!({"client-certificate-data": CA})),
            Err(("users[0].user.client-certificate-data", "client-key-data")),
        ),
        (
            "data that is not base64",
            doc(
                json!({"server": "https://m.example", "certificate-authority-data": "/etc/ca.pem"}),
                json!({}),
            ),
            Err(("clusters[0].cluster.certificate-authority-data", "base64")),
        ),
        (
            "a token that is not a string",
            doc(https(), json!({"token": {"from": "somewhere"}})),
            Err(("users[0].user.token", "string")),
        ),
    ];
    for (name, kubeconfig, expect) in cases {
        let got = kubeconfig::validate(&kubeconfig, None);
        match (expect, got) {
            (Ok(()), Ok(_)) => {}
            (Err((field, word)), Err(e)) => {
                assert_eq!(e.field(), Some(field), "{name}: {e}");
                let text = e.to_string();
                assert!(text.starts_with(&format!("{field}: ")), "{name}: {text}");
                assert!(text.contains(word), "{name}: {text}");
            }
            (expect, got) => panic!("{name}: expected {expect:?}, got {got:?}"),
        }
    }
}

#[test]
fn an_exec_refusal_says_so_in_words() {
    let e = kubeconfig::validate(&doc(https(), json!({"exec": {"command": "/bin/sh"}})), None)
        .expect_err("refused");
    assert_eq!(
        e.to_string(),
        "users[0].user.exec: a member kubeconfig may not run a program; use a token or client \
         certificate data"
    );
}

#[test]
fn only_the_chosen_context_is_checked_and_it_must_exist() {
    let mut two = doc(https(), json!({"token": "t"}));
    two["users"]
        .as_array_mut()
        .expect("users")
        .push(json!({"name": "evil", "user": {"exec": {"command": "/bin/sh"}}}));
    two["contexts"]
        .as_array_mut()
        .expect("contexts")
        .push(json!({"name": "bad", "context": {"cluster": "c", "user": "evil"}}));
    assert!(
        kubeconfig::validate(&two, None).is_ok(),
        "the unused user is never used"
    );
    let e = kubeconfig::validate(&two, Some("bad")).expect_err("refused");
    assert_eq!(e.field(), Some("users[1].user.exec"));
    assert_eq!(
        kubeconfig::validate(&two, Some("nope")),
        Err(KubeconfigError::UnknownContext("nope".into()))
    );
    assert!(
        kubeconfig::validate(&two, Some("nope"))
            .expect_err("unknown")
            .to_string()
            .contains("no context \"nope\"")
    );
    let mut none = two.clone();
    none["current-context"] = json!("");
    assert_eq!(
        kubeconfig::validate(&none, None),
        Err(KubeconfigError::NoCurrentContext)
    );
    let mut dangling = doc(https(), json!({}));
    dangling["contexts"][0]["context"]["user"] = json!("ghost");
    let e = kubeconfig::validate(&dangling, None).expect_err("dangling");
    assert_eq!(e.field(), Some("contexts[0].context.user"));
    dangling["contexts"][0]["context"] = json!({"cluster": "ghost"});
    let e = kubeconfig::validate(&dangling, None).expect_err("dangling");
    assert_eq!(e.field(), Some("contexts[0].context.cluster"));
}

#[test]
fn an_accepted_kubeconfig_yields_exactly_its_inline_fields() {
    let m = kubeconfig::validate(
        &doc(
            json!({"server": "https://m.example:6443/prefix", "certificate-authority-data": CA,
                "tls-server-name": "api.m.example"}),
            json!({"token": "t0k", "client-certificate-data": CA, "client-key-data": "a2V5"}),
        ),
        None,
    )
    .expect("accepted");
    assert_eq!(m.server, "https://m.example:6443/prefix");
    assert!(!m.loopback && !m.insecure_skip_tls_verify);
    assert_eq!(m.certificate_authority_data.as_deref(), Some(CA));
    assert_eq!(m.tls_server_name.as_deref(), Some("api.m.example"));
    assert_eq!(m.token.as_deref(), Some("t0k"));
    let cert = m.client_certificate.expect("a client certificate");
    assert_eq!(
        (cert.certificate_data.as_str(), cert.key_data.as_str()),
        (CA, "a2V5")
    );
}

#[test]
fn text_that_is_not_one_small_yaml_document_is_unreadable() {
    assert!(matches!(
        kubeconfig::check("a: 1\n---\nb: 2\n", None),
        Err(KubeconfigError::Unreadable(_))
    ));
    assert!(matches!(
        kubeconfig::check(": : :\n  - [", None),
        Err(KubeconfigError::Unreadable(_))
    ));
    let big = format!("a: \"{}\"\n", "x".repeat(kubeconfig::MAX_KUBECONFIG_BYTES));
    assert_eq!(
        kubeconfig::check(&big, None),
        Err(KubeconfigError::TooLarge)
    );
    let devcluster_shaped = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: devcluster\n  cluster:\n    server: \
         https://127.0.0.1:40000\n    certificate-authority-data: {CA}\ncontexts:\n- name: \
         devcluster\n  context:\n    cluster: devcluster\n    namespace: default\n    user: \
         devcluster\ncurrent-context: devcluster\npreferences: {{}}\nusers:\n- name: devcluster\n  \
         user: {{token: \"abc\"}}\n"
    );
    assert!(kubeconfig::check(&devcluster_shaped, None).is_ok());
}

// The property: a generator's model, rendered to a kubeconfig, and an oracle over the
// model (not over the rendered document, and not sharing the validator's code).

/// Strings a field may hold. The oracle knows, for each, whether it is base64 and
/// what kind of server it is.
const STRINGS: [&str; 15] = [
    "aGVsbG8=",
    "",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "not base64!",
    "https://member.example:6443",
    "http://127.0.0.1:6443",
    "http://member.example",
    "https://[::1]:6443",
    "http://localhost:1",
    "https://u:p@member.example",
    "ftp://member.example",
    "https://member.example/?q=1",
    "http://10.0.0.1",
    "http://[::1]:1",
    "https://127.0.0.1:1",
];

fn is_base64(s: &str) -> bool {
    matches!(s, "aGVsbG8=" | "")
}

/// `Some((loopback, plain http))` for a usable server.
fn server_kind(s: &str) -> Option<(bool, bool)> {
    match s {
        "https://member.example:6443" => Some((false, false)),
        "http://127.0.0.1:6443" | "http://localhost:1" | "http://[::1]:1" => Some((true, true)),
        "https://[::1]:6443" | "https://127.0.0.1:1" => Some((true, false)),
        "http://member.example" | "http://10.0.0.1" => Some((false, true)),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum V {
    Absent,
    Null,
    Str(&'static str),
    Bool(bool),
    Num,
    /// A mapping, shaped like an `exec` block.
    Map,
}

impl V {
    fn present(&self) -> bool {
        !matches!(self, V::Absent | V::Null)
    }
    fn json(&self) -> Value {
        match self {
            V::Absent | V::Null => Value::Null,
            V::Str(s) => json!(s),
            V::Bool(b) => json!(b),
            V::Num => json!(7),
            V::Map => json!({"command": "/bin/sh", "args": ["-c", "touch /tmp/pwned"]}),
        }
    }
}

const USER_KEYS: [&str; 17] = [
    "token",
    "client-certificate-data",
    "client-key-data",
    "tokenFile",
    "client-certificate",
    "client-key",
    "exec",
    "auth-provider",
    "as",
    "as-uid",
    "as-groups",
    "as-user-extra",
    "username",
    "password",
    "extensions",
    "something-new",
    "token-file",
];

const CLUSTER_KEYS: [&str; 9] = [
    "server",
    "certificate-authority-data",
    "tls-server-name",
    "insecure-skip-tls-verify",
    "disable-compression",
    "certificate-authority",
    "proxy-url",
    "extensions",
    "something-new",
];

/// What a usable kubeconfig must never hold in the chosen user or cluster.
const NEVER_USER: [&str; 11] = [
    "exec",
    "auth-provider",
    "tokenFile",
    "client-certificate",
    "client-key",
    "as",
    "as-uid",
    "as-groups",
    "as-user-extra",
    "username",
    "password",
];
const NEVER_CLUSTER: [&str; 2] = ["certificate-authority", "proxy-url"];

type Fields = Vec<(&'static str, V)>;

#[derive(Debug, Clone)]
struct Model {
    clusters: Vec<(&'static str, Fields)>,
    users: Vec<(&'static str, Fields)>,
    /// Name, cluster, user.
    contexts: Vec<(&'static str, &'static str, Option<&'static str>)>,
    current: Option<&'static str>,
    chosen: Option<&'static str>,
}

/// Any value a field may be given.
fn value() -> impl Strategy<Value = V> {
    prop_oneof![
        1 => Just(V::Null),
        6 => proptest::sample::select(STRINGS.to_vec()).prop_map(V::Str),
        1 => any::<bool>().prop_map(V::Bool),
        1 => Just(V::Num),
        1 => Just(V::Map),
    ]
}

/// A plausible entry (`base`), and, in three of ten, one or two fields from `keys` set
/// to anything (the hostile ones land there), overriding the base.
fn entry(base: BoxedStrategy<Fields>, keys: &'static [&'static str]) -> BoxedStrategy<Fields> {
    let extra = (proptest::sample::select(keys.to_vec()), value());
    let clean = proptest::bool::weighted(0.7);
    (base, proptest::collection::vec(extra, 1..3), clean)
        .prop_map(|(mut fields, extras, clean)| {
            for (k, v) in extras.into_iter().filter(|_| !clean) {
                fields.retain(|(x, _)| *x != k);
                fields.push((k, v));
            }
            fields
        })
        .boxed()
}

fn model() -> impl Strategy<Value = Model> {
    let some_b64 = || prop_oneof![Just(V::Absent), Just(V::Str("aGVsbG8="))];
    let cluster_base = (
        proptest::sample::select(STRINGS[4..].to_vec()),
        some_b64(),
        prop_oneof![Just(V::Absent), any::<bool>().prop_map(V::Bool)],
    )
        .prop_map(|(server, ca, insecure)| {
            vec![
                ("server", V::Str(server)),
                ("certificate-authority-data", ca),
                ("insecure-skip-tls-verify", insecure),
            ]
        })
        .boxed();
    let user_base = prop_oneof![
        Just(vec![]),
        proptest::sample::select(STRINGS.to_vec()).prop_map(|t| vec![("token", V::Str(t))]),
        Just(vec![
            ("client-certificate-data", V::Str("aGVsbG8=")),
            ("client-key-data", V::Str("aGVsbG8=")),
        ]),
    ]
    .boxed();
    let cluster = (
        proptest::sample::select(vec!["c0", "c1"]),
        entry(cluster_base, &CLUSTER_KEYS),
    );
    let user = (
        proptest::sample::select(vec!["u0", "u1"]),
        entry(user_base, &USER_KEYS),
    );
    let context = (
        proptest::sample::select(vec!["a", "a", "b"]),
        proptest::sample::select(vec!["c0", "c0", "c0", "c1", "ghost"]),
        proptest::sample::select(vec![
            None,
            Some("u0"),
            Some("u0"),
            Some("u0"),
            Some("u1"),
            Some("ghost"),
        ]),
    );
    (
        proptest::collection::vec(cluster, 1..3),
        proptest::collection::vec(user, 1..3),
        proptest::collection::vec(context, 1..3),
        proptest::sample::select(vec![
            None,
            Some("a"),
            Some("a"),
            Some("a"),
            Some("b"),
            Some(""),
        ]),
        proptest::sample::select(vec![None, None, None, Some("a"), Some("b"), Some("zzz")]),
    )
        .prop_map(|(mut clusters, mut users, mut contexts, current, chosen)| {
            // The first of each is named so that most choices resolve.
            clusters[0].0 = "c0";
            users[0].0 = "u0";
            contexts[0].0 = "a";
            Model {
                clusters,
                users,
                contexts,
                current,
                chosen,
            }
        })
}

fn render(fields: &Fields) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in fields {
        if *v != V::Absent {
            m.insert(k.to_string(), v.json());
        }
    }
    Value::Object(m)
}

fn render_model(m: &Model) -> Value {
    let mut doc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": m.clusters.iter().map(|(n, f)| json!({"name": n, "cluster": render(f)})).collect::<Vec<_>>(),
        "users": m.users.iter().map(|(n, f)| json!({"name": n, "user": render(f)})).collect::<Vec<_>>(),
        "contexts": m.contexts.iter().map(|(n, c, u)| {
            let mut ctx = json!({"cluster": c});
            if let Some(u) = u { ctx["user"] = json!(u); }
            json!({"name": n, "context": ctx})
        }).collect::<Vec<_>>(),
    });
    if let Some(c) = m.current {
        doc["current-context"] = json!(c);
    }
    doc
}

fn get<'a>(f: &'a Fields, key: &str) -> &'a V {
    f.iter()
        .find(|(k, _)| *k == key)
        .map_or(&V::Absent, |(_, v)| v)
}

/// The chosen cluster's and user's fields (first by name), or `None` when the choice
/// does not resolve.
fn resolve(m: &Model) -> Option<(&Fields, Option<&Fields>)> {
    let name = match m.chosen {
        Some(c) => c,
        None => m.current.filter(|c| !c.is_empty())?,
    };
    let (_, cluster, user) = m.contexts.iter().find(|(n, _, _)| *n == name)?;
    let cluster = &m.clusters.iter().find(|(n, _)| n == cluster)?.1;
    let user = match user {
        None => None,
        Some(u) => Some(&m.users.iter().find(|(n, _)| n == u)?.1),
    };
    Some((cluster, user))
}

/// Whether the kubeconfig the model renders should be accepted.
fn oracle(m: &Model) -> bool {
    let Some((cluster, user)) = resolve(m) else {
        return false;
    };
    let optional_str = |v: &V| matches!(v, V::Absent | V::Null | V::Str(_));
    let optional_b64 = |v: &V| match v {
        V::Absent | V::Null => true,
        V::Str(s) => is_base64(s),
        _ => false,
    };
    let optional_bool = |v: &V| matches!(v, V::Absent | V::Null | V::Bool(_));
    if let Some(u) = user {
        if NEVER_USER.iter().any(|k| get(u, k).present()) {
            return false;
        }
        let (cert, key) = (get(u, "client-certificate-data"), get(u, "client-key-data"));
        if !optional_str(get(u, "token"))
            || !optional_b64(cert)
            || !optional_b64(key)
            || cert.present() != key.present()
        {
            return false;
        }
    }
    if NEVER_CLUSTER.iter().any(|k| get(cluster, k).present()) {
        return false;
    }
    let Some((loopback, http)) = (match get(cluster, "server") {
        V::Str(s) => server_kind(s),
        _ => None,
    }) else {
        return false;
    };
    let insecure = get(cluster, "insecure-skip-tls-verify");
    (!http || loopback)
        && optional_b64(get(cluster, "certificate-authority-data"))
        && optional_str(get(cluster, "tls-server-name"))
        && optional_bool(insecure)
        && (*insecure != V::Bool(true) || loopback)
        && optional_bool(get(cluster, "disable-compression"))
}

/// What an accepted member must satisfy, read off the model alone.
fn safe(m: &Model, member: &Member) -> Result<(), String> {
    let (cluster, user) = resolve(m).ok_or("accepted an unresolved context")?;
    for k in NEVER_CLUSTER {
        if get(cluster, k).present() {
            return Err(format!("accepted with cluster field {k}"));
        }
    }
    if let Some(u) = user {
        for k in NEVER_USER {
            if get(u, k).present() {
                return Err(format!("accepted with user field {k}"));
            }
        }
    }
    let Some((loopback, http)) = (match get(cluster, "server") {
        V::Str(s) => server_kind(s),
        _ => None,
    }) else {
        return Err("accepted an unusable server".into());
    };
    if (http || member.insecure_skip_tls_verify) && !loopback {
        return Err("plain http or no TLS verification off loopback".into());
    }
    if member.server.starts_with("http://") != http || member.loopback != loopback {
        return Err(format!("the server changed kind: {}", member.server));
    }
    let token = user.map_or(&V::Absent, |u| get(u, "token"));
    if member.token.as_deref()
        != (if let V::Str(s) = token {
            Some(*s)
        } else {
            None
        })
    {
        return Err("the token is not the kubeconfig's".into());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn the_validator_agrees_with_the_oracle_and_accepts_nothing_that_reads_runs_or_proxies(
        m in model()
    ) {
        let doc = render_model(&m);
        let got = kubeconfig::validate(&doc, m.chosen);
        prop_assert_eq!(got.is_ok(), oracle(&m), "{:#?}\n{:?}", doc, got);
        match got {
            Ok(member) => {
                if let Err(why) = safe(&m, &member) {
                    prop_assert!(false, "{}: {:#?}", why, doc);
                }
            }
            Err(KubeconfigError::Refused { field, rule }) => {
                // A refusal names a field the document has, in the chosen entries.
                let key = field.rsplit('.').next().unwrap_or_default();
                let is_never = NEVER_USER.contains(&key) || NEVER_CLUSTER.contains(&key);
                let names_a_refused_field = matches!(
                    rule,
                    Rule::RunsProgram | Rule::AuthProvider | Rule::ReadsFile(_) | Rule::Proxy
                        | Rule::Impersonates | Rule::BasicAuth
                );
                prop_assert_eq!(is_never, names_a_refused_field, "{} {:?}", field, rule);
            }
            Err(_) => {}
        }
    }
}

#[test]
fn the_generator_reaches_both_verdicts_often() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = model();
    let (mut accepted, total) = (0, 2000);
    for _ in 0..total {
        let m = strategy.new_tree(&mut runner).expect("a model").current();
        accepted += usize::from(oracle(&m));
    }
    assert!(
        accepted * 20 > total && accepted * 20 < total * 19,
        "{accepted} of {total} accepted"
    );
}
