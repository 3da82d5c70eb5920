//! Benchmark (not a test): the ECS API under concurrent clients, against
//! the emulator (the release binary, on Docker, with no stack) and against
//! moto's server (an API-only mock, no containers) in the same run, so the
//! figures come out as ratios against the yardstick.
//!
//!   cargo bench -p emulator --bench api
//!   SECS=5 WRITES_PER_CLIENT=200 cargo bench -p emulator --bench api
//!
//! Each target gets a cluster, a task definition and SERVICES services
//! with desiredCount 0 (no containers), then:
//!
//!  S. one writer: SEQ_WRITES RegisterTaskDefinition, one after the other;
//!  A. WRITERS concurrent writers, WRITES_PER_CLIENT RegisterTaskDefinition
//!     each (one family per writer, FAMILY=shared for one family);
//!  B. READERS concurrent DescribeServices (all SERVICES services) readers,
//!     READS_PER_CLIENT each, while BG_WRITERS writers stream
//!     RegisterTaskDefinition until the readers are done.
//!
//! Every phase also stops after SECS seconds. Goals (from the issue):
//! writes >= 5x moto's rate with 16 writers, reads >= 20x moto's while
//! writes run, DescribeServices p99 < 10 ms and RegisterTaskDefinition
//! p50 < 2 ms under phase B's load.
//!
//! The emulator runs as a child with its own temporary data directory,
//! instance name and free ports (EMULATOR_BIN overrides the binary cargo
//! built with this bench; EMULATOR_URL uses a running one instead). moto
//! runs as `python3 -m moto.server` on a free port (installed with pip
//! when missing; MOTO=0 skips it, MOTO_URL uses a running one). Both are
//! stopped at the end (also on Ctrl-C), and the emulator's `down` removes
//! anything it left in Docker. DRIVER_THREADS (default 1) sets the load
//! generator's threads: it shares the machine with the servers. The data
//! directory is made under TMPDIR (TMPDIR=/dev/shm: no disk syncs).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
/// moto takes the region and account from the credential scope.
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0";
const CLUSTER: &str = "bench";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone)]
struct Params {
    secs: Duration,
    services: usize,
    seq_writes: usize,
    writers: usize,
    writes_per_client: usize,
    readers: usize,
    reads_per_client: usize,
    bg_writers: usize,
    shared_family: bool,
}

