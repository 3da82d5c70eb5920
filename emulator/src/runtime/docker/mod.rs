//! [`ContainerRuntime`] on the local Docker engine, through bollard. The
//! only module that talks to Docker.
//!
//! Choices worth knowing:
//! - The API version is negotiated after connecting (engines as old as API
//!   1.41 are in use).
//! - Dynamic host ports: a port binding with `host_port: ""` on 127.0.0.1
//!   lets the engine choose; the port is read back by inspecting.
//! - Observation lists by label, then inspects each container (exit code,
//!   OOM flag and health are only in the inspect answer).
//! - The project's own images (exactly `pingpong-node`, `pingpong-client`
//!   and `pingpong-alb`, tagged `latest` or as the script tags them; see
//!   [`project_image`]) are built when missing by running the repository's
//!   `docker/build-images.sh <name>`, whose output (cargo's progress) goes
//!   to our stderr. Builds are serialized and each image is built at most
//!   once per run: a failed build is remembered and its error returned at
//!   once to later tasks, so a service whose tasks keep failing never runs
//!   the script in a loop. A look-alike (`pingpong-nod`) is any missing
//!   image: CannotPullContainerError at once.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, HostConfigLogConfig, NetworkCreateRequest, NetworkingConfig,
    PortBinding as DockerPortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, EventsOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StatsOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use super::{
    labels, ContainerRuntime, ContainerSpec, ContainerState, EngineInfo, Health, ImagePull,
    LocalImage, NetworkSpec, ObservedContainer, PortBinding, RegistryAuth, RuntimeError,
    RuntimeEvent,
};

mod images;

pub use images::{project_image, PROJECT_IMAGES};

/// The Docker engine.
pub struct DockerRuntime {
    docker: Docker,
    endpoint: String,
    /// Repository root holding `docker/build-images.sh`.
    repo_root: Option<PathBuf>,
    /// The outcome of each project image's build (by the script's name),
    /// held while building: builds are serialized and run once per run.
    builds: tokio::sync::Mutex<HashMap<&'static str, Result<(), String>>>,
    /// Containers' own addresses are reachable from here: the engine is
    /// local (a unix socket) and not told otherwise (`EMULATOR_TARGETS_VIA`).
    containers_reachable: bool,
    /// Another host's engine: host ports are published on every address
    /// there (the balancer reaches them from outside; the local engine's
    /// on loopback), and the project's images are not built there.
    remote: bool,
    /// The client's API version is the engine's (negotiated since it last
    /// answered).
    negotiated: std::sync::atomic::AtomicBool,
}

fn endpoint_name() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// Whether the balancer reaches tasks at their containers' addresses on
/// the engine's bridge (the default) rather than at the published host
/// port, through the engine's userland port proxy
/// (`EMULATOR_TARGETS_VIA=host-port`, for comparison).
fn targets_via_container() -> bool {
    std::env::var("EMULATOR_TARGETS_VIA").map_or(true, |v| v != "host-port")
}

fn map_err(e: BollardError) -> RuntimeError {
    match e {
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => RuntimeError::NotFound(message),
        BollardError::DockerResponseServerError {
            status_code: 409,
            message,
        } => RuntimeError::Conflict(message),
        BollardError::DockerResponseServerError { message, .. } => RuntimeError::Other(message),
        other => RuntimeError::Other(other.to_string()),
    }
}

