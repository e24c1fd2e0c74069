//! The HTTP front: routing, request counting, fault injection, body limits.

use crate::app::{App, Shared};
use crate::auth::rbac::{Attributes, UserInfo};
use crate::error::ApiError;
use crate::faults::FaultAction;
use crate::negotiate::Output;
use crate::request::{Query, RequestBody, parse_object};
use crate::resources::ResourceType;
use crate::respond::{accepts_json, json_response};
use crate::route::{self, ObjectPath, Target};
use crate::verbs;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};

pub fn router(app: Shared) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(app)
}

fn parse_query(q: Option<&str>) -> Query {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                urlencoding::decode(&s.replace('+', " "))
                    .map(|c| c.into_owned())
                    .unwrap_or_else(|_| s.to_string())
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// The verb of a resource request, as RBAC and the counters name it.
fn verb_of(method: &Method, path: &ObjectPath, query: &Query) -> Result<&'static str, ApiError> {
    let watch = query.get("watch").is_some_and(|v| v == "true" || v == "1");
    Ok(match (method.as_str(), path.name.is_some()) {
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", false) => "create",
        // A subresource that is created (`serviceaccounts/NAME/token`).
        ("POST", true) if path.subresource.is_some() => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        (m, _) => {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({m})"
            )));
        }
    })
}

/// Who sent `req`, when the server authenticates (`Ok(None)` when it does not); why the
/// credentials were refused (answered 401) when they are bad or missing.
fn authenticate(
    app: &App,
    req: &Request,
) -> Result<Option<UserInfo>, crate::auth::authn::AuthnError> {
    let Some(gate) = &app.gate else {
        return Ok(None);
    };
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    gate.authenticate(&app.store, header).map(Some)
}

/// The identity the request runs as: the impersonated one when its headers ask for
/// one and RBAC lets `user` impersonate it (see [`crate::auth::impersonate`]).
fn impersonate(
    app: &App,
    gate: &crate::auth::gate::Gate,
    user: UserInfo,
    headers: &axum::http::HeaderMap,
) -> Result<UserInfo, ApiError> {
    use crate::auth::impersonate::{Refusal, resolve};
    let allowed = |attrs: &Attributes| {
        gate.authorize(&app.store, attrs).inspect_err(|_| {
            app.counters
                .record_refused(&attrs.user.name, &refused_what(attrs));
        })
    };
    resolve(user, headers, allowed).map_err(|r| match r {
        Refusal::Forbidden(status) => ApiError::from_status(&status),
        Refusal::NoUser(why) => ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {why}"),
        ),
    })
}

/// Whether `user` may make this request; the 403 answer when not.
fn authorize(app: &App, attrs: impl FnOnce() -> Attributes) -> Result<(), ApiError> {
    let Some(gate) = &app.gate else {
        return Ok(());
    };
    let attrs = attrs();
    gate.authorize(&app.store, &attrs).map_err(|status| {
        app.counters
            .record_refused(&attrs.user.name, &refused_what(&attrs));
        ApiError::from_status(&status)
    })
}

/// How [`crate::counters::Counters::record_refused`] names a refused request:
/// `"create configmaps"`, `"patch packages/status.packages.hoist.dev"`, `"get /metrics"`.
pub fn refused_what(attrs: &Attributes) -> String {
    if !attrs.resource_request {
        return format!("{} {}", attrs.verb, attrs.path);
    }
    let mut resource = attrs.resource.clone();
    if !attrs.subresource.is_empty() {
        resource = format!("{resource}/{}", attrs.subresource);
    }
    if !attrs.api_group.is_empty() {
        resource = format!("{resource}.{}", attrs.api_group);
    }
    format!("{} {resource}", attrs.verb)
}

