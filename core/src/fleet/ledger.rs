//! The usage ledger: one [`Record`] per billed interval of one cluster.
//!
//! Guarantees (the ones the seed's platform lacked):
//! - a record's stop is set once: a second stop (a retry, a second writer, a duplicated
//!   event) returns the first and changes nothing ([`Record::stop`]);
//! - a cluster has at most one open record, and its records never overlap
//!   ([`open`] refuses otherwise; [`violations`] checks a whole ledger);
//! - "billed now" and "seconds in a period" are computed here only ([`billed_now`],
//!   [`seconds`]), so the API, the CLI, the UI and the metrics cannot disagree;
//! - export ids are a function of the record and the period ([`event_id`]), so resends
//!   are recognisable as duplicates by any sink, forever.

use super::Seconds;

/// Why a record stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopSource {
    /// The Cluster was deleted: stop = its `deletionTimestamp`.
    Deleted,
    /// Unreachable longer than its `vanishAfter`: stop = its last successful probe.
    Vanished,
    /// Its `kube-system` UID changed (another cluster at that address): stop = the last
    /// successful probe of the old one.
    Replaced,
    /// Its Cluster is gone without cleanup (finalizer stripped by hand).
    Orphaned,
}

impl StopSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "Deleted",
            Self::Vanished => "Vanished",
            Self::Replaced => "Replaced",
            Self::Orphaned => "Orphaned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Deleted" => Self::Deleted,
            "Vanished" => Self::Vanished,
            "Replaced" => Self::Replaced,
            "Orphaned" => Self::Orphaned,
            _ => return None,
        })
    }
}

/// One billed interval of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The Cluster object's uid (never its name: a name is reused, a uid is not).
    pub cluster_uid: String,
    /// 1, 2, …: the interval's number for this cluster.
    pub seq: u32,
    /// The member's `kube-system` UID while this interval was billed.
    pub identity: String,
    pub start: Seconds,
    pub stop: Option<(Seconds, StopSource)>,
}

/// What [`Record::stop`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Set(Seconds, StopSource),
    /// It was stopped before; this is the first stop, unchanged.
    Already(Seconds, StopSource),
}

impl Record {
    /// The record's object name: `<cluster uid>-<seq>`.
    pub fn name(&self) -> String {
        format!("{}-{}", self.cluster_uid, self.seq)
    }

    pub fn is_open(&self) -> bool {
        self.stop.is_none()
    }

    /// Stops the record at `at` (never before its start), unless it is stopped: then
    /// the first stop stands and is returned.
    pub fn stop(&mut self, at: Seconds, source: StopSource) -> Stop {
        match self.stop {
            Some((t, s)) => Stop::Already(t, s),
            None => {
                let t = at.max(self.start);
                self.stop = Some((t, source));
                Stop::Set(t, source)
            }
        }
    }

    /// Billed seconds within `[from, to)`, counting an open record until `now`.
    pub fn seconds_in(&self, from: Seconds, to: Seconds, now: Seconds) -> Seconds {
        let end = self.stop.map_or(now, |(t, _)| t);
        (end.min(to) - self.start.max(from)).max(0)
    }
}

/// Why a record cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("cluster {cluster_uid} is billed already (record {seq} is open)")]
    AlreadyOpen { cluster_uid: String, seq: u32 },
}

/// The next record for `cluster_uid` (billing `identity`), starting at `at` (or at its
/// last stop, if that is later: intervals never overlap). Refused while one is open.
pub fn open(
    ledger: &[Record],
    cluster_uid: &str,
    identity: &str,
    at: Seconds,
) -> Result<Record, OpenError> {
    let mine = ledger.iter().filter(|r| r.cluster_uid == cluster_uid);
    if let Some(r) = mine.clone().find(|r| r.is_open()) {
        return Err(OpenError::AlreadyOpen {
            cluster_uid: cluster_uid.into(),
            seq: r.seq,
        });
    }
    let seq = mine.clone().map(|r| r.seq).max().unwrap_or(0) + 1;
    let after = mine.filter_map(|r| r.stop.map(|(t, _)| t)).max();
    Ok(Record {
        cluster_uid: cluster_uid.into(),
        seq,
        identity: identity.into(),
        start: after.map_or(at, |t| t.max(at)),
        stop: None,
    })
}

/// The open record of `cluster_uid`, if any.
pub fn open_record<'a>(ledger: &'a mut [Record], cluster_uid: &str) -> Option<&'a mut Record> {
    ledger
        .iter_mut()
        .find(|r| r.cluster_uid == cluster_uid && r.is_open())
}

