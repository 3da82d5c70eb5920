//! The engine: the state (behind one lock, never held across an await),
//! the command handler, and the reconcile workers.
//!
//! Each live task has one worker (a tokio task owned by the engine) that
//! loops: observe the task's containers, record what it saw, ask
//! [`plan`](super::task_plan::plan) for steps, apply them. It sleeps until woken
//! by a Docker event for its task, a command (StopTask), or the resync
//! timer, and ends when its task is STOPPED or the engine shuts down.
//! Every state change is saved before it is acted on, so a restarted
//! emulator resumes exactly where the killed one was.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use super::command::{Command, EngineError, Reply};
use crate::db::{Db, DbError, State};
use crate::model::arn::Partition;
use crate::model::task::StopCode;
use crate::model::{now_epoch, Task, TaskStatus};
use crate::runtime::fleet::Fleet;
use crate::runtime::{labels, ContainerRuntime, RuntimeError};

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
    /// How often each engine is asked whether it answers (an instance's
    /// agent connection).
    pub instance_check: Duration,
    /// How long an instance stays disconnected before its tasks are
    /// stopped as on a lost host.
    pub instance_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            instance: "default".into(),
            partition: Partition::default(),
            resync: Duration::from_secs(5),
            default_stop_timeout_s: 30,
            instance_check: Duration::from_secs(2),
            instance_grace: Duration::from_secs(30),
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

pub(super) struct Inner {
    pub(super) config: EngineConfig,
    /// The engines tasks run on (see [`super::instance_health`]).
    pub(super) fleet: Arc<Fleet>,
    pub(super) db: Db,
    pub(super) events: broadcast::Sender<TaskEvent>,
    pub(super) workers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Each engine's agent connection (see [`super::instance_health`]).
    pub(super) hosts: Mutex<super::instance_health::Hosts>,
    pub(super) hooks: Mutex<Vec<Arc<dyn TaskHook>>>,
    /// The output of containers already removed (see [`crate::logs`]).
    pub(super) log_archive: Mutex<crate::logs::LogArchive>,
    /// Set by [`Engine::stop_all`]: the emulator is going away with its
    /// in-memory log archive, so removed containers' output is not kept.
    pub(super) stopping_all: std::sync::atomic::AtomicBool,
    pub(super) shutdown: CancellationToken,
    /// The emulator's image registry (see [`super::pull`]): `None` until
    /// the app says whether there is one (it starts after the engine).
    pub(super) registry: tokio::sync::watch::Sender<Option<Option<super::pull::RegistryAccess>>>,
}

/// The control plane. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<Inner>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long a stopped task stays visible (ECS: at least an hour)...
const STOPPED_TASK_RETENTION_S: f64 = 3600.0;
/// ... and how many stopped tasks are kept at most, the newest.
const STOPPED_TASKS_KEPT: usize = 500;

