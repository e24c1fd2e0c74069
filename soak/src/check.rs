//! The invariants, checked against the model (what the workload asked for) and never
//! against what the system says of itself.

use crate::dashboard::{Shown, View, key};
use crate::model::{INSTALL, Model, OBJECTS};
use kube::api::{Api, DynamicObject, ListParams};
use std::collections::BTreeMap;

/// One way the system differs from the model: what, and the object it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    pub object: String,
    pub what: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.object, self.what)
    }
}

fn div(object: impl Into<String>, what: impl Into<String>) -> Divergence {
    Divergence {
        object: object.into(),
        what: what.into(),
    }
}

async fn list(
    client: &kube::Client,
    ar: &kube::core::ApiResource,
    lp: &ListParams,
) -> anyhow::Result<Vec<DynamicObject>> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
    let listed = tokio::time::timeout(crate::cluster::CALL_TIMEOUT, api.list(lp)).await??;
    Ok(listed.items)
}

fn ar(group: &str, version: &str, kind: &str, plural: &str) -> kube::core::ApiResource {
    kube::core::ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk(group, version, kind),
        plural,
    )
}

fn ready_for_generation(p: &DynamicObject) -> bool {
    let generation = p.metadata.generation;
    p.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| {
            c["type"] == "Ready"
                && c["status"] == "True"
                && c["observedGeneration"].as_i64() == generation
        })
}

/// What a Package's Ready condition says: status, reason and message, its generation.
fn said(p: &DynamicObject) -> String {
    let ready = p.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    match ready {
        None => format!("no Ready condition, generation {:?}", p.metadata.generation),
        Some(c) => format!(
            "Ready={} {}: {} (observed generation {}, generation {:?}{})",
            c["status"].as_str().unwrap_or("?"),
            c["reason"].as_str().unwrap_or(""),
            c["message"].as_str().unwrap_or(""),
            c["observedGeneration"],
            p.metadata.generation,
            if p.metadata.deletion_timestamp.is_some() {
                ", deleting"
            } else {
                ""
            },
        ),
    }
}

