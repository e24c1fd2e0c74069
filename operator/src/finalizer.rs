//! The package finalizer, added in the same pass that goes on to install.
//!
//! kube-runtime's `finalizer` helper adds the finalizer and ends the pass: the install
//! waits for the watch to deliver the patched package and for a second pass (for a new
//! package, one of its three passes and a watch round trip before anything is
//! applied). This one adds it, then
//! installs the package exactly as the patch returned it, and remembers the patch's
//! resourceVersion so that its watch echo starts no pass ([`OwnWrites`]): one pass
//! does what two did, with the same guarantee.
//!
//! # Guarantees
//! - Nothing is applied before the API server has accepted the finalizer: a package
//!   deleted from then on is cleaned up before it goes.
//! - The finalizer is added by a JSON patch that tests the finalizers it read (as
//!   kube-runtime does; the API server does not deduplicate them), so a concurrent
//!   change of the list fails the patch (409/422) and the pass is retried.
//! - The patch is written as the operator's field manager, so `managedFields` names
//!   who added it.
//! - Cleanup runs only while the finalizer is there; the finalizer goes only after
//!   cleanup succeeded, removed by index with a test that it is still ours.
//! - A pass over an older copy of the package (started by an event of what the pass
//!   that added the finalizer applied, before the watch delivered the patch) knows the
//!   finalizer is there and does not add it twice.
//! - A pass over an older copy of a package whose finalizer this operator already
//!   removed (its store has not heard of the deletion yet) neither cleans up again nor
//!   patches: the user may have made a new package of that name meanwhile, whose
//!   objects a second cleanup would delete (found by the soak, decision 0030). The
//!   removal itself tests the uid it read, so it never takes the finalizer off a
//!   package made again under the name; a package already gone counts as done.
//!
//! # Caveats
//! - An echo is skipped only when the watch delivers the very resourceVersion the patch
//!   returned; any later change (the user's, another controller's) is a new version
//!   and starts a pass as usual. The memory of a write is kept [`ECHO_KEPT_FOR`] at most.

use crate::package::Installable;
use json_patch::{
    AddOperation, PatchOperation, RemoveOperation, TestOperation, jsonptr::PointerBuf,
};
use kube::api::{Api, Patch};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Error, Event};
use kube::{Resource, ResourceExt};
use std::collections::HashMap;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the resourceVersion of a finalizer patch is remembered for its echo.
pub const ECHO_KEPT_FOR: Duration = Duration::from_secs(30);

/// The resourceVersions this operator's own finalizer patches produced, by uid, until
/// the watch delivers them (see the module's caveats).
#[derive(Debug, Default)]
pub struct OwnWrites {
    written: Mutex<HashMap<String, (String, Instant)>>,
    /// The uids whose finalizer this operator removed, and when.
    released: Mutex<HashMap<String, Instant>>,
}

impl OwnWrites {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.written.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers that this operator's write made `uid` resourceVersion `rv`.
    pub fn wrote(&self, uid: &str, rv: &str) {
        let mut written = self.lock();
        written.retain(|_, (_, at)| at.elapsed() < ECHO_KEPT_FOR);
        written.insert(uid.to_string(), (rv.to_string(), Instant::now()));
    }

    /// Whether this operator added the finalizer to `uid` (at a version its watch has
    /// not delivered yet).
    fn added(&self, uid: &str) -> bool {
        self.lock()
            .get(uid)
            .is_some_and(|(_, at)| at.elapsed() < ECHO_KEPT_FOR)
    }

    /// Remembers that this operator removed its finalizer from `uid`.
    fn release(&self, uid: &str) {
        let mut released = self.released.lock().unwrap_or_else(|p| p.into_inner());
        released.retain(|_, at| at.elapsed() < ECHO_KEPT_FOR);
        released.insert(uid.to_string(), Instant::now());
    }

    /// Whether this operator removed its finalizer from `uid` (within [`ECHO_KEPT_FOR`]).
    fn released(&self, uid: &str) -> bool {
        self.released
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(uid)
            .is_some_and(|at| at.elapsed() < ECHO_KEPT_FOR)
    }

    /// Whether `obj` is the echo of a remembered write (then forgotten: an echo is
    /// delivered once).
    pub fn is_echo<K: Resource>(&self, obj: &K) -> bool {
        let (Some(uid), Some(rv)) = (
            obj.meta().uid.as_deref(),
            obj.meta().resource_version.as_deref(),
        ) else {
            return false;
        };
        let mut written = self.lock();
        match written.get(uid) {
            Some((at_rv, at)) if at_rv == rv && at.elapsed() < ECHO_KEPT_FOR => {
                written.remove(uid);
                true
            }
            _ => false,
        }
    }
}

fn pointer(path: &str) -> Result<PointerBuf, Error<crate::error::Error>> {
    PointerBuf::from_str(path).map_err(|_| Error::InvalidFinalizer)
}

/// The patch that removes finalizer `name` at index `i`: only from the object with
/// `uid` (when known), and only while `name` is still there.
fn removal(
    uid: Option<&str>,
    i: usize,
    name: &str,
) -> Result<json_patch::Patch, Error<crate::error::Error>> {
    let at = format!("/metadata/finalizers/{i}");
    let mut ops = Vec::new();
    if let Some(uid) = uid {
        ops.push(PatchOperation::Test(TestOperation {
            path: pointer("/metadata/uid")?,
            value: uid.into(),
        }));
    }
    ops.extend([
        PatchOperation::Test(TestOperation {
            path: pointer(&at)?,
            value: name.into(),
        }),
        PatchOperation::Remove(RemoveOperation {
            path: pointer(&at)?,
        }),
    ]);
    Ok(json_patch::Patch(ops))
}

