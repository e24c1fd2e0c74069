//! Cross-crate tests, one binary (issue 25, step 9): the dashboard end to end in
//! headless Chromium, and the module-cycle check over every crate.

mod catalogue;
mod clusters;
mod dashboard;
mod demo_pages;
mod foreign_origin;
mod install;
mod install_page;
mod lazy_pages;
mod many_packages;
mod module_cycles;
mod open_page;
mod token;
mod value_sources;
