//! An in-memory [`ContainerRuntime`] for fast unit tests of the control
//! plane. It behaves like a tiny, well-mannered engine: names are unique,
//! dynamic ports come from a counter, fixed host ports can collide, and
//! tests can make containers exit or change health (which emits events).
//! Every feature is also proven on real Docker in `emulator/tests/`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::broadcast;

use super::{
    labels, ContainerRuntime, ContainerSpec, ContainerState, EngineInfo, Health, ImagePull,
    LocalImage, NetworkSpec, ObservedContainer, PortBinding, RegistryAuth, RuntimeError,
    RuntimeEvent,
};

#[derive(Debug, Clone)]
struct FakeContainer {
    id: String,
    spec: ContainerSpec,
    state: ContainerState,
    health: Option<Health>,
    ports: Vec<PortBinding>,
    output: Vec<super::LogLine>,
    /// What `stats` reports: the front, popped while more follow.
    stats: std::collections::VecDeque<super::ContainerStats>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Images on the engine, with their `RepoDigests`.
    images: HashMap<String, Vec<String>>,
    /// What a registry holds: pull reference -> manifest digest.
    published: HashMap<String, String>,
    /// What [`ContainerRuntime::push_image`] pushed: target -> source.
    pushed: HashMap<String, String>,
    networks: HashMap<String, HashMap<String, String>>,
    containers: HashMap<String, FakeContainer>,
    next_port: u16,
    next_id: u64,
    /// Every operation, in order ("create c1", "start c1", ...).
    log: Vec<String>,
    /// The engine does not answer (see [`FakeRuntime::set_down`]).
    down: bool,
    /// How often it was asked about itself (`info`, `ping`).
    info_calls: u64,
}

/// The fake engine. Cheap to clone (shared state).
#[derive(Clone)]
pub struct FakeRuntime {
    inner: Arc<Mutex<Inner>>,
    events: broadcast::Sender<RuntimeEvent>,
}

impl Default for FakeRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRuntime {
    /// A fake engine that has every image except those starting with
    /// `missing/`; containers of images starting with `crash/` exit with
    /// code 1 as soon as they start (a crash loop).
    pub fn new() -> FakeRuntime {
        let (events, _) = broadcast::channel(256);
        FakeRuntime {
            inner: Arc::new(Mutex::new(Inner {
                next_port: 32768,
                ..Inner::default()
            })),
            events,
        }
    }

    /// Makes the engine stop answering (`info`, listing and events fail)
    /// or answer again, as a host that goes away and comes back.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// How often the engine was asked about itself (whether it answers).
    pub fn info_calls(&self) -> u64 {
        self.lock().info_calls
    }

