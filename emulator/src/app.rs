//! Wiring: connect to Docker, open the store, adopt what is running, apply
//! the stack, serve the API, and shut down (gracefully first).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiState};
use crate::autoscaling::{AutoScaling, AutoScalingConfig};
use crate::db::{DataDir, Db, DbError};
use crate::ecs::scheduler::{Scheduler, SchedulerConfig};
use crate::ecs::targets::AlbTargets;
use crate::ecs::{Command, Engine, EngineConfig, EngineError, Reply};
use crate::elbv2::balancer::Balancer;
use crate::elbv2::{Elb, ElbConfig};
use crate::model::arn::Partition;
use crate::model::request;
use crate::model::stack::Stack;
use crate::model::TaskStatus;
use crate::runtime::docker::DockerRuntime;
use crate::runtime::fleet::Fleet;
use crate::runtime::{ContainerRuntime, RuntimeError};

/// Everything `up` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the ECS API listens (port 0: any free port; see
    /// [`Running::api_addr`] and the data directory's `endpoint` file).
    pub api_addr: SocketAddr,
    /// More names the API answers to (see [`crate::api::guard`]).
    pub api_hosts: Vec<String>,
    pub data_dir: PathBuf,
    /// The emulator instance id on every Docker object; default derived
    /// from the data directory so a restart adopts its own objects.
    pub instance: String,
    pub stack: Option<Stack>,
    /// Leave tasks running on shutdown (the next `up` adopts them).
    pub keep: bool,
    pub resync: Duration,
    pub default_stop_timeout_s: u32,
    /// Repository root holding `docker/build-images.sh`.
    pub repo_root: Option<PathBuf>,
    /// Run the listeners in a balancer process of their own, which outlives
    /// the emulator and is adopted by the next `up` (`false`: in this
    /// process, as the in-memory tests do).
    pub balancer_process: bool,
    /// Print task state changes to stdout.
    pub print_events: bool,
    /// Where an ELBv2 listener on port 80 (the stack's) binds; port 0: any
    /// free port (see [`Running::listener_addrs`]).
    pub alb_addr: SocketAddr,
    /// Bind every other ELBv2 listener on a free port instead of its own
    /// (tests running in parallel).
    pub ephemeral_listeners: bool,
    /// How often the service scheduler reconciles every service without a
    /// task event (target health is polled at this rate).
    pub service_interval: Duration,
    /// Application Auto Scaling's evaluation period (CloudWatch: 60 s).
    pub autoscaling_period: Duration,
    /// Where the ECR registry endpoint (`repositoryUri`'s host, what
    /// `docker push` talks to) listens; port 0: any free port. `None`: no
    /// registry (ECR calls say so). One that cannot bind is reported by
    /// ECR's calls, not fatal.
    pub registry_addr: Option<SocketAddr>,
    /// How often each Docker engine is asked whether it answers (its
    /// instances' `agentConnected`).
    pub instance_check: Duration,
    /// How long an engine may not answer before its tasks are stopped as
    /// on a lost host (and replaced elsewhere).
    pub instance_grace: Duration,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            api_addr: SocketAddr::from(([127, 0, 0, 1], 4566)),
            api_hosts: Vec::new(),
            instance: instance_id(&data_dir, None),
            data_dir,
            stack: None,
            keep: false,
            resync: Duration::from_secs(5),
            default_stop_timeout_s: 30,
            repo_root: default_repo_root(),
            print_events: false,
            balancer_process: false,
            alb_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            ephemeral_listeners: false,
            service_interval: Duration::from_millis(500),
            autoscaling_period: Duration::from_secs(60),
            registry_addr: Some(SocketAddr::from(([127, 0, 0, 1], 4510))),
            instance_check: Duration::from_secs(2),
            instance_grace: Duration::from_secs(30),
        }
    }
}

/// The repository root: `EMULATOR_REPO_ROOT`, else where this crate was
/// compiled from.
pub fn default_repo_root() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EMULATOR_REPO_ROOT") {
        return Some(PathBuf::from(p));
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    p.join("docker")
        .exists()
        .then(|| p.canonicalize().unwrap_or(p))
}

