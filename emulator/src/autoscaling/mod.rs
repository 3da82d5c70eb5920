//! Service Auto Scaling: the Application Auto Scaling operations for ECS
//! services and the loop that acts on target-tracking policies.
//!
//! Every evaluation period the loop measures each policy's metric for its
//! service (`ECSServiceAverageCPUUtilization` from real container stats,
//! `ALBRequestCountPerTarget` from the balancer's per-target request
//! counters) and asks the pure [`decide`] for a new desired count within
//! the scalable target's min/max, honouring the scale-out and scale-in
//! cooldowns. A change goes to the service through
//! [`Scheduler::set_desired_count`] and is recorded as a scaling activity.

pub mod wire;

use crate::model::ServiceStatus;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::db::state::{activity_key, retain};
use crate::ecs::scheduler::{service_tasks, target_of, Scheduler};
use crate::model::autoscaling::{
    self as asg, parse_resource_id, AutoScalingState, DeleteScalingPolicy,
    DeregisterScalableTarget, DescribeScalableTargets, DescribeScalingActivities,
    DescribeScalingPolicies, PutScalingPolicy, RegisterScalableTarget, ScalableTarget,
    ScalingActivity, ScalingPolicy, CPU_METRIC, ECS_DESIRED_COUNT, MAX_ACTIVITIES, REQUESTS_METRIC,
};
use crate::model::now_epoch;
use crate::model::task::TaskStatus;

/// The `X-Amz-Target` prefix of Application Auto Scaling.
pub const TARGET_PREFIX: &str = "AnyScaleFrontendService";

#[derive(Debug, Clone)]
pub struct AutoScalingConfig {
    /// How often policies are evaluated (CloudWatch: one minute).
    pub evaluation_period: Duration,
}

impl Default for AutoScalingConfig {
    fn default() -> Self {
        AutoScalingConfig {
            evaluation_period: Duration::from_secs(60),
        }
    }
}

/// Why an operation failed, as Application Auto Scaling names it.
#[derive(Debug, thiserror::Error)]
pub enum AutoScalingError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ObjectNotFound(String),
    #[error("the change could not be stored: {0}")]
    Store(#[from] crate::db::DbError),
}

impl AutoScalingError {
    pub fn aws_type(&self) -> &'static str {
        match self {
            AutoScalingError::Validation(_) => "ValidationException",
            AutoScalingError::ObjectNotFound(_) => "ObjectNotFoundException",
            AutoScalingError::Store(_) => "InternalServiceException",
        }
    }

    /// A fault of the service, not of the request (HTTP 500).
    pub fn is_server(&self) -> bool {
        matches!(self, AutoScalingError::Store(_))
    }
}

fn validation(msg: impl Into<String>) -> AutoScalingError {
    AutoScalingError::Validation(msg.into())
}

/// The operations.
#[derive(Debug, Clone, PartialEq)]
pub enum AutoScalingCommand {
    RegisterScalableTarget(RegisterScalableTarget),
    DescribeScalableTargets(DescribeScalableTargets),
    DeregisterScalableTarget(DeregisterScalableTarget),
    PutScalingPolicy(PutScalingPolicy),
    DescribeScalingPolicies(DescribeScalingPolicies),
    DeleteScalingPolicy(DeleteScalingPolicy),
    DescribeScalingActivities(DescribeScalingActivities),
}

/// What a target-tracking evaluation decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Keep,
    ScaleTo(u32),
}

