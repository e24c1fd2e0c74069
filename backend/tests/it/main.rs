//! Backend integration tests, one binary (issue 25, step 9): each module is
//! what was a test binary of its own; `common` holds the fixtures they share.

mod catalogue;
mod catalogue_live;
mod cli_bootstrap;
mod cli_day_two;
mod cli_fleet;
mod cli_repo;
mod common;
mod connections;
mod crds;
mod dashboard;
mod demo;
mod deploy;
mod endpoints;
mod fleet;
mod install;
mod links;
mod open;
mod operator;
mod operator_binary;
mod operator_day_two;
mod operator_faults;
mod operator_plans;
mod operator_workqueue;
mod rbac;
mod refresh;
mod repo_fetch;
mod repo_lint;
mod repositories;
mod tenants;
mod token;
mod value_sources;
