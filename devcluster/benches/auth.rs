//! The cost of authentication and RBAC (issue 19), run by `cargo xtask bench` (which
//! writes docs/BENCHMARKS.md).
//!
//! One devcluster with authentication and RBAC. A ServiceAccount is bound through 100
//! RoleBindings and 20 ClusterRoleBindings among other subjects' bindings; the one that
//! lets it create ConfigMaps is the last the authorizer walks. The 10k-ConfigMap create
//! of `benches/api.rs` runs as that ServiceAccount and as the admin (`system:masters`,
//! which skips RBAC), interleaved in rounds so that noise hits both alike.
//!
//! Prints a Markdown section on stdout. Read the figures as ratios within one run.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{
    ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client, Config};
use std::time::{Duration, Instant};

const NS: &str = "bench";
const SA: &str = "writer";
const RBAC: &str = "rbac.authorization.k8s.io";
/// Requests in flight, as in `benches/api.rs`.
const IN_FLIGHT: usize = 16;
const ROUNDS: usize = 10;
const PER_ROUND: usize = 1_000;
const GOAL: f64 = 1.1;

type Error = Box<dyn std::error::Error>;

fn cm(name: &str) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.to_string());
    c.metadata.labels = Some([("app".to_string(), "bench".to_string())].into());
    c.data = Some([("payload".to_string(), "x".repeat(200))].into());
    c
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        ..ObjectMeta::default()
    }
}

fn user(name: &str) -> Subject {
    Subject {
        api_group: Some(RBAC.into()),
        kind: "User".into(),
        name: name.into(),
        namespace: None,
    }
}

fn group(name: &str) -> Subject {
    Subject {
        kind: "Group".into(),
        ..user(name)
    }
}

fn service_account(namespace: &str, name: &str) -> Subject {
    Subject {
        api_group: None,
        kind: "ServiceAccount".into(),
        name: name.into(),
        namespace: Some(namespace.into()),
    }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: Some(RBAC.into()),
        kind: kind.into(),
        name: name.into(),
    }
}

fn role_binding(name: &str, role: RoleRef, subjects: Vec<Subject>) -> RoleBinding {
    RoleBinding {
        metadata: meta(name),
        role_ref: role,
        subjects: Some(subjects),
    }
}

/// The bootstrap ClusterRoles the bindings refer to, in turn; none but `edit` and
/// `admin` lets anyone create ConfigMaps, and those two are never bound to the
/// ServiceAccount.
const OTHERS_ROLES: [&str; 3] = ["view", "edit", "admin"];

/// 100 RoleBindings in [`NS`], walked in name order. Every tenth names the
/// ServiceAccount (by itself or by its namespace's group), last among its subjects, and
/// gives it `view`: the authorizer walks all of view's rules and finds no grant. The
/// others bind other users, groups and ServiceAccounts. The last one, `rb-099`, grants
/// (the `configmap-writer` Role); it is created last.
fn role_bindings() -> Vec<RoleBinding> {
    (0..100)
        .map(|i| {
            let name = format!("rb-{i:03}");
            let mut subjects = vec![
                user(&format!("dev-{i}@example.com")),
                group(&format!("team-{}", i % 7)),
                service_account(NS, &format!("other-{i}")),
            ];
            if i == 99 {
                subjects.push(service_account(NS, SA));
                role_binding(&name, role_ref("Role", "configmap-writer"), subjects)
            } else if i % 10 == 9 {
                subjects.push(if i % 20 == 9 {
                    service_account(NS, SA)
                } else {
                    group(&format!("system:serviceaccounts:{NS}"))
                });
                role_binding(&name, role_ref("ClusterRole", "view"), subjects)
            } else {
                let role = OTHERS_ROLES[i % OTHERS_ROLES.len()];
                role_binding(&name, role_ref("ClusterRole", role), subjects)
            }
        })
        .collect()
}

/// 20 ClusterRoleBindings: every fifth gives all ServiceAccounts (the
/// `system:serviceaccounts` group, last among its subjects) `view` everywhere; the
/// others bind other users and groups.
fn cluster_role_bindings() -> Vec<ClusterRoleBinding> {
    (0..20)
        .map(|i| {
            let mut subjects = vec![
                user(&format!("ops-{i}@example.com")),
                group(&format!("platform-{}", i % 3)),
                service_account("kube-system", &format!("controller-{i}")),
            ];
            let role = if i % 5 == 4 {
                subjects.push(group("system:serviceaccounts"));
                "view"
            } else {
                OTHERS_ROLES[i % OTHERS_ROLES.len()]
            };
            ClusterRoleBinding {
                metadata: meta(&format!("crb-{i:02}")),
                role_ref: role_ref("ClusterRole", role),
                subjects: Some(subjects),
            }
        })
        .collect()
}