/// Applies a probe's billing event for `cluster_uid` to the ledger. Idempotent: an event
/// applied twice (a retry, a duplicate) changes nothing the second time.
pub fn on_probe(ledger: &mut Vec<Record>, cluster_uid: &str, event: &super::probe::Event) {
    use super::probe::Event;
    match event {
        Event::Identified { identity, at } => {
            if let Ok(r) = open(ledger, cluster_uid, identity, *at) {
                ledger.push(r);
            }
        }
        Event::Replaced { old, new, stop, at } => {
            if let Some(r) = open_record(ledger, cluster_uid)
                && r.identity == *old
            {
                r.stop(*stop, StopSource::Replaced);
            }
            if let Ok(r) = open(ledger, cluster_uid, new, *at) {
                ledger.push(r);
            }
        }
        Event::Vanished { stop } => {
            if let Some(r) = open_record(ledger, cluster_uid) {
                r.stop(*stop, StopSource::Vanished);
            }
        }
        Event::Returned { at } => {
            let identity = ledger
                .iter()
                .filter(|r| r.cluster_uid == cluster_uid)
                .max_by_key(|r| r.seq)
                .map(|r| r.identity.clone())
                .unwrap_or_default();
            if let Ok(r) = open(ledger, cluster_uid, &identity, *at) {
                ledger.push(r);
            }
        }
    }
}

/// The Cluster was deleted at `deleted_at` (its `deletionTimestamp`): its open record
/// stops there. Returns the stop in force (the first one, if it was stopped before).
pub fn on_deleted(ledger: &mut [Record], cluster_uid: &str, deleted_at: Seconds) -> Option<Stop> {
    open_record(ledger, cluster_uid).map(|r| r.stop(deleted_at, StopSource::Deleted))
}

/// Open records whose cluster is gone (not in `existing`): stopped at `now` as Orphaned.
/// Returns their names.
pub fn sweep(ledger: &mut [Record], existing: &[&str], now: Seconds) -> Vec<String> {
    let mut out = Vec::new();
    for r in ledger
        .iter_mut()
        .filter(|r| r.is_open() && !existing.contains(&r.cluster_uid.as_str()))
    {
        r.stop(now, StopSource::Orphaned);
        out.push(r.name());
    }
    out
}

/// How many clusters are billed now (open records; one per cluster at most).
pub fn billed_now(ledger: &[Record]) -> usize {
    ledger.iter().filter(|r| r.is_open()).count()
}

/// Cluster-seconds billed within `[from, to)`, open records counted until `now`.
pub fn seconds(ledger: &[Record], from: Seconds, to: Seconds, now: Seconds) -> Seconds {
    ledger.iter().map(|r| r.seconds_in(from, to, now)).sum()
}

/// The id of the export of `record`'s usage in `[from, to)`: the same for every resend.
pub fn event_id(record: &Record, from: Seconds, to: Seconds) -> String {
    format!("{}/{}/{from}-{to}", record.cluster_uid, record.seq)
}

/// The closed periods of `record` still to export: each `[k·len, (k+1)·len)` that
/// overlaps the record, ends at or before `now - grace` (a period is closed only once
/// late stops had time to land) and after `exported_through` (what the sink already
/// acknowledged), oldest first, at most `max`.
pub fn periods_to_export(
    record: &Record,
    exported_through: Option<Seconds>,
    now: Seconds,
    len: Seconds,
    grace: Seconds,
    max: usize,
) -> Vec<(Seconds, Seconds)> {
    if len <= 0 {
        return Vec::new();
    }
    let end = record.stop.map_or(now, |(t, _)| t);
    let closed_before = now - grace;
    let mut from = record.start.div_euclid(len) * len;
    if let Some(w) = exported_through {
        from = from.max(w);
    }
    let mut out = Vec::new();
    while out.len() < max {
        let to = from + len;
        if to > closed_before || from >= end.max(record.start + 1) {
            break;
        }
        out.push((from, to));
        from = to;
    }
    out
}

/// Whether `record` may leave the ledger at `now`: it is stopped, its stop is at least
/// `retention` old, and, when a usage sink receives exports (`exported_through` is then
/// `Some` or the record was never acknowledged), every period up to its stop was
/// acknowledged. An open record, or one the sink has not confirmed, is never expired.
pub fn expired(
    record: &Record,
    relayed: bool,
    exported_through: Option<Seconds>,
    now: Seconds,
    retention: Seconds,
) -> bool {
    let Some((stop, _)) = record.stop else {
        return false;
    };
    let exported = !relayed || exported_through.is_some_and(|t| t >= stop);
    exported && now - stop >= retention
}

