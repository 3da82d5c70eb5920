//! Clusters: CreateCluster, DescribeClusters, ListClusters, DeleteCluster,
//! UpdateCluster, UpdateClusterSettings.

use super::command::{EngineError, Reply};
use super::engine::Engine;
use super::tags::{add_tags, tags_of, validate_tags};
use crate::model::arn::{self};
use crate::model::request;
use crate::model::ClusterStatus;
use crate::model::{Cluster, Failure, TaskStatus};

impl Engine {
    /// The short name of an ACTIVE cluster (`default` when none is given).
    pub(crate) fn cluster_name(&self, cluster: Option<&str>) -> Result<String, EngineError> {
        let name = arn::short_name(cluster.unwrap_or("default")).to_string();
        let state = self.snapshot();
        match state.clusters.get(&name) {
            Some(c) if c.status == ClusterStatus::Active => Ok(name),
            _ => Err(EngineError::ClusterNotFound(name)),
        }
    }

    pub(super) async fn create_cluster(
        &self,
        r: request::CreateCluster,
    ) -> Result<Reply, EngineError> {
        let name = r.cluster_name.as_deref().unwrap_or("default");
        validate_tags(&r.tags)?;
        validate_settings(&r.settings)?;
        let ok = !name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(EngineError::InvalidParameter(format!(
                "Invalid cluster name '{name}': up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
            )));
        }
        let arn = self.inner.config.partition.cluster(name);
        self.mutate(|s| {
            let c = s
                .clusters
                .entry(name.to_string())
                .or_insert_with(|| Cluster {
                    cluster_arn: arn,
                    cluster_name: name.to_string(),
                    status: ClusterStatus::Active,
                    ..Default::default()
                });
            if c.status == ClusterStatus::Inactive {
                // A deleted cluster made again starts without providers.
                c.capacity_providers.clear();
                c.default_capacity_provider_strategy.clear();
                c.service_connect_defaults = None;
            }
            c.status = ClusterStatus::Active;
            if !r.settings.is_empty() {
                c.settings = r.settings.clone();
            }
            let arn = c.cluster_arn.clone();
            add_tags(s, &arn, &r.tags)
        })
        .await??;
        self.cluster_view(name)
            .map(Reply::Cluster)
            .ok_or_else(|| EngineError::ClusterNotFound(name.to_string()))
    }

    pub(super) fn cluster_view(&self, name: &str) -> Option<Cluster> {
        let state = self.snapshot();
        let mut c = state.clusters.get(name)?.clone();
        c.registered_container_instances_count = state
            .container_instances
            .values()
            .filter(|i| i.cluster_name() == name)
            .count() as u32;
        let tasks = || state.tasks.values().filter(|t| t.cluster_name() == name);
        c.running_tasks_count = tasks()
            .filter(|t| t.status() == TaskStatus::Running)
            .count() as u32;
        c.pending_tasks_count = tasks().filter(|t| t.status() < TaskStatus::Running).count() as u32;
        c.active_services_count = state
            .services
            .values()
            .filter(|s| {
                s.cluster_arn == c.cluster_arn && s.status == crate::model::ServiceStatus::Active
            })
            .count() as u32;
        Some(c)
    }

    pub(super) fn describe_clusters(&self, names: Vec<String>, include: &[String]) -> Reply {
        let with = |what: &str| include.iter().any(|i| i == what);
        let mut clusters = Vec::new();
        let mut failures = Vec::new();
        for n in names {
            match self.cluster_view(arn::short_name(&n)) {
                Some(mut c) => {
                    if with("TAGS") {
                        c.tags = self.read(|s| tags_of(s, &c.cluster_arn));
                    }
                    if !with("SETTINGS") {
                        c.settings.clear();
                    }
                    clusters.push(c)
                }
                None => failures.push(Failure {
                    arn: Some(if n.starts_with("arn:") {
                        n.clone()
                    } else {
                        self.inner.config.partition.cluster(&n)
                    }),
                    reason: "MISSING".into(),
                    detail: None,
                }),
            }
        }
        Reply::Clusters { clusters, failures }
    }

    pub(super) async fn delete_cluster(&self, cluster: &str) -> Result<Reply, EngineError> {
        let name = self.cluster_name(Some(cluster))?;
        // Checked and changed in one write: no task can slip in between.
        self.mutate(|s| {
            if s.container_instances
                .values()
                .any(|i| i.cluster_name() == name)
            {
                return Err(EngineError::ClusterContainsInstances);
            }
            if s.tasks
                .values()
                .any(|t| t.cluster_name() == name && t.status() != TaskStatus::Stopped)
            {
                return Err(EngineError::ClusterContainsTasks);
            }
            if let Some(c) = s.clusters.get_mut(&name) {
                c.status = ClusterStatus::Inactive;
            }
            Ok(())
        })
        .await??;
        self.cluster_view(&name)
            .map(Reply::Cluster)
            .ok_or(EngineError::ClusterNotFound(name))
    }

    pub(super) async fn update_cluster(
        &self,
        r: request::UpdateCluster,
    ) -> Result<Reply, EngineError> {
        let name = self.cluster_name(Some(&r.cluster))?;
        validate_settings(&r.settings)?;
        self.mutate(|s| {
            if let Some(c) = s.clusters.get_mut(&name) {
                for setting in &r.settings {
                    c.settings.retain(|x| x.name != setting.name);
                    c.settings.push(setting.clone());
                }
            }
        })
        .await?;
        self.cluster_view(&name)
            .map(Reply::Cluster)
            .ok_or(EngineError::ClusterNotFound(name))
    }
}

/// The settings ECS knows: `containerInsights` (enabled, disabled, enhanced).
fn validate_settings(settings: &[request::ClusterSetting]) -> Result<(), EngineError> {
    for s in settings {
        if s.name != "containerInsights" {
            return Err(EngineError::InvalidParameter(format!(
                "Unknown cluster setting '{}' (expected containerInsights).",
                s.name
            )));
        }
        if !["enabled", "disabled", "enhanced"].contains(&s.value.as_str()) {
            return Err(EngineError::InvalidParameter(format!(
                "Invalid containerInsights value '{}' (expected enabled, disabled or enhanced).",
                s.value
            )));
        }
    }
    Ok(())
}