    fn unavailable(&self) -> RuntimeError {
        RuntimeError::Unavailable {
            endpoint: "fake".into(),
            message: "the engine is down".into(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, c: &FakeContainer, action: &str) {
        let _ = self.events.send(RuntimeEvent {
            container_id: c.id.clone(),
            action: action.to_string(),
            labels: c.spec.labels.clone(),
        });
    }

    /// Puts an image in the (fake) registry: `reference` is what a pull
    /// names (`HOST/NAME:TAG`); it is also pullable as `HOST/NAME@DIGEST`.
    pub fn publish(&self, reference: &str, digest: &str) {
        let mut inner = self.lock();
        let repo = repository_of(reference);
        inner
            .published
            .insert(format!("{repo}@{digest}"), digest.to_string());
        inner
            .published
            .insert(reference.to_string(), digest.to_string());
    }

    /// Drops an image from the engine (as `docker rmi` does).
    pub fn remove_image(&self, image: &str) {
        self.lock().images.remove(image);
    }

    /// Makes a container exit with `code` (as if its process died).
    pub fn exit(&self, runtime_name: &str, code: i64) {
        let c = {
            let mut inner = self.lock();
            let Some(c) = inner.containers.get_mut(runtime_name) else {
                return;
            };
            c.state = ContainerState::Exited {
                code,
                oom_killed: false,
            };
            c.clone()
        };
        self.emit(&c, "die");
    }

    /// Makes a container print `message` now (as if its process wrote it).
    pub fn print(&self, runtime_name: &str, message: &str) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        self.print_at(runtime_name, i64::try_from(now).unwrap_or(0), message);
    }

    /// Makes a container print `message` at `timestamp_ms`.
    pub fn print_at(&self, runtime_name: &str, timestamp_ms: i64, message: &str) {
        if let Some(c) = self.lock().containers.get_mut(runtime_name) {
            c.output.push(super::LogLine {
                timestamp_ms,
                message: message.to_string(),
            });
        }
    }

    /// Scripts a container's counters: each `stats` call reports the next
    /// sample, the last one from then on.
    pub fn script_stats(&self, runtime_name: &str, samples: Vec<super::ContainerStats>) {
        if let Some(c) = self.lock().containers.get_mut(runtime_name) {
            c.stats = samples.into();
        }
    }

    /// Sets a container's health (as if its health check ran).
    pub fn set_health(&self, runtime_name: &str, health: Health) {
        let c = {
            let mut inner = self.lock();
            let Some(c) = inner.containers.get_mut(runtime_name) else {
                return;
            };
            c.health = Some(health);
            c.clone()
        };
        self.emit(&c, "health_status");
    }

    /// Engine-level names of all containers.
    /// What was pushed: `repository:tag` -> the local source image.
    pub fn pushed(&self) -> HashMap<String, String> {
        self.lock().pushed.clone()
    }

    pub fn container_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lock().containers.keys().cloned().collect();
        v.sort();
        v
    }

    pub fn network_names(&self) -> Vec<String> {
        self.lock().networks.keys().cloned().collect()
    }

    /// The spec a container was created with.
    pub fn spec(&self, runtime_name: &str) -> Option<ContainerSpec> {
        self.lock()
            .containers
            .get(runtime_name)
            .map(|c| c.spec.clone())
    }

    /// The operations performed so far.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// The runtime name of the container `name` of task `task_arn`.
    pub fn find(&self, task_arn: &str, name: &str) -> Option<String> {
        self.lock()
            .containers
            .iter()
            .find(|(_, c)| {
                c.spec.labels.get(labels::TASK_ARN).map(String::as_str) == Some(task_arn)
                    && c.spec
                        .labels
                        .get(labels::CONTAINER_NAME)
                        .map(String::as_str)
                        == Some(name)
            })
            .map(|(k, _)| k.clone())
    }

    fn matches(labels: &HashMap<String, String>, filter: &[(&str, &str)]) -> bool {
        filter
            .iter()
            .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
    }
}

/// `HOST/NAME` of `HOST/NAME:TAG` or `HOST/NAME@DIGEST`.
fn repository_of(reference: &str) -> &str {
    if let Some((repo, _)) = reference.split_once('@') {
        return repo;
    }
    let last = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last..].rfind(':') {
        Some(i) => &reference[..last + i],
        None => reference,
    }
}

fn ready<T: Send + 'static>(v: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(v))
}

