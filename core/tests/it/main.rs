//! The core's integration tests, one binary (issue 25, step 9): each module is
//! what was a test binary of its own.

mod fetch_destinations;
mod glasskube_rules;
mod ledger_properties;
mod member_kubeconfig;
mod no_runtime_dependencies;
mod target_match_properties;
mod template_limits;
mod values_as_data;
