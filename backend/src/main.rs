//! The `hoist` binary: `serve`, `operator`, `demo`, `repo`, `list`, `show`, `install`,
//! `status`, `retry`, `upgrade`, `uninstall`, `crdgen`. `main` parses and dispatches; each command is its own small
//! function over the library (`hoist::cli`, `hoist::serve`, `hoist::demo`), and anyhow
//! lives only here.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hoist::serve::ServeOptions;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "hoist",
    version,
    about = "A Kubernetes package manager with a live dashboard"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to serve the dashboard on. Beyond loopback (e.g. 0.0.0.0:8080 in a
    /// pod) only with a token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Read the token every request must carry from this file (e.g. a mounted Secret;
    /// surrounding whitespace is ignored). Or set HOIST_TOKEN. At least 16 characters
    /// (e.g. `openssl rand -hex 32`); browsers open the dashboard once with `?token=…`.
    /// Never a flag of its own: `ps` would show it.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// The built web app.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// How long repository files are served from the cache before revalidation.
    #[arg(long, default_value = "5m", value_parser = hoist::demo::parse_duration)]
    repo_cache_ttl: std::time::Duration,
    /// Keep repository files on disk here, so a restart does not refetch them.
    #[arg(long, conflicts_with = "no_repo_cache")]
    repo_cache_dir: Option<PathBuf>,
    /// Bypass the repository cache: every lookup asks the repository (conditionally,
    /// so an unchanged file costs a 304), and nothing is kept on disk.
    #[arg(long)]
    no_repo_cache: bool,
    /// Let manifest URLs reach private addresses (loopback, link-local, private ranges)
    /// of any host, not only of the repositories' own. Off by default: a repository's
    /// content must not make Hoist fetch from the cluster's or the node's network.
    #[arg(long)]
    allow_private_manifest_hosts: bool,
    /// Hoist's own namespace: repository credentials are read from its Secrets.
    #[arg(long = "hoist-namespace", env = "HOIST_NAMESPACE", default_value = hoist::serve::DEFAULT_NAMESPACE)]
    namespace: String,
    /// The address users reach the dashboard at, e.g. https://hoist.example.com behind a
    /// TLS-terminating Ingress: an https:// one makes the token cookie Secure.
    #[arg(long, env = "HOIST_EXTERNAL_URL")]
    external_url: Option<String>,
}

