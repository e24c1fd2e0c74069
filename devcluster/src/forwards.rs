//! Where a forwarded pod port's bytes go. devcluster runs no containers, so each port
//! is forwarded to a target address given for it, as kwok's `PortForward` resource
//! gives one: per image at start ([`Forward`], [`crate::Options::forwards`]), or per pod
//! with the [`FORWARD_ANNOTATION`] annotation.
//!
//! # Guarantees
//! - A target is a loopback address (127.0.0.0/8 or `::1`) or it is refused
//!   ([`TargetError::NotLoopback`]) and never connected to: whoever may create a pod
//!   writes its annotations, and must not make devcluster connect elsewhere.
//! - The pod's annotation wins over the forwards given at start; within each, the entry
//!   for the port wins over the one for every port; among forwards, the first that
//!   matches.

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The pod annotation naming its targets: `ADDR` (every port) or
/// `PORT=ADDR[,PORT=ADDR...]` (the ports named; one bare `ADDR` among them is the
/// target of every other port), e.g. `127.0.0.1:9000` or
/// `80=127.0.0.1:9000,443=[::1]:9443`. Pods made for a workload carry their
/// template's annotations, so it may be set on the template.
pub const FORWARD_ANNOTATION: &str = "devcluster.hoist.dev/forward";

/// A forward given at start: a pod port of a container running `image` goes to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// A container image, as the pod spec names it (`nginx:1.27-alpine`), compared
    /// exactly.
    pub image: String,
    /// The pod port; `None`: every port.
    pub port: Option<u16>,
    /// Where the bytes go; a loopback address.
    pub to: SocketAddr,
}

impl Forward {
    /// Refuses a target that is not loopback (see the module's guarantees).
    pub fn check(&self) -> Result<(), TargetError> {
        check_loopback(self.to)
    }
}

/// Why a port has no usable target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "no forward target: devcluster has no containers; configure one for {images} (Options::forwards, devcluster serve --forward) or annotate the pod {FORWARD_ANNOTATION}"
    )]
    NoTarget {
        /// `image nginx:1.27-alpine`, `images a or b`, `the pod's image`.
        images: String,
    },
    #[error(
        "the target {addr} is not a loopback address; devcluster forwards only to 127.0.0.0/8 and ::1"
    )]
    NotLoopback { addr: SocketAddr },
    #[error("bad {FORWARD_ANNOTATION} annotation {value:?}: {reason}")]
    BadAnnotation { value: String, reason: String },
}

/// A parsed [`FORWARD_ANNOTATION`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// The target of every port not named.
    pub every: Option<SocketAddr>,
    /// The targets of named ports.
    pub ports: BTreeMap<u16, SocketAddr>,
}

/// Parses a [`FORWARD_ANNOTATION`] value (loopback is checked when a port is
/// forwarded, not here).
pub fn parse_annotation(value: &str) -> Result<Targets, TargetError> {
    let bad = |reason: String| TargetError::BadAnnotation {
        value: value.to_string(),
        reason,
    };
    let addr = |text: &str| {
        text.trim().parse::<SocketAddr>().map_err(|_| {
            bad(format!(
                "{:?} is not an address (IP:PORT or [IPv6]:PORT)",
                text.trim()
            ))
        })
    };
    let mut targets = Targets::default();
    for entry in value.split(',').map(str::trim) {
        if entry.is_empty() {
            return Err(bad("an entry is empty".into()));
        }
        match entry.split_once('=') {
            None => {
                if targets.every.replace(addr(entry)?).is_some() {
                    return Err(bad("more than one target for every port".into()));
                }
            }
            Some((port, to)) => {
                let port = match port.trim().parse::<u16>() {
                    Ok(p) if p > 0 => p,
                    _ => return Err(bad(format!("{:?} is not a port", port.trim()))),
                };
                if targets.ports.insert(port, addr(to)?).is_some() {
                    return Err(bad(format!("port {port} is named more than once")));
                }
            }
        }
    }
    Ok(targets)
}

fn check_loopback(addr: SocketAddr) -> Result<(), TargetError> {
    if addr.ip().to_canonical().is_loopback() {
        Ok(())
    } else {
        Err(TargetError::NotLoopback { addr })
    }
}

