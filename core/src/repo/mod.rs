//! Package repositories in Glasskube's format (`shared/specs/package-repository.md`):
//! the files ([`format`](mod@format)), versions ([`version`]), value checks ([`values`]), the
//! catalogue merge ([`catalogue`]) and which URLs may reach a browser ([`links`]).

pub mod catalogue;
pub mod destinations;
pub mod format;
pub mod links;
pub mod values;
pub mod version;