impl Params {
    fn from_env() -> Params {
        Params {
            secs: Duration::from_secs_f64(
                std::env::var("SECS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(10.0),
            ),
            services: env_usize("SERVICES", 10).clamp(1, 10),
            seq_writes: env_usize("SEQ_WRITES", 300),
            writers: env_usize("WRITERS", 16),
            writes_per_client: env_usize("WRITES_PER_CLIENT", 1000),
            readers: env_usize("READERS", 16),
            reads_per_client: env_usize("READS_PER_CLIENT", 1000),
            bg_writers: env_usize("BG_WRITERS", 4),
            shared_family: std::env::var("FAMILY").is_ok_and(|v| v == "shared"),
        }
    }
}

// ------------------------------------------------------------ processes

/// A free TCP port on 127.0.0.1 (released before the server binds it).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// The emulator as a child process; stopped and `down`ed on drop.
struct EmulatorProc {
    bin: PathBuf,
    data: tempfile::TempDir,
    name: String,
    child: Option<Child>,
}

impl EmulatorProc {
    /// Starts `emulator up --no-stack` and returns it with its API URL.
    fn start() -> Result<(EmulatorProc, String), String> {
        let bin = std::env::var_os("EMULATOR_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_emulator")));
        let data = tempfile::Builder::new()
            .prefix("emulator-api-bench")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let name = format!("bench-api-{}", std::process::id());
        let stderr =
            std::fs::File::create(data.path().join("stderr.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(&bin)
            .arg("--data-dir")
            .arg(data.path().join("state"))
            .args(["--name", &name, "up", "--no-stack"])
            .args(["--api-addr", "127.0.0.1:0", "--alb-addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        // The first URL `up` prints is the API's; keep draining its output.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(i) = line.find("http://") {
                    if let Some(tx) = tx.take() {
                        let url: String = line[i..]
                            .chars()
                            .take_while(|c| !c.is_whitespace())
                            .collect();
                        let _ = tx.send(url);
                    }
                }
            }
        });
        let proc = EmulatorProc {
            bin,
            data,
            name,
            child: Some(child),
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => Ok((proc, url)),
            Err(_) => {
                let log = std::fs::read_to_string(proc.data.path().join("stderr.log"))
                    .unwrap_or_default();
                Err(format!(
                    "the emulator printed no API address within 60 s: {log}"
                ))
            }
        }
    }

    fn stderr_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data.path().join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for EmulatorProc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGINT: the graceful shutdown; SIGKILL after 30 s.
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Whatever it left in Docker (nothing, with no stack) and its state.
        let _ = Command::new(&self.bin)
            .arg("--data-dir")
            .arg(self.data.path().join("state"))
            .args(["--name", &self.name, "down"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// moto's server as a child process; killed on drop.
struct MotoProc(Child);

impl MotoProc {
    fn start() -> Result<(MotoProc, String), String> {
        let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
        let has_moto = |p: &str| {
            Command::new(p)
                .args(["-c", "import moto.server, flask, werkzeug"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !has_moto(&python) {
            println!("installing moto[server] with pip ...");
            let ok = Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "moto[server]"])
                .status()
                .is_ok_and(|s| s.success());
            if !ok || !has_moto(&python) {
                return Err(format!("cannot install moto[server] for {python}"));
            }
        }
        let port = free_port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {python} -m moto.server: {e}"))?;
        Ok((MotoProc(child), format!("http://127.0.0.1:{port}")))
    }
}

impl Drop for MotoProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------- client

#[derive(Clone)]
struct Target {
    name: &'static str,
    url: String,
    http: reqwest::Client,
}

impl Target {
    fn new(name: &'static str, url: String) -> Target {
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Target {
            name,
            url: format!("{}/", url.trim_end_matches('/')),
            http,
        }
    }

    /// One ECS call; the time from sending to the whole answer.
    async fn call(&self, op: &str, body: String) -> Result<(Duration, bytes::Bytes), String> {
        let t = Instant::now();
        let resp = self
            .http
            .post(&self.url)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("{TARGET_PREFIX}{op}"))
            .header("authorization", AUTH)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{op}: {e}"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| format!("{op}: {e}"))?;
        let took = t.elapsed();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(format!("{op}: HTTP {status}: {text}"));
        }
        Ok((took, bytes))
    }

    async fn json(&self, op: &str, body: Value) -> Result<Value, String> {
        let (_, bytes) = self.call(op, body.to_string()).await?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{op}: {e}"))
    }

    /// Waits until the target answers ECS calls.
    async fn wait_ready(&self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            match self.call("ListClusters", "{}".into()).await {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("{} not ready: {e}", self.name))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

fn task_definition(family: &str, n: usize) -> String {
    json!({
        "family": family,
        "containerDefinitions": [{
            "name": "app", "image": "busybox:latest", "memory": 64, "essential": true,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "N", "value": n.to_string()}]
        }]
    })
    .to_string()
}

fn service_names(p: &Params) -> Vec<String> {
    (0..p.services).map(|i| format!("svc-{i:02}")).collect()
}

/// A cluster, a task definition and the services (desiredCount 0).
async fn setup(t: &Target, p: &Params) -> Result<(), String> {
    t.json("CreateCluster", json!({"clusterName": CLUSTER}))
        .await?;
    t.call("RegisterTaskDefinition", task_definition("bench-svc", 0))
        .await?;
    for name in service_names(p) {
        t.json(
            "CreateService",
            json!({"cluster": CLUSTER, "serviceName": name, "taskDefinition": "bench-svc", "desiredCount": 0}),
        )
        .await?;
    }
    // The reads the bench makes answer every service.
    let v = t
        .json(
            "DescribeServices",
            json!({"cluster": CLUSTER, "services": service_names(p)}),
        )
        .await?;
    let n = v["services"].as_array().map_or(0, Vec::len);
    if n != p.services {
        return Err(format!(
            "{}: DescribeServices answered {n} services: {v}",
            t.name
        ));
    }
    Ok(())
}

// ------------------------------------------------------------- workers

#[derive(Default)]
struct Sample {
    lat: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    wall: Duration,
}

impl Sample {
    fn merge(&mut self, o: Sample) {
        self.lat.extend(o.lat);
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
    fn rate(&self) -> f64 {
        self.lat.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
    fn q(&self, q: f64) -> Duration {
        let mut v = self.lat.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
    }
}

#[derive(Clone, Copy)]
enum Op {
    Register,
    Describe,
}

/// When workers stop: `stop` set, or `deadline` passed.
#[derive(Clone)]
struct Until {
    stop: Arc<AtomicBool>,
    deadline: Instant,
}

impl Until {
    fn secs(d: Duration) -> Until {
        Until {
            stop: Arc::new(AtomicBool::new(false)),
            deadline: Instant::now() + d,
        }
    }
    fn reached(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

/// Calls `op` up to `max` times, until `until`.
async fn worker(t: Target, op: Op, id: usize, max: usize, until: Until, p: Params) -> Sample {
    let mut s = Sample {
        lat: Vec::with_capacity(max.min(100_000)),
        ..Sample::default()
    };
    let family = if p.shared_family {
        "bench-w".to_string()
    } else {
        format!("bench-w{id:02}")
    };
    let describe = json!({"cluster": CLUSTER, "services": service_names(&p)}).to_string();
    for n in 0..max {
        if until.reached() {
            break;
        }
        let (name, body) = match op {
            Op::Register => ("RegisterTaskDefinition", task_definition(&family, n)),
            Op::Describe => ("DescribeServices", describe.clone()),
        };
        match t.call(name, body).await {
            Ok((d, _)) => s.lat.push(d),
            Err(e) => {
                s.errors += 1;
                s.first_error.get_or_insert(e);
            }
        }
    }
    s
}

/// `n` workers of `op` (ids from `first_id`), `max` calls each.
async fn crowd(
    t: &Target,
    op: Op,
    n: usize,
    first_id: usize,
    max: usize,
    until: Until,
    p: &Params,
) -> Sample {
    let start = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(worker(
                t.clone(),
                op,
                first_id + i,
                max,
                until.clone(),
                p.clone(),
            ))
        })
        .collect();
    let mut all = Sample::default();
    for h in handles {
        all.merge(h.await.expect("worker"));
    }
    all.wall = start.elapsed();
    all
}

struct Figures {
    seq: Sample,
    writes: Sample,
    reads: Sample,
    bg_writes: Sample,
}

async fn measure(t: &Target, p: &Params) -> Figures {
    let name = t.name;
    println!(
        "  {name}: S. 1 writer, {} RegisterTaskDefinition ...",
        p.seq_writes
    );
    let seq = crowd(
        t,
        Op::Register,
        1,
        100,
        p.seq_writes,
        Until::secs(p.secs),
        p,
    )
    .await;
    println!(
        "  {name}: A. {} writers x {} RegisterTaskDefinition ...",
        p.writers, p.writes_per_client
    );
    let until = Until::secs(p.secs);
    let writes = crowd(t, Op::Register, p.writers, 0, p.writes_per_client, until, p).await;
    println!(
        "  {name}: B. {} readers x {} DescribeServices while {} writers stream ...",
        p.readers, p.reads_per_client, p.bg_writers
    );
    let until = Until::secs(p.secs);
    let bg = {
        let (t, p, until) = (t.clone(), p.clone(), until.clone());
        tokio::spawn(async move {
            crowd(&t, Op::Register, p.bg_writers, 200, usize::MAX, until, &p).await
        })
    };
    // The writers get going before the readers start.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let readers_until = Until {
        stop: Arc::new(AtomicBool::new(false)),
        deadline: until.deadline,
    };
    let reads = crowd(
        t,
        Op::Describe,
        p.readers,
        0,
        p.reads_per_client,
        readers_until,
        p,
    )
    .await;
    until.stop.store(true, Ordering::Relaxed);
    let bg_writes = bg.await.expect("background writers");
    Figures {
        seq,
        writes,
        reads,
        bg_writes,
    }
}

// --------------------------------------------------------------- report

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn row(what: &str, e: &Sample, m: Option<&Sample>) {
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.1}x", a / b)
        } else {
            "-".into()
        }
    };
    let rate = |s: &Sample| format!("{:.0}/s", s.rate());
    let lat = |s: &Sample| format!("{} / {}", ms(s.q(0.5)), ms(s.q(0.99)));
    println!(
        "{:<44} {:>9} {:>15} {:>9} {:>15} {:>8} {:>8}",
        what,
        rate(e),
        lat(e),
        m.map_or("-".into(), rate),
        m.map_or("-".into(), lat),
        m.map_or("-".into(), |m| ratio(e.rate(), m.rate())),
        // Latency ratio: how many times faster the p50 is.
        m.map_or("-".into(), |m| ratio(
            m.q(0.5).as_secs_f64(),
            e.q(0.5).as_secs_f64()
        )),
    );
}

