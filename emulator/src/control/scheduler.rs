//! The service scheduler: the ECS service operations and the loop that
//! applies the pure [`plan`](super::service::plan) to every service.
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

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::placement::Constraint;
use super::service::{plan, Observed, ObservedTask, Step, TargetState};
use super::targets::TargetRegistry;
use super::{Command, Engine, EngineError, Reply, TaskHook};
use crate::model::arn;
use crate::model::request;
use crate::model::service::{
    self as svc, CreateService, DeleteService, Deployment, DescribeServices, ListServices, Service,
    UpdateContainerInstancesState, UpdateService, ACTIVE, COMPLETED, FAILED, IN_PROGRESS, PRIMARY,
};
use crate::model::task::{StopCode, Task, TaskStatus};
use crate::model::{now_epoch, ContainerInstance, Failure, TaskDefinition};
use crate::store::State;

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

/// Why a service operation failed, mapped onto the ECS error types.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("Service not found.")]
    NotFound(String),
    #[error("Service was not ACTIVE.")]
    NotActive(String),
    #[error("{0}")]
    InvalidParameter(String),
}

impl ServiceError {
    pub fn aws_type(&self) -> &'static str {
        match self {
            ServiceError::Engine(e) => e.aws_type(),
            ServiceError::NotFound(_) => "ServiceNotFoundException",
            ServiceError::NotActive(_) => "ServiceNotActiveException",
            ServiceError::InvalidParameter(_) => "InvalidParameterException",
        }
    }
}

fn invalid(msg: impl Into<String>) -> ServiceError {
    ServiceError::InvalidParameter(msg.into())
}