/// What `rb-099` grants: reading a few kinds, then writing ConfigMaps (last rule).
fn configmap_writer() -> Role {
    let rule = |verbs: &[&str], resources: &[&str]| PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..PolicyRule::default()
    };
    Role {
        metadata: meta("configmap-writer"),
        rules: Some(vec![
            rule(
                &["get", "list", "watch"],
                &["pods", "services", "endpoints"],
            ),
            rule(&["get", "list", "watch"], &["secrets"]),
            rule(&["create", "update", "patch", "delete"], &["configmaps"]),
        ]),
    }
}

/// A token for the ServiceAccount, by TokenRequest, as `kubectl create token` gets one.
async fn token(admin: &Client) -> Result<String, Error> {
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), NS);
    let req = TokenRequest {
        spec: Some(TokenRequestSpec::default()),
        ..TokenRequest::default()
    };
    let answer = sas
        .create_token_request(SA, &PostParams::default(), &req)
        .await?;
    answer
        .status
        .and_then(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the TokenRequest came back without a token".into())
}

fn client_with(cluster: &devcluster::DevCluster, token: &str) -> Result<Client, Error> {
    let mut config = Config::new(cluster.url().parse()?);
    config.auth_info.token = Some(token.to_string().into());
    config.root_cert = cluster.ca_der().map(|der| vec![der.to_vec()]);
    Ok(Client::try_from(config)?)
}