/// The default data directory: `$XDG_STATE_HOME/pingpong-emulator`, else
/// `~/.local/state/pingpong-emulator`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(x).join("pingpong-emulator");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/state/pingpong-emulator")
}

/// The instance id: `name` when given, else a stable hash of the data
/// directory's absolute path.
pub fn instance_id(data_dir: &Path, name: Option<&str>) -> String {
    if let Some(n) = name {
        return n.to_string();
    }
    let abs = std::fs::create_dir_all(data_dir)
        .ok()
        .and_then(|_| data_dir.canonicalize().ok())
        .unwrap_or_else(|| data_dir.to_path_buf());
    // FNV-1a: stable across Rust versions, unlike DefaultHasher.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in abs.to_string_lossy().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("emu-{:012x}", h & 0xffff_ffff_ffff)
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0} (is Docker running? set DOCKER_HOST to use another engine)")]
    Docker(#[source] RuntimeError),
    #[error(transparent)]
    Store(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("stack: {0}")]
    Stack(#[source] EngineError),
    #[error("stack services: {0}")]
    Services(#[source] crate::ecs::scheduler::ServiceError),
    #[error("load balancer: {0}")]
    Elb(#[source] crate::elbv2::ElbError),
    #[error("load balancer process: {0}")]
    Balancer(String),
}

/// A started emulator.
pub struct Running {
    pub engine: Engine,
    pub api_addr: SocketAddr,
    /// The data directory, locked while this emulator runs.
    pub data_dir: Arc<DataDir>,
    /// The embedded load balancer (see [`Running::alb`]).
    pub alb: alb::Alb,
    /// Where the listeners run.
    pub balancer: Balancer,
    /// The ELBv2 control plane over `alb`.
    pub elb: Elb,
    /// The ECS service scheduler.
    pub scheduler: Scheduler,
    pub autoscaling: AutoScaling,
    /// ECR and its image registry (the child process stops with
    /// [`Running::stop`]).
    pub ecr: crate::ecr::Ecr,
    /// Cancel to stop serving (also cancelled by `POST /_emulator/shutdown`).
    pub shutdown: CancellationToken,
    server: tokio::task::JoinHandle<()>,
    keep: bool,
}

/// Connects to Docker, opens the store, adopts live tasks, applies the
/// stack and starts serving the API. Returns once the API listens.
pub async fn start(config: Config) -> Result<Running, RunError> {
    let runtime = DockerRuntime::connect(config.repo_root.clone())
        .await
        .map_err(RunError::Docker)?;
    let runtime: Arc<dyn ContainerRuntime> = Arc::new(runtime);
    // Other hosts' engines, as container instances name them.
    let connector: crate::runtime::fleet::Connector = Arc::new(|endpoint, tls| {
        let rt = DockerRuntime::remote(endpoint, tls)?;
        Ok(Arc::new(rt) as Arc<dyn ContainerRuntime>)
    });
    start_with_fleet(config, Arc::new(Fleet::new(runtime, connector))).await
}

/// [`start`] with any runtime (tests use the fake), alone.
pub async fn start_with_runtime(
    config: Config,
    runtime: Arc<dyn ContainerRuntime>,
) -> Result<Running, RunError> {
    start_with_fleet(config, Arc::new(Fleet::single(runtime))).await
}

/// [`start`] with any engines.
pub async fn start_with_fleet(config: Config, fleet: Arc<Fleet>) -> Result<Running, RunError> {
    // Locked for this emulator's lifetime: a second `up` on the same
    // directory is refused, whatever its timing.
    let mut data_dir = DataDir::open(&config.data_dir)?;
    data_dir.lock()?;
    data_dir.write_instance(&config.instance)?;
    let db = Db::open(&data_dir)?;
    // Bound before anything starts, so a taken port fails fast and leaves
    // nothing behind; requests wait in the backlog until the API serves.
    let listener = tokio::net::TcpListener::bind(config.api_addr)
        .await
        .map_err(|source| RunError::Bind {
            addr: config.api_addr,
            source,
        })?;
    let api_addr = listener.local_addr().map_err(|source| RunError::Bind {
        addr: config.api_addr,
        source,
    })?;
    // One balancer for the whole emulator; ELBv2 ARNs key its groups. Its
    // listeners run in a process of their own (adopted when running), fed
    // from an in-process shadow; or in this process.
    let balancer = if config.balancer_process {
        let (remote, adopted) = crate::elbv2::remote::start_or_adopt(data_dir.path())
            .await
            .map_err(RunError::Balancer)?;
        if adopted {
            tracing::info!("the load balancer kept serving while the emulator was away");
        }
        Balancer::remote(alb::Alb::shadow(), remote)
    } else {
        Balancer::local(alb::Alb::new())
    };
    let alb = balancer.alb().clone();
    let engine = Engine::with_fleet(
        EngineConfig {
            instance: config.instance.clone(),
            partition: Partition::default(),
            resync: config.resync,
            default_stop_timeout_s: config.default_stop_timeout_s,
            instance_check: config.instance_check,
            instance_grace: config.instance_grace,
        },
        fleet,
        db,
    );
    // Containers of this instance that the state does not know (a state
    // lost or replaced) would run on unseen: remove them, saying which.
    engine.remove_orphans().await;
    if config.print_events {
        spawn_printer(&engine);
    }
    // Before the engine adopts tasks: the scheduler's hook registers and
    // drains service tasks' targets.
    let scheduler = Scheduler::new(
        engine.clone(),
        Arc::new(AlbTargets(balancer.clone())),
        SchedulerConfig {
            interval: config.service_interval,
        },
    );
    let autoscaling = AutoScaling::new(
        scheduler.clone(),
        AutoScalingConfig {
            evaluation_period: config.autoscaling_period,
        },
    );
    engine.start();
    let shutdown = CancellationToken::new();
    // Until the API serves, a failure stops what has started (the
    // registry endpoint and its child) on the way out.
    let stop_on_error = shutdown.clone().drop_guard();
    // ECR first: the stack's images are pushed there and pulled from it.
    let ecr = start_registry(&config, &engine, data_dir.path(), &shutdown).await;
    engine.set_registry(
        ecr.registry_access()
            .map(|a| a.with_expose(expose_registry(&ecr, &shutdown))),
    );
    let stack = match &config.stack {
        Some(stack) => Some(stack_images(stack, &ecr, &engine).await),
        None => None,
    };
    if let Some(stack) = &stack {
        apply_stack(&engine, stack).await.map_err(RunError::Stack)?;
    }
    // Absolute: a balancer process writes there from its own directory.
    let abs_data_dir = std::path::absolute(&config.data_dir).unwrap_or(config.data_dir.clone());
    let elb = Elb::new(
        balancer.clone(),
        engine.clone(),
        ElbConfig {
            port_overrides: [(80, config.alb_addr)].into(),
            ephemeral_listeners: config.ephemeral_listeners,
            access_logs: Some(crate::elbv2::access_logs::root(&abs_data_dir)),
            ..ElbConfig::default()
        },
    );
    elb.restore().await.map_err(RunError::Elb)?;
    // Adopted tasks keep their targets' health across the restart.
    scheduler.adopt_targets();
    if let Some(stack) = &stack {
        elb.apply_stack(&stack.target_groups, &stack.load_balancers)
            .await
            .map_err(RunError::Elb)?;
        scheduler
            .apply_stack(&stack.cluster.cluster_name, &stack.services)
            .await
            .map_err(RunError::Services)?;
    }
    // The model is whole (adopted targets included): from now on the
    // balancer process follows it, and the scheduler's first pass sees
    // the health it reports.
    if let Some(remote) = balancer.process() {
        remote.start(alb.clone());
        if let Some((arn, e)) = balancer.sync().await.into_iter().next() {
            return Err(RunError::Balancer(format!("{arn}: {e}")));
        }
    }
    if stack.is_some() {
        // The stack's tasks are placed before the API answers.
        scheduler.reconcile_all().await;
    }

    scheduler.start();
    autoscaling.start();
    data_dir.write_endpoint(&format!("http://{api_addr}"))?;
    let data_dir = Arc::new(data_dir);
    let app = api::router(ApiState {
        guard: Arc::new(api::guard::Guard::new(api_addr, &config.api_hosts)),
        engine: engine.clone(),
        alb: alb.clone(),
        elb: elb.clone(),
        scheduler: scheduler.clone(),
        autoscaling: autoscaling.clone(),
        secrets: crate::secrets::Secrets::new(engine.clone()),
        logs: crate::logs::Logs::new(engine.clone())
            .with_access_logs(crate::elbv2::access_logs::root(&abs_data_dir)),
        ecr: ecr.clone(),
        shutdown: shutdown.clone(),
    });
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "API server failed");
        }
    });
    stop_on_error.disarm();
    Ok(Running {
        engine,
        api_addr,
        data_dir,
        alb,
        balancer,
        elb,
        scheduler,
        autoscaling,
        ecr,
        shutdown,
        server,
        keep: config.keep,
    })
}

