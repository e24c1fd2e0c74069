//! The dashboard's [`Reads`] for a Preview: the installs from the hub (the packages its
//! pages list, kept by the ClusterPackage and Package reflectors), so a Preview starts
//! no watch and lists nothing.
//!
//! Guarantees: each install's package, version and state are the hub's, which holds
//! them as the operator's rule words them (`hoist_core::install::state`: a true
//! `Failed`, then a true `Ready`, otherwise pending), so the dependency rule reads what
//! it would read from the operator's own watches.
//!
//! Caveats: the hub keeps no conditions behind the word. An install being deleted is
//! `Deleting` there and counts as not ready (the operator, reading its conditions,
//! would still use a ready one until it is gone). The values a ClusterPackage sets are
//! not cached (the pages never show them): a `packageRef` reads its ClusterPackage
//! with one GET.

use crate::cache::hub::Hub;
use futures::future::BoxFuture;
use hoist_core::install::InstallRef;
use hoist_core::install::state::Word;
use hoist_core::operator::dependencies::{Existing, State};
use hoist_kube::installs::{Install, Installs};
use hoist_kube::types::ValueConfiguration;
use hoist_operator::preview::Reads;
use hoist_proto::v1 as pb;
use std::collections::BTreeMap;
use std::sync::Arc;

/// [`Reads`] over the dashboard's caches (see the module doc).
pub struct Cached {
    pub hub: Arc<Hub>,
    /// For the one GET of a referenced ClusterPackage.
    pub client: kube::Client,
}

impl Reads for Cached {
    fn installs(&self) -> BoxFuture<'_, Result<Vec<Existing>, kube::Error>> {
        let all = self
            .hub
            .snapshot()
            .packages
            .iter()
            .filter_map(existing)
            .collect();
        Box::pin(futures::future::ready(Ok(all)))
    }

    fn cluster_package_values<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, ValueConfiguration>>, kube::Error>> {
        Box::pin(async move {
            let found = Installs::new(&self.client)
                .get(&InstallRef::cluster(name))
                .await?;
            Ok(match found {
                Some(Install::Cluster(p)) => Some(p.spec.values),
                _ => None,
            })
        })
    }
}

/// A hub package as the dependency rule reads it; `None` without a key.
fn existing(p: &pb::Package) -> Option<Existing> {
    let key = p.key.as_ref()?;
    let namespace = (key.scope == pb::Scope::Namespaced as i32).then_some(key.namespace.as_str());
    Some(Existing {
        at: InstallRef::new(namespace, key.name.clone()),
        package: p.package_name.clone(),
        version: p.version.clone(),
        state: state(&p.state, &p.message),
    })
}

/// The rule's state from the hub's word (see the module doc for `Deleting`).
fn state(word: &str, message: &str) -> State {
    if word == Word::Ready.as_str() {
        State::Ready
    } else if word == Word::Failed.as_str() {
        State::Failed(message.to_string())
    } else {
        State::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::convert;
    use hoist_kube::types::{ClusterPackage, Condition, PackageStatus};

    fn condition(type_: &str, status: &str, message: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            message: message.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_hub_word_gives_the_state_the_operator_reads_from_conditions() {
        let with = |conditions: Vec<Condition>| {
            let mut p = ClusterPackage::new("db", Default::default());
            p.spec.package_info.name = "postgres".into();
            p.spec.package_info.version = "v1.0.0".into();
            p.status = Some(PackageStatus {
                conditions,
                ..Default::default()
            });
            p
        };
        let cases = [
            (vec![condition("Ready", "True", "")], State::Ready),
            (
                vec![
                    condition("Ready", "True", ""),
                    condition("Failed", "True", "image pull"),
                ],
                State::Failed("image pull".into()),
            ),
            (vec![condition("Ready", "False", "waiting")], State::Pending),
            (Vec::new(), State::Pending),
        ];
        for (conditions, want) in cases {
            let p = with(conditions);
            let from_hub = existing(&convert::from_cluster_package(&p)).expect("keyed");
            let from_watch = hoist_operator::dependencies::existing_of([&p], []);
            assert_eq!(from_hub.state, want);
            assert_eq!(vec![from_hub], from_watch);
        }
    }
}