/// Target tracking, pure: the capacity that brings `metric` to `target`
/// (`ceil(current * metric / target)`), within `min..=max`; scale-out only
/// after `scale_out_cooldown` since the last scale-out, scale-in only
/// after `scale_in_cooldown` since the last activity, never when scale-in
/// is disabled. `since_*` are `None` when there was no such activity.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    current: u32,
    metric: f64,
    target: f64,
    min: u32,
    max: u32,
    since_scale_out: Option<Duration>,
    since_any: Option<Duration>,
    tracking: &asg::TargetTracking,
) -> Decision {
    if target <= 0.0 || !metric.is_finite() {
        return Decision::Keep;
    }
    let wanted = if current == 0 {
        min.max(1)
    } else {
        (f64::from(current) * metric / target - 1e-9)
            .ceil()
            .max(0.0) as u32
    };
    let wanted = wanted.clamp(min, max.max(min));
    let out_cd = Duration::from_secs(u64::from(tracking.scale_out_cooldown.unwrap_or(300)));
    let in_cd = Duration::from_secs(u64::from(tracking.scale_in_cooldown.unwrap_or(300)));
    if wanted > current {
        if since_scale_out.is_some_and(|d| d < out_cd) {
            return Decision::Keep;
        }
        return Decision::ScaleTo(wanted);
    }
    if wanted < current {
        if tracking.disable_scale_in || since_any.is_some_and(|d| d < in_cd) {
            return Decision::Keep;
        }
        return Decision::ScaleTo(wanted);
    }
    Decision::Keep
}

#[derive(Default)]
struct Memory {
    /// Last CPU sample per container name: (cpu ns, when).
    cpu: BTreeMap<String, (u64, Instant)>,
    /// Last total request count per policy.
    requests: BTreeMap<String, (u64, Instant)>,
    last_scale_out: BTreeMap<String, Instant>,
    last_any: BTreeMap<String, Instant>,
}

struct Inner {
    scheduler: Scheduler,
    config: AutoScalingConfig,
    memory: Mutex<Memory>,
    shutdown: CancellationToken,
}

/// Application Auto Scaling for ECS services. Cheap to clone.
#[derive(Clone)]
pub struct AutoScaling {
    inner: Arc<Inner>,
}

impl AutoScaling {
    pub fn new(scheduler: Scheduler, config: AutoScalingConfig) -> AutoScaling {
        AutoScaling {
            inner: Arc::new(Inner {
                scheduler,
                config,
                memory: Mutex::new(Memory::default()),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn state(&self) -> AutoScalingState {
        self.inner
            .scheduler
            .engine()
            .read(|s| s.autoscaling.clone())
    }

    async fn update<R>(
        &self,
        f: impl FnOnce(&mut AutoScalingState) -> R,
    ) -> Result<R, AutoScalingError> {
        Ok(self
            .inner
            .scheduler
            .engine()
            .update_state(|s| f(&mut s.autoscaling))
            .await?)
    }

    /// Starts the evaluation loop (ends on [`AutoScaling::shutdown`]).
    pub fn start(&self) {
        let a = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = a.inner.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(a.inner.config.evaluation_period) => {}
                }
                a.evaluate().await;
            }
        });
    }

    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    /// One evaluation of every policy.
    pub async fn evaluate(&self) {
        let st = self.state();
        let mut seen = std::collections::HashSet::new();
        for p in st.policies.values() {
            let Some(target) = st.targets.get(&p.resource_id) else {
                continue;
            };
            let Some(metric) = self.metric(p, &mut seen).await else {
                continue;
            };
            if let Err(e) = self.act(p, target, metric).await {
                tracing::error!(policy = %p.policy_name, "cannot scale: {e}");
            }
        }
        // What is remembered is bounded by what exists now: samples of
        // containers gone, and times of targets and policies deleted, go.
        let mut m = self.memory();
        m.cpu.retain(|id, _| seen.contains(id));
        m.requests.retain(|arn, _| st.policies.contains_key(arn));
        m.last_scale_out.retain(|id, _| st.targets.contains_key(id));
        m.last_any.retain(|id, _| st.targets.contains_key(id));
    }

    /// How many samples and times are remembered (tests).
    pub fn remembered(&self) -> usize {
        let m = self.memory();
        m.cpu.len() + m.requests.len() + m.last_scale_out.len() + m.last_any.len()
    }

    fn service_arn(&self, resource_id: &str) -> Option<String> {
        let (cluster, service) = parse_resource_id(resource_id)?;
        let p = self.inner.scheduler.engine().config().partition.clone();
        Some(format!(
            "arn:aws:ecs:{}:{}:service/{cluster}/{service}",
            p.region, p.account
        ))
    }