fn report(p: &Params, e: &Figures, m: Option<&Figures>) {
    println!();
    println!(
        "{:<44} {:>9} {:>15} {:>9} {:>15} {:>8} {:>8}",
        "ECS API (emulator vs moto, same run)",
        "emulator",
        "p50 / p99 ms",
        "moto",
        "p50 / p99 ms",
        "rate x",
        "p50 x"
    );
    row(
        "S. RegisterTaskDefinition, 1 writer",
        &e.seq,
        m.map(|m| &m.seq),
    );
    row(
        &format!("A. RegisterTaskDefinition, {} writers", p.writers),
        &e.writes,
        m.map(|m| &m.writes),
    );
    row(
        &format!("B. DescribeServices({}), {} readers", p.services, p.readers),
        &e.reads,
        m.map(|m| &m.reads),
    );
    row(
        &format!(
            "B. RegisterTaskDefinition, {} writers meanwhile",
            p.bg_writers
        ),
        &e.bg_writes,
        m.map(|m| &m.bg_writes),
    );
    for (name, f) in std::iter::once(("emulator", e)).chain(m.map(|m| ("moto", m))) {
        for s in [&f.seq, &f.writes, &f.reads, &f.bg_writes] {
            if s.errors > 0 {
                println!(
                    "{name}: {} failed calls, first: {}",
                    s.errors,
                    s.first_error.as_deref().unwrap_or("")
                );
            }
        }
    }
    println!();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let goal = |what: &str, value: String, ok: Option<bool>| {
        println!(
            "goal {:<58} {:>12}  {}",
            what,
            value,
            ok.map_or("(no moto)", verdict)
        );
    };
    let rx = |a: &Sample, b: &Sample| a.rate() / b.rate().max(1e-9);
    goal(
        &format!("writes >= 5x moto ({} concurrent writers)", p.writers),
        m.map_or("-".into(), |m| format!("{:.1}x", rx(&e.writes, &m.writes))),
        m.map(|m| rx(&e.writes, &m.writes) >= 5.0),
    );
    goal(
        &format!("reads >= 20x moto ({} readers, writes running)", p.readers),
        m.map_or("-".into(), |m| format!("{:.1}x", rx(&e.reads, &m.reads))),
        m.map(|m| rx(&e.reads, &m.reads) >= 20.0),
    );
    let p99 = e.reads.q(0.99);
    goal(
        "DescribeServices p99 < 10 ms (phase B)",
        format!("{} ms", ms(p99)),
        Some(p99 < Duration::from_millis(10)),
    );
    let p50 = e.bg_writes.q(0.5);
    goal(
        "RegisterTaskDefinition p50 < 2 ms (phase B's writers)",
        format!("{} ms", ms(p50)),
        Some(p50 < Duration::from_millis(2)),
    );
    let failed: usize = [&e.seq, &e.writes, &e.reads, &e.bg_writes]
        .iter()
        .map(|s| s.errors)
        .sum();
    if failed > 0 {
        println!("emulator: {failed} calls failed; the figures above count only answered calls");
    }
}

