//! The container runtime boundary: everything the control plane asks of a
//! container engine, as one object-safe trait held as `Arc<dyn
//! ContainerRuntime>`.
//!
//! [`docker`] is the only module that talks to Docker (through bollard);
//! [`testing`] is an in-memory fake for fast unit tests. The types here are
//! engine-neutral: a [`ContainerSpec`] says what to create, an
//! [`ObservedContainer`] says what is there, [`RuntimeEvent`]s say that
//! something changed.
//!
//! Every object the emulator creates carries the [`labels`] of its emulator
//! instance; listing, events and cleanup filter on them, so two emulators
//! (or a compose stack) on the same engine never see each other's objects.

pub mod docker;
pub mod fleet;
pub mod testing;

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

/// Label keys put on every network and container.
pub mod labels {
    /// The emulator instance id (every object has it; the filter for all
    /// listing, events, adoption and `down`).
    pub const INSTANCE: &str = "com.pingpong.emulator.instance";
    pub const CLUSTER: &str = "com.pingpong.emulator.cluster";
    pub const TASK_ARN: &str = "com.pingpong.emulator.task-arn";
    pub const TASK_DEFINITION: &str = "com.pingpong.emulator.task-definition";
    pub const CONTAINER_NAME: &str = "com.pingpong.emulator.container-name";
    pub const CONTAINER_INSTANCE: &str = "com.pingpong.emulator.container-instance";
}

/// A failure of the runtime, worded for the task's `stoppedReason`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot connect to the Docker engine at {endpoint}: {message}")]
    Unavailable { endpoint: String, message: String },
    #[error("CannotPullContainerError: pull access denied for {image}, repository does not exist (not on the Docker engine; only the emulator's own ECR registry is reachable)")]
    ImageNotFound { image: String },
    /// A pull from the emulator's registry failed (the whole reason, in
    /// the agent's words, is the message).
    #[error("{0}")]
    CannotPull(String),
    #[error("CannotPullContainerError: building project image {image} failed: {message}")]
    ImageBuildFailed { image: String, message: String },
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("CannotStartContainerError: {0}")]
    CannotStart(String),
    #[error("CannotCreateContainerError: {0}")]
    CannotCreate(String),
    /// A task definition's `secrets` could not be read.
    #[error("ResourceInitializationError: unable to pull secrets or registry auth: {0}")]
    ResourceInitialization(String),
    #[error("docker: {0}")]
    Other(String),
}

/// Health as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

/// A container's state as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Exited { code: i64, oom_killed: bool },
}

/// A host port published for a container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    pub container_port: u16,
    pub protocol: String,
    pub host_ip: String,
    pub host_port: u16,
}

/// What the runtime reports about one labelled container.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedContainer {
    pub id: String,
    /// The engine-level name (`ecs-<family>-<rev>-<container>-<task id>`).
    pub runtime_name: String,
    pub labels: HashMap<String, String>,
    pub state: ContainerState,
    pub health: Option<Health>,
    pub ports: Vec<PortBinding>,
    /// The container's address on its network, when the emulator's host
    /// reaches it there (a local engine's bridge); `None` otherwise.
    pub address: Option<std::net::IpAddr>,
}

impl ObservedContainer {
    pub fn task_arn(&self) -> Option<&str> {
        self.labels.get(labels::TASK_ARN).map(String::as_str)
    }
    /// The ECS container name.
    pub fn container_name(&self) -> Option<&str> {
        self.labels.get(labels::CONTAINER_NAME).map(String::as_str)
    }
}

/// A port to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub container_port: u16,
    /// `None`: a dynamic host port on 127.0.0.1.
    pub host_port: Option<u16>,
    pub protocol: String,
}

/// A health check in engine terms (durations in seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSpec {
    /// `CMD ...`, `CMD-SHELL ...` or `NONE`, as in ECS and Docker.
    pub test: Vec<String>,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub retries: u32,
    pub start_period_s: u32,
}

