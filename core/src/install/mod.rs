//! The rules of installs, upgrades and uninstalls, apart from any cluster: which
//! install a request makes ([`plan`]), whether a version may replace another
//! ([`upgrade`]), who still needs a package ([`dependents`]), and the words an install's
//! state is shown with ([`state`]). Installs are named by one [`InstallRef`].

pub mod dependents;
pub mod plan;
pub mod state;
pub mod target;
pub mod upgrade;

pub use target::{InstallRef, Scope};