impl ContainerRuntime for FakeRuntime {
    fn info(&self) -> BoxFuture<'_, Result<EngineInfo, RuntimeError>> {
        self.lock().info_calls += 1;
        if self.lock().down {
            return ready(Err(self.unavailable()));
        }
        ready(Ok(EngineInfo {
            version: "fake".into(),
            api_version: "1.41".into(),
            cpus: 2,
            memory_mib: 4096,
        }))
    }

    fn ensure_image<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        let r = if image.starts_with("missing/") {
            Err(RuntimeError::ImageNotFound {
                image: image.to_string(),
            })
        } else {
            self.lock().images.entry(image.to_string()).or_default();
            Ok(())
        };
        ready(r)
    }

    fn push_image<'a>(
        &'a self,
        source: &'a str,
        repository: &'a str,
        tag: &'a str,
        _auth: &'a RegistryAuth,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        let mut inner = self.lock();
        inner.log.push(format!("push {source} {repository}:{tag}"));
        let Some(digests) = inner.images.get(source).cloned() else {
            return ready(Err(RuntimeError::NotFound(format!(
                "No such image: {source}"
            ))));
        };
        let target = format!("{repository}:{tag}");
        let digest = format!("sha256:fake-pushed-{source}");
        inner.images.insert(target.clone(), digests);
        inner.published.insert(target.clone(), digest);
        inner.pushed.insert(target, source.to_string());
        ready(Ok(()))
    }

    fn pull_image<'a>(
        &'a self,
        pull: &'a ImagePull,
    ) -> BoxFuture<'a, Result<String, RuntimeError>> {
        let mut inner = self.lock();
        inner.log.push(format!("pull {}", pull.reference));
        let Some(digest) = inner.published.get(&pull.reference).cloned() else {
            return ready(Err(RuntimeError::NotFound(format!(
                "manifest for {} not found: manifest unknown",
                pull.reference
            ))));
        };
        let repo_digests = vec![format!("{}@{digest}", repository_of(&pull.reference))];
        inner.images.insert(pull.reference.clone(), repo_digests);
        ready(Ok(digest))
    }

    fn inspect_image<'a>(
        &'a self,
        image: &'a str,
    ) -> BoxFuture<'a, Result<Option<LocalImage>, RuntimeError>> {
        let found = self.lock().images.get(image).map(|d| LocalImage {
            id: format!("sha256:fake-{image}"),
            repo_digests: d.clone(),
        });
        ready(Ok(found))
    }

    fn create_network<'a>(
        &'a self,
        spec: &'a NetworkSpec,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        let mut inner = self.lock();
        inner.log.push(format!("create-network {}", spec.name));
        inner
            .networks
            .entry(spec.name.clone())
            .or_insert_with(|| spec.labels.clone());
        ready(Ok(()))
    }

    fn remove_network<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        let mut inner = self.lock();
        inner.log.push(format!("remove-network {name}"));
        inner.networks.remove(name);
        ready(Ok(()))
    }

    fn create_container<'a>(
        &'a self,
        spec: &'a ContainerSpec,
    ) -> BoxFuture<'a, Result<String, RuntimeError>> {
        let mut inner = self.lock();
        if inner.containers.contains_key(&spec.runtime_name) {
            return ready(Err(RuntimeError::Conflict(spec.runtime_name.clone())));
        }
        if !inner.networks.contains_key(&spec.network) {
            return ready(Err(RuntimeError::CannotCreate(format!(
                "network {} not found",
                spec.network
            ))));
        }
        inner.next_id += 1;
        let id = format!("fake{:08}", inner.next_id);
        inner.log.push(format!("create {}", spec.runtime_name));
        inner.containers.insert(
            spec.runtime_name.clone(),
            FakeContainer {
                id: id.clone(),
                spec: spec.clone(),
                state: ContainerState::Created,
                health: None,
                ports: Vec::new(),
                output: Vec::new(),
                stats: Default::default(),
            },
        );
        ready(Ok(id))
    }

    fn start_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        let result = {
            let mut inner = self.lock();
            inner.log.push(format!("start {name}"));
            let taken: HashSet<u16> = inner
                .containers
                .values()
                .filter(|c| c.state == ContainerState::Running)
                .flat_map(|c| c.ports.iter().map(|p| p.host_port))
                .collect();
            let mut next_port = inner.next_port;
            let Some(c) = inner.containers.get_mut(name) else {
                return ready(Err(RuntimeError::NotFound(name.to_string())));
            };
            let mut ports = Vec::new();
            let mut err = None;
            for p in &c.spec.ports {
                let host_port = match p.host_port {
                    Some(h) if taken.contains(&h) => {
                        err = Some(RuntimeError::CannotStart(format!(
                            "Bind for 127.0.0.1:{h} failed: port is already allocated"
                        )));
                        break;
                    }
                    Some(h) => h,
                    None => {
                        next_port += 1;
                        next_port
                    }
                };
                ports.push(PortBinding {
                    container_port: p.container_port,
                    protocol: p.protocol.clone(),
                    host_ip: "127.0.0.1".into(),
                    host_port,
                });
            }
            match err {
                Some(e) => Err(e),
                None => {
                    c.ports = ports;
                    c.state = ContainerState::Running;
                    if c.spec.health.is_some() {
                        c.health = Some(Health::Starting);
                    }
                    let c = c.clone();
                    inner.next_port = next_port;
                    Ok(c)
                }
            }
        };
        ready(result.map(|c| {
            self.emit(&c, "start");
            if c.spec.image.starts_with("crash/") {
                self.exit(&c.spec.runtime_name, 1);
            }
        }))
    }

    fn stop_container<'a>(
        &'a self,
        name: &'a str,
        _timeout_s: u32,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        let c = {
            let mut inner = self.lock();
            inner.log.push(format!("stop {name}"));
            match inner.containers.get_mut(name) {
                Some(c) if c.state == ContainerState::Running => {
                    c.state = ContainerState::Exited {
                        code: 0,
                        oom_killed: false,
                    };
                    Some(c.clone())
                }
                _ => None,
            }
        };
        if let Some(c) = c {
            self.emit(&c, "die");
        }
        ready(Ok(()))
    }

    fn kill_container<'a>(
        &'a self,
        name: &'a str,
        _signal: &'a str,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        self.exit(name, 137);
        ready(Ok(()))
    }

    fn stats<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<super::ContainerStats, RuntimeError>> {
        let mut inner = self.lock();
        let r = inner
            .containers
            .values_mut()
            .find(|c| c.id == name || c.spec.runtime_name == name)
            .and_then(|c| {
                if c.stats.len() > 1 {
                    c.stats.pop_front()
                } else {
                    c.stats.front().copied()
                }
            })
            .ok_or_else(|| RuntimeError::NotFound(name.to_string()));
        ready(r)
    }

    fn logs<'a>(
        &'a self,
        name: &'a str,
        since_ms: i64,
        tail: usize,
    ) -> BoxFuture<'a, Result<Vec<super::LogLine>, RuntimeError>> {
        let inner = self.lock();
        let r = match inner.containers.get(name) {
            Some(c) => {
                let lines: Vec<_> = c
                    .output
                    .iter()
                    .filter(|l| l.timestamp_ms >= since_ms)
                    .cloned()
                    .collect();
                Ok(lines[lines.len().saturating_sub(tail)..].to_vec())
            }
            None => Err(RuntimeError::NotFound(name.to_string())),
        };
        ready(r)
    }

    fn remove_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        let mut inner = self.lock();
        inner.log.push(format!("remove {name}"));
        inner.containers.remove(name);
        ready(Ok(()))
    }

    fn list_containers<'a>(
        &'a self,
        filter: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<ObservedContainer>, RuntimeError>> {
        let inner = self.lock();
        if inner.down {
            return ready(Err(self.unavailable()));
        }
        let v = inner
            .containers
            .iter()
            .filter(|(_, c)| Self::matches(&c.spec.labels, filter))
            .map(|(name, c)| ObservedContainer {
                id: c.id.clone(),
                runtime_name: name.clone(),
                labels: c.spec.labels.clone(),
                state: c.state.clone(),
                health: c.health,
                ports: c.ports.clone(),
                address: None,
            })
            .collect();
        ready(Ok(v))
    }

    fn list_networks<'a>(
        &'a self,
        filter: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<String>, RuntimeError>> {
        let inner = self.lock();
        let v = inner
            .networks
            .iter()
            .filter(|(_, l)| Self::matches(l, filter))
            .map(|(n, _)| n.clone())
            .collect();
        ready(Ok(v))
    }

    fn events(&self, instance: &str) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
        let instance = instance.to_string();
        let rx = self.events.subscribe();
        futures_util::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => return Some((ev, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .filter(move |ev| std::future::ready(ev.labels.get(labels::INSTANCE) == Some(&instance)))
        .map(Ok)
        .boxed()
    }
}
