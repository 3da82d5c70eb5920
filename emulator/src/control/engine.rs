//! The engine: the state (behind one lock, never held across an await),
//! the command handler, and the reconcile workers.
//!
//! Each live task has one worker (a tokio task owned by the engine) that
//! loops: observe the task's containers, record what it saw, ask
//! [`plan`](super::task::plan) for steps, apply them. It sleeps until woken
//! by a Docker event for its task, a command (StopTask), or the resync
//! timer, and ends when its task is STOPPED or the engine shuts down.
//! Every state change is saved before it is acted on, so a restarted
//! emulator resumes exactly where the killed one was.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use super::command::{Command, EngineError, Reply};
use super::placement::{self, Constraint, InstanceLoad};
use super::task::{plan, Step};
use crate::model::arn::{self, Partition};
use crate::model::container_instance::{
    instance_type_resources, AZ_ATTRIBUTE, INSTANCE_TYPE_ATTRIBUTE,
};
use crate::model::request;
use crate::model::task::{Container, NetworkBinding, StopCode};
use crate::model::{
    now_epoch, Attribute, Cluster, ContainerInstance, Failure, Resource, Task, TaskDefinition,
    TaskStatus,
};
use crate::runtime::{
    labels, ContainerRuntime, ContainerSpec, ContainerState, Health, HealthSpec, NetworkSpec,
    ObservedContainer, PortSpec, RuntimeError,
};
use crate::store::{State, Store};

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The emulator instance id put on every Docker object.
    pub instance: String,
    pub partition: Partition,
    /// How often each worker re-observes without an event.
    pub resync: Duration,
    /// `stopTimeout` when a container definition has none (ECS: 30 s).
    pub default_stop_timeout_s: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            instance: "default".into(),
            partition: Partition::default(),
            resync: Duration::from_secs(5),
            default_stop_timeout_s: 30,
        }
    }
}

/// A task changed status (or health, with `previous == task.lastStatus`).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEvent {
    pub task: Task,
    pub previous: TaskStatus,
}

/// Awaited by the worker when a task reaches ACTIVATING (all containers
/// running, host ports known: register targets here) and DEACTIVATING
/// (before any container is stopped: deregister and drain here).
pub trait TaskHook: Send + Sync + 'static {
    fn on_status<'a>(&'a self, task: &'a Task, status: TaskStatus) -> BoxFuture<'a, ()>;
}

struct Inner {
    config: EngineConfig,
    runtime: Arc<dyn ContainerRuntime>,
    store: Option<Store>,
    state: Mutex<State>,
    events: broadcast::Sender<TaskEvent>,
    workers: Mutex<HashMap<String, Arc<Notify>>>,
    hooks: Mutex<Vec<Arc<dyn TaskHook>>>,
    /// The output of containers already removed (see [`super::logs`]).
    log_archive: Mutex<super::logs::LogArchive>,
    /// Set by [`Engine::stop_all`]: the emulator is going away with its
    /// in-memory log archive, so removed containers' output is not kept.
    stopping_all: std::sync::atomic::AtomicBool,
    shutdown: CancellationToken,
}

/// The control plane. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long a stopped task stays visible (ECS: at least an hour)...
const STOPPED_TASK_RETENTION_S: f64 = 3600.0;
/// ... and how many stopped tasks are kept at most, the newest.
const STOPPED_TASKS_KEPT: usize = 500;

/// Forgets stopped tasks past their retention, so the state (cloned by
/// readers, written on every change) does not grow without end.
fn prune_stopped(tasks: &mut BTreeMap<String, Task>, now: f64) {
    tasks.retain(|_, t| {
        t.status() != TaskStatus::Stopped
            || t.stopped_at.unwrap_or(now) > now - STOPPED_TASK_RETENTION_S
    });
    let mut stopped: Vec<(f64, String)> = tasks
        .values()
        .filter(|t| t.status() == TaskStatus::Stopped)
        .map(|t| (t.stopped_at.unwrap_or(now), t.task_arn.clone()))
        .collect();
    if stopped.len() > STOPPED_TASKS_KEPT {
        stopped.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, arn) in &stopped[..stopped.len() - STOPPED_TASKS_KEPT] {
            tasks.remove(arn);
        }
    }
}

