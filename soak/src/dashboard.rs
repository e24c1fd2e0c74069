//! A dashboard subscriber speaking gRPC-web as the browser does (a `Watch` POST through
//! `tonic-web`, frames read as they arrive), keeping the view a page would show.
//!
//! Guarantees: the subscriber reconnects with its instance and last revision (as the
//! web app does), with exponential backoff from 100 ms to 2 s; it records, never
//! panics on, what the server sends wrong: a revision going backwards within one
//! server instance, a frame it cannot decode. A stream silent for longer than
//! [`SILENCE`] (heartbeats stopped) is dropped and reconnected.

use hoist_proto::v1::{WatchEvent, WatchRequest, package_change, watch_event};
use prost::Message;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// No byte for this long: the stream is dead.
const SILENCE: Duration = Duration::from_secs(30);

/// What the subscriber shows of one install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub resource_version: String,
    pub state: String,
    pub version: String,
    pub installed_version: String,
}

#[derive(Debug, Default, Clone)]
pub struct View {
    pub instance: String,
    pub revision: u64,
    pub packages: BTreeMap<String, Shown>,
    /// Each time a revision went backwards within one instance: what and where.
    pub backwards: Vec<String>,
    pub undecodable: u64,
    pub connects: u64,
    pub snapshots: u64,
    pub changes: u64,
    /// Snapshots received on a reconnect to the same instance (the resume was refused).
    pub resumed_with_snapshot: u64,
}

/// The key both the view and the LIST use: `namespace/name`, or `name` for a cluster one.
pub fn key(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

fn shown(p: &hoist_proto::v1::Package) -> Option<(String, Shown)> {
    let k = p.key.as_ref()?;
    Some((
        key(&k.namespace, &k.name),
        Shown {
            resource_version: p.resource_version.clone(),
            state: p.state.clone(),
            version: p.version.clone(),
            installed_version: p.installed_version.clone(),
        },
    ))
}

/// Starts subscribing to `base` (`http://127.0.0.1:PORT`); the view fills as events come.
pub fn subscribe(base: String) -> Arc<Mutex<View>> {
    let view = Arc::new(Mutex::new(View::default()));
    let shared = view.clone();
    tokio::spawn(async move {
        let http = match reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("soak: no HTTP client for the subscriber: {e}");
                return;
            }
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            let progressed = stream_once(&http, &base, &shared).await;
            if progressed {
                backoff = Duration::from_millis(100);
            } else {
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            tokio::time::sleep(backoff).await;
        }
    });
    view
}

fn lock(view: &Mutex<View>) -> std::sync::MutexGuard<'_, View> {
    view.lock().unwrap_or_else(|p| p.into_inner())
}

/// One stream, until it ends; whether it delivered anything.
async fn stream_once(http: &reqwest::Client, base: &str, view: &Mutex<View>) -> bool {
    let request = {
        let v = lock(view);
        WatchRequest {
            instance_id: v.instance.clone(),
            resume_from: v.revision,
        }
    };
    let payload = request.encode_to_vec();
    let mut body = Vec::with_capacity(payload.len() + 5);
    body.push(0u8);
    body.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    body.extend_from_slice(&payload);
    let sent = http
        .post(format!("{base}/hoist.v1.Dashboard/Watch"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(body)
        .send();
    let Ok(Ok(mut response)) = tokio::time::timeout(Duration::from_secs(10), sent).await else {
        return false;
    };
    if !response.status().is_success() {
        return false;
    }
    lock(view).connects += 1;
    let mut buf: Vec<u8> = Vec::new();
    let mut progressed = false;
    loop {
        let chunk = match tokio::time::timeout(SILENCE, response.chunk()).await {
            Ok(Ok(Some(c))) => c,
            _ => return progressed,
        };
        buf.extend_from_slice(&chunk);
        while buf.len() >= 5 {
            let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
            if buf.len() < 5 + len {
                break;
            }
            let flag = buf[0];
            let frame: Vec<u8> = buf.drain(..5 + len).skip(5).collect();
            if flag & 0x80 != 0 {
                // Trailers: the stream is over.
                return progressed;
            }
            match WatchEvent::decode(frame.as_slice()) {
                Ok(event) => {
                    progressed = true;
                    apply(&mut lock(view), event);
                }
                Err(_) => lock(view).undecodable += 1,
            }
        }
    }
}

fn apply(v: &mut View, event: WatchEvent) {
    match event.event {
        Some(watch_event::Event::Snapshot(s)) => {
            if s.instance_id == v.instance && v.connects > 1 {
                v.resumed_with_snapshot += 1;
            }
            if s.instance_id == v.instance && s.revision < v.revision {
                v.backwards.push(format!(
                    "snapshot at revision {} after {} on instance {}",
                    s.revision, v.revision, s.instance_id
                ));
            }
            v.instance = s.instance_id;
            v.revision = s.revision;
            v.packages = s.packages.iter().filter_map(shown).collect();
            v.snapshots += 1;
        }
        Some(watch_event::Event::Change(c)) => {
            if c.revision <= v.revision {
                v.backwards.push(format!(
                    "change at revision {} after {} on instance {}",
                    c.revision, v.revision, v.instance
                ));
            }
            v.revision = v.revision.max(c.revision);
            v.changes += 1;
            match c.change {
                Some(package_change::Change::Upsert(p)) => {
                    if let Some((k, s)) = shown(&p) {
                        v.packages.insert(k, s);
                    }
                }
                Some(package_change::Change::Delete(k)) => {
                    v.packages.remove(&key(&k.namespace, &k.name));
                }
                None => {}
            }
        }
        Some(watch_event::Event::Heartbeat(h)) if h.revision < v.revision => {
            v.backwards.push(format!(
                "heartbeat at revision {} after {} on instance {}",
                h.revision, v.revision, v.instance
            ));
        }
        Some(watch_event::Event::Status(s))
            if !v.instance.is_empty() && s.instance_id == v.instance && s.revision < v.revision =>
        {
            v.backwards.push(format!(
                "status at revision {} after {} on instance {}",
                s.revision, v.revision, v.instance
            ));
        }
        _ => {}
    }
}

pub fn snapshot(view: &Mutex<View>) -> View {
    lock(view).clone()
}
