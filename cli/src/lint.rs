//! `hoist repo lint PATH|URL [--offline] [-o json]`: walks a repository (a directory or
//! an http(s) URL), reads `index.yaml`, every package's `versions.yaml`, every listed
//! version's `package.yaml` and the manifests they name, and hands them to the rules in
//! [`hoist_core::lint`]. No cluster, no kubeconfig.
//!
//! # Guarantees
//! - **Bounded**: every file is read within [`MAX_FILE_BYTES`] (a larger one is a
//!   finding, not an allocation); HTTP requests have a connect and a total timeout,
//!   follow at most five redirects and never from https to anything else.
//! - **Confined**: in a directory, nothing outside the root is read: names and
//!   versions that are not plain path segments are not walked, a relative manifest
//!   that resolves outside the root is an error, a `file:` URL is never read, and a
//!   symbolic link out of the root is refused. Over HTTP, relative manifests are
//!   fetched where Glasskube fetches them (RFC 3986 against the package.yaml's URL).
//! - **`--offline`** fetches nothing outside the repository: absolute manifest URLs are
//!   noted as not checked.
//! - A file that cannot be read or parsed is a finding on that file; only a source that
//!   is neither a directory nor an http(s) URL is an [`LintError`].

use futures::StreamExt;
use hoist_core::lint::{
    self, Finding, Location, ManifestFile, PackageFiles, Release, Repository, Severity,
};
use hoist_core::repo::format::{
    Documents, Index, MAX_FILE_BYTES, PackageManifest, RepoFile, Versions,
};
use hoist_core::repo::links::shown_url;
use reqwest::Url;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("{given:?} is neither a directory nor an http(s) URL: {reason}")]
    Source { given: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// How `hoist repo lint` fetches.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Fetch nothing outside the repository (absolute manifest URLs are not checked).
    pub offline: bool,
    pub connect_timeout: Duration,
    /// For each request, whole.
    pub timeout: Duration,
    /// The most bytes a file may have.
    pub max_bytes: usize,
}

impl Default for LintOptions {
    fn default() -> Self {
        Self {
            offline: false,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            max_bytes: MAX_FILE_BYTES,
        }
    }
}

/// Files fetched at once, per level (packages, then each package's versions).
const CONCURRENCY: usize = 4;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// Lints the repository at `source` (a directory, or an http(s) URL where `index.yaml`
/// is).
pub async fn lint(source: &str, opts: &LintOptions) -> Result<Vec<Finding>, LintError> {
    let walker = Walker::new(source, opts).await?;
    let repo = walker.walk().await;
    Ok(lint::lint(&repo))
}

/// Whether any finding is an error (`hoist repo lint` exits 1).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// The findings as a JSON array.
pub fn json(findings: &[Finding]) -> String {
    // Findings are strings and enums: serializing cannot fail.
    serde_json::to_string_pretty(findings).unwrap_or_else(|_| "[]".into())
}

