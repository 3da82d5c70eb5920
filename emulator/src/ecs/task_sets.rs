//! ECS task sets, for services with the EXTERNAL deployment controller:
//! CreateTaskSet, DescribeTaskSets, UpdateTaskSet, DeleteTaskSet,
//! UpdateServicePrimaryTaskSet, and UpdateService on such a service. The
//! scheduler runs each task set's share of the service's desired count
//! ([`super::service_plan`]), in its own target groups.

use serde_json::json;

use super::scheduler::Scheduler;
use super::services::{ServiceError, ServiceReply};
use crate::model::now_epoch;
use crate::model::service::{Service, UpdateService};
use crate::model::task_set::{
    computed_desired, CreateTaskSet, DeleteTaskSet, DescribeTaskSets, Scale, TaskSet,
    UpdateServicePrimaryTaskSet, UpdateTaskSet, ACTIVE, DRAINING, PRIMARY,
};
use crate::model::{Failure, ServiceStatus};

/// ECS's words for a task set operation on a service it does not apply to.
const NOT_EXTERNAL: &str = "Amazon ECS only supports task set management on services configured to use external deployment controllers.";

fn invalid(msg: impl Into<String>) -> ServiceError {
    ServiceError::InvalidParameter(msg.into())
}

/// Fills in what a task set shows now: its computed desired count (the
/// service's desired count may have changed), its task counts and
/// stability.
pub(super) fn refresh(t: &mut TaskSet, desired: u32, running: u32, pending: u32) {
    t.computed_desired_count = if t.status == DRAINING {
        0
    } else {
        computed_desired(desired, t.scale.value)
    };
    t.running_count = running;
    t.pending_count = pending;
    let steady = running == t.computed_desired_count && pending == 0;
    t.stability_status = if steady {
        "STEADY_STATE"
    } else {
        "STABILIZING"
    }
    .into();
}

fn check_scale(scale: &Scale) -> Result<(), ServiceError> {
    if scale.unit != "PERCENT" {
        return Err(invalid(format!(
            "Invalid scale unit '{}' (expected PERCENT).",
            scale.unit
        )));
    }
    if !(0.0..=100.0).contains(&scale.value) {
        return Err(invalid("The scale value must be between 0 and 100."));
    }
    Ok(())
}

impl Scheduler {
    /// The service named by a task set request: ACTIVE, EXTERNAL.
    fn external_service(
        &self,
        cluster: Option<&str>,
        service: &str,
    ) -> Result<Service, ServiceError> {
        let cluster = self.cluster(cluster)?;
        let s = self.find(&cluster, service)?;
        if s.status != ServiceStatus::Active {
            return Err(ServiceError::NotActive(s.service_arn));
        }
        if !s.is_external() {
            return Err(invalid(NOT_EXTERNAL));
        }
        Ok(s)
    }

    /// The task set as described now (with its tags when asked).
    fn task_set_view(&self, service_arn: &str, id: &str, tags: bool) -> Option<TaskSet> {
        let mut t = self.view(service_arn)?.task_set(id)?.clone();
        if tags {
            t.tags = self
                .inner
                .engine
                .read(|st| super::tags::tags_of(st, &t.task_set_arn));
        }
        Some(t)
    }

    fn task_set_reply(&self, service_arn: &str, id: &str) -> Result<ServiceReply, ServiceError> {
        let t = self
            .task_set_view(service_arn, id, false)
            .ok_or_else(|| ServiceError::TaskSetNotFound(id.to_string()))?;
        Ok(ServiceReply::Json(json!({ "taskSet": t })))
    }

    /// One write to a task set of an ACTIVE service.
    async fn change_task_set(
        &self,
        service_arn: &str,
        reference: &str,
        f: impl FnOnce(&mut Service, usize) -> Result<(), ServiceError>,
    ) -> Result<String, ServiceError> {
        self.change_active(service_arn, |s| {
            let i = s
                .task_sets
                .iter()
                .position(|t| t.id == reference || t.task_set_arn == reference)
                .ok_or_else(|| ServiceError::TaskSetNotFound(reference.to_string()))?;
            f(s, i)?;
            Ok(s.task_sets[i].id.clone())
        })
        .await
    }