async fn dispatch(State(app): State<Shared>, req: Request) -> Response {
    if app.settings.loopback_only
        && let Err(e) = crate::auth::loopback::check(req.headers(), req.uri())
    {
        return e.into_response();
    }
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query());
    let user = match authenticate(&app, &req) {
        Ok(u) => u,
        Err(refused) => return crate::auth::gate::unauthorized(&refused),
    };
    let user = match (user, &app.gate) {
        (Some(user), Some(gate)) => match impersonate(&app, gate, user, req.headers()) {
            Ok(user) => Some(user),
            Err(refused) => return refused.into_response(),
        },
        (user, _) => user,
    };
    let method = req.method().as_str().to_ascii_lowercase();
    if let Some(admin) = path.strip_prefix("/devcluster/") {
        // The dev endpoints (faults, counters) are the admin's alone.
        if user.as_ref().is_some_and(|u| !u.is_master()) {
            return ApiError::forbidden(format!(
                "forbidden: User \"{}\" cannot {method} path \"{path}\": the devcluster endpoints are the admin's",
                user.as_ref().map_or("", |u| u.name.as_str())
            ))
            .into_response();
        }
        return crate::admin::handle(&app, req.method().clone(), admin, req.into_body()).await;
    }
    let non_resource = |user: &Option<UserInfo>| {
        let user = user.clone().unwrap_or_default();
        let path = path.clone();
        let method = method.clone();
        move || Attributes::non_resource(&user, &method, &path)
    };
    if let Some(rest) = path.strip_prefix("/openapi/") {
        if let Err(e) = authorize(&app, non_resource(&user)) {
            return e.into_response();
        }
        let who = user.as_ref().map(|u| u.name.as_str());
        app.counters.record_as(who, "get", "openapi");
        let result = match apply_faults(&app, who, "get", &path).await {
            Ok(_) => verbs::openapi::handle(&app, rest, req.headers()),
            Err(e) => Err(e),
        };
        return result.unwrap_or_else(IntoResponse::into_response);
    }
    if let Err(accept) = accepts_json(req.headers()) {
        return ApiError::not_acceptable(&accept).into_response();
    }
    let result = match route::parse(&path) {
        None => authorize(&app, non_resource(&user)).and(Err(ApiError::no_route(&path))),
        Some(Target::Object(op)) => resource(&app, req, &path, op, query, user.as_ref()).await,
        Some(target) => match authorize(&app, non_resource(&user)) {
            Err(e) => Err(e),
            Ok(()) => {
                let who = user.as_ref().map(|u| u.name.as_str());
                app.counters.record_as(who, "get", "discovery");
                match apply_faults(&app, who, "get", &path).await {
                    Ok(_) => verbs::discovery::handle(&app, &target, req.headers()),
                    Err(e) => Err(e),
                }
            }
        },
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Applies latency and error faults; hands back the rest (watch-stream faults).
async fn apply_faults(
    app: &App,
    user: Option<&str>,
    verb: &str,
    path: &str,
) -> Result<Vec<FaultAction>, ApiError> {
    let actions = app.faults.take_as(user, verb, path);
    let delay = crate::faults::latency(&actions);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    for a in &actions {
        match a {
            FaultAction::Error { code, retry_after } => {
                return Err(ApiError::from_code(*code, *retry_after));
            }
            FaultAction::Conflict if matches!(verb, "create" | "update" | "patch" | "delete") => {
                return Err(ApiError::conflict(
                    "objects",
                    "",
                    "injected conflict: the object has been modified; please apply your changes to the latest version and try again",
                ));
            }
            _ => {}
        }
    }
    Ok(actions)
}

/// The RBAC attributes of a resource request (`list` with `metadata.name=X` names X,
/// as the API server reads it).
fn resource_attributes(user: &UserInfo, verb: &str, op: &ObjectPath, query: &Query) -> Attributes {
    let mut attrs = Attributes::resource(user, verb, &op.group, &op.plural);
    attrs.namespace = op.namespace.clone().unwrap_or_default();
    attrs.subresource = op.subresource.clone().unwrap_or_default();
    attrs.name = op.name.clone().unwrap_or_default();
    if attrs.name.is_empty()
        && let Some(name) = query
            .get("fieldSelector")
            .and_then(|f| f.strip_prefix("metadata.name="))
            .filter(|n| !n.contains(','))
    {
        attrs.name = name.to_string();
    }
    attrs
}

async fn resource(
    app: &Shared,
    req: Request,
    path: &str,
    op: ObjectPath,
    query: Query,
    user: Option<&UserInfo>,
) -> Result<Response, ApiError> {
    if let Some(user) = user {
        let verb = verb_of(req.method(), &op, &query)?;
        authorize(app, || resource_attributes(user, verb, &op, &query))?;
    }
    if let (Some(gate), Some(user)) = (&app.gate, user)
        && let Some(review) = crate::auth::review::find(&op.group, &op.version, &op.plural)
    {
        return review_request(app, gate, user, review, req, &op).await;
    }
    let rt = app
        .store
        .lock()
        .registry
        .get(&op.group, &op.version, &op.plural)
        .cloned()
        .ok_or_else(|| ApiError::no_route(path))?;
    if rt.namespaced && op.namespace.is_none() && op.name.is_some() {
        return Err(ApiError::no_route(path));
    }
    if !rt.namespaced && op.namespace.is_some() {
        return Err(ApiError::no_route(path));
    }
    match op.subresource.as_deref() {
        None => {}
        Some("status") if rt.status_subresource => {}
        Some("scale") if verbs::scale::has_scale(&rt) => {}
        Some("token")
            if rt.group.is_empty() && rt.plural == "serviceaccounts" && app.gate.is_some() => {}
        Some("portforward") if rt.group.is_empty() && rt.plural == "pods" => {
            return portforward_request(app, req, path, &op, &query, &rt, user).await;
        }
        Some(other) => {
            return Err(ApiError::no_route(&format!(
                "{path} (no subresource {other:?})"
            )));
        }
    }
    let verb = verb_of(req.method(), &op, &query)?;
    let creates_token = op.subresource.as_deref() == Some("token") && verb == "create";
    if op.subresource.is_some() && !creates_token && !matches!(verb, "get" | "update" | "patch") {
        return Err(ApiError::method_not_allowed(format!(
            "{verb} is not allowed on a subresource"
        )));
    }
    let output = crate::negotiate::output(verb, req.headers())?;
    let who = user.map(|u| u.name.as_str());
    app.counters
        .record_as(who, verb, &rt.store_key().to_string());
    let faults = apply_faults(app, who, verb, path).await?;
    let ns = op.namespace.clone().unwrap_or_default();
    let name = op.name.clone().unwrap_or_default();
    let status = op.subresource.as_deref() == Some("status");
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split('/').next())
        .unwrap_or_default()
        .to_string();
    let printer = match output {
        Output::Table(api_version) => table_printer(app, &rt, verb, api_version, &query),
        _ => None,
    };
    let partial = match output {
        Output::Metadata(api_version) | Output::MetadataList(api_version) => {
            Some(crate::partial::Partial { api_version })
        }
        _ => None,
    };
    let ctx = verbs::Ctx {
        app,
        rt: &rt,
        ns: &ns,
        name: &name,
        status,
        query: &query,
        user_agent: &user_agent,
        table: printer.as_ref(),
        partial,
        user,
    };
    if op.subresource.as_deref() == Some("token") {
        let Some(gate) = &app.gate else {
            return Err(ApiError::no_route(path));
        };
        if !creates_token {
            return Err(ApiError::method_not_allowed(format!(
                "{verb} is not allowed on serviceaccounts/token"
            )));
        }
        let body = parse_object(&read_body(app, req).await?)?;
        let answer = crate::auth::token_request::handle(gate, &app.store, &ns, &name, &body)?;
        return Ok(json_response(201, &answer));
    }
    // GET, LIST and WATCH shape their answers themselves; the rest answer one object,
    // shaped here.
    let reads = matches!(verb, "get" | "list" | "watch");
    let response = if op.subresource.as_deref() == Some("scale") {
        let body = match verb {
            "get" => None,
            _ => Some(read_body(app, req).await?),
        };
        verbs::scale::handle(&ctx, verb, body)?
    } else {
        match verb {
            "get" => verbs::get::handle(&ctx)?,
            "list" => verbs::list::handle(&ctx, op.namespace.as_deref())?,
            "watch" => verbs::watch::handle(&ctx, op.namespace.as_deref(), faults)?,
            "create" => verbs::create::handle(&ctx, read_body(app, req).await?)?,
            "update" => verbs::update::handle(&ctx, read_body(app, req).await?)?,
            "patch" => verbs::patch::handle(&ctx, read_body(app, req).await?)?,
            "delete" => verbs::delete::handle(&ctx, read_body(app, req).await?)?,
            _ => return Err(ApiError::method_not_allowed(verb.to_string())),
        }
    };
    match partial {
        Some(p) if !reads || op.subresource.as_deref() == Some("scale") => {
            Ok(p.rewrite(response).await)
        }
        _ => Ok(response),
    }
}