impl Running {
    /// The embedded load balancer: target groups, load balancers and
    /// listeners keyed by their ELBv2 ARNs. Services register task host
    /// ports with `alb.target_group(arn)?.register_targets(..)`.
    pub fn alb(&self) -> &alb::Alb {
        &self.alb
    }

    /// Bound ELBv2 listener addresses by listener ARN.
    pub fn listener_addrs(&self) -> std::collections::BTreeMap<String, SocketAddr> {
        self.elb.listener_addrs()
    }

    /// Stops serving; unless `keep`, stops every task (SIGTERM, then
    /// SIGKILL after its stopTimeout) and removes its containers and
    /// network, waiting up to `grace`.
    pub async fn stop(self, grace: Duration) {
        self.shutdown.cancel();
        let _ = self.server.await;
        // No replacement tasks from here on (the drain hook still runs).
        self.autoscaling.shutdown();
        self.scheduler.shutdown();
        if !self.keep {
            self.engine.stop_all("Emulator shut down").await;
            if !self.engine.wait_all_stopped(grace).await {
                tracing::warn!("some tasks did not stop within {grace:?}");
            }
        }
        self.engine.shutdown();
        self.ecr.registry().stop().await;
        self.alb.shutdown(Duration::from_secs(5)).await;
        if let Some(remote) = self.balancer.process() {
            remote.detach();
            // Kept tasks keep their listeners; otherwise nothing is left
            // to balance.
            if !self.keep {
                crate::elbv2::remote::stop(self.data_dir.path()).await;
            }
        }
        self.data_dir.clear_endpoint();
    }
}