/// The images of `pod`'s containers.
fn images(pod: &Value) -> Vec<&str> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("image").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Where `pod`'s `port` goes: its annotation, else the first of `forwards` for one of
/// its containers' images; checked to be loopback.
pub fn resolve(pod: &Value, port: u16, forwards: &[Forward]) -> Result<SocketAddr, TargetError> {
    let annotated = pod
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(FORWARD_ANNOTATION))
        .and_then(Value::as_str);
    if let Some(value) = annotated {
        let targets = parse_annotation(value)?;
        if let Some(to) = targets.ports.get(&port).copied().or(targets.every) {
            check_loopback(to)?;
            return Ok(to);
        }
    }
    let images = images(pod);
    let matching = |f: &&Forward| images.contains(&f.image.as_str());
    let found = forwards
        .iter()
        .filter(matching)
        .find(|f| f.port == Some(port))
        .or_else(|| forwards.iter().filter(matching).find(|f| f.port.is_none()));
    if let Some(f) = found {
        check_loopback(f.to)?;
        return Ok(f.to);
    }
    Err(TargetError::NoTarget {
        images: match images.as_slice() {
            [] => "the pod's image".into(),
            [one] => format!("image {one}"),
            many => format!("images {}", many.join(" or ")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("an address")
    }

    fn pod(annotation: Option<&str>) -> Value {
        let mut p = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "image": "nginx:1.27-alpine"}, {"name": "b", "image": "redis:7"}]}});
        if let Some(a) = annotation {
            p["metadata"]["annotations"] = json!({FORWARD_ANNOTATION: a});
        }
        p
    }

    #[test]
    fn the_annotation_names_every_port_or_some() {
        assert_eq!(
            parse_annotation("127.0.0.1:9000"),
            Ok(Targets {
                every: Some(addr("127.0.0.1:9000")),
                ports: BTreeMap::new()
            })
        );
        let t = parse_annotation("80=127.0.0.1:9000, 443=[::1]:9443,127.0.0.2:1").expect("ok");
        assert_eq!(t.ports[&80], addr("127.0.0.1:9000"));
        assert_eq!(t.ports[&443], addr("[::1]:9443"));
        assert_eq!(t.every, Some(addr("127.0.0.2:1")));
        for (bad, says) in [
            ("", "empty"),
            ("localhost:80", "not an address"),
            ("0=127.0.0.1:1", "not a port"),
            ("x=127.0.0.1:1", "not a port"),
            ("80=127.0.0.1:1,80=127.0.0.1:2", "more than once"),
            ("127.0.0.1:1,127.0.0.1:2", "more than one target"),
        ] {
            let e = parse_annotation(bad).expect_err(bad).to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn the_pod_wins_then_the_port_then_any_port_and_only_loopback() {
        let forwards = vec![
            Forward {
                image: "redis:7".into(),
                port: None,
                to: addr("127.0.0.1:7000"),
            },
            Forward {
                image: "nginx:1.27-alpine".into(),
                port: Some(80),
                to: addr("127.0.0.1:8000"),
            },
        ];
        assert_eq!(
            resolve(&pod(None), 80, &forwards),
            Ok(addr("127.0.0.1:8000"))
        );
        assert_eq!(
            resolve(&pod(None), 81, &forwards),
            Ok(addr("127.0.0.1:7000"))
        );
        assert_eq!(
            resolve(&pod(Some("80=127.0.0.1:1")), 80, &forwards),
            Ok(addr("127.0.0.1:1"))
        );
        assert_eq!(
            resolve(&pod(Some("80=127.0.0.1:1")), 81, &forwards),
            Ok(addr("127.0.0.1:7000")),
            "an annotation that does not name the port leaves it to the forwards"
        );
        assert_eq!(
            resolve(&pod(Some("10.0.0.1:80")), 80, &forwards),
            Err(TargetError::NotLoopback {
                addr: addr("10.0.0.1:80")
            })
        );
        assert!(resolve(&pod(Some("0.0.0.0:80")), 80, &[]).is_err());
        assert_eq!(
            resolve(&pod(Some("[::ffff:127.0.0.1]:80")), 80, &[]),
            Ok(addr("[::ffff:127.0.0.1]:80"))
        );
        let none = resolve(&pod(None), 80, &[]).expect_err("none").to_string();
        assert!(
            none.contains("no forward target")
                && none.contains("images nginx:1.27-alpine or redis:7")
                && none.contains(FORWARD_ANNOTATION),
            "{none}"
        );
        let bad_forward = Forward {
            image: "x".into(),
            port: None,
            to: addr("192.0.2.1:80"),
        };
        assert!(bad_forward.check().is_err());
    }
}
