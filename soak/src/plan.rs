//! What the soak does and when, drawn from one seed.
//!
//! Guarantees: the same seed gives the same schedule of workload steps and faults, and
//! — because the workload's choices depend only on the model (what the workload itself
//! asked for), never on what the system under test answered — the same operations in
//! the same order. Timing between processes differs from run to run; the plan does not.
//!
//! The generator is SplitMix64, written out here rather than taken from a crate: a
//! seed printed by a failing run must replay the same plan after any dependency
//! upgrade, and a crate's stream may change between its versions.

use std::time::Duration;

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and good enough to draw a plan.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// One of `items`, by weight.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut pick = self.range(0, total.saturating_sub(1));
        for (item, w) in items {
            let w = u64::from(*w);
            if pick < w {
                return *item;
            }
            pick -= w;
        }
        items[items.len() - 1].0
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 99) < percent
    }
}

/// How a watch stream is cut (devcluster's `watch_end` fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Clean,
    Abrupt,
    HalfLine,
}

impl Cut {
    pub fn wire(self) -> &'static str {
        match self {
            Cut::Clean => "clean",
            Cut::Abrupt => "abrupt",
            Cut::HalfLine => "half_line",
        }
    }
}

/// A fault, with how long it lasts where it lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the operator replica holding the Lease; it is started again after `down`
    /// (as a kubelet restarts a container).
    KillLeader { down: Duration },
    /// SIGKILL `hoist serve`; started again after `down`.
    KillDashboard { down: Duration },
    /// Stop devcluster (it saves its state) and start it again on the same port: every
    /// watch is cut, and resumes past the restart answer 410 Gone.
    RestartCluster,
    /// The API server forgets its watch history and cuts the operators' and the
    /// dashboard's watches: every resume answers 410 and clients relist.
    Compact,
    /// The operators' requests answer `code` for `lasting` (429 with Retry-After 1).
    Storm { code: u16, lasting: Duration },
    /// Every request waits `millis` for `lasting`.
    Latency { millis: u64, lasting: Duration },
    /// The next `times` watches end after `after` events, cut this way.
    WatchCut { how: Cut, after: u64, times: u64 },
    /// The repository answers slowly (`millis` per file) for `lasting`.
    RepoSlow { millis: u64, lasting: Duration },
    /// The repository answers 503 for `lasting`.
    RepoDown { lasting: Duration },
    /// The repositories republish kv-store's manifests under the same versions.
    RepoChanged,
    /// Member cluster `member` stops answering for `lasting`, then is back (the same
    /// cluster).
    MemberDown { member: usize, lasting: Duration },
    /// Member cluster `member` is replaced by another at the same address and
    /// credentials (a new `kube-system` UID).
    MemberReplaced { member: usize },
}

/// Member clusters in the fleet.
pub const MEMBERS: usize = 2;

impl Fault {
    /// Whether it kills or restarts one of Hoist's processes or the API server.
    pub fn restarts_a_process(&self) -> bool {
        matches!(
            self,
            Fault::KillLeader { .. } | Fault::KillDashboard { .. } | Fault::RestartCluster
        )
    }

    /// The fault's kind, for the figures.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::KillLeader { .. } => "kill leading operator",
            Fault::KillDashboard { .. } => "kill dashboard",
            Fault::RestartCluster => "restart API server",
            Fault::Compact => "compact (410 on resume)",
            Fault::Storm { code: 429, .. } => "429 storm",
            Fault::Storm { .. } => "5xx storm",
            Fault::Latency { .. } => "latency storm",
            Fault::WatchCut {
                how: Cut::Clean, ..
            } => "watch cut clean",
            Fault::WatchCut {
                how: Cut::Abrupt, ..
            } => "watch cut abrupt",
            Fault::WatchCut {
                how: Cut::HalfLine, ..
            } => "watch cut mid-line",
            Fault::RepoSlow { .. } => "repository slow",
            Fault::RepoDown { .. } => "repository 5xx",
            Fault::RepoChanged => "repository manifest changed",
            Fault::MemberDown { .. } => "member unreachable, then back",
            Fault::MemberReplaced { .. } => "member replaced",
        }
    }

    fn draw(rng: &mut Rng) -> Fault {
        #[derive(Clone, Copy)]
        enum K {
            Leader,
            Dashboard,
            Restart,
            Compact,
            Storm,
            Latency,
            Cut,
            Slow,
            Down,
            Changed,
            MemberDown,
            MemberReplaced,
        }
        let secs = |rng: &mut Rng, lo, hi| Duration::from_secs(rng.range(lo, hi));
        match rng.weighted(&[
            (K::Leader, 3),
            (K::Dashboard, 2),
            (K::Restart, 2),
            (K::Compact, 2),
            (K::Storm, 3),
            (K::Latency, 2),
            (K::Cut, 3),
            (K::Slow, 2),
            (K::Down, 2),
            (K::Changed, 1),
            (K::MemberDown, 2),
            (K::MemberReplaced, 1),
        ]) {
            K::Leader => Fault::KillLeader {
                down: Duration::from_millis(rng.range(200, 3000)),
            },
            K::Dashboard => Fault::KillDashboard {
                down: Duration::from_millis(rng.range(200, 2000)),
            },
            K::Restart => Fault::RestartCluster,
            K::Compact => Fault::Compact,
            K::Storm => Fault::Storm {
                code: rng.weighted(&[(429, 2), (500, 1), (503, 1)]),
                lasting: secs(rng, 2, 8),
            },
            K::Latency => Fault::Latency {
                millis: rng.range(50, 400),
                lasting: secs(rng, 3, 10),
            },
            K::Cut => Fault::WatchCut {
                how: rng.weighted(&[(Cut::Clean, 1), (Cut::Abrupt, 1), (Cut::HalfLine, 1)]),
                after: rng.range(0, 3),
                times: rng.range(1, 6),
            },
            K::Slow => Fault::RepoSlow {
                millis: rng.range(200, 2000),
                lasting: secs(rng, 3, 10),
            },
            K::Down => Fault::RepoDown {
                lasting: secs(rng, 2, 8),
            },
            K::Changed => Fault::RepoChanged,
            K::MemberDown => Fault::MemberDown {
                member: rng.range(0, MEMBERS as u64 - 1) as usize,
                lasting: secs(rng, 3, 12),
            },
            K::MemberReplaced => Fault::MemberReplaced {
                member: rng.range(0, MEMBERS as u64 - 1) as usize,
            },
        }
    }
}