impl Engine {
    /// An engine over `state` (from the store, or empty). Call
    /// [`Engine::start`] inside a tokio runtime to begin reconciling.
    pub fn new(
        config: EngineConfig,
        runtime: Arc<dyn ContainerRuntime>,
        store: Option<Store>,
        state: State,
    ) -> Engine {
        let (events, _) = broadcast::channel(1024);
        Engine {
            inner: Arc::new(Inner {
                config,
                runtime,
                store,
                state: Mutex::new(state),
                events,
                workers: Mutex::new(HashMap::new()),
                hooks: Mutex::new(Vec::new()),
                log_archive: Mutex::default(),
                stopping_all: Default::default(),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn runtime(&self) -> &Arc<dyn ContainerRuntime> {
        &self.inner.runtime
    }

    /// Task status changes, for observers (the CLI's stream, target groups).
    pub fn subscribe(&self) -> broadcast::Receiver<TaskEvent> {
        self.inner.events.subscribe()
    }

    pub fn add_hook(&self, hook: Arc<dyn TaskHook>) {
        lock(&self.inner.hooks).push(hook);
    }

    /// Output of removed containers.
    pub(crate) fn log_archive(&self) -> MutexGuard<'_, super::logs::LogArchive> {
        lock(&self.inner.log_archive)
    }

    /// Reads the state in place, under its lock (no copy; do not block).
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&lock(&self.inner.state))
    }

    /// A copy of the whole state.
    pub fn snapshot(&self) -> State {
        lock(&self.inner.state).clone()
    }

    pub fn task(&self, arn: &str) -> Option<Task> {
        lock(&self.inner.state).tasks.get(arn).cloned()
    }

    /// Starts the Docker event pump and a worker for every live task
    /// (adoption after a restart is just this).
    pub fn start(&self) {
        let live: Vec<String> = lock(&self.inner.state)
            .tasks
            .values()
            .filter(|t| t.status() != TaskStatus::Stopped)
            .map(|t| t.task_arn.clone())
            .collect();
        for arn in live {
            self.spawn_worker(arn);
        }
        let engine = self.clone();
        tokio::spawn(async move { engine.event_pump().await });
    }

    /// Stops workers and the event pump; containers are left as they are.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    /// Asks every live task to stop.
    pub fn stop_all(&self, reason: &str) {
        self.inner
            .stopping_all
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let arns: Vec<String> = lock(&self.inner.state).tasks.keys().cloned().collect();
        for arn in arns {
            self.request_stop(&arn, reason, StopCode::UserInitiated);
        }
    }

    /// Waits until no task is live, or the timeout passes. True when idle.
    pub async fn wait_all_stopped(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let live = lock(&self.inner.state)
                .tasks
                .values()
                .any(|t| t.status() != TaskStatus::Stopped);
            if !live {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // ---------------------------------------------------------------- state

    fn save(&self, state: &State) {
        if let Some(store) = &self.inner.store {
            if let Err(e) = store.save(state) {
                tracing::error!(error = %e, "cannot save state");
            }
        }
    }

    /// Mutates the state under the lock and saves it, for the controllers
    /// beside the engine that keep their desired state in the same store
    /// (ELBv2). Do not block inside `f`.
    pub fn update_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.mutate(f)
    }

    /// Asks a task to stop with the given `stopCode` (the service
    /// scheduler stops its tasks as `ServiceSchedulerInitiated`).
    pub fn stop_task_as(&self, arn: &str, reason: &str, code: StopCode) {
        self.request_stop(arn, reason, code);
    }

    /// Mutates the state under the lock and saves it.
    fn mutate<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = lock(&self.inner.state);
        let r = f(&mut state);
        self.save(&state);
        r
    }

    fn emit(&self, task: &Task, previous: TaskStatus) {
        let _ = self.inner.events.send(TaskEvent {
            task: task.clone(),
            previous,
        });
    }

    fn wake(&self, arn: &str) {
        if let Some(n) = lock(&self.inner.workers).get(arn) {
            n.notify_one();
        }
    }

    fn request_stop(&self, arn: &str, reason: &str, code: StopCode) {
        let changed = self.mutate(|s| match s.tasks.get_mut(arn) {
            Some(t) if t.wants_running() && t.status() != TaskStatus::Stopped => {
                t.desired_status = Some(TaskStatus::Stopped);
                t.stopped_reason = Some(reason.to_string());
                t.stop_code = Some(code);
                t.stopping_at = Some(now_epoch());
                t.version += 1;
                true
            }
            _ => false,
        });
        if changed {
            self.wake(arn);
        }
    }

    // ------------------------------------------------------------- commands

    /// Handles one command: the single `match` every request goes through.
    pub async fn handle(&self, cmd: Command) -> Result<Reply, EngineError> {
        match cmd {
            Command::CreateCluster(r) => {
                self.create_cluster(r.cluster_name.as_deref().unwrap_or("default"))
            }
            Command::DescribeClusters(r) => {
                Ok(self.describe_clusters(r.clusters.unwrap_or_else(|| vec!["default".into()])))
            }
            Command::ListClusters => Ok(Reply::ClusterArns(
                lock(&self.inner.state)
                    .clusters
                    .values()
                    .filter(|c| c.status == "ACTIVE")
                    .map(|c| c.cluster_arn.clone())
                    .collect(),
            )),
            Command::DeleteCluster(r) => self.delete_cluster(&r.cluster),
            Command::RegisterContainerInstance(r) => self.register_container_instance(r),
            Command::ListContainerInstances(r) => self.list_container_instances(r),
            Command::DescribeContainerInstances(r) => self.describe_container_instances(r),
            Command::RegisterTaskDefinition(td) => self.register_task_definition(*td),
            Command::DescribeTaskDefinition(r) => self
                .resolve_task_definition(&r.task_definition, true)
                .map(Reply::TaskDefinition),
            Command::ListTaskDefinitions(r) => Ok(self.list_task_definitions(r)),
            Command::ListTaskDefinitionFamilies(r) => Ok(self.list_families(r)),
            Command::DeregisterTaskDefinition(r) => {
                self.deregister_task_definition(&r.task_definition)
            }
            Command::RunTask(r) => self.run_task(r),
            Command::StartTask(r) => self.start_task(r),
            Command::StopTask(r) => self.stop_task(r),
            Command::DescribeTasks(r) => self.describe_tasks(r),
            Command::ListTasks(r) => self.list_tasks(r),
        }
    }

    /// The short name of an ACTIVE cluster (`default` when none is given).
    pub(crate) fn cluster_name(&self, cluster: Option<&str>) -> Result<String, EngineError> {
        let name = arn::short_name(cluster.unwrap_or("default")).to_string();
        let state = lock(&self.inner.state);
        match state.clusters.get(&name) {
            Some(c) if c.status == "ACTIVE" => Ok(name),
            _ => Err(EngineError::ClusterNotFound(name)),
        }
    }

    fn create_cluster(&self, name: &str) -> Result<Reply, EngineError> {
        let ok = !name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(EngineError::InvalidParameter(format!(
                "Invalid cluster name '{name}': up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
            )));
        }
        let arn = self.inner.config.partition.cluster(name);
        self.mutate(|s| {
            let c = s
                .clusters
                .entry(name.to_string())
                .or_insert_with(|| Cluster {
                    cluster_arn: arn,
                    cluster_name: name.to_string(),
                    status: "ACTIVE".into(),
                    ..Default::default()
                });
            c.status = "ACTIVE".into();
        });
        Ok(Reply::Cluster(
            self.cluster_view(name).expect("just created"),
        ))
    }

    fn cluster_view(&self, name: &str) -> Option<Cluster> {
        let state = lock(&self.inner.state);
        let mut c = state.clusters.get(name)?.clone();
        c.registered_container_instances_count = state
            .container_instances
            .values()
            .filter(|i| i.cluster_name() == name)
            .count() as u32;
        let tasks = || state.tasks.values().filter(|t| t.cluster_name() == name);
        c.running_tasks_count = tasks()
            .filter(|t| t.status() == TaskStatus::Running)
            .count() as u32;
        c.pending_tasks_count = tasks().filter(|t| t.status() < TaskStatus::Running).count() as u32;
        Some(c)
    }

