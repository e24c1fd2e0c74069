//! One soak run, start to report: set up, live under the workload and the faults,
//! settle, check.

use crate::args::Args;
use crate::check;
use crate::cluster::{Cluster, OPERATOR_USER, admin};
use crate::faults::{self, Ending};
use crate::hoist::{Exit, Hoist, REPLICAS};
use crate::members::Members;
use crate::model::{Model, Step};
use crate::plan::{self, Rng};
use crate::procs::Logs;
use crate::repo::{self, Control, Mode};
use crate::report::{Journal, Report, Series, now_ms};
use crate::{dashboard, workload};
use anyhow::Context;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often processes are sampled (RSS, fds, whether they still run).
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Errors logged this long after a fault ended are explained by it.
const FAULT_GRACE_MS: i64 = 30_000;
/// Leak bounds, judged on each process life of at least [`LEAK_LIFE_SECS`], over what
/// follows its first [`WARM_UP_SECS`] (a restarted process fills its caches first);
/// shorter lives are reported, not judged. The faults restart processes often, so in a
/// run of minutes only a few lives are long enough: the members, often the dashboard.
const RSS_SLOPE_KIB_PER_MIN: f64 = 1024.0;
const FD_SLOPE_PER_MIN: f64 = 2.0;
const TASK_SLOPE_PER_MIN: f64 = 2.0;
const LEAK_LIFE_SECS: f64 = 600.0;
const WARM_UP_SECS: f64 = 180.0;

struct Live {
    cluster: Cluster,
    hoist: Hoist,
    members: Members,
    logs: Logs,
    series: BTreeMap<String, Series>,
    violations: Vec<String>,
    journal: Journal,
    /// Replicas that stopped because another took the Lease.
    lease_losses: u64,
}

impl Live {
    /// Waits until `t`, sampling meanwhile.
    async fn wait_until(&mut self, t: Instant, tick: &mut tokio::time::Interval) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(t.into()) => return,
                _ = tick.tick() => self.sample().await,
            }
        }
    }

    /// Samples every process. A process that exited on its own is a violation, and is
    /// started again (as a kubelet would); those the harness holds down are not here.
    async fn sample(&mut self) {
        let at = self.journal.elapsed();
        let procs = self.hoist.running().chain(self.cluster.proc());
        for p in procs.chain(self.members.running()) {
            if let Some(sample) = p.sample().await {
                // A replica that starts to lead mid-life starts a new series: its
                // warm-up and its slope are the leader's, not the standby's.
                let name = match sample.leading {
                    Some(true) => format!("{}.{} (leading)", p.role, p.life),
                    Some(false) => format!("{}.{} (standby)", p.role, p.life),
                    None => format!("{}.{}", p.role, p.life),
                };
                let series = self.series.entry(name).or_default();
                series.points.push((at, sample.rss, sample.fds));
                if let Some(tasks) = sample.tasks {
                    series.tasks.push((at, tasks));
                }
            }
        }
        for (exit, which) in self.hoist.exited() {
            match exit {
                Exit::LostLease(name) => {
                    self.journal
                        .note(format!("{name} stopped: another replica took the Lease"));
                    self.lease_losses += 1;
                }
                Exit::Crashed(what) => {
                    self.journal.note(format!("VIOLATION {what}"));
                    self.violations.push(what);
                }
            }
            let started = match which {
                Some(i) => self.hoist.start_operator(i, &mut self.logs),
                None => self.hoist.start_dashboard(&mut self.logs),
            };
            if let Err(e) = started {
                self.journal
                    .note(format!("could not start it again: {e:#}"));
            }
        }
    }
}

