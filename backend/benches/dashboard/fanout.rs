//! The fan-out measures: a change written by the API server, seen by N gRPC-web
//! readers (in this process or another), and the floor they are compared with (the
//! same bytes written to N loopback sockets by two tasks, no Hoist).

use super::*;

/// Opens a gRPC-web Watch over HTTP/1.1 and returns the socket, past the snapshot.
pub(super) async fn grpc_web_watch(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = [0u8, 0, 0, 0, 0]; // one frame: an empty WatchRequest
    let head = format!(
        "POST /hoist.v1.Dashboard/Watch HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(&body).await.expect("write");
    s
}

/// Reads until `marker` appears in what the socket delivers. The measuring side must be
/// cheap: only new bytes (and a marker's length before them) are searched, and the
/// buffer never grows past one read.
pub(super) async fn read_until(s: &mut tokio::net::TcpStream, marker: &[u8], buf: &mut Vec<u8>) {
    let finder = memchr::memmem::Finder::new(marker);
    if finder.find(buf).is_some() {
        buf.clear();
        return;
    }
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "stream closed");
        // Keep the tail that could hold the start of a marker split across reads.
        let keep = buf.len().min(marker.len());
        buf.drain(..buf.len() - keep);
        buf.extend_from_slice(&chunk[..n]);
        if finder.find(buf).is_some() {
            buf.clear();
            return;
        }
    }
}

pub(super) async fn fan_out(
    client: &Client,
    subscribers: usize,
    events: usize,
) -> (Duration, Duration) {
    let running = hoist::serve::start(client.clone(), options())
        .await
        .expect("backend");
    running.ready().await;
    let mut sockets = Vec::new();
    for _ in 0..subscribers {
        let mut s = grpc_web_watch(running.addr).await;
        let mut buf = Vec::new();
        read_until(&mut s, b"seed-00000", &mut buf).await; // the snapshot arrived
        sockets.push((s, buf));
    }
    let api: Api<ClusterPackage> = Api::all(client.clone());
    let mut lat = Vec::new();
    for i in 0..events {
        let name = format!("fan-{subscribers}-{i:04}");
        let t = Instant::now();
        let readers = sockets.iter_mut().map(|(s, buf)| {
            let marker = name.clone().into_bytes();
            async move {
                read_until(s, &marker, buf).await;
                t.elapsed()
            }
        });
        let (pp, obj) = (PostParams::default(), package(&name));
        let (_, got) = tokio::join!(api.create(&pp, &obj), futures::future::join_all(readers));
        lat.extend(got);
    }
    running.shutdown().await;
    (pct(&mut lat, 0.5), pct(&mut lat, 0.99))
}

/// The floor for a fan-out on this machine: no hoist, no API server, just the same
/// number of loopback sockets each written a ~300-byte frame holding the marker, by two
/// tasks (one per core). Returns the address readers connect to and a trigger: send a
/// marker, get back when the writes were issued.
pub(super) async fn floor_server(
    subscribers: usize,
) -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::Sender<(String, tokio::sync::oneshot::Sender<u64>)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, tokio::sync::oneshot::Sender<u64>)>(1);
    tokio::spawn(async move {
        let mut halves: [Vec<tokio::net::TcpStream>; 2] = [Vec::new(), Vec::new()];
        for i in 0..subscribers {
            let (mut s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            let mut head = [0u8; 512];
            let _ = s.read(&mut head).await;
            s.write_all(b"HTTP/1.1 200 OK\r\n\r\nseed-00000")
                .await
                .expect("write");
            halves[i % 2].push(s);
        }
        let halves = halves.map(|h| std::sync::Arc::new(tokio::sync::Mutex::new(h)));
        while let Some((marker, done)) = rx.recv().await {
            let t0 = unix_micros();
            let frame = format!("{:>280}", marker).into_bytes();
            let writes = halves.iter().map(|h| {
                let (h, frame) = (h.clone(), frame.clone());
                tokio::spawn(async move {
                    for s in h.lock().await.iter_mut() {
                        s.write_all(&frame).await.expect("write");
                    }
                })
            });
            for w in writes.collect::<Vec<_>>() {
                w.await.expect("writer");
            }
            let _ = done.send(t0);
        }
    });
    (addr, tx)
}

/// [`floor_server`] measured as [`fan_out_external`] measures hoist.
pub(super) async fn floor_fan_out(
    subscribers: usize,
    events: usize,
) -> (Duration, Duration, Duration) {
    let (addr, trigger) = floor_server(subscribers).await;
    let mut readers = Readers::start(subscribers, addr).await;
    let mut lat = Vec::new();
    let cpu0 = process_cpu();
    for i in 0..events {
        let name = format!("floor-{subscribers}-{i:04}");
        readers.expect(&name).await;
        let (done, t0) = tokio::sync::oneshot::channel();
        trigger.send((name, done)).await.expect("trigger");
        let t0 = t0.await.expect("t0");
        lat.extend(readers.latencies(t0).await);
    }
    let cpu = process_cpu() - cpu0;
    readers.stop().await;
    (pct(&mut lat, 0.5), pct(&mut lat, 0.99), cpu)
}