/// Runs until `shutdown` resolves (or the API asks to shut down), then
/// stops gracefully (see [`Running::stop`]).
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let print = config.print_events;
    let running = start(config).await?;
    if print {
        println!(
            "AWS APIs       http://{}  (aws --endpoint-url http://{} ecs|elbv2|logs|ssm|... )",
            running.api_addr, running.api_addr
        );
        for (arn, addr) in running.listener_addrs() {
            let name = arn.split('/').nth(2).unwrap_or("");
            println!("ALB listener   http://{addr}  ({name})");
        }
        println!("metrics        http://{}/metrics", running.api_addr);
        println!(
            "ECR registry   {}  (docker push {}/REPOSITORY:TAG)",
            running.ecr.registry_host(),
            running.ecr.registry_host()
        );
        println!("data directory {}", running.data_dir.path().display());
        println!("instance id    {}", running.engine.config().instance);
        println!("watch it       emulator ps | services | targets | logs SERVICE -f | stats");
        println!("Press Ctrl-C to stop (tasks are stopped and removed unless --keep).");
    }
    let token = running.shutdown.clone();
    tokio::select! {
        _ = shutdown => {}
        _ = token.cancelled() => {}
    }
    if print {
        println!("shutting down ...");
    }
    running.stop(Duration::from_secs(90)).await;
    Ok(())
}

