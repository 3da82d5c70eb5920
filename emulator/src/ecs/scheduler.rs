//! The service scheduler: the ECS service operations and the loop that
//! applies the pure [`super::service_plan::plan`] to every service.
//!
//! Services live in the engine's state (the same durable store as tasks).
//! One background loop (owned by the [`Scheduler`], ended by its
//! cancellation token) reconciles every service when a service task
//! changes, when an operation changes a service, and on a short timer (the
//! balancer's health changes are polled). Tasks are started and stopped
//! through the [`Engine`]; targets are registered at the task's ACTIVATING
//! hook (and by the plan for any RUNNING task missing from its groups, e.g.
//! after a restart) and drained at its DEACTIVATING hook, before any
//! container is stopped: the hook deregisters, says so in the service's
//! events, and returns only once the balancer has finished draining.

use crate::model::ServiceStatus;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::service_plan::{plan, LaunchBackoff, Observed, ObservedTask, Step, TargetState};
use super::targets::{TargetRegistry, TaskTarget};
use super::{Command, Engine, Reply, TaskHook};
use crate::db::State;
use crate::model::now_epoch;
use crate::model::request;
use crate::model::service::{self as svc, Deployment, Service, IN_PROGRESS, PRIMARY};
use crate::model::task::{StopCode, Task, TaskStatus};

/// Scheduler settings.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How often every service is reconciled without a task event.
    pub interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            interval: Duration::from_millis(500),
        }
    }
}

pub use super::services::{ServiceCommand, ServiceError, ServiceReply};

pub(super) struct Inner {
    pub(super) engine: Engine,
    pub(super) targets: Arc<dyn TargetRegistry>,
    pub(super) config: SchedulerConfig,
    /// ECS's service throttle (see [`Scheduler::set_launch_backoff`]).
    backoff: std::sync::Mutex<LaunchBackoff>,
    pub(super) wake: Notify,
    pub(super) shutdown: CancellationToken,
    /// Targets registered lately, by (group, task, port): a balancer in its
    /// own process reports a new target's health a moment later, and until
    /// then the target must not be registered (and announced) again.
    registered: std::sync::Mutex<HashMap<(String, String, u16), std::time::Instant>>,
}

/// How long a registration counts as done without the balancer's word.
const REGISTERED_GRACE: Duration = Duration::from_secs(10);

/// The service scheduler. Cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    pub(super) inner: Arc<Inner>,
}

impl Scheduler {
    /// A scheduler over the engine's state; also adds its task hook to the
    /// engine. Call [`Scheduler::start`] inside a tokio runtime.
    pub fn new(
        engine: Engine,
        targets: Arc<dyn TargetRegistry>,
        config: SchedulerConfig,
    ) -> Scheduler {
        let s = Scheduler {
            inner: Arc::new(Inner {
                engine,
                targets,
                config,
                backoff: std::sync::Mutex::new(LaunchBackoff::default()),
                wake: Notify::new(),
                shutdown: CancellationToken::new(),
                registered: std::sync::Mutex::new(HashMap::new()),
            }),
        };
        s.inner
            .engine
            .add_hook(Arc::new(Hook(Arc::downgrade(&s.inner))));
        s
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn targets(&self) -> &Arc<dyn TargetRegistry> {
        &self.inner.targets
    }

    /// Starts the reconcile loop (ends on [`Scheduler::shutdown`]).
    pub fn start(&self) {
        let s = self.clone();
        tokio::spawn(async move { s.run().await });
    }

    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    /// How launches of services whose tasks keep failing wait (default:
    /// from the 3rd failure in a row, 5 s doubling up to 5 min).
    pub fn set_launch_backoff(&self, backoff: LaunchBackoff) {
        *self.inner.backoff.lock().unwrap_or_else(|e| e.into_inner()) = backoff;
        self.wake();
    }

    pub fn launch_backoff(&self) -> LaunchBackoff {
        *self.inner.backoff.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reconcile soon.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    async fn run(&self) {
        let mut events = self.inner.engine.subscribe();
        loop {
            self.reconcile_all().await;
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                _ = self.inner.wake.notified() => {}
                ev = events.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = ev {
                        return;
                    }
                }
                _ = tokio::time::sleep(self.inner.config.interval) => {}
            }
        }
    }