impl DockerRuntime {
    /// Connects (honouring `DOCKER_HOST`), negotiates the API version and
    /// checks that an engine answers.
    pub async fn connect(repo_root: Option<PathBuf>) -> Result<DockerRuntime, RuntimeError> {
        let endpoint = endpoint_name();
        let unavailable = |message: String| RuntimeError::Unavailable {
            endpoint: endpoint.clone(),
            message,
        };
        let docker = Docker::connect_with_defaults().map_err(|e| unavailable(e.to_string()))?;
        let docker = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            docker.negotiate_version(),
        )
        .await
        .map_err(|_| unavailable("no answer within 10 s".into()))?
        .map_err(|e| unavailable(e.to_string()))?;
        docker
            .ping()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(DockerRuntime {
            containers_reachable: endpoint.starts_with("unix://") && targets_via_container(),
            docker,
            endpoint,
            repo_root,
            builds: tokio::sync::Mutex::new(HashMap::new()),
            remote: false,
            negotiated: true.into(),
        })
    }

    /// The engine of another host at `endpoint`: `unix://PATH`,
    /// `tcp://HOST:PORT` (plain HTTP), or TLS as the Docker CLI does it
    /// (`https://HOST:PORT`, or `tcp://` with `tls_dir` holding `ca.pem`,
    /// `cert.pem` and `key.pem`). Nothing is sent yet: the first call
    /// negotiates the API version (an engine that is down now is an
    /// instance whose agent is disconnected, not an error). Its host ports
    /// are published on every address, as on an EC2 host in bridge mode.
    pub fn remote(
        endpoint: &str,
        tls_dir: Option<&std::path::Path>,
    ) -> Result<DockerRuntime, RuntimeError> {
        const TIMEOUT_S: u64 = 60;
        let bad = |message: String| RuntimeError::Unavailable {
            endpoint: endpoint.to_string(),
            message,
        };
        let version = bollard::API_DEFAULT_VERSION;
        let docker = if let Some(path) = endpoint.strip_prefix("unix://") {
            Docker::connect_with_unix(path, TIMEOUT_S, version)
        } else if let Some(rest) = endpoint
            .strip_prefix("https://")
            .or_else(|| tls_dir.and(endpoint.strip_prefix("tcp://")))
        {
            let dir = tls_dir
                .map(std::path::Path::to_path_buf)
                .or_else(|| std::env::var_os("DOCKER_CERT_PATH").map(PathBuf::from))
                .ok_or_else(|| {
                    bad("TLS needs a certificate directory (ca.pem, cert.pem, key.pem)".into())
                })?;
            Docker::connect_with_ssl(
                &format!("https://{rest}"),
                &dir.join("key.pem"),
                &dir.join("cert.pem"),
                &dir.join("ca.pem"),
                TIMEOUT_S,
                version,
            )
        } else if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
            Docker::connect_with_http(endpoint, TIMEOUT_S, version)
        } else {
            return Err(bad(
                "expected unix://PATH, tcp://HOST:PORT or https://HOST:PORT".into(),
            ));
        }
        .map_err(|e| bad(e.to_string()))?;
        Ok(DockerRuntime {
            docker,
            endpoint: endpoint.to_string(),
            repo_root: None,
            builds: tokio::sync::Mutex::new(HashMap::new()),
            containers_reachable: false,
            remote: true,
            negotiated: false.into(),
        })
    }

    /// Lowers the shared client's API version to the engine's, once per
    /// time it answers (an engine seen for the first time, or back after
    /// an upgrade).
    async fn negotiate(&self) -> Result<(), BollardError> {
        use std::sync::atomic::Ordering;
        if !self.negotiated.load(Ordering::Relaxed) {
            self.docker.clone().negotiate_version().await?;
            self.negotiated.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn inspect(&self, id: &str) -> Result<Option<ObservedContainer>, RuntimeError> {
        let info = match self.docker.inspect_container(id, None).await {
            Ok(i) => i,
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(None),
            Err(e) => return Err(map_err(e)),
        };
        let state = info.state.unwrap_or_default();
        let observed_state = match state.status {
            Some(ContainerStateStatusEnum::RUNNING)
            | Some(ContainerStateStatusEnum::RESTARTING)
            | Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Running,
            Some(ContainerStateStatusEnum::CREATED) => ContainerState::Created,
            _ => ContainerState::Exited {
                code: state.exit_code.unwrap_or(-1),
                oom_killed: state.oom_killed.unwrap_or(false),
            },
        };
        let health = state.health.and_then(|h| match h.status {
            Some(HealthStatusEnum::STARTING) => Some(Health::Starting),
            Some(HealthStatusEnum::HEALTHY) => Some(Health::Healthy),
            Some(HealthStatusEnum::UNHEALTHY) => Some(Health::Unhealthy),
            _ => None,
        });
        let mut ports = Vec::new();
        let settings = info.network_settings.unwrap_or_default();
        // A local engine's bridge networks are routed on this host: the
        // balancer reaches a container there without the port proxy.
        let address = settings
            .networks
            .iter()
            .flat_map(|n| n.values())
            .filter_map(|e| e.ip_address.as_deref())
            .find_map(|ip| ip.parse::<std::net::IpAddr>().ok())
            .filter(|_| self.containers_reachable);
        if let Some(map) = settings.ports {
            for (key, bindings) in map {
                let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
                let Ok(container_port) = port.parse::<u16>() else {
                    continue;
                };
                for b in bindings.unwrap_or_default() {
                    let Some(host_port) = b.host_port.as_deref().and_then(|p| p.parse().ok())
                    else {
                        continue;
                    };
                    ports.push(PortBinding {
                        container_port,
                        protocol: proto.to_string(),
                        host_ip: b.host_ip.unwrap_or_default(),
                        host_port,
                    });
                }
            }
        }
        ports.sort_by_key(|p| (p.container_port, p.host_port));
        let config = info.config.unwrap_or_default();
        Ok(Some(ObservedContainer {
            id: info.id.unwrap_or_default(),
            runtime_name: info
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            labels: config.labels.unwrap_or_default(),
            state: observed_state,
            health,
            ports,
            address,
        }))
    }
}

fn label_filter(filter: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut m = HashMap::new();
    m.insert(
        "label".to_string(),
        filter.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    );
    m
}

fn health_config(spec: &ContainerSpec) -> Option<HealthConfig> {
    const S: i64 = 1_000_000_000;
    spec.health.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(i64::from(h.interval_s.max(1)) * S),
        timeout: Some(i64::from(h.timeout_s.max(1)) * S),
        retries: Some(i64::from(h.retries)),
        start_period: Some(i64::from(h.start_period_s) * S),
        ..Default::default()
    })
}

