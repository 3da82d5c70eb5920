//! Application Auto Scaling resources for ECS services, in their AWS JSON
//! shapes (PascalCase, as that API spells them): scalable targets,
//! target-tracking and step scaling policies, scheduled actions and scaling
//! activities.
//!
//! They are also the durable state ([`AutoScalingState`]); the policies are
//! acted on by [`crate::autoscaling`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The only dimension the emulator scales.
pub const ECS_DESIRED_COUNT: &str = "ecs:service:DesiredCount";
pub const CPU_METRIC: &str = "ECSServiceAverageCPUUtilization";
pub const MEMORY_METRIC: &str = "ECSServiceAverageMemoryUtilization";
pub const REQUESTS_METRIC: &str = "ALBRequestCountPerTarget";
/// Activities kept per scalable target.
pub const MAX_ACTIVITIES: usize = 100;
pub const TARGET_TRACKING: &str = "TargetTrackingScaling";
pub const STEP_SCALING: &str = "StepScaling";
/// A page of a Describe call: at most (and by default) this many items.
pub const MAX_PAGE: usize = 50;
/// Tags a scalable target may carry.
pub const MAX_TAGS: usize = 50;

/// Everything Application Auto Scaling, durable.
pub use crate::db::state::AutoScalingState;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalableTarget {
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    pub min_capacity: u32,
    pub max_capacity: u32,
    #[serde(rename = "RoleARN", default)]
    pub role_arn: String,
    pub creation_time: f64,
    #[serde(rename = "ScalableTargetARN", default)]
    pub scalable_target_arn: String,
    #[serde(default)]
    pub suspended_state: SuspendedState,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SuspendedState {
    #[serde(default)]
    pub dynamic_scaling_in_suspended: bool,
    #[serde(default)]
    pub dynamic_scaling_out_suspended: bool,
    #[serde(default)]
    pub scheduled_scaling_suspended: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingPolicy {
    #[serde(rename = "PolicyARN")]
    pub policy_arn: String,
    pub policy_name: String,
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    pub policy_type: String,
    /// Set for `TargetTrackingScaling` policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking_scaling_policy_configuration: Option<TargetTracking>,
    /// Set for `StepScaling` policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_scaling_policy_configuration: Option<StepScaling>,
    #[serde(default)]
    pub alarms: Vec<serde_json::Value>,
    pub creation_time: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetTracking {
    pub target_value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_metric_specification: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<u32>,
    #[serde(default)]
    pub disable_scale_in: bool,
}

/// `StepScalingPolicyConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepScaling {
    /// `ChangeInCapacity`, `PercentChangeInCapacity` or `ExactCapacity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment_type: Option<String>,
    #[serde(default)]
    pub step_adjustments: Vec<StepAdjustment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_adjustment_magnitude: Option<i64>,
    /// Seconds (AWS default: 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<i64>,
    /// `Average`, `Minimum` or `Maximum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_aggregation_type: Option<String>,
}

/// One step: bounds relative to the alarm's breach threshold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepAdjustment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    pub scaling_adjustment: i64,
}

/// A scheduled action as DescribeScheduledActions shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduledAction {
    pub scheduled_action_name: String,
    #[serde(rename = "ScheduledActionARN")]
    pub scheduled_action_arn: String,
    pub service_namespace: String,
    pub schedule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub resource_id: String,
    pub scalable_dimension: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalable_target_action: Option<ScalableTargetAction>,
    pub creation_time: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalableTargetAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_capacity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<u32>,
}

/// A scheduled action as stored: the action, and where its schedule
/// stands, so that an occurrence runs once even across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduledActionRecord {
    #[serde(flatten)]
    pub action: ScheduledAction,
    /// When the action was last put (created or updated), epoch seconds:
    /// occurrences before it are not run.
    #[serde(rename = "emulatorPutTime", default)]
    pub put_time: f64,
    /// The last occurrence run (or skipped while scheduled scaling was
    /// suspended), epoch seconds.
    #[serde(
        rename = "emulatorLastOccurrence",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_occurrence: Option<f64>,
}