impl ServeArgs {
    fn options(&self) -> anyhow::Result<ServeOptions> {
        let fetch = hoist::repo::fetch::FetchOptions {
            ttl: if self.no_repo_cache {
                std::time::Duration::ZERO
            } else {
                self.repo_cache_ttl
            },
            disk: self.repo_cache_dir.clone(),
            allow_private_hosts: self.allow_private_manifest_hosts,
            ..Default::default()
        };
        let token = match &self.token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the token file {}", path.display()))?
                    .trim()
                    .to_string(),
            ),
            None => std::env::var("HOIST_TOKEN").ok().filter(|t| !t.is_empty()),
        };
        Ok(ServeOptions {
            listen: self.listen,
            token: token.map(secrecy::SecretString::from),
            dist: self.dist.clone(),
            fetch,
            namespace: self.namespace.clone(),
            external_url: self.external_url.clone(),
            ..Default::default()
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the dashboard against the cluster of the current kubeconfig (KUBECONFIG,
    /// ~/.kube/config or in-cluster).
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
        /// The kubeconfig context to use instead of the current one.
        #[arg(long)]
        context: Option<String>,
    },
    /// Run the package operator against the cluster of the current kubeconfig: it
    /// installs, upgrades and removes what ClusterPackages and Packages ask for.
    Operator {
        #[command(flatten)]
        operator: OperatorArgs,
        /// The kubeconfig context to use instead of the current one.
        #[arg(long)]
        context: Option<String>,
    },
    /// Run the embedded default: an in-process API server with sample packages, and
    /// the dashboard against it. No cluster needed.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Where the demo cluster keeps its state across restarts.
        #[arg(long, default_value = ".hoist/demo")]
        data_dir: PathBuf,
        /// Slow every API request down by this much (e.g. 300ms), as on a distant cluster.
        #[arg(long, value_parser = hoist::demo::parse_duration)]
        api_latency: Option<std::time::Duration>,
        /// Sample packages to seed on first start.
        #[arg(long, default_value_t = 12)]
        seed_packages: usize,
    },
    /// Manage package repositories (PackageRepository resources).
    Repo {
        #[command(subcommand)]
        command: RepoCommand,
        /// The kubeconfig context to use instead of the current one.
        #[arg(long, global = true)]
        context: Option<String>,
        /// Hoist's own namespace: repository credentials are read from its Secrets.
        #[arg(long = "hoist-namespace", global = true, env = "HOIST_NAMESPACE", default_value = hoist::serve::DEFAULT_NAMESPACE)]
        namespace: String,
    },
    /// List the packages the repositories offer.
    List {
        /// Only packages whose name or description contains this.
        query: Option<String>,
        /// Only packages offered by this repository.
        #[arg(long)]
        repository: Option<String>,
        /// Only Cluster or Namespaced packages.
        #[arg(long, value_parser = ["Cluster", "Namespaced"])]
        scope: Option<String>,
        /// What is installed in the cluster instead, with status and newer versions.
        #[arg(long, conflicts_with_all = ["repository", "scope"])]
        installed: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Show one package: versions, dependencies, values, manifests.
    Show {
        package: String,
        /// A version instead of the newest.
        #[arg(long)]
        version: Option<String>,
        /// A repository instead of the one the catalogue takes the name from.
        #[arg(long)]
        repository: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Install a package: resolve it in the catalogue, check its values, and create the
    /// ClusterPackage or Package the operator installs.
    Install {
        package: String,
        /// A version instead of the newest.
        #[arg(long)]
        version: Option<String>,
        /// A repository instead of the one the catalogue takes the name from.
        #[arg(long)]
        repository: Option<String>,
        /// The resource's name (default: the package's).
        #[arg(long)]
        name: Option<String>,
        /// For namespaced packages (default: the package's default namespace).
        #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
        in_namespace: Option<String>,
        /// A value, as KEY=VALUE; repeat for more.
        #[arg(long = "set", value_parser = hoist::cli::install::parse_set)]
        set: Vec<(String, String)>,
        /// A value the operator reads (and follows): KEY=configmap:[NS/]NAME/KEY,
        /// KEY=secret:[NS/]NAME/KEY or KEY=package:NAME/VALUE; repeat for more.
        #[arg(long = "set-from", value_name = "KEY=SOURCE", value_parser = hoist::cli::install::parse_set_from)]
        set_from: Vec<hoist_core::install::plan::Reference>,
        /// Wait until the operator says it is Ready (exit 0) or Failed (exit 1).
        #[arg(long)]
        wait: bool,
        /// How long --wait waits.
        #[arg(long, default_value = "5m", value_parser = hoist::demo::parse_duration, requires = "wait")]
        timeout: std::time::Duration,
        /// Print what the install would create (the API server's dry run); write nothing.
        #[arg(long, conflicts_with = "wait")]
        dry_run: bool,
        #[command(flatten)]
        target: Target,
    },
    /// What the operator says about an install: conditions, and each object it applied
    /// with what it did and how healthy it is.
    Status {
        /// The ClusterPackage's or Package's name.
        name: String,
        /// The Package's namespace (without it: a ClusterPackage).
        #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
        in_namespace: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Member clusters: add (by kubeconfig), list, remove (billing stops at once).
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
        #[command(flatten)]
        target: Target,
    },
    /// What the member clusters were billed in a period (default: this month so far).
    Usage {
        /// Start of the period, RFC 3339 (default: the first of this month, 00:00 UTC).
        #[arg(long)]
        from: Option<String>,
        /// End of the period, RFC 3339 (default: now).
        #[arg(long)]
        to: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: hoist::cli::fleet::Format,
        #[command(flatten)]
        target: Target,
    },
    /// Retry a failed or dead-lettered install now (after fixing what it failed on).
    Retry {
        /// The ClusterPackage's or Package's name.
        name: String,
        /// The Package's namespace (without it: a ClusterPackage).
        #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
        in_namespace: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Move an installed package to the newest version its repository offers (or to
    /// --version, older ones included), after checking its values fit that version.
    Upgrade {
        /// The ClusterPackage's or Package's name.
        #[arg(required_unless_present = "all")]
        name: Option<String>,
        /// The Package's namespace (without it: a ClusterPackage; with --all: only
        /// that namespace's Packages).
        #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
        in_namespace: Option<String>,
        /// The version to move to (default: the newest, if newer).
        #[arg(long, conflicts_with = "all")]
        version: Option<String>,
        /// Upgrade every install to the newest version its dependents accept
        /// (components follow their parent).
        #[arg(long, conflicts_with = "name")]
        all: bool,
        /// Print what the upgrade would change (the API server's dry run); write nothing.
        #[arg(long, conflicts_with = "all")]
        dry_run: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Uninstall a package: delete its ClusterPackage (or with -n, its Package), unless
    /// another installed package still needs it.
    Uninstall {
        /// The ClusterPackage's or Package's name.
        name: String,
        /// The Package's namespace (without it: a ClusterPackage).
        #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
        in_namespace: Option<String>,
        /// Delete even if other installed packages depend on it.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Print the CustomResourceDefinitions as YAML.
    Crdgen,
}

#[derive(Args, Clone)]
struct OperatorArgs {
    /// Passes at once, per kind (ClusterPackage and Package each).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// The ServiceAccount (in each Package's own namespace) that a Package's writes are
    /// made as when its spec.serviceAccountName is unset (Flux's lockdown flag). Unset:
    /// Packages are written with the operator's identity, confined by Hoist's rules only.
    #[arg(long = "default-service-account", env = "HOIST_DEFAULT_SERVICE_ACCOUNT", value_parser = service_account_name)]
    default_service_account: Option<String>,
    /// Hoist's own namespace: repository credentials are read from its Secrets.
    #[arg(long = "hoist-namespace", env = "HOIST_NAMESPACE", default_value = hoist::serve::DEFAULT_NAMESPACE)]
    namespace: String,
    /// How long repository files are served from the cache before revalidation.
    #[arg(long, default_value = "5m", value_parser = hoist::demo::parse_duration)]
    repo_cache_ttl: std::time::Duration,
    /// Keep repository files on disk here, so a restart does not refetch them.
    #[arg(long)]
    repo_cache_dir: Option<PathBuf>,
    /// Let manifest URLs reach private addresses (loopback, link-local, private ranges)
    /// of any host, not only of the repositories' own. Off by default: a repository's
    /// content must not make Hoist fetch from the cluster's or the node's network.
    #[arg(long)]
    allow_private_manifest_hosts: bool,
    /// Take part in leader election on the Lease `hoist-operator` in Hoist's namespace,
    /// so of several replicas one reconciles. Default: on inside a cluster, off outside.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    leader_elect: Option<bool>,
    /// Serve /livez, /readyz and /metrics here (e.g. 0.0.0.0:8081 in a pod).
    #[arg(long, default_value = "127.0.0.1:8081")]
    probes_listen: SocketAddr,
    /// Who may read /metrics: `kubernetes` (a bearer token the API server authenticates,
    /// of a user allowed `get` on the non-resource URL /metrics; the operator needs
    /// `create` on tokenreviews and subjectaccessreviews) or `none` (anyone who reaches
    /// the port: local runs). /livez and /readyz are always open.
    #[arg(long, value_enum, default_value_t = MetricsAuthArg::Kubernetes)]
    metrics_auth: MetricsAuthArg,
    /// Deliver each closed hour of cluster usage to this URL as CloudEvents (at least
    /// once, with stable ids), e.g. a metering service's ingest endpoint.
    #[arg(long)]
    usage_sink: Option<String>,
    /// Keep a stopped usage record this long after its stop (and, with --usage-sink,
    /// after the sink acknowledged it), then delete it; 0 keeps records forever.
    #[arg(long, default_value = "400d", value_parser = retention)]
    usage_retention: Retention,
}

/// `--metrics-auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MetricsAuthArg {
    Kubernetes,
    None,
}

/// `--usage-retention`: `None` keeps records forever.
#[derive(Debug, Clone, Copy)]
struct Retention(Option<i64>);

fn retention(s: &str) -> Result<Retention, String> {
    hoist::fleet::time::parse_retention(s).map(Retention)
}

/// Which cluster, and where Hoist's own Secrets are.
#[derive(Args, Clone)]
struct Target {
    /// The kubeconfig context to use instead of the current one.
    #[arg(long)]
    context: Option<String>,
    /// Hoist's own namespace: repository credentials are read from its Secrets.
    #[arg(long = "hoist-namespace", env = "HOIST_NAMESPACE", default_value = hoist::serve::DEFAULT_NAMESPACE)]
    namespace: String,
}

#[derive(Subcommand)]
enum ClusterCommand {
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
enum RepoCommand {
    /// Add a repository. An unreachable one is still added; `repo list` shows why.
    Add {
        name: String,
        url: String,
        /// Make it the default repository (and no other).
        #[arg(long)]
        default: bool,
        /// Bearer token, read from this file (`-`: standard input), or set
        /// HOIST_REPO_TOKEN. Kept in the PackageRepository: prefer --token-secret.
        #[arg(long, conflicts_with_all = ["username", "password_file", "token_secret", "basic_secret"])]
        token_file: Option<String>,
        /// Bearer token from a Secret in Hoist's namespace, as SECRET:KEY.
        #[arg(long, value_parser = parse_secret_ref, conflicts_with_all = ["username", "password_file", "basic_secret"])]
        token_secret: Option<hoist::types::SecretKeyRef>,
        /// Basic auth from a Secret in Hoist's namespace with keys `username` and `password`.
        #[arg(long, conflicts_with_all = ["username", "password_file"])]
        basic_secret: Option<String>,
        /// Basic auth user name; the password from --password-file or HOIST_REPO_PASSWORD.
        #[arg(long)]
        username: Option<String>,
        /// Basic auth password, read from this file (`-`: standard input).
        #[arg(long, requires = "username")]
        password_file: Option<String>,
    },
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

/// A kube client from the usual configuration, or the named context.
async fn kube_client(context: Option<String>) -> anyhow::Result<kube::Client> {
    let config = match context {
        Some(context) => {
            let options = kube::config::KubeConfigOptions {
                context: Some(context),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options)
                .await
                .context("cannot read the kubeconfig context")?
        }
        None => kube::Config::infer()
            .await
            .context("no Kubernetes configuration found (set KUBECONFIG, or run in a cluster)")?,
    };
    kube::Client::try_from(config).context("cannot build a Kubernetes client")
}

/// Errors are printed as what went wrong and why, one line per cause; a backtrace is a
/// developer's tool, not a user's answer, whatever `RUST_BACKTRACE` says.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  because: {cause}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Servers log what they do; one-shot commands only what went wrong. Logs go to
    // stderr, so a command's output can be piped.
    let default_filter = match cli.command {
        Command::Serve { .. } | Command::Demo { .. } | Command::Operator { .. } => "info,kube=warn",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    match cli.command {
        Command::Crdgen => print!("{}", hoist::types::crds_yaml()?),
        Command::List {
            query,
            repository,
            scope,
            installed,
            target,
        } => list(query, repository, scope, installed, target).await?,
        Command::Show {
            package,
            version,
            repository,
            target,
        } => show(package, version, repository, target).await?,
        Command::Install {
            package,
            version,
            repository,
            name,
            in_namespace,
            set,
            set_from,
            wait,
            timeout,
            dry_run,
            target,
        } => {
            let req = hoist::cli::install::InstallRequest {
                package,
                version,
                repository,
                name,
                namespace: in_namespace,
                values: set,
                references: set_from,
            };
            let client = target.client().await?;
            if dry_run {
                print!(
                    "{}",
                    hoist::cli::install::preview_install(&client, &target.namespace, &req).await?
                );
                return Ok(());
            }
            let (text, created) =
                hoist::cli::install::install(&client, &target.namespace, &req).await?;
            print!("{text}");
            if wait {
                print!(
                    "{}",
                    hoist::cli::status::wait(&client, &created, timeout, None).await?
                );
            }
        }
        Command::Status {
            name,
            in_namespace,
            target,
        } => {
            let client = target.client().await?;
            let install = install_ref(name, in_namespace);
            print!("{}", hoist::cli::status::status(&client, &install).await?);
        }
        Command::Cluster { command, target } => {
            let client = target.client().await?;
            let ns = &target.namespace;
            let text = match command {
                ClusterCommand::Add {
                    name,
                    kubeconfig,
                    member_context,
                } => {
                    hoist::cli::fleet::add(
                        &client,
                        ns,
                        &name,
                        &kubeconfig,
                        member_context.as_deref(),
                    )
                    .await?
                }
                ClusterCommand::List => hoist::cli::fleet::list(&client, ns).await?,
                ClusterCommand::Remove { name, yes } => {
                    let confirmed = yes
                        || {
                            eprint!(
                                "Remove cluster {name}? Its billing stops at this moment. Type its name to confirm: "
                            );
                            let mut typed = String::new();
                            std::io::stdin().read_line(&mut typed)?;
                            typed.trim() == name
                        };
                    hoist::cli::fleet::remove(&client, ns, &name, confirmed).await?
                }
            };
            print!("{text}");
        }
        Command::Usage {
            from,
            to,
            format,
            target,
        } => {
            let client = target.client().await?;
            print!(
                "{}",
                hoist::cli::fleet::usage(&client, from.as_deref(), to.as_deref(), format).await?
            );
        }
        Command::Retry {
            name,
            in_namespace,
            target,
        } => {
            let client = target.client().await?;
            let install = install_ref(name, in_namespace);
            let (text, _) = hoist::cli::status::retry(&client, &install).await?;
            print!("{text}");
        }
        Command::Upgrade {
            name,
            in_namespace,
            version,
            all,
            dry_run,
            target,
        } => {
            let client = target.client().await?;
            let Some(name) = name.filter(|_| !all) else {
                println!(
                    "{}",
                    hoist::cli::install::upgrade_all(
                        &client,
                        &target.namespace,
                        in_namespace.as_deref()
                    )
                    .await?
                );
                return Ok(());
            };
            let req = hoist::cli::install::UpgradeRequest {
                name,
                namespace: in_namespace,
                version,
            };
            if dry_run {
                print!(
                    "{}",
                    hoist::cli::install::preview_upgrade(&client, &target.namespace, &req).await?
                );
                return Ok(());
            }
            print!(
                "{}",
                hoist::cli::install::upgrade(&client, &target.namespace, &req).await?
            );
        }
        Command::Uninstall {
            name,
            in_namespace,
            force,
            target,
        } => {
            let req = hoist::cli::install::UninstallRequest {
                name,
                namespace: in_namespace,
                force,
            };
            let client = target.client().await?;
            print!(
                "{}",
                hoist::cli::install::uninstall(&client, &target.namespace, &req).await?
            );
        }
        Command::Repo {
            command,
            context,
            namespace,
        } => repo(command, Target { context, namespace }).await?,
        Command::Serve { serve, context } => serve_command(serve, context).await?,
        Command::Operator { operator, context } => operator_command(operator, context).await?,
        Command::Demo {
            serve,
            data_dir,
            api_latency,
            seed_packages,
        } => demo(serve, data_dir, api_latency, seed_packages).await?,
    }
    Ok(())
}

impl Target {
    async fn client(&self) -> anyhow::Result<kube::Client> {
        kube_client(self.context.clone()).await
    }
}

/// `hoist list [--installed]`.
async fn list(
    query: Option<String>,
    repository: Option<String>,
    scope: Option<String>,
    installed: bool,
    target: Target,
) -> anyhow::Result<()> {
    let client = target.client().await?;
    let out = if installed {
        hoist::cli::catalogue::installed(&client, &target.namespace, query.as_deref()).await?
    } else {
        let filter = hoist::cli::catalogue::Filter {
            query,
            repository,
            scope,
        };
        hoist::cli::catalogue::list(&client, &target.namespace, &filter).await?
    };
    print!("{out}");
    Ok(())
}

/// `hoist show PACKAGE`.
async fn show(
    package: String,
    version: Option<String>,
    repository: Option<String>,
    target: Target,
) -> anyhow::Result<()> {
    let client = target.client().await?;
    let out = hoist::cli::catalogue::show(
        &client,
        &target.namespace,
        &package,
        version.as_deref(),
        repository.as_deref(),
    )
    .await?;
    print!("{out}");
    Ok(())
}

/// `hoist repo add|list|update|remove|lint`.
async fn repo(command: RepoCommand, target: Target) -> anyhow::Result<()> {
    use hoist::cli::auth::{AuthFlags, auth_from_flags, read_secret};
    use hoist::cli::repo;
    // Credentials are read (and refused) before anything reaches the cluster.
    let from_env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
    let out = match command {
        RepoCommand::Add {
            name,
            url,
            default,
            token_file,
            token_secret,
            basic_secret,
            username,
            password_file,
        } => {
            let token = match token_file {
                Some(path) => Some(read_secret("token", &path)?),
                None if token_secret.is_none() && basic_secret.is_none() && username.is_none() => {
                    from_env("HOIST_REPO_TOKEN")
                }
                None => None,
            };
            let password = match password_file {
                Some(path) => Some(read_secret("password", &path)?),
                None if username.is_some() => from_env("HOIST_REPO_PASSWORD"),
                None => None,
            };
            let auth = auth_from_flags(AuthFlags {
                token,
                token_secret,
                basic_secret,
                username,
                password,
            })?;
            repo::add(&target.client().await?, &name, &url, default, auth).await?
        }
        RepoCommand::List => repo::list(&target.client().await?, &target.namespace).await?,
        RepoCommand::Update { name, url, default } => {
            repo::update(&target.client().await?, &name, url.as_deref(), default).await?
        }
        RepoCommand::Remove { name } => repo::remove(&target.client().await?, &name).await?,
        // Reads a repository, not the cluster: no client, no kubeconfig.
        RepoCommand::Lint {
            source,
            offline,
            output,
        } => return lint(&source, offline, output.as_deref()).await,
    };
    print!("{out}");
    if !out.ends_with('\n') {
        println!();
    }
    Ok(())
}

/// `hoist repo lint`: the findings on stdout; an error when any is an error (exit 1).
async fn lint(source: &str, offline: bool, output: Option<&str>) -> anyhow::Result<()> {
    use hoist::cli::lint;
    let opts = lint::LintOptions {
        offline,
        ..Default::default()
    };
    let findings = lint::lint(source, &opts).await?;
    if output == Some("json") {
        println!("{}", lint::json(&findings));
    } else {
        print!("{}", lint::human(&findings));
    }
    if lint::has_errors(&findings) {
        let errors = findings
            .iter()
            .filter(|f| f.severity == hoist_core::repo::lint::Severity::Error)
            .count();
        anyhow::bail!(
            "{source}: {errors} error{} found",
            if errors == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// `hoist serve`: until SIGTERM or Ctrl-C, then a drain of in-flight calls.
async fn serve_command(serve: ServeArgs, context: Option<String>) -> anyhow::Result<()> {
    let client = kube_client(context).await?;
    let running = hoist::serve::start(client, serve.options()?).await?;
    let signal = hoist::runtime::stop_signal()
        .await
        .context("cannot wait for a stop signal")?;
    tracing::info!(signal, "stopping: finishing calls in flight");
    running.shutdown().await;
    Ok(())
}

/// A ClusterPackage (no namespace) or a Package.
fn install_ref(name: String, namespace: Option<String>) -> hoist_core::install::InstallRef {
    hoist_core::install::InstallRef { namespace, name }
}

/// `hoist operator`: until SIGTERM or Ctrl-C (running passes finish, the Lease is
/// released), or until another replica takes the Lease (exit 1, to be restarted as a
/// standby).
async fn operator_command(args: OperatorArgs, context: Option<String>) -> anyhow::Result<()> {
    let client = kube_client(context).await?;
    let probes = tokio::net::TcpListener::bind(args.probes_listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.probes_listen))?;
    let fetch = hoist::repo::fetch::FetchOptions {
        ttl: args.repo_cache_ttl,
        disk: args.repo_cache_dir.clone(),
        allow_private_hosts: args.allow_private_manifest_hosts,
        ..Default::default()
    };
    let repositories = hoist::operator::watch_repositories(&client, fetch, &args.namespace);
    repositories.synced().await;
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let leader_elect = args.leader_elect.unwrap_or(in_cluster);
    if args.default_service_account.is_none() {
        tracing::warn!(
            "no --default-service-account: Packages without spec.serviceAccountName are written with the operator's own rights, so tenants are confined by Hoist's rules only, not by the API server (docs/SECURITY.md)"
        );
    }
    let opts = hoist::operator::OperatorOptions {
        concurrency: args.concurrency,
        default_service_account: args.default_service_account.clone(),
        ..Default::default()
    };
    let metrics_auth = match args.metrics_auth {
        MetricsAuthArg::Kubernetes => {
            hoist::operator::metrics_auth::MetricsAuth::kubernetes(client.clone())
        }
        MetricsAuthArg::None => {
            if !args.probes_listen.ip().is_loopback() {
                tracing::warn!(probes = %args.probes_listen, "--metrics-auth=none: anyone who reaches the probe port reads /metrics");
            }
            hoist::operator::metrics_auth::MetricsAuth::None
        }
    };
    let run = hoist::operator::RunOptions {
        leader_election: leader_elect.then(hoist::operator::lease::identity),
        namespace: args.namespace.clone(),
        lease_duration: hoist::operator::lease::LEASE_DURATION,
        probes: Some(probes),
        metrics_auth: Some(metrics_auth),
        drain: hoist::runtime::DEFAULT_DRAIN,
        metrics: std::sync::Arc::new(hoist::operator::metrics::Metrics::new()),
        fleet: Some(hoist::fleet::FleetOptions {
            relay: args
                .usage_sink
                .clone()
                .map(hoist::fleet::relay::RelayOptions::new),
            retention: args.usage_retention.0,
            ..Default::default()
        }),
    };
    tracing::info!(concurrency = args.concurrency, leader_elect, probes = %args.probes_listen, "operator starting");
    let stop = async {
        match hoist::runtime::stop_signal().await {
            Ok(signal) => tracing::info!(signal, "stopping: finishing running passes"),
            Err(e) => tracing::error!(error = %e, "cannot wait for a stop signal"),
        }
    };
    let exit = hoist::operator::run(client, repositories.clientset.clone(), opts, run, stop)
        .await
        .context("the operator failed")?;
    match exit {
        hoist::operator::Exit::Stopped => Ok(()),
        hoist::operator::Exit::LostLease => {
            anyhow::bail!("another replica took the Lease; stopping so that only one reconciles")
        }
    }
}

/// `hoist demo`: the embedded default, until SIGTERM or Ctrl-C.
async fn demo(
    serve: ServeArgs,
    data_dir: PathBuf,
    api_latency: Option<std::time::Duration>,
    seed_packages: usize,
) -> anyhow::Result<()> {
    let opts = hoist::demo::DemoOptions {
        data_dir,
        repo_disk_cache: !serve.no_repo_cache,
        serve: serve.options()?,
        api_latency,
        seed_packages,
    };
    let demo = hoist::demo::start(opts).await?;
    eprintln!("Hoist demo: open {} (Ctrl-C to stop)", demo.backend.url());
    eprintln!(
        "The demo cluster for kubectl and the CLI: export KUBECONFIG={}",
        demo.kubeconfig.display()
    );
    let signal = hoist::runtime::stop_signal()
        .await
        .context("cannot wait for a stop signal")?;
    tracing::info!(signal, "stopping: finishing passes and calls in flight");
    demo.shutdown().await;
    Ok(())
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
