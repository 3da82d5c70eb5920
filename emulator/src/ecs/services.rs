//! The ECS service operations: CreateService, UpdateService,
//! DescribeServices, ListServices, DeleteService,
//! UpdateContainerInstancesState, and the stack's services. Each change
//! is one write to the store, so concurrent changes are never lost.

use super::placement::Constraint;
use super::{Command, EngineError, Reply};
use crate::model::arn;
use crate::model::request;
use crate::model::service::{
    self as svc, CreateService, DeleteService, DescribeServices, ListServices, Service,
    UpdateContainerInstancesState, UpdateService, ACTIVE, PRIMARY,
};
use crate::model::service_deployment as sd;
use crate::model::task::{Task, TaskStatus};
use crate::model::task_set as ts;
use crate::model::{now_epoch, ContainerInstance, Failure, TaskDefinition};
use crate::model::{InstanceStatus, ServiceStatus};

/// Scheduler settings.
use super::scheduler::{new_deployment, service_tasks, Scheduler};

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
    #[error("The service deployment {0} does not exist.")]
    DeploymentNotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The specified task set does not exist.")]
    TaskSetNotFound(String),
    #[error("the change could not be stored: {0}")]
    Store(#[from] crate::db::DbError),
}

impl ServiceError {
    pub fn aws_type(&self) -> &'static str {
        match self {
            ServiceError::Engine(e) => e.aws_type(),
            ServiceError::NotFound(_) => "ServiceNotFoundException",
            ServiceError::NotActive(_) => "ServiceNotActiveException",
            ServiceError::InvalidParameter(_) => "InvalidParameterException",
            ServiceError::DeploymentNotFound(_) => "ServiceDeploymentNotFoundException",
            ServiceError::Conflict(_) => "ConflictException",
            ServiceError::TaskSetNotFound(_) => "TaskSetNotFoundException",
            ServiceError::Store(_) => "ServerException",
        }
    }

    /// A fault of the service, not of the request (HTTP 500).
    pub fn is_server(&self) -> bool {
        matches!(
            self,
            ServiceError::Store(_)
                | ServiceError::Engine(EngineError::Store(_) | EngineError::Server(_))
        )
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
    ListServiceDeployments(sd::ListServiceDeployments),
    DescribeServiceDeployments(sd::DescribeServiceDeployments),
    DescribeServiceRevisions(sd::DescribeServiceRevisions),
    StopServiceDeployment(sd::StopServiceDeployment),
    ContinueServiceDeployment(sd::ContinueServiceDeployment),
    CreateTaskSet(ts::CreateTaskSet),
    DescribeTaskSets(ts::DescribeTaskSets),
    UpdateTaskSet(ts::UpdateTaskSet),
    DeleteTaskSet(ts::DeleteTaskSet),
    UpdateServicePrimaryTaskSet(ts::UpdateServicePrimaryTaskSet),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServiceReply {
    Service(Box<Service>),
    Services {
        services: Vec<Service>,
        failures: Vec<Failure>,
    },
    ServiceArns {
        arns: Vec<String>,
        next_token: Option<String>,
    },
    ContainerInstances {
        instances: Vec<ContainerInstance>,
        failures: Vec<Failure>,
    },
    /// An answer already in its AWS shape.
    Json(serde_json::Value),
}

impl Scheduler {
    /// Handles one service operation.
    pub async fn handle(&self, cmd: ServiceCommand) -> Result<ServiceReply, ServiceError> {
        let r = match cmd {
            ServiceCommand::Create(r) => self.create(r).await,
            ServiceCommand::Update(r) => self.update(r).await,
            ServiceCommand::Describe(r) => self.describe(r),
            ServiceCommand::List(r) => self.list(r),
            ServiceCommand::Delete(r) => self.delete(r).await,
            ServiceCommand::UpdateContainerInstancesState(r) => {
                self.update_instances_state(r).await
            }
            ServiceCommand::ListServiceDeployments(r) => self.list_service_deployments(r),
            ServiceCommand::DescribeServiceDeployments(r) => self.describe_service_deployments(r),
            ServiceCommand::DescribeServiceRevisions(r) => self.describe_service_revisions(r),
            ServiceCommand::StopServiceDeployment(r) => self.stop_service_deployment(r).await,
            ServiceCommand::ContinueServiceDeployment(r) => self.continue_service_deployment(r),
            ServiceCommand::CreateTaskSet(r) => self.create_task_set(r).await,
            ServiceCommand::DescribeTaskSets(r) => self.describe_task_sets(r),
            ServiceCommand::UpdateTaskSet(r) => self.update_task_set(r).await,
            ServiceCommand::DeleteTaskSet(r) => self.delete_task_set(r).await,
            ServiceCommand::UpdateServicePrimaryTaskSet(r) => self.update_primary_task_set(r).await,
        };
        self.wake();
        r
    }

    pub(super) fn cluster(&self, cluster: Option<&str>) -> Result<String, ServiceError> {
        Ok(self.inner.engine.cluster_name(cluster)?)
    }

    pub(super) fn service_arn(&self, cluster: &str, name: &str) -> String {
        self.inner.engine.config().partition.service(cluster, name)
    }

    pub(super) fn find(&self, cluster: &str, reference: &str) -> Result<Service, ServiceError> {
        let arn = self.service_arn(cluster, arn::short_name(reference));
        self.inner
            .engine
            .snapshot()
            .services
            .get(&arn)
            .cloned()
            .ok_or(ServiceError::NotFound(arn))
    }

    pub(super) fn validate(
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
            // As ECS: a group no listener forwards to serves no traffic.
            let unused = self.inner.engine.read(|s| {
                s.elb.target_groups.contains_key(tg)
                    && crate::elbv2::tg_load_balancers(&s.elb, tg).is_empty()
            });
            if unused {
                return Err(invalid(format!(
                    "The target group with targetGroupArn {tg} does not have an associated load balancer."
                )));
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
        crate::ecs::placement::Strategy::parse_all(strategy).map_err(|e| invalid(e.to_string()))?;
        for c in constraints {
            Constraint::parse(&c.kind, c.expression.as_deref())
                .map_err(|e| invalid(e.to_string()))?;
        }
        Ok(())
    }

    pub(super) async fn create(&self, r: CreateService) -> Result<ServiceReply, ServiceError> {
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
        let controller = r
            .deployment_controller
            .as_ref()
            .map_or("ECS", |c| c.kind.as_str());
        let external = match controller {
            "ECS" => false,
            "EXTERNAL" => true,
            "CODE_DEPLOY" => {
                return Err(invalid(
                    "The CODE_DEPLOY deployment controller is not supported by this emulator (use ECS or EXTERNAL).",
                ))
            }
            other => return Err(invalid(format!("Invalid deployment controller type '{other}'."))),
        };
        let td = match r.task_definition.as_deref() {
            Some(reference) => Some(
                self.inner
                    .engine
                    .resolve_task_definition(reference, false)?,
            ),
            // An EXTERNAL service takes its task definition from its
            // primary task set.
            None if external => None,
            None => return Err(invalid("taskDefinition is required.")),
        };
        let dc = r.deployment_configuration.clone().unwrap_or_default();
        super::tags::validate_tags(&r.tags)?;
        let propagate = r.propagate_tags.clone().unwrap_or_else(|| "NONE".into());
        if !["TASK_DEFINITION", "SERVICE", "NONE"].contains(&propagate.as_str()) {
            return Err(invalid(format!(
                "Invalid propagateTags '{propagate}' (expected TASK_DEFINITION, SERVICE or NONE)."
            )));
        }
        match &td {
            Some(td) => self.validate(
                td,
                &r.load_balancers,
                &dc,
                &r.placement_strategy,
                &r.placement_constraints,
            )?,
            None => self.validate(
                &TaskDefinition::default(),
                &[],
                &dc,
                &r.placement_strategy,
                &r.placement_constraints,
            )?,
        }
        let arn = self.service_arn(&cluster, &name);
        let now = now_epoch();
        let td_arn = td
            .and_then(|t| t.task_definition_arn.clone())
            .unwrap_or_default();
        let desired = r.desired_count.unwrap_or(0);
        check_desired(desired)?;
        let deployments = if external {
            vec![]
        } else {
            vec![new_deployment(&td_arn, desired, now)]
        };
        let first = deployments.first().map(|d| d.id.clone());
        let service = Service {
            service_arn: arn.clone(),
            service_name: name.clone(),
            cluster_arn: self.inner.engine.config().partition.cluster(&cluster),
            load_balancers: r.load_balancers,
            status: ServiceStatus::Active,
            desired_count: desired,
            launch_type: "EC2".into(),
            task_definition: td_arn.clone(),
            deployment_configuration: dc,
            deployments,
            events: vec![],
            created_at: now,
            placement_constraints: r.placement_constraints,
            placement_strategy: r.placement_strategy,
            health_check_grace_period_seconds: r.health_check_grace_period_seconds,
            scheduling_strategy: "REPLICA".into(),
            deployment_controller: serde_json::json!({ "type": controller }),
            propagate_tags: propagate,
            enable_ecs_managed_tags: r.enable_ecs_managed_tags,
            ..Default::default()
        };
        let tags = r.tags.clone();
        let created = self
            .inner
            .engine
            .update_state(|s| match s.services.get(&arn) {
                Some(existing) if existing.status != ServiceStatus::Inactive => false,
                _ => {
                    s.services.insert(arn.clone(), service);
                    super::deployments::forget_service(s, &arn);
                    if let Some(id) = &first {
                        super::deployments::record_start(s, &arn, id, now);
                    }
                    s.tags.remove(&arn);
                    s.tag(&arn, tags.iter().map(|t| (t.key.clone(), t.value.clone())));
                    forget_deleted(s, DELETED_KEPT);
                    true
                }
            })
            .await?;
        if !created {
            return Err(invalid("Creation of service was not idempotent."));
        }
        self.view_or_gone(&arn)
    }

    async fn update(&self, r: UpdateService) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        if let Some(n) = r.desired_count {
            check_desired(n)?;
        }
        let current = self.find(&cluster, &r.service)?;
        if current.status != ServiceStatus::Active {
            return Err(ServiceError::NotActive(current.service_arn));
        }
        if current.is_external() {
            return self.update_external(current, r).await;
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
        let arn = current.service_arn.clone();
        // One write, against the service as it is at that moment: only the
        // fields the request names change, so a concurrent update of
        // other fields is never overwritten by this request's stale copy.
        let updated = self
            .inner
            .engine
            .update_state(|st| {
                let Some(s) = st.services.get_mut(&arn) else {
                    return Err(ServiceError::NotFound(arn.clone()));
                };
                if s.status != ServiceStatus::Active {
                    return Err(ServiceError::NotActive(arn.clone()));
                }
                let now = now_epoch();
                s.steady = false;
                if let Some(n) = r.desired_count {
                    s.desired_count = n;
                }
                if r.load_balancers.is_some() {
                    s.load_balancers = lbs;
                }
                if r.deployment_configuration.is_some() {
                    s.deployment_configuration = dc;
                }
                if r.placement_strategy.is_some() {
                    s.placement_strategy = strategy;
                }
                if r.placement_constraints.is_some() {
                    s.placement_constraints = constraints;
                }
                if r.health_check_grace_period_seconds.is_some() {
                    s.health_check_grace_period_seconds = r.health_check_grace_period_seconds;
                }
                let new_deployment_needed = (r.task_definition.is_some()
                    && td_arn != s.task_definition)
                    || r.force_new_deployment;
                let mut started = None;
                if new_deployment_needed {
                    for d in &mut s.deployments {
                        if d.status == PRIMARY {
                            d.status = ACTIVE.into();
                            d.updated_at = now;
                        }
                    }
                    let d = new_deployment(&td_arn, s.desired_count, now);
                    started = Some(d.id.clone());
                    s.deployments.insert(0, d);
                    s.task_definition = td_arn.clone();
                    // A new deployment launches at once (ECS's throttle
                    // starts over).
                    s.launch_throttle.reset();
                }
                let desired = s.desired_count;
                if let Some(p) = s.primary_mut() {
                    p.desired_count = desired;
                    // A service scaled while COMPLETED stays COMPLETED (ECS
                    // starts no new deployment for a desired count change).
                }
                if let Some(id) = started {
                    super::deployments::record_start(st, &arn, &id, now);
                }
                Ok(())
            })
            .await?;
        updated?;
        self.view_or_gone(&arn)
    }

    fn describe(&self, r: DescribeServices) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        if r.services.is_empty() || r.services.len() > 10 {
            return Err(invalid("services must name 1 to 10 services."));
        }
        let mut services = Vec::new();
        let mut failures = Vec::new();
        let with_tags = r.include.iter().any(|i| i == "TAGS");
        for name in r.services {
            let arn = self.service_arn(&cluster, arn::short_name(&name));
            match self.view(&arn) {
                Some(mut s) => {
                    if with_tags {
                        s.tags = self
                            .inner
                            .engine
                            .read(|st| super::tags::tags_of(st, &s.service_arn));
                    }
                    services.push(s)
                }
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
        for t in &mut s.task_sets {
            super::task_sets::refresh(t, desired, running(Some(&t.id)), pending(Some(&t.id)));
        }
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
        let arns: Vec<String> = self
            .inner
            .engine
            .snapshot()
            .services
            .values()
            .filter(|s| s.cluster_arn == cluster_arn && s.status != ServiceStatus::Inactive)
            .map(|s| s.service_arn.clone())
            .collect();
        // ECS answers 10 services a page unless asked for up to 100.
        let mut page = r.page.clone();
        page.max_results = page.max_results.or(Some(10));
        let (arns, next) = super::tags::paginate_arns(arns, &page, 100)?;
        Ok(ServiceReply::ServiceArns {
            arns,
            next_token: next,
        })
    }

    async fn delete(&self, r: DeleteService) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        let current = self.find(&cluster, &r.service)?;
        if current.status != ServiceStatus::Active {
            return Err(ServiceError::NotActive(current.service_arn));
        }
        if current.desired_count > 0 && !r.force {
            return Err(invalid(
                "The service cannot be stopped while it is scaled above 0.",
            ));
        }
        let arn = current.service_arn.clone();
        let deleted = self
            .inner
            .engine
            .update_state(|st| {
                let s = st
                    .services
                    .get_mut(&arn)
                    .ok_or_else(|| ServiceError::NotFound(arn.clone()))?;
                if s.status != ServiceStatus::Active {
                    return Err(ServiceError::NotActive(arn.clone()));
                }
                if s.desired_count > 0 && !r.force {
                    return Err(invalid(
                        "The service cannot be stopped while it is scaled above 0.",
                    ));
                }
                s.status = ServiceStatus::Draining;
                s.desired_count = 0;
                s.steady = false;
                super::deployments::finish_active(st, &arn, "the service was deleted", now_epoch());
                Ok(())
            })
            .await?;
        deleted?;
        self.view_or_gone(&arn)
    }

    async fn update_instances_state(
        &self,
        r: UpdateContainerInstancesState,
    ) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        let Some(status) = InstanceStatus::parse(&r.status) else {
            return Err(invalid(format!(
                "Invalid status '{}' (expected ACTIVE or DRAINING).",
                r.status
            )));
        };
        if r.container_instances.is_empty() || r.container_instances.len() > 10 {
            return Err(invalid("containerInstances must name 1 to 10 instances."));
        }
        let p = self.inner.engine.config().partition.clone();
        let mut failures = Vec::new();
        let mut found = Vec::new();
        self.inner
            .engine
            .update_state(|s| {
                for ci in &r.container_instances {
                    let arn = p.container_instance(&cluster, arn::short_name(ci));
                    match s.container_instances.get_mut(&arn) {
                        Some(i) => {
                            i.status = status;
                            found.push(arn);
                        }
                        None => failures.push(Failure {
                            arn: Some(ci.clone()),
                            reason: "MISSING".into(),
                            detail: None,
                        }),
                    }
                }
            })
            .await?;
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

    /// One write to a service that must still be ACTIVE.
    pub(super) async fn change_active<R>(
        &self,
        arn: &str,
        f: impl FnOnce(&mut Service) -> Result<R, ServiceError>,
    ) -> Result<R, ServiceError> {
        self.inner
            .engine
            .update_state(|st| {
                let s = st
                    .services
                    .get_mut(arn)
                    .ok_or_else(|| ServiceError::NotFound(arn.to_string()))?;
                if s.status != ServiceStatus::Active {
                    return Err(ServiceError::NotActive(arn.to_string()));
                }
                s.steady = false;
                f(s)
            })
            .await?
    }

    /// The service as described, or not found when it went away meanwhile.
    pub(super) fn view_or_gone(&self, arn: &str) -> Result<ServiceReply, ServiceError> {
        self.view(arn)
            .map(|s| ServiceReply::Service(Box::new(s)))
            .ok_or_else(|| ServiceError::NotFound(arn.to_string()))
    }
}

/// ECS's quota of tasks per service.
pub const MAX_DESIRED: u32 = 5000;

fn check_desired(n: u32) -> Result<(), ServiceError> {
    if n > MAX_DESIRED {
        return Err(invalid(format!(
            "desiredCount {n} is above the quota of {MAX_DESIRED} tasks per service."
        )));
    }
    Ok(())
}

/// How many deleted (INACTIVE) services are remembered at most; ECS
/// forgets them after a while too.
pub const DELETED_KEPT: usize = 100;

/// Forgets the longest-deleted INACTIVE services beyond `kept`.
pub(super) fn forget_deleted(s: &mut crate::db::State, kept: usize) {
    let mut inactive: Vec<(f64, String)> = s
        .services
        .values()
        .filter(|svc| svc.status == ServiceStatus::Inactive)
        .map(|svc| {
            let at = svc.events.first().map_or(svc.created_at, |e| e.created_at);
            (at, svc.service_arn.clone())
        })
        .collect();
    if inactive.len() <= kept {
        return;
    }
    inactive.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, arn) in &inactive[..inactive.len() - kept] {
        s.services.remove(arn);
        super::deployments::forget_service(s, arn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_services_are_forgotten_beyond_the_bound_longest_deleted_first() {
        let mut st = crate::db::State::default();
        for i in 0..5 {
            let arn = format!("svc{i}");
            st.services.insert(
                arn.clone(),
                Service {
                    service_arn: arn,
                    status: if i == 4 {
                        ServiceStatus::Active
                    } else {
                        ServiceStatus::Inactive
                    },
                    created_at: f64::from(i),
                    ..Default::default()
                },
            );
        }
        forget_deleted(&mut st, 2);
        let left: Vec<&str> = st.services.keys().map(String::as_str).collect();
        assert_eq!(left, vec!["svc2", "svc3", "svc4"]);
    }
}
