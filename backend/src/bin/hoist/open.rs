//! `hoist open`.

use crate::args::Open;
use hoist::forward::ForwardEvent;

/// `hoist open NAME [ENTRYPOINT] [-n NS] [--port P] [--no-browser]`: forwards until
/// Ctrl-C, printing where connections go and what fails.
pub async fn run(args: Open) -> anyhow::Result<()> {
    let Open {
        name,
        entrypoint,
        in_namespace,
        port,
        no_browser,
        target,
    } = args;
    let client = target.client().await?;
    let at = crate::status::install_ref(name, in_namespace);
    let (events, mut received) = tokio::sync::mpsc::channel(256);
    let opened = hoist::cli::open::open(
        &client,
        &target.namespace,
        &at,
        entrypoint.as_deref(),
        port,
        events,
    )
    .await?;
    for o in &opened {
        if let Some(note) = &o.note {
            eprintln!("note: {note}");
        }
        println!("{}", o.line());
    }
    println!("Forwarding until Ctrl-C.");
    if !no_browser {
        for o in &opened {
            if let Err(e) = start_browser(&o.forward.url()) {
                eprintln!(
                    "could not start a browser ({e}): open {} yourself",
                    o.forward.url()
                );
            }
        }
    }
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            e = received.recv() => match e {
                Some((entry, ForwardEvent::Pod { name, port })) => {
                    println!("{entry}: forwarding to pod {name} port {port}");
                }
                Some((entry, ForwardEvent::Failed(why))) => eprintln!("{entry}: {why}"),
                None => break,
            },
        }
    }
    for o in opened {
        o.forward.stop().await;
    }
    Ok(())
}

/// The user's browser on `url` (always `http(s)://localhost:PORT/`, made here): `$BROWSER`
/// when set, else the platform's opener. No shell is involved.
fn start_browser(url: &str) -> std::io::Result<()> {
    let (program, args): (String, Vec<&str>) = match std::env::var("BROWSER") {
        Ok(b) if !b.trim().is_empty() => (b, vec![url]),
        _ if cfg!(target_os = "macos") => ("open".into(), vec![url]),
        _ if cfg!(windows) => ("explorer".into(), vec![url]),
        _ => ("xdg-open".into(), vec![url]),
    };
    std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
}