    fn describe_clusters(&self, names: Vec<String>) -> Reply {
        let mut clusters = Vec::new();
        let mut failures = Vec::new();
        for n in names {
            match self.cluster_view(arn::short_name(&n)) {
                Some(c) => clusters.push(c),
                None => failures.push(Failure {
                    arn: Some(if n.starts_with("arn:") {
                        n.clone()
                    } else {
                        self.inner.config.partition.cluster(&n)
                    }),
                    reason: "MISSING".into(),
                    detail: None,
                }),
            }
        }
        Reply::Clusters { clusters, failures }
    }

    fn delete_cluster(&self, cluster: &str) -> Result<Reply, EngineError> {
        let name = self.cluster_name(Some(cluster))?;
        {
            let state = lock(&self.inner.state);
            if state
                .container_instances
                .values()
                .any(|i| i.cluster_name() == name)
            {
                return Err(EngineError::ClusterContainsInstances);
            }
            if state
                .tasks
                .values()
                .any(|t| t.cluster_name() == name && t.status() != TaskStatus::Stopped)
            {
                return Err(EngineError::ClusterContainsTasks);
            }
        }
        self.mutate(|s| {
            if let Some(c) = s.clusters.get_mut(&name) {
                c.status = "INACTIVE".into();
            }
        });
        Ok(Reply::Cluster(self.cluster_view(&name).expect("exists")))
    }