pub async fn soak(args: Args) -> anyhow::Result<Report> {
    let (bin_dir, root) = crate::args::locations(&args)?;
    let seed = args.seed.unwrap_or_else(|| now_ms() as u64);
    let total = Duration::from_secs_f64(args.minutes.max(0.1) * 60.0);
    let dir = std::path::absolute(args.dir.join(format!("seed-{seed}")))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    println!(
        "soak: seed {seed}, {:.1} minutes, {} slots; logs in {} (replay: --seed {seed})",
        args.minutes,
        args.slots,
        dir.display()
    );
    let journal = Journal::new(&dir.join("journal.log"));
    let mut logs = Logs::default();
    // The binaries under test, copied: a rebuild during a long run does not change them
    // (or leave a half-written file where a restart looks for one).
    let bin_dir = {
        let copied = dir.join("bin");
        std::fs::create_dir_all(&copied)?;
        for name in ["hoist", "devcluster"] {
            std::fs::copy(bin_dir.join(name), copied.join(name)).with_context(|| {
                format!(
                    "copy {} (build it first: cargo xtask soak does)",
                    bin_dir.join(name).display()
                )
            })?;
        }
        copied
    };
    let cluster = Cluster::start(&bin_dir.join("devcluster"), &dir, &mut logs).await?;
    let client = cluster.client().await?;
    workload::install_crds(&client, &root.join("deploy/crds.yaml")).await?;
    let fixture = root.join("backend/tests/fixtures/glasskube-format");
    let control = Arc::new(Control::default());
    let urls = [
        repo::serve(fixture.clone(), control.clone()).await?,
        repo::serve(fixture, control.clone()).await?,
    ];
    workload::prepare(&client, args.slots, &urls[0]).await?;
    let members =
        Members::start(&bin_dir.join("devcluster"), &dir, plan::MEMBERS, &mut logs).await?;
    let ctx = workload::Ctx {
        urls: urls.clone(),
        hoist: bin_dir.join("hoist"),
        kubeconfig: cluster.admin_kubeconfig(),
        members: (0..plan::MEMBERS).map(|i| members.kubeconfig(i)).collect(),
    };
    let mut hoist = Hoist::new(&bin_dir.join("hoist"), &dir, &cluster)?;
    for i in 0..REPLICAS {
        hoist.start_operator(i, &mut logs)?;
    }
    hoist.start_dashboard(&mut logs)?;
    let view = dashboard::subscribe(format!("http://127.0.0.1:{}", hoist.dashboard_port));
    journal.note(format!(
        "started: devcluster on {}, 2 operators, dashboard on {}",
        cluster.port, hoist.dashboard_port
    ));

    // Every member registered before the run (the workload removes and adds them
    // later), so the member faults meet clusters being billed.
    let mut model = Model::new(args.slots);
    for member in 0..plan::MEMBERS {
        let step = Step::AddCluster { member };
        workload::run(&client, &model, &step, &ctx).await?;
        model.apply(&step);
    }
    journal.note("members registered: hoist cluster add member-0, member-1");
    let start = Instant::now();
    let model = Arc::new(Mutex::new(model));
    let workload_task = tokio::spawn(workload_loop(
        client.clone(),
        model.clone(),
        seed,
        total,
        ctx.clone(),
        journal.clone(),
        start,
    ));

    let mut live = Live {
        cluster,
        hoist,
        members,
        logs,
        series: BTreeMap::new(),
        violations: Vec::new(),
        journal: journal.clone(),
        lease_losses: 0,
    };
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    let mut fault_counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut windows: Vec<(i64, i64)> = Vec::new();
    for (at, fault) in plan::faults_for(seed, total, args.keep_processes) {
        live.wait_until(start + at, &mut tick).await;
        let began = now_ms();
        let injected = faults::inject(
            &fault,
            &client,
            &mut live.cluster,
            &mut live.hoist,
            &mut live.members,
            &control,
            &mut live.logs,
        )
        .await;
        match injected {
            Ok((what, ending)) => {
                *fault_counts.entry(fault.kind()).or_default() += 1;
                journal.note(format!("fault {}: {what}", fault.kind()));
                if let Ending::After(lasting, end) = ending {
                    live.wait_until(Instant::now() + lasting, &mut tick).await;
                    match faults::end(
                        end,
                        &client,
                        &mut live.hoist,
                        &mut live.members,
                        &control,
                        &mut live.logs,
                    )
                    .await
                    {
                        Ok(what) => journal.note(format!("fault ends: {what}")),
                        Err(e) => journal.note(format!("fault could not end: {e:#}")),
                    }
                }
            }
            Err(e) => journal.note(format!("fault {} not injected: {e:#}", fault.kind())),
        }
        windows.push((began, now_ms()));
    }
    live.wait_until(start + total, &mut tick).await;
    let (steps, failures, removals) = workload_task.await?;
    for f in failures {
        live.violations.push(format!("a workload step failed: {f}"));
    }

    // Quiet: no fault, every process up, nothing suspended.
    let _ = admin(&client, "DELETE", "/devcluster/faults", None).await;
    control.set(Mode::Normal);
    for i in 0..REPLICAS {
        if live.hoist.operators[i].is_none() {
            live.hoist.start_operator(i, &mut live.logs)?;
        }
    }
    if live.hoist.dashboard.is_none() {
        live.hoist.start_dashboard(&mut live.logs)?;
    }
    for i in 0..plan::MEMBERS {
        live.members.back(i, &mut live.logs).await?;
    }
    let mut steps = steps;
    let suspended: Vec<usize> = {
        let m = model.lock().unwrap_or_else(|p| p.into_inner());
        (0..m.slots.len())
            .filter(|i| m.slots[*i].install.as_ref().is_some_and(|s| s.suspended))
            .collect()
    };
    for slot in suspended {
        let step = Step::Suspend {
            slot,
            suspended: false,
        };
        let snapshot = model.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match workload::run(&client, &snapshot, &step, &ctx).await {
            Ok(_) => {
                model.lock().unwrap_or_else(|p| p.into_inner()).apply(&step);
                *steps.entry(step.kind()).or_default() += 1;
            }
            Err(e) => live
                .violations
                .push(format!("resuming slot {slot} failed: {e:#}")),
        }
    }
    let model = model.lock().unwrap_or_else(|p| p.into_inner()).clone();
    journal.note("quiet: faults over, every process up, nothing suspended; checking convergence");

    // Convergence, per slot and in all.
    let quiet = Instant::now();
    let bound = Duration::from_secs(args.converge_within);
    let give_up = bound.max(Duration::from_secs(30)) * 3;
    let mut converged_at: BTreeMap<usize, f64> = BTreeMap::new();
    let mut last: Vec<check::Divergence> = Vec::new();
    loop {
        let identities = member_identities(&live.members).await;
        let checked = match check::convergence(
            &client,
            &model,
            control.edition(),
            crate::hoist::REPO_CACHE_TTL,
        )
        .await
        {
            Ok(mut d) => match check::fleet(&client, &model, &identities, &removals).await {
                Ok(f) => {
                    d.extend(f);
                    Ok(d)
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match checked {
            Ok(divergences) => {
                let secs = quiet.elapsed().as_secs_f64();
                for i in 0..model.slots.len() {
                    let ns = format!("{}/", Model::namespace(i));
                    if !divergences.iter().any(|d| d.object.contains(&ns)) {
                        converged_at.entry(i).or_insert(secs);
                    }
                }
                last = divergences;
                if last.is_empty() {
                    break;
                }
            }
            Err(e) => journal.note(format!("convergence check could not list: {e:#}")),
        }
        if quiet.elapsed() > give_up {
            break;
        }
        live.wait_until(Instant::now() + Duration::from_millis(500), &mut tick)
            .await;
    }
    let took = quiet.elapsed();
    if !last.is_empty() {
        live.violations.push(format!(
            "not converged {:.0} s after the last fault: {} divergences, the first: {}",
            took.as_secs_f64(),
            last.len(),
            last[0]
        ));
        for d in last.iter().skip(1).take(10) {
            live.violations.push(format!("  also: {d}"));
        }
    } else if took > bound {
        live.violations.push(format!(
            "converged {:.1} s after the last fault, beyond the bound of {} s",
            took.as_secs_f64(),
            bound.as_secs()
        ));
    }
    journal.note(format!(
        "converged: {} after {:.1} s",
        last.is_empty(),
        took.as_secs_f64()
    ));

    // The dashboard tells the truth (give its stream a moment to deliver the last changes).
    let shown_by = Instant::now() + Duration::from_secs(20);
    let dashboard_divergences = loop {
        let listed = check::listed(&client).await?;
        let divergences = check::dashboard(&dashboard::snapshot(&view), &listed, &model);
        if divergences.is_empty() || Instant::now() > shown_by {
            break divergences;
        }
        live.wait_until(Instant::now() + Duration::from_millis(250), &mut tick)
            .await;
    };
    for d in dashboard_divergences.iter().take(10) {
        live.violations
            .push(format!("the dashboard does not tell the truth: {d}"));
    }
    let seen = dashboard::snapshot(&view);

    // No duplicates.
    let creations = live.cluster.creations(&client).await?;
    for d in check::duplicates(&creations, &model) {
        live.violations.push(format!("duplicate: {d}"));
    }

    // Requests by the operators, as themselves and as the accounts they act for.
    let requests = live.cluster.requests(&client).await?;
    let operator_requests = requests
        .iter()
        .filter(|(user, _)| {
            user.as_str() == OPERATOR_USER
                || (user.starts_with("system:serviceaccount:soak-")
                    && user.ends_with(":soak-deployer"))
        })
        .map(|(_, n)| n)
        .sum();

    // Stop: Hoist's processes must exit cleanly on SIGTERM.
    for problem in live.hoist.stop().await {
        live.violations
            .push(format!("a clean stop failed: {problem}"));
    }

    // No panic, no error without a fault to explain it.
    let mut errors_explained = 0;
    for (role, path) in &live.logs.files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let (panics, errors) = check::troubles(&text);
        for p in panics {
            live.violations.push(format!("{role} panicked: {p}"));
        }
        for e in errors {
            let explained = check::line_time(&e).is_some_and(|t| {
                windows
                    .iter()
                    .any(|(a, b)| t >= a - 1000 && t <= b + FAULT_GRACE_MS)
            });
            if explained {
                errors_explained += 1;
            } else {
                live.violations
                    .push(format!("{role} logged an error no fault explains: {e}"));
            }
        }
    }

    // No leak: each life's slopes after its warm-up; judged on long lives only.
    let mut slopes = Vec::new();
    for (name, s) in &live.series {
        let (Some(first), Some(last)) = (s.points.first(), s.points.last()) else {
            continue;
        };
        let span = last.0 - first.0;
        if span < 60.0 {
            continue;
        }
        let judged = span >= LEAK_LIFE_SECS;
        let warm: Vec<_> = if judged {
            s.points
                .iter()
                .filter(|p| p.0 - first.0 >= WARM_UP_SECS)
                .collect()
        } else {
            s.points[s.points.len() / 3..].iter().collect()
        };
        let rss =
            check::slope_per_minute(&warm.iter().map(|p| (p.0, p.1 as f64)).collect::<Vec<_>>());
        let fds =
            check::slope_per_minute(&warm.iter().map(|p| (p.0, p.2 as f64)).collect::<Vec<_>>());
        let tasks = (!s.tasks.is_empty()).then(|| {
            let from = warm.first().map_or(first.0, |p| p.0);
            check::slope_per_minute(
                &s.tasks
                    .iter()
                    .filter(|t| t.0 >= from)
                    .map(|t| (t.0, t.1 as f64))
                    .collect::<Vec<_>>(),
            )
        });
        let tasks_grow = tasks.is_some_and(|t| t > TASK_SLOPE_PER_MIN);
        if judged && (rss > RSS_SLOPE_KIB_PER_MIN || fds > FD_SLOPE_PER_MIN || tasks_grow) {
            live.violations.push(format!(
                "{name} grows: RSS {rss:+.0} KiB/min, fds {fds:+.1}/min, tasks {}/min over {:.0} minutes after warm-up",
                tasks.map_or("?".to_string(), |t| format!("{t:+.1}")),
                (span - WARM_UP_SECS) / 60.0
            ));
        }
        slopes.push(crate::report::Slope {
            name: name.clone(),
            rss,
            fds,
            tasks,
            first: warm.first().map_or(0, |p| p.1),
            last: warm.last().map_or(0, |p| p.1),
            minutes: span / 60.0,
            judged,
        });
    }
    live.members.stop().await;
    if let Err(e) = live.cluster.stop().await {
        live.violations
            .push(format!("devcluster did not stop cleanly: {e:#}"));
    }

    let report = Report {
        seed,
        minutes: args.minutes,
        keep_processes: args.keep_processes,
        steps,
        faults: fault_counts,
        violations: live.violations,
        convergence: converged_at.values().copied().collect(),
        slopes,
        operator_requests,
        dashboard: format!(
            "{} connects, {} snapshots ({} on a refused resume), {} changes, {} undecodable frames",
            seen.connects,
            seen.snapshots,
            seen.resumed_with_snapshot,
            seen.changes,
            seen.undecodable
        ),
        journal_tail: journal.tail(25),
        dir: dir.display().to_string(),
        errors_explained,
        lease_losses: live.lease_losses,
    };
    let _ = std::fs::write(dir.join("violations.txt"), report.violations.join("\n"));
    let _ = std::fs::write(dir.join("report.txt"), report.render());
    Ok(report)
}

/// Each member's `kube-system` UID now (what its Cluster must have identified).
async fn member_identities(members: &Members) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for i in 0..plan::MEMBERS {
        out.push(members.identity(i).await.ok());
    }
    out
}

/// The workload: steps at the plan's ticks, each drawn from the model, until `total`.
async fn workload_loop(
    client: kube::Client,
    model: Arc<Mutex<Model>>,
    seed: u64,
    total: Duration,
    ctx: workload::Ctx,
    journal: Journal,
    start: Instant,
) -> (
    BTreeMap<&'static str, u64>,
    Vec<String>,
    Vec<workload::Removal>,
) {
    let mut rng = Rng::new(seed);
    let mut counts = BTreeMap::new();
    let mut failures = Vec::new();
    let mut removals = Vec::new();
    for (at, n) in plan::workload_ticks(seed, total) {
        tokio::time::sleep_until((start + at).into()).await;
        for _ in 0..n {
            if start.elapsed() >= total {
                return (counts, failures, removals);
            }
            let (step, snapshot) = {
                let m = model.lock().unwrap_or_else(|p| p.into_inner());
                (m.draw(&mut rng), m.clone())
            };
            journal.note(format!("step {}: {step:?}", step.kind()));
            match workload::run(&client, &snapshot, &step, &ctx).await {
                Ok(removed) => {
                    model.lock().unwrap_or_else(|p| p.into_inner()).apply(&step);
                    *counts.entry(step.kind()).or_default() += 1;
                    removals.extend(removed);
                }
                Err(e) => {
                    journal.note(format!("step failed: {e:#}"));
                    failures.push(format!("{step:?}: {e:#}"));
                }
            }
        }
    }
    (counts, failures, removals)
}
