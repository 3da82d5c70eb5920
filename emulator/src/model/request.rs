//! The ECS request shapes the API accepts (AWS JSON, camelCase). Unknown
//! fields are ignored; a required field that is missing, or a field of the
//! wrong type, is refused by serde with a message naming it.

use serde::Deserialize;

use super::task_definition::PlacementConstraint;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCluster {
    #[serde(default)]
    pub cluster_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeClusters {
    #[serde(default)]
    pub clusters: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteCluster {
    pub cluster: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionRef {
    pub task_definition: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitions {
    #[serde(default)]
    pub family_prefix: Option<String>,
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTask {
    #[serde(default)]
    pub cluster: Option<String>,
    pub task_definition: String,
    #[serde(default)]
    pub count: Option<i64>,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub launch_type: Option<String>,
    #[serde(default)]
    pub placement_constraints: Vec<PlacementConstraint>,
    #[serde(default)]
    pub placement_strategy: Vec<serde_json::Value>,
    #[serde(default)]
    pub overrides: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTask {
    #[serde(default)]
    pub cluster: Option<String>,
    pub task_definition: String,
    pub container_instances: Vec<String>,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub overrides: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTask {
    #[serde(default)]
    pub cluster: Option<String>,
    pub task: String,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTasks {
    #[serde(default)]
    pub cluster: Option<String>,
    pub tasks: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasks {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default)]
    pub desired_status: Option<String>,
    #[serde(default)]
    pub container_instance: Option<String>,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub service_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListContainerInstances {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeContainerInstances {
    #[serde(default)]
    pub cluster: Option<String>,
    pub container_instances: Vec<String>,
}

/// `RegisterContainerInstance`, with two emulator extensions
/// (`instanceType`, `availabilityZone`) so a simulated host is one call.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterContainerInstance {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub total_resources: Vec<super::Resource>,
    #[serde(default)]
    pub attributes: Vec<super::Attribute>,
}