    /// The policy's metric now; `None` when it cannot be measured yet
    /// (first sample, no running task).
    async fn metric(
        &self,
        p: &ScalingPolicy,
        seen: &mut std::collections::HashSet<String>,
    ) -> Option<f64> {
        let tt = &p.target_tracking_scaling_policy_configuration;
        let kind = tt
            .predefined_metric_specification
            .as_ref()
            .map(|m| m.predefined_metric_type.as_str())
            .unwrap_or("");
        let arn = self.service_arn(&p.resource_id)?;
        let state = self.inner.scheduler.engine().snapshot();
        let service = state.services.get(&arn)?.clone();
        match kind {
            CPU_METRIC => {
                let runtime = self.inner.scheduler.engine().runtime().clone();
                let mut per_task = Vec::new();
                for t in
                    service_tasks(&state, &service).filter(|t| t.status() == TaskStatus::Running)
                {
                    let units = t.cpu.parse::<f64>().unwrap_or(0.0);
                    let units = if units > 0.0 { units } else { 1024.0 };
                    let mut used_ns = 0u64;
                    let mut elapsed = None;
                    for c in &t.containers {
                        let Some(id) = c.runtime_id.as_deref() else {
                            continue;
                        };
                        seen.insert(id.to_string());
                        let Ok(s) = runtime.stats(id).await else {
                            continue;
                        };
                        let now = Instant::now();
                        let prev = self
                            .memory()
                            .cpu
                            .insert(id.to_string(), (s.cpu_total_ns, now));
                        if let Some((ns, at)) = prev {
                            used_ns += s.cpu_total_ns.saturating_sub(ns);
                            elapsed = Some(now.duration_since(at));
                        }
                    }
                    if let Some(e) = elapsed.filter(|e| !e.is_zero()) {
                        let cpus = used_ns as f64 / e.as_nanos() as f64;
                        per_task.push(cpus * 1024.0 / units * 100.0);
                    }
                }
                (!per_task.is_empty()).then(|| per_task.iter().sum::<f64>() / per_task.len() as f64)
            }
            REQUESTS_METRIC => {
                let lb = match tt
                    .predefined_metric_specification
                    .as_ref()
                    .and_then(|m| m.resource_label.as_deref())
                    .and_then(|l| l.split_once("/targetgroup/").map(|(_, tg)| tg.to_string()))
                {
                    Some(tg) => service.load_balancers.iter().find(|lb| {
                        lb.target_group_arn
                            .as_deref()
                            .is_some_and(|a| a.ends_with(&format!("targetgroup/{tg}")))
                    }),
                    None => service.load_balancers.first(),
                }?;
                let tg = lb.target_group_arn.as_deref()?;
                let counts = self.inner.scheduler.targets().request_counts(tg);
                let mine: Vec<u64> = service_tasks(&state, &service)
                    .filter(|t| t.status() == TaskStatus::Running)
                    .filter_map(|t| target_of(&state, t, lb))
                    .filter_map(|(id, _, port)| counts.get(&(id, port)).copied())
                    .collect();
                // Targets come and go: count requests as the sum of the
                // current targets' counters, differences clamped at 0.
                let total: u64 = mine.iter().sum();
                let now = Instant::now();
                let prev = self
                    .memory()
                    .requests
                    .insert(p.policy_arn.clone(), (total, now));
                let (before, at) = prev?;
                let secs = now.duration_since(at).as_secs_f64();
                if mine.is_empty() || secs <= 0.0 {
                    return None;
                }
                let delta = total.saturating_sub(before) as f64;
                // AWS counts per target per minute.
                Some(delta / mine.len() as f64 * 60.0 / secs)
            }
            _ => None,
        }
    }

