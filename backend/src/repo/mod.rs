//! Package repositories: the file format ([`format`]), versions ([`version`]) and a
//! caching HTTP fetcher ([`fetch`]). The clientset over the PackageRepository reflector,
//! the merged catalogue and the on-disk cache come next (issue 4).

pub mod fetch;
pub mod format;
pub mod version;