/// The stack with its images named for this emulator's account and
/// region, its repositories created and seeded; without ECR (no registry)
/// it runs the local images instead, saying why.
async fn stack_images(stack: &Stack, ecr: &crate::ecr::Ecr, engine: &Engine) -> Stack {
    let partition = &engine.config().partition;
    let seeded = if stack.repositories.is_empty() {
        Ok(())
    } else {
        ecr.seed(engine.runtime().as_ref(), &stack.repositories)
            .await
    };
    if let Err(why) = &seeded {
        eprintln!(
            "emulator: ECR cannot serve the stack's images ({why}); its tasks run the local images"
        );
    }
    stack.with_images(&partition.account, &partition.region, seeded.is_ok())
}

/// The ECR registry endpoint on `config.registry_addr` and the registry
/// child behind it (ECR without them answers why there is none).
async fn start_registry(
    config: &Config,
    engine: &Engine,
    data_dir: &Path,
    shutdown: &CancellationToken,
) -> crate::ecr::Ecr {
    use crate::ecr::{proxy, registry::Registry, Ecr};
    let Some(addr) = config.registry_addr else {
        let absent = Registry::absent("this emulator runs without an image registry");
        return Ecr::new(engine.clone(), Arc::new(absent), None);
    };
    let Some(listener) = proxy::bind(addr).await else {
        let absent = Registry::absent(&format!(
            "the registry endpoint cannot listen on {addr} (set --registry-addr)"
        ));
        return Ecr::new(engine.clone(), Arc::new(absent), None);
    };
    let proxy_addr = listener.local_addr().ok();
    let registry = Arc::new(Registry::start(data_dir).await);
    if let Some(a) = proxy_addr {
        crate::ecr::registry::record_endpoint(&crate::ecr::registry::dir(data_dir), &a.to_string());
    }
    let ecr = Ecr::new(engine.clone(), registry, proxy_addr);
    proxy::serve(listener, ecr.clone(), shutdown.clone());
    ecr
}

/// How the registry endpoint opens on one more address for the engines of
/// other hosts (the same port when free), serving until `shutdown`.
fn expose_registry(
    ecr: &crate::ecr::Ecr,
    shutdown: &CancellationToken,
) -> crate::ecs::pull::Expose {
    let (ecr, shutdown) = (ecr.clone(), shutdown.clone());
    Arc::new(move |ip| {
        let (ecr, shutdown) = (ecr.clone(), shutdown.clone());
        Box::pin(async move {
            let port = ecr
                .registry_host()
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let listener = match tokio::net::TcpListener::bind((ip, port)).await {
                Ok(l) => l,
                Err(_) => tokio::net::TcpListener::bind((ip, 0))
                    .await
                    .map_err(|e| format!("the registry endpoint cannot listen on {ip}: {e}"))?,
            };
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            crate::ecr::proxy::serve(listener, ecr, shutdown);
            Ok(addr)
        })
    })
}