/// Convergence: every install matches its spec (version, values, objects present with
/// the right content), every uninstalled slot holds nothing, and nothing Hoist made
/// exists that no install owns. Empty when converged.
///
/// A republished manifest (`edition`: the one published now, and since when) must be
/// what every install shows that the workload wrote to after it plus the operator's
/// cache lifetime (`cache_ttl`); installs not written since may show either (they
/// take it at their next pass: a change, or the periodic resync).
pub async fn convergence(
    client: &kube::Client,
    model: &Model,
    edition: (u32, Option<std::time::Instant>),
    cache_ttl: std::time::Duration,
) -> anyhow::Result<Vec<Divergence>> {
    let mut out = Vec::new();
    let packages: BTreeMap<String, DynamicObject> =
        list(client, &crate::workload::packages(), &ListParams::default())
            .await?
            .into_iter()
            .map(|p| (p.metadata.namespace.clone().unwrap_or_default(), p))
            .collect();
    let managed = ListParams::default().labels("app.kubernetes.io/managed-by=hoist");
    let mut made: BTreeMap<(String, String), DynamicObject> = BTreeMap::new();
    for (resource, kind, group, plural) in [
        ("deployments.apps", "Deployment", "apps", "deployments"),
        ("services", "Service", "", "services"),
        ("secrets", "Secret", "", "secrets"),
    ] {
        for o in list(client, &ar(group, "v1", kind, plural), &managed).await? {
            let ns = o.metadata.namespace.clone().unwrap_or_default();
            let name = o.metadata.name.clone().unwrap_or_default();
            made.insert((resource.to_string(), format!("{ns}/{name}")), o);
        }
    }
    for (i, slot) in model.slots.iter().enumerate() {
        let ns = Model::namespace(i);
        let first = out.len();
        let said = packages.get(&ns).map(said).unwrap_or_default();
        let package_key = format!("package {ns}/{INSTALL}");
        match (&slot.install, packages.get(&ns)) {
            (Some(_), None) => out.push(div(package_key, "missing (the model has it installed)")),
            (None, Some(_)) => out.push(div(package_key, "still present after its uninstall")),
            (Some(install), Some(p)) => {
                let status_version = p.data["status"]["version"].as_str().unwrap_or("");
                if status_version != install.version {
                    out.push(div(
                        &package_key,
                        format!(
                            "status.version {status_version:?}, asked {}",
                            install.version
                        ),
                    ));
                }
                if !ready_for_generation(p) {
                    out.push(div(&package_key, "not Ready for its current generation"));
                }
            }
            (None, None) => {}
        }
        for (resource, name) in OBJECTS {
            let k = (resource.to_string(), format!("{ns}/{name}"));
            let object = made.remove(&k);
            let shown = format!("{resource} {ns}/{name}");
            match (&slot.install, object) {
                (Some(_), None) => out.push(div(shown, "missing")),
                (None, Some(_)) => out.push(div(shown, "left behind by an uninstall")),
                (Some(install), Some(o)) if resource == "deployments.apps" => {
                    let image = o.data["spec"]["template"]["spec"]["containers"][0]["image"]
                        .as_str()
                        .unwrap_or("");
                    let want = format!("example.dev/kv:{}", install.version);
                    if image != want {
                        out.push(div(&shown, format!("image {image:?}, want {want:?}")));
                    }
                    let shown_edition = o
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(crate::repo::EDITION_LABEL))
                        .cloned();
                    let must_show = match (edition, slot.written_at) {
                        ((0, _), _) => Some(None),
                        ((e, Some(at)), Some(written))
                            if written > at + cache_ttl + std::time::Duration::from_secs(1) =>
                        {
                            Some(Some(e.to_string()))
                        }
                        _ => None,
                    };
                    if let Some(want) = must_show
                        && shown_edition != want
                    {
                        out.push(div(&shown, format!("manifest edition {shown_edition:?}, want {want:?} (written after the republish)")));
                    }
                    let replicas = o.data["spec"]["replicas"].as_u64();
                    let want = slot.replicas().map(u64::from);
                    if replicas != want {
                        out.push(div(&shown, format!("replicas {replicas:?}, want {want:?}")));
                    }
                }
                _ => {}
            }
        }
        if !said.is_empty() {
            for d in &mut out[first..] {
                d.what.push_str(&format!(" (the Package says: {said})"));
            }
        }
    }
    for ((resource, name), _) in made {
        out.push(div(
            format!("{resource} {name}"),
            "made by Hoist, owned by no install",
        ));
    }
    Ok(out)
}

