//! Usage for a period, as `hoist usage` prints it and the dashboard downloads it: each
//! record overlapping the period with its seconds within it, by the core's one rule
//! ([`Record::seconds_in`]). No I/O: the CLI lists the records, the dashboard reads
//! its cache.

use crate::time;
use hoist_core::fleet::Seconds;
use hoist_core::fleet::ledger::{self, Record};
use hoist_kube::types::UsageRecord;

/// How usage is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Jsonl,
    Cloudevents,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "table" => Format::Table,
            "csv" => Format::Csv,
            "jsonl" => Format::Jsonl,
            "cloudevents" => Format::Cloudevents,
            _ => return None,
        })
    }

    /// The media type of the written form.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Table => "text/plain; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl | Format::Cloudevents => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Csv => "csv",
            Format::Jsonl | Format::Cloudevents => "jsonl",
        }
    }
}

/// One record with the names it is shown under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub cluster: String,
    pub namespace: String,
    pub record: Record,
}

impl Row {
    /// `None` for a record whose times cannot be read (never written by Hoist).
    pub fn from_record(u: &UsageRecord) -> Option<Row> {
        Some(Row {
            cluster: u.spec.cluster_name.clone(),
            namespace: u.spec.cluster_namespace.clone(),
            record: crate::ledger::to_core(u)?,
        })
    }
}

/// The start of the current month, UTC.
pub fn month_start(now: Seconds) -> Seconds {
    use chrono::Datelike;
    let t = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    chrono::NaiveDate::from_ymd_opt(t.year(), t.month(), 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |d| d.and_utc().timestamp())
}

/// The period `[from, to)` a user asked for: RFC 3339 times, by default this month so
/// far. An unreadable time or an empty period is an error in words.
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    now: Seconds,
) -> Result<(Seconds, Seconds), String> {
    let parse = |s: &str| time::parse(s).ok_or_else(|| format!("{s:?} is not an RFC 3339 time"));
    let from = from
        .map(parse)
        .transpose()?
        .unwrap_or_else(|| month_start(now));
    let to = to.map(parse).transpose()?.unwrap_or(now);
    if to <= from {
        return Err("the period's end must be after its start".into());
    }
    Ok((from, to))
}

/// Every row overlapping `[from, to)` (one that just opened counts too), by cluster
/// then start, written in `format`; open records count until `now`.
pub fn render(rows: Vec<Row>, from: Seconds, to: Seconds, now: Seconds, format: Format) -> String {
    let mut rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| r.record.start <= to && r.record.stop.is_none_or(|(t, _)| t >= from))
        .collect();
    rows.sort_by(|a, b| (&a.cluster, a.record.start).cmp(&(&b.cluster, b.record.start)));
    let total: Seconds = rows
        .iter()
        .map(|r| r.record.seconds_in(from, to, now))
        .sum();
    let json = |row: &Row| {
        let r = &row.record;
        serde_json::json!({
            "cluster": row.cluster,
            "clusterUID": r.cluster_uid,
            "record": r.name(),
            "start": time::to_rfc3339(r.start),
            "stop": r.stop.map(|(t, _)| time::to_rfc3339(t)),
            "stopSource": r.stop.map(|(_, s)| s.as_str()),
            "seconds": r.seconds_in(from, to, now),
        })
    };
    let mut out = String::new();
    match format {
        Format::Jsonl => {
            for row in &rows {
                out.push_str(&json(row).to_string());
                out.push('\n');
            }
        }
        Format::Cloudevents => {
            for row in &rows {
                let event = serde_json::json!({
                    "specversion": "1.0",
                    "id": ledger::event_id(&row.record, from, to),
                    "source": format!("hoist://{}", row.namespace),
                    "type": "dev.hoist.fleet.usage",
                    "subject": row.cluster,
                    "time": time::to_rfc3339(to.min(now)),
                    "datacontenttype": "application/json",
                    "data": json(row),
                });
                out.push_str(&event.to_string());
                out.push('\n');
            }
        }
        Format::Csv => {
            out.push_str("cluster,clusterUID,record,start,stop,stopSource,seconds\n");
            for row in &rows {
                let r = &row.record;
                out.push_str(&format!(
                    "{},{},{},{},{},{},{}\n",
                    row.cluster,
                    r.cluster_uid,
                    r.name(),
                    time::to_rfc3339(r.start),
                    r.stop.map(|(t, _)| time::to_rfc3339(t)).unwrap_or_default(),
                    r.stop.map(|(_, s)| s.as_str()).unwrap_or_default(),
                    r.seconds_in(from, to, now)
                ));
            }
        }
        Format::Table => {
            out.push_str(&format!(
                "Usage from {} to {}\n{:<20} {:<22} {:<22} {:<9} {:>10}\n",
                time::to_rfc3339(from),
                time::to_rfc3339(to),
                "CLUSTER",
                "START",
                "STOP",
                "SOURCE",
                "HOURS"
            ));
            for row in &rows {
                let r = &row.record;
                out.push_str(&format!(
                    "{:<20} {:<22} {:<22} {:<9} {:>10.2}\n",
                    row.cluster,
                    time::to_rfc3339(r.start),
                    r.stop
                        .map(|(t, _)| time::to_rfc3339(t))
                        .unwrap_or_else(|| "(billed now)".into()),
                    r.stop.map(|(_, s)| s.as_str()).unwrap_or(""),
                    r.seconds_in(from, to, now) as f64 / 3600.0
                ));
            }
            out.push_str(&format!(
                "{:.2} cluster-hours in the period\n",
                total as f64 / 3600.0
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_core::fleet::ledger::StopSource;

    fn row(cluster: &str, start: Seconds, stop: Option<Seconds>) -> Row {
        Row {
            cluster: cluster.into(),
            namespace: "hoist-system".into(),
            record: Record {
                cluster_uid: format!("uid-{cluster}"),
                seq: 1,
                identity: "ks".into(),
                start,
                stop: stop.map(|t| (t, StopSource::Deleted)),
            },
        }
    }

    #[test]
    fn a_month_starts_on_its_first_at_midnight_utc() {
        let t = time::parse("2026-11-30T10:00:00Z").expect("time");
        assert_eq!(
            month_start(t),
            time::parse("2026-11-01T00:00:00Z").expect("time")
        );
    }

    #[test]
    fn a_period_defaults_to_this_month_so_far_and_refuses_an_empty_one() {
        let now = time::parse("2026-11-30T10:00:00Z").expect("time");
        assert_eq!(period(None, None, now), Ok((month_start(now), now)));
        assert!(
            period(
                Some("2026-11-02T00:00:00Z"),
                Some("2026-11-01T00:00:00Z"),
                now
            )
            .is_err()
        );
        assert!(
            period(Some("yesterday"), None, now)
                .expect_err("not a time")
                .contains("RFC 3339")
        );
    }

    #[test]
    fn csv_counts_each_record_only_within_the_period_and_leaves_out_records_outside_it() {
        let rows = vec![
            row("b", 100, None),
            row("a", 50, Some(150)),
            row("gone", 0, Some(80)),
        ];
        let csv = render(rows, 100, 200, 180, Format::Csv);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(
            lines[1].starts_with("a,uid-a,uid-a-1,") && lines[1].ends_with(",Deleted,50"),
            "{csv}"
        );
        // Open: counted until now (180), not the period's end.
        assert!(
            lines[2].starts_with("b,") && lines[2].ends_with(",,80"),
            "{csv}"
        );
    }
}