/// Everything needed to create one container. `Debug` shows environment
/// names only: values may be secrets.
#[derive(Clone, PartialEq)]
pub struct ContainerSpec {
    pub runtime_name: String,
    pub image: String,
    pub env: Vec<(String, String)>,
    pub command: Vec<String>,
    pub entry_point: Vec<String>,
    /// Hard limit, MiB.
    pub memory_mib: Option<u32>,
    /// Soft limit, MiB.
    pub memory_reservation_mib: Option<u32>,
    pub cpu_shares: u32,
    pub stop_timeout_s: u32,
    pub health: Option<HealthSpec>,
    pub ports: Vec<PortSpec>,
    pub network: String,
    /// Names other containers of the task reach this one by.
    pub aliases: Vec<String>,
    pub labels: HashMap<String, String>,
    /// Options for the engine's log driver (`mode`, `max-buffer-size`),
    /// the driver itself staying the engine's default.
    pub log_options: Vec<(String, String)>,
}

impl std::fmt::Debug for ContainerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ContainerSpec")
            .field("runtime_name", &self.runtime_name)
            .field("image", &self.image)
            .field("env (names)", &env)
            .field("command", &self.command)
            .field("entry_point", &self.entry_point)
            .field("memory_mib", &self.memory_mib)
            .field("memory_reservation_mib", &self.memory_reservation_mib)
            .field("cpu_shares", &self.cpu_shares)
            .field("ports", &self.ports)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

/// A pull from a registry with basic-auth credentials. `Debug` hides the
/// password.
#[derive(Clone, PartialEq, Eq)]
pub struct ImagePull {
    /// What to pull: `HOST:PORT/NAME:TAG` or `HOST:PORT/NAME@sha256:...`.
    pub reference: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for ImagePull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImagePull")
            .field("reference", &self.reference)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// An image on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    pub id: String,
    /// `REPO@sha256:...` for each registry it was pulled from or pushed to.
    pub repo_digests: Vec<String>,
}

/// A user-defined network for one task.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    pub name: String,
    pub labels: HashMap<String, String>,
}

/// Something changed for a labelled container.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeEvent {
    pub container_id: String,
    /// `die`, `oom`, `start`, `health_status: healthy`, ...
    pub action: String,
    pub labels: HashMap<String, String>,
}

impl RuntimeEvent {
    pub fn task_arn(&self) -> Option<&str> {
        self.labels.get(labels::TASK_ARN).map(String::as_str)
    }
}

/// A container's resource counters at one moment (CPU is cumulative, so
/// utilization is the difference of two samples over the wall time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerStats {
    /// CPU time used since the container started, nanoseconds.
    pub cpu_total_ns: u64,
    pub memory_bytes: u64,
    /// Bytes received and sent over all its networks since it started.
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
}

/// One line a container wrote (stdout or stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the engine received it, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    pub message: String,
}

/// A login to an image registry (ECR's: user `AWS` and a token).
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    pub username: String,
    pub password: String,
    /// `HOST:PORT` of the registry.
    pub server: String,
}

impl std::fmt::Debug for RegistryAuth {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("username", &self.username)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// What the engine says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineInfo {
    pub version: String,
    pub api_version: String,
    /// What the engine's host has: CPUs and memory (a container instance's
    /// registered resources default to them).
    pub cpus: u32,
    pub memory_mib: u64,
}