/// The patch that adds finalizer `name` to an object with `finalizers`: only while
/// they are still those.
fn addition(
    finalizers: &[String],
    name: &str,
) -> Result<json_patch::Patch, Error<crate::error::Error>> {
    Ok(json_patch::Patch(if finalizers.is_empty() {
        vec![
            PatchOperation::Test(TestOperation {
                path: pointer("/metadata/finalizers")?,
                value: serde_json::Value::Null,
            }),
            PatchOperation::Add(AddOperation {
                path: pointer("/metadata/finalizers")?,
                value: vec![name].into(),
            }),
        ]
    } else {
        vec![
            PatchOperation::Test(TestOperation {
                path: pointer("/metadata/finalizers")?,
                value: finalizers.into(),
            }),
            PatchOperation::Add(AddOperation {
                path: pointer("/metadata/finalizers/-")?,
                value: name.into(),
            }),
        ]
    }))
}

/// Runs `reconcile` for `obj` under the finalizer `name`: `Apply` while the package
/// lives (the finalizer added first, in this same pass), `Cleanup` once it is being
/// deleted (the finalizer removed after it succeeds), nothing when it is being deleted
/// without the finalizer (someone else's cleanup, or ours already done).
pub async fn run<K, F, Fut>(
    api: &Api<K>,
    own: &OwnWrites,
    name: &str,
    obj: Arc<K>,
    reconcile: F,
) -> Result<Action, Error<crate::error::Error>>
where
    K: Installable,
    F: FnOnce(Event<K>) -> Fut,
    Fut: Future<Output = Result<Action, crate::error::Error>>,
{
    let index = obj.finalizers().iter().position(|f| f == name);
    let deleting = obj.meta().deletion_timestamp.is_some();
    let object_name = obj.meta().name.clone().ok_or(Error::UnnamedObject)?;
    let params = hoist_kube::types::patch_params();
    match (index, deleting) {
        (Some(_), false) => reconcile(Event::Apply(obj))
            .await
            .map_err(Error::ApplyFailed),
        (Some(_), true) if obj.uid().is_some_and(|uid| own.released(&uid)) => {
            // An older copy: the cleanup is done and the finalizer gone.
            Ok(Action::await_change())
        }
        (Some(i), true) => {
            let uid = obj.uid();
            let action = reconcile(Event::Cleanup(obj))
                .await
                .map_err(Error::CleanupFailed)?;
            let removal = removal(uid.as_deref(), i, name)?;
            match api
                .patch::<K>(&object_name, &params, &Patch::Json(removal))
                .await
            {
                Ok(_) => {}
                // Gone already: nothing holds it.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(Error::RemoveFinalizer(e)),
            }
            if let Some(uid) = &uid {
                own.release(uid);
            }
            Ok(action)
        }
        (None, false) if obj.uid().is_some_and(|uid| own.added(&uid)) => {
            // An older copy: the finalizer is there, the watch has not said so yet.
            let mut current = (*obj).clone();
            current.finalizers_mut().push(name.to_string());
            reconcile(Event::Apply(Arc::new(current)))
                .await
                .map_err(Error::ApplyFailed)
        }
        (None, false) => {
            let patch = addition(obj.finalizers(), name)?;
            let patched = api
                .patch::<K>(&object_name, &params, &Patch::Json(patch))
                .await
                .map_err(Error::AddFinalizer)?;
            if let (Some(uid), Some(rv)) = (patched.uid(), patched.resource_version()) {
                own.wrote(&uid, &rv);
            }
            reconcile(Event::Apply(Arc::new(patched)))
                .await
                .map_err(Error::ApplyFailed)
        }
        (None, true) => Ok(Action::await_change()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_kube::types::{NamespacedPackageSpec, Package};

    fn at(uid: &str, rv: &str) -> Package {
        let mut p = Package::new("p", NamespacedPackageSpec::default());
        p.metadata.uid = Some(uid.into());
        p.metadata.resource_version = Some(rv.into());
        p
    }

    #[test]
    fn the_echo_of_a_remembered_write_is_recognised_once() {
        let own = OwnWrites::default();
        own.wrote("u", "7");
        assert!(own.is_echo(&at("u", "7")));
        assert!(!own.is_echo(&at("u", "7")), "an echo comes once");
    }

    #[test]
    fn a_finalizer_added_is_known_until_its_echo() {
        let own = OwnWrites::default();
        assert!(!own.added("u"));
        own.wrote("u", "7");
        assert!(own.added("u"), "an older copy of u must not add it again");
        assert!(own.is_echo(&at("u", "7")));
        assert!(!own.added("u"), "from the echo on, the watch has it");
    }

    #[test]
    fn another_version_or_package_is_no_echo() {
        let own = OwnWrites::default();
        own.wrote("u", "7");
        assert!(!own.is_echo(&at("u", "8")), "a later change is the user's");
        assert!(!own.is_echo(&at("v", "7")));
        assert!(
            own.is_echo(&at("u", "7")),
            "still remembered after the others"
        );
    }
}