/// When each fault starts, as offsets from the start of the run; faults run one after
/// another (the next starts no earlier than `gap` after the previous ended), and none
/// starts after `until` (the quiet end of the run, where convergence is measured).
pub fn faults(seed: u64, until: Duration) -> Vec<(Duration, Fault)> {
    // A stream of its own, so adding a workload step never moves a fault.
    let mut rng = Rng::new(seed ^ 0xFA17_FA17_FA17_FA17);
    let mut at = Duration::from_secs(rng.range(5, 12));
    let mut out = Vec::new();
    while at < until {
        let fault = Fault::draw(&mut rng);
        out.push((at, fault));
        at += Duration::from_millis(rng.range(6_000, 16_000));
    }
    out
}

/// The plan of [`faults`], without the faults that kill or restart one of Hoist's
/// processes or the API server when `keep_processes` (`--keep-processes`). The same
/// seed and flag replay the same plan.
pub fn faults_for(seed: u64, until: Duration, keep_processes: bool) -> Vec<(Duration, Fault)> {
    let mut plan = faults(seed, until);
    if keep_processes {
        plan.retain(|(_, f)| !f.restarts_a_process());
    }
    plan
}

/// When the workload acts: steady steps about every `mean_gap`, and now and then a
/// burst of several at once. Each entry is an offset and how many steps to take then.
pub fn workload_ticks(seed: u64, until: Duration) -> Vec<(Duration, u32)> {
    let mut rng = Rng::new(seed ^ 0x0A0A_0A0A_0A0A_0A0A);
    let mut at = Duration::from_secs(2);
    let mut out = Vec::new();
    while at < until {
        let steps = if rng.chance(8) { rng.range(4, 10) } else { 1 };
        out.push((at, steps as u32));
        at += Duration::from_millis(rng.range(400, 2_200));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_the_same_plan_and_another_seed_does_not() {
        let until = Duration::from_secs(600);
        assert_eq!(faults(7, until), faults(7, until));
        assert_eq!(workload_ticks(7, until), workload_ticks(7, until));
        assert_ne!(faults(7, until), faults(8, until));
    }

    #[test]
    fn the_generator_is_splitmix64_so_old_seeds_replay_forever() {
        // The first outputs of SplitMix64 seeded with 0, from its reference code.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn faults_stop_before_the_quiet_end_and_never_overlap_their_gap() {
        let plan = faults(3, Duration::from_secs(120));
        assert!(!plan.is_empty());
        assert!(plan.iter().all(|(at, _)| *at < Duration::from_secs(120)));
        assert!(
            plan.windows(2)
                .all(|w| w[1].0 >= w[0].0 + Duration::from_secs(6))
        );
    }

    #[test]
    fn keeping_processes_leaves_out_only_kills_and_restarts() {
        let until = Duration::from_secs(3 * 3600);
        let all = faults(11, until);
        let kept = faults_for(11, until, true);
        assert!(kept.iter().all(|(_, f)| !f.restarts_a_process()));
        let others: Vec<_> = all
            .iter()
            .filter(|(_, f)| !f.restarts_a_process())
            .collect();
        assert_eq!(kept.iter().collect::<Vec<_>>(), others);
        assert!(kept.len() < all.len());
        assert_eq!(faults_for(11, until, false), all);
    }

    #[test]
    fn every_fault_kind_is_drawn_over_a_long_plan() {
        let plan = faults(11, Duration::from_secs(3 * 3600));
        let kinds: std::collections::BTreeSet<_> = plan.iter().map(|(_, f)| f.kind()).collect();
        assert_eq!(kinds.len(), 15, "{kinds:?}");
    }
}
