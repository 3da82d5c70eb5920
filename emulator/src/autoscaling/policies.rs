//! Scaling policies: PutScalingPolicy, DescribeScalingPolicies,
//! DeleteScalingPolicy for target tracking and step scaling, and the
//! emulator's stand-in for the alarm that invokes a step policy.

use serde_json::{json, Value};

use super::{no_target, paging, reply, step, validation, AutoScaling, AutoScalingError};
use crate::db::state::retain;
use crate::model::autoscaling::{
    DeleteScalingPolicy, DescribeScalingPolicies, ExecuteScalingPolicy, PutScalingPolicy,
    ScalingPolicy, CPU_METRIC, REQUESTS_METRIC, STEP_SCALING, TARGET_TRACKING,
};
use crate::model::now_epoch;

impl AutoScaling {
    pub(super) async fn put_policy(&self, r: PutScalingPolicy) -> Result<Value, AutoScalingError> {
        Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
        let name_len = r.policy_name.chars().count();
        if !(1..=256).contains(&name_len) || r.policy_name.chars().any(char::is_control) {
            return Err(validation(
                "PolicyName must be 1 to 256 printable characters.",
            ));
        }
        if !self.state().targets.contains_key(&r.resource_id) {
            return Err(no_target(&r.resource_id, &r.scalable_dimension));
        }
        // AWS's default policy type is StepScaling.
        let kind = r.policy_type.clone().unwrap_or_else(|| STEP_SCALING.into());
        let p = self.inner.scheduler.engine().config().partition.clone();
        let (tt, steps, alarms) = match kind.as_str() {
            TARGET_TRACKING => {
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
                let alarm = |suffix: &str| {
                    let name = format!("TargetTracking-{}-{suffix}", r.resource_id);
                    json!({"AlarmName": name, "AlarmARN": p.alarm(&name)})
                };
                (Some(tt), None, vec![alarm("AlarmHigh"), alarm("AlarmLow")])
            }
            STEP_SCALING => {
                let steps = r.step_scaling_policy_configuration.clone().ok_or_else(|| {
                    validation(
                        "StepScalingPolicyConfiguration is required for a StepScaling policy.",
                    )
                })?;
                step::validate(&steps).map_err(validation)?;
                // Alarms are CloudWatch's to attach: none until one does.
                (None, Some(steps), Vec::new())
            }
            other => {
                return Err(validation(format!(
                    "Unsupported PolicyType '{other}' (TargetTrackingScaling or StepScaling)."
                )))
            }
        };
        let policy = ScalingPolicy {
            policy_arn: p.scaling_policy(
                &uuid::Uuid::new_v4().to_string(),
                &r.resource_id,
                &r.policy_name,
            ),
            policy_name: r.policy_name.clone(),
            service_namespace: "ecs".into(),
            resource_id: r.resource_id.clone(),
            scalable_dimension: super::ECS_DESIRED_COUNT.into(),
            policy_type: kind,
            target_tracking_scaling_policy_configuration: tt,
            step_scaling_policy_configuration: steps,
            alarms: alarms.clone(),
            creation_time: now_epoch(),
        };
        let arn = self
            .update(|s| {
                // Same name on the same resource: replaced, ARN kept.
                let old = s
                    .policies
                    .values()
                    .find(|x| x.resource_id == r.resource_id && x.policy_name == r.policy_name)
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
        if alarms.is_empty() {
            return Ok(json!({ "PolicyARN": arn }));
        }
        Ok(json!({ "PolicyARN": arn, "Alarms": alarms }))
    }

    pub(super) fn describe_policies(
        &self,
        r: DescribeScalingPolicies,
    ) -> Result<Value, AutoScalingError> {
        Self::check(&r.service_namespace, r.scalable_dimension.as_deref())?;
        if r.policy_names.len() > 50 {
            return Err(validation("PolicyNames can name at most 50 policies."));
        }
        let st = self.state();
        let policies = st
            .policies
            .iter()
            .filter(|(_, p)| {
                r.resource_id
                    .as_deref()
                    .is_none_or(|id| p.resource_id == id)
            })
            .filter(|(_, p)| r.policy_names.is_empty() || r.policy_names.contains(&p.policy_name))
            .map(|(k, p)| (k.clone(), p.clone()));
        let (page, next) = paging::page(policies, &r.paging, false)?;
        Ok(reply("ScalingPolicies", page, next))
    }

    pub(super) async fn delete_policy(
        &self,
        r: DeleteScalingPolicy,
    ) -> Result<Value, AutoScalingError> {
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

    /// Step scaling, acted on. In AWS a step scaling policy runs when a
    /// CloudWatch alarm it is attached to goes into ALARM; the emulator
    /// has no CloudWatch, so nothing invokes a step policy by itself. This
    /// is the alarm's part, explicit: the caller (the emulator-only
    /// `ExecuteScalingPolicy` operation, modelled on EC2 Auto Scaling's
    /// `ExecutePolicy`) says what the metric is and what the alarm's
    /// threshold is; the step that their difference falls in decides the
    /// new desired count, within the target's min/max, after the policy's
    /// cooldown (unless `HonorCooldown` is false) and unless dynamic
    /// scaling is suspended. A change is recorded as the activity AWS
    /// would record ("monitor alarm X in state ALARM triggered policy Y").
    pub async fn execute_step_policy(
        &self,
        r: ExecuteScalingPolicy,
    ) -> Result<Value, AutoScalingError> {
        Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
        let st = self.state();
        let target = st
            .targets
            .get(&r.resource_id)
            .ok_or_else(|| no_target(&r.resource_id, &r.scalable_dimension))?;
        let policy = st
            .policies
            .values()
            .find(|p| p.resource_id == r.resource_id && p.policy_name == r.policy_name)
            .ok_or_else(|| {
                AutoScalingError::ObjectNotFound(format!(
                    "No scaling policy found for service namespace: ecs, resource ID: {}, scalable dimension: {}: policy name: {}",
                    r.resource_id, r.scalable_dimension, r.policy_name
                ))
            })?;
        let Some(config) = &policy.step_scaling_policy_configuration else {
            return Err(validation(format!(
                "Policy {} is a {} policy: only StepScaling policies are executed.",
                r.policy_name, policy.policy_type
            )));
        };
        if !r.metric_value.is_finite() || !r.breach_threshold.is_finite() {
            return Err(validation(
                "MetricValue and BreachThreshold must be numbers.",
            ));
        }
        let (arn, current) = self
            .desired(&r.resource_id)
            .ok_or_else(|| validation(format!("ECS service doesn't exist: {}", r.resource_id)))?;
        let not_scaled = |code: &str| {
            Ok(json!({"Scaled": false, "DesiredCount": current, "NotScaledReason": code}))
        };
        let delta = r.metric_value - r.breach_threshold;
        let Some(wanted) = step::wanted_capacity(current, delta, config) else {
            return not_scaled("NoStepAdjustmentMatched");
        };
        let (min, max) = (target.min_capacity, target.max_capacity);
        let n = (wanted.clamp(i64::from(min), i64::from(max.max(min)))) as u32;
        if n == current {
            return not_scaled(if wanted > i64::from(max) {
                "AlreadyAtMaxCapacity"
            } else if wanted < i64::from(min) {
                "AlreadyAtMinCapacity"
            } else {
                "AlreadyAtDesiredCapacity"
            });
        }
        let s = &target.suspended_state;
        if (n > current && s.dynamic_scaling_out_suspended)
            || (n < current && s.dynamic_scaling_in_suspended)
        {
            return not_scaled("DynamicScalingSuspended");
        }
        if r.honor_cooldown.unwrap_or(true) {
            let cd = std::time::Duration::from_secs(
                config.cooldown.unwrap_or(step::DEFAULT_COOLDOWN).max(0) as u64,
            );
            let (since_out, since_any) = self.since(&r.resource_id);
            let since = if n > current { since_out } else { since_any };
            if since.is_some_and(|d| d < cd) {
                return not_scaled("InCooldown");
            }
        }
        let alarm = r
            .alarm_name
            .clone()
            .unwrap_or_else(|| "ExecuteScalingPolicy".into());
        let cause = format!(
            "monitor alarm {alarm} in state ALARM triggered policy {} (metric {}, threshold {})",
            r.policy_name, r.metric_value, r.breach_threshold
        );
        if !self.scale(&r.resource_id, &arn, current, n, cause).await? {
            return Err(validation(format!(
                "ECS service doesn't exist: {}",
                r.resource_id
            )));
        }
        Ok(json!({"Scaled": true, "DesiredCount": n}))
    }
}