    async fn act(
        &self,
        p: &ScalingPolicy,
        target: &ScalableTarget,
        metric: f64,
    ) -> Result<(), AutoScalingError> {
        let Some(arn) = self.service_arn(&p.resource_id) else {
            return Ok(());
        };
        let Some(current) = self
            .inner
            .scheduler
            .engine()
            .snapshot()
            .services
            .get(&arn)
            .filter(|s| s.status == ServiceStatus::Active)
            .map(|s| s.desired_count)
        else {
            return Ok(());
        };
        let tt = &p.target_tracking_scaling_policy_configuration;
        let now = Instant::now();
        let (since_out, since_any) = {
            let m = self.memory();
            (
                m.last_scale_out.get(&p.resource_id).map(|t| now - *t),
                m.last_any.get(&p.resource_id).map(|t| now - *t),
            )
        };
        let mut decision = decide(
            current,
            metric,
            tt.target_value,
            target.min_capacity,
            target.max_capacity,
            since_out,
            since_any,
            tt,
        );
        if let Decision::ScaleTo(n) = decision {
            let s = &target.suspended_state;
            if (n > current && s.dynamic_scaling_out_suspended)
                || (n < current && s.dynamic_scaling_in_suspended)
            {
                decision = Decision::Keep;
            }
        }
        tracing::debug!(policy = %p.policy_name, metric, current, ?decision, "target tracking");
        let Decision::ScaleTo(n) = decision else {
            return Ok(());
        };
        if !self.inner.scheduler.set_desired_count(&arn, n).await? {
            return Ok(());
        }
        {
            let mut m = self.memory();
            if n > current {
                m.last_scale_out.insert(p.resource_id.clone(), now);
            }
            m.last_any.insert(p.resource_id.clone(), now);
        }
        let alarm = if n > current { "AlarmHigh" } else { "AlarmLow" };
        self.record(
            &p.resource_id,
            format!("Setting desired count to {n}."),
            format!(
                "monitor alarm TargetTracking-{}-{alarm} in state ALARM triggered policy {} (metric {metric:.1}, target {})",
                p.resource_id, p.policy_name, tt.target_value
            ),
        )
        .await
    }

    async fn record(
        &self,
        resource_id: &str,
        description: String,
        cause: String,
    ) -> Result<(), AutoScalingError> {
        let now = now_epoch();
        tracing::info!(%resource_id, "{description} ({cause})");
        self.update(|s| {
            let activity = ScalingActivity {
                activity_id: uuid::Uuid::new_v4().to_string(),
                service_namespace: "ecs".into(),
                resource_id: resource_id.to_string(),
                scalable_dimension: ECS_DESIRED_COUNT.into(),
                description,
                cause,
                start_time: now,
                end_time: now,
                status_code: "Successful".into(),
                status_message: Some("Successfully set desired count.".into()),
            };
            s.activities.insert(activity_key(&activity), activity);
            while s.activities.len() > MAX_ACTIVITIES * 10 {
                let oldest = s.activities.keys().next().cloned();
                if let Some(k) = oldest {
                    s.activities.remove(&k);
                }
            }
        })
        .await
    }

    // ----------------------------------------------------------- commands

    fn check(namespace: &str, dimension: Option<&str>) -> Result<(), AutoScalingError> {
        if namespace != "ecs" {
            return Err(validation(format!(
                "Unsupported service namespace '{namespace}': this emulator scales ECS services (ecs)."
            )));
        }
        if let Some(d) = dimension {
            if d != ECS_DESIRED_COUNT {
                return Err(validation(format!(
                    "Unsupported scalable dimension '{d}' (expected {ECS_DESIRED_COUNT})."
                )));
            }
        }
        Ok(())
    }

