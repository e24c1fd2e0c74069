//! The RBAC authorizer against the cases of the Kubernetes RBAC documentation
//! (https://kubernetes.io/docs/reference/access-authn-authz/rbac/) and kube-apiserver's
//! code: wildcards, list/watch versus get, subresources, resourceNames, nonResourceURLs,
//! aggregation, RoleBindings to ClusterRoles, ServiceAccount and group subjects, the
//! `system:masters` bypass, escalation prevention, and the 403 texts word for word.
//!
//! Each table row has a name; a failing run lists the names of every failing row.

use devcluster::auth::bootstrap;
use devcluster::auth::rbac::{
    Attributes, Authorizer, Decision, PolicyRule, RbacWrite, UserInfo, forbidden_message,
    forbidden_message_with_reason, forbidden_status,
};
use serde_json::{Value, json};

const RBAC: &str = "rbac.authorization.k8s.io/v1";

fn meta(namespace: &str, name: &str, labels: Value) -> Value {
    let mut m = json!({"name": name, "labels": labels});
    if !namespace.is_empty() {
        m["namespace"] = json!(namespace);
    }
    m
}

fn role(namespace: &str, name: &str, rules: Value) -> Value {
    json!({"apiVersion": RBAC, "kind": "Role", "metadata": meta(namespace, name, json!({})), "rules": rules})
}

fn cluster_role(name: &str, labels: Value, rules: Value) -> Value {
    json!({"apiVersion": RBAC, "kind": "ClusterRole", "metadata": meta("", name, labels), "rules": rules})
}

fn aggregating_role(name: &str, selectors: Value) -> Value {
    json!({
        "apiVersion": RBAC, "kind": "ClusterRole", "metadata": meta("", name, json!({})),
        "aggregationRule": {"clusterRoleSelectors": selectors},
    })
}

fn role_binding(namespace: &str, name: &str, kind: &str, role: &str, subjects: Value) -> Value {
    json!({
        "apiVersion": RBAC, "kind": "RoleBinding", "metadata": meta(namespace, name, json!({})),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": subjects,
    })
}

fn cluster_role_binding(name: &str, role: &str, subjects: Value) -> Value {
    json!({
        "apiVersion": RBAC, "kind": "ClusterRoleBinding", "metadata": meta("", name, json!({})),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    })
}

fn user(name: &str) -> Value {
    json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}])
}

fn group(name: &str) -> Value {
    json!([{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}])
}

