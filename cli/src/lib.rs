//! The `hoist` command line's library side: each subcommand is a function over a kube
//! client that returns what to print, so it is tested without a terminal.

#![forbid(unsafe_code)]

pub mod auth;
pub mod bootstrap;
pub mod catalogue;
pub mod configure;
pub mod fleet;
pub mod install;
pub mod installed;
pub mod lint;
pub mod open;
pub mod output;
pub mod repo;
pub mod status;
