//! Service Auto Scaling: the Application Auto Scaling operations for ECS
//! services and the loop that acts on their policies and schedules.
//!
//! Every evaluation period the loop
//!
//! - runs the scheduled actions that came due (`scheduled`): each sets
//!   the scalable target's min/max capacity, then the service's desired
//!   count is brought within them;
//! - measures each target-tracking policy's metric for its service
//!   (`ECSServiceAverageCPUUtilization` from real container stats,
//!   `ALBRequestCountPerTarget` from the balancer's per-target request
//!   counters) and asks the pure [`decide`] for a new desired count within
//!   the scalable target's min/max, honouring the scale-out and scale-in
//!   cooldowns.
//!
//! Step scaling policies are stored and described as AWS does; what
//! invokes them in AWS is a CloudWatch alarm, which the emulator does not
//! have, so they act when [`AutoScaling::execute_step_policy`] (the
//! emulator-only `ExecuteScalingPolicy` operation) reports an alarm's
//! breach ([`step`]).
//!
//! A change goes to the service through [`Scheduler::set_desired_count`]
//! and is recorded as a scaling activity in AWS's words.

mod metrics;
mod paging;
mod policies;
pub mod schedule;
mod scheduled;
pub mod step;
mod targets;
pub mod wire;

use crate::model::ServiceStatus;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::db::state::activity_key;
use crate::db::State;
use crate::ecs::scheduler::Scheduler;
use crate::model::autoscaling::{
    self as asg, parse_resource_id, AutoScalingState, DeleteScalingPolicy, DeleteScheduledAction,
    DeregisterScalableTarget, DescribeScalableTargets, DescribeScalingActivities,
    DescribeScalingPolicies, DescribeScheduledActions, ExecuteScalingPolicy, ListTagsForResource,
    PutScalingPolicy, PutScheduledAction, RegisterScalableTarget, ScalableTarget, ScalingActivity,
    ScalingPolicy, TagResource, UntagResource, ECS_DESIRED_COUNT, MAX_ACTIVITIES,
};
use crate::model::now_epoch;

/// The `X-Amz-Target` prefix of Application Auto Scaling.
pub const TARGET_PREFIX: &str = "AnyScaleFrontendService";

