//! The arguments of the day-two commands: `configure`, `open`, `get`, `suspend`/`resume`,
//! `bootstrap`, `version`, and the `-o` formats they and `install`, `upgrade` and
//! `list` take.

use super::Target;
use clap::Args;

#[derive(Args)]
pub struct Configure {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// The Package's namespace (without it: a ClusterPackage).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    /// A value, as KEY=VALUE; repeat for more. Replaces a value read from elsewhere.
    #[arg(long = "set", value_parser = hoist::cli::install::parse_set)]
    pub set: Vec<(String, String)>,
    /// A value the operator reads (and follows): KEY=configmap:[NS/]NAME/KEY,
    /// KEY=secret:[NS/]NAME/KEY or KEY=package:NAME/VALUE; repeat for more.
    #[arg(long = "set-from", value_name = "KEY=SOURCE", value_parser = hoist::cli::install::parse_set_from)]
    pub set_from: Vec<hoist_core::install::plan::Reference>,
    /// Remove a value (the package's default applies again); repeat for more.
    #[arg(long = "unset", value_name = "KEY")]
    pub unset: Vec<String>,
    /// Turn unattended upgrades on (`--auto-update` or `=true`) or off (`=false`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub auto_update: Option<bool>,
    /// Check and print the changes; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The install as it is after the change (with --dry-run: would be), as `yaml` or
    /// `json`.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_parser = parse_output)]
    pub output: Option<hoist::cli::output::Output>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Open {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// The entrypoint to open (its name, else its Service's); every one when left out.
    pub entrypoint: Option<String>,
    /// The Package's namespace (without it: a ClusterPackage).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    /// The local port (one entrypoint only); default: the package's localPort, else a
    /// free one.
    #[arg(long)]
    pub port: Option<u16>,
    /// Print the address; do not start a browser.
    #[arg(long)]
    pub no_browser: bool,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Get {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// The Package's namespace (without it: a ClusterPackage).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    /// `yaml` or `json`.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "yaml", value_parser = parse_output)]
    pub output: hoist::cli::output::Output,
    #[command(flatten)]
    pub target: Target,
}

/// `suspend` and `resume`.
#[derive(Args)]
pub struct Switch {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// The Package's namespace (without it: a ClusterPackage).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Bootstrap {
    /// Also the dashboard (`hoist serve`), its RBAC and a token Secret.
    #[arg(long)]
    pub with_dashboard: bool,
    /// The image to run instead of this version's (a mirror, say).
    #[arg(long)]
    pub image: Option<String>,
    /// Print the objects instead (with -o); apply nothing.
    #[arg(long, requires = "output")]
    pub dry_run: bool,
    /// With --dry-run: `yaml` or `json`.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", requires = "dry_run", value_parser = parse_output)]
    pub output: Option<hoist::cli::output::Output>,
    /// How long to wait for the operator to be available.
    #[arg(long, default_value = "5m", value_parser = hoist::demo::parse_duration)]
    pub timeout: std::time::Duration,
    /// Apply and return without waiting for the operator.
    #[arg(long)]
    pub no_wait: bool,
    /// The kubeconfig context to use instead of the current one.
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Args)]
pub struct Version {
    #[command(flatten)]
    pub target: Target,
}

/// `-o yaml|json`.
pub fn parse_output(text: &str) -> Result<hoist::cli::output::Output, String> {
    text.parse()
}

/// `list --installed -o wide|json`.
pub fn parse_listing(text: &str) -> Result<hoist::cli::installed::Listing, String> {
    text.parse()
}