fn spawn_printer(engine: &Engine) {
    let mut rx = engine.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => println!("{}", describe_event(&ev.task, ev.previous)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// One line for a task change, as `up` streams them.
pub fn describe_event(t: &crate::model::Task, previous: TaskStatus) -> String {
    let family = t.task_definition_arn.rsplit('/').next().unwrap_or("");
    let mut line = format!(
        "task {} {family:<40} {:<14}",
        &t.id()[..8.min(t.id().len())],
        t.status()
    );
    if previous == t.status() && t.health_status != "UNKNOWN" {
        line.push_str(&format!(" health {}", t.health_status));
    }
    if t.status() == TaskStatus::Running {
        let ports: Vec<String> = t
            .containers
            .iter()
            .flat_map(|c| {
                c.network_bindings
                    .iter()
                    .map(move |b| format!("{}:{}->{}", c.name, b.host_port, b.container_port))
            })
            .collect();
        if !ports.is_empty() {
            line.push_str(&format!(" {}", ports.join(" ")));
        }
    }
    if t.status() == TaskStatus::Stopped {
        if let Some(r) = &t.stopped_reason {
            line.push_str(&format!(" ({r})"));
        }
        for c in &t.containers {
            if let Some(code) = c.exit_code {
                line.push_str(&format!(" {}={code}", c.name));
            }
        }
    }
    line
}

/// Brings the engine's desired state up to the stack, idempotently: a
/// restart with the same stack adds nothing.
pub async fn apply_stack(engine: &Engine, stack: &Stack) -> Result<(), EngineError> {
    let cluster = stack.cluster.cluster_name.clone();
    engine
        .handle(Command::CreateCluster(request::CreateCluster {
            cluster_name: Some(cluster.clone()),
            ..Default::default()
        }))
        .await?;
    let snapshot = engine.snapshot();
    let mut existing: Vec<(String, String, Option<String>)> = snapshot
        .container_instances
        .values()
        .filter(|i| i.cluster_name() == cluster)
        .map(|i| {
            (
                i.availability_zone().to_string(),
                i.attribute(crate::model::container_instance::INSTANCE_TYPE_ATTRIBUTE)
                    .unwrap_or("")
                    .to_string(),
                i.docker_host().map(str::to_string),
            )
        })
        .collect();
    for si in &stack.cluster.container_instances {
        let key = (
            si.availability_zone.clone(),
            si.instance_type.clone(),
            si.docker_host.clone(),
        );
        if let Some(pos) = existing.iter().position(|e| *e == key) {
            existing.remove(pos);
            continue;
        }
        engine
            .handle(Command::RegisterContainerInstance(
                request::RegisterContainerInstance {
                    cluster: Some(cluster.clone()),
                    instance_type: (!si.instance_type.is_empty()).then(|| si.instance_type.clone()),
                    availability_zone: Some(si.availability_zone.clone()),
                    attributes: si.attributes(),
                    ..Default::default()
                },
            ))
            .await?;
    }
    for td in &stack.task_definitions {
        let same = engine
            .resolve_task_definition(&td.family, false)
            .ok()
            .is_some_and(|latest| {
                let mut a = latest.clone();
                a.task_definition_arn = None;
                a.revision = None;
                a.status = None;
                a.registered_at = None;
                let mut b = td.clone();
                if b.network_mode.is_none() {
                    b.network_mode = Some("bridge".into());
                }
                a == b
            });
        if !same {
            engine
                .handle(Command::RegisterTaskDefinition(Box::new(td.clone())))
                .await?;
        }
    }
    for st in &stack.tasks {
        let family = crate::model::arn::task_definition_ref(&st.task_definition).0;
        let live = engine
            .snapshot()
            .tasks
            .values()
            .filter(|t| {
                t.cluster_name() == cluster
                    && t.wants_running()
                    && t.status() != TaskStatus::Stopped
            })
            .filter(|t| t.started_by.as_deref() == Some(STACK_STARTED_BY))
            .filter(|t| crate::model::arn::task_definition_ref(&t.task_definition_arn).0 == family)
            .count() as u32;
        if live < st.count {
            let reply = engine
                .handle(Command::RunTask(request::RunTask {
                    cluster: Some(cluster.clone()),
                    task_definition: st.task_definition.clone(),
                    count: Some(i64::from(st.count - live)),
                    started_by: Some(STACK_STARTED_BY.into()),
                    ..Default::default()
                }))
                .await?;
            if let Reply::Tasks { failures, .. } = reply {
                for f in failures {
                    eprintln!(
                        "emulator: could not place a {family} task: {} {}",
                        f.reason,
                        f.detail.unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

/// `startedBy` of the tasks the stack runs.
pub const STACK_STARTED_BY: &str = "emulator-stack";