    fn register_container_instance(
        &self,
        r: request::RegisterContainerInstance,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let instance_type = r.instance_type.clone().unwrap_or_else(|| "t2.small".into());
        let (mut cpu, mut mem) = match instance_type_resources(&instance_type) {
            Some(x) => (i64::from(x.0), i64::from(x.1)),
            None if !r.total_resources.is_empty() => (0, 0),
            None => {
                return Err(EngineError::InvalidParameter(format!(
                    "Unknown instance type '{instance_type}'; give totalResources (CPU, MEMORY) instead."
                )))
            }
        };
        for res in &r.total_resources {
            match res.name.as_str() {
                "CPU" => cpu = res.integer_value,
                "MEMORY" => mem = res.integer_value,
                _ => {}
            }
        }
        if cpu <= 0 || mem <= 0 {
            return Err(EngineError::InvalidParameter(
                "A container instance needs positive CPU and MEMORY resources.".into(),
            ));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let az = r
            .availability_zone
            .clone()
            .unwrap_or_else(|| format!("{}a", self.inner.config.partition.region));
        let mut attributes = vec![
            Attribute {
                name: AZ_ATTRIBUTE.into(),
                value: Some(az),
            },
            Attribute {
                name: INSTANCE_TYPE_ATTRIBUTE.into(),
                value: Some(instance_type),
            },
            Attribute {
                name: "ecs.os-type".into(),
                value: Some("linux".into()),
            },
        ];
        for a in r.attributes {
            attributes.retain(|x| x.name != a.name);
            attributes.push(a);
        }
        let instance = ContainerInstance {
            container_instance_arn: self
                .inner
                .config
                .partition
                .container_instance(&cluster, &id),
            ec2_instance_id: format!("i-{}", &id[..17]),
            status: "ACTIVE".into(),
            agent_connected: true,
            registered_resources: vec![
                Resource::integer("CPU", cpu),
                Resource::integer("MEMORY", mem),
            ],
            remaining_resources: vec![],
            attributes,
            running_tasks_count: 0,
            pending_tasks_count: 0,
            registered_at: now_epoch(),
        };
        let arn = instance.container_instance_arn.clone();
        self.mutate(|s| s.container_instances.insert(arn.clone(), instance));
        Ok(Reply::ContainerInstance(
            self.instance_view(&arn).expect("just registered"),
        ))
    }

    /// An instance with its remaining resources and task counts derived
    /// from the tasks placed on it.
    fn instance_view(&self, arn: &str) -> Option<ContainerInstance> {
        let state = lock(&self.inner.state);
        let mut i = state.container_instances.get(arn)?.clone();
        let (cpu, mem) = i.capacity();
        let (used_cpu, used_mem) = used_resources(&state, arn);
        i.remaining_resources = vec![
            Resource::integer("CPU", cpu - used_cpu),
            Resource::integer("MEMORY", mem - used_mem),
        ];
        let tasks = || {
            state
                .tasks
                .values()
                .filter(|t| t.container_instance_arn == arn)
        };
        i.running_tasks_count = tasks()
            .filter(|t| t.status() == TaskStatus::Running)
            .count() as u32;
        i.pending_tasks_count = tasks().filter(|t| t.status() < TaskStatus::Running).count() as u32;
        Some(i)
    }

    fn list_container_instances(
        &self,
        r: request::ListContainerInstances,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let state = lock(&self.inner.state);
        Ok(Reply::ContainerInstanceArns(
            state
                .container_instances
                .values()
                .filter(|i| i.cluster_name() == cluster)
                .filter(|i| r.status.as_deref().is_none_or(|s| s == i.status))
                .map(|i| i.container_instance_arn.clone())
                .collect(),
        ))
    }

    fn describe_container_instances(
        &self,
        r: request::DescribeContainerInstances,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if r.container_instances.is_empty() {
            return Err(EngineError::InvalidParameter(
                "containerInstances can not be empty.".into(),
            ));
        }
        let mut instances = Vec::new();
        let mut failures = Vec::new();
        for ci in r.container_instances {
            let id = arn::short_name(&ci);
            let arn = self.inner.config.partition.container_instance(&cluster, id);
            match self.instance_view(&arn) {
                Some(i) => instances.push(i),
                None => failures.push(Failure {
                    arn: Some(ci.clone()),
                    reason: "MISSING".into(),
                    detail: None,
                }),
            }
        }
        Ok(Reply::ContainerInstances {
            instances,
            failures,
        })
    }

    fn register_task_definition(&self, mut td: TaskDefinition) -> Result<Reply, EngineError> {
        td.validate()?;
        let partition = self.inner.config.partition.clone();
        let td = self.mutate(|s| {
            let revisions = s.task_definitions.entry(td.family.clone()).or_default();
            let rev = revisions.len() as u32 + 1;
            td.revision = Some(rev);
            td.task_definition_arn = Some(partition.task_definition(&td.family, rev));
            td.status = Some("ACTIVE".into());
            td.registered_at = Some(now_epoch());
            if td.network_mode.is_none() {
                td.network_mode = Some("bridge".into());
            }
            revisions.push(td.clone());
            td
        });
        Ok(Reply::TaskDefinition(td))
    }

    /// Finds a task definition by family (latest ACTIVE), family:revision
    /// or ARN.
    pub fn resolve_task_definition(
        &self,
        reference: &str,
        allow_inactive: bool,
    ) -> Result<TaskDefinition, EngineError> {
        let (family, rev) = arn::task_definition_ref(reference);
        let state = lock(&self.inner.state);
        let not_found = || {
            EngineError::Client(format!(
                "Unable to describe task definition '{reference}': it does not exist."
            ))
        };
        let revisions = state.task_definitions.get(&family).ok_or_else(not_found)?;
        let td = match rev {
            Some(n) => revisions
                .get((n as usize).wrapping_sub(1))
                .ok_or_else(not_found)?,
            None => revisions
                .iter()
                .rev()
                .find(|t| t.status.as_deref() == Some("ACTIVE"))
                .ok_or_else(not_found)?,
        };
        if !allow_inactive && td.status.as_deref() != Some("ACTIVE") {
            return Err(EngineError::Client(format!(
                "TaskDefinition {} is inactive.",
                td.family_revision()
            )));
        }
        Ok(td.clone())
    }

    fn list_task_definitions(&self, r: request::ListTaskDefinitions) -> Reply {
        let status = r.status.unwrap_or_else(|| "ACTIVE".into());
        let prefix = r.family_prefix.or(r.family).unwrap_or_default();
        let state = lock(&self.inner.state);
        let mut arns: Vec<String> = state
            .task_definitions
            .iter()
            .filter(|(f, _)| f.starts_with(&prefix))
            .flat_map(|(_, revs)| revs.iter())
            .filter(|t| status == "ALL" || t.status.as_deref() == Some(status.as_str()))
            .filter_map(|t| t.task_definition_arn.clone())
            .collect();
        if r.sort.as_deref() == Some("DESC") {
            arns.reverse();
        }
        Reply::TaskDefinitionArns(arns)
    }

    fn list_families(&self, r: request::ListTaskDefinitions) -> Reply {
        let status = r.status.unwrap_or_else(|| "ACTIVE".into());
        let prefix = r.family_prefix.or(r.family).unwrap_or_default();
        let state = lock(&self.inner.state);
        Reply::Families(
            state
                .task_definitions
                .iter()
                .filter(|(f, _)| f.starts_with(&prefix))
                .filter(|(_, revs)| {
                    let active = revs.iter().any(|t| t.status.as_deref() == Some("ACTIVE"));
                    match status.as_str() {
                        "ALL" => true,
                        "INACTIVE" => !active,
                        _ => active,
                    }
                })
                .map(|(f, _)| f.clone())
                .collect(),
        )
    }

    fn deregister_task_definition(&self, reference: &str) -> Result<Reply, EngineError> {
        let (_, rev) = arn::task_definition_ref(reference);
        if rev.is_none() {
            return Err(EngineError::Client(
                "A revision is required: use family:revision or the full ARN.".into(),
            ));
        }
        let td = self.resolve_task_definition(reference, true)?;
        let td = self.mutate(|s| {
            let t = &mut s.task_definitions.get_mut(&td.family).expect("resolved")
                [td.revision.unwrap_or(1) as usize - 1];
            t.status = Some("INACTIVE".into());
            t.clone()
        });
        Ok(Reply::TaskDefinition(td))
    }

    fn loads(&self, state: &State, cluster: &str) -> Vec<InstanceLoad> {
        state
            .container_instances
            .values()
            .filter(|i| i.cluster_name() == cluster)
            .map(|i| {
                let (cpu_total, mem_total) = i.capacity();
                let (cpu_used, mem_used) = used_resources(state, &i.container_instance_arn);
                InstanceLoad {
                    arn: i.container_instance_arn.clone(),
                    status: i.status.clone(),
                    attributes: i
                        .attributes
                        .iter()
                        .filter_map(|a| a.value.clone().map(|v| (a.name.clone(), v)))
                        .collect::<BTreeMap<_, _>>(),
                    cpu_total,
                    mem_total,
                    cpu_used,
                    mem_used,
                    task_groups: state
                        .tasks
                        .values()
                        .filter(|t| {
                            t.container_instance_arn == i.container_instance_arn
                                && t.status().holds_resources()
                        })
                        .map(|t| t.group.clone().unwrap_or_default())
                        .collect(),
                }
            })
            .collect()
    }

    fn new_task(
        &self,
        cluster: &str,
        td: &TaskDefinition,
        instance: &ContainerInstance,
        started_by: Option<String>,
        group: String,
        overrides: Option<serde_json::Value>,
    ) -> Task {
        let p = &self.inner.config.partition;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let task_arn = p.task(cluster, &id);
        let (cpu, mem) = td.reservation();
        Task {
            task_arn: task_arn.clone(),
            cluster_arn: p.cluster(cluster),
            task_definition_arn: td.task_definition_arn.clone().unwrap_or_default(),
            container_instance_arn: instance.container_instance_arn.clone(),
            last_status: Some(TaskStatus::Provisioning),
            desired_status: Some(TaskStatus::Running),
            cpu: cpu.to_string(),
            memory: mem.to_string(),
            containers: td
                .container_definitions
                .iter()
                .map(|c| Container {
                    container_arn: p.container(cluster, &id, &c.name),
                    task_arn: task_arn.clone(),
                    name: c.name.clone(),
                    image: c.image.clone(),
                    last_status: "PENDING".into(),
                    health_status: "UNKNOWN".into(),
                    cpu: c.cpu.unwrap_or(0).to_string(),
                    memory: c.memory.map(|m| m.to_string()),
                    memory_reservation: c.memory_reservation.map(|m| m.to_string()),
                    essential: c.is_essential(),
                    ..Default::default()
                })
                .collect(),
            started_by,
            group: Some(group),
            launch_type: "EC2".into(),
            availability_zone: instance.availability_zone().to_string(),
            created_at: now_epoch(),
            health_status: "UNKNOWN".into(),
            version: 1,
            overrides,
            ..Default::default()
        }
    }

    fn run_task(&self, r: request::RunTask) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let count = r.count.unwrap_or(1);
        if !(1..=10).contains(&count) {
            return Err(EngineError::InvalidParameter(
                "count must be between 1 and 10.".into(),
            ));
        }
        if let Some(lt) = r.launch_type.as_deref() {
            if lt != "EC2" && lt != "EXTERNAL" {
                return Err(EngineError::InvalidParameter(format!(
                    "Launch type '{lt}' is not supported by this emulator (EC2 only)."
                )));
            }
        }
        let strategies = placement::Strategy::parse_all(&r.placement_strategy)
            .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        if let Some(sb) = &r.started_by {
            if sb.len() > 128 {
                return Err(EngineError::InvalidParameter(
                    "startedBy must be at most 128 characters.".into(),
                ));
            }
        }
        for c in &r.placement_constraints {
            Constraint::parse(&c.kind, c.expression.as_deref())
                .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        }
        let td = self.resolve_task_definition(&r.task_definition, false)?;
        let constraints = td
            .placement_constraints
            .iter()
            .chain(r.placement_constraints.iter())
            .map(|c| Constraint::parse(&c.kind, c.expression.as_deref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        let group = r
            .group
            .clone()
            .unwrap_or_else(|| format!("family:{}", td.family));
        let (cpu, memory) = td.reservation();
        let req = placement::Request {
            cpu: i64::from(cpu),
            memory: i64::from(memory),
            group: group.clone(),
            constraints,
            strategies,
        };
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        {
            let mut state = lock(&self.inner.state);
            for _ in 0..count {
                let loads = self.loads(&state, &cluster);
                match placement::place(&req, &loads) {
                    Ok(arn) => {
                        let inst = state.container_instances[&arn].clone();
                        let task = self.new_task(
                            &cluster,
                            &td,
                            &inst,
                            r.started_by.clone(),
                            group.clone(),
                            r.overrides.clone(),
                        );
                        state.tasks.insert(task.task_arn.clone(), task.clone());
                        tasks.push(task);
                    }
                    Err(u) => {
                        tracing::info!(family = %td.family, reason = %u.reason, "task not placed: {}", u.detail);
                        failures.push(Failure {
                            arn: u.arn,
                            reason: u.reason,
                            detail: Some(u.detail),
                        });
                    }
                }
            }
            self.save(&state);
        }
        for t in &tasks {
            self.emit(t, TaskStatus::Provisioning);
            self.spawn_worker(t.task_arn.clone());
        }
        Ok(Reply::Tasks { tasks, failures })
    }

    fn start_task(&self, r: request::StartTask) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if r.container_instances.is_empty() || r.container_instances.len() > 10 {
            return Err(EngineError::InvalidParameter(
                "containerInstances must name 1 to 10 container instances.".into(),
            ));
        }
        let td = self.resolve_task_definition(&r.task_definition, false)?;
        let group = r
            .group
            .clone()
            .unwrap_or_else(|| format!("family:{}", td.family));
        let (cpu, memory) = td.reservation();
        let req = placement::Request {
            cpu: i64::from(cpu),
            memory: i64::from(memory),
            group: group.clone(),
            constraints: vec![],
            strategies: vec![],
        };
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        {
            let mut state = lock(&self.inner.state);
            for ci in &r.container_instances {
                let arn = self
                    .inner
                    .config
                    .partition
                    .container_instance(&cluster, arn::short_name(ci));
                let loads: Vec<InstanceLoad> = self
                    .loads(&state, &cluster)
                    .into_iter()
                    .filter(|l| l.arn == arn)
                    .collect();
                if loads.is_empty() {
                    failures.push(Failure {
                        arn: Some(ci.clone()),
                        reason: "MISSING".into(),
                        detail: None,
                    });
                    continue;
                }
                match placement::place(&req, &loads) {
                    Ok(arn) => {
                        let inst = state.container_instances[&arn].clone();
                        let task = self.new_task(
                            &cluster,
                            &td,
                            &inst,
                            r.started_by.clone(),
                            group.clone(),
                            r.overrides.clone(),
                        );
                        state.tasks.insert(task.task_arn.clone(), task.clone());
                        tasks.push(task);
                    }
                    Err(u) => failures.push(Failure {
                        arn: u.arn,
                        reason: u.reason,
                        detail: Some(u.detail),
                    }),
                }
            }
            self.save(&state);
        }
        for t in &tasks {
            self.spawn_worker(t.task_arn.clone());
        }
        Ok(Reply::Tasks { tasks, failures })
    }

    fn find_task_arn(&self, cluster: &str, reference: &str) -> Option<String> {
        let arn = if reference.starts_with("arn:") {
            reference.to_string()
        } else {
            self.inner.config.partition.task(cluster, reference)
        };
        lock(&self.inner.state)
            .tasks
            .contains_key(&arn)
            .then_some(arn)
    }

    fn stop_task(&self, r: request::StopTask) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if let Some(reason) = &r.reason {
            if reason.len() > 255 {
                return Err(EngineError::InvalidParameter(
                    "reason must be at most 255 characters.".into(),
                ));
            }
        }
        let arn = self.find_task_arn(&cluster, &r.task).ok_or_else(|| {
            EngineError::InvalidParameter("The referenced task was not found.".into())
        })?;
        self.request_stop(
            &arn,
            r.reason.as_deref().unwrap_or("Task stopped by user"),
            StopCode::UserInitiated,
        );
        Ok(Reply::Task(self.task(&arn).expect("exists")))
    }