/// The reader process ([`readers`]) seen from the measuring side.
pub(super) struct Readers {
    child: tokio::process::Child,
    to_child: tokio::process::ChildStdin,
    from_child: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Readers {
    /// Starts `subscribers` streams against `addr` in a process of their own; returns
    /// once every one is open.
    pub(super) async fn start(subscribers: usize, addr: std::net::SocketAddr) -> Self {
        use tokio::io::AsyncBufReadExt;
        let exe = std::env::current_exe().expect("own path");
        let mut child = tokio::process::Command::new(exe)
            .args(["--readers", &subscribers.to_string(), &addr.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("reader process");
        let to_child = child.stdin.take().expect("stdin");
        let mut from_child =
            tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        assert_eq!(
            from_child.next_line().await.expect("read").as_deref(),
            Some("ready")
        );
        Self {
            child,
            to_child,
            from_child,
        }
    }

    /// Tells every stream which marker to wait for next.
    pub(super) async fn expect(&mut self, marker: &str) {
        self.to_child
            .write_all(format!("{marker}\n").as_bytes())
            .await
            .expect("marker");
    }

    /// When each stream saw the marker, counted from `t0` (Unix µs).
    pub(super) async fn latencies(&mut self, t0: u64) -> Vec<Duration> {
        let line = self
            .from_child
            .next_line()
            .await
            .expect("read")
            .expect("a line per event");
        line.split(' ')
            .filter_map(|v| v.parse::<u64>().ok())
            .map(|t| Duration::from_micros(t.saturating_sub(t0)))
            .collect()
    }

    pub(super) async fn stop(mut self) {
        drop(self.to_child);
        let _ = self.child.wait().await;
    }
}

/// CPU time this process has used, user and system (from /proc, in clock ticks of
/// 10 ms: use over a run long enough to make that small).
pub(super) fn process_cpu() -> Duration {
    cpu_of("/proc/self/stat")
}

/// User and system CPU time from a `/proc/PID/stat` file.
pub(super) fn cpu_of(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')'.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

pub(super) fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The reading side of the fan-out benchmark, in a process of its own (so the clients do
/// not share the server's runtime): opens `n` gRPC-web streams to `addr`, says `ready`,
/// then for each marker read on stdin prints the Unix µs at which each stream delivered it.
pub(super) async fn readers(n: usize, addr: std::net::SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    let mut sockets = Vec::new();
    for _ in 0..n {
        let mut s = grpc_web_watch(addr).await;
        let mut buf = Vec::new();
        read_until(&mut s, b"seed-00000", &mut buf).await;
        sockets.push((s, buf));
    }
    println!("ready");
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(marker)) = lines.next_line().await {
        let reads = sockets.iter_mut().map(|(s, buf)| {
            let marker = marker.clone().into_bytes();
            async move {
                read_until(s, &marker, buf).await;
                unix_micros()
            }
        });
        let times = futures::future::join_all(reads).await;
        println!(
            "{}",
            times
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}

/// Write → bytes with the subscribers in another process and `hoist serve` in its own:
/// p50, p99 and the CPU time `hoist serve` used (the API server and the writes' client
/// are this process, not counted).
pub(super) async fn fan_out_external(
    cluster: &devcluster::DevCluster,
    subscribers: usize,
    events: usize,
    round: usize,
) -> (Duration, Duration, Duration) {
    let serve = ServeProcess::start(cluster, subscribers + 16)
        .await
        .expect("hoist serve");
    let mut readers = Readers::start(subscribers, serve.addr).await;
    let api: Api<ClusterPackage> = Api::all(cluster.client().expect("client"));
    let mut lat = Vec::new();
    // HOIST_BENCH_PERF=FILE: `perf record` of `hoist serve` over the measured window of
    // the run with the most subscribers (to see where its time goes).
    let perf = match std::env::var("HOIST_BENCH_PERF") {
        Ok(file) if subscribers > 1 => Some(
            tokio::process::Command::new("perf")
                .args([
                    "record",
                    "-F",
                    "2000",
                    "-g",
                    "--call-graph=dwarf,16384",
                    "-o",
                ])
                .arg(file)
                .args(["-p", &serve.pid.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("perf"),
        ),
        _ => None,
    };
    if perf.is_some() {
        // perf needs a moment to attach; the window is long enough for this not to matter.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let cpu0 = serve.cpu();
    for i in 0..events {
        let name = format!("ext-{subscribers}-{round}-{i:04}");
        readers.expect(&name).await;
        let t0 = unix_micros();
        api.create(&PostParams::default(), &package(&name))
            .await
            .expect("create");
        lat.extend(readers.latencies(t0).await);
    }
    let cpu = serve.cpu() - cpu0;
    if let Some(mut perf) = perf {
        if let Some(pid) = perf.id() {
            // SIGINT: perf writes its file and exits.
            let _ = std::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
        let _ = perf.wait().await;
    }
    readers.stop().await;
    serve.stop().await;
    (pct(&mut lat, 0.5), pct(&mut lat, 0.99), cpu)
}
