//! `--state FILE`: the store survives a restart.
//!
//! Guarantees: the file is replaced atomically (written beside it, synced, renamed), so
//! a crash leaves the old or the new state, never half of one; a file that cannot be
//! parsed stops the start with [`StartError::CorruptState`] instead of an empty cluster.
//! Writes are coalesced: the writer saves after a burst of changes, and once more at
//! shutdown.

use crate::error::StartError;
use crate::resources::StoreKey;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Saved {
    format: u32,
    resource_version: u64,
    objects: Vec<SavedObject>,
}

#[derive(Serialize, Deserialize)]
struct SavedObject {
    group: String,
    plural: String,
    object: Value,
}

const FORMAT: u32 = 1;

/// A loaded state: the resourceVersion and every object with its kind.
pub type Loaded = (u64, Vec<(StoreKey, Value)>);

/// Loads a state file; `Ok(None)` when there is none yet.
pub fn load(path: &Path) -> Result<Option<Loaded>, StartError> {
    let shown = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StartError::ReadState {
                path: shown,
                source,
            });
        }
    };
    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| StartError::CorruptState {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    if saved.format != FORMAT {
        return Err(StartError::CorruptState {
            path: shown,
            reason: format!("unknown format {}", saved.format),
        });
    }
    let objects = saved
        .objects
        .into_iter()
        .map(|o| {
            (
                StoreKey {
                    group: o.group,
                    plural: o.plural,
                },
                o.object,
            )
        })
        .collect();
    Ok(Some((saved.resource_version, objects)))
}

/// Writes the store to `path` atomically.
pub fn save(store: &Store, path: &Path) -> std::io::Result<()> {
    let (rv, objects) = {
        let mut state = store.lock();
        state.take_dirty();
        (state.resource_version(), state.all_objects())
    };
    let saved = Saved {
        format: FORMAT,
        resource_version: rv,
        objects: objects
            .into_iter()
            .map(|(k, o)| SavedObject {
                group: k.group,
                plural: k.plural,
                object: (*o).clone(),
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&saved).map_err(std::io::Error::other)?;
    let tmp: PathBuf = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // The state holds Secrets: readable by its owner only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        // A file left by an older version may be wider: narrow it before writing.
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // The rename is durable only once the folder's entry is: sync the folder too.
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Saves after changes (at most every `every`) until shutdown, then once more.
pub async fn writer(store: Arc<crate::app::App>, path: PathBuf, every: Duration) {
    let mut shutdown = store.shutdown.clone();
    loop {
        tokio::select! {
            _ = store.store.changed.notified() => {}
            _ = shutdown.changed() => break,
        }
        tokio::time::sleep(every).await;
        let (s, p) = (store.clone(), path.clone());
        let saved = tokio::task::spawn_blocking(move || save(&s.store, &p)).await;
        if let Ok(Err(e)) | Err(e) = saved.map_err(std::io::Error::other) {
            tracing::error!(path = %path.display(), error = %e, "cannot save devcluster state");
        }
    }
    if let Err(e) = save(&store.store, &path) {
        tracing::error!(path = %path.display(), error = %e, "cannot save devcluster state at shutdown");
    }
}