    fn describe_tasks(&self, r: request::DescribeTasks) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if r.tasks.is_empty() {
            return Err(EngineError::InvalidParameter(
                "Tasks cannot be empty.".into(),
            ));
        }
        if r.tasks.len() > 100 {
            return Err(EngineError::InvalidParameter(
                "At most 100 tasks can be described at once.".into(),
            ));
        }
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        for t in r.tasks {
            match self.find_task_arn(&cluster, &t).and_then(|a| self.task(&a)) {
                Some(task) => tasks.push(task),
                None => failures.push(Failure {
                    arn: Some(t),
                    reason: "MISSING".into(),
                    detail: None,
                }),
            }
        }
        Ok(Reply::Tasks { tasks, failures })
    }

    fn list_tasks(&self, r: request::ListTasks) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let desired = match r.desired_status.as_deref() {
            None => TaskStatus::Running,
            Some("RUNNING") => TaskStatus::Running,
            Some("STOPPED") => TaskStatus::Stopped,
            Some("PENDING") => TaskStatus::Running,
            Some(other) => {
                return Err(EngineError::InvalidParameter(format!(
                    "Invalid desiredStatus '{other}' (expected RUNNING, PENDING or STOPPED)."
                )))
            }
        };
        let state = lock(&self.inner.state);
        // A service's tasks are those of its group, as ECS starts them.
        let service_group = match r.service_name.as_deref() {
            Some(name) => {
                let name = arn::short_name(name);
                let known = state
                    .services
                    .values()
                    .any(|s| s.service_name == name && s.cluster_name() == cluster);
                if !known {
                    return Err(EngineError::ServiceNotFound(name.to_string()));
                }
                Some(format!("service:{name}"))
            }
            None => None,
        };
        let instance = r.container_instance.as_deref().map(|ci| {
            self.inner
                .config
                .partition
                .container_instance(&cluster, arn::short_name(ci))
        });
        Ok(Reply::TaskArns(
            state
                .tasks
                .values()
                .filter(|t| t.cluster_name() == cluster)
                .filter(|t| t.desired_status == Some(desired))
                .filter(|t| {
                    r.family.as_deref().is_none_or(|f| {
                        t.group.as_deref() == Some(&format!("family:{f}"))
                            || arn::task_definition_ref(&t.task_definition_arn).0 == f
                    })
                })
                .filter(|t| {
                    instance
                        .as_deref()
                        .is_none_or(|i| t.container_instance_arn == i)
                })
                .filter(|t| {
                    r.started_by
                        .as_deref()
                        .is_none_or(|s| t.started_by.as_deref() == Some(s))
                })
                .filter(|t| {
                    service_group
                        .as_deref()
                        .is_none_or(|g| t.group.as_deref() == Some(g))
                })
                .map(|t| t.task_arn.clone())
                .collect(),
        ))
    }

    // -------------------------------------------------------------- workers

    fn spawn_worker(&self, arn: String) {
        let notify = Arc::new(Notify::new());
        {
            let mut workers = lock(&self.inner.workers);
            if workers.contains_key(&arn) {
                return;
            }
            workers.insert(arn.clone(), notify.clone());
        }
        let engine = self.clone();
        tokio::spawn(async move {
            engine.worker(&arn, &notify).await;
            lock(&engine.inner.workers).remove(&arn);
        });
    }

    async fn event_pump(&self) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let mut stream = self.inner.runtime.events(&self.inner.config.instance);
            loop {
                tokio::select! {
                    _ = self.inner.shutdown.cancelled() => return,
                    ev = stream.next() => match ev {
                        Some(Ok(ev)) => {
                            backoff = Duration::from_millis(200);
                            tracing::debug!(action = %ev.action, container = %ev.container_id, "docker event");
                            if let Some(arn) = ev.task_arn() {
                                self.wake(arn);
                            }
                        }
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "docker event stream failed; reconnecting");
                            break;
                        }
                        None => break,
                    }
                }
            }
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    async fn worker(&self, arn: &str, notify: &Notify) {
        let filter_instance = self.inner.config.instance.clone();
        loop {
            if self.inner.shutdown.is_cancelled() {
                return;
            }
            let Some(task) = self.task(arn) else { return };
            if task.status() == TaskStatus::Stopped {
                return;
            }
            let def = match self.resolve_task_definition(&task.task_definition_arn, true) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(task = %arn, error = %e, "task definition of a live task is gone");
                    return;
                }
            };
            let filter = [
                (labels::INSTANCE, filter_instance.as_str()),
                (labels::TASK_ARN, arn),
            ];
            let observed = match self.inner.runtime.list_containers(&filter).await {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(task = %arn, error = %e, "cannot observe task containers; retrying");
                    tokio::select! {
                        _ = self.inner.shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    continue;
                }
            };
            self.record_observation(arn, &observed);
            let task = self.task(arn).expect("exists");
            let steps = plan(&task, &def, &observed);
            if steps.is_empty() {
                tokio::select! {
                    _ = self.inner.shutdown.cancelled() => return,
                    _ = notify.notified() => {}
                    _ = tokio::time::sleep(self.inner.config.resync) => {}
                }
                continue;
            }
            for step in steps {
                if let Err(e) = self.apply(&task, &def, step.clone()).await {
                    tracing::warn!(task = %arn, ?step, error = %e, "step failed");
                    if task.wants_running() && task.status() < TaskStatus::Deactivating {
                        self.request_stop(arn, &e.to_string(), StopCode::TaskFailedToStart);
                    } else {
                        // Stopping: retry after a pause rather than spin.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    break;
                }
            }
        }
    }

    fn network_name(task: &Task) -> String {
        format!("ecs-task-{}", task.id())
    }

    pub(crate) fn runtime_name(task: &Task, def: &TaskDefinition, container: &str) -> String {
        let id = task.id();
        format!(
            "ecs-{}-{}-{}-{}",
            def.family,
            def.revision.unwrap_or(0),
            container,
            &id[..id.len().min(12)]
        )
    }

    fn labels(&self, task: &Task, def: &TaskDefinition) -> HashMap<String, String> {
        let mut l = HashMap::new();
        l.insert(
            labels::INSTANCE.to_string(),
            self.inner.config.instance.clone(),
        );
        l.insert(labels::CLUSTER.to_string(), task.cluster_name().to_string());
        l.insert(labels::TASK_ARN.to_string(), task.task_arn.clone());
        l.insert(labels::TASK_DEFINITION.to_string(), def.family_revision());
        l.insert(
            labels::CONTAINER_INSTANCE.to_string(),
            task.container_instance_arn.clone(),
        );
        l
    }

    /// What to create for one container. Fails when a `secrets` reference
    /// does not resolve (the task then stops, as ECS stops it).
    fn container_spec(
        &self,
        task: &Task,
        def: &TaskDefinition,
        name: &str,
    ) -> Result<ContainerSpec, RuntimeError> {
        let c = def.container(name).expect("planned containers exist");
        let mut env: Vec<(String, String)> = c
            .environment
            .iter()
            .map(|kv| (kv.name.clone(), kv.value.clone()))
            .collect();
        // Secrets are read when the container is created, as the agent
        // reads them: a value changed later reaches new tasks only.
        if !c.secrets.is_empty() {
            let resolved = {
                let state = lock(&self.inner.state);
                c.secrets
                    .iter()
                    .map(|s| {
                        super::secrets::resolve(&state.secrets, &s.value_from)
                            .map(|v| (s.name.clone(), v))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(RuntimeError::ResourceInitialization)?
            };
            for (name, value) in resolved {
                env.retain(|(n, _)| *n != name);
                env.push((name, value));
            }
        }
        let mut command = c.command.clone();
        // containerOverrides: environment and command, as RunTask allows.
        if let Some(ovs) = task
            .overrides
            .as_ref()
            .and_then(|o| o.get("containerOverrides"))
            .and_then(|v| v.as_array())
        {
            for ov in ovs
                .iter()
                .filter(|o| o.get("name").and_then(|n| n.as_str()) == Some(name))
            {
                if let Some(cmd) = ov
                    .get("command")
                    .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
                {
                    command = cmd;
                }
                if let Some(extra) = ov.get("environment").and_then(|v| v.as_array()) {
                    for kv in extra {
                        if let (Some(k), Some(v)) = (
                            kv.get("name").and_then(|x| x.as_str()),
                            kv.get("value").and_then(|x| x.as_str()),
                        ) {
                            env.retain(|(n, _)| n != k);
                            env.push((k.to_string(), v.to_string()));
                        }
                    }
                }
            }
        }
        let mut labels = self.labels(task, def);
        labels.insert(labels::CONTAINER_NAME.to_string(), name.to_string());
        // The container is reachable by its name, and by every alias other
        // containers' `links` give it (`name:alias`).
        let mut aliases = vec![name.to_string()];
        for other in &def.container_definitions {
            for link in &other.links {
                if let Some((target, alias)) = link.split_once(':') {
                    if target == name && !aliases.iter().any(|a| a == alias) {
                        aliases.push(alias.to_string());
                    }
                }
            }
        }
        Ok(ContainerSpec {
            runtime_name: Self::runtime_name(task, def, name),
            image: c.image.clone(),
            env,
            command,
            entry_point: c.entry_point.clone(),
            memory_mib: c.memory,
            memory_reservation_mib: c.memory_reservation,
            cpu_shares: c.cpu.unwrap_or(0).max(2),
            stop_timeout_s: c
                .stop_timeout
                .unwrap_or(self.inner.config.default_stop_timeout_s),
            health: c.health_check.as_ref().map(|h| HealthSpec {
                test: h.command.clone(),
                interval_s: h.interval.unwrap_or(30),
                timeout_s: h.timeout.unwrap_or(5),
                retries: h.retries.unwrap_or(3),
                start_period_s: h.start_period.unwrap_or(0),
            }),
            ports: c
                .port_mappings
                .iter()
                .map(|p| PortSpec {
                    container_port: p.container_port.unwrap_or(0) as u16,
                    host_port: p.host_port.filter(|h| *h != 0).map(|h| h as u16),
                    protocol: p.protocol.clone().unwrap_or_else(|| "tcp".into()),
                })
                .collect(),
            network: Self::network_name(task),
            aliases,
            labels,
        })
    }

    async fn apply(
        &self,
        task: &Task,
        def: &TaskDefinition,
        step: Step,
    ) -> Result<(), RuntimeError> {
        let rt = &self.inner.runtime;
        match step {
            Step::Advance(status) => {
                let moved = self.mutate(|s| {
                    let t = s.tasks.get_mut(&task.task_arn)?;
                    let previous = t.status();
                    if status == TaskStatus::Pending {
                        t.pull_started_at = Some(now_epoch());
                    }
                    let moved = t.advance(status).then(|| (t.clone(), previous));
                    if status == TaskStatus::Stopped {
                        prune_stopped(&mut s.tasks, now_epoch());
                    }
                    moved
                });
                if let Some((t, previous)) = moved {
                    tracing::info!(task = %t.task_arn, from = %previous, to = %status, "task status");
                    if matches!(status, TaskStatus::Activating | TaskStatus::Deactivating) {
                        let hooks: Vec<_> = lock(&self.inner.hooks).clone();
                        for h in hooks {
                            h.on_status(&t, status).await;
                        }
                    }
                    self.emit(&t, previous);
                }
                Ok(())
            }
            Step::CreateNetwork => {
                let mut labels = self.labels(task, def);
                labels.remove(labels::CONTAINER_INSTANCE);
                rt.create_network(&NetworkSpec {
                    name: Self::network_name(task),
                    labels,
                })
                .await
            }
            Step::EnsureImage(name) => {
                let image = def
                    .container(&name)
                    .map(|c| c.image.clone())
                    .unwrap_or_default();
                let r = rt.ensure_image(&image).await;
                if let Err(e) = &r {
                    self.set_container_reason(&task.task_arn, &name, &e.to_string());
                }
                r
            }
            Step::CreateContainer(name) => {
                let spec = match self.container_spec(task, def, &name) {
                    Ok(spec) => spec,
                    Err(e) => {
                        self.set_container_reason(&task.task_arn, &name, &e.to_string());
                        return Err(e);
                    }
                };
                match rt.create_container(&spec).await {
                    Ok(_) | Err(RuntimeError::Conflict(_)) => Ok(()),
                    Err(e) => {
                        self.set_container_reason(&task.task_arn, &name, &e.to_string());
                        Err(e)
                    }
                }
            }
            Step::StartContainer(name) => {
                let r = rt
                    .start_container(&Self::runtime_name(task, def, &name))
                    .await;
                if let Err(e) = &r {
                    self.set_container_reason(&task.task_arn, &name, &e.to_string());
                }
                r
            }
            Step::StopContainer(name) => {
                let timeout = def
                    .container(&name)
                    .and_then(|c| c.stop_timeout)
                    .unwrap_or(self.inner.config.default_stop_timeout_s);
                rt.stop_container(&Self::runtime_name(task, def, &name), timeout)
                    .await
            }
            Step::RemoveContainer(name) => {
                let runtime_name = Self::runtime_name(task, def, &name);
                // Keep what it wrote: the reason a task died is often there.
                let archive = !self
                    .inner
                    .stopping_all
                    .load(std::sync::atomic::Ordering::Relaxed);
                if archive {
                    if let Ok(lines) = rt.logs(&runtime_name, 0, super::logs::TAIL).await {
                        lock(&self.inner.log_archive).push(&task.task_arn, &name, lines);
                    }
                }
                rt.remove_container(&runtime_name).await
            }
            Step::RemoveNetwork => rt.remove_network(&Self::network_name(task)).await,
            Step::Stop { reason, code } => {
                self.request_stop(&task.task_arn, &reason, code);
                Ok(())
            }
        }
    }

    fn set_container_reason(&self, arn: &str, name: &str, reason: &str) {
        self.mutate(|s| {
            if let Some(c) = s.tasks.get_mut(arn).and_then(|t| t.container_mut(name)) {
                c.reason = Some(reason.to_string());
            }
        });
    }

    /// Copies what the runtime reports into the task's `containers[]`
    /// (status, exit code, bindings, health) and derives the task health.
    fn record_observation(&self, arn: &str, observed: &[ObservedContainer]) {
        let by_name: HashMap<&str, &ObservedContainer> = observed
            .iter()
            .filter_map(|o| o.container_name().map(|n| (n, o)))
            .collect();
        let changed = {
            let mut state = lock(&self.inner.state);
            let Some(task) = state.tasks.get_mut(arn) else {
                return;
            };
            let before = task.clone();
            for c in &mut task.containers {
                match by_name.get(c.name.as_str()) {
                    Some(o) => {
                        c.runtime_id = Some(o.id.clone());
                        match &o.state {
                            ContainerState::Created => c.last_status = "PENDING".into(),
                            ContainerState::Running => {
                                c.last_status = "RUNNING".into();
                                c.network_bindings = o
                                    .ports
                                    .iter()
                                    .map(|p| NetworkBinding {
                                        bind_ip: p.host_ip.clone(),
                                        container_port: p.container_port,
                                        host_port: p.host_port,
                                        protocol: p.protocol.clone(),
                                    })
                                    .collect();
                            }
                            ContainerState::Exited { code, oom_killed } => {
                                c.last_status = "STOPPED".into();
                                c.exit_code = Some(*code);
                                if *oom_killed {
                                    c.reason = Some(
                                        "OutOfMemoryError: Container killed due to memory usage"
                                            .into(),
                                    );
                                }
                            }
                        }
                        c.health_status = match o.health {
                            Some(Health::Healthy) => "HEALTHY",
                            Some(Health::Unhealthy) => "UNHEALTHY",
                            _ => "UNKNOWN",
                        }
                        .into();
                    }
                    None if c.last_status == "RUNNING" => {
                        c.last_status = "STOPPED".into();
                        if c.reason.is_none() {
                            c.reason = Some("Container is gone from the Docker engine".into());
                        }
                    }
                    None => {}
                }
            }
            // Task health: from essential containers that have a check.
            let checked: Vec<&str> = task
                .containers
                .iter()
                .filter(|c| c.essential)
                .filter(|c| {
                    by_name
                        .get(c.name.as_str())
                        .is_some_and(|o| o.health.is_some())
                })
                .map(|c| c.health_status.as_str())
                .collect();
            task.health_status = if checked.contains(&"UNHEALTHY") {
                "UNHEALTHY"
            } else if !checked.is_empty() && checked.iter().all(|h| *h == "HEALTHY") {
                "HEALTHY"
            } else {
                "UNKNOWN"
            }
            .into();
            let changed = *task != before;
            if changed {
                task.version += 1;
                let t = task.clone();
                self.save(&state);
                (before.health_status != t.health_status).then_some(t)
            } else {
                None
            }
        };
        if let Some(t) = changed {
            // Health changed; observers see an event with the same status.
            self.emit(&t, t.status());
        }
    }
}

/// CPU units and MiB reserved on an instance by tasks that hold resources.
fn used_resources(state: &State, instance_arn: &str) -> (i64, i64) {
    state
        .tasks
        .values()
        .filter(|t| t.container_instance_arn == instance_arn && t.status().holds_resources())
        .fold((0, 0), |(c, m), t| {
            (
                c + t.cpu.parse::<i64>().unwrap_or(0),
                m + t.memory.parse::<i64>().unwrap_or(0),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(arn: &str, status: TaskStatus, stopped_at: Option<f64>) -> (String, Task) {
        let t = Task {
            task_arn: arn.to_string(),
            last_status: Some(status),
            stopped_at,
            ..Default::default()
        };
        (arn.to_string(), t)
    }

    #[test]
    fn stopped_tasks_are_forgotten_after_an_hour_or_beyond_the_cap() {
        let now = 100_000.0;
        let mut tasks: BTreeMap<String, Task> = [
            task("running", TaskStatus::Running, None),
            task("recent", TaskStatus::Stopped, Some(now - 60.0)),
            task("old", TaskStatus::Stopped, Some(now - 3601.0)),
        ]
        .into_iter()
        .collect();
        prune_stopped(&mut tasks, now);
        assert_eq!(tasks.keys().collect::<Vec<_>>(), ["recent", "running"]);

        for i in 0..STOPPED_TASKS_KEPT + 10 {
            let (arn, t) = task(
                &format!("s{i:04}"),
                TaskStatus::Stopped,
                Some(now - 1000.0 + i as f64),
            );
            tasks.insert(arn, t);
        }
        prune_stopped(&mut tasks, now);
        let stopped = tasks
            .values()
            .filter(|t| t.status() == TaskStatus::Stopped)
            .count();
        assert_eq!(stopped, STOPPED_TASKS_KEPT);
        assert!(tasks.contains_key("running") && tasks.contains_key("recent"));
        assert!(!tasks.contains_key("s0000"), "the oldest go first");
    }
}