/// The fleet matches the model: a registered member's Cluster exists, has identified the
/// member as it is now and has exactly one open UsageRecord, for that identity; a
/// removed member's Cluster is gone with no record left open; no record was opened
/// twice for one Cluster life and identity; and each removed Cluster's billing stopped
/// once, as `Deleted`, at its deletion time.
pub async fn fleet(
    client: &kube::Client,
    model: &Model,
    identities: &[Option<String>],
    removals: &[crate::workload::Removal],
) -> anyhow::Result<Vec<Divergence>> {
    let mut out = Vec::new();
    let clusters: BTreeMap<String, DynamicObject> =
        list(client, &crate::workload::clusters(), &ListParams::default())
            .await?
            .into_iter()
            .map(|c| (c.metadata.name.clone().unwrap_or_default(), c))
            .collect();
    let records = list(
        client,
        &crate::workload::usage_records(),
        &ListParams::default(),
    )
    .await?;
    let spec =
        |r: &DynamicObject, field: &str| r.data["spec"][field].as_str().unwrap_or("").to_string();
    let open = |r: &DynamicObject| r.data["spec"]["stop"].is_null();
    for (i, registered) in model.clusters.iter().enumerate() {
        let name = Model::cluster(i);
        let shown = format!("cluster {name}");
        match (registered, clusters.get(&name)) {
            (true, None) => out.push(div(&shown, "missing (the model has it registered)")),
            (false, Some(_)) => out.push(div(&shown, "still present after its removal")),
            (false, None) => {
                let left: Vec<_> = records
                    .iter()
                    .filter(|r| spec(r, "clusterName") == name && open(r))
                    .collect();
                if !left.is_empty() {
                    out.push(div(
                        &shown,
                        format!("removed, {} usage records still open", left.len()),
                    ));
                }
            }
            (true, Some(c)) => {
                let uid = c.metadata.uid.clone().unwrap_or_default();
                let seen = c.data["status"]["identity"]["kubeSystemUID"]
                    .as_str()
                    .unwrap_or("");
                let now = identities.get(i).cloned().flatten().unwrap_or_default();
                if seen != now {
                    out.push(div(
                        &shown,
                        format!("identified {seen:?}, the member is {now:?}"),
                    ));
                }
                let opened: Vec<_> = records
                    .iter()
                    .filter(|r| spec(r, "clusterUID") == uid && open(r))
                    .collect();
                match opened.as_slice() {
                    [one] if spec(one, "identity") == now => {}
                    [one] => out.push(div(
                        &shown,
                        format!(
                            "billed as {:?}, the member is {now:?}",
                            spec(one, "identity")
                        ),
                    )),
                    many => out.push(div(
                        &shown,
                        format!("{} open usage records, want 1", many.len()),
                    )),
                }
            }
        }
    }
    let mut lives: BTreeMap<(String, String), u32> = BTreeMap::new();
    for r in &records {
        *lives
            .entry((spec(r, "clusterUID"), spec(r, "identity")))
            .or_default() += 1;
    }
    for ((uid, identity), n) in lives {
        if n > 1 {
            out.push(div(
                format!("usage records of Cluster uid {uid}"),
                format!("{n} opened for identity {identity}"),
            ));
        }
    }
    for removal in removals {
        let of: Vec<_> = records
            .iter()
            .filter(|r| spec(r, "clusterUID") == removal.uid)
            .collect();
        if of.is_empty() {
            continue; // never identified, never billed
        }
        let shown = format!("billing of removed {} ({})", removal.name, removal.uid);
        if of.iter().any(|r| open(r)) {
            out.push(div(&shown, "a record still open"));
        }
        let deleted: Vec<_> = of
            .iter()
            .filter(|r| spec(r, "stopSource") == "Deleted")
            .collect();
        match deleted.as_slice() {
            [one] => {
                let stop = parse_rfc3339_ms(&spec(one, "stop"));
                let within =
                    stop.is_some_and(|t| t >= removal.from_ms - 1000 && t <= removal.to_ms + 1000);
                if !within {
                    out.push(div(
                        &shown,
                        format!(
                            "stopped at {:?}, deleted between {} and {} (Unix ms)",
                            spec(one, "stop"),
                            removal.from_ms,
                            removal.to_ms
                        ),
                    ));
                }
            }
            many => out.push(div(
                &shown,
                format!("{} records stopped as Deleted, want 1", many.len()),
            )),
        }
    }
    Ok(out)
}

/// No duplicates: no object came into existence more often than installs were begun.
pub fn duplicates(creations: &BTreeMap<String, u64>, model: &Model) -> Vec<Divergence> {
    let allowed = model.allowed_creations();
    creations
        .iter()
        .filter_map(|(name, n)| {
            let limit = allowed.get(name)?;
            (n > limit).then(|| div(name, format!("created {n} times, installs begun {limit}")))
        })
        .collect()
}

/// What a LIST says the dashboard must show: each install's resourceVersion.
pub async fn listed(client: &kube::Client) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for ar in [
        crate::workload::packages(),
        crate::workload::cluster_packages(),
    ] {
        for p in list(client, &ar, &ListParams::default()).await? {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let name = p.metadata.name.clone().unwrap_or_default();
            out.insert(
                key(&ns, &name),
                p.metadata.resource_version.clone().unwrap_or_default(),
            );
        }
    }
    Ok(out)
}

