//! The balancer process: `emulator balancer --admin 127.0.0.1:PORT`,
//! started in a process group of its own so it outlives the emulator,
//! recorded in the data directory (`balancer`: pid and admin address) so a
//! restarted emulator adopts it instead of starting another, and stopped
//! by `down` (or when `up` ends without `--keep`).
//!
//! [`Remote`] talks to its admin API (`alb::admin`): it puts the shadow's
//! configuration (`PUT /desired`, coalesced after changes), and keeps
//! target health and request counts fresh (`GET /health`, `GET /counts`,
//! every [`POLL`]) and drain completions (`GET /removals`, long-polled).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alb::{Alb, ApplyReport, Target, TargetHealthDescription};
use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

/// How often health and counts are read from the balancer process.
pub const POLL: Duration = Duration::from_millis(200);

const RECORD: &str = "balancer";
const LOG: &str = "balancer.log";

/// The balancer process of a data directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    pid: u32,
    admin: String,
}

#[derive(Deserialize)]
struct Counts {
    #[serde(default)]
    targets: Vec<TargetCount>,
}

#[derive(Deserialize)]
struct TargetCount {
    id: String,
    port: u16,
    request_count: u64,
}

#[derive(Deserialize)]
struct Generation {
    generation: u64,
}

/// A client of the balancer process, with what it last reported.
pub struct Remote {
    base: String,
    http: reqwest::Client,
    health: ArcSwap<BTreeMap<String, Vec<TargetHealthDescription>>>,
    counts: ArcSwap<BTreeMap<String, Vec<(Target, u64)>>>,
    listeners: ArcSwap<BTreeMap<String, SocketAddr>>,
    removals: watch::Sender<u64>,
    /// Bumped when a refresh finds any target's state or reason changed.
    health_changes: watch::Sender<u64>,
    dirty: Notify,
    /// Off until start-up has rebuilt the whole model: a partial model
    /// put to an adopted balancer would drain the targets it lacks.
    enabled: AtomicBool,
    shadow: std::sync::OnceLock<Alb>,
    puts: tokio::sync::Mutex<()>,
    cancel: CancellationToken,
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let resp = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("{url}: {}", resp.status()));
    }
    resp.json().await.map_err(|e| e.to_string())
}

