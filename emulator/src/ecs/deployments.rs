//! ECS service deployments (ECS's 2024 API over the scheduler's rolling
//! deployments): ListServiceDeployments, DescribeServiceDeployments,
//! DescribeServiceRevisions, StopServiceDeployment and
//! ContinueServiceDeployment, and the bookkeeping that keeps each
//! [`ServiceDeployment`] record in step with the scheduler's deployment it
//! follows (started, completed, circuit breaker tripped, rolled back).

use serde_json::{json, Value};

use super::scheduler::{service_tasks, Scheduler};
use super::services::{ServiceError, ServiceReply};
use crate::db::state::Map;
use crate::db::State;
use crate::model::now_epoch;
use crate::model::service::{Service, ACTIVE, COMPLETED, FAILED, IN_PROGRESS, PRIMARY};
use crate::model::service_deployment::{
    self as sd, CircuitBreakerState, ContainerImage, ContinueServiceDeployment,
    DescribeServiceDeployments, DescribeServiceRevisions, ListServiceDeployments, RevisionSummary,
    Rollback, ServiceDeployment, ServiceRevision, StopServiceDeployment,
};
use crate::model::task::TaskStatus;
use crate::model::{Failure, ServiceStatus};

/// The ARN of the service deployment that rolls out the scheduler's
/// deployment `deployment_id` of `service_arn`.
pub fn deployment_arn(service_arn: &str, deployment_id: &str) -> String {
    let prefix = service_arn.split(":service/").next().unwrap_or("");
    format!(
        "{prefix}:service-deployment/{}",
        sd::resource_suffix(service_arn, deployment_id)
    )
}

/// The ARN of the service revision that deployment made.
pub fn revision_arn(service_arn: &str, deployment_id: &str) -> String {
    let prefix = service_arn.split(":service/").next().unwrap_or("");
    format!(
        "{prefix}:service-revision/{}",
        sd::resource_suffix(service_arn, deployment_id)
    )
}

fn breaker_status(s: &Service, active: bool) -> String {
    if !s.deployment_configuration.deployment_circuit_breaker.enable {
        "DISABLED"
    } else if active {
        "MONITORING"
    } else {
        "MONITORING_COMPLETE"
    }
    .into()
}

