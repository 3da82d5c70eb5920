//! The ECS request shapes the API accepts (AWS JSON, camelCase). Unknown
//! fields are ignored; a required field that is missing, or a field of the
//! wrong type, is refused by serde with a message naming it.

use serde::Deserialize;

use super::task_definition::PlacementConstraint;

/// `maxResults` / `nextToken` of the List operations.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    #[serde(default)]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub next_token: Option<String>,
}

/// An ECS tag (`key`, `value`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// A cluster setting (`containerInsights`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSetting {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCluster {
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub settings: Vec<ClusterSetting>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeClusters {
    #[serde(default)]
    pub clusters: Option<Vec<String>>,
    /// TAGS, SETTINGS, STATISTICS, ...
    #[serde(default)]
    pub include: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListClusters {
    #[serde(flatten)]
    pub page: Page,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCluster {
    pub cluster: String,
    #[serde(default)]
    pub settings: Vec<ClusterSetting>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResource {
    pub resource_arn: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResource {
    pub resource_arn: String,
    #[serde(default)]
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceArn {
    pub resource_arn: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterContainerInstance {
    #[serde(default)]
    pub cluster: Option<String>,
    pub container_instance: String,
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTaskProtection {
    #[serde(default)]
    pub cluster: Option<String>,
    pub tasks: Vec<String>,
    pub protection_enabled: bool,
    #[serde(default)]
    pub expires_in_minutes: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetTaskProtection {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub tasks: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteTaskDefinitions {
    pub task_definitions: Vec<String>,
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
    #[serde(default)]
    pub include: Vec<String>,
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
    #[serde(flatten)]
    pub page: Page,
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
    pub tags: Vec<Tag>,
    /// TASK_DEFINITION or SERVICE: the task gets those tags too.
    #[serde(default)]
    pub propagate_tags: Option<String>,
    /// `aws:ecs:clusterName` (and `aws:ecs:serviceName`) on the task.
    #[serde(default, rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: bool,
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
    #[serde(default)]
    pub include: Vec<String>,
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
    #[serde(flatten)]
    pub page: Page,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListContainerInstances {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(flatten)]
    pub page: Page,
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
    /// What the ECS agent sends: the EC2 instance identity document (JSON
    /// text with `availabilityZone`, `instanceType`, `instanceId`).
    #[serde(default)]
    pub instance_identity_document: Option<String>,
    /// The agent's version (UpdateContainerAgent needs it).
    #[serde(default)]
    pub version_info: Option<super::agent::VersionInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutAccountSetting {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub principal_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteAccountSetting {
    pub name: String,
    #[serde(default)]
    pub principal_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListAccountSettings {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub principal_arn: Option<String>,
    #[serde(default)]
    pub effective_settings: bool,
    #[serde(flatten)]
    pub page: Page,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutAttributes {
    #[serde(default)]
    pub cluster: Option<String>,
    pub attributes: Vec<super::account::TargetAttribute>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListAttributes {
    #[serde(default)]
    pub cluster: Option<String>,
    pub target_type: String,
    #[serde(default)]
    pub attribute_name: Option<String>,
    #[serde(default)]
    pub attribute_value: Option<String>,
    #[serde(flatten)]
    pub page: Page,
}

pub use super::capacity_provider::DescribeCapacityProviders;