impl Remote {
    /// A client of the balancer at `admin` (`HOST:PORT`).
    pub fn new(admin: &str) -> Arc<Remote> {
        Arc::new(Remote {
            base: format!("http://{admin}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            health: ArcSwap::from_pointee(BTreeMap::new()),
            counts: ArcSwap::from_pointee(BTreeMap::new()),
            listeners: ArcSwap::from_pointee(BTreeMap::new()),
            removals: watch::Sender::new(0),
            health_changes: watch::Sender::new(0),
            dirty: Notify::new(),
            enabled: AtomicBool::new(false),
            shadow: std::sync::OnceLock::new(),
            puts: tokio::sync::Mutex::new(()),
            cancel: CancellationToken::new(),
        })
    }

    /// Whether the balancer answers.
    pub async fn alive(&self) -> bool {
        self.http
            .get(format!("{}/desired", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Starts feeding the balancer from `shadow` and reading it back.
    /// Call once the model is complete.
    pub fn start(self: &Arc<Self>, shadow: Alb) {
        let _ = self.shadow.set(shadow);
        self.enabled.store(true, Ordering::Release);
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = me.cancel.cancelled() => return,
                    _ = me.dirty.notified() => {}
                }
                if let Some(shadow) = me.shadow.get() {
                    for (arn, e) in me.sync(shadow).await {
                        tracing::warn!(%arn, "the balancer could not apply: {e}");
                    }
                }
            }
        });
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.refresh().await;
                tokio::select! {
                    _ = me.cancel.cancelled() => return,
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        });
        let me = self.clone();
        tokio::spawn(async move {
            let mut after = 0u64;
            loop {
                let url = format!("{}/removals?after={after}&timeout_ms=20000", me.base);
                let got = tokio::select! {
                    _ = me.cancel.cancelled() => return,
                    g = get_json::<Generation>(&me.http, &url) => g,
                };
                match got {
                    Ok(g) if g.generation > after => {
                        after = g.generation;
                        // Health first, so waiters see the target gone.
                        me.refresh().await;
                        me.removals.send_replace(after);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!("balancer removals: {e}");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
    }

    /// Stops the background tasks (the process goes on).
    pub fn detach(&self) {
        self.cancel.cancel();
    }

    /// Schedules a put of the model.
    pub fn changed(&self) {
        if self.enabled.load(Ordering::Acquire) {
            self.dirty.notify_one();
        }
    }

    /// Puts the model now (when started); what could not be applied.
    pub async fn sync(&self, shadow: &Alb) -> Vec<(String, String)> {
        if !self.enabled.load(Ordering::Acquire) {
            return Vec::new();
        }
        let _one = self.puts.lock().await;
        let desired = shadow.export();
        let put = self
            .http
            .put(format!("{}/desired", self.base))
            .json(&desired)
            .send()
            .await;
        let report: ApplyReport = match put {
            Ok(r) if r.status().is_success() => match r.json().await {
                Ok(rep) => rep,
                Err(e) => return vec![(String::new(), e.to_string())],
            },
            Ok(r) => return vec![(String::new(), format!("balancer answered {}", r.status()))],
            Err(e) => return vec![(String::new(), format!("balancer unreachable: {e}"))],
        };
        self.listeners.store(Arc::new(report.listeners.clone()));
        self.refresh().await;
        report
            .errors
            .into_iter()
            .map(|e| (e.arn, e.message))
            .collect()
    }

    async fn refresh(&self) {
        let (health_url, counts_url) = (
            format!("{}/health", self.base),
            format!("{}/counts", self.base),
        );
        let health =
            get_json::<BTreeMap<String, Vec<TargetHealthDescription>>>(&self.http, &health_url);
        let counts = get_json::<BTreeMap<String, Counts>>(&self.http, &counts_url);
        let (health, counts) = tokio::join!(health, counts);
        match health {
            Ok(h) => {
                let changed = health_states(&self.health.load()) != health_states(&h);
                self.health.store(Arc::new(h));
                if changed {
                    self.health_changes.send_modify(|n| *n += 1);
                }
            }
            Err(e) => tracing::debug!("balancer health: {e}"),
        }
        if let Ok(c) = counts {
            let c = c
                .into_iter()
                .map(|(tg, c)| {
                    let v = c
                        .targets
                        .into_iter()
                        .map(|t| (Target::new(t.id, t.port), t.request_count))
                        .collect();
                    (tg, v)
                })
                .collect();
            self.counts.store(Arc::new(c));
        }
    }

    pub fn health(&self, tg: &str) -> Vec<TargetHealthDescription> {
        self.health.load().get(tg).cloned().unwrap_or_default()
    }

    pub fn counts(&self, tg: &str) -> Vec<(Target, u64)> {
        self.counts.load().get(tg).cloned().unwrap_or_default()
    }

    pub fn removals(&self) -> watch::Receiver<u64> {
        self.removals.subscribe()
    }

    /// Changes when a refresh finds a target's health changed.
    pub fn health_changes(&self) -> watch::Receiver<u64> {
        self.health_changes.subscribe()
    }

    pub fn listener_addrs(&self) -> BTreeMap<String, SocketAddr> {
        self.listeners.load().as_ref().clone()
    }

    pub async fn metrics(&self) -> String {
        match self.http.get(format!("{}/metrics", self.base)).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => format!("# balancer unreachable: {e}\n"),
        }
    }
}

/// What a health watcher cares about: each target's state and reason.
fn health_states(
    h: &BTreeMap<String, Vec<TargetHealthDescription>>,
) -> Vec<(
    &str,
    &str,
    u16,
    alb::TargetHealthState,
    Option<alb::TargetHealthReason>,
)> {
    h.iter()
        .flat_map(|(tg, ds)| {
            ds.iter().map(move |d| {
                (
                    tg.as_str(),
                    d.target.id.as_str(),
                    d.target.port,
                    d.health.state,
                    d.health.reason,
                )
            })
        })
        .collect()
}

fn read_record(dir: &Path) -> Option<Record> {
    let bytes = std::fs::read(dir.join(RECORD)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The balancer process of `dir`: the running one it records (adopted),
/// or a new one. Returns its client and whether it was adopted.
pub async fn start_or_adopt(dir: &Path) -> Result<(Arc<Remote>, bool), String> {
    if let Some(rec) = read_record(dir) {
        let remote = Remote::new(&rec.admin);
        if remote.alive().await {
            tracing::info!(pid = rec.pid, admin = %rec.admin, "adopting the running balancer");
            return Ok((remote, true));
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port for the balancer: {e}"))?
        .port();
    let admin = format!("127.0.0.1:{port}");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(LOG))
        .map_err(|e| format!("cannot open {}: {e}", dir.join(LOG).display()))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["balancer", "--admin", &admin])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    // Its own process group: Ctrl-C on `up` and a kill of the emulator
    // leave it running.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the balancer: {e}"))?;
    let pid = child.id();
    // Never waited for: when the emulator exits first, init reaps it.
    std::mem::forget(child);
    let rec = Record {
        pid,
        admin: admin.clone(),
    };
    crate::db::journal::write_atomic(
        &dir.join(RECORD),
        &serde_json::to_vec(&rec).expect("record serializes"),
    )
    .map_err(|e| e.to_string())?;
    let remote = Remote::new(&admin);
    for _ in 0..100 {
        if remote.alive().await {
            tracing::info!(pid, %admin, "balancer started");
            return Ok((remote, false));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!(
        "the balancer did not come up (see {})",
        dir.join(LOG).display()
    ))
}

/// Stops the balancer process of `dir`, if any (gracefully, then
/// SIGKILL), and forgets it.
pub async fn stop(dir: &Path) {
    let Some(rec) = read_record(dir) else { return };
    let http = reqwest::Client::new();
    let _ = http
        .post(format!("http://{}/shutdown", rec.admin))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    let alive = |pid: u32| Path::new(&format!("/proc/{pid}")).exists() && !zombie(pid);
    for _ in 0..100 {
        if !alive(rec.pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if alive(rec.pid) && Remote::new(&rec.admin).alive().await {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &rec.pid.to_string()])
            .status();
    }
    let _ = std::fs::remove_file(dir.join(RECORD));
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}