/// Records the deployment `deployment_id` the service (as just changed)
/// starts: its revision, its sources (the service's other deployments);
/// deployments of the service still under way are STOPPED (superseded).
pub(super) fn record_start(st: &mut State, service_arn: &str, deployment_id: &str, now: f64) {
    let Some(s) = st.services.get(service_arn) else {
        return;
    };
    let Some(d) = s.deployments.iter().find(|d| d.id == deployment_id) else {
        return;
    };
    let container_images = st
        .task_definitions
        .values()
        .find(|t| t.task_definition_arn.as_deref() == Some(d.task_definition.as_str()))
        .map(|t| {
            t.container_definitions
                .iter()
                .map(|c| ContainerImage {
                    container_name: c.name.clone(),
                    image: c.image.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let sources: Vec<String> = s
        .deployments
        .iter()
        .filter(|o| o.id != deployment_id)
        .map(|o| o.id.clone())
        .collect();
    let record = ServiceDeployment {
        service_deployment_arn: deployment_arn(service_arn, deployment_id),
        service_arn: service_arn.to_string(),
        cluster_arn: s.cluster_arn.clone(),
        created_at: now,
        started_at: Some(now),
        finished_at: None,
        stopped_at: None,
        updated_at: now,
        source_service_revisions: sources
            .iter()
            .map(|id| RevisionSummary {
                arn: revision_arn(service_arn, id),
                ..Default::default()
            })
            .collect(),
        target_service_revision: RevisionSummary {
            arn: revision_arn(service_arn, deployment_id),
            requested_task_count: s.desired_count,
            ..Default::default()
        },
        status: sd::IN_PROGRESS.into(),
        status_reason: None,
        deployment_configuration: s.deployment_configuration.clone(),
        rollback: None,
        deployment_circuit_breaker: CircuitBreakerState {
            status: breaker_status(s, true),
            failure_count: 0,
            threshold: crate::model::service::failure_threshold(s.desired_count),
        },
        deployment_id: deployment_id.to_string(),
        source_deployment_ids: sources,
        rollback_deployment_id: None,
        revision: ServiceRevision {
            service_revision_arn: revision_arn(service_arn, deployment_id),
            service_arn: service_arn.to_string(),
            cluster_arn: s.cluster_arn.clone(),
            task_definition: d.task_definition.clone(),
            launch_type: s.launch_type.clone(),
            load_balancers: s.load_balancers.clone(),
            container_images,
            created_at: now,
        },
    };
    finish_active(
        st,
        service_arn,
        "superseded by a new service deployment",
        now,
    );
    st.service_deployments
        .insert(record.service_deployment_arn.clone(), record);
    forget_old(st, service_arn, sd::KEPT_PER_SERVICE);
}

/// Every unfinished deployment of the service becomes STOPPED.
pub(super) fn finish_active(st: &mut State, service_arn: &str, why: &str, now: f64) {
    let arns: Vec<String> = st
        .service_deployments
        .values()
        .filter(|r| r.service_arn == service_arn && r.is_active())
        .map(|r| r.service_deployment_arn.clone())
        .collect();
    for arn in arns {
        if let Some(r) = st.service_deployments.get_mut(&arn) {
            r.status = sd::STOPPED.into();
            r.status_reason = Some(format!("Service deployment stopped: {why}."));
            r.stopped_at = Some(now);
            r.finished_at = Some(now);
            r.updated_at = now;
            close_breaker(r);
        }
    }
}

fn close_breaker(r: &mut ServiceDeployment) {
    if r.deployment_circuit_breaker.status == "MONITORING" {
        r.deployment_circuit_breaker.status = "MONITORING_COMPLETE".into();
    }
}

/// Keeps at most `kept` records of the service: the oldest finished ones go.
pub(super) fn forget_old(st: &mut State, service_arn: &str, kept: usize) {
    let mut finished: Vec<(f64, String)> = st
        .service_deployments
        .values()
        .filter(|r| r.service_arn == service_arn)
        .filter(|r| !r.is_active())
        .map(|r| (r.created_at, r.service_deployment_arn.clone()))
        .collect();
    let total = st
        .service_deployments
        .values()
        .filter(|r| r.service_arn == service_arn)
        .count();
    if total <= kept {
        return;
    }
    finished.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, arn) in finished.iter().take(total - kept) {
        st.service_deployments.remove(arn);
    }
}

/// Forgets every record of a service that is itself forgotten.
pub(super) fn forget_service(st: &mut State, service_arn: &str) {
    let arns: Vec<String> = st
        .service_deployments
        .values()
        .filter(|r| r.service_arn == service_arn)
        .map(|r| r.service_deployment_arn.clone())
        .collect();
    for a in arns {
        st.service_deployments.remove(&a);
    }
}

/// The scheduler's deployment `deployment_id` completed: its record is
/// SUCCESSFUL, or a rollback to it is.
pub(super) fn on_complete(
    s: &mut Service,
    st_deps: &mut Map<ServiceDeployment>,
    deployment_id: &str,
    now: f64,
) {
    let arns: Vec<String> = st_deps
        .values()
        .filter(|r| r.service_arn == s.service_arn && r.is_active())
        .filter(|r| {
            r.deployment_id == deployment_id
                || r.rollback_deployment_id.as_deref() == Some(deployment_id)
        })
        .map(|r| r.service_deployment_arn.clone())
        .collect();
    for arn in arns {
        if let Some(r) = st_deps.get_mut(&arn) {
            if r.status == sd::ROLLBACK_IN_PROGRESS {
                r.status = sd::ROLLBACK_SUCCESSFUL.into();
                r.status_reason = Some("Service deployment rolled back successfully.".into());
            } else {
                r.status = sd::SUCCESSFUL.into();
                r.status_reason = Some("Service deployment completed successfully.".into());
            }
            r.finished_at = Some(now);
            r.updated_at = now;
            close_breaker(r);
        }
    }
}

/// Makes the scheduler's deployment `back` PRIMARY again (rolled out
/// anew) and `from` an outgoing one: the service's tasks go back to
/// `back`'s task definition.
pub(super) fn roll_back(s: &mut Service, from: &str, back: &str, reason: &str, now: f64) {
    s.steady = false;
    // The last good deployment starts at once.
    s.launch_throttle.reset();
    let desired = s.desired_count;
    if let Some(d) = s.deployment_mut(from) {
        d.status = ACTIVE.into();
        if d.rollout_state == IN_PROGRESS {
            d.rollout_state = FAILED.into();
        }
        d.updated_at = now;
    }
    let mut td = String::new();
    if let Some(d) = s.deployment_mut(back) {
        d.status = PRIMARY.into();
        d.rollout_state = IN_PROGRESS.into();
        d.rollout_state_reason = Some(reason.to_string());
        d.desired_count = desired;
        d.updated_at = now;
        td = d.task_definition.clone();
    }
    // PRIMARY first, as ECS lists them.
    s.deployments.sort_by_key(|d| d.status != PRIMARY);
    s.task_definition = td;
    s.push_event(&format!("rolling back to deployment {back}."), now);
}

/// The circuit breaker tripped on `deployment`: its record is TRIGGERED,
/// rolling back (to `rollback_to`) or STOPPED.
pub(super) fn on_trip(
    s: &mut Service,
    deps: &mut Map<ServiceDeployment>,
    deployment: &str,
    rollback_to: Option<&str>,
    now: f64,
) {
    let failures = s
        .deployments
        .iter()
        .find(|d| d.id == deployment)
        .map_or(0, |d| d.failed_tasks);
    let arn = deployment_arn(&s.service_arn, deployment);
    let Some(r) = deps.get_mut(&arn).filter(|r| r.is_active()) else {
        return;
    };
    r.deployment_circuit_breaker.status = "TRIGGERED".into();
    r.deployment_circuit_breaker.failure_count = failures;
    r.updated_at = now;
    match rollback_to {
        Some(back) => {
            r.status = sd::ROLLBACK_IN_PROGRESS.into();
            r.status_reason = Some(
                "Service deployment rolling back: the deployment circuit breaker was triggered."
                    .into(),
            );
            r.rollback_deployment_id = Some(back.to_string());
            r.rollback = Some(Rollback {
                reason: "The deployment circuit breaker was triggered.".into(),
                started_at: now,
                service_revision_arn: revision_arn(&s.service_arn, back),
            });
        }
        None => {
            r.status = sd::STOPPED.into();
            r.status_reason = Some(
                "Service deployment stopped: the deployment circuit breaker was triggered.".into(),
            );
            r.stopped_at = Some(now);
            r.finished_at = Some(now);
        }
    }
}

impl Scheduler {
    /// Changes a stored service and its deployment records in one write
    /// (logged when it cannot be stored: the next pass tries again).
    async fn change_with_records(
        &self,
        arn: &str,
        f: impl FnOnce(&mut Service, &mut Map<ServiceDeployment>, f64),
    ) {
        let r = self
            .inner
            .engine
            .update_state(|st| {
                if let Some(s) = st.services.get_mut(arn) {
                    f(s, &mut st.service_deployments, now_epoch());
                }
            })
            .await;
        if let Err(e) = r {
            tracing::error!(service = %arn, "cannot store a service change: {e}");
        }
    }

    /// The scheduler's CompleteDeployment step.
    pub(super) async fn complete_deployment(&self, arn: &str, deployment: &str) {
        self.change_with_records(arn, |s, deps, now| {
            if let Some(d) = s.deployment_mut(deployment) {
                d.rollout_state = COMPLETED.into();
                d.rollout_state_reason = Some(format!("ECS deployment {deployment} completed."));
                d.updated_at = now;
            }
            s.push_event(
                &format!("(deployment {deployment}) deployment completed."),
                now,
            );
            on_complete(s, deps, deployment, now);
        })
        .await;
    }

    /// The scheduler's TripCircuitBreaker step.
    pub(super) async fn trip_circuit_breaker(
        &self,
        arn: &str,
        deployment: &str,
        rollback_to: Option<String>,
    ) {
        self.change_with_records(arn, |s, deps, now| {
            s.steady = false;
            let reason = "ECS deployment circuit breaker: tasks failed to start.";
            if let Some(d) = s.deployment_mut(deployment) {
                d.rollout_state = FAILED.into();
                d.rollout_state_reason = Some(reason.into());
                d.updated_at = now;
            }
            s.push_event(
                &format!("(deployment {deployment}) deployment failed: tasks failed to start."),
                now,
            );
            on_trip(s, deps, deployment, rollback_to.as_deref(), now);
            if let Some(back) = rollback_to {
                let why =
                    format!("ECS deployment circuit breaker: rolling back to deploymentId {back}.");
                roll_back(s, deployment, &back, &why, now);
            }
        })
        .await;
    }

    /// A record as ECS shows it, with its revisions' task counts now.
    fn render_deployment(st: &State, r: &ServiceDeployment) -> Value {
        let mut v = r.view();
        let Some(s) = st.services.get(&r.service_arn) else {
            return v;
        };
        let tasks: Vec<_> = service_tasks(st, s).collect();
        let counts = |id: &str| {
            let mine = tasks.iter().filter(|t| t.started_by.as_deref() == Some(id));
            let running = mine
                .clone()
                .filter(|t| t.status() == TaskStatus::Running)
                .count();
            let pending = mine
                .filter(|t| t.wants_running() && t.status() < TaskStatus::Running)
                .count();
            (running as u32, pending as u32)
        };
        let (running, pending) = counts(&r.deployment_id);
        let target = &mut v["targetServiceRevision"];
        target["runningTaskCount"] = running.into();
        target["pendingTaskCount"] = pending.into();
        if r.is_active() {
            target["requestedTaskCount"] = s.desired_count.into();
        }
        for (i, id) in r.source_deployment_ids.iter().enumerate() {
            let (running, pending) = counts(id);
            let src = &mut v["sourceServiceRevisions"][i];
            src["runningTaskCount"] = running.into();
            src["pendingTaskCount"] = pending.into();
        }
        if r.deployment_circuit_breaker.status == "MONITORING" {
            let failures = s
                .deployments
                .iter()
                .find(|d| d.id == r.deployment_id)
                .map_or(0, |d| d.failed_tasks);
            v["deploymentCircuitBreaker"]["failureCount"] = failures.into();
        }
        v
    }

    pub(super) fn list_service_deployments(
        &self,
        r: ListServiceDeployments,
    ) -> Result<ServiceReply, ServiceError> {
        let cluster = self.cluster(r.cluster.as_deref())?;
        let service = self.find(&cluster, &r.service)?;
        for status in &r.status {
            if !sd::STATUSES.contains(&status.as_str()) {
                return Err(ServiceError::InvalidParameter(format!(
                    "Invalid status '{status}'."
                )));
            }
        }
        let after = r.created_at.as_ref().and_then(|c| c.after);
        let before = r.created_at.as_ref().and_then(|c| c.before);
        let st = self.inner.engine.snapshot();
        let mut items: Vec<(String, Value)> = st
            .service_deployments
            .values()
            .filter(|d| d.service_arn == service.service_arn)
            .filter(|d| r.status.is_empty() || r.status.contains(&d.status))
            .filter(|d| after.is_none_or(|a| d.created_at >= a))
            .filter(|d| before.is_none_or(|b| d.created_at <= b))
            // Newest first: the key sorts by creation time.
            .map(|d| {
                let key = format!(
                    "{:020}|{}",
                    (d.created_at * 1e6) as u64,
                    d.service_deployment_arn
                );
                (key, d.brief())
            })
            .collect();
        items.sort_by(|a, b| b.0.cmp(&a.0));
        // ECS answers 20 a page unless asked for up to 100.
        let mut page = r.page.clone();
        page.max_results = page.max_results.or(Some(20));
        let (deployments, next) = super::tags::paginate(items, &page, 100, true)?;
        let mut v = json!({ "serviceDeployments": deployments });
        if let Some(t) = next {
            v["nextToken"] = t.into();
        }
        Ok(ServiceReply::Json(v))
    }

    pub(super) fn describe_service_deployments(
        &self,
        r: DescribeServiceDeployments,
    ) -> Result<ServiceReply, ServiceError> {
        let st = self.inner.engine.snapshot();
        let (found, failures) =
            describe_each("serviceDeploymentArns", &r.service_deployment_arns, |arn| {
                st.service_deployments
                    .get(arn)
                    .map(|d| Self::render_deployment(&st, d))
            })?;
        Ok(ServiceReply::Json(
            json!({ "serviceDeployments": found, "failures": failures }),
        ))
    }

    pub(super) fn describe_service_revisions(
        &self,
        r: DescribeServiceRevisions,
    ) -> Result<ServiceReply, ServiceError> {
        let st = self.inner.engine.snapshot();
        // A revision is kept in the record of the deployment that made it
        // (the same path and id).
        let (found, failures) =
            describe_each("serviceRevisionArns", &r.service_revision_arns, |arn| {
                let deployment = arn
                    .contains(":service-revision/")
                    .then(|| arn.replacen(":service-revision/", ":service-deployment/", 1))?;
                st.service_deployments
                    .get(&deployment)
                    .map(|d| serde_json::to_value(&d.revision).unwrap_or_default())
            })?;
        Ok(ServiceReply::Json(
            json!({ "serviceRevisions": found, "failures": failures }),
        ))
    }

    pub(super) async fn stop_service_deployment(
        &self,
        r: StopServiceDeployment,
    ) -> Result<ServiceReply, ServiceError> {
        match r.stop_type.as_deref().unwrap_or("ROLLBACK") {
            "ROLLBACK" => {}
            "ABORT" => {
                return Err(ServiceError::InvalidParameter(
                    "The ABORT stop type is not supported for ROLLING service deployments; use ROLLBACK.".into(),
                ))
            }
            other => {
                return Err(ServiceError::InvalidParameter(format!(
                    "Invalid stopType '{other}' (expected ROLLBACK)."
                )))
            }
        }
        let arn = r.service_deployment_arn.clone();
        let done = self
            .inner
            .engine
            .update_state(|st| {
                let rec = st
                    .service_deployments
                    .get(&arn)
                    .cloned()
                    .ok_or_else(|| ServiceError::DeploymentNotFound(arn.clone()))?;
                if rec.status != sd::IN_PROGRESS {
                    return Err(ServiceError::Conflict(format!(
                        "The service deployment is {} and cannot be stopped.",
                        rec.status
                    )));
                }
                let s = st
                    .services
                    .get_mut(&rec.service_arn)
                    .filter(|s| s.status == ServiceStatus::Active)
                    .ok_or_else(|| {
                        ServiceError::Conflict("The service of this deployment is not ACTIVE.".into())
                    })?;
                let back = s
                    .deployments
                    .iter()
                    .filter(|d| d.id != rec.deployment_id)
                    .filter(|d| rec.source_deployment_ids.contains(&d.id))
                    .max_by(|a, b| a.created_at.total_cmp(&b.created_at))
                    .map(|d| d.id.clone())
                    .ok_or_else(|| {
                        ServiceError::Conflict(
                            "The service deployment has no previous service revision to roll back to.".into(),
                        )
                    })?;
                let now = now_epoch();
                roll_back(
                    s,
                    &rec.deployment_id,
                    &back,
                    &format!("Service deployment stopped: rolling back to deploymentId {back}."),
                    now,
                );
                let service_arn = s.service_arn.clone();
                if let Some(d) = st.service_deployments.get_mut(&arn) {
                    d.status = sd::ROLLBACK_IN_PROGRESS.into();
                    d.status_reason =
                        Some("Service deployment rolling back: stopped by StopServiceDeployment.".into());
                    d.rollback_deployment_id = Some(back.clone());
                    d.rollback = Some(Rollback {
                        reason: "Service deployment stopped with stopType ROLLBACK.".into(),
                        started_at: now,
                        service_revision_arn: revision_arn(&service_arn, &back),
                    });
                    d.updated_at = now;
                }
                Ok(())
            })
            .await?;
        done?;
        Ok(ServiceReply::Json(json!({ "serviceDeploymentArn": arn })))
    }

    /// No service deployment here pauses at a lifecycle hook (the
    /// emulator runs no hooks): there is never one to continue.
    pub(super) fn continue_service_deployment(
        &self,
        r: ContinueServiceDeployment,
    ) -> Result<ServiceReply, ServiceError> {
        if let Some(a) = r.action.as_deref() {
            if a != "CONTINUE" && a != "ROLLBACK" {
                return Err(ServiceError::InvalidParameter(format!(
                    "Invalid action '{a}' (expected CONTINUE or ROLLBACK)."
                )));
            }
        }
        let st = self.inner.engine.snapshot();
        let Some(d) = st.service_deployments.get(&r.service_deployment_arn) else {
            return Err(ServiceError::DeploymentNotFound(r.service_deployment_arn));
        };
        Err(ServiceError::InvalidParameter(format!(
            "The service deployment {} is not paused at lifecycle hook {} (status {}).",
            d.service_deployment_arn, r.hook_id, d.status
        )))
    }
}

/// Each of 1 to 20 ARNs described, or a MISSING failure.
fn describe_each(
    name: &str,
    arns: &[String],
    find: impl Fn(&str) -> Option<Value>,
) -> Result<(Vec<Value>, Vec<Failure>), ServiceError> {
    if arns.is_empty() || arns.len() > 20 {
        return Err(ServiceError::InvalidParameter(format!(
            "{name} must name 1 to 20 ARNs."
        )));
    }
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in arns {
        match find(arn) {
            Some(v) => found.push(v),
            None => failures.push(Failure {
                arn: Some(arn.clone()),
                reason: "MISSING".into(),
                detail: None,
            }),
        }
    }
    Ok((found, failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_share_the_service_path_and_the_deployment_digits() {
        let s = "arn:aws:ecs:us-east-1:000000000000:service/c/web";
        assert_eq!(
            deployment_arn(s, "ecs-svc/123"),
            "arn:aws:ecs:us-east-1:000000000000:service-deployment/c/web/123"
        );
        assert_eq!(
            revision_arn(s, "ecs-svc/123"),
            "arn:aws:ecs:us-east-1:000000000000:service-revision/c/web/123"
        );
    }

    #[test]
    fn retention_drops_the_oldest_finished_records() {
        let mut st = State::default();
        for i in 0..5 {
            let arn = format!("d{i}");
            st.service_deployments.insert(
                arn.clone(),
                ServiceDeployment {
                    service_deployment_arn: arn,
                    service_arn: "s".into(),
                    created_at: f64::from(i),
                    status: if i == 0 {
                        sd::IN_PROGRESS
                    } else {
                        sd::SUCCESSFUL
                    }
                    .into(),
                    ..Default::default()
                },
            );
        }
        forget_old(&mut st, "s", 3);
        let left: Vec<&str> = st.service_deployments.keys().map(String::as_str).collect();
        assert_eq!(left, vec!["d0", "d3", "d4"], "the unfinished one stays");
    }
}