    /// Handles one operation; the reply is the AWS response body.
    pub async fn handle(
        &self,
        cmd: AutoScalingCommand,
    ) -> Result<serde_json::Value, AutoScalingError> {
        use serde_json::json;
        match cmd {
            AutoScalingCommand::RegisterScalableTarget(r) => {
                Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
                let arn = self.service_arn(&r.resource_id).ok_or_else(|| {
                    validation(format!(
                        "Invalid ResourceId '{}' (expected service/<cluster>/<service>).",
                        r.resource_id
                    ))
                })?;
                let service = self
                    .inner
                    .scheduler
                    .engine()
                    .snapshot()
                    .services
                    .get(&arn)
                    .cloned();
                let Some(service) = service.filter(|s| s.status == ServiceStatus::Active) else {
                    return Err(validation(format!(
                        "ECS service doesn't exist: {}",
                        r.resource_id
                    )));
                };
                let existing = self.state().targets.get(&r.resource_id).cloned();
                let min = r.min_capacity.or(existing.as_ref().map(|t| t.min_capacity));
                let max = r.max_capacity.or(existing.as_ref().map(|t| t.max_capacity));
                let (Some(min), Some(max)) = (min, max) else {
                    return Err(validation(
                        "MinCapacity and MaxCapacity are required for a new scalable target.",
                    ));
                };
                if min > max {
                    return Err(validation(
                        "MinCapacity must not be greater than MaxCapacity.",
                    ));
                }
                let p = self.inner.scheduler.engine().config().partition.clone();
                let target = ScalableTarget {
                    service_namespace: "ecs".into(),
                    resource_id: r.resource_id.clone(),
                    scalable_dimension: ECS_DESIRED_COUNT.into(),
                    min_capacity: min,
                    max_capacity: max,
                    role_arn: r
                        .role_arn
                        .clone()
                        .unwrap_or_else(|| p.ecs_autoscaling_role()),
                    creation_time: existing
                        .as_ref()
                        .map(|t| t.creation_time)
                        .unwrap_or_else(now_epoch),
                    scalable_target_arn: existing
                        .as_ref()
                        .map(|t| t.scalable_target_arn.clone())
                        .unwrap_or_else(|| {
                            p.scalable_target(&uuid::Uuid::new_v4().simple().to_string())
                        }),
                    suspended_state: r
                        .suspended_state
                        .clone()
                        .or(existing.map(|t| t.suspended_state))
                        .unwrap_or_default(),
                };
                let target_arn = target.scalable_target_arn.clone();
                self.update(|s| s.targets.insert(r.resource_id.clone(), target))
                    .await?;
                // The desired count follows the new bounds at once.
                let clamped = service.desired_count.clamp(min, max);
                if clamped != service.desired_count {
                    self.inner
                        .scheduler
                        .set_desired_count(&arn, clamped)
                        .await?;
                    self.record(
                        &r.resource_id,
                        format!("Setting desired count to {clamped}."),
                        format!("minimum/maximum capacity was set to {min}/{max}"),
                    )
                    .await?;
                }
                Ok(json!({ "ScalableTargetARN": target_arn }))
            }
            AutoScalingCommand::DescribeScalableTargets(r) => {
                Self::check(&r.service_namespace, r.scalable_dimension.as_deref())?;
                let targets: Vec<ScalableTarget> = self
                    .state()
                    .targets
                    .values()
                    .filter(|t| {
                        r.resource_ids.is_empty() || r.resource_ids.contains(&t.resource_id)
                    })
                    .cloned()
                    .collect();
                Ok(json!({ "ScalableTargets": targets }))
            }
            AutoScalingCommand::DeregisterScalableTarget(r) => {
                Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
                let removed = self
                    .update(|s| {
                        let gone = s.targets.remove(&r.resource_id).is_some();
                        retain(&mut s.policies, |_, p| p.resource_id != r.resource_id);
                        gone
                    })
                    .await?;
                if !removed {
                    return Err(AutoScalingError::ObjectNotFound(format!("No scalable target registered for service namespace: ecs, resource ID: {}, scalable dimension: {}", r.resource_id, r.scalable_dimension)));
                }
                Ok(json!({}))
            }
            AutoScalingCommand::PutScalingPolicy(r) => {
                Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
                if !self.state().targets.contains_key(&r.resource_id) {
                    return Err(AutoScalingError::ObjectNotFound(format!("No scalable target registered for service namespace: ecs, resource ID: {}, scalable dimension: {}", r.resource_id, r.scalable_dimension)));
                }
                let kind = r
                    .policy_type
                    .clone()
                    .unwrap_or_else(|| "StepScaling".into());
                if kind != "TargetTrackingScaling" {
                    return Err(validation(format!("Unsupported PolicyType '{kind}': this emulator acts on TargetTrackingScaling policies.")));
                }
                let tt = r.target_tracking_scaling_policy_configuration.clone().ok_or_else(|| validation("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy."))?;
                let metric = tt
                    .predefined_metric_specification
                    .as_ref()
                    .map(|m| m.predefined_metric_type.clone())
                    .unwrap_or_default();
                if metric != CPU_METRIC && metric != REQUESTS_METRIC {
                    return Err(validation(format!("Unsupported metric '{metric}' (supported: {CPU_METRIC}, {REQUESTS_METRIC}).")));
                }
                if tt.target_value.is_nan() || tt.target_value <= 0.0 {
                    return Err(validation("TargetValue must be positive."));
                }
                let p = self.inner.scheduler.engine().config().partition.clone();
                let policy_arn = p.scaling_policy(
                    &uuid::Uuid::new_v4().to_string(),
                    &r.resource_id,
                    &r.policy_name,
                );
                let policy = ScalingPolicy {
                    policy_arn: policy_arn.clone(),
                    policy_name: r.policy_name.clone(),
                    service_namespace: "ecs".into(),
                    resource_id: r.resource_id.clone(),
                    scalable_dimension: ECS_DESIRED_COUNT.into(),
                    policy_type: kind,
                    target_tracking_scaling_policy_configuration: tt,
                    alarms: vec![
                        json!({"AlarmName": format!("TargetTracking-{}-AlarmHigh", r.resource_id), "AlarmARN": p.alarm(&format!("TargetTracking-{}-AlarmHigh", r.resource_id))}),
                        json!({"AlarmName": format!("TargetTracking-{}-AlarmLow", r.resource_id), "AlarmARN": p.alarm(&format!("TargetTracking-{}-AlarmLow", r.resource_id))}),
                    ],
                    creation_time: now_epoch(),
                };
                let alarms = policy.alarms.clone();
                let arn = self
                    .update(|s| {
                        // Same name on the same resource: replaced, ARN kept.
                        let old = s
                            .policies
                            .values()
                            .find(|x| {
                                x.resource_id == r.resource_id && x.policy_name == r.policy_name
                            })
                            .map(|x| x.policy_arn.clone());
                        let mut policy = policy;
                        if let Some(old) = old {
                            policy.policy_arn = old;
                        }
                        let arn = policy.policy_arn.clone();
                        s.policies.insert(arn.clone(), policy);
                        arn
                    })
                    .await?;
                Ok(json!({ "PolicyARN": arn, "Alarms": alarms }))
            }
            AutoScalingCommand::DescribeScalingPolicies(r) => {
                Self::check(&r.service_namespace, r.scalable_dimension.as_deref())?;
                let policies: Vec<ScalingPolicy> = self
                    .state()
                    .policies
                    .values()
                    .filter(|p| {
                        r.resource_id
                            .as_deref()
                            .is_none_or(|id| p.resource_id == id)
                    })
                    .filter(|p| {
                        r.policy_names.is_empty() || r.policy_names.contains(&p.policy_name)
                    })
                    .cloned()
                    .collect();
                Ok(json!({ "ScalingPolicies": policies }))
            }
            AutoScalingCommand::DeleteScalingPolicy(r) => {
                Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
                let removed = self
                    .update(|s| {
                        let before = s.policies.len();
                        retain(&mut s.policies, |_, p| {
                            !(p.resource_id == r.resource_id && p.policy_name == r.policy_name)
                        });
                        before != s.policies.len()
                    })
                    .await?;
                if !removed {
                    return Err(AutoScalingError::ObjectNotFound(format!("No scaling policy found for service namespace: ecs, resource ID: {}, scalable dimension: {}: policy name: {}", r.resource_id, r.scalable_dimension, r.policy_name)));
                }
                Ok(json!({}))
            }
            AutoScalingCommand::DescribeScalingActivities(r) => {
                Self::check(&r.service_namespace, r.scalable_dimension.as_deref())?;
                let activities: Vec<ScalingActivity> = self
                    .state()
                    .activities
                    .values()
                    .rev()
                    .filter(|a| {
                        r.resource_id
                            .as_deref()
                            .is_none_or(|id| a.resource_id == id)
                    })
                    .take(MAX_ACTIVITIES)
                    .cloned()
                    .collect();
                Ok(json!({ "ScalingActivities": activities }))
            }
        }
    }
}

#[cfg(test)]
mod tests;
