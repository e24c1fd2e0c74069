//! How the hub keeps a package: the protocol message's fields, compactly.
//!
//! Ten thousand packages held as protocol messages cost ~600 bytes each (twelve
//! `String`s, the name twice: in the map key and in the message), about twice their JSON
//! from the API server. Most of those strings repeat across packages (versions,
//! repositories, states, reasons, messages, namespaces): here they are shared through an
//! [`Interner`], the name is held once (in the key), and the message is rebuilt when a
//! snapshot or a lookup asks for it, which costs what the clone it replaces cost.
//!
//! # Guarantees
//! - [`Stored::to_package`] gives back exactly the message [`Stored::new`] was given
//!   (field for field; the key from the map key).
//! - The interner never grows without bound: [`Interner::purge`] drops every string no
//!   package uses any more, and the hub calls it as it changes.

use hoist_proto::v1::{Package, PackageKey};
use std::collections::HashSet;
use std::sync::Arc;

/// Shared copies of strings that repeat across packages.
#[derive(Default)]
pub struct Interner {
    strings: HashSet<Arc<str>>,
}

impl Interner {
    /// The shared copy of `s`, made if it is new.
    pub fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.strings.get(s) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        self.strings.insert(shared.clone());
        shared
    }

    /// Forgets every string only the interner still holds.
    pub fn purge(&mut self) {
        self.strings.retain(|s| Arc::strong_count(s) > 1);
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

/// A package without its key (the map holds that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// `None`: the same as the install's name (the usual case: `hoist install x`).
    package_name: Option<Arc<str>>,
    version: Arc<str>,
    repository: Arc<str>,
    installed_version: Arc<str>,
    state: Arc<str>,
    reason: Arc<str>,
    message: Arc<str>,
    resource_version: Box<str>,
    created_unix_ms: i64,
    suspended: bool,
}

impl Stored {
    pub fn new(p: &Package, strings: &mut Interner) -> Self {
        let named_after = p.key.as_ref().is_some_and(|k| k.name == p.package_name);
        Self {
            package_name: (!named_after).then(|| strings.intern(&p.package_name)),
            version: strings.intern(&p.version),
            repository: strings.intern(&p.repository),
            installed_version: strings.intern(&p.installed_version),
            state: strings.intern(&p.state),
            reason: strings.intern(&p.reason),
            message: strings.intern(&p.message),
            resource_version: p.resource_version.as_str().into(),
            created_unix_ms: p.created_unix_ms,
            suspended: p.suspended,
        }
    }

    /// The protocol message, with `key`.
    pub fn to_package(&self, key: &Key) -> Package {
        Package {
            key: Some(key.to_package_key()),
            package_name: self.package_name(key).to_string(),
            version: self.version.to_string(),
            repository: self.repository.to_string(),
            installed_version: self.installed_version.to_string(),
            state: self.state.to_string(),
            reason: self.reason.to_string(),
            message: self.message.to_string(),
            suspended: self.suspended,
            created_unix_ms: self.created_unix_ms,
            resource_version: self.resource_version.to_string(),
        }
    }

    /// The package it installs (`key`: where it is held).
    pub fn package_name<'a>(&'a self, key: &'a Key) -> &'a str {
        self.package_name.as_deref().unwrap_or(&key.name)
    }

    pub fn resource_version(&self) -> &str {
        &self.resource_version
    }
}

/// How a package is identified: scope, namespace (empty for cluster packages), name;
/// ordered in that order, lexicographically.
///
/// Compared by hand rather than derived: comparing two empty `String`s goes to libc's
/// `memcmp` with a length of 0 and a dangling pointer, and glibc's AVX-512 `memcmp`
/// then does a masked load from an unmapped page, which costs microseconds on some
/// virtual machines (ours: 1,000 BTreeMap inserts of cluster-scoped keys took 4.8 ms
/// instead of 0.18 ms; measured, see docs/BENCHMARKS.md). Every cluster package has an
/// empty namespace, so the hub would pay it on every lookup.
///
/// The namespace is shared (many packages, few namespaces) and the name is held here
/// only, not again in the stored package.
#[derive(Debug, Clone)]
pub struct Key {
    pub scope: i32,
    pub namespace: Arc<str>,
    pub name: Box<str>,
}

/// `a.cmp(b)` for strings, without calling `memcmp` when either is empty.
pub fn cmp_str(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.scope
            .cmp(&other.scope)
            .then_with(|| cmp_str(&self.namespace, &other.namespace))
            .then_with(|| cmp_str(&self.name, &other.name))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Key {}

/// The hub's key for a protocol key (for lookups; stored keys share their namespace).
pub fn key_of(k: &PackageKey) -> Key {
    Key {
        scope: k.scope,
        namespace: Arc::from(k.namespace.as_str()),
        name: k.name.as_str().into(),
    }
}

impl Key {
    pub fn to_package_key(&self) -> PackageKey {
        PackageKey {
            scope: self.scope,
            namespace: self.namespace.to_string(),
            name: self.name.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_proto::v1::Scope;

    fn package(name: &str, message: &str) -> Package {
        Package {
            key: Some(PackageKey {
                scope: Scope::Namespaced as i32,
                namespace: "team-a".into(),
                name: name.into(),
            }),
            package_name: "hello-web".into(),
            version: "v1.1.0+2".into(),
            repository: "samples".into(),
            installed_version: "v1.1.0+1".into(),
            state: "Failed".into(),
            reason: "InstallationFailed".into(),
            message: message.into(),
            suspended: true,
            created_unix_ms: 1_700_000_000_000,
            resource_version: "42".into(),
        }
    }

    #[test]
    fn a_stored_package_gives_back_exactly_the_message_it_was_given() {
        let mut strings = Interner::default();
        let p = package("web", "boom");
        let key = key_of(p.key.as_ref().expect("key"));
        assert_eq!(Stored::new(&p, &mut strings).to_package(&key), p);
    }

    #[test]
    fn repeated_strings_are_held_once_and_unused_ones_are_purged() {
        let mut strings = Interner::default();
        let a = Stored::new(&package("a", "same"), &mut strings);
        let b = Stored::new(&package("b", "same"), &mut strings);
        assert!(a.package_name.is_some(), "hello-web installed as a: held");
        let named = Stored::new(&package("hello-web", "same"), &mut strings);
        assert_eq!(
            named.package_name, None,
            "installed under its own name: not again"
        );
        assert!(Arc::ptr_eq(&a.message, &b.message));
        let held = strings.len();
        let c = Stored::new(&package("c", "only c says this"), &mut strings);
        assert_eq!(strings.len(), held + 1);
        drop(c);
        strings.purge();
        assert_eq!(strings.len(), held, "the string only c used is gone");
    }
}
