//! The command line as clap types: every command, flag and value parser. The doc
//! comments are the `--help` text.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

mod day_two;
pub use day_two::{Bootstrap, Configure, Get, Open, Switch, Version};
use day_two::{parse_listing, parse_output};

#[derive(Parser)]
#[command(
    name = "hoist",
    version,
    about = "A Kubernetes package manager with a live dashboard"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to serve the dashboard on. Beyond loopback (e.g. 0.0.0.0:8080 in a
    /// pod) only with a token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Read the token every request must carry from this file (e.g. a mounted Secret;
    /// surrounding whitespace is ignored). Or set HOIST_TOKEN. At least 16 characters
    /// (e.g. `openssl rand -hex 32`); browsers open the dashboard once with `?token=…`.
    /// Never a flag of its own: `ps` would show it.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// The built web app.
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
    /// How long repository files are served from the cache before revalidation.
    #[arg(long, default_value = "5m", value_parser = hoist::demo::parse_duration)]
    pub repo_cache_ttl: std::time::Duration,
    /// Keep repository files on disk here, so a restart does not refetch them.
    #[arg(long, conflicts_with = "no_repo_cache")]
    pub repo_cache_dir: Option<PathBuf>,
    /// Bypass the repository cache: every lookup asks the repository (conditionally,
    /// so an unchanged file costs a 304), and nothing is kept on disk.
    #[arg(long)]
    pub no_repo_cache: bool,
    /// Let manifest URLs reach private addresses (loopback, link-local, private ranges)
    /// of any host, not only of the repositories' own. Off by default: a repository's
    /// content must not make Hoist fetch from the cluster's or the node's network.
    #[arg(long)]
    pub allow_private_manifest_hosts: bool,
    /// Hoist's own namespace: repository credentials are read from its Secrets.
    #[arg(long = "hoist-namespace", env = "HOIST_NAMESPACE", default_value = hoist::serve::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// The address users reach the dashboard at, e.g. https://hoist.example.com behind a
    /// TLS-terminating Ingress: an https:// one makes the token cookie Secure.
    #[arg(long, env = "HOIST_EXTERNAL_URL")]
    pub external_url: Option<String>,
    /// Connections served at once (each browser tab's live stream over HTTP/1.1 is
    /// one); one more is answered 503 with Retry-After. Raise it with the process's
    /// open-file limit.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the dashboard against the cluster of the current kubeconfig (KUBECONFIG,
    /// ~/.kube/config or in-cluster).
    Serve(Serve),
    /// Run the package operator against the cluster of the current kubeconfig: it
    /// installs, upgrades and removes what ClusterPackages and Packages ask for.
    Operator(Operator),
    /// Run the embedded default: an in-process API server with sample packages, and
    /// the dashboard against it. No cluster needed.
    Demo(Demo),
    /// Manage package repositories (PackageRepository resources).
    Repo(Repo),
    /// List the packages the repositories offer.
    List(List),
    /// Show one package: versions, dependencies, values, manifests.
    Show(Show),
    /// Install a package: resolve it in the catalogue, check its values, and create the
    /// ClusterPackage or Package the operator installs.
    Install(Install),
    /// What the operator says about an install: conditions, and each object it applied
    /// with what it did and how healthy it is.
    Status(Status),
    /// Member clusters: add (by kubeconfig), list, remove (billing stops at once).
    Cluster(Cluster),
    /// What the member clusters were billed in a period (default: this month so far).
    Usage(Usage),
    /// Retry a failed or dead-lettered install now (after fixing what it failed on).
    Retry(Retry),
    /// Move an installed package to the newest version its repository offers (or to
    /// --version, older ones included), after checking its values fit that version.
    Upgrade(Upgrade),
    /// Uninstall a package: delete its ClusterPackage (or with -n, its Package), unless
    /// another installed package still needs it.
    Uninstall(Uninstall),
    /// Change an installed package's values (or its auto-update), checked against its
    /// version's definitions before anything is written; the operator applies them.
    Configure(Configure),
    /// Open what a package installed: forward a local port to each entrypoint's
    /// Service (a ready pod, found again after a rollout), print the address, start
    /// the browser; until Ctrl-C.
    Open(Open),
    /// Print an install (ClusterPackage, or with -n a Package) as YAML or JSON.
    Get(Get),
    /// Suspend an install: the operator changes nothing of it until it is resumed.
    Suspend(Switch),
    /// Resume a suspended install.
    Resume(Switch),
    /// Install Hoist into the current cluster (CRDs, namespace, RBAC, the operator with
    /// leader election; with --with-dashboard the dashboard), then wait until the
    /// operator is available. A second run changes nothing; a newer binary upgrades.
    Bootstrap(Bootstrap),
    /// This binary's version, and the operator's in the cluster.
    Version(Version),
    /// Print the CustomResourceDefinitions as YAML.
    Crdgen,
}