impl ContainerRuntime for DockerRuntime {
    fn info(&self) -> BoxFuture<'_, Result<EngineInfo, RuntimeError>> {
        Box::pin(async move {
            let unavailable = |e: BollardError| RuntimeError::Unavailable {
                endpoint: self.endpoint.clone(),
                message: e.to_string(),
            };
            self.negotiate().await.map_err(unavailable)?;
            let v = self.docker.version().await.map_err(unavailable)?;
            let i = self.docker.info().await.map_err(unavailable)?;
            Ok(EngineInfo {
                version: v.version.unwrap_or_default(),
                api_version: self.docker.client_version().to_string(),
                cpus: i.ncpu.unwrap_or(0).max(0) as u32,
                memory_mib: (i.mem_total.unwrap_or(0).max(0) as u64) / (1024 * 1024),
            })
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            let r = match self.negotiate().await {
                Ok(()) => self.docker.ping().await.map(|_| ()),
                Err(e) => Err(e),
            };
            r.map_err(|e| {
                // It may come back as another version.
                self.negotiated
                    .store(false, std::sync::atomic::Ordering::Relaxed);
                RuntimeError::Unavailable {
                    endpoint: self.endpoint.clone(),
                    message: e.to_string(),
                }
            })
        })
    }

    fn ensure_image<'a>(&'a self, image: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            if self.image_exists(image).await? {
                return Ok(());
            }
            match project_image(image) {
                // The build script builds on this machine's engine: another
                // host gets the project's images from the registry.
                Some(_) if self.remote => Err(RuntimeError::ImageNotFound {
                    image: format!(
                        "{image} on {} (the project's images are built on the local engine only: name them by their ECR repository)",
                        self.endpoint
                    ),
                }),
                Some(name) => self.build_once(image, name).await,
                None => Err(RuntimeError::ImageNotFound {
                    image: image.to_string(),
                }),
            }
        })
    }

    fn pull_image<'a>(
        &'a self,
        pull: &'a ImagePull,
    ) -> BoxFuture<'a, Result<String, RuntimeError>> {
        Box::pin(self.pull(pull))
    }

    fn inspect_image<'a>(
        &'a self,
        image: &'a str,
    ) -> BoxFuture<'a, Result<Option<LocalImage>, RuntimeError>> {
        Box::pin(self.inspect_local_image(image))
    }

    fn push_image<'a>(
        &'a self,
        source: &'a str,
        repository: &'a str,
        tag: &'a str,
        auth: &'a RegistryAuth,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(self.push(source, repository, tag, auth))
    }

    fn create_network<'a>(
        &'a self,
        spec: &'a NetworkSpec,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            let req = NetworkCreateRequest {
                name: spec.name.clone(),
                driver: Some("bridge".into()),
                labels: Some(spec.labels.clone()),
                ..Default::default()
            };
            match self.docker.create_network(req).await {
                Ok(_) => Ok(()),
                Err(BollardError::DockerResponseServerError {
                    status_code: 409, ..
                }) => Ok(()),
                Err(e) => Err(map_err(e)),
            }
        })
    }

    fn remove_network<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            match self.docker.remove_network(name).await {
                Ok(()) => Ok(()),
                Err(BollardError::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(()),
                Err(e) => Err(map_err(e)),
            }
        })
    }

    fn create_container<'a>(
        &'a self,
        spec: &'a ContainerSpec,
    ) -> BoxFuture<'a, Result<String, RuntimeError>> {
        Box::pin(async move {
            let mut exposed = Vec::new();
            let mut bindings: HashMap<String, Option<Vec<DockerPortBinding>>> = HashMap::new();
            for p in &spec.ports {
                let key = format!("{}/{}", p.container_port, p.protocol);
                exposed.push(key.clone());
                bindings
                    .entry(key)
                    .or_insert_with(|| Some(Vec::new()))
                    .get_or_insert_with(Vec::new)
                    .push(DockerPortBinding {
                        host_ip: Some(if self.remote { "0.0.0.0" } else { "127.0.0.1" }.into()),
                        // "" lets the engine pick an ephemeral port.
                        host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
                    });
            }
            const MIB: i64 = 1024 * 1024;
            let host_config = HostConfig {
                network_mode: Some(spec.network.clone()),
                port_bindings: Some(bindings),
                memory: spec.memory_mib.map(|m| i64::from(m) * MIB),
                memory_reservation: spec.memory_reservation_mib.map(|m| i64::from(m) * MIB),
                cpu_shares: Some(i64::from(spec.cpu_shares.max(2))),
                // The engine's default driver (no type) with these options.
                log_config: (!spec.log_options.is_empty()).then(|| HostConfigLogConfig {
                    typ: None,
                    config: Some(spec.log_options.iter().cloned().collect()),
                }),
                ..Default::default()
            };
            let mut endpoints = HashMap::new();
            endpoints.insert(
                spec.network.clone(),
                EndpointSettings {
                    aliases: Some(spec.aliases.clone()),
                    ..Default::default()
                },
            );
            let body = ContainerCreateBody {
                image: Some(spec.image.clone()),
                env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
                cmd: (!spec.command.is_empty()).then(|| spec.command.clone()),
                entrypoint: (!spec.entry_point.is_empty()).then(|| spec.entry_point.clone()),
                labels: Some(spec.labels.clone()),
                exposed_ports: Some(exposed),
                stop_timeout: Some(i64::from(spec.stop_timeout_s)),
                healthcheck: health_config(spec),
                host_config: Some(host_config),
                networking_config: Some(NetworkingConfig {
                    endpoints_config: Some(endpoints),
                }),
                ..Default::default()
            };
            let options = CreateContainerOptionsBuilder::default()
                .name(&spec.runtime_name)
                .build();
            match self.docker.create_container(Some(options), body).await {
                Ok(r) => Ok(r.id),
                Err(BollardError::DockerResponseServerError {
                    status_code: 409,
                    message,
                }) => Err(RuntimeError::Conflict(message)),
                Err(BollardError::DockerResponseServerError { message, .. }) => {
                    Err(RuntimeError::CannotCreate(message))
                }
                Err(e) => Err(map_err(e)),
            }
        })
    }

    fn start_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            match self.docker.start_container(name, None).await {
                Ok(()) => Ok(()),
                Err(BollardError::DockerResponseServerError {
                    status_code: 404,
                    message,
                }) => Err(RuntimeError::NotFound(message)),
                Err(BollardError::DockerResponseServerError { message, .. }) => {
                    Err(RuntimeError::CannotStart(message))
                }
                Err(e) => Err(map_err(e)),
            }
        })
    }

    fn stop_container<'a>(
        &'a self,
        name: &'a str,
        timeout_s: u32,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            let options = StopContainerOptionsBuilder::default()
                .t(timeout_s as i32)
                .build();
            match self.docker.stop_container(name, Some(options)).await {
                Ok(()) => Ok(()),
                // 304: already stopped; 404: gone.
                Err(BollardError::DockerResponseServerError {
                    status_code: 304 | 404,
                    ..
                }) => Ok(()),
                Err(e) => Err(map_err(e)),
            }
        })
    }

    fn logs<'a>(
        &'a self,
        name: &'a str,
        since_ms: i64,
        tail: usize,
    ) -> BoxFuture<'a, Result<Vec<super::LogLine>, RuntimeError>> {
        Box::pin(async move {
            // `since` is whole seconds; the sub-second part is filtered here.
            let options = LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .timestamps(true)
                .since(i32::try_from(since_ms.max(0) / 1000).unwrap_or(i32::MAX))
                .tail(&tail.to_string())
                .build();
            let mut stream = self.docker.logs(name, Some(options));
            let mut lines = Vec::new();
            while let Some(frame) = stream.next().await {
                let frame = frame.map_err(map_err)?;
                let bytes = frame.into_bytes();
                for raw in String::from_utf8_lossy(&bytes).lines() {
                    if let Some(line) = parse_log_line(raw) {
                        if line.timestamp_ms >= since_ms {
                            lines.push(line);
                        }
                    }
                }
            }
            Ok(lines)
        })
    }

    fn stats<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<super::ContainerStats, RuntimeError>> {
        Box::pin(async move {
            let options = StatsOptionsBuilder::default()
                .stream(false)
                .one_shot(true)
                .build();
            let mut stream = self.docker.stats(name, Some(options));
            let s = stream
                .next()
                .await
                .ok_or_else(|| RuntimeError::NotFound(name.to_string()))?
                .map_err(map_err)?;
            Ok(super::ContainerStats {
                cpu_total_ns: s
                    .cpu_stats
                    .and_then(|c| c.cpu_usage)
                    .and_then(|u| u.total_usage)
                    .unwrap_or(0),
                // As `docker stats` shows it: usage less the page cache the
                // kernel can drop (cgroup v2 `inactive_file`, v1
                // `total_inactive_file`).
                memory_bytes: s.memory_stats.map_or(0, |m| {
                    let cache = m.stats.as_ref().map_or(0, |st| {
                        st.get("inactive_file")
                            .or_else(|| st.get("total_inactive_file"))
                            .copied()
                            .unwrap_or(0)
                    });
                    m.usage.unwrap_or(0).saturating_sub(cache)
                }),
                net_rx_bytes: s
                    .networks
                    .iter()
                    .flatten()
                    .filter_map(|(_, n)| n.rx_bytes)
                    .sum(),
                net_tx_bytes: s
                    .networks
                    .iter()
                    .flatten()
                    .filter_map(|(_, n)| n.tx_bytes)
                    .sum(),
            })
        })
    }

    fn kill_container<'a>(
        &'a self,
        name: &'a str,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            let options = KillContainerOptionsBuilder::default()
                .signal(signal)
                .build();
            self.docker
                .kill_container(name, Some(options))
                .await
                .map_err(map_err)
        })
    }

    fn remove_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            let options = RemoveContainerOptionsBuilder::default().force(true).build();
            match self.docker.remove_container(name, Some(options)).await {
                Ok(()) => Ok(()),
                Err(BollardError::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(()),
                // 409: removal already in progress.
                Err(BollardError::DockerResponseServerError {
                    status_code: 409, ..
                }) => Ok(()),
                Err(e) => Err(map_err(e)),
            }
        })
    }

    fn list_containers<'a>(
        &'a self,
        filter: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<ObservedContainer>, RuntimeError>> {
        Box::pin(async move {
            let options = ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&label_filter(filter))
                .build();
            let summaries = self
                .docker
                .list_containers(Some(options))
                .await
                .map_err(map_err)?;
            let mut out = Vec::with_capacity(summaries.len());
            for s in summaries {
                let Some(id) = s.id else { continue };
                if let Some(c) = self.inspect(&id).await? {
                    out.push(c);
                }
            }
            Ok(out)
        })
    }

    fn list_networks<'a>(
        &'a self,
        filter: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<String>, RuntimeError>> {
        Box::pin(async move {
            let options = ListNetworksOptionsBuilder::default()
                .filters(&label_filter(filter))
                .build();
            let nets = self
                .docker
                .list_networks(Some(options))
                .await
                .map_err(map_err)?;
            Ok(nets.into_iter().filter_map(|n| n.name).collect())
        })
    }

    fn events(&self, instance: &str) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
        let mut filters = HashMap::new();
        filters.insert("type".to_string(), vec!["container".to_string()]);
        filters.insert(
            "label".to_string(),
            vec![format!("{}={instance}", labels::INSTANCE)],
        );
        filters.insert(
            "event".to_string(),
            vec![
                "die".into(),
                "oom".into(),
                "start".into(),
                "health_status".into(),
                "destroy".into(),
            ],
        );
        let options = EventsOptionsBuilder::default().filters(&filters).build();
        self.docker
            .events(Some(options))
            .map(|r| {
                r.map(|ev| {
                    let actor = ev.actor.unwrap_or_default();
                    RuntimeEvent {
                        container_id: actor.id.unwrap_or_default(),
                        action: ev.action.unwrap_or_default(),
                        labels: actor.attributes.unwrap_or_default(),
                    }
                })
                .map_err(map_err)
            })
            .boxed()
    }
}

/// `2026-11-28T22:21:10.535570123Z message` (Docker's `timestamps=true`).
fn parse_log_line(raw: &str) -> Option<super::LogLine> {
    let (ts, message) = raw.split_once(' ').unwrap_or((raw, ""));
    let t = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()?;
    Some(super::LogLine {
        timestamp_ms: i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?,
        message: message.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_images_the_script_makes_are_built() {
        for ours in [
            "pingpong-node",
            "pingpong-node:latest",
            "pingpong-client:latest",
            "pingpong-alb:latest",
            "pingpong-node:052b729",
            "pingpong-node:052b729-dirty",
            "pingpong-client:dev",
        ] {
            assert!(project_image(ours).is_some(), "{ours}");
        }
        assert_eq!(project_image("pingpong-client:latest"), Some("client"));
        for stranger in [
            "pingpong-nod:latest",
            "pingpong-nodes",
            "pingpong-:latest",
            "pingpong-node:v2",
            "pingpong-node:latest-dirty",
            "docker.io/library/pingpong-node:latest",
            "pingpong-node@sha256:0123",
            "nginx:latest",
        ] {
            assert_eq!(project_image(stranger), None, "{stranger}");
        }
    }
}
