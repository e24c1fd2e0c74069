//! devcluster's integration tests, one binary (issue 25, step 9): each module is
//! what was a test binary of its own; `common` holds the fixtures they share.

mod auth_live;
mod auth_reviews;
mod authn;
mod bad_input;
mod common;
mod crd_validation;
mod creations;
mod dry_run;
mod events;
mod faults;
mod field_validation;
mod kube_crud;
mod kube_runtime;
mod kube_watch;
mod leases;
mod metadata_only;
mod other_clients;
mod persistence;
mod pods;
mod portforward;
mod property;
mod rbac_authorizer;
mod restart_identity;
mod server_side_apply;
mod workloads;