/// What is wrong with a ledger, if anything: two open records of one cluster, records
/// of one cluster that overlap, a stop before its start.
pub fn violations(ledger: &[Record]) -> Vec<String> {
    let mut out = Vec::new();
    let mut by: std::collections::BTreeMap<&str, Vec<&Record>> = Default::default();
    for r in ledger {
        by.entry(r.cluster_uid.as_str()).or_default().push(r);
        if let Some((t, _)) = r.stop
            && t < r.start
        {
            out.push(format!("{} stops before it starts", r.name()));
        }
    }
    for (uid, mut rs) in by {
        if rs.iter().filter(|r| r.is_open()).count() > 1 {
            out.push(format!("cluster {uid} has more than one open record"));
        }
        rs.sort_by_key(|r| (r.start, r.seq));
        for w in rs.windows(2) {
            let end = w[0].stop.map_or(Seconds::MAX, |(t, _)| t);
            if w[1].start < end {
                out.push(format!("{} and {} overlap", w[0].name(), w[1].name()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_record_expires_only_stopped_old_enough_and_exported_when_a_sink_receives_exports() {
        let mut r = Record {
            cluster_uid: "c".into(),
            seq: 1,
            identity: "k".into(),
            start: 0,
            stop: None,
        };
        assert!(
            !expired(&r, false, None, 1_000_000, 10),
            "open records stay"
        );
        r.stop = Some((100, StopSource::Deleted));
        assert!(!expired(&r, false, None, 105, 10), "too recent");
        assert!(expired(&r, false, None, 110, 10));
        assert!(!expired(&r, true, None, 1_000, 10), "never acknowledged");
        assert!(
            !expired(&r, true, Some(99), 1_000, 10),
            "acknowledged short of its stop"
        );
        assert!(expired(&r, true, Some(100), 1_000, 10));
    }

    use super::*;

    #[test]
    fn a_stop_is_set_once_and_never_moves() {
        let mut r = Record {
            cluster_uid: "u".into(),
            seq: 1,
            identity: "k".into(),
            start: 100,
            stop: None,
        };
        assert_eq!(
            r.stop(250, StopSource::Deleted),
            Stop::Set(250, StopSource::Deleted)
        );
        assert_eq!(
            r.stop(900, StopSource::Orphaned),
            Stop::Already(250, StopSource::Deleted)
        );
        assert_eq!(r.stop, Some((250, StopSource::Deleted)));
        let mut early = Record {
            cluster_uid: "u".into(),
            seq: 2,
            identity: "k".into(),
            start: 100,
            stop: None,
        };
        early.stop(50, StopSource::Vanished);
        assert_eq!(
            early.stop,
            Some((100, StopSource::Vanished)),
            "never before start"
        );
    }

    #[test]
    fn seconds_count_only_what_falls_in_the_period() {
        let closed = Record {
            cluster_uid: "a".into(),
            seq: 1,
            identity: "k".into(),
            start: 100,
            stop: Some((400, StopSource::Deleted)),
        };
        let open = Record {
            cluster_uid: "b".into(),
            seq: 1,
            identity: "k".into(),
            start: 300,
            stop: None,
        };
        assert_eq!(closed.seconds_in(0, 1000, 5000), 300);
        assert_eq!(closed.seconds_in(200, 300, 5000), 100);
        assert_eq!(closed.seconds_in(500, 600, 5000), 0);
        assert_eq!(
            open.seconds_in(0, 1000, 700),
            400,
            "an open record runs to now"
        );
        let ledger = [closed, open];
        assert_eq!(billed_now(&ledger), 1);
        assert_eq!(seconds(&ledger, 0, 1000, 700), 700);
    }

    #[test]
    fn closed_periods_are_exported_once_each_after_their_grace() {
        let r = Record {
            cluster_uid: "u".into(),
            seq: 1,
            identity: "k".into(),
            start: 130,
            stop: Some((350, StopSource::Deleted)),
        };
        assert_eq!(
            periods_to_export(&r, None, 1000, 100, 10, 10),
            [(100, 200), (200, 300), (300, 400)]
        );
        assert_eq!(
            periods_to_export(&r, Some(300), 1000, 100, 10, 10),
            [(300, 400)]
        );
        assert_eq!(periods_to_export(&r, Some(400), 1000, 100, 10, 10), []);
        assert_eq!(
            periods_to_export(&r, None, 405, 100, 10, 10),
            [(100, 200), (200, 300)],
            "the last period is closed only after the grace"
        );
        let open = Record { stop: None, ..r };
        assert_eq!(
            periods_to_export(&open, None, 260, 100, 0, 10),
            [(100, 200)]
        );
        assert_eq!(periods_to_export(&open, None, 260, 100, 0, 1).len(), 1);
    }

    #[test]
    fn a_cluster_has_one_open_record_and_the_next_starts_after_the_last_stop() {
        let mut ledger = vec![open(&[], "u", "k", 10).expect("first")];
        assert!(matches!(
            open(&ledger, "u", "k", 20),
            Err(OpenError::AlreadyOpen { seq: 1, .. })
        ));
        ledger[0].stop(50, StopSource::Vanished);
        let next = open(&ledger, "u", "k", 40).expect("second");
        assert_eq!((next.seq, next.start), (2, 50), "no overlap with the first");
        ledger.push(next);
        assert!(violations(&ledger).is_empty());
        assert_eq!(event_id(&ledger[1], 0, 3600), "u/2/0-3600");
    }
}