/// The cluster every row runs against: the bootstrap policy plus the documentation's
/// examples and a few tenants.
fn world() -> Vec<Value> {
    let mut o = bootstrap::objects();
    o.extend([
        // Docs: "Role example": read pods in "default", bound to jane.
        role("default", "pod-reader", json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}])),
        role_binding("default", "read-pods", "Role", "pod-reader", user("jane")),
        // Docs: "ClusterRole example" secret-reader, bound to dave in development only,
        // and to the group manager cluster-wide.
        cluster_role("secret-reader", json!({}), json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}])),
        role_binding("development", "read-secrets", "ClusterRole", "secret-reader", user("dave")),
        cluster_role_binding("read-secrets-global", "secret-reader", group("manager")),
        // Docs: "Referring to resources": pods and pods/log.
        role("default", "pod-and-pod-logs-reader", json!([{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}])),
        role_binding("default", "logs", "Role", "pod-and-pod-logs-reader", user("logan")),
        // Docs: resourceNames (and create/list with names).
        role("default", "configmap-updater", json!([
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["my-configmap"], "verbs": ["update", "get", "list", "create"]},
        ])),
        role_binding("default", "cm", "Role", "configmap-updater", user("cmuser")),
        // Docs: nonResourceURLs with a trailing *.
        cluster_role("healthz-reader", json!({}), json!([{"nonResourceURLs": ["/healthz", "/healthz/*"], "verbs": ["get", "post"]}])),
        cluster_role_binding("healthz", "healthz-reader", user("prober")),
        // Wildcards.
        cluster_role("apps-everything", json!({}), json!([{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]}])),
        cluster_role_binding("apps-everything", "apps-everything", user("appsadmin")),
        cluster_role("deployments-any-group", json!({}), json!([{"apiGroups": ["*"], "resources": ["deployments"], "verbs": ["get"]}])),
        cluster_role_binding("deployments-any-group", "deployments-any-group", user("anydeploy")),
        cluster_role("status-writer", json!({}), json!([{"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get", "update", "patch"]}])),
        cluster_role_binding("status-writer", "status-writer", user("statusbot")),
        cluster_role("pods-slash-star", json!({}), json!([{"apiGroups": [""], "resources": ["pods/*"], "verbs": ["get"]}])),
        cluster_role_binding("pods-slash-star", "pods-slash-star", user("starry")),
        // deployments/scale for a ServiceAccount named without a namespace in a RoleBinding.
        cluster_role("scaler", json!({}), json!([{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "update", "patch"]}])),
        role_binding("scaling", "scaler", "ClusterRole", "scaler", json!([{"kind": "ServiceAccount", "name": "scaler"}])),
        // Tenants: team-a's ServiceAccounts edit team-a; viewer views, boss administers it.
        role_binding("team-a", "team-a-edit", "ClusterRole", "edit", group("system:serviceaccounts:team-a")),
        role_binding("team-a", "viewer", "ClusterRole", "view", user("viewer")),
        role_binding("team-a", "boss", "ClusterRole", "admin", user("boss")),
        role_binding("qa", "qa-view", "ClusterRole", "view", group("system:serviceaccounts:qa")),
        cluster_role_binding("kube-system-default-view", "view", json!([{"kind": "ServiceAccount", "name": "default", "namespace": "kube-system"}])),
        cluster_role_binding("lonely", "cluster-admin", json!([{"kind": "ServiceAccount", "name": "lonely"}])),
        // Docs: aggregated ClusterRoles: CronTabs join edit/admin and view.
        cluster_role(
            "aggregate-cron-tabs-edit",
            json!({"rbac.authorization.k8s.io/aggregate-to-admin": "true", "rbac.authorization.k8s.io/aggregate-to-edit": "true"}),
            json!([{"apiGroups": ["stable.example.com"], "resources": ["crontabs"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]),
        ),
        cluster_role(
            "aggregate-cron-tabs-view",
            json!({"rbac.authorization.k8s.io/aggregate-to-view": "true"}),
            json!([{"apiGroups": ["stable.example.com"], "resources": ["crontabs"], "verbs": ["get", "list", "watch"]}]),
        ),
        // Docs: a "monitoring" role aggregated by selectors (here with matchExpressions).
        aggregating_role("monitoring", json!([
            {"matchExpressions": [{"key": "rbac.example.com/aggregate-to-monitoring", "operator": "In", "values": ["true"]}]},
            {"matchExpressions": [{"key": "team", "operator": "Exists"}, {"key": "deprecated", "operator": "DoesNotExist"}]},
        ])),
        cluster_role("monitoring-endpoints", json!({"rbac.example.com/aggregate-to-monitoring": "true"}), json!([{"apiGroups": [""], "resources": ["services", "endpointslices", "pods"], "verbs": ["get", "list", "watch"]}])),
        cluster_role("monitoring-opted-out", json!({"rbac.example.com/aggregate-to-monitoring": "false"}), json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])),
        cluster_role("team-extra", json!({"team": "x"}), json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}])),
        cluster_role("team-old", json!({"team": "y", "deprecated": "true"}), json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["delete"]}])),
        cluster_role_binding("monitoring", "monitoring", user("monitor")),
        // A binding to a role that does not exist.
        role_binding("team-c", "ghostly", "ClusterRole", "does-not-exist", user("ghost")),
        // Escalation: binder may manage rolebindings in team-a and bind cluster-admin there.
        role("team-a", "rb-manager", json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create", "update"]}])),
        role_binding("team-a", "binder-rb", "Role", "rb-manager", user("binder")),
        cluster_role("bind-cluster-admin", json!({}), json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"], "resourceNames": ["cluster-admin"]}])),
        role_binding("team-a", "binder-bind", "ClusterRole", "bind-cluster-admin", user("binder")),
        // Escalation: escalator may escalate roles in team-a; named-escalator only "named-only".
        role("team-a", "role-escalator", json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["create", "update", "escalate"]}])),
        role_binding("team-a", "escalator", "Role", "role-escalator", user("escalator")),
        role("team-a", "named-escalator", json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "resourceNames": ["named-only"], "verbs": ["escalate"]}])),
        role_binding("team-a", "named-escalator", "Role", "named-escalator", user("named-escalator")),
        // crwriter holds reads of pods everywhere and may write clusterroles.
        cluster_role("clusterrole-writer", json!({}), json!([
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["create", "update"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        ])),
        cluster_role_binding("clusterrole-writer", "clusterrole-writer", user("crwriter")),
    ]);
    o
}

fn authorizer() -> Authorizer {
    let objects = world();
    let authz = Authorizer::from_objects(&objects);
    assert!(authz.skipped().is_empty(), "skipped: {:?}", authz.skipped());
    authz
}

fn who(name: &str) -> UserInfo {
    UserInfo::new(name, &["system:authenticated"])
}