/// The findings for people: errors, then warnings, then notes, each grouped per file
/// (in the order files were checked), and a summary line `N errors, M warnings`.
pub fn human(findings: &[Finding]) -> String {
    let mut out = String::new();
    for severity in [Severity::Error, Severity::Warning, Severity::Note] {
        let these: Vec<&Finding> = findings.iter().filter(|f| f.severity == severity).collect();
        let mut files: Vec<&str> = Vec::new();
        for f in &these {
            if !files.contains(&f.file.as_str()) {
                files.push(&f.file);
            }
        }
        for file in files {
            let mut header = file.to_string();
            if let Some(first) = these.iter().find(|f| f.file == file)
                && let Some(package) = &first.package
                && !file.starts_with(&format!("{package}/"))
            {
                header.push_str(&format!(" ({package}"));
                if let Some(v) = &first.version {
                    header.push_str(&format!(" {v}"));
                }
                header.push(')');
            }
            out.push_str(&header);
            out.push('\n');
            for f in these.iter().filter(|f| f.file == file) {
                out.push_str(&format!("  {severity}: "));
                if let Some(field) = &f.field {
                    out.push_str(&format!("{field}: "));
                }
                out.push_str(&f.message);
                out.push('\n');
            }
        }
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    out.push_str(&format!(
        "{}, {}",
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning")
    ));
    let notes = count(Severity::Note);
    if notes > 0 {
        out.push_str(&format!(", {}", plural(notes, "note")));
    }
    out.push('\n');
    out
}

/// Where the repository is.
enum Root {
    /// A directory (canonical), read through the file system.
    Dir(PathBuf),
    /// An http(s) URL.
    Http,
}

struct Walker {
    root: Root,
    /// The root as a URL ending in `/`: manifests resolve against it.
    root_url: Url,
    http: reqwest::Client,
    opts: LintOptions,
}

impl Walker {
    async fn new(source: &str, opts: &LintOptions) -> Result<Self, LintError> {
        let bad = |reason: String| LintError::Source {
            given: source.into(),
            reason,
        };
        let (root, root_url) = if source.starts_with("http://") || source.starts_with("https://") {
            let mut url = Url::parse(source).map_err(|e| bad(e.to_string()))?;
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            (Root::Http, url)
        } else {
            let dir = tokio::fs::canonicalize(source)
                .await
                .map_err(|e| bad(e.to_string()))?;
            if !tokio::fs::metadata(&dir)
                .await
                .map_err(|e| bad(e.to_string()))?
                .is_dir()
            {
                return Err(bad("not a directory".into()));
            }
            let url = Url::from_directory_path(&dir)
                .map_err(|()| bad("the path cannot be made a URL".into()))?;
            (Root::Dir(dir), url)
        };
        let http = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.timeout)
            .redirect(redirect_policy())
            .user_agent(concat!("hoist/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LintError::Client(e.to_string()))?;
        Ok(Self {
            root,
            root_url,
            http,
            opts: opts.clone(),
        })
    }

    async fn walk(&self) -> Repository {
        let index = self
            .fetch::<Index>(lint::INDEX_FILE, &self.url_of(&[lint::INDEX_FILE]))
            .await;
        let mut names = BTreeSet::new();
        if let Ok(i) = &index {
            names.extend(
                i.packages
                    .iter()
                    .map(|e| e.name.clone())
                    .filter(|n| lint::safe_segment(n)),
            );
        }
        let packages = futures::stream::iter(names)
            .map(|name| async move {
                let files = self.package(&name).await;
                (name, files)
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<BTreeMap<String, PackageFiles>>()
            .await;
        Repository { index, packages }
    }

    async fn package(&self, name: &str) -> PackageFiles {
        let versions = self
            .fetch::<Versions>(
                &lint::versions_file(name),
                &self.url_of(&[name, "versions.yaml"]),
            )
            .await;
        let mut listed = BTreeSet::new();
        if let Ok(v) = &versions {
            listed.extend(
                v.versions
                    .iter()
                    .map(|v| v.version.clone())
                    .filter(|v| lint::safe_segment(v)),
            );
        }
        let releases = futures::stream::iter(listed)
            .map(|version| async move {
                let release = self.release(name, &version).await;
                (version, release)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        PackageFiles { versions, releases }
    }

    async fn release(&self, name: &str, version: &str) -> Result<Release, String> {
        let url = self.url_of(&[name, version, "package.yaml"]);
        let manifest = self
            .fetch::<PackageManifest>(&lint::package_file(name, version), &url)
            .await?;
        let mut manifests = Vec::with_capacity(manifest.manifests.len());
        for entry in &manifest.manifests {
            manifests.push(self.manifest(&url, &entry.url).await);
        }
        Ok(Release {
            manifest,
            manifests,
        })
    }

    /// One `manifests[].url` of the package.yaml at `package_yaml`.
    async fn manifest(&self, package_yaml: &Url, written: &str) -> ManifestFile {
        match lint::locate(package_yaml, &self.root_url, written) {
            Location::Invalid(why) => ManifestFile::Unavailable {
                reason: format!("{written:?} is not a URL: {why}"),
            },
            Location::Inside { url, path } => self.documents(path, &url).await,
            Location::Outside { url } => match &self.root {
                Root::Dir(_) => ManifestFile::Unavailable {
                    reason: format!(
                        "{written} leaves the repository: it resolves outside the repository's folder, and is not read"
                    ),
                },
                Root::Http => self.documents(shown_url(url.as_str()), &url).await,
            },
            Location::Absolute { url } => {
                let shown = shown_url(url.as_str());
                if !matches!(url.scheme(), "http" | "https") {
                    ManifestFile::Unavailable {
                        reason: format!(
                            "{shown}: only http(s) URLs and paths relative to package.yaml are fetched"
                        ),
                    }
                } else if self.opts.offline {
                    ManifestFile::NotChecked {
                        reason: format!("{shown} is outside the repository and --offline is set"),
                    }
                } else {
                    self.documents(shown, &url).await
                }
            }
        }
    }

    async fn documents(&self, file: String, url: &Url) -> ManifestFile {
        match self.read(url).await {
            Err(why) => ManifestFile::Unavailable {
                reason: format!("cannot read {file}: {why}"),
            },
            Ok(bytes) => match Documents::parse(&file, &bytes) {
                Ok(documents) => ManifestFile::Read { file, documents },
                Err(e) => ManifestFile::Malformed {
                    file,
                    reason: e.reason,
                },
            },
        }
    }

    /// The root's URL with `segments` appended (each percent-encoded as one segment).
    fn url_of(&self, segments: &[&str]) -> Url {
        let mut url = self.root_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Reads and parses one repository file.
    async fn fetch<T: RepoFile>(&self, file: &str, url: &Url) -> Result<T, String> {
        let bytes = self
            .read(url)
            .await
            .map_err(|why| format!("cannot read: {why}"))?;
        T::parse(file, &bytes).map_err(|e| format!("does not parse: {}", e.reason))
    }

    async fn read(&self, url: &Url) -> Result<Vec<u8>, String> {
        match url.scheme() {
            "file" => self.read_file(url).await,
            "http" | "https" => self.get(url).await,
            other => Err(format!("{other}: URLs are not fetched")),
        }
    }

    /// A file under the root directory, within the size limit.
    async fn read_file(&self, url: &Url) -> Result<Vec<u8>, String> {
        use tokio::io::AsyncReadExt;
        let Root::Dir(root) = &self.root else {
            return Err("a file: URL is never read".into());
        };
        let path = url
            .to_file_path()
            .map_err(|()| "not a file path".to_string())?;
        let real = tokio::fs::canonicalize(&path)
            .await
            .map_err(|e| e.to_string())?;
        if !real.starts_with(root) {
            return Err("it leaves the repository's folder (through a symbolic link)".into());
        }
        let file = tokio::fs::File::open(&real)
            .await
            .map_err(|e| e.to_string())?;
        let limit = self.opts.max_bytes;
        let mut bytes = Vec::new();
        file.take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| e.to_string())?;
        if bytes.len() > limit {
            return Err(format!("larger than the {limit}-byte limit"));
        }
        Ok(bytes)
    }

    /// One GET, within the size limit and the timeouts.
    async fn get(&self, url: &Url) -> Result<Vec<u8>, String> {
        let limit = self.opts.max_bytes;
        let describe = |e: reqwest::Error| {
            if e.is_timeout() {
                format!("no answer within {} s", self.opts.timeout.as_secs())
            } else {
                causes(&e.without_url())
            }
        };
        let mut resp = self.http.get(url.clone()).send().await.map_err(describe)?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status().as_u16()));
        }
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(format!("larger than the {limit}-byte limit"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > limit {
                return Err(format!("larger than the {limit}-byte limit"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// `e` and its causes, `: `-joined (reqwest's own text is only "error sending
/// request"; the cause says DNS, TLS, refused, or which redirect was refused).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// At most [`MAX_REDIRECTS`], and never from https to anything else.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt
            .previous()
            .first()
            .is_some_and(|u| u.scheme() == "https")
            && attempt.url().scheme() != "https";
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if downgrade {
            attempt.error("a redirect from https to plain http")
        } else {
            attempt.follow()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity, file: &str, field: Option<&str>, message: &str) -> Finding {
        Finding {
            severity,
            file: file.into(),
            package: Some("web".into()),
            version: Some("v1.0.0+1".into()),
            field: field.map(str::to_string),
            message: message.into(),
        }
    }

    #[test]
    fn human_output_puts_errors_first_grouped_per_file_then_warnings_and_a_summary() {
        let findings = vec![
            finding(
                Severity::Warning,
                "web/versions.yaml",
                Some("latestVersion"),
                "behind",
            ),
            finding(
                Severity::Error,
                "web/v1.0.0+1/package.yaml",
                Some("name"),
                "bad",
            ),
            finding(
                Severity::Note,
                "web/v1.0.0+1/package.yaml",
                None,
                "not checked",
            ),
            finding(
                Severity::Error,
                "https://x.example/m.yaml",
                None,
                "unparsable",
            ),
            finding(
                Severity::Error,
                "web/v1.0.0+1/package.yaml",
                Some("scope"),
                "odd",
            ),
        ];
        let text = human(&findings);
        assert_eq!(
            text,
            "web/v1.0.0+1/package.yaml\n  error: name: bad\n  error: scope: odd\n\
             https://x.example/m.yaml (web v1.0.0+1)\n  error: unparsable\n\
             web/versions.yaml\n  warning: latestVersion: behind\n\
             web/v1.0.0+1/package.yaml\n  note: not checked\n\
             3 errors, 1 warning, 1 note\n"
        );
        assert!(has_errors(&findings));
        assert_eq!(human(&[]), "0 errors, 0 warnings\n");
    }
}
