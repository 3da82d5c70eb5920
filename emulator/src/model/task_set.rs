//! ECS task sets (services with the EXTERNAL deployment controller) in
//! their AWS shape, and the request shapes of the task set operations.
//! A service's task sets are kept in its record ([`super::service::Service::task_sets`]).

use serde::{Deserialize, Serialize};

use super::service::LoadBalancer;

pub const PRIMARY: &str = "PRIMARY";
pub const ACTIVE: &str = "ACTIVE";
pub const DRAINING: &str = "DRAINING";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scale {
    #[serde(default)]
    pub value: f64,
    #[serde(default = "percent")]
    pub unit: String,
}

fn percent() -> String {
    "PERCENT".into()
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            value: 0.0,
            unit: percent(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSet {
    /// `ecs-svc/` and 19 digits; its tasks' `startedBy`.
    pub id: String,
    pub task_set_arn: String,
    pub service_arn: String,
    pub cluster_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// PRIMARY, ACTIVE or DRAINING (deleted, its tasks stopping).
    pub status: String,
    pub task_definition: String,
    /// ceil(the service's desiredCount x scale%), kept current.
    pub computed_desired_count: u32,
    /// Derived from the tasks each time it is described.
    #[serde(default)]
    pub pending_count: u32,
    #[serde(default)]
    pub running_count: u32,
    pub created_at: f64,
    pub updated_at: f64,
    pub launch_type: String,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    #[serde(default)]
    pub service_registries: Vec<serde_json::Value>,
    pub scale: Scale,
    /// STEADY_STATE or STABILIZING.
    pub stability_status: String,
    pub stability_status_at: f64,
    /// Only in answers that `include` TAGS (kept in the store's tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<super::request::Tag>,
}

/// ECS's computed desired count: the service's desired count times the
/// scale, always rounded up.
pub fn computed_desired(desired: u32, scale: f64) -> u32 {
    let n = f64::from(desired) * scale / 100.0;
    // 4 x 33.3% is 1.332 tasks: 2; float noise (x.0000001) is no task.
    (n - 1e-9).ceil().max(0.0) as u32
}

// ------------------------------------------------------------- requests

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTaskSet {
    pub service: String,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    pub task_definition: String,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    #[serde(default)]
    pub service_registries: Vec<serde_json::Value>,
    #[serde(default)]
    pub launch_type: Option<String>,
    #[serde(default)]
    pub scale: Option<Scale>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub tags: Vec<super::request::Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTaskSets {
    #[serde(default)]
    pub cluster: Option<String>,
    pub service: String,
    #[serde(default)]
    pub task_sets: Option<Vec<String>>,
    #[serde(default)]
    pub include: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTaskSet {
    #[serde(default)]
    pub cluster: Option<String>,
    pub service: String,
    pub task_set: String,
    pub scale: Scale,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteTaskSet {
    #[serde(default)]
    pub cluster: Option<String>,
    pub service: String,
    pub task_set: String,
    #[serde(default)]
    pub force: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateServicePrimaryTaskSet {
    #[serde(default)]
    pub cluster: Option<String>,
    pub service: String,
    pub primary_task_set: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_desired_rounds_up() {
        assert_eq!(computed_desired(4, 50.0), 2);
        assert_eq!(computed_desired(4, 100.0), 4);
        assert_eq!(computed_desired(3, 50.0), 2);
        assert_eq!(computed_desired(4, 33.3), 2);
        assert_eq!(computed_desired(10, 10.0), 1);
        assert_eq!(computed_desired(4, 0.0), 0);
        assert_eq!(computed_desired(0, 100.0), 0);
    }
}