    pub(super) async fn create_task_set(
        &self,
        r: CreateTaskSet,
    ) -> Result<ServiceReply, ServiceError> {
        let service = self.external_service(r.cluster.as_deref(), &r.service)?;
        let td = self
            .inner
            .engine
            .resolve_task_definition(&r.task_definition, false)?;
        if let Some(lt) = r.launch_type.as_deref() {
            if lt != "EC2" && lt != "EXTERNAL" {
                return Err(invalid(format!(
                    "Launch type '{lt}' is not supported by this emulator (EC2 only)."
                )));
            }
        }
        let scale = r.scale.clone().unwrap_or(Scale {
            value: 100.0,
            unit: "PERCENT".into(),
        });
        check_scale(&scale)?;
        super::tags::validate_tags(&r.tags)?;
        self.validate(
            &td,
            &r.load_balancers,
            &service.deployment_configuration,
            &[],
            &[],
        )?;
        let now = now_epoch();
        let id = crate::model::service::deployment_id();
        let (prefix, path) = service
            .service_arn
            .split_once(":service/")
            .unwrap_or_default();
        let task_set = TaskSet {
            task_set_arn: format!("{prefix}:task-set/{path}/{id}"),
            id: id.clone(),
            service_arn: service.service_arn.clone(),
            cluster_arn: service.cluster_arn.clone(),
            started_by: None,
            external_id: r.external_id.clone(),
            status: ACTIVE.into(),
            task_definition: td.task_definition_arn.clone().unwrap_or_default(),
            computed_desired_count: computed_desired(service.desired_count, scale.value),
            pending_count: 0,
            running_count: 0,
            created_at: now,
            updated_at: now,
            launch_type: r.launch_type.clone().unwrap_or_else(|| "EC2".into()),
            load_balancers: r.load_balancers.clone(),
            service_registries: r.service_registries.clone(),
            scale,
            stability_status: "STABILIZING".into(),
            stability_status_at: now,
            tags: vec![],
        };
        let arn = service.service_arn.clone();
        let tags = r.tags.clone();
        let ts_arn = task_set.task_set_arn.clone();
        self.change_active(&arn, |s| {
            s.task_sets.push(task_set);
            Ok(())
        })
        .await?;
        self.inner
            .engine
            .update_state(|st| {
                st.tag(
                    &ts_arn,
                    tags.iter().map(|t| (t.key.clone(), t.value.clone())),
                )
            })
            .await?;
        self.task_set_reply(&arn, &id)
    }

    pub(super) fn describe_task_sets(
        &self,
        r: DescribeTaskSets,
    ) -> Result<ServiceReply, ServiceError> {
        let service = self.external_service(r.cluster.as_deref(), &r.service)?;
        let with_tags = r.include.iter().any(|i| i == "TAGS");
        let view = self
            .view(&service.service_arn)
            .ok_or_else(|| ServiceError::NotFound(service.service_arn.clone()))?;
        let mut sets = Vec::new();
        let mut failures = Vec::new();
        match &r.task_sets {
            None => {
                for t in &view.task_sets {
                    sets.extend(self.task_set_view(&service.service_arn, &t.id, with_tags));
                }
            }
            Some(wanted) => {
                for w in wanted {
                    match view.task_set(w) {
                        Some(t) => {
                            sets.extend(self.task_set_view(&service.service_arn, &t.id, with_tags))
                        }
                        None => failures.push(Failure {
                            arn: Some(w.clone()),
                            reason: "MISSING".into(),
                            detail: None,
                        }),
                    }
                }
            }
        }
        Ok(ServiceReply::Json(
            json!({ "taskSets": sets, "failures": failures }),
        ))
    }

    pub(super) async fn update_task_set(
        &self,
        r: UpdateTaskSet,
    ) -> Result<ServiceReply, ServiceError> {
        let service = self.external_service(r.cluster.as_deref(), &r.service)?;
        check_scale(&r.scale)?;
        let scale = r.scale.clone();
        let id = self
            .change_task_set(&service.service_arn, &r.task_set, |s, i| {
                let t = &mut s.task_sets[i];
                if t.status == DRAINING {
                    return Err(invalid(
                        "The task set is being deleted and cannot be updated.",
                    ));
                }
                t.scale = scale;
                t.updated_at = now_epoch();
                t.stability_status_at = t.updated_at;
                Ok(())
            })
            .await?;
        self.task_set_reply(&service.service_arn, &id)
    }