/// The dashboard tells the truth: the subscriber's view holds exactly the listed
/// installs at their listed resourceVersions, each Ready at its asked version.
pub fn dashboard(view: &View, listed: &BTreeMap<String, String>, model: &Model) -> Vec<Divergence> {
    let mut out = Vec::new();
    for (k, rv) in listed {
        match view.packages.get(k) {
            None => out.push(div(format!("dashboard {k}"), "listed, not shown")),
            Some(Shown {
                resource_version, ..
            }) if resource_version != rv => out.push(div(
                format!("dashboard {k}"),
                format!("shows resourceVersion {resource_version}, the LIST {rv}"),
            )),
            Some(_) => {}
        }
    }
    for k in view.packages.keys() {
        if !listed.contains_key(k) {
            out.push(div(format!("dashboard {k}"), "shown, not listed"));
        }
    }
    for (i, slot) in model.slots.iter().enumerate() {
        let k = key(&Model::namespace(i), INSTALL);
        if let (Some(install), Some(shown)) = (&slot.install, view.packages.get(&k))
            && (shown.state != "Ready" || shown.installed_version != install.version)
        {
            out.push(div(
                format!("dashboard {k}"),
                format!(
                    "shows {} at {:?}, the install is Ready at {}",
                    shown.state, shown.installed_version, install.version
                ),
            ));
        }
    }
    for b in &view.backwards {
        out.push(div(
            "dashboard stream",
            format!("revision went backwards: {b}"),
        ));
    }
    out
}

/// A least-squares slope of `(seconds, value)` in value per minute.
pub fn slope_per_minute(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx * 60.0 }
}

/// Lines of a log that say a process panicked or logged an error: `(line number, line)`.
pub fn troubles(text: &str) -> (Vec<String>, Vec<String>) {
    let mut panics = Vec::new();
    let mut errors = Vec::new();
    for line in text.lines() {
        if line.contains("panicked at") {
            panics.push(line.to_string());
        } else if line.contains(" ERROR ") {
            errors.push(line.to_string());
        }
    }
    (panics, errors)
}

/// The time a log line was written (tracing's RFC 3339 prefix, colours off), as Unix ms.
pub fn line_time(line: &str) -> Option<i64> {
    parse_rfc3339_ms(line.split_whitespace().next()?)
}

fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    // 2026-12-04T17:40:01.123456Z
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z');
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    let ms: i64 = format!("{:0<3}", &frac[..frac.len().min(3)]).parse().ok()?;
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + sec) * 1000) + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_series_has_no_slope_and_a_growing_one_has_its_rate() {
        let flat: Vec<_> = (0..10).map(|i| (i as f64 * 10.0, 100.0)).collect();
        assert_eq!(slope_per_minute(&flat), 0.0);
        let growing: Vec<_> = (0..10).map(|i| (i as f64 * 60.0, i as f64 * 5.0)).collect();
        assert!((slope_per_minute(&growing) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn tracing_timestamps_parse_to_unix_milliseconds() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.500Z"), Some(1500));
        assert_eq!(
            line_time("2026-12-04T17:40:01.123456Z ERROR hoist::operator: x"),
            Some(1_796_406_001_123)
        );
    }

    #[test]
    fn more_creations_than_installs_begun_is_a_duplicate() {
        let mut model = Model::new(1);
        model.apply(&crate::model::Step::Install {
            slot: 0,
            install: crate::model::Install {
                version: "v1.2.0",
                replicas: crate::model::Replicas::Literal(1),
                suspended: false,
            },
        });
        let mut creations = BTreeMap::new();
        creations.insert("deployments.apps soak-0/kv-kv".to_string(), 1);
        assert!(duplicates(&creations, &model).is_empty());
        creations.insert("deployments.apps soak-0/kv-kv".to_string(), 2);
        assert_eq!(duplicates(&creations, &model).len(), 1);
    }

    #[test]
    fn panics_and_errors_are_told_apart_in_a_log() {
        let (p, e) =
            troubles("a\nthread 'x' panicked at src/a.rs:1\n2026-12-04T00:00:00Z ERROR x: y\n");
        assert_eq!((p.len(), e.len()), (1, 1));
    }
}