    /// After a restart, before the first pass: re-registers the targets of
    /// services' RUNNING tasks as healthy, as a balancer that never went
    /// away would still have them. Otherwise the first pass would find
    /// every target `initial` and, in a rolling deployment, stop the
    /// outgoing tasks before their replacements are healthy.
    pub fn adopt_targets(&self) {
        let state = self.inner.engine.snapshot();
        for service in state
            .services
            .values()
            .filter(|s| s.status != ServiceStatus::Inactive)
        {
            for task in service_tasks(&state, service).filter(|t| t.status() == TaskStatus::Running)
            {
                for lb in service.load_balancers_of(task) {
                    let Some(tg) = lb.target_group_arn.as_deref() else {
                        continue;
                    };
                    let Some(target) = target_of(&state, task, lb) else {
                        continue;
                    };
                    if let Err(e) = self.inner.targets.adopt(tg, &target) {
                        tracing::warn!(task = %task.task_arn, error = %e, "cannot re-register target");
                    }
                }
            }
        }
    }

    /// One pass over every service that is not INACTIVE.
    pub async fn reconcile_all(&self) {
        let arns: Vec<String> = self.inner.engine.read(|st| {
            st.services
                .iter()
                .filter(|(_, s)| s.status != ServiceStatus::Inactive)
                .map(|(a, _)| a.clone())
                .collect()
        });
        for arn in arns {
            self.reconcile(&arn).await;
        }
    }

    /// Observes one service, plans and applies the steps.
    pub async fn reconcile(&self, service_arn: &str) {
        let state = self.inner.engine.snapshot();
        let Some(service) = state.services.get(service_arn).cloned() else {
            return;
        };
        let observed = self.observe(&state, &service);
        let steps = plan(&service, &observed);
        for step in steps {
            self.apply(&service, &state, step).await;
        }
    }

    fn observe(&self, state: &State, service: &Service) -> Observed {
        let health: Vec<BTreeMap<(String, u16), TargetState>> = service
            .load_balancers
            .iter()
            .map(|lb| {
                self.inner
                    .targets
                    .health(lb.target_group_arn.as_deref().unwrap_or(""))
            })
            .collect();
        let tasks = service_tasks(state, service)
            .map(|t| {
                let instance = state.container_instances.get(&t.container_instance_arn);
                let targets = service
                    .load_balancers
                    .iter()
                    .zip(&health)
                    .map(|(lb, h)| match target_of(state, t, lb) {
                        Some(target) => h
                            .get(&target.key())
                            .copied()
                            .unwrap_or(TargetState::NotRegistered),
                        None => TargetState::NotRegistered,
                    })
                    .collect();
                ObservedTask {
                    arn: t.task_arn.clone(),
                    deployment: t.started_by.clone().unwrap_or_default(),
                    status: t.status(),
                    wants_running: t.wants_running(),
                    stop_code: t.stop_code,
                    started_at: t.started_at,
                    stopping_at: t.stopping_at,
                    availability_zone: t.availability_zone.clone(),
                    instance_active: instance
                        .is_some_and(|i| i.status == crate::model::InstanceStatus::Active),
                    container_unhealthy: t
                        .containers
                        .iter()
                        .any(|c| c.essential && c.health_status == "UNHEALTHY"),
                    protected: t.protected_until.is_some_and(|u| u > now_epoch()),
                    targets,
                }
            })
            .collect();
        Observed {
            tasks,
            now: now_epoch(),
            backoff: self.launch_backoff(),
        }
    }

