//! Repository credentials: what a repository's spec references in Hoist's Secrets
//! ([`secret_refs`]), what the clientset keeps of those Secrets ([`Secrets`]: the names
//! of every key, the values of the referenced ones only), and the credentials a spec
//! resolves to ([`resolve_auth`]), with what is wrong with them.
//!
//! Caveat: a referenced Secret or key that does not exist is reported as the
//! repository's problem, and the repository is fetched without credentials (a public
//! mirror still works; a private one answers 401, which is reported too).

use super::fetch::Auth;
use crate::types::{PackageRepository, PackageRepositorySpec, SecretKeyRef};
use k8s_openapi::api::core::v1::Secret;
use std::collections::{BTreeMap, BTreeSet};

/// What the clientset keeps of one Secret: the names of all its keys, the values of
/// the referenced ones only.
#[derive(Default, Clone)]
pub(super) struct SecretKeys {
    pub(super) values: BTreeMap<String, Vec<u8>>,
    /// Every key the Secret has, held or not (to tell "no such key" from "dropped").
    pub(super) names: BTreeSet<String>,
}

/// The Secrets of Hoist's namespace, by name.
pub(super) type SecretData = BTreeMap<String, SecretKeys>;

/// What the clientset knows of Hoist's Secrets.
#[derive(Default)]
pub(super) struct Secrets {
    pub(super) data: SecretData,
    /// Why they cannot be read (e.g. forbidden), until a list succeeds.
    pub(super) unreadable: Option<String>,
}

/// Resolves a repository's credentials from its spec and the Secrets.
pub(super) fn resolve_auth(
    spec: &PackageRepositorySpec,
    secrets: &Secrets,
) -> (Auth, Option<String>) {
    let mut problems: Vec<String> = Vec::new();
    let mut value = |inline: &Option<String>, r: &Option<SecretKeyRef>| -> String {
        match (inline, r) {
            (_, Some(r)) => match secrets.data.get(&r.name).map(|d| d.values.get(&r.key)) {
                Some(Some(v)) => String::from_utf8_lossy(v)
                    .trim_end_matches('\n')
                    .to_string(),
                Some(None) => {
                    problems.push(format!("Secret {:?} has no key {:?}", r.name, r.key));
                    String::new()
                }
                None => {
                    problems.push(match &secrets.unreadable {
                        Some(why) => format!("Secret {:?} cannot be read: {why}", r.name),
                        None => format!("Secret {:?} not found", r.name),
                    });
                    String::new()
                }
            },
            (Some(v), None) => v.clone(),
            (None, None) => String::new(),
        }
    };
    let auth = match spec.auth.as_ref() {
        Some(a) => match (&a.basic, &a.bearer) {
            (Some(b), _) => Auth::Basic {
                username: value(&b.username, &b.username_secret_ref),
                password: value(&b.password, &b.password_secret_ref),
            },
            (None, Some(t)) => Auth::Bearer(value(&t.token, &t.token_secret_ref)),
            (None, None) => Auth::None,
        },
        None => Auth::None,
    };
    if problems.is_empty() {
        (auth, None)
    } else {
        let why = format!("{}; fetching without credentials", problems.join("; "));
        (Auth::None, Some(why))
    }
}

/// The Secret keys a repository's spec refers to.
pub fn secret_refs(spec: &PackageRepositorySpec) -> impl Iterator<Item = &SecretKeyRef> {
    let a = spec.auth.as_ref();
    let basic = a.and_then(|a| a.basic.as_ref());
    let bearer = a.and_then(|a| a.bearer.as_ref());
    [
        basic.and_then(|b| b.username_secret_ref.as_ref()),
        basic.and_then(|b| b.password_secret_ref.as_ref()),
        bearer.and_then(|b| b.token_secret_ref.as_ref()),
    ]
    .into_iter()
    .flatten()
}

/// The Secrets a repository's spec refers to.
pub(super) fn secret_names(spec: &PackageRepositorySpec) -> impl Iterator<Item = &str> {
    secret_refs(spec).map(|r| r.name.as_str())
}

/// The Secret keys the repositories reference, by Secret.
pub(super) fn wanted<'a>(
    repositories: impl IntoIterator<Item = &'a PackageRepository>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for repo in repositories {
        for r in secret_refs(&repo.spec) {
            out.entry(r.name.clone()).or_default().insert(r.key.clone());
        }
    }
    out
}

/// What to keep of `secret`: the names of its keys, the values of the `wanted` ones.
pub(super) fn keep(secret: &Secret, wanted: Option<&BTreeSet<String>>) -> SecretKeys {
    let mut kept = SecretKeys::default();
    for (k, v) in secret.data.iter().flatten() {
        kept.names.insert(k.clone());
        if wanted.is_some_and(|w| w.contains(k)) {
            kept.values.insert(k.clone(), v.0.clone());
        }
    }
    kept
}

impl Secrets {
    /// Whether `spec` references a key that a Secret has but that was not kept (it was
    /// not wanted when the Secret was read).
    pub(super) fn dropped_key(&self, spec: &PackageRepositorySpec) -> bool {
        secret_refs(spec).any(|r| {
            self.data
                .get(&r.name)
                .is_some_and(|s| s.names.contains(&r.key) && !s.values.contains_key(&r.key))
        })
    }
}
