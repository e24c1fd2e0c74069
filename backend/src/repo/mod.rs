//! Package repositories: the file format ([`format`]), versions ([`version`]), a
//! caching HTTP fetcher ([`fetch`]) and the clientset that keeps one client per
//! PackageRepository in step with the watch ([`clientset`]). The merged catalogue and
//! the on-disk cache come next (issue 4).

pub mod clientset;
pub mod fetch;
pub mod format;
pub mod version;