    /// Changes a stored service, durably; `None` when it is gone or the
    /// change could not be stored (logged: the next pass tries again).
    async fn update_service<R>(&self, arn: &str, f: impl FnOnce(&mut Service) -> R) -> Option<R> {
        match self
            .inner
            .engine
            .update_state(|s| s.services.get_mut(arn).map(f))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(service = %arn, "cannot store a service change: {e}");
                None
            }
        }
    }

    async fn event(&self, arn: &str, message: &str) {
        tracing::info!(service = %arn, "{message}");
        self.update_service(arn, |s| s.push_event(message, now_epoch()))
            .await;
    }

    async fn apply(&self, service: &Service, state: &State, step: Step) {
        let arn = service.service_arn.as_str();
        match step {
            Step::RegisterTargets { task } => {
                if let Some(t) = state.tasks.get(&task) {
                    self.register(service, state, t).await;
                }
            }
            Step::StartTasks { deployment, count } => {
                self.start_tasks(service, &deployment, count).await;
            }
            Step::StopTask {
                task,
                reason,
                failed,
            } => {
                // A target fails its checks because its container died: the
                // death is the cause (EssentialContainerExited), recorded by
                // the task's worker, which is woken to see it now.
                let for_health = reason.starts_with("Task failed ELB health checks");
                if (failed || for_health)
                    && self.inner.engine.essential_container_exited(&task).await
                {
                    return;
                }
                // ECS's words for the target, read before it drains.
                let unhealthy = self.unhealthy_event(service, state, &task, &reason);
                if let Err(e) = self
                    .inner
                    .engine
                    .stop_task_as(&task, &reason, StopCode::ServiceSchedulerInitiated)
                    .await
                {
                    tracing::error!(task = %task, "cannot stop: {e}");
                    return;
                }
                let deployment = state
                    .tasks
                    .get(&task)
                    .and_then(|t| t.started_by.clone())
                    .unwrap_or_default();
                let id = task_id(&task);
                self.update_service(arn, |s| {
                    s.steady = false;
                    let now = now_epoch();
                    if let Some(e) = &unhealthy {
                        s.push_event(e, now);
                    }
                    if failed {
                        if let Some(d) = s.deployment_mut(&deployment) {
                            if d.failed_task_arns.insert(task.clone()) {
                                d.failed_tasks += 1;
                                bound_failed(d);
                            }
                        }
                        // "(task T) failed ELB health checks in (target-group G)."
                        let what = reason.strip_prefix("Task ").unwrap_or(&reason);
                        s.push_event(&format!("(task {id}) {what}."), now);
                    }
                    s.push_event(&format!("has stopped 1 running tasks: (task {id})."), now);
                })
                .await;
            }
            Step::RecordFailure { deployment, task } => {
                self.update_service(arn, |s| {
                    if let Some(d) = s.deployment_mut(&deployment) {
                        if d.failed_task_arns.insert(task.clone()) {
                            d.failed_tasks += 1;
                            d.updated_at = now_epoch();
                            bound_failed(d);
                        }
                    }
                })
                .await;
            }
            Step::ThrottleLaunches { throttle, announce } => {
                self.update_service(arn, |s| {
                    // Absolute values: a pass that planned on an older
                    // snapshot never counts a failure twice.
                    if throttle.counted_until <= s.launch_throttle.counted_until {
                        return;
                    }
                    let after = s.launch_throttle.counted_until.max(s.created_at);
                    let why = super::service_plan::start_failure_events(
                        s,
                        state.tasks.values(),
                        after,
                        throttle.counted_until,
                    );
                    for e in why {
                        s.push_event(&e, now_epoch());
                    }
                    s.launch_throttle = throttle;
                    if announce {
                        s.steady = false;
                        s.push_event(super::service_plan::THROTTLED, now_epoch());
                    }
                })
                .await;
            }
            Step::ClearThrottle => {
                self.update_service(arn, |s| s.launch_throttle.reset())
                    .await;
            }
            Step::TripCircuitBreaker {
                deployment,
                rollback_to,
            } => {
                self.trip_circuit_breaker(arn, &deployment, rollback_to)
                    .await;
            }
            Step::CompleteDeployment { deployment } => {
                self.complete_deployment(arn, &deployment).await;
            }
            Step::RemoveTaskSet { task_set } => {
                self.update_service(arn, |s| s.task_sets.retain(|t| t.id != task_set))
                    .await;
            }
            Step::RemoveDeployment { deployment } => {
                self.update_service(arn, |s| s.deployments.retain(|d| d.id != deployment))
                    .await;
            }
            Step::SteadyState => {
                self.update_service(arn, |s| {
                    s.steady = true;
                    s.push_event("has reached a steady state.", now_epoch());
                })
                .await;
            }
            Step::Inactivate => {
                let r = self
                    .inner
                    .engine
                    .update_state(|st| {
                        if let Some(s) = st.services.get_mut(arn) {
                            s.status = ServiceStatus::Inactive;
                            s.deployments.clear();
                        }
                        super::services::forget_deleted(st, super::services::DELETED_KEPT);
                    })
                    .await;
                if let Err(e) = r {
                    tracing::error!(service = %arn, "cannot store a service change: {e}");
                }
            }
        }
    }

    /// `(task T) (instance I) (port P) is unhealthy in (target-group G)
    /// due to (reason R).`, as ECS says it, for a task stopped for failing
    /// a target group's health checks.
    fn unhealthy_event(
        &self,
        service: &Service,
        state: &State,
        task_arn: &str,
        reason: &str,
    ) -> Option<String> {
        let tg = reason
            .strip_prefix("Task failed ELB health checks in (target-group ")?
            .strip_suffix(')')?;
        let task = state.tasks.get(task_arn)?;
        let lb = service
            .load_balancers
            .iter()
            .find(|l| l.target_group_arn.as_deref() == Some(tg))?;
        let TaskTarget {
            id: instance, port, ..
        } = target_of(state, task, lb)?;
        let why = self
            .inner
            .targets
            .reason(tg, &instance, port)
            .unwrap_or_else(|| "Health checks failed".into());
        Some(format!(
            "(task {}) (instance {instance}) (port {port}) is unhealthy in (target-group {tg}) due to (reason {why}).",
            task_id(task_arn)
        ))
    }

    async fn start_tasks(&self, service: &Service, deployment: &str, count: u32) {
        let Some(td) = service
            .deployments
            .iter()
            .find(|d| d.id == deployment)
            .map(|d| d.task_definition.clone())
            .or_else(|| {
                service
                    .task_set(deployment)
                    .map(|t| t.task_definition.clone())
            })
        else {
            return;
        };
        let arn = service.service_arn.as_str();
        let mut left = count;
        while left > 0 {
            let n = left.min(10);
            left -= n;
            let reply = self
                .inner
                .engine
                .handle(Command::RunTask(request::RunTask {
                    cluster: Some(service.cluster_name().to_string()),
                    task_definition: td.clone(),
                    count: Some(i64::from(n)),
                    started_by: Some(deployment.to_string()),
                    group: Some(service.group()),
                    launch_type: None,
                    placement_constraints: service.placement_constraints.clone(),
                    placement_strategy: service.placement_strategy.clone(),
                    overrides: None,
                    tags: vec![],
                    propagate_tags: (service.propagate_tags != "NONE")
                        .then(|| service.propagate_tags.clone())
                        .filter(|p| !p.is_empty()),
                    enable_ecs_managed_tags: service.enable_ecs_managed_tags,
                }))
                .await;
            match reply {
                Ok(Reply::Tasks { tasks, failures }) => {
                    if !tasks.is_empty() {
                        let list: Vec<String> =
                            tasks.iter().map(|t| format!("(task {})", t.id())).collect();
                        self.update_service(arn, |s| {
                            s.steady = false;
                            s.push_event(
                                &format!("has started {} tasks: {}.", tasks.len(), list.join(" ")),
                                now_epoch(),
                            );
                        })
                        .await;
                    }
                    if let Some(f) = failures.first() {
                        let msg = format!(
                            "was unable to place a task because {}",
                            f.detail.as_deref().unwrap_or(&f.reason)
                        );
                        self.event_throttled(arn, &msg, 30.0).await;
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    self.event_throttled(arn, &format!("was unable to start tasks: {e}"), 30.0)
                        .await;
                    return;
                }
            }
        }
    }

    /// An event, unless the same one was said within `window_s`.
    async fn event_throttled(&self, arn: &str, message: &str, window_s: f64) {
        let now = now_epoch();
        self.update_service(arn, |s| {
            let full = format!("(service {}) {message}", s.service_name);
            let recent = s
                .events
                .iter()
                .any(|e| e.message == full && now - e.created_at < window_s);
            if !recent {
                s.push_event(message, now);
            }
        })
        .await;
    }

    /// Whether registering task `task`'s `port` in group `tg` now is not a
    /// repeat of one made within [`REGISTERED_GRACE`]; records it.
    fn first_registration(&self, tg: &str, task: &str, port: u16) -> bool {
        let mut recent = self
            .inner
            .registered
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        recent.retain(|_, at| now.duration_since(*at) < REGISTERED_GRACE);
        recent
            .insert((tg.to_string(), task.to_string(), port), now)
            .is_none()
    }

    /// Registers a task in every target group of its service where it is
    /// missing.
    async fn register(&self, service: &Service, state: &State, task: &Task) {
        for lb in service.load_balancers_of(task) {
            let Some(tg) = lb.target_group_arn.as_deref() else {
                continue;
            };
            let Some(target) = target_of(state, task, lb) else {
                continue;
            };
            let port = target.port;
            let present = self.inner.targets.health(tg).contains_key(&target.key());
            if present || !self.first_registration(tg, &task.task_arn, port) {
                continue;
            }
            match self.inner.targets.register(tg, &target) {
                Ok(()) => {
                    self.event(
                        &service.service_arn,
                        &format!("registered 1 targets in (target-group {tg})"),
                    )
                    .await
                }
                Err(e) => {
                    tracing::warn!(task = %task.task_arn, error = %e, "cannot register target")
                }
            }
        }
    }

    /// Deregisters a task from its target groups and waits for the drain.
    async fn drain(&self, service: &Service, state: &State, task: &Task) {
        let mut draining = Vec::new();
        for lb in service.load_balancers_of(task) {
            let Some(tg) = lb.target_group_arn.as_deref() else {
                continue;
            };
            let Some(TaskTarget { id, port, .. }) = target_of(state, task, lb) else {
                continue;
            };
            let key = (id.clone(), port);
            match self.inner.targets.health(tg).get(&key) {
                Some(TargetState::Draining) => draining.push((tg.to_string(), key)),
                Some(_) => {
                    self.inner.targets.deregister(tg, &id, port);
                    draining.push((tg.to_string(), key));
                }
                None => {}
            }
        }
        if draining.is_empty() {
            return;
        }
        let arn = service.service_arn.as_str();
        self.event(arn, "has begun draining connections on 1 tasks.")
            .await;
        let longest = draining
            .iter()
            .map(|(tg, _)| self.inner.targets.deregistration_delay_s(tg))
            .max()
            .unwrap_or(0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(longest + 5);
        // Subscribed before the first look, so no removal is missed; woken
        // by each removal, never by a timer short of the deadline.
        let mut removals: Vec<_> = draining
            .iter()
            .filter_map(|(tg, _)| self.inner.targets.removals(tg))
            .collect();
        let mut pending = draining;
        loop {
            let mut gone = Vec::new();
            pending.retain(|(tg, key)| {
                let left = !self.inner.targets.health(tg).contains_key(key);
                if left {
                    gone.push(tg.clone());
                }
                !left
            });
            for tg in gone {
                self.event(
                    arn,
                    &format!("deregistered 1 targets in (target-group {tg})"),
                )
                .await;
            }
            if pending.is_empty() || removals.is_empty() {
                break;
            }
            let changed = futures_util::future::select_all(
                removals.iter_mut().map(|r| Box::pin(r.changed())),
            );
            tokio::select! {
                (r, _, _) = changed => if r.is_err() { break },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
    }
}

pub(super) fn new_deployment(td_arn: &str, desired: u32, now: f64) -> Deployment {
    Deployment {
        id: svc::deployment_id(),
        status: PRIMARY.into(),
        task_definition: td_arn.to_string(),
        desired_count: desired,
        created_at: now,
        updated_at: now,
        launch_type: "EC2".into(),
        rollout_state: IN_PROGRESS.into(),
        rollout_state_reason: Some("ECS deployment in progress.".into()),
        ..Default::default()
    }
}

/// How many failed task ARNs a deployment remembers (to count each once);
/// `failedTasks` keeps counting beyond.
pub const FAILED_TASKS_KEPT: usize = 100;

fn bound_failed(d: &mut Deployment) {
    while d.failed_task_arns.len() > FAILED_TASKS_KEPT {
        d.failed_task_arns.pop_first();
    }
}

fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The tasks of a service: its group, in its cluster.
pub fn service_tasks<'a>(state: &'a State, service: &'a Service) -> impl Iterator<Item = &'a Task> {
    let group = service.group();
    state.tasks.values().filter(move |t| {
        t.group.as_deref() == Some(group.as_str()) && t.cluster_arn == service.cluster_arn
    })
}

/// The target a task offers a load balancer: (instance id, host, host port).
pub fn target_of(state: &State, task: &Task, lb: &svc::LoadBalancer) -> Option<TaskTarget> {
    let c = task.container(&lb.container_name)?;
    let b = c
        .network_bindings
        .iter()
        .find(|b| b.container_port == lb.container_port)?;
    let instance = state.container_instances.get(&task.container_instance_arn);
    let id = instance
        .map(|i| i.ec2_instance_id.clone())
        .unwrap_or_else(|| task.container_instance_arn.clone());
    // Another engine's host ports are on its host's address, as ECS's
    // bridge mode registers `instance:hostPort`.
    let address = instance.and_then(|i| i.address()).or_else(|| {
        let endpoint = task.docker_host.as_deref()?;
        crate::runtime::fleet::endpoint_host(endpoint).map(str::to_string)
    });
    let host = match address {
        Some(address) => address,
        None if b.bind_ip.is_empty() || b.bind_ip == "0.0.0.0" => "127.0.0.1".to_string(),
        None => b.bind_ip.clone(),
    };
    let dial = c
        .runtime_address
        .as_deref()
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        .map(|ip| std::net::SocketAddr::new(ip, b.container_port));
    Some(TaskTarget {
        id,
        host,
        port: b.host_port,
        dial,
    })
}

/// Registers at ACTIVATING, drains at DEACTIVATING. Weak: the engine owns
/// its hooks and the scheduler owns the engine.
struct Hook(std::sync::Weak<Inner>);

impl TaskHook for Hook {
    fn on_status<'a>(&'a self, task: &'a Task, status: TaskStatus) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some(inner) = self.0.upgrade() else {
                return;
            };
            let scheduler = Scheduler { inner };
            let Some(name) = task
                .group
                .as_deref()
                .and_then(|g| g.strip_prefix("service:"))
            else {
                return;
            };
            let state = scheduler.inner.engine.snapshot();
            let Some(service) = state
                .services
                .values()
                .find(|s| s.service_name == name && s.cluster_arn == task.cluster_arn)
                .cloned()
            else {
                return;
            };
            match status {
                TaskStatus::Activating => scheduler.register(&service, &state, task).await,
                TaskStatus::Deactivating => scheduler.drain(&service, &state, task).await,
                _ => {}
            }
            scheduler.wake();
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_remembers_a_bounded_number_of_failed_tasks() {
        let mut d = new_deployment("td", 1, 0.0);
        for i in 0..(FAILED_TASKS_KEPT * 3) {
            if d.failed_task_arns.insert(format!("arn:task/{i:05}")) {
                d.failed_tasks += 1;
                bound_failed(&mut d);
            }
        }
        assert_eq!(d.failed_task_arns.len(), FAILED_TASKS_KEPT);
        assert_eq!(
            d.failed_tasks as usize,
            FAILED_TASKS_KEPT * 3,
            "the count goes on"
        );
    }
}