/// `pods/NAME/portforward` (see [`crate::portforward`]), authorized as the request
/// (`get`) already was, and, as kube-apiserver 1.35 does for a WebSocket upgrade
/// (`AuthorizePodWebsocketUpgradeCreatePermission`), for `create` too.
async fn portforward_request(
    app: &Shared,
    req: Request,
    path: &str,
    op: &ObjectPath,
    query: &Query,
    pods: &ResourceType,
    user: Option<&UserInfo>,
) -> Result<Response, ApiError> {
    if let Some(user) = user {
        authorize(app, || resource_attributes(user, "create", op, query))?;
    }
    let who = user.map(|u| u.name.as_str());
    let verb = if req.method() == Method::GET {
        "get"
    } else {
        "create"
    };
    app.counters.record_as(who, verb, "pods/portforward");
    apply_faults(app, who, verb, path).await?;
    let ns = op.namespace.as_deref().unwrap_or_default();
    let name = op.name.as_deref().unwrap_or_default();
    crate::portforward::handle(app, req, pods, ns, name)
}

/// A review (`SelfSubjectAccessReview`, `TokenReview`, ...): a `create` at the
/// collection that stores nothing; every other verb is refused as the API server
/// refuses it.
async fn review_request(
    app: &Shared,
    gate: &crate::auth::gate::Gate,
    user: &UserInfo,
    review: &crate::auth::review::ReviewType,
    req: Request,
    op: &ObjectPath,
) -> Result<Response, ApiError> {
    if op.namespace.is_some() != review.namespaced {
        return Err(ApiError::no_route(req.uri().path()));
    }
    if req.method() != Method::POST || op.name.is_some() {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            review.plural
        )));
    }
    let who = Some(user.name.as_str());
    let resource = format!("{}.{}", review.plural, review.group);
    app.counters.record_as(who, "create", &resource);
    apply_faults(app, who, "create", req.uri().path()).await?;
    let namespace = op.namespace.clone().unwrap_or_default();
    let body = parse_object(&read_body(app, req).await?)?;
    let answer = crate::auth::review::handle(gate, &app.store, user, review, &namespace, &body)?;
    Ok(json_response(201, &answer))
}

/// The printer of a read that asks for a Table (`api_version`, negotiated by
/// [`crate::negotiate`]) of a kind that has one (see [`crate::table`]); writes are
/// answered with their object.
fn table_printer(
    app: &App,
    rt: &ResourceType,
    verb: &str,
    api_version: &'static str,
    query: &Query,
) -> Option<crate::table::Printer> {
    if !matches!(verb, "get" | "list" | "watch") {
        return None;
    }
    let request = crate::table::Request {
        api_version,
        include: crate::table::Include::from_query(query.get("includeObject").map(String::as_str)),
    };
    if !rt.custom {
        return crate::table::Printer::for_kind(rt, None, request);
    }
    let state = app.store.lock();
    let crds = state
        .registry
        .get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .cloned()?;
    let crd = state
        .get(&crds, "", &format!("{}.{}", rt.plural, rt.group))
        .ok();
    crate::table::Printer::for_kind(rt, crd.as_deref(), request)
}

async fn read_body(app: &App, req: Request) -> Result<RequestBody, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let limit = app.settings.body_limit;
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ApiError::too_large(limit))?;
    Ok(RequestBody {
        content_type,
        bytes,
    })
}