// ----------------------------------------------------------------- main

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not:
    // a benchmark is not a test, so it does nothing there.
    if !std::env::args().any(|a| a == "--bench") && std::env::var_os("BENCH_FORCE").is_none() {
        println!("api bench: skipped (run it with `cargo bench -p emulator --bench api`)");
        return;
    }
    let p = Params::from_env();
    let threads = env_usize("DRIVER_THREADS", 1).max(1);
    println!(
        "api bench: SECS={} SERVICES={} SEQ_WRITES={} WRITERS={} WRITES_PER_CLIENT={} READERS={} READS_PER_CLIENT={} BG_WRITERS={} FAMILY={} DRIVER_THREADS={threads}",
        p.secs.as_secs_f64(),
        p.services,
        p.seq_writes,
        p.writers,
        p.writes_per_client,
        p.readers,
        p.reads_per_client,
        p.bg_writers,
        if p.shared_family { "shared" } else { "per-writer" },
    );
    // The children live in `main`, outside the runtime, and are stopped
    // when it returns (Ctrl-C included: the runtime watches for it).
    let mut emu_proc = None;
    let emu_url = match std::env::var("EMULATOR_URL") {
        Ok(url) => url,
        Err(_) => match EmulatorProc::start() {
            Ok((proc, url)) => {
                emu_proc = Some(proc);
                url
            }
            Err(e) => {
                eprintln!("api bench: {e}");
                std::process::exit(1);
            }
        },
    };
    let mut moto_proc = None;
    let moto_url = match std::env::var("MOTO_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("MOTO").is_ok_and(|v| v == "0") => None,
        Err(_) => match MotoProc::start() {
            Ok((proc, url)) => {
                moto_proc = Some(proc);
                Some(url)
            }
            Err(e) => {
                eprintln!("api bench: {e}");
                drop(emu_proc);
                std::process::exit(1);
            }
        },
    };
    if let Some(proc) = &emu_proc {
        println!("emulator data directory {}", proc.data.path().display());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = rt.block_on(async {
        tokio::select! {
            r = run(&p, &emu_url, moto_url.as_deref()) => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
        }
    });
    drop(rt);
    if let Err(e) = &result {
        eprintln!("api bench: {e}");
        if let Some(proc) = &emu_proc {
            eprintln!("emulator stderr (last lines):\n{}", proc.stderr_tail());
        }
    }
    drop(moto_proc);
    drop(emu_proc);
    if result.is_err() {
        std::process::exit(1);
    }
}

async fn run(p: &Params, emu_url: &str, moto_url: Option<&str>) -> Result<(), String> {
    let emu = Target::new("emulator", emu_url.to_string());
    let moto = moto_url.map(|u| Target::new("moto", u.to_string()));
    emu.wait_ready(Duration::from_secs(60)).await?;
    if let Some(m) = &moto {
        m.wait_ready(Duration::from_secs(60)).await?;
    }
    println!(
        "emulator {emu_url}, moto {}",
        moto_url.unwrap_or("(skipped)")
    );
    setup(&emu, p).await?;
    if let Some(m) = &moto {
        setup(m, p).await?;
    }
    // One target at a time: they share the machine's cores.
    let e = measure(&emu, p).await;
    let m = match &moto {
        Some(m) => Some(measure(m, p).await),
        None => None,
    };
    report(p, &e, m.as_ref());
    Ok(())
}