/// The key of a scheduled action: by resource, then name (names cannot
/// hold `|`).
pub fn scheduled_action_key(resource_id: &str, name: &str) -> String {
    format!("{resource_id}|{name}")
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PredefinedMetric {
    pub predefined_metric_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingActivity {
    pub activity_id: String,
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    pub description: String,
    pub cause: String,
    pub start_time: f64,
    pub end_time: f64,
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

// ------------------------------------------------------------- requests

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterScalableTarget {
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    #[serde(default)]
    pub min_capacity: Option<u32>,
    #[serde(default)]
    pub max_capacity: Option<u32>,
    #[serde(rename = "RoleARN", default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub suspended_state: Option<SuspendedState>,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
}

/// `MaxResults` and `NextToken` of the Describe calls.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Paging {
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeScalableTargets {
    pub service_namespace: String,
    #[serde(default)]
    pub resource_ids: Vec<String>,
    #[serde(default)]
    pub scalable_dimension: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeregisterScalableTarget {
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutScalingPolicy {
    pub policy_name: String,
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    #[serde(default)]
    pub policy_type: Option<String>,
    #[serde(default)]
    pub target_tracking_scaling_policy_configuration: Option<TargetTracking>,
    #[serde(default)]
    pub step_scaling_policy_configuration: Option<StepScaling>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeScalingPolicies {
    pub service_namespace: String,
    #[serde(default)]
    pub policy_names: Vec<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub scalable_dimension: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteScalingPolicy {
    pub policy_name: String,
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeScalingActivities {
    pub service_namespace: String,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub scalable_dimension: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutScheduledAction {
    pub service_namespace: String,
    pub scheduled_action_name: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub start_time: Option<f64>,
    #[serde(default)]
    pub end_time: Option<f64>,
    #[serde(default)]
    pub scalable_target_action: Option<ScalableTargetAction>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeScheduledActions {
    pub service_namespace: String,
    #[serde(default)]
    pub scheduled_action_names: Vec<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub scalable_dimension: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteScheduledAction {
    pub service_namespace: String,
    pub scheduled_action_name: String,
    pub resource_id: String,
    pub scalable_dimension: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResource {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResource {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResource {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
}

/// The emulator's stand-in for the CloudWatch alarm that invokes a step
/// scaling policy (not an AWS operation; see
/// [`crate::autoscaling::AutoScaling::execute_step_policy`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteScalingPolicy {
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    pub policy_name: String,
    /// The aggregated metric value the alarm saw.
    pub metric_value: f64,
    /// The alarm's threshold.
    pub breach_threshold: f64,
    /// Wait out the policy's cooldown as an alarm would (default true).
    #[serde(default)]
    pub honor_cooldown: Option<bool>,
    /// The alarm named in the activity's cause.
    #[serde(default)]
    pub alarm_name: Option<String>,
}

/// `service/<cluster>/<service>` split into cluster and service names.
pub fn parse_resource_id(resource_id: &str) -> Option<(&str, &str)> {
    let rest = resource_id.strip_prefix("service/")?;
    let (cluster, service) = rest.split_once('/')?;
    (!cluster.is_empty() && !service.is_empty() && !service.contains('/'))
        .then_some((cluster, service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_name_cluster_and_service() {
        assert_eq!(parse_resource_id("service/c/s"), Some(("c", "s")));
        assert_eq!(parse_resource_id("service/c"), None);
        assert_eq!(parse_resource_id("table/t"), None);
    }

    #[test]
    fn policy_parses_the_cli_shape() {
        let p: PutScalingPolicy = serde_json::from_value(serde_json::json!({
            "PolicyName": "cpu", "ServiceNamespace": "ecs", "ResourceId": "service/c/s",
            "ScalableDimension": ECS_DESIRED_COUNT, "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0,
              "PredefinedMetricSpecification": {"PredefinedMetricType": CPU_METRIC},
              "ScaleOutCooldown": 5, "ScaleInCooldown": 10}
        }))
        .unwrap();
        let tt = p.target_tracking_scaling_policy_configuration.unwrap();
        assert_eq!(tt.scale_in_cooldown, Some(10));
        assert_eq!(
            tt.predefined_metric_specification
                .unwrap()
                .predefined_metric_type,
            CPU_METRIC
        );
    }

    #[test]
    fn stored_scheduled_actions_and_older_policies_read_back() {
        let rec = ScheduledActionRecord {
            action: ScheduledAction {
                scheduled_action_name: "a".into(),
                schedule: "rate(5 minutes)".into(),
                start_time: Some(10.0),
                scalable_target_action: Some(ScalableTargetAction {
                    min_capacity: Some(1),
                    max_capacity: None,
                }),
                ..Default::default()
            },
            put_time: 5.0,
            last_occurrence: Some(7.0),
        };
        let json = serde_json::to_value(&rec).unwrap();
        assert_eq!(json["emulatorLastOccurrence"], 7.0);
        assert_eq!(
            json["ScalableTargetAction"],
            serde_json::json!({"MinCapacity": 1})
        );
        let back: ScheduledActionRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, rec);
        // A policy stored before step scaling: target tracking, no Option.
        let old: ScalingPolicy = serde_json::from_value(serde_json::json!({
            "PolicyARN": "arn", "PolicyName": "p", "ServiceNamespace": "ecs",
            "ResourceId": "service/c/s", "ScalableDimension": ECS_DESIRED_COUNT,
            "PolicyType": "TargetTrackingScaling", "CreationTime": 1.0,
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0}
        }))
        .unwrap();
        assert_eq!(
            old.target_tracking_scaling_policy_configuration
                .map(|t| t.target_value),
            Some(50.0)
        );
        assert!(old.step_scaling_policy_configuration.is_none());
    }
}
