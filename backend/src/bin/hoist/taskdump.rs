//! A developer's diagnostic, off in every normal build: built with
//! `RUSTFLAGS="--cfg tokio_unstable --cfg tokio_taskdump"` and `--features tokio/taskdump`
//! (Linux), SIGUSR1 makes `hoist` write a trace of every live task to
//! `$TMPDIR/hoist-tasks-<pid>.txt`. Two dumps minutes apart, grouped by their frames,
//! show which kind of task a growing `hoist_runtime_alive_tasks` is made of: how the
//! soak's task growth was traced to hyper's connection pool (decision 0030, defect 5).

/// Starts the SIGUSR1 handler (a no-op without the cfgs above).
#[cfg(all(tokio_unstable, tokio_taskdump))]
pub fn install() {
    tokio::spawn(async {
        let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        else {
            return;
        };
        while sig.recv().await.is_some() {
            let dump = tokio::runtime::Handle::current().dump().await;
            let mut out = String::new();
            for (i, task) in dump.tasks().iter().enumerate() {
                out.push_str(&format!("TASK {i}:\n{}\n\n", task.trace()));
            }
            let path = std::env::temp_dir().join(format!("hoist-tasks-{}.txt", std::process::id()));
            if let Err(e) = std::fs::write(&path, out) {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the task dump");
            }
        }
    });
}

/// Starts the SIGUSR1 handler (a no-op without the cfgs above).
#[cfg(not(all(tokio_unstable, tokio_taskdump)))]
pub fn install() {}
