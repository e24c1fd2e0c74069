//! Package repositories: the file format ([`format`]), versions ([`version`]), a
//! caching HTTP fetcher ([`fetch`]), the clientset that keeps one client per
//! PackageRepository in step with the watch ([`clientset`]), and the catalogue merged
//! across repositories ([`catalogue`]). The catalogue is kept current in the background ([`live`]).

pub mod catalogue;
pub mod clientset;
pub mod fetch;
pub mod format;
pub mod live;
pub mod resolve;
pub mod values;
pub mod version;
