//! Capacity providers (CreateCapacityProvider ... PutClusterCapacityProviders)
//! and the capacity provider strategies of clusters and RunTask, in ECS's
//! JSON shapes.

use serde::{Deserialize, Serialize};

use super::request::{Page, Tag};

/// The built-in providers every account has.
pub const FARGATE_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

/// A capacity provider created by CreateCapacityProvider (stored by name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProvider {
    pub capacity_provider_arn: String,
    pub name: String,
    /// ACTIVE, or INACTIVE once deleted.
    pub status: String,
    /// The cluster of a Managed Instances provider (cluster-scoped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling_group_provider: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_instances_provider: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_status_reason: Option<String>,
    /// EC2_AUTOSCALING or MANAGED_INSTANCES (FARGATE* are built in).
    #[serde(rename = "type")]
    pub kind: String,
    /// Only in answers (kept in the store's tags).
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// One item of a capacity provider strategy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StrategyItem {
    pub capacity_provider: String,
    #[serde(default)]
    pub weight: i64,
    #[serde(default)]
    pub base: i64,
}

/// A cluster's Service Connect default namespace (an ARN when described).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectDefaults {
    pub namespace: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCapacityProvider {
    /// The same members as an update, and tags.
    #[serde(flatten)]
    pub provider: UpdateCapacityProvider,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCapacityProvider {
    pub name: String,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub auto_scaling_group_provider: Option<serde_json::Value>,
    #[serde(default)]
    pub managed_instances_provider: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteCapacityProvider {
    pub capacity_provider: String,
    #[serde(default)]
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutClusterCapacityProviders {
    pub cluster: String,
    pub capacity_providers: Vec<String>,
    pub default_capacity_provider_strategy: Vec<StrategyItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeCapacityProviders {
    #[serde(default)]
    pub capacity_providers: Vec<String>,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(flatten)]
    pub page: Page,
}

/// The capacity-related members of a CreateCluster / UpdateCluster body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCapacity {
    #[serde(default)]
    pub capacity_providers: Option<Vec<String>>,
    #[serde(default)]
    pub default_capacity_provider_strategy: Option<Vec<StrategyItem>>,
    #[serde(default)]
    pub service_connect_defaults: Option<ServiceConnectDefaults>,
}

/// The capacity-related members of a RunTask body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskCapacity {
    #[serde(default)]
    pub capacity_provider_strategy: Option<Vec<StrategyItem>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServicesByNamespace {
    pub namespace: String,
    #[serde(flatten)]
    pub page: Page,
}