/// The service operations (the ECS API's service half).
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceCommand {
    Create(CreateService),
    Update(UpdateService),
    Describe(DescribeServices),
    List(ListServices),
    Delete(DeleteService),
    UpdateContainerInstancesState(UpdateContainerInstancesState),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServiceReply {
    Service(Box<Service>),
    Services {
        services: Vec<Service>,
        failures: Vec<Failure>,
    },
    ServiceArns(Vec<String>),
    ContainerInstances {
        instances: Vec<ContainerInstance>,
        failures: Vec<Failure>,
    },
}

struct Inner {
    engine: Engine,
    targets: Arc<dyn TargetRegistry>,
    config: SchedulerConfig,
    wake: Notify,
    shutdown: CancellationToken,
}

/// The service scheduler. Cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
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
                wake: Notify::new(),
                shutdown: CancellationToken::new(),
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

    /// One pass over every service that is not INACTIVE.
    pub async fn reconcile_all(&self) {
        let arns: Vec<String> = self.inner.engine.read(|st| {
            st.services
                .iter()
                .filter(|(_, s)| s.status != "INACTIVE")
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
                        Some((id, _, port)) => h
                            .get(&(id, port))
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
                    availability_zone: t.availability_zone.clone(),
                    instance_active: instance.is_some_and(|i| i.status == "ACTIVE"),
                    container_unhealthy: t
                        .containers
                        .iter()
                        .any(|c| c.essential && c.health_status == "UNHEALTHY"),
                    targets,
                }
            })
            .collect();
        Observed {
            tasks,
            now: now_epoch(),
        }
    }

    /// Changes a stored service (and saves); `None` when it is gone.
    fn update_service<R>(&self, arn: &str, f: impl FnOnce(&mut Service) -> R) -> Option<R> {
        self.inner
            .engine
            .update_state(|s| s.services.get_mut(arn).map(f))
    }

    fn event(&self, arn: &str, message: &str) {
        tracing::info!(service = %arn, "{message}");
        self.update_service(arn, |s| s.push_event(message, now_epoch()));
    }

    async fn apply(&self, service: &Service, state: &State, step: Step) {
        let arn = service.service_arn.as_str();
        match step {
            Step::RegisterTargets { task } => {
                if let Some(t) = state.tasks.get(&task) {
                    self.register(service, state, t);
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
                self.inner
                    .engine
                    .stop_task_as(&task, &reason, StopCode::ServiceSchedulerInitiated);
                let deployment = state
                    .tasks
                    .get(&task)
                    .and_then(|t| t.started_by.clone())
                    .unwrap_or_default();
                let id = task_id(&task);
                self.update_service(arn, |s| {
                    s.steady = false;
                    let now = now_epoch();
                    if failed {
                        if let Some(d) = s.deployment_mut(&deployment) {
                            if d.failed_task_arns.insert(task.clone()) {
                                d.failed_tasks += 1;
                            }
                        }
                        // "(task T) failed ELB health checks in (target-group G)."
                        let what = reason.strip_prefix("Task ").unwrap_or(&reason);
                        s.push_event(&format!("(task {id}) {what}."), now);
                    }
                    s.push_event(&format!("has stopped 1 running tasks: (task {id})."), now);
                });
            }
            Step::RecordFailure { deployment, task } => {
                self.update_service(arn, |s| {
                    if let Some(d) = s.deployment_mut(&deployment) {
                        if d.failed_task_arns.insert(task.clone()) {
                            d.failed_tasks += 1;
                            d.updated_at = now_epoch();
                        }
                    }
                });
            }
            Step::TripCircuitBreaker {
                deployment,
                rollback_to,
            } => {
                self.update_service(arn, |s| {
                    let now = now_epoch();
                    s.steady = false;
                    let reason = "ECS deployment circuit breaker: tasks failed to start.";
                    if let Some(d) = s.deployment_mut(&deployment) {
                        d.rollout_state = FAILED.into();
                        d.rollout_state_reason = Some(reason.into());
                        d.updated_at = now;
                    }
                    s.push_event(
                        &format!("(deployment {deployment}) deployment failed: tasks failed to start."),
                        now,
                    );
                    if let Some(back) = rollback_to {
                        let desired = s.desired_count;
                        if let Some(d) = s.deployment_mut(&deployment) {
                            d.status = ACTIVE.into();
                        }
                        let mut td = String::new();
                        if let Some(d) = s.deployment_mut(&back) {
                            d.status = PRIMARY.into();
                            d.rollout_state = IN_PROGRESS.into();
                            d.rollout_state_reason = Some(format!(
                                "ECS deployment circuit breaker: rolling back to deploymentId {back}."
                            ));
                            d.desired_count = desired;
                            d.updated_at = now;
                            td = d.task_definition.clone();
                        }
                        // PRIMARY first, as ECS lists them.
                        s.deployments.sort_by_key(|d| d.status != PRIMARY);
                        s.task_definition = td;
                        s.push_event(&format!("rolling back to deployment {back}."), now);
                    }
                });
            }
            Step::CompleteDeployment { deployment } => {
                self.update_service(arn, |s| {
                    let now = now_epoch();
                    if let Some(d) = s.deployment_mut(&deployment) {
                        d.rollout_state = COMPLETED.into();
                        d.rollout_state_reason =
                            Some(format!("ECS deployment {deployment} completed."));
                        d.updated_at = now;
                    }
                    s.push_event(
                        &format!("(deployment {deployment}) deployment completed."),
                        now,
                    );
                });
            }
            Step::RemoveDeployment { deployment } => {
                self.update_service(arn, |s| s.deployments.retain(|d| d.id != deployment));
            }
            Step::SteadyState => {
                self.update_service(arn, |s| {
                    s.steady = true;
                    s.push_event("has reached a steady state.", now_epoch());
                });
            }
            Step::Inactivate => {
                self.update_service(arn, |s| {
                    s.status = "INACTIVE".into();
                    s.deployments.clear();
                });
            }
        }
    }

    async fn start_tasks(&self, service: &Service, deployment: &str, count: u32) {
        let Some(td) = service
            .deployments
            .iter()
            .find(|d| d.id == deployment)
            .map(|d| d.task_definition.clone())
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
                        });
                    }
                    if let Some(f) = failures.first() {
                        let msg = format!(
                            "was unable to place a task because {}",
                            f.detail.as_deref().unwrap_or(&f.reason)
                        );
                        self.event_throttled(arn, &msg, 30.0);
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    self.event_throttled(arn, &format!("was unable to start tasks: {e}"), 30.0);
                    return;
                }
            }
        }
    }

    /// An event, unless the same one was said within `window_s`.
    fn event_throttled(&self, arn: &str, message: &str, window_s: f64) {
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
        });
    }

    /// Registers a task in every target group of its service where it is
    /// missing.
    fn register(&self, service: &Service, state: &State, task: &Task) {
        for lb in &service.load_balancers {
            let Some(tg) = lb.target_group_arn.as_deref() else {
                continue;
            };
            let Some((id, host, port)) = target_of(state, task, lb) else {
                continue;
            };
            let present = self
                .inner
                .targets
                .health(tg)
                .contains_key(&(id.clone(), port));
            if present {
                continue;
            }
            match self.inner.targets.register(tg, &id, &host, port) {
                Ok(()) => self.event(
                    &service.service_arn,
                    &format!("registered 1 targets in (target-group {tg})"),
                ),
                Err(e) => {
                    tracing::warn!(task = %task.task_arn, error = %e, "cannot register target")
                }
            }
        }
    }

    /// Deregisters a task from its target groups and waits for the drain.
    async fn drain(&self, service: &Service, state: &State, task: &Task) {
        let mut draining = Vec::new();
        for lb in &service.load_balancers {
            let Some(tg) = lb.target_group_arn.as_deref() else {
                continue;
            };
            let Some((id, _, port)) = target_of(state, task, lb) else {
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
        self.event(arn, "has begun draining connections on 1 tasks.");
        let longest = draining
            .iter()
            .map(|(tg, _)| self.inner.targets.deregistration_delay_s(tg))
            .max()
            .unwrap_or(0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(longest + 5);
        let mut pending = draining;
        while !pending.is_empty() {
            pending.retain(|(tg, key)| {
                let gone = !self.inner.targets.health(tg).contains_key(key);
                if gone {
                    self.event(
                        arn,
                        &format!("deregistered 1 targets in (target-group {tg})"),
                    );
                }
                !gone
            });
            if pending.is_empty() || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // ----------------------------------------------------------- commands

    /// Handles one service operation.
    pub async fn handle(&self, cmd: ServiceCommand) -> Result<ServiceReply, ServiceError> {
        let r = match cmd {
            ServiceCommand::Create(r) => self.create(r),
            ServiceCommand::Update(r) => self.update(r),
            ServiceCommand::Describe(r) => self.describe(r),
            ServiceCommand::List(r) => self.list(r),
            ServiceCommand::Delete(r) => self.delete(r),
            ServiceCommand::UpdateContainerInstancesState(r) => {
                self.update_instances_state(r).await
            }
        };
        self.wake();
        r
    }

    fn cluster(&self, cluster: Option<&str>) -> Result<String, ServiceError> {
        Ok(self.inner.engine.cluster_name(cluster)?)
    }

    fn service_arn(&self, cluster: &str, name: &str) -> String {
        let p = &self.inner.engine.config().partition;
        format!(
            "arn:aws:ecs:{}:{}:service/{cluster}/{name}",
            p.region, p.account
        )
    }

    fn find(&self, cluster: &str, reference: &str) -> Result<Service, ServiceError> {
        let arn = self.service_arn(cluster, arn::short_name(reference));
        self.inner
            .engine
            .snapshot()
            .services
            .get(&arn)
            .cloned()
            .ok_or(ServiceError::NotFound(arn))
    }

    fn validate(
        &self,
        td: &TaskDefinition,
        lbs: &[svc::LoadBalancer],
        dc: &svc::DeploymentConfiguration,
        strategy: &[serde_json::Value],
        constraints: &[crate::model::task_definition::PlacementConstraint],
    ) -> Result<(), ServiceError> {
        for lb in lbs {
            let tg = lb.target_group_arn.as_deref().ok_or_else(|| {
                invalid("loadBalancers: targetGroupArn is required (Classic Load Balancers are not supported).")
            })?;
            if !self.inner.targets.exists(tg) {
                return Err(invalid(format!("The target group {tg} does not exist.")));
            }
            let c = td.container(&lb.container_name).ok_or_else(|| {
                invalid(format!(
                    "The container {} does not exist in the task definition.",
                    lb.container_name
                ))
            })?;
            let has_port = c
                .port_mappings
                .iter()
                .any(|p| p.container_port == Some(u32::from(lb.container_port)));
            if !has_port {
                return Err(invalid(format!(
                    "The container {} did not have a container port {} defined.",
                    lb.container_name, lb.container_port
                )));
            }
        }
        if dc.minimum_healthy_percent > 100 {
            return Err(invalid("minimumHealthyPercent must be between 0 and 100."));
        }
        if dc.maximum_percent < 100 || dc.maximum_percent > 400 {
            return Err(invalid("maximumPercent must be between 100 and 400."));
        }
        if dc.minimum_healthy_percent == 100 && dc.maximum_percent == 100 {
            return Err(invalid(
                "maximumPercent must be greater than minimumHealthyPercent when it is 100, or no task could ever be replaced.",
            ));
        }
        crate::control::placement::Strategy::parse_all(strategy)
            .map_err(|e| invalid(e.to_string()))?;
        for c in constraints {
            Constraint::parse(&c.kind, c.expression.as_deref())
                .map_err(|e| invalid(e.to_string()))?;
        }
        Ok(())
    }

    fn create(&self, r: CreateService) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        let name = r.service_name.clone();
        let name_ok = !name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(invalid(format!("Invalid service name '{name}': up to 255 letters, numbers, hyphens and underscores.")));
        }
        if let Some(lt) = r.launch_type.as_deref() {
            if lt != "EC2" && lt != "EXTERNAL" {
                return Err(invalid(format!(
                    "Launch type '{lt}' is not supported by this emulator (EC2 only)."
                )));
            }
        }
        if r.scheduling_strategy
            .as_deref()
            .is_some_and(|s| s != "REPLICA")
        {
            return Err(invalid(
                "Only the REPLICA scheduling strategy is supported.",
            ));
        }
        let reference = r
            .task_definition
            .as_deref()
            .ok_or_else(|| invalid("taskDefinition is required."))?;
        let td = self
            .inner
            .engine
            .resolve_task_definition(reference, false)?;
        let dc = r.deployment_configuration.clone().unwrap_or_default();
        self.validate(
            &td,
            &r.load_balancers,
            &dc,
            &r.placement_strategy,
            &r.placement_constraints,
        )?;
        let arn = self.service_arn(&cluster, &name);
        let now = now_epoch();
        let td_arn = td.task_definition_arn.clone().unwrap_or_default();
        let desired = r.desired_count.unwrap_or(0);
        let service = Service {
            service_arn: arn.clone(),
            service_name: name.clone(),
            cluster_arn: self.inner.engine.config().partition.cluster(&cluster),
            load_balancers: r.load_balancers,
            status: "ACTIVE".into(),
            desired_count: desired,
            launch_type: "EC2".into(),
            task_definition: td_arn.clone(),
            deployment_configuration: dc,
            deployments: vec![new_deployment(&td_arn, desired, now)],
            events: vec![],
            created_at: now,
            placement_constraints: r.placement_constraints,
            placement_strategy: r.placement_strategy,
            health_check_grace_period_seconds: r.health_check_grace_period_seconds,
            scheduling_strategy: "REPLICA".into(),
            deployment_controller: serde_json::json!({"type": "ECS"}),
            ..Default::default()
        };
        let created = self
            .inner
            .engine
            .update_state(|s| match s.services.get(&arn) {
                Some(existing) if existing.status != "INACTIVE" => false,
                _ => {
                    s.services.insert(arn.clone(), service);
                    true
                }
            });
        if !created {
            return Err(invalid("Creation of service was not idempotent."));
        }
        Ok(ServiceReply::Service(Box::new(
            self.view(&arn).expect("created"),
        )))
    }

    fn update(&self, r: UpdateService) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        let current = self.find(&cluster, &r.service)?;
        if current.status != "ACTIVE" {
            return Err(ServiceError::NotActive(current.service_arn));
        }
        let td = match r.task_definition.as_deref() {
            Some(reference) => self
                .inner
                .engine
                .resolve_task_definition(reference, false)?,
            None => self
                .inner
                .engine
                .resolve_task_definition(&current.task_definition, true)?,
        };
        let lbs = r
            .load_balancers
            .clone()
            .unwrap_or_else(|| current.load_balancers.clone());
        let dc = r
            .deployment_configuration
            .clone()
            .unwrap_or_else(|| current.deployment_configuration.clone());
        let strategy = r
            .placement_strategy
            .clone()
            .unwrap_or_else(|| current.placement_strategy.clone());
        let constraints = r
            .placement_constraints
            .clone()
            .unwrap_or_else(|| current.placement_constraints.clone());
        self.validate(&td, &lbs, &dc, &strategy, &constraints)?;
        let td_arn = td.task_definition_arn.clone().unwrap_or_default();
        let new_deployment_needed = td_arn != current.task_definition || r.force_new_deployment;
        let arn = current.service_arn.clone();
        self.update_service(&arn, |s| {
            let now = now_epoch();
            s.steady = false;
            if let Some(n) = r.desired_count {
                s.desired_count = n;
            }
            s.load_balancers = lbs;
            s.deployment_configuration = dc;
            s.placement_strategy = strategy;
            s.placement_constraints = constraints;
            if r.health_check_grace_period_seconds.is_some() {
                s.health_check_grace_period_seconds = r.health_check_grace_period_seconds;
            }
            if new_deployment_needed {
                for d in &mut s.deployments {
                    if d.status == PRIMARY {
                        d.status = ACTIVE.into();
                        d.updated_at = now;
                    }
                }
                s.deployments
                    .insert(0, new_deployment(&td_arn, s.desired_count, now));
                s.task_definition = td_arn.clone();
            }
            let desired = s.desired_count;
            if let Some(p) = s.primary_mut() {
                p.desired_count = desired;
                // A service scaled while COMPLETED stays COMPLETED (ECS
                // starts no new deployment for a desired count change).
            }
        });
        Ok(ServiceReply::Service(Box::new(
            self.view(&arn).expect("exists"),
        )))
    }

    fn describe(&self, r: DescribeServices) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        if r.services.is_empty() || r.services.len() > 10 {
            return Err(invalid("services must name 1 to 10 services."));
        }
        let mut services = Vec::new();
        let mut failures = Vec::new();
        for name in r.services {
            let arn = self.service_arn(&cluster, arn::short_name(&name));
            match self.view(&arn) {
                Some(s) => services.push(s),
                None => failures.push(Failure {
                    arn: Some(arn),
                    reason: "MISSING".into(),
                    detail: None,
                }),
            }
        }
        Ok(ServiceReply::Services { services, failures })
    }

    /// The service as `DescribeServices` shows it: counts derived from its
    /// tasks, bookkeeping removed.
    pub fn view(&self, arn: &str) -> Option<Service> {
        let state = self.inner.engine.snapshot();
        let stored = state.services.get(arn)?;
        let tasks: Vec<&Task> = service_tasks(&state, stored).collect();
        let mut s = stored.view();
        let running = |dep: Option<&str>| {
            tasks
                .iter()
                .filter(|t| dep.is_none_or(|d| t.started_by.as_deref() == Some(d)))
                .filter(|t| t.status() == TaskStatus::Running)
                .count() as u32
        };
        let pending = |dep: Option<&str>| {
            tasks
                .iter()
                .filter(|t| dep.is_none_or(|d| t.started_by.as_deref() == Some(d)))
                .filter(|t| t.wants_running() && t.status() < TaskStatus::Running)
                .count() as u32
        };
        s.running_count = running(None);
        s.pending_count = pending(None);
        let desired = s.desired_count;
        for d in &mut s.deployments {
            d.running_count = running(Some(&d.id));
            d.pending_count = pending(Some(&d.id));
            if d.status == PRIMARY {
                d.desired_count = desired;
            } else {
                d.desired_count = tasks
                    .iter()
                    .filter(|t| t.started_by.as_deref() == Some(&d.id))
                    .filter(|t| t.wants_running() && t.status() < TaskStatus::Deactivating)
                    .count() as u32;
            }
        }
        Some(s)
    }

    fn list(&self, r: ListServices) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        let cluster_arn = self.inner.engine.config().partition.cluster(&cluster);
        Ok(ServiceReply::ServiceArns(
            self.inner
                .engine
                .snapshot()
                .services
                .values()
                .filter(|s| s.cluster_arn == cluster_arn && s.status != "INACTIVE")
                .map(|s| s.service_arn.clone())
                .collect(),
        ))
    }

    fn delete(&self, r: DeleteService) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        let current = self.find(&cluster, &r.service)?;
        if current.status != "ACTIVE" {
            return Err(ServiceError::NotActive(current.service_arn));
        }
        if current.desired_count > 0 && !r.force {
            return Err(invalid(
                "The service cannot be stopped while it is scaled above 0.",
            ));
        }
        let arn = current.service_arn.clone();
        self.update_service(&arn, |s| {
            s.status = "DRAINING".into();
            s.desired_count = 0;
            s.steady = false;
        });
        Ok(ServiceReply::Service(Box::new(
            self.view(&arn).expect("exists"),
        )))
    }

    async fn update_instances_state(
        &self,
        r: UpdateContainerInstancesState,
    ) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        if r.status != "ACTIVE" && r.status != "DRAINING" {
            return Err(invalid(format!(
                "Invalid status '{}' (expected ACTIVE or DRAINING).",
                r.status
            )));
        }
        if r.container_instances.is_empty() || r.container_instances.len() > 10 {
            return Err(invalid("containerInstances must name 1 to 10 instances."));
        }
        let p = self.inner.engine.config().partition.clone();
        let mut failures = Vec::new();
        let mut found = Vec::new();
        self.inner.engine.update_state(|s| {
            for ci in &r.container_instances {
                let arn = p.container_instance(&cluster, arn::short_name(ci));
                match s.container_instances.get_mut(&arn) {
                    Some(i) => {
                        i.status = r.status.clone();
                        found.push(arn);
                    }
                    None => failures.push(Failure {
                        arn: Some(ci.clone()),
                        reason: "MISSING".into(),
                        detail: None,
                    }),
                }
            }
        });
        let mut instances = Vec::new();
        if !found.is_empty() {
            if let Reply::ContainerInstances {
                instances: i,
                failures: f,
            } = self
                .inner
                .engine
                .handle(Command::DescribeContainerInstances(
                    request::DescribeContainerInstances {
                        cluster: Some(cluster),
                        container_instances: found,
                    },
                ))
                .await?
            {
                instances = i;
                failures.extend(f);
            }
        }
        Ok(ServiceReply::ContainerInstances {
            instances,
            failures,
        })
    }

    /// Creates the stack's services that do not exist yet (a restart with
    /// the same stack changes nothing; scaled or redeployed services keep
    /// their state). Target groups named by `targetGroupName` are looked
    /// up among the ELBv2 target groups.
    pub fn apply_stack(
        &self,
        cluster: &str,
        services: &[svc::StackService],
    ) -> Result<(), ServiceError> {
        for ss in services {
            let arn = self.service_arn(cluster, &ss.service_name);
            let exists = self
                .inner
                .engine
                .snapshot()
                .services
                .get(&arn)
                .is_some_and(|s| s.status != "INACTIVE");
            if exists {
                continue;
            }
            let state = self.inner.engine.snapshot();
            let mut lbs = Vec::new();
            for lb in &ss.load_balancers {
                let tg = match (&lb.target_group_arn, &lb.target_group_name) {
                    (Some(a), _) => a.clone(),
                    (None, Some(name)) => state
                        .elb
                        .target_groups
                        .values()
                        .find(|t| &t.name == name)
                        .map(|t| t.arn.clone())
                        .ok_or_else(|| {
                            invalid(format!(
                                "service {}: no target group named {name}",
                                ss.service_name
                            ))
                        })?,
                    (None, None) => {
                        return Err(invalid(format!(
                            "service {}: a load balancer needs targetGroupName or targetGroupArn",
                            ss.service_name
                        )))
                    }
                };
                lbs.push(svc::LoadBalancer {
                    target_group_arn: Some(tg),
                    load_balancer_name: None,
                    container_name: lb.container_name.clone(),
                    container_port: lb.container_port,
                });
            }
            self.create(CreateService {
                cluster: Some(cluster.to_string()),
                service_name: ss.service_name.clone(),
                task_definition: Some(ss.task_definition.clone()),
                desired_count: Some(ss.desired_count),
                load_balancers: lbs,
                deployment_configuration: ss.deployment_configuration.clone(),
                health_check_grace_period_seconds: ss.health_check_grace_period_seconds,
                ..Default::default()
            })?;
        }
        self.wake();
        Ok(())
    }

    /// Sets a service's desired count (Application Auto Scaling's lever).
    pub fn set_desired_count(&self, service_arn: &str, desired: u32) -> bool {
        let done = self
            .update_service(service_arn, |s| {
                if s.status != "ACTIVE" {
                    return false;
                }
                s.desired_count = desired;
                s.steady = false;
                if let Some(p) = s.primary_mut() {
                    p.desired_count = desired;
                }
                true
            })
            .unwrap_or(false);
        self.wake();
        done
    }
}

fn new_deployment(td_arn: &str, desired: u32, now: f64) -> Deployment {
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
pub fn target_of(
    state: &State,
    task: &Task,
    lb: &svc::LoadBalancer,
) -> Option<(String, String, u16)> {
    let c = task.container(&lb.container_name)?;
    let b = c
        .network_bindings
        .iter()
        .find(|b| b.container_port == lb.container_port)?;
    let id = state
        .container_instances
        .get(&task.container_instance_arn)
        .map(|i| i.ec2_instance_id.clone())
        .unwrap_or_else(|| task.container_instance_arn.clone());
    let host = if b.bind_ip.is_empty() || b.bind_ip == "0.0.0.0" {
        "127.0.0.1".to_string()
    } else {
        b.bind_ip.clone()
    };
    Some((id, host, b.host_port))
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
                TaskStatus::Activating => scheduler.register(&service, &state, task),
                TaskStatus::Deactivating => scheduler.drain(&service, &state, task).await,
                _ => {}
            }
            scheduler.wake();
        })
    }
}
