//! The package operator's rules, apart from any cluster (issue 10, decision 0015): where
//! objects go and what they are called ([`placement`]), the order they are applied and
//! pruned in ([`order`], [`inventory`]), how values and transformations patch them ([`values`], [`jsonpath`]), how healthy each is ([`health`], kstatus'
//! rules), Helm packages as Flux objects ([`helm`]), when a failure is retried ([`retry`]) and how it is shown ([`failure`]), how often a progressing status is written ([`pacing`]), the package's phase from its objects' health ([`phase`]), what its conditions say
//! ([`conditions`]) and what a tenant's Package may install ([`confinement`]), what a package's dependencies and components need ([`dependencies`]). The controller that runs them is the backend's `operator/`.

pub mod conditions;
pub mod confinement;
pub mod dependencies;
pub mod failure;
pub mod health;
pub mod helm;
pub mod inventory;
pub mod jsonpath;
pub mod order;
pub mod pacing;
pub mod package_info;
pub mod phase;
pub mod placement;
pub mod retry;
pub mod template;
pub mod values;