/// Creates `prefix-{i}` for `i` in `range`, [`IN_FLIGHT`] at a time: the wall time and
/// each request's time.
async fn create_batch(
    api: &Api<ConfigMap>,
    prefix: &str,
    range: std::ops::Range<usize>,
) -> Result<(Duration, Vec<Duration>), kube::Error> {
    let started = Instant::now();
    let each = futures::stream::iter(range)
        .map(|i| {
            let api = api.clone();
            let name = format!("{prefix}-{i:05}");
            async move {
                let t = Instant::now();
                api.create(&PostParams::default(), &cm(&name)).await?;
                Ok::<_, kube::Error>(t.elapsed())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await?;
    Ok((started.elapsed(), each))
}

/// One create, alone: its time.
async fn create_one(api: &Api<ConfigMap>, name: &str) -> Result<Duration, kube::Error> {
    let t = Instant::now();
    api.create(&PostParams::default(), &cm(name)).await?;
    Ok(t.elapsed())
}

/// CPU time used so far by this process's threads, user and system (Linux
/// schedstat, in nanoseconds); `None` where that is not readable.
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        // A thread that ended since the listing is skipped.
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let cluster = devcluster::DevCluster::start(devcluster::Options {
        auth: Some(devcluster::AuthOptions {
            anonymous: false,
            token_file: None,
        }),
        ..devcluster::Options::default()
    })
    .await?;
    let admin = cluster.client()?;
    let pp = PostParams::default();

    Api::<Namespace>::all(admin.clone())
        .create(
            &pp,
            &Namespace {
                metadata: meta(NS),
                ..Namespace::default()
            },
        )
        .await?;
    let sa = ServiceAccount {
        metadata: meta(SA),
        ..ServiceAccount::default()
    };
    Api::<ServiceAccount>::namespaced(admin.clone(), NS)
        .create(&pp, &sa)
        .await?;
    let token = token(&admin).await?;
    let as_sa: Api<ConfigMap> = Api::namespaced(client_with(&cluster, &token)?, NS);
    let as_admin: Api<ConfigMap> = Api::namespaced(admin.clone(), NS);

    let roles: Api<Role> = Api::namespaced(admin.clone(), NS);
    roles.create(&pp, &configmap_writer()).await?;
    let crbs: Api<ClusterRoleBinding> = Api::all(admin.clone());
    for b in cluster_role_bindings() {
        crbs.create(&pp, &b).await?;
    }
    let rbs: Api<RoleBinding> = Api::namespaced(admin.clone(), NS);
    let mut bindings = role_bindings();
    let granting = bindings.pop().ok_or("no bindings")?;
    for b in bindings {
        rbs.create(&pp, &b).await?;
    }
    // Every binding but the last is in place: the ServiceAccount may not create yet, so
    // no earlier one grants and the authorizer walks them all before `rb-099`.
    match as_sa.create(&pp, &cm("refused")).await {
        Err(kube::Error::Api(s)) if s.code == 403 => {}
        other => return Err(format!("expected a 403 before rb-099, got {other:?}").into()),
    }
    rbs.create(&pp, &granting).await?;

    // Warm both clients' connections, the token cache and the RBAC snapshot.
    create_batch(&as_sa, "warm-sa", 0..200).await?;
    create_batch(&as_admin, "warm-admin", 0..200).await?;

    let (mut sa_total, mut admin_total) = (Duration::ZERO, Duration::ZERO);
    let (mut sa_each, mut admin_each) = (Vec::new(), Vec::new());
    // Process CPU (client and server: both are in this process) over each side's batches.
    let (mut sa_cpu, mut admin_cpu) = (Some(Duration::ZERO), Some(Duration::ZERO));
    for round in 0..ROUNDS {
        let range = round * PER_ROUND..(round + 1) * PER_ROUND;
        for sa_turn in [round % 2 == 0, round % 2 == 1] {
            let (api, prefix) = if sa_turn {
                (&as_sa, "sa")
            } else {
                (&as_admin, "admin")
            };
            let cpu_before = process_cpu();
            let (wall, each) = create_batch(api, prefix, range.clone()).await?;
            let cpu = process_cpu()
                .zip(cpu_before)
                .map(|(a, b)| a.saturating_sub(b));
            let (total, all, cpu_total) = if sa_turn {
                (&mut sa_total, &mut sa_each, &mut sa_cpu)
            } else {
                (&mut admin_total, &mut admin_each, &mut admin_cpu)
            };
            *total += wall;
            all.extend(each);
            *cpu_total = cpu_total.zip(cpu).map(|(a, b)| a + b);
        }
    }

    // The RBAC snapshot rebuild: one create as the ServiceAccount alone (steady state),
    // then a RoleBinding for someone else, then one create as the ServiceAccount (the
    // first request after an RBAC change rebuilds the authorizer).
    let (mut steady, mut after_change) = (Vec::new(), Vec::new());
    for i in 0..21 {
        steady.push(create_one(&as_sa, &format!("steady-{i:02}")).await?);
        let b = role_binding(
            &format!("extra-{i:02}"),
            role_ref("ClusterRole", "view"),
            vec![user(&format!("late-{i}@example.com"))],
        );
        rbs.create(&pp, &b).await?;
        after_change.push(create_one(&as_sa, &format!("after-{i:02}")).await?);
    }

    let ratio = sa_total.as_secs_f64() / admin_total.as_secs_f64();
    let n = ROUNDS * PER_ROUND;
    let sa_p50 = pct(&mut sa_each, 0.50);
    let admin_p50 = pct(&mut admin_each, 0.50);
    let (steady_p50, after_p50) = (pct(&mut steady, 0.50), pct(&mut after_change, 0.50));

    println!("## devcluster with authentication and RBAC\n");
    println!(
        "HTTPS, bearer tokens. A ServiceAccount bound through 100 RoleBindings and 20 \
         ClusterRoleBindings among other subjects' (13 of them give it `view`, by its name or \
         a group; the one that lets it create ConfigMaps is the last walked), besides the \
         bootstrap roles and bindings; token verification cached as kube-apiserver caches it (successes, 10 s). \
         {n} ConfigMaps of ~300 bytes created as it and {n} as the admin (`system:masters`, \
         no RBAC walk), kube-rs over loopback, {IN_FLIGHT} in flight, {ROUNDS} rounds of \
         {PER_ROUND} each alternating which goes first.\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| create {n}: ServiceAccount / admin, total (goal ≤ {GOAL}×: **{}**) | {} / {} = **{ratio:.2}×** |",
        if ratio <= GOAL { "met" } else { "not met" },
        ms(sa_total),
        ms(admin_total),
    );
    println!(
        "| create, per request ({IN_FLIGHT} in flight), p50: ServiceAccount / admin | {} / {} = **{:.2}×** |",
        ms(sa_p50),
        ms(admin_p50),
        sa_p50.as_secs_f64() / admin_p50.as_secs_f64()
    );
    let (sa_p99, admin_p99) = (pct(&mut sa_each, 0.99), pct(&mut admin_each, 0.99));
    println!(
        "| create, per request ({IN_FLIGHT} in flight), p99: ServiceAccount / admin | {} / {} = **{:.2}×** |",
        ms(sa_p99),
        ms(admin_p99),
        sa_p99.as_secs_f64() / admin_p99.as_secs_f64()
    );
    if let (Some(sa_cpu), Some(admin_cpu)) = (sa_cpu, admin_cpu) {
        let per = |d: Duration| d / n as u32;
        println!(
            "| process CPU per create (client and server, both in this process): ServiceAccount / admin | {} / {} = **{:.2}×** |",
            us(per(sa_cpu)),
            us(per(admin_cpu)),
            sa_cpu.as_secs_f64() / admin_cpu.as_secs_f64()
        );
    }
    println!(
        "| one create as the ServiceAccount, alone: first after a RoleBinding was created (RBAC snapshot rebuilt) / steady state (median of 21) | {} / {} = **{:.2}×** |",
        us(after_p50),
        us(steady_p50),
        after_p50.as_secs_f64() / steady_p50.as_secs_f64()
    );
    println!();
    cluster.shutdown().await;
    Ok(())
}