fn sa(namespace: &str, name: &str) -> UserInfo {
    UserInfo::service_account(namespace, name)
}

fn anonymous() -> UserInfo {
    UserInfo::new("system:anonymous", &["system:unauthenticated"])
}

fn master() -> UserInfo {
    UserInfo::new(
        "devcluster-admin",
        &["system:masters", "system:authenticated"],
    )
}

/// `verb` on `resource` of `group` in `namespace` ("" for cluster-wide).
fn req(u: &UserInfo, verb: &str, group: &str, resource: &str, namespace: &str) -> Attributes {
    Attributes::resource(u, verb, group, resource).in_namespace(namespace)
}

fn url(u: &UserInfo, verb: &str, path: &str) -> Attributes {
    Attributes::non_resource(u, verb, path)
}

fn report(failures: Vec<String>, rows: usize) {
    assert!(
        failures.is_empty(),
        "{} of {rows} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn authorization_table_follows_the_rbac_documentation() {
    let authz = authorizer();
    let (jane, dave, logan, cmuser) = (who("jane"), who("dave"), who("logan"), who("cmuser"));
    let mia = UserInfo::new("mia", &["manager", "system:authenticated"]);
    let tenant = sa("team-a", "default");
    let rows: Vec<(&str, Attributes, bool)> = vec![
        // Role and RoleBinding.
        (
            "role grants get in its namespace",
            req(&jane, "get", "", "pods", "default").named("p"),
            true,
        ),
        (
            "role grants list",
            req(&jane, "list", "", "pods", "default"),
            true,
        ),
        (
            "role grants watch",
            req(&jane, "watch", "", "pods", "default"),
            true,
        ),
        (
            "role grants nothing in another namespace",
            req(&jane, "get", "", "pods", "kube-system").named("p"),
            false,
        ),
        (
            "role grants no verb it does not list",
            req(&jane, "delete", "", "pods", "default").named("p"),
            false,
        ),
        (
            "namespaced grant does not list across all namespaces",
            req(&jane, "list", "", "pods", ""),
            false,
        ),
        (
            "namespaced grant does not watch across all namespaces",
            req(&jane, "watch", "", "pods", ""),
            false,
        ),
        (
            "verbs are case sensitive",
            req(&jane, "Get", "", "pods", "default"),
            false,
        ),
        (
            "pods in a role do not grant another group's pods",
            req(&jane, "get", "metrics.k8s.io", "pods", "default"),
            false,
        ),
        // Subresources.
        (
            "pods does not grant pods/log",
            req(&jane, "get", "", "pods", "default")
                .named("p")
                .subresource("log"),
            false,
        ),
        (
            "pods/log listed grants pods/log",
            req(&logan, "get", "", "pods", "default")
                .named("p")
                .subresource("log"),
            true,
        ),
        (
            "pods/log does not grant pods/exec",
            req(&logan, "get", "", "pods", "default")
                .named("p")
                .subresource("exec"),
            false,
        ),
        (
            "deployments/scale grants scale updates",
            req(
                &sa("scaling", "scaler"),
                "update",
                "apps",
                "deployments",
                "scaling",
            )
            .named("web")
            .subresource("scale"),
            true,
        ),
        (
            "deployments/scale does not grant the deployment",
            req(
                &sa("scaling", "scaler"),
                "get",
                "apps",
                "deployments",
                "scaling",
            )
            .named("web"),
            false,
        ),
        (
            "*/status grants a custom resource's status",
            req(
                &who("statusbot"),
                "update",
                "packages.hoist.dev",
                "packages",
                "team-a",
            )
            .named("p")
            .subresource("status"),
            true,
        ),
        (
            "*/status grants any group's status",
            req(&who("statusbot"), "get", "apps", "deployments", "x")
                .named("d")
                .subresource("status"),
            true,
        ),
        (
            "*/status does not grant the main resource",
            req(
                &who("statusbot"),
                "update",
                "packages.hoist.dev",
                "packages",
                "team-a",
            )
            .named("p"),
            false,
        ),
        (
            "*/status does not grant another subresource",
            req(&who("statusbot"), "get", "apps", "deployments", "x")
                .named("d")
                .subresource("scale"),
            false,
        ),
        (
            "pods/* is not a wildcard",
            req(&who("starry"), "get", "", "pods", "x")
                .named("p")
                .subresource("log"),
            false,
        ),
        // RoleBinding to a ClusterRole; ClusterRoleBinding.
        (
            "rolebinding to clusterrole grants in its namespace",
            req(&dave, "get", "", "secrets", "development").named("s"),
            true,
        ),
        (
            "rolebinding to clusterrole grants nothing elsewhere",
            req(&dave, "get", "", "secrets", "default").named("s"),
            false,
        ),
        (
            "rolebinding to clusterrole grants no cluster-wide list",
            req(&dave, "list", "", "secrets", ""),
            false,
        ),
        (
            "clusterrolebinding to a group grants in any namespace",
            req(&mia, "get", "", "secrets", "anywhere").named("s"),
            true,
        ),
        (
            "clusterrolebinding grants lists across all namespaces",
            req(&mia, "list", "", "secrets", ""),
            true,
        ),
        // resourceNames.
        (
            "resourceNames grant the named object",
            req(&cmuser, "get", "", "configmaps", "default").named("my-configmap"),
            true,
        ),
        (
            "resourceNames grant updates of the named object",
            req(&cmuser, "update", "", "configmaps", "default").named("my-configmap"),
            true,
        ),
        (
            "resourceNames do not grant another name",
            req(&cmuser, "get", "", "configmaps", "default").named("other"),
            false,
        ),
        (
            "list with resourceNames does not grant an unnamed list",
            req(&cmuser, "list", "", "configmaps", "default"),
            false,
        ),
        (
            "list with resourceNames grants a list naming the object",
            req(&cmuser, "list", "", "configmaps", "default").named("my-configmap"),
            true,
        ),
        (
            "create cannot be restricted by name",
            req(&cmuser, "create", "", "configmaps", "default"),
            false,
        ),
        // nonResourceURLs.
        (
            "nonResourceURL exact",
            url(&who("prober"), "get", "/healthz"),
            true,
        ),
        (
            "nonResourceURL trailing star is a prefix",
            url(&who("prober"), "get", "/healthz/etcd"),
            true,
        ),
        (
            "nonResourceURL verb post",
            url(&who("prober"), "post", "/healthz"),
            true,
        ),
        (
            "nonResourceURL star needs the slash",
            url(&who("prober"), "get", "/healthzx"),
            false,
        ),
        (
            "nonResourceURL other path",
            url(&who("prober"), "get", "/metrics"),
            false,
        ),
        (
            "nonResourceURL rules grant no resources",
            req(&who("prober"), "get", "", "pods", "default"),
            false,
        ),
        // Wildcards.
        (
            "* verbs and * resources in a group",
            req(
                &who("appsadmin"),
                "deletecollection",
                "apps",
                "replicasets",
                "x",
            ),
            true,
        ),
        (
            "* resources include subresources",
            req(&who("appsadmin"), "update", "apps", "statefulsets", "x")
                .named("s")
                .subresource("scale"),
            true,
        ),
        (
            "* resources stay in their group",
            req(&who("appsadmin"), "get", "", "pods", "x"),
            false,
        ),
        (
            "* groups: deployments in apps",
            req(&who("anydeploy"), "get", "apps", "deployments", "x").named("d"),
            true,
        ),
        (
            "* groups: deployments in extensions",
            req(&who("anydeploy"), "get", "extensions", "deployments", "x").named("d"),
            true,
        ),
        (
            "* groups: not other resources",
            req(&who("anydeploy"), "get", "", "pods", "x").named("d"),
            false,
        ),
        // Default roles and aggregation.
        (
            "edit creates configmaps",
            req(&tenant, "create", "", "configmaps", "team-a"),
            true,
        ),
        (
            "edit reads secrets",
            req(&tenant, "get", "", "secrets", "team-a").named("s"),
            true,
        ),
        (
            "edit scales deployments",
            req(&tenant, "patch", "apps", "deployments", "team-a")
                .named("web")
                .subresource("scale"),
            true,
        ),
        (
            "edit cannot write rolebindings",
            req(
                &tenant,
                "create",
                "rbac.authorization.k8s.io",
                "rolebindings",
                "team-a",
            ),
            false,
        ),
        (
            "edit cannot write resourcequotas",
            req(&tenant, "create", "", "resourcequotas", "team-a"),
            false,
        ),
        (
            "edit grants nothing in another namespace",
            req(&tenant, "create", "", "configmaps", "team-b"),
            false,
        ),
        (
            "view reads configmaps",
            req(&who("viewer"), "list", "", "configmaps", "team-a"),
            true,
        ),
        (
            "view does not read secrets",
            req(&who("viewer"), "get", "", "secrets", "team-a").named("s"),
            false,
        ),
        (
            "view does not write",
            req(&who("viewer"), "create", "", "configmaps", "team-a"),
            false,
        ),
        (
            "admin writes rolebindings",
            req(
                &who("boss"),
                "create",
                "rbac.authorization.k8s.io",
                "rolebindings",
                "team-a",
            ),
            true,
        ),
        (
            "admin has edit's powers",
            req(&who("boss"), "delete", "", "configmaps", "team-a").named("c"),
            true,
        ),
        (
            "aggregate-to-edit extends edit",
            req(
                &tenant,
                "create",
                "stable.example.com",
                "crontabs",
                "team-a",
            ),
            true,
        ),
        (
            "aggregate-to-admin extends admin",
            req(
                &who("boss"),
                "delete",
                "stable.example.com",
                "crontabs",
                "team-a",
            )
            .named("c"),
            true,
        ),
        (
            "aggregate-to-view extends view",
            req(
                &who("viewer"),
                "watch",
                "stable.example.com",
                "crontabs",
                "team-a",
            ),
            true,
        ),
        (
            "aggregate-to-edit does not extend view",
            req(
                &who("viewer"),
                "create",
                "stable.example.com",
                "crontabs",
                "team-a",
            ),
            false,
        ),
        (
            "aggregation matchExpressions In",
            req(&who("monitor"), "list", "", "services", ""),
            true,
        ),
        (
            "aggregation In excludes other values",
            req(&who("monitor"), "get", "", "secrets", "x").named("s"),
            false,
        ),
        (
            "aggregation Exists",
            req(&who("monitor"), "list", "", "nodes", ""),
            true,
        ),
        (
            "aggregation DoesNotExist",
            req(&who("monitor"), "delete", "", "nodes", "").named("n"),
            false,
        ),
        // Subjects.
        (
            "serviceaccount subject without namespace defaults to the binding's",
            req(
                &sa("scaling", "scaler"),
                "get",
                "apps",
                "deployments",
                "scaling",
            )
            .named("w")
            .subresource("scale"),
            true,
        ),
        (
            "serviceaccount subject binds only that namespace's account",
            req(
                &sa("team-b", "scaler"),
                "get",
                "apps",
                "deployments",
                "scaling",
            )
            .named("w")
            .subresource("scale"),
            false,
        ),
        (
            "serviceaccount subject in a clusterrolebinding",
            req(&sa("kube-system", "default"), "list", "", "pods", ""),
            true,
        ),
        (
            "serviceaccount subject does not match a user of the same name",
            req(&who("default"), "list", "", "pods", ""),
            false,
        ),
        (
            "serviceaccount subject without namespace in a clusterrolebinding matches nobody",
            req(&sa("x", "lonely"), "get", "", "pods", "x"),
            false,
        ),
        (
            "group system:serviceaccounts:NS",
            req(&sa("qa", "tester"), "list", "", "pods", "qa"),
            true,
        ),
        (
            "group system:serviceaccounts:NS excludes other namespaces' accounts",
            req(&tenant, "list", "", "pods", "qa"),
            false,
        ),
        (
            "binding to a missing role grants nothing",
            req(&who("ghost"), "list", "", "pods", "team-c"),
            false,
        ),
        // Bootstrap policy.
        (
            "authenticated users discover APIs",
            url(&jane, "get", "/apis/apps/v1"),
            true,
        ),
        (
            "authenticated users read /version",
            url(&jane, "get", "/version"),
            true,
        ),
        (
            "authenticated users create selfsubjectaccessreviews",
            req(
                &jane,
                "create",
                "authorization.k8s.io",
                "selfsubjectaccessreviews",
                "",
            ),
            true,
        ),
        (
            "authenticated users create selfsubjectreviews",
            req(
                &jane,
                "create",
                "authentication.k8s.io",
                "selfsubjectreviews",
                "",
            ),
            true,
        ),
        (
            "authenticated users do not read /metrics",
            url(&jane, "get", "/metrics"),
            false,
        ),
        (
            "anonymous reads /healthz",
            url(&anonymous(), "get", "/healthz"),
            true,
        ),
        (
            "anonymous does not discover APIs",
            url(&anonymous(), "get", "/api"),
            false,
        ),
        (
            "anonymous reads no resources",
            req(&anonymous(), "get", "", "pods", "default"),
            false,
        ),
        // system:masters.
        (
            "system:masters may do anything",
            req(&master(), "delete", "", "nodes", "").named("n"),
            true,
        ),
        (
            "system:masters may use any path",
            url(&master(), "put", "/anything"),
            true,
        ),
        (
            "system:masters may impersonate",
            req(&master(), "impersonate", "", "users", "").named("x"),
            true,
        ),
    ];
    let mut failures = Vec::new();
    for (name, attrs, allowed) in &rows {
        let decision = authz.authorize(attrs);
        if decision.is_allowed() != *allowed {
            failures.push(format!(
                "{name}: expected allowed={allowed}, got {decision:?}"
            ));
        }
    }
    report(failures, rows.len());
}

#[test]
fn system_masters_bypass_needs_no_binding() {
    let empty = Authorizer::default();
    let attrs = req(&master(), "delete", "", "nodes", "").named("n");
    assert_eq!(empty.authorize(&attrs), Decision::Allow(String::new()));
    assert!(!empty.authorize_rbac(&attrs).is_allowed());
}

#[test]
fn allowed_decisions_name_the_binding_that_allowed() {
    let authz = authorizer();
    let d = authz.authorize(&req(&who("jane"), "get", "", "pods", "default").named("p"));
    assert_eq!(
        d.reason(),
        r#"RBAC: allowed by RoleBinding "read-pods/default" of Role "pod-reader" to User "jane""#
    );
    let d = authz.authorize(
        &req(
            &sa("scaling", "scaler"),
            "get",
            "apps",
            "deployments",
            "scaling",
        )
        .named("w")
        .subresource("scale"),
    );
    assert_eq!(
        d.reason(),
        r#"RBAC: allowed by RoleBinding "scaler/scaling" of ClusterRole "scaler" to ServiceAccount "scaler/scaling""#
    );
}

#[test]
fn forbidden_messages_are_the_api_servers_word_for_word() {
    let authz = authorizer();
    let jane = who("jane");
    let tenant = sa("team-a", "default");
    let rows: Vec<(&str, Attributes, &str)> = vec![
        (
            "namespaced create",
            req(&tenant, "create", "", "configmaps", "team-b"),
            r#"configmaps is forbidden: User "system:serviceaccount:team-a:default" cannot create resource "configmaps" in API group "" in the namespace "team-b""#,
        ),
        (
            "cluster scope",
            req(&jane, "list", "", "nodes", ""),
            r#"nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope"#,
        ),
        (
            "named object",
            req(&jane, "get", "", "configmaps", "default").named("x"),
            r#"configmaps "x" is forbidden: User "jane" cannot get resource "configmaps" in API group "" in the namespace "default""#,
        ),
        (
            "subresource of a named object in a group",
            req(&jane, "get", "apps", "deployments", "default")
                .named("web")
                .subresource("scale"),
            r#"deployments.apps "web" is forbidden: User "jane" cannot get resource "deployments/scale" in API group "apps" in the namespace "default""#,
        ),
        (
            "custom resource watched across namespaces",
            req(&tenant, "watch", "packages.hoist.dev", "packages", ""),
            r#"packages.packages.hoist.dev is forbidden: User "system:serviceaccount:team-a:default" cannot watch resource "packages" in API group "packages.hoist.dev" at the cluster scope"#,
        ),
        (
            "cluster-scoped named object",
            req(
                &jane,
                "delete",
                "rbac.authorization.k8s.io",
                "clusterroles",
                "",
            )
            .named("edit"),
            r#"clusterroles.rbac.authorization.k8s.io "edit" is forbidden: User "jane" cannot delete resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope"#,
        ),
        (
            "non-resource URL",
            url(&jane, "get", "/metrics"),
            r#"forbidden: User "jane" cannot get path "/metrics""#,
        ),
        (
            "anonymous",
            url(&anonymous(), "get", "/apis"),
            r#"forbidden: User "system:anonymous" cannot get path "/apis""#,
        ),
        (
            "binding to a missing role adds the RBAC reason",
            req(&who("ghost"), "list", "", "pods", "team-c"),
            r#"pods is forbidden: User "ghost" cannot list resource "pods" in API group "" in the namespace "team-c": RBAC: clusterrole.rbac.authorization.k8s.io "does-not-exist" not found"#,
        ),
    ];
    let mut failures = Vec::new();
    for (name, attrs, want) in &rows {
        let decision = authz.authorize(attrs);
        if decision.is_allowed() {
            failures.push(format!("{name}: unexpectedly allowed"));
            continue;
        }
        let got = forbidden_message_with_reason(attrs, decision.reason());
        if got != *want {
            failures.push(format!("{name}:\n  got  {got}\n  want {want}"));
        }
    }
    report(failures, rows.len());
}

#[test]
fn forbidden_status_is_a_403_status_with_details() {
    let attrs = req(&who("jane"), "get", "apps", "deployments", "default")
        .named("web")
        .subresource("scale");
    let status = forbidden_status(&attrs, "");
    assert_eq!(status["code"], 403);
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["message"], json!(forbidden_message(&attrs)));
    assert_eq!(
        status["details"],
        json!({"name": "web", "group": "apps", "kind": "deployments"})
    );
    let path = forbidden_status(&url(&who("jane"), "get", "/metrics"), "");
    assert_eq!(path["details"], json!({}));
}