    pub(super) async fn delete_task_set(
        &self,
        r: DeleteTaskSet,
    ) -> Result<ServiceReply, ServiceError> {
        let service = self.external_service(r.cluster.as_deref(), &r.service)?;
        let force = r.force.unwrap_or(false);
        let id = self
            .change_task_set(&service.service_arn, &r.task_set, |s, i| {
                let t = &mut s.task_sets[i];
                if t.status == DRAINING {
                    return Ok(());
                }
                if !force && t.scale.value > 0.0 {
                    return Err(invalid(
                        "The task set cannot be deleted while its scale is above 0: scale it to 0 first, or set force.",
                    ));
                }
                t.status = DRAINING.into();
                t.updated_at = now_epoch();
                t.stability_status_at = t.updated_at;
                Ok(())
            })
            .await?;
        let reply = self.task_set_reply(&service.service_arn, &id);
        if let Some(t) = service.task_set(&id) {
            let arn = t.task_set_arn.clone();
            self.inner
                .engine
                .update_state(|st| {
                    st.tags.remove(&arn);
                })
                .await?;
        }
        reply
    }

    pub(super) async fn update_primary_task_set(
        &self,
        r: UpdateServicePrimaryTaskSet,
    ) -> Result<ServiceReply, ServiceError> {
        let service = self.external_service(r.cluster.as_deref(), &r.service)?;
        let id = self
            .change_task_set(&service.service_arn, &r.primary_task_set, |s, i| {
                if s.task_sets[i].status == DRAINING {
                    return Err(invalid(
                        "A task set that is being deleted cannot become the primary task set.",
                    ));
                }
                let now = now_epoch();
                for (j, t) in s.task_sets.iter_mut().enumerate() {
                    if j != i && t.status == PRIMARY {
                        t.status = ACTIVE.into();
                        t.updated_at = now;
                    }
                }
                let t = &mut s.task_sets[i];
                t.status = PRIMARY.into();
                t.updated_at = now;
                s.task_definition = t.task_definition.clone();
                s.launch_type = t.launch_type.clone();
                Ok(())
            })
            .await?;
        self.task_set_reply(&service.service_arn, &id)
    }

    /// UpdateService on an EXTERNAL service: the desired count (which
    /// rescales every task set), deployment configuration, placement and
    /// grace period; the task definition belongs to the task sets.
    pub(super) async fn update_external(
        &self,
        current: Service,
        r: UpdateService,
    ) -> Result<ServiceReply, ServiceError> {
        if r.task_definition.is_some() || r.force_new_deployment {
            return Err(invalid(
                "Updating the task definition or forcing a new deployment is not supported for services using the EXTERNAL deployment controller; create a task set instead.",
            ));
        }
        if r.load_balancers.is_some() {
            return Err(invalid(
                "Updating the load balancers is not supported for services using the EXTERNAL deployment controller.",
            ));
        }
        let dc = r
            .deployment_configuration
            .clone()
            .unwrap_or_else(|| current.deployment_configuration.clone());
        self.validate(
            &crate::model::TaskDefinition::default(),
            &[],
            &dc,
            r.placement_strategy.as_deref().unwrap_or(&[]),
            r.placement_constraints.as_deref().unwrap_or(&[]),
        )?;
        let arn = current.service_arn.clone();
        self.change_active(&arn, |s| {
            if let Some(n) = r.desired_count {
                s.desired_count = n;
            }
            if r.deployment_configuration.is_some() {
                s.deployment_configuration = dc;
            }
            if let Some(p) = r.placement_strategy {
                s.placement_strategy = p;
            }
            if let Some(c) = r.placement_constraints {
                s.placement_constraints = c;
            }
            if r.health_check_grace_period_seconds.is_some() {
                s.health_check_grace_period_seconds = r.health_check_grace_period_seconds;
            }
            Ok(())
        })
        .await?;
        self.view_or_gone(&arn)
    }
}
