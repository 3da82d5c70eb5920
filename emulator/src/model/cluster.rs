//! Clusters: a name, a status and counters derived from tasks and instances.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub cluster_arn: String,
    pub cluster_name: String,
    /// ACTIVE or INACTIVE (after DeleteCluster).
    pub status: super::ClusterStatus,
    /// Derived when described; stored as last computed.
    #[serde(default)]
    pub registered_container_instances_count: u32,
    #[serde(default)]
    pub running_tasks_count: u32,
    #[serde(default)]
    pub pending_tasks_count: u32,
    #[serde(default)]
    pub active_services_count: u32,
    /// PutClusterCapacityProviders (always described, empty when none).
    #[serde(default)]
    pub capacity_providers: Vec<String>,
    #[serde(default)]
    pub default_capacity_provider_strategy: Vec<super::capacity_provider::StrategyItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_defaults: Option<super::capacity_provider::ServiceConnectDefaults>,
    /// Stored; described with `include: SETTINGS`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<super::request::ClusterSetting>,
    /// Only in answers that `include` TAGS (kept in the store's tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<super::request::Tag>,
}