/// One escalation row: who writes what, and the expected outcome (`Ok` or the refusal's
/// code and message).
struct Write {
    name: &'static str,
    user: UserInfo,
    resource: &'static str,
    namespace: &'static str,
    object: Value,
    old: Option<Value>,
    want: Result<(), (u16, String)>,
}

fn binding_object(namespace: &str, name: &str, kind: &str, role: &str) -> Value {
    if namespace.is_empty() {
        cluster_role_binding(name, role, user("someone"))
    } else {
        role_binding(namespace, name, kind, role, user("someone"))
    }
}

#[test]
fn escalation_table_follows_the_api_servers_rules() {
    let authz = authorizer();
    let tenant = sa("team-a", "default");
    let groups =
        r#"["system:serviceaccounts" "system:serviceaccounts:team-a" "system:authenticated"]"#;
    let tenant_admin = format!(
        "rolebindings.rbac.authorization.k8s.io \"tenant-admin\" is forbidden: user \"system:serviceaccount:team-a:default\" (groups={groups}) is attempting to grant RBAC permissions not currently held:\n{{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}}\n{{NonResourceURLs:[\"*\"], Verbs:[\"*\"]}}"
    );
    let node_lister = format!(
        "roles.rbac.authorization.k8s.io \"node-lister\" is forbidden: user \"system:serviceaccount:team-a:default\" (groups={groups}) is attempting to grant RBAC permissions not currently held:\n{{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"list\"]}}"
    );
    let list_nodes = json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]);
    let read_pods = json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]);
    let mut gc_only = role("team-a", "node-lister", list_nodes.clone());
    gc_only["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "1"}]);
    let rows = vec![
        Write {
            name: "binding cluster-admin without bind is refused",
            user: tenant.clone(),
            resource: "rolebindings",
            namespace: "team-a",
            object: binding_object("team-a", "tenant-admin", "ClusterRole", "cluster-admin"),
            old: None,
            want: Err((403, tenant_admin)),
        },
        Write {
            name: "binding a role whose rules one holds needs no bind",
            user: tenant.clone(),
            resource: "rolebindings",
            namespace: "team-a",
            object: binding_object("team-a", "viewers", "ClusterRole", "view"),
            old: None,
            want: Ok(()),
        },
        Write {
            name: "binding admin from edit is refused",
            user: tenant.clone(),
            resource: "rolebindings",
            namespace: "team-a",
            object: binding_object("team-a", "admins", "ClusterRole", "admin"),
            old: None,
            want: Err((403, String::new())),
        },
        Write {
            name: "bind on clusterroles named cluster-admin allows binding it",
            user: who("binder"),
            resource: "rolebindings",
            namespace: "team-a",
            object: binding_object("team-a", "ca", "ClusterRole", "cluster-admin"),
            old: None,
            want: Ok(()),
        },
        Write {
            name: "bind by name does not extend to other roles",
            user: who("binder"),
            resource: "rolebindings",
            namespace: "team-a",
            object: binding_object("team-a", "ad", "ClusterRole", "admin"),
            old: None,
            want: Err((403, String::new())),
        },
        Write {
            name: "bind in a namespace does not allow a clusterrolebinding",
            user: who("binder"),
            resource: "clusterrolebindings",
            namespace: "",
            object: binding_object("", "ca", "ClusterRole", "cluster-admin"),
            old: None,
            want: Err((403, String::new())),
        },
        Write {
            name: "bind in a namespace does not allow binding elsewhere",
            user: who("binder"),
            resource: "rolebindings",
            namespace: "team-b",
            object: binding_object("team-b", "ca", "ClusterRole", "cluster-admin"),
            old: None,
            want: Err((403, String::new())),
        },
        Write {
            name: "binding a missing role is not found",
            user: tenant.clone(),
            resource: "rolebindings",
            namespace: "team-a",
            object: binding_object("team-a", "x", "ClusterRole", "nope"),
            old: None,
            want: Err((404, r#"clusterroles.rbac.authorization.k8s.io "nope" not found"#.into())),
        },
        Write {
            name: "system:masters binds anything",
            user: master(),
            resource: "clusterrolebindings",
            namespace: "",
            object: binding_object("", "ca", "ClusterRole", "cluster-admin"),
            old: None,
            want: Ok(()),
        },
        Write {
            name: "creating a role with rules one holds is allowed",
            user: tenant.clone(),
            resource: "roles",
            namespace: "team-a",
            object: role("team-a", "pod-reader", read_pods.clone()),
            old: None,
            want: Ok(()),
        },
        Write {
            name: "creating a role with rules one lacks is refused",
            user: tenant.clone(),
            resource: "roles",
            namespace: "team-a",
            object: role("team-a", "node-lister", list_nodes.clone()),
            old: None,
            want: Err((403, node_lister)),
        },
        Write {
            name: "rules held in one namespace do not cover a role in another",
            user: tenant.clone(),
            resource: "roles",
            namespace: "team-b",
            object: role("team-b", "pod-reader", read_pods.clone()),
            old: None,
            want: Err((403, String::new())),
        },
        Write {
            name: "escalate allows creating a role with rules one lacks",
            user: who("escalator"),
            resource: "roles",
            namespace: "team-a",
            object: role("team-a", "node-lister", list_nodes.clone()),
            old: None,
            want: Ok(()),
        },
        Write {
            name: "escalate in one namespace does not apply in another",
            user: who("escalator"),
            resource: "roles",
            namespace: "team-b",
            object: role("team-b", "node-lister", list_nodes.clone()),
            old: None,
            want: Err((403, String::new())),
        },
        Write {
            name: "escalate restricted by name does not allow a create",
            user: who("named-escalator"),
            resource: "roles",
            namespace: "team-a",
            object: role("team-a", "named-only", list_nodes.clone()),
            old: None,
            want: Err((403, String::new())),
        },
        Write {
            name: "escalate restricted by name allows updating that role",
            user: who("named-escalator"),
            resource: "roles",
            namespace: "team-a",
            object: role("team-a", "named-only", list_nodes.clone()),
            old: Some(role("team-a", "named-only", json!([]))),
            want: Ok(()),
        },
        Write {
            name: "an update touching only ownerReferences is not checked",
            user: tenant.clone(),
            resource: "roles",
            namespace: "team-a",
            object: gc_only,
            old: Some(role("team-a", "node-lister", list_nodes.clone())),
            want: Ok(()),
        },
        Write {
            name: "an aggregationRule needs cluster-admin powers",
            user: who("crwriter"),
            resource: "clusterroles",
            namespace: "",
            object: aggregating_role("my-agg", json!([{"matchLabels": {"a": "b"}}])),
            old: None,
            want: Err((
                403,
                r#"clusterroles.rbac.authorization.k8s.io "my-agg" is forbidden: must have cluster-admin privileges to use the aggregationRule"#.into(),
            )),
        },
        Write {
            name: "a clusterrole with rules held cluster-wide is allowed",
            user: who("crwriter"),
            resource: "clusterroles",
            namespace: "",
            object: cluster_role("pod-lister", json!({}), json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}])),
            old: None,
            want: Ok(()),
        },
        Write {
            name: "system:masters creates aggregating clusterroles",
            user: master(),
            resource: "clusterroles",
            namespace: "",
            object: aggregating_role("my-agg", json!([{"matchLabels": {"a": "b"}}])),
            old: None,
            want: Ok(()),
        },
        Write {
            name: "other resources are not judged",
            user: tenant.clone(),
            resource: "configmaps",
            namespace: "team-b",
            object: json!({"kind": "ConfigMap", "metadata": {"name": "x"}}),
            old: None,
            want: Ok(()),
        },
    ];
    let mut failures = Vec::new();
    for row in &rows {
        let write = RbacWrite {
            resource: row.resource,
            namespace: row.namespace,
            object: &row.object,
            old: row.old.as_ref(),
        };
        let got = authz.authorize_write(&row.user, &write);
        let ok = match (&got, &row.want) {
            (Ok(()), Ok(())) => true,
            (Err(e), Err((code, message))) => {
                e.code() == *code
                    && (message.is_empty() || e.to_string() == *message)
                    && e.to_status()["message"] == json!(e.to_string())
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{}: got {got:?}, want {:?}", row.name, row.want));
        }
    }
    report(failures, rows.len());
}

#[test]
fn rules_for_lists_cluster_wide_rules_and_the_namespaces_own() {
    let authz = authorizer();
    let jane = who("jane");
    let pod_reader = PolicyRule::resource(&["get", "watch", "list"], &[""], &["pods"]);
    let in_default = authz.rules_for(&jane, "default");
    assert!(in_default.contains(&pod_reader));
    let elsewhere = authz.rules_for(&jane, "other");
    assert!(!elsewhere.contains(&pod_reader));
    assert!(
        elsewhere
            .iter()
            .any(|r| r.non_resource_urls.contains(&"/apis/*".to_string())),
        "system:discovery applies everywhere"
    );
    let (_, errors) = authz.rules_for_with_errors(&who("ghost"), "team-c");
    assert_eq!(
        errors,
        vec![r#"clusterrole.rbac.authorization.k8s.io "does-not-exist" not found"#.to_string()]
    );
}
