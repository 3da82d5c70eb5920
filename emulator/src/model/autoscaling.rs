//! Application Auto Scaling resources for ECS services, in their AWS JSON
//! shapes (PascalCase, as that API spells them): scalable targets,
//! target-tracking scaling policies and scaling activities.
//!
//! They are also the durable state ([`AutoScalingState`]); the policies are
//! acted on by [`crate::autoscaling`].

use serde::{Deserialize, Serialize};

/// The only dimension the emulator scales.
pub const ECS_DESIRED_COUNT: &str = "ecs:service:DesiredCount";
pub const CPU_METRIC: &str = "ECSServiceAverageCPUUtilization";
pub const MEMORY_METRIC: &str = "ECSServiceAverageMemoryUtilization";
pub const REQUESTS_METRIC: &str = "ALBRequestCountPerTarget";
/// Activities kept per scalable target.
pub const MAX_ACTIVITIES: usize = 100;

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
    pub target_tracking_scaling_policy_configuration: TargetTracking,
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
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeScalableTargets {
    pub service_namespace: String,
    #[serde(default)]
    pub resource_ids: Vec<String>,
    #[serde(default)]
    pub scalable_dimension: Option<String>,
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
}