/// The container engine, as the control plane sees it. Object-safe: held as
/// `Arc<dyn ContainerRuntime>`. All operations are idempotent where that is
/// cheap (removing what is gone succeeds).
pub trait ContainerRuntime: Send + Sync + 'static {
    /// The engine's version; an error when no engine answers.
    fn info(&self) -> BoxFuture<'_, Result<EngineInfo, RuntimeError>>;
    /// Whether the engine answers, as cheaply as it can say so (watched
    /// every few seconds).
    fn ping(&self) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move { self.info().await.map(|_| ()) })
    }
    /// Makes sure the image exists locally: the project's own images are
    /// built when missing (at most once per run: a failed build's error is
    /// returned again without building), any other missing image is
    /// [`RuntimeError::ImageNotFound`].
    fn ensure_image<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>>;
    /// Tags local image `source` as `repository:tag` and pushes that to
    /// its registry with `auth` (what `docker tag` and `docker push` do,
    /// without touching the user's Docker login).
    fn push_image<'a>(
        &'a self,
        source: &'a str,
        repository: &'a str,
        tag: &'a str,
        auth: &'a RegistryAuth,
    ) -> BoxFuture<'a, Result<(), RuntimeError>>;
    /// Pulls `pull.reference` with its credentials and returns the manifest digest (`sha256:...`).
    /// [`RuntimeError::NotFound`] when the registry has no such manifest or
    /// repository.
    fn pull_image<'a>(&'a self, pull: &'a ImagePull)
        -> BoxFuture<'a, Result<String, RuntimeError>>;
    /// The image when the engine has it.
    fn inspect_image<'a>(
        &'a self,
        image: &'a str,
    ) -> BoxFuture<'a, Result<Option<LocalImage>, RuntimeError>>;
    /// Creates the network (succeeds when it already exists).
    fn create_network<'a>(
        &'a self,
        spec: &'a NetworkSpec,
    ) -> BoxFuture<'a, Result<(), RuntimeError>>;
    fn remove_network<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>>;
    /// Creates a container; [`RuntimeError::Conflict`] when the name is taken.
    fn create_container<'a>(
        &'a self,
        spec: &'a ContainerSpec,
    ) -> BoxFuture<'a, Result<String, RuntimeError>>;
    fn start_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>>;
    /// SIGTERM, then SIGKILL after `timeout_s`.
    fn stop_container<'a>(
        &'a self,
        name: &'a str,
        timeout_s: u32,
    ) -> BoxFuture<'a, Result<(), RuntimeError>>;
    fn kill_container<'a>(
        &'a self,
        name: &'a str,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<(), RuntimeError>>;
    /// Force-removes a container (succeeds when it is gone already).
    fn remove_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>>;
    /// Containers carrying all of `labels` (key=value), running or not.
    fn list_containers<'a>(
        &'a self,
        labels: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<ObservedContainer>, RuntimeError>>;
    /// Names of networks carrying all of `labels`.
    fn list_networks<'a>(
        &'a self,
        labels: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<String>, RuntimeError>>;
    /// Container events (die, oom, start, health_status) of containers
    /// carrying `instance_label`. Ends when the engine connection drops.
    fn events(&self, instance: &str) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>>;
    /// The container's output since `since_ms` (0: from the start), at most
    /// the last `tail` lines, oldest first.
    fn logs<'a>(
        &'a self,
        name: &'a str,
        since_ms: i64,
        tail: usize,
    ) -> BoxFuture<'a, Result<Vec<LogLine>, RuntimeError>>;
    /// One sample of a running container's counters (service auto
    /// scaling's CPU metric, `emulator stats`). Runtimes without stats say so.
    fn stats<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<ContainerStats, RuntimeError>> {
        Box::pin(async move {
            Err(RuntimeError::Other(format!(
                "no stats for {name}: this runtime does not report them"
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_spec_debug_shows_env_names_not_values() {
        let spec = ContainerSpec {
            runtime_name: "ecs-web-1-app-0123".into(),
            image: "img".into(),
            env: vec![("DB_PASSWORD".into(), "hunter2".into())],
            command: vec![],
            entry_point: vec![],
            memory_mib: None,
            memory_reservation_mib: Some(64),
            cpu_shares: 2,
            stop_timeout_s: 30,
            health: None,
            ports: vec![],
            network: "ecs-task-0123".into(),
            aliases: vec![],
            labels: HashMap::new(),
            log_options: vec![],
        };
        let shown = format!("{spec:?}");
        assert!(shown.contains("DB_PASSWORD"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
