//! Events, as the API server serves them: one store, two views. An Event written as
//! `events.k8s.io/v1` (kube-rs' `events::Recorder`, client-go's new recorder) is read
//! as `v1` (`kubectl get events`) and the other way round; each is stored as written and
//! converted when read in the other view, with the API server's field mapping.
//!
//! | `events.k8s.io/v1` | `v1` |
//! |---|---|
//! | `regarding` | `involvedObject` |
//! | `note` | `message` |
//! | `reportingController` | `reportingComponent` |
//! | `deprecatedSource` | `source` |
//! | `deprecatedFirstTimestamp` | `firstTimestamp` |
//! | `deprecatedLastTimestamp` | `lastTimestamp` |
//! | `deprecatedCount` | `count` |
//!
//! Everything else (`metadata`, `reason`, `type`, `action`, `eventTime`, `series`,
//! `related`, `reportingInstance`) has the same name in both.

use crate::resources::ResourceType;
use serde_json::Value;

/// `(events.k8s.io/v1 name, v1 name)`.
const RENAMED: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// Whether `rt` is one of the two views of Events.
pub fn is_event(rt: &ResourceType) -> bool {
    rt.plural == "events" && (rt.group.is_empty() || rt.group == "events.k8s.io")
}

/// `obj` (an Event in either view) in `rt`'s view; `None` when `rt` is not an Event
/// view. `apiVersion` is left to the caller.
pub fn convert(rt: &ResourceType, obj: &Value) -> Option<Value> {
    if !is_event(rt) {
        return None;
    }
    let to_core = rt.group.is_empty();
    let mut out = obj.clone();
    let map = out.as_object_mut()?;
    for (new, old) in RENAMED {
        let (from, to) = if to_core { (new, old) } else { (old, new) };
        if let Some(v) = map.remove(from) {
            map.insert(to.to_string(), v);
        }
    }
    Some(out)
}

/// An object as served under `rt`'s version (the stored apiVersion may be another
/// served version of the same CRD, and an Event is read in both of its views).
pub fn render(rt: &ResourceType, obj: &Value) -> Value {
    let want = rt.api_version();
    if obj.get("apiVersion").and_then(Value::as_str) == Some(want.as_str()) {
        return obj.clone();
    }
    let mut o = convert(rt, obj).unwrap_or_else(|| obj.clone());
    o["apiVersion"] = Value::String(want);
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rt(group: &str) -> ResourceType {
        crate::resources::Registry::with_builtins()
            .get(group, "v1", "events")
            .cloned()
            .expect("an Event view")
    }

    #[test]
    fn an_event_converts_both_ways_and_round_trips() {
        let new = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "default"},
            "regarding": {"kind": "Pod", "name": "p"}, "note": "pulled",
            "reason": "Pulled", "type": "Normal", "reportingController": "kubelet",
            "reportingInstance": "node-1", "action": "Pull",
            "eventTime": "2026-11-30T00:00:00.000000Z",
        });
        let core = convert(&rt(""), &new).expect("core view");
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "pulled");
        assert_eq!(core["reportingComponent"], "kubelet");
        assert!(core.get("note").is_none() && core.get("regarding").is_none());
        let back = convert(&rt("events.k8s.io"), &core).expect("events view");
        assert_eq!(back, new);
    }

    #[test]
    fn other_kinds_are_not_events() {
        let cms = crate::resources::Registry::with_builtins()
            .get("", "v1", "configmaps")
            .cloned()
            .expect("configmaps");
        assert_eq!(convert(&cms, &json!({})), None);
    }
}