#[derive(Debug, Clone)]
pub struct AutoScalingConfig {
    /// How often policies and scheduled actions are evaluated (CloudWatch:
    /// one minute).
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
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    InvalidNextToken(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("the change could not be stored: {0}")]
    Store(#[from] crate::db::DbError),
}

impl AutoScalingError {
    pub fn aws_type(&self) -> &'static str {
        match self {
            AutoScalingError::Validation(_) => "ValidationException",
            AutoScalingError::ObjectNotFound(_) => "ObjectNotFoundException",
            AutoScalingError::ResourceNotFound(_) => "ResourceNotFoundException",
            AutoScalingError::InvalidNextToken(_) => "InvalidNextTokenException",
            AutoScalingError::TooManyTags(_) => "TooManyTagsException",
            AutoScalingError::LimitExceeded(_) => "LimitExceededException",
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

fn no_target(resource_id: &str, dimension: &str) -> AutoScalingError {
    AutoScalingError::ObjectNotFound(format!(
        "No scalable target registered for service namespace: ecs, resource ID: {resource_id}, scalable dimension: {dimension}"
    ))
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
    PutScheduledAction(PutScheduledAction),
    DescribeScheduledActions(DescribeScheduledActions),
    DeleteScheduledAction(DeleteScheduledAction),
    TagResource(TagResource),
    UntagResource(UntagResource),
    ListTagsForResource(ListTagsForResource),
    /// Emulator-only: an alarm's breach invoking a step scaling policy.
    ExecuteScalingPolicy(ExecuteScalingPolicy),
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

/// A scaling activity that succeeded, now.
fn activity(
    resource_id: &str,
    description: String,
    cause: String,
    message: String,
) -> ScalingActivity {
    let now = now_epoch();
    ScalingActivity {
        activity_id: uuid::Uuid::new_v4().to_string(),
        service_namespace: "ecs".into(),
        resource_id: resource_id.to_string(),
        scalable_dimension: ECS_DESIRED_COUNT.into(),
        description,
        cause,
        start_time: now,
        end_time: now,
        status_code: "Successful".into(),
        status_message: Some(message),
    }
}

/// Keeps an activity, dropping the oldest beyond the bound.
fn push_activity(s: &mut AutoScalingState, activity: ScalingActivity) {
    tracing::info!(resource_id = %activity.resource_id, "{} ({})", activity.description, activity.cause);
    s.activities.insert(activity_key(&activity), activity);
    while s.activities.len() > MAX_ACTIVITIES * 10 {
        let oldest = s.activities.keys().next().cloned();
        if let Some(k) = oldest {
            s.activities.remove(&k);
        }
    }
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
        self.update_all(|s| f(&mut s.autoscaling)).await
    }

    /// A write that also touches what is not Auto Scaling's (tags).
    async fn update_all<R>(&self, f: impl FnOnce(&mut State) -> R) -> Result<R, AutoScalingError> {
        Ok(self.inner.scheduler.engine().update_state(f).await?)
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

    /// One evaluation: the scheduled actions due now, then every
    /// target-tracking policy.
    pub async fn evaluate(&self) {
        self.run_scheduled(now_epoch()).await;
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

    /// The service's ARN and desired count, when it is active.
    fn desired(&self, resource_id: &str) -> Option<(String, u32)> {
        let arn = self.service_arn(resource_id)?;
        let n = self
            .inner
            .scheduler
            .engine()
            .snapshot()
            .services
            .get(&arn)
            .filter(|s| s.status == ServiceStatus::Active)
            .map(|s| s.desired_count)?;
        Some((arn, n))
    }

    /// Time since the target's last scale-out and last scaling of any kind.
    fn since(&self, resource_id: &str) -> (Option<Duration>, Option<Duration>) {
        let now = Instant::now();
        let m = self.memory();
        (
            m.last_scale_out.get(resource_id).map(|t| now - *t),
            m.last_any.get(resource_id).map(|t| now - *t),
        )
    }

    /// Sets the desired count a policy decided on; remembers when (for
    /// cooldowns) and records the activity. `false`: the service is gone.
    async fn scale(
        &self,
        resource_id: &str,
        service_arn: &str,
        from: u32,
        to: u32,
        cause: String,
    ) -> Result<bool, AutoScalingError> {
        if !self
            .inner
            .scheduler
            .set_desired_count(service_arn, to)
            .await?
        {
            return Ok(false);
        }
        {
            let now = Instant::now();
            let mut m = self.memory();
            if to > from {
                m.last_scale_out.insert(resource_id.to_string(), now);
            }
            m.last_any.insert(resource_id.to_string(), now);
        }
        self.record(
            resource_id,
            format!("Setting desired count to {to}."),
            cause,
        )
        .await?;
        Ok(true)
    }

    async fn act(
        &self,
        p: &ScalingPolicy,
        target: &ScalableTarget,
        metric: f64,
    ) -> Result<(), AutoScalingError> {
        let Some(tt) = &p.target_tracking_scaling_policy_configuration else {
            return Ok(());
        };
        let Some((arn, current)) = self.desired(&p.resource_id) else {
            return Ok(());
        };
        let (since_out, since_any) = self.since(&p.resource_id);
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
        let alarm = if n > current { "AlarmHigh" } else { "AlarmLow" };
        let cause = format!(
            "monitor alarm TargetTracking-{}-{alarm} in state ALARM triggered policy {} (metric {metric:.1}, target {})",
            p.resource_id, p.policy_name, tt.target_value
        );
        self.scale(&p.resource_id, &arn, current, n, cause).await?;
        Ok(())
    }

    /// Brings the service's desired count within `min..=max` (after the
    /// bounds changed), recording the activity.
    async fn clamp_desired(
        &self,
        resource_id: &str,
        min: u32,
        max: u32,
        cause: impl FnOnce(u32) -> String,
    ) -> Result<(), AutoScalingError> {
        let Some((arn, current)) = self.desired(resource_id) else {
            return Ok(());
        };
        let clamped = current.clamp(min, max.max(min));
        if clamped != current
            && self
                .inner
                .scheduler
                .set_desired_count(&arn, clamped)
                .await?
        {
            self.record(
                resource_id,
                format!("Setting desired count to {clamped}."),
                cause(clamped),
            )
            .await?;
        }
        Ok(())
    }

    async fn record(
        &self,
        resource_id: &str,
        description: String,
        cause: String,
    ) -> Result<(), AutoScalingError> {
        let a = activity(
            resource_id,
            description,
            cause,
            "Successfully set desired count.".into(),
        );
        self.update(|s| push_activity(s, a)).await
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
        use AutoScalingCommand as C;
        match cmd {
            C::RegisterScalableTarget(r) => self.register_target(r).await,
            C::DescribeScalableTargets(r) => self.describe_targets(r),
            C::DeregisterScalableTarget(r) => self.deregister_target(r).await,
            C::PutScalingPolicy(r) => self.put_policy(r).await,
            C::DescribeScalingPolicies(r) => self.describe_policies(r),
            C::DeleteScalingPolicy(r) => self.delete_policy(r).await,
            C::DescribeScalingActivities(r) => self.describe_activities(r),
            C::PutScheduledAction(r) => self.put_scheduled(r).await,
            C::DescribeScheduledActions(r) => self.describe_scheduled(r),
            C::DeleteScheduledAction(r) => self.delete_scheduled(r).await,
            C::TagResource(r) => self.tag_resource(r).await,
            C::UntagResource(r) => self.untag_resource(r).await,
            C::ListTagsForResource(r) => self.list_tags(r),
            C::ExecuteScalingPolicy(r) => self.execute_step_policy(r).await,
        }
    }

    fn describe_activities(
        &self,
        r: DescribeScalingActivities,
    ) -> Result<serde_json::Value, AutoScalingError> {
        Self::check(&r.service_namespace, r.scalable_dimension.as_deref())?;
        let st = self.state();
        let all = st.activities.iter().rev().filter(|(_, a)| {
            r.resource_id
                .as_deref()
                .is_none_or(|id| a.resource_id == id)
        });
        let (page, next) = paging::page(all.map(|(k, a)| (k.clone(), a.clone())), &r.paging, true)?;
        Ok(reply("ScalingActivities", page, next))
    }
}

/// A Describe reply: the items under `key`, and `NextToken` when more.
fn reply<T: serde::Serialize>(key: &str, items: Vec<T>, next: Option<String>) -> serde_json::Value {
    let mut v = serde_json::json!({ key: items });
    if let Some(t) = next {
        v["NextToken"] = serde_json::Value::String(t);
    }
    v
}

#[cfg(test)]
mod tests;
