//! The on-disk cache: repository files kept across restarts, in a folder Hoist owns.
//!
//! # Guarantees
//! - Everything is written under [`disk_dir`], one file per URL, atomically (a temporary
//!   file renamed over the old one); a failed write is logged, never fatal.
//! - [`clear_disk`] removes only names this module makes: a foreign file, even a
//!   `*.json` one, beside the folder or in it, survives.
//! - An entry is trusted only for the URL it records and only if it still parses.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The folder Hoist owns inside the on-disk cache directory a user names: everything
/// Hoist writes goes there, so a directory shared with other files (`.`, `~/.config`)
/// is never cleared wholesale. Versioned, so a change of the file format starts afresh.
pub const DISK_FOLDER: &str = "hoist-repository-cache-v1";

/// Where the files of an on-disk cache under `dir` live.
pub fn disk_dir(dir: &Path) -> PathBuf {
    dir.join(DISK_FOLDER)
}

/// One file of the on-disk cache.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct DiskEntry {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub fetched_unix_ms: u64,
    pub validated_unix_ms: u64,
    pub body: String,
}

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The `Instant` that was `unix_then_ms` on the wall clock (now, if that is ahead).
pub fn instant_ago(unix_then_ms: u64) -> Instant {
    let now = Instant::now();
    now.checked_sub(Duration::from_millis(
        unix_ms().saturating_sub(unix_then_ms),
    ))
    .unwrap_or(now)
}

/// The entry for `url` under `dir`, if there is a readable one for that URL.
pub async fn load(dir: &Path, url: &str) -> Option<DiskEntry> {
    let path = disk_dir(dir).join(disk_name(url));
    let text = tokio::fs::read(&path).await.ok()?;
    serde_json::from_slice(&text)
        .ok()
        .filter(|e: &DiskEntry| e.url == url)
}

/// Writes `entry` under `dir`, atomically; failures are logged, never fatal.
pub async fn save(dir: &Path, entry: &DiskEntry) {
    let folder = disk_dir(dir);
    let path = folder.join(disk_name(&entry.url));
    let tmp = path.with_extension("tmp");
    let write = async {
        tokio::fs::create_dir_all(&folder).await?;
        tokio::fs::write(
            &tmp,
            serde_json::to_vec(entry).map_err(std::io::Error::other)?,
        )
        .await?;
        tokio::fs::rename(&tmp, &path).await
    };
    if let Err(e) = write.await {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the on-disk cache");
    }
}

/// Removes `url`'s entry under `dir`, if there is one (the repository said `no-store`).
pub async fn remove(dir: &Path, url: &str) {
    let _ = tokio::fs::remove_file(disk_dir(dir).join(disk_name(url))).await;
}

/// Removes the files this module wrote in the on-disk cache under `dir` (names
/// `disk_name` makes, and their temporary files), and nothing else. Returns how many
/// were removed; a missing dir is empty.
pub fn clear_disk(dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(disk_dir(dir)) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if entry.file_type()?.is_file() && name.to_str().is_some_and(is_disk_name) {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether `name` is one [`disk_name`] made (or its temporary file).
fn is_disk_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".json")
        .or_else(|| name.strip_suffix(".tmp"))
    else {
        return false;
    };
    stem.rsplit_once('-').is_some_and(|(readable, hash)| {
        !readable.is_empty()
            && hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A file name for `url`: readable, bounded, and unique (FNV-1a of the whole URL).
fn disk_name(url: &str) -> String {
    let readable: String = url
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{readable}-{hash:016x}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_this_module_makes_count_as_its_files() {
        let ours = disk_name("https://repo.example/index.yaml");
        assert!(is_disk_name(&ours), "{ours}");
        assert!(is_disk_name(&ours.replace(".json", ".tmp")));
        for foreign in [
            "settings.json",
            "package-lock.json",
            "x-0123456789abcdeg.json",
            "-0123456789abcdef.json",
            "x-0123456789abcdef.yaml",
        ] {
            assert!(!is_disk_name(foreign), "{foreign}");
        }
    }

    #[test]
    fn a_clear_removes_only_its_own_files_in_its_own_folder() {
        let dir = tempfile::tempdir().expect("dir");
        let ours = disk_dir(dir.path());
        std::fs::create_dir_all(&ours).expect("folder");
        std::fs::write(ours.join(disk_name("https://r.example/index.yaml")), "{}").expect("w");
        std::fs::write(ours.join("notes.json"), "{}").expect("w");
        std::fs::write(dir.path().join("settings.json"), "{}").expect("w");
        assert_eq!(clear_disk(dir.path()).expect("cleared"), 1);
        assert!(ours.join("notes.json").exists());
        assert!(dir.path().join("settings.json").exists());
        assert_eq!(clear_disk(&dir.path().join("missing")).expect("empty"), 0);
    }
}
