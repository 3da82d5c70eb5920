//! ECS service deployments and service revisions (the 2024 API over the
//! rolling deployments the scheduler performs), and the request shapes of
//! ListServiceDeployments, DescribeServiceDeployments,
//! DescribeServiceRevisions and StopServiceDeployment.
//!
//! Each deployment the scheduler starts (CreateService, an UpdateService
//! with a new task definition or `forceNewDeployment`) is one
//! [`ServiceDeployment`] record in the store, holding the
//! [`ServiceRevision`] it rolls out. The record names the scheduler's own
//! deployment (`ecs-svc/...`) it follows; its fields not in ECS's shape
//! are bookkeeping, never rendered.

use serde::{Deserialize, Serialize};

use super::service::{DeploymentConfiguration, LoadBalancer};

pub const PENDING: &str = "PENDING";
pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const SUCCESSFUL: &str = "SUCCESSFUL";
pub const STOPPED: &str = "STOPPED";
pub const ROLLBACK_IN_PROGRESS: &str = "ROLLBACK_IN_PROGRESS";
pub const ROLLBACK_SUCCESSFUL: &str = "ROLLBACK_SUCCESSFUL";
pub const ROLLBACK_FAILED: &str = "ROLLBACK_FAILED";

/// Every `ServiceDeploymentStatus` ECS knows.
pub const STATUSES: &[&str] = &[
    PENDING,
    SUCCESSFUL,
    STOPPED,
    "STOP_REQUESTED",
    IN_PROGRESS,
    "ROLLBACK_REQUESTED",
    ROLLBACK_IN_PROGRESS,
    ROLLBACK_SUCCESSFUL,
    ROLLBACK_FAILED,
];

/// How many deployment records a service keeps at most (the oldest
/// finished ones go first).
pub const KEPT_PER_SERVICE: usize = 50;

/// One service revision: what a deployment runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRevision {
    pub service_revision_arn: String,
    pub service_arn: String,
    pub cluster_arn: String,
    pub task_definition: String,
    pub launch_type: String,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    #[serde(default)]
    pub container_images: Vec<ContainerImage>,
    pub created_at: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerImage {
    pub container_name: String,
    pub image: String,
}

/// A revision in a deployment, with its task counts (rendered live).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSummary {
    pub arn: String,
    #[serde(default)]
    pub requested_task_count: u32,
    #[serde(default)]
    pub running_task_count: u32,
    #[serde(default)]
    pub pending_task_count: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    pub reason: String,
    pub started_at: f64,
    pub service_revision_arn: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreakerState {
    /// TRIGGERED, MONITORING, MONITORING_COMPLETE or DISABLED.
    pub status: String,
    pub failure_count: u32,
    pub threshold: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeployment {
    pub service_deployment_arn: String,
    pub service_arn: String,
    pub cluster_arn: String,
    pub created_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<f64>,
    pub updated_at: f64,
    #[serde(default)]
    pub source_service_revisions: Vec<RevisionSummary>,
    pub target_service_revision: RevisionSummary,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub deployment_configuration: DeploymentConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    pub deployment_circuit_breaker: CircuitBreakerState,
    /// Bookkeeping: the scheduler's deployment (`ecs-svc/...`) rolling
    /// the target revision out.
    pub deployment_id: String,
    /// Bookkeeping: the scheduler's deployments of the source revisions.
    #[serde(default)]
    pub source_deployment_ids: Vec<String>,
    /// Bookkeeping: the scheduler's deployment a rollback goes back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_deployment_id: Option<String>,
    /// Bookkeeping: the revision this deployment made (its target).
    pub revision: ServiceRevision,
}

impl ServiceDeployment {
    /// Not finished yet: IN_PROGRESS (or PENDING) or rolling back.
    pub fn is_active(&self) -> bool {
        matches!(
            self.status.as_str(),
            PENDING | IN_PROGRESS | ROLLBACK_IN_PROGRESS
        )
    }

    /// ECS's `ServiceDeployment` shape: bookkeeping removed.
    pub fn view(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            for k in [
                "deploymentId",
                "sourceDeploymentIds",
                "rollbackDeploymentId",
                "revision",
            ] {
                o.remove(k);
            }
        }
        v
    }

    /// ECS's `ServiceDeploymentBrief` shape.
    pub fn brief(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "serviceDeploymentArn": self.service_deployment_arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": self.created_at,
            "targetServiceRevisionArn": self.target_service_revision.arn,
            "status": self.status,
        });
        if let Some(s) = self.started_at {
            v["startedAt"] = s.into();
        }
        if let Some(f) = self.finished_at {
            v["finishedAt"] = f.into();
        }
        if let Some(r) = &self.status_reason {
            v["statusReason"] = r.clone().into();
        }
        v
    }
}

/// The ARN suffix ECS gives a deployment or revision of a service:
/// `<cluster>/<service>/<id>`, the id being the digits of the scheduler's
/// deployment id.
pub fn resource_suffix(service_arn: &str, deployment_id: &str) -> String {
    let path = service_arn.split_once(":service/").map_or("", |(_, p)| p);
    let id = deployment_id.rsplit('/').next().unwrap_or(deployment_id);
    format!("{path}/{id}")
}

// ------------------------------------------------------------- requests

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAtFilter {
    #[serde(default)]
    pub before: Option<f64>,
    #[serde(default)]
    pub after: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServiceDeployments {
    pub service: String,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub status: Vec<String>,
    #[serde(default)]
    pub created_at: Option<CreatedAtFilter>,
    #[serde(flatten)]
    pub page: super::request::Page,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeServiceDeployments {
    pub service_deployment_arns: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeServiceRevisions {
    pub service_revision_arns: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopServiceDeployment {
    pub service_deployment_arn: String,
    #[serde(default)]
    pub stop_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContinueServiceDeployment {
    pub service_deployment_arn: String,
    pub hook_id: String,
    #[serde(default)]
    pub action: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_names_cluster_service_and_id_and_view_hides_bookkeeping() {
        let s = resource_suffix(
            "arn:aws:ecs:us-east-1:1:service/c/web",
            "ecs-svc/0123456789012345678",
        );
        assert_eq!(s, "c/web/0123456789012345678");
        let d = ServiceDeployment {
            deployment_id: "ecs-svc/1".into(),
            status: IN_PROGRESS.into(),
            ..Default::default()
        };
        let v = d.view();
        assert!(v.get("deploymentId").is_none() && v.get("revision").is_none());
        assert!(d.is_active());
        assert_eq!(d.brief()["status"], IN_PROGRESS);
    }
}