/// Forgets stopped tasks past their retention, so the state (cloned by
/// readers, written on every change) does not grow without end.
pub(super) fn prune_stopped(tasks: &mut crate::db::state::Map<Task>, now: f64) {
    crate::db::state::retain(tasks, |_, t| {
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
    /// An engine over `state` (from the store, or empty) whose tasks all
    /// run on `runtime`. Call [`Engine::start`] inside a tokio runtime to
    /// begin reconciling.
    pub fn new(config: EngineConfig, runtime: Arc<dyn ContainerRuntime>, db: Db) -> Engine {
        Engine::with_fleet(config, Arc::new(Fleet::single(runtime)), db)
    }

    /// An engine whose container instances may name other engines.
    pub fn with_fleet(config: EngineConfig, fleet: Arc<Fleet>, db: Db) -> Engine {
        // The instances' TLS client certificates, before any connects.
        db.view(|s| {
            for i in s.container_instances.values() {
                let tls = i.attribute(crate::model::container_instance::DOCKER_TLS_ATTRIBUTE);
                if let (Some(endpoint), Some(dir)) = (i.docker_host(), tls) {
                    fleet.use_tls(endpoint, std::path::Path::new(dir));
                }
            }
        });
        let (events, _) = broadcast::channel(1024);
        Engine {
            inner: Arc::new(Inner {
                config,
                fleet,
                db,
                events,
                workers: Mutex::new(HashMap::new()),
                hosts: Mutex::default(),
                hooks: Mutex::new(Vec::new()),
                log_archive: Mutex::default(),
                stopping_all: Default::default(),
                shutdown: CancellationToken::new(),
                registry: tokio::sync::watch::Sender::new(None),
            }),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The local engine (where the project's images are built and ECR's
    /// seed images pushed from).
    pub fn runtime(&self) -> &Arc<dyn ContainerRuntime> {
        self.inner.fleet.local()
    }

    pub fn fleet(&self) -> &Arc<Fleet> {
        &self.inner.fleet
    }

    /// The engine a task's containers live on.
    pub fn runtime_of(&self, task: &Task) -> Result<Arc<dyn ContainerRuntime>, RuntimeError> {
        self.inner.fleet.runtime(task.docker_host.as_deref())
    }

    /// Task status changes, for observers (the CLI's stream, target groups).
    pub fn subscribe(&self) -> broadcast::Receiver<TaskEvent> {
        self.inner.events.subscribe()
    }

    /// Tells the engine where the emulator's image registry is (`None`:
    /// this emulator has none), so tasks pull the images task definitions
    /// name in it (ECR URIs, or `127.0.0.1:PORT/...`). Until it is told,
    /// pulls of such images wait (a minute at most, then fail as without
    /// a registry): the registry starts after the engine's first tasks.
    pub fn set_registry(&self, registry: Option<super::pull::RegistryAccess>) {
        self.inner.registry.send_replace(Some(registry));
    }

    pub fn add_hook(&self, hook: Arc<dyn TaskHook>) {
        lock(&self.inner.hooks).push(hook);
    }

    /// Output of removed containers.
    pub(crate) fn log_archive(&self) -> MutexGuard<'_, crate::logs::LogArchive> {
        lock(&self.inner.log_archive)
    }

    /// The store every service module keeps its state in.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Reads the last durable state in place (never waits).
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.inner.db.view(f)
    }

    /// The last durable state (an O(1) snapshot).
    pub fn snapshot(&self) -> Arc<State> {
        self.inner.db.read()
    }

    pub fn task(&self, arn: &str) -> Option<Task> {
        self.inner.db.view(|s| s.tasks.get(arn).cloned())
    }

    /// Starts watching every engine (its events and whether it answers)
    /// and a worker for every live task (adoption after a restart is just
    /// this).
    pub fn start(&self) {
        let live: Vec<String> = self
            .snapshot()
            .tasks
            .values()
            .filter(|t| t.status() != TaskStatus::Stopped)
            .map(|t| t.task_arn.clone())
            .collect();
        for endpoint in self.endpoints() {
            self.watch(endpoint);
        }
        for arn in live {
            self.spawn_worker(arn);
        }
    }

    /// Whether an essential container of the task has exited, as Docker
    /// sees it now (the worker may not have recorded it yet); wakes the
    /// task's worker when so.
    pub async fn essential_container_exited(&self, arn: &str) -> bool {
        let Some(task) = self.task(arn) else {
            return false;
        };
        let instance = self.inner.config.instance.clone();
        let filter = [
            (labels::INSTANCE, instance.as_str()),
            (labels::TASK_ARN, arn),
        ];
        let Ok(rt) = self.runtime_of(&task) else {
            return false;
        };
        let Ok(observed) = rt.list_containers(&filter).await else {
            return false;
        };
        let exited = task.containers.iter().filter(|c| c.essential).any(|c| {
            observed.iter().any(|o| {
                o.container_name() == Some(c.name.as_str())
                    && matches!(o.state, crate::runtime::ContainerState::Exited { .. })
            })
        });
        if exited {
            self.wake(arn);
        }
        exited
    }

    /// Removes this instance's containers and networks on the local
    /// engine whose task is not live (unknown to a lost or replaced
    /// state), logging each; returns their names. Other engines are
    /// cleaned by their watcher when they answer (see
    /// [`super::instance_health`]): one that is away does not hold up the
    /// start.
    pub async fn remove_orphans(&self) -> Vec<String> {
        let local = self.inner.fleet.local().clone();
        self.remove_strays(local.as_ref(), "the local engine").await
    }

    /// Stops workers and the event pump; containers are left as they are.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    /// Asks every live task to stop.
    pub async fn stop_all(&self, reason: &str) {
        self.inner
            .stopping_all
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let arns: Vec<String> = self.snapshot().tasks.keys().cloned().collect();
        for arn in arns {
            if let Err(e) = self
                .request_stop(&arn, reason, StopCode::UserInitiated)
                .await
            {
                tracing::error!(task = %arn, "cannot record the stop: {e}");
            }
        }
    }

    /// Waits until no task is live, or the timeout passes. True when idle.
    pub async fn wait_all_stopped(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let live = self
                .snapshot()
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

    /// Changes the state and returns once the change is durable, for the
    /// service modules beside the engine that keep their resources in the
    /// same store. Do not block inside `f`.
    pub async fn update_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, DbError> {
        self.inner.db.commit(f).await
    }

    /// Asks a task to stop with the given `stopCode` (the service
    /// scheduler stops its tasks as `ServiceSchedulerInitiated`).
    pub async fn stop_task_as(
        &self,
        arn: &str,
        reason: &str,
        code: StopCode,
    ) -> Result<Option<Task>, EngineError> {
        self.request_stop(arn, reason, code).await
    }

    /// Changes the state; durable when it returns.
    pub(super) async fn mutate<R>(
        &self,
        f: impl FnOnce(&mut State) -> R,
    ) -> Result<R, EngineError> {
        Ok(self.inner.db.commit(f).await?)
    }

    pub(super) fn emit(&self, task: &Task, previous: TaskStatus) {
        let _ = self.inner.events.send(TaskEvent {
            task: task.clone(),
            previous,
        });
    }

    pub(super) fn wake(&self, arn: &str) {
        if let Some(n) = lock(&self.inner.workers).get(arn) {
            n.notify_one();
        }
    }

    /// Marks a live task to stop and wakes its worker; the task as it is
    /// afterwards (`None`: no such task, e.g. forgotten since).
    pub(super) async fn request_stop(
        &self,
        arn: &str,
        reason: &str,
        code: StopCode,
    ) -> Result<Option<Task>, EngineError> {
        let (changed, task) = self
            .mutate(|s| match s.tasks.get_mut(arn) {
                Some(t) if t.wants_running() && t.status() != TaskStatus::Stopped => {
                    t.desired_status = Some(TaskStatus::Stopped);
                    t.stopped_reason = Some(reason.to_string());
                    t.stop_code = Some(code);
                    t.stopping_at = Some(now_epoch());
                    t.version += 1;
                    (true, Some(t.clone()))
                }
                Some(t) => (false, Some(t.clone())),
                None => (false, None),
            })
            .await?;
        if changed {
            self.wake(arn);
        }
        Ok(task)
    }

    // ------------------------------------------------------------- commands

    /// Handles one command: the single `match` every request goes through.
    pub async fn handle(&self, cmd: Command) -> Result<Reply, EngineError> {
        match cmd {
            Command::CreateCluster(r) => self.create_cluster_with(r, Default::default()).await,
            Command::DescribeClusters(r) => {
                let names = r.clusters.unwrap_or_else(|| vec!["default".into()]);
                Ok(self.describe_clusters(names, &r.include))
            }
            Command::ListClusters(r) => {
                let arns = self
                    .snapshot()
                    .clusters
                    .values()
                    .filter(|c| c.status == crate::model::ClusterStatus::Active)
                    .map(|c| c.cluster_arn.clone())
                    .collect();
                let (arns, next) = super::tags::paginate_arns(arns, &r.page, 100)?;
                Ok(super::tags::paged(Reply::ClusterArns(arns), next))
            }
            Command::UpdateCluster(r) | Command::UpdateClusterSettings(r) => {
                self.update_cluster(r).await
            }
            Command::TagResource(r) => self.tag_resource(r).await,
            Command::UntagResource(r) => self.untag_resource(r).await,
            Command::ListTagsForResource(r) => self.list_tags(&r),
            Command::DeregisterContainerInstance(r) => self.deregister_container_instance(r).await,
            Command::DeleteTaskDefinitions(r) => self.delete_task_definitions(r).await,
            Command::PutAccountSetting(r) => self.put_account_setting(r, false).await,
            Command::PutAccountSettingDefault(r) => self.put_account_setting(r, true).await,
            Command::DeleteAccountSetting(r) => self.delete_account_setting(r).await,
            Command::ListAccountSettings(r) => self.list_account_settings(r),
            Command::PutAttributes(r) => self.put_attributes(r, false).await,
            Command::DeleteAttributes(r) => self.put_attributes(r, true).await,
            Command::ListAttributes(r) => self.list_attributes(r),
            Command::DescribeCapacityProviders(r) => self.describe_capacity_providers(r),
            Command::UpdateTaskProtection(r) => self.update_task_protection(r).await,
            Command::GetTaskProtection(r) => self.get_task_protection(r),
            Command::DeleteCluster(r) => self.delete_cluster(&r.cluster).await,
            Command::RegisterContainerInstance(r) => self.register_container_instance(r).await,
            Command::ListContainerInstances(r) => self.list_container_instances(r),
            Command::DescribeContainerInstances(r) => self.describe_container_instances(r),
            Command::RegisterTaskDefinition(td) => self.register_task_definition(*td).await,
            Command::DescribeTaskDefinition(r) => {
                let td = self.resolve_task_definition(&r.task_definition, true)?;
                if r.include.iter().any(|i| i == "TAGS") {
                    let arn = td.task_definition_arn.clone().unwrap_or_default();
                    let tags = self.read(|s| super::tags::tags_of(s, &arn));
                    return Ok(Reply::TaskDefinitionTagged {
                        task_definition: td,
                        tags,
                    });
                }
                Ok(Reply::TaskDefinition(td))
            }
            Command::ListTaskDefinitions(r) => self.list_task_definitions(r),
            Command::ListTaskDefinitionFamilies(r) => self.list_families(r),
            Command::DeregisterTaskDefinition(r) => {
                self.deregister_task_definition(&r.task_definition).await
            }
            Command::RunTask(r) => self.run_task_with(r, Default::default()).await,
            Command::StartTask(r) => self.start_task(r).await,
            Command::StopTask(r) => self.stop_task(r).await,
            Command::DescribeTasks(r) => self.describe_tasks(r),
            Command::ListTasks(r) => self.list_tasks(r),
            Command::CreateClusterWith(r, c) => self.create_cluster_with(r, c).await,
            Command::UpdateClusterWith(r, c) => self.update_cluster_with(r, c).await,
            Command::RunTaskWith(r, c) => self.run_task_with(r, c).await,
            Command::CreateCapacityProvider(r) => self.create_capacity_provider(r).await,
            Command::UpdateCapacityProvider(r) => self.update_capacity_provider(r).await,
            Command::DeleteCapacityProvider(r) => self.delete_capacity_provider(r).await,
            Command::PutClusterCapacityProviders(r) => self.put_cluster_capacity_providers(r).await,
            Command::ListServicesByNamespace(r) => self.list_services_by_namespace(r),
            Command::DiscoverPollEndpoint(r) => self.discover_poll_endpoint(r),
            Command::SubmitTaskStateChange(r) => self.submit_task_state_change(r).await,
            Command::SubmitContainerStateChange(r) => self.submit_container_state_change(r).await,
            Command::SubmitAttachmentStateChanges(r) => self.submit_attachment_state_changes(r),
            Command::UpdateContainerAgent(r) => self.update_container_agent(r).await,
        }
    }
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
        let mut tasks: crate::db::state::Map<Task> = [
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