// The arguments of each command, in the order `--help` lists them. The command's own
// description is the doc comment of its `Command` variant above.

#[derive(Args)]
pub struct Serve {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// The kubeconfig context to use instead of the current one.
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Args)]
pub struct Operator {
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// The kubeconfig context to use instead of the current one.
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Args)]
pub struct Demo {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Where the demo cluster keeps its state across restarts.
    #[arg(long, default_value = ".hoist/demo")]
    pub data_dir: PathBuf,
    /// Slow every API request down by this much (e.g. 300ms), as on a distant cluster.
    #[arg(long, value_parser = hoist::demo::parse_duration)]
    pub api_latency: Option<std::time::Duration>,
    /// Sample packages to seed on first start.
    #[arg(long, default_value_t = 12)]
    pub seed_packages: usize,
}

#[derive(Args)]
pub struct Repo {
    #[command(subcommand)]
    pub command: RepoCommand,
    /// The kubeconfig context to use instead of the current one.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Hoist's own namespace: repository credentials are read from its Secrets.
    #[arg(long = "hoist-namespace", global = true, env = "HOIST_NAMESPACE", default_value = hoist::serve::DEFAULT_NAMESPACE)]
    pub namespace: String,
}

#[derive(Args)]
pub struct List {
    /// Only packages whose name or description contains this.
    pub query: Option<String>,
    /// Only packages offered by this repository.
    #[arg(long)]
    pub repository: Option<String>,
    /// Only Cluster or Namespaced packages.
    #[arg(long, value_parser = ["Cluster", "Namespaced"])]
    pub scope: Option<String>,
    /// What is installed in the cluster instead, with status and newer versions.
    #[arg(long, conflicts_with_all = ["repository", "scope"])]
    pub installed: bool,
    /// With --installed: `wide` (also the repository, suspend, auto-update and the
    /// operator's reason and message) or `json`.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", requires = "installed", value_parser = parse_listing)]
    pub output: Option<hoist::cli::installed::Listing>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Show {
    pub package: String,
    /// A version instead of the newest.
    #[arg(long)]
    pub version: Option<String>,
    /// A repository instead of the one the catalogue takes the name from.
    #[arg(long)]
    pub repository: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Install {
    pub package: String,
    /// A version instead of the newest.
    #[arg(long)]
    pub version: Option<String>,
    /// A repository instead of the one the catalogue takes the name from.
    #[arg(long)]
    pub repository: Option<String>,
    /// The resource's name (default: the package's).
    #[arg(long)]
    pub name: Option<String>,
    /// For namespaced packages (default: the package's default namespace).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    /// A value, as KEY=VALUE; repeat for more.
    #[arg(long = "set", value_parser = hoist::cli::install::parse_set)]
    pub set: Vec<(String, String)>,
    /// A value the operator reads (and follows): KEY=configmap:[NS/]NAME/KEY,
    /// KEY=secret:[NS/]NAME/KEY or KEY=package:NAME/VALUE; repeat for more.
    #[arg(long = "set-from", value_name = "KEY=SOURCE", value_parser = hoist::cli::install::parse_set_from)]
    pub set_from: Vec<hoist_core::install::plan::Reference>,
    /// Wait until the operator says it is Ready (exit 0) or Failed (exit 1).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, default_value = "5m", value_parser = hoist::demo::parse_duration, requires = "wait")]
    pub timeout: std::time::Duration,
    /// Print what the install would create (the API server's dry run); write nothing.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,
    /// With --dry-run: the ClusterPackage or Package as it would be created, as `yaml`
    /// or `json` (to commit to Git, or pipe to `kubectl apply -f -`).
    #[arg(short = 'o', long = "output", value_name = "FORMAT", requires = "dry_run", value_parser = parse_output)]
    pub output: Option<hoist::cli::output::Output>,
    /// Let the operator move it to each newer version its dependents accept.
    #[arg(long)]
    pub auto_update: bool,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Status {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// The Package's namespace (without it: a ClusterPackage).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Cluster {
    #[command(subcommand)]
    pub command: ClusterCommand,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Usage {
    /// Start of the period, RFC 3339 (default: the first of this month, 00:00 UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period, RFC 3339 (default: now).
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: hoist::cli::fleet::Format,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Retry {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// The Package's namespace (without it: a ClusterPackage).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Upgrade {
    /// The ClusterPackage's or Package's name.
    #[arg(required_unless_present = "all")]
    pub name: Option<String>,
    /// The Package's namespace (without it: a ClusterPackage; with --all: only
    /// that namespace's Packages).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    /// The version to move to (default: the newest, if newer).
    #[arg(long, conflicts_with = "all")]
    pub version: Option<String>,
    /// Upgrade every install to the newest version its dependents accept
    /// (components follow their parent).
    #[arg(long, conflicts_with = "name")]
    pub all: bool,
    /// Print what the upgrade would change (the API server's dry run); write nothing.
    #[arg(long, conflicts_with = "all")]
    pub dry_run: bool,
    /// With --dry-run: the install as the upgrade would leave it, as `yaml` or `json`.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", requires = "dry_run", value_parser = parse_output)]
    pub output: Option<hoist::cli::output::Output>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args)]
pub struct Uninstall {
    /// The ClusterPackage's or Package's name.
    pub name: String,
    /// The Package's namespace (without it: a ClusterPackage).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub in_namespace: Option<String>,
    /// Delete even if other installed packages depend on it.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args, Clone)]
pub struct OperatorArgs {
    /// Passes at once, per kind (ClusterPackage and Package each), fixed. Unset: the
    /// limit adapts between --min-concurrency and --max-concurrency.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..), conflicts_with_all = ["min_concurrency", "max_concurrency"])]
    pub concurrency: Option<u16>,
    /// The fewest passes at once, per kind, when the limit adapts: where it starts,
    /// and how low 429s, 5xx and slow answers of the API server can bring it.
    #[arg(long, default_value_t = hoist::operator::Concurrency::DEFAULT_MIN, value_parser = clap::value_parser!(u16).range(1..))]
    pub min_concurrency: u16,
    /// The most passes at once, per kind, when the limit adapts: how far a deep queue
    /// and fast answers can grow it.
    #[arg(long, default_value_t = hoist::operator::Concurrency::DEFAULT_MAX, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrency: u16,
    /// The ServiceAccount (in each Package's own namespace) that a Package's writes are
    /// made as when its spec.serviceAccountName is unset (Flux's lockdown flag). Unset:
    /// Packages are written with the operator's identity, confined by Hoist's rules only.
    #[arg(long = "default-service-account", env = "HOIST_DEFAULT_SERVICE_ACCOUNT", value_parser = service_account_name)]
    pub default_service_account: Option<String>,
    /// Hoist's own namespace: repository credentials are read from its Secrets.
    #[arg(long = "hoist-namespace", env = "HOIST_NAMESPACE", default_value = hoist::serve::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// How long repository files are served from the cache before revalidation.
    #[arg(long, default_value = "5m", value_parser = hoist::demo::parse_duration)]
    pub repo_cache_ttl: std::time::Duration,
    /// Keep repository files on disk here, so a restart does not refetch them.
    #[arg(long)]
    pub repo_cache_dir: Option<PathBuf>,
    /// Let manifest URLs reach private addresses (loopback, link-local, private ranges)
    /// of any host, not only of the repositories' own. Off by default: a repository's
    /// content must not make Hoist fetch from the cluster's or the node's network.
    #[arg(long)]
    pub allow_private_manifest_hosts: bool,
    /// Take part in leader election on the Lease `hoist-operator` in Hoist's namespace,
    /// so of several replicas one reconciles. Default: on inside a cluster, off outside.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: Option<bool>,
    /// Serve /livez, /readyz and /metrics here (e.g. 0.0.0.0:8081 in a pod).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub probes_listen: SocketAddr,
    /// Who may read /metrics: `kubernetes` (a bearer token the API server authenticates,
    /// of a user allowed `get` on the non-resource URL /metrics; the operator needs
    /// `create` on tokenreviews and subjectaccessreviews) or `none` (anyone who reaches
    /// the port: local runs). /livez and /readyz are always open.
    #[arg(long, value_enum, default_value_t = MetricsAuthArg::Kubernetes)]
    pub metrics_auth: MetricsAuthArg,
    /// Deliver each closed hour of cluster usage to this URL as CloudEvents (at least
    /// once, with stable ids), e.g. a metering service's ingest endpoint.
    #[arg(long)]
    pub usage_sink: Option<String>,
    /// Keep a stopped usage record this long after its stop (and, with --usage-sink,
    /// after the sink acknowledged it), then delete it; 0 keeps records forever.
    #[arg(long, default_value = "400d", value_parser = retention)]
    pub usage_retention: Retention,
    /// How often each member cluster is probed while it answers (its identity, version
    /// and reachability); failing ones back off from this to 5 minutes. At least 1s.
    #[arg(long, default_value = "30s", value_parser = probe_interval)]
    pub member_probe_interval: std::time::Duration,
}

/// `--member-probe-interval`: a duration of at least one second.
fn probe_interval(text: &str) -> Result<std::time::Duration, String> {
    let d = hoist::demo::parse_duration(text)?;
    if d < std::time::Duration::from_secs(1) {
        return Err("at least 1s".into());
    }
    Ok(d)
}

/// `--metrics-auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricsAuthArg {
    Kubernetes,
    None,
}

/// `--usage-retention`: `None` keeps records forever.
#[derive(Debug, Clone, Copy)]
pub struct Retention(pub Option<i64>);

fn retention(s: &str) -> Result<Retention, String> {
    hoist::fleet::time::parse_retention(s).map(Retention)
}

/// Which cluster, and where Hoist's own Secrets are.
#[derive(Args, Clone)]
pub struct Target {
    /// The kubeconfig context to use instead of the current one.
    #[arg(long)]
    pub context: Option<String>,
    /// Hoist's own namespace: repository credentials are read from its Secrets.
    #[arg(long = "hoist-namespace", env = "HOIST_NAMESPACE", default_value = hoist::serve::DEFAULT_NAMESPACE)]
    pub namespace: String,
}

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Register a member cluster: its kubeconfig goes into a Secret in Hoist's
    /// namespace, and a Cluster refers to it.
    Add {
        name: String,
        #[arg(long)]
        kubeconfig: PathBuf,
        /// The kubeconfig context (default: its current one).
        #[arg(long = "member-context")]
        member_context: Option<String>,
    },
    /// Every member with its state and billing.
    List,
    /// Remove a member: billing stops at once. Asks for the name unless --yes.
    Remove {
        name: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub enum RepoCommand {
    /// Add a repository. An unreachable one is still added; `repo list` shows why.
    Add(RepoAdd),
    /// List repositories with their state, asked of each repository now.
    List,
    /// Change a repository's URL or make it the default; auth is kept.
    Update {
        name: String,
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        default: bool,
    },
    /// Remove a repository.
    Remove { name: String },
    /// Check a repository (a directory, or the http(s) URL of its index.yaml's folder)
    /// against the format: every file, every manifest, every value target with the
    /// defaults, dependencies, components, entrypoints. Needs no cluster. Exits 1 when
    /// it finds an error.
    Lint {
        /// The repository: a directory or an http(s) URL.
        source: String,
        /// Fetch nothing outside the repository: manifests at absolute URLs are noted as
        /// not checked.
        #[arg(long)]
        offline: bool,
        /// `json`: the findings as a JSON array.
        #[arg(short = 'o', long = "output", value_parser = ["json"])]
        output: Option<String>,
    },
}

#[derive(Args)]
pub struct RepoAdd {
    pub name: String,
    pub url: String,
    /// Make it the default repository (and no other).
    #[arg(long)]
    pub default: bool,
    /// Bearer token, read from this file (`-`: standard input), or set
    /// HOIST_REPO_TOKEN. Kept in the PackageRepository: prefer --token-secret.
    #[arg(long, conflicts_with_all = ["username", "password_file", "token_secret", "basic_secret"])]
    pub token_file: Option<String>,
    /// Bearer token from a Secret in Hoist's namespace, as SECRET:KEY.
    #[arg(long, value_parser = parse_secret_ref, conflicts_with_all = ["username", "password_file", "basic_secret"])]
    pub token_secret: Option<hoist::types::SecretKeyRef>,
    /// Basic auth from a Secret in Hoist's namespace with keys `username` and `password`.
    #[arg(long, conflicts_with_all = ["username", "password_file"])]
    pub basic_secret: Option<String>,
    /// Basic auth user name; the password from --password-file or HOIST_REPO_PASSWORD.
    #[arg(long)]
    pub username: Option<String>,
    /// Basic auth password, read from this file (`-`: standard input).
    #[arg(long, requires = "username")]
    pub password_file: Option<String>,
}

/// `SECRET:KEY`.
fn parse_secret_ref(s: &str) -> Result<hoist::types::SecretKeyRef, String> {
    match s.split_once(':') {
        Some((name, key)) if !name.is_empty() && !key.is_empty() => {
            Ok(hoist::types::SecretKeyRef {
                name: name.into(),
                key: key.into(),
            })
        }
        _ => Err(format!(
            "{s:?}: expected SECRET:KEY, e.g. repo-credentials:token"
        )),
    }
}

/// A ServiceAccount name as the API server accepts one (a DNS-1123 subdomain).
fn service_account_name(s: &str) -> Result<String, String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if s.len() <= 253 && s.split('.').all(label_ok) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a ServiceAccount name (lowercase letters, digits, '-' and '.')"
        ))
    }
}
