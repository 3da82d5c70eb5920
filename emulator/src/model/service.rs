//! ECS services in their AWS JSON shapes: the service, its deployments and
//! its events, plus the request shapes of the service operations.
//!
//! A [`Service`] is both what `DescribeServices` returns and what the store
//! holds. Three fields are the scheduler's own bookkeeping
//! ([`Service::steady`], [`Service::launch_throttle`] and
//! [`Deployment::failed_task_arns`]); they are stored but never rendered
//! (see [`Service::view`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::task_definition::PlacementConstraint;

/// At most this many events are kept (and returned), newest first.
pub const MAX_EVENTS: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub service_arn: String,
    pub service_name: String,
    pub cluster_arn: String,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    /// ACTIVE, DRAINING (being deleted) or INACTIVE.
    pub status: super::ServiceStatus,
    pub desired_count: u32,
    /// Derived from the tasks each time the service is described.
    #[serde(default)]
    pub running_count: u32,
    #[serde(default)]
    pub pending_count: u32,
    #[serde(default)]
    pub launch_type: String,
    /// The PRIMARY deployment's task definition ARN.
    pub task_definition: String,
    #[serde(default)]
    pub deployment_configuration: DeploymentConfiguration,
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    /// Newest first, at most [`MAX_EVENTS`].
    #[serde(default)]
    pub events: Vec<ServiceEvent>,
    #[serde(default)]
    pub created_at: f64,
    #[serde(default)]
    pub placement_constraints: Vec<PlacementConstraint>,
    #[serde(default)]
    pub placement_strategy: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<u32>,
    #[serde(default)]
    pub scheduling_strategy: String,
    #[serde(default)]
    pub deployment_controller: serde_json::Value,
    /// TASK_DEFINITION, SERVICE or NONE: where its tasks' tags come from.
    #[serde(default = "none_propagation")]
    pub propagate_tags: String,
    #[serde(default, rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: bool,
    /// Only in answers that `include` TAGS (kept in the store's tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<super::request::Tag>,
    /// The task sets of a service with the EXTERNAL deployment controller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_sets: Vec<super::task_set::TaskSet>,
    /// Scheduler bookkeeping: the steady-state event was sent and nothing
    /// changed since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub steady: bool,
    /// Scheduler bookkeeping: tasks that keep failing to start hold back
    /// the next launches.
    #[serde(default, skip_serializing_if = "LaunchThrottle::is_clear")]
    pub launch_throttle: LaunchThrottle,
}

fn none_propagation() -> String {
    "NONE".into()
}

/// ECS's service throttle: when a service's tasks keep failing to start
/// (or stop right after starting), its next launches wait, longer after
/// each further failure; a task that runs healthy for a while, or a new
/// deployment, clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchThrottle {
    /// Launch failures in a row.
    #[serde(default)]
    pub failures: u32,
    /// Failed tasks whose stop was asked for up to this time (epoch
    /// seconds) are counted; kept across a reset so none counts twice.
    #[serde(default)]
    pub counted_until: f64,
    /// The current delay (seconds; 0: not throttled).
    #[serde(default)]
    pub delay_s: f64,
    /// No task is launched before this (epoch seconds).
    #[serde(default)]
    pub not_before: f64,
}

impl LaunchThrottle {
    pub fn is_clear(&self) -> bool {
        *self == LaunchThrottle::default()
    }

    /// Forgets the failures (the watermark stays).
    pub fn reset(&mut self) {
        *self = LaunchThrottle {
            counted_until: self.counted_until,
            ..LaunchThrottle::default()
        };
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    pub container_name: String,
    pub container_port: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    #[serde(default = "max_default")]
    pub maximum_percent: u32,
    #[serde(default = "min_default")]
    pub minimum_healthy_percent: u32,
    #[serde(default)]
    pub deployment_circuit_breaker: CircuitBreaker,
}

fn max_default() -> u32 {
    200
}
fn min_default() -> u32 {
    100
}

impl Default for DeploymentConfiguration {
    fn default() -> Self {
        DeploymentConfiguration {
            maximum_percent: 200,
            minimum_healthy_percent: 100,
            deployment_circuit_breaker: CircuitBreaker::default(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreaker {
    #[serde(default)]
    pub enable: bool,
    #[serde(default)]
    pub rollback: bool,
}

/// PRIMARY (the one being rolled out), ACTIVE (older ones still holding
/// tasks) or INACTIVE.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    pub desired_count: u32,
    #[serde(default)]
    pub pending_count: u32,
    #[serde(default)]
    pub running_count: u32,
    #[serde(default)]
    pub failed_tasks: u32,
    pub created_at: f64,
    pub updated_at: f64,
    #[serde(default)]
    pub launch_type: String,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state_reason: Option<String>,
    /// Scheduler bookkeeping: failed tasks already counted.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub failed_task_arns: BTreeSet<String>,
}

pub const PRIMARY: &str = "PRIMARY";
pub const ACTIVE: &str = "ACTIVE";
pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const COMPLETED: &str = "COMPLETED";
pub const FAILED: &str = "FAILED";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: String,
    pub created_at: f64,
    pub message: String,
}

impl Service {
    /// Whether the service (not deleted) runs or still names `arn`.
    pub fn uses_task_definition(&self, arn: &str) -> bool {
        self.status != super::ServiceStatus::Inactive
            && (self.task_definition == arn
                || self.deployments.iter().any(|d| d.task_definition == arn)
                || self.task_sets.iter().any(|t| t.task_definition == arn))
    }

    /// The task set with this id (or ARN).
    pub fn task_set(&self, id_or_arn: &str) -> Option<&super::task_set::TaskSet> {
        self.task_sets
            .iter()
            .find(|t| t.id == id_or_arn || t.task_set_arn == id_or_arn)
    }

    /// The load balancers a task of the service registers in: its task
    /// set's, or the service's.
    pub fn load_balancers_of(&self, task: &super::Task) -> &[LoadBalancer] {
        match task.started_by.as_deref().and_then(|id| self.task_set(id)) {
            Some(ts) => &ts.load_balancers,
            None => &self.load_balancers,
        }
    }

    /// Its deployments are the caller's (task sets), not the scheduler's.
    pub fn is_external(&self) -> bool {
        self.deployment_controller
            .get("type")
            .and_then(|t| t.as_str())
            == Some("EXTERNAL")
    }

    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status == PRIMARY)
    }

    pub fn primary_mut(&mut self) -> Option<&mut Deployment> {
        self.deployments.iter_mut().find(|d| d.status == PRIMARY)
    }

    pub fn deployment_mut(&mut self, id: &str) -> Option<&mut Deployment> {
        self.deployments.iter_mut().find(|d| d.id == id)
    }

    /// The cluster name (`service/<cluster>/<name>`).
    pub fn cluster_name(&self) -> &str {
        self.cluster_arn.rsplit('/').next().unwrap_or("")
    }

    /// The task group of the service's tasks (placement spreads on it).
    pub fn group(&self) -> String {
        format!("service:{}", self.service_name)
    }

    /// Adds an event (newest first, at most [`MAX_EVENTS`]) with the
    /// `(service NAME) ` prefix ECS puts on every message.
    pub fn push_event(&mut self, message: &str, now: f64) {
        self.events.insert(
            0,
            ServiceEvent {
                id: uuid::Uuid::new_v4().to_string(),
                created_at: now,
                message: format!("(service {}) {message}", self.service_name),
            },
        );
        self.events.truncate(MAX_EVENTS);
    }

    /// The shape `DescribeServices` returns: bookkeeping removed.
    pub fn view(&self) -> Service {
        let mut s = self.clone();
        s.steady = false;
        s.launch_throttle = LaunchThrottle::default();
        for d in &mut s.deployments {
            d.failed_task_arns.clear();
        }
        s
    }
}

/// A fresh deployment id, `ecs-svc/` and 19 digits as ECS makes them.
pub fn deployment_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10u128.pow(19);
    format!("ecs-svc/{n:019}")
}

/// ECS's circuit breaker threshold: half the desired count, rounded up,
/// clamped to 3..=200.
pub fn failure_threshold(desired: u32) -> u32 {
    desired.div_ceil(2).clamp(3, 200)
}

/// A service in the stack file: the `CreateService` shape, except that a
/// load balancer may name its target group (`targetGroupName`, from the
/// stack's `targetGroups`) instead of giving its ARN.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackService {
    pub service_name: String,
    /// Family, family:revision or ARN.
    pub task_definition: String,
    #[serde(default)]
    pub desired_count: u32,
    #[serde(default)]
    pub load_balancers: Vec<StackServiceLoadBalancer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackServiceLoadBalancer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    pub container_name: String,
    pub container_port: u16,
}

// ------------------------------------------------------------- requests

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateService {
    #[serde(default)]
    pub cluster: Option<String>,
    pub service_name: String,
    #[serde(default)]
    pub task_definition: Option<String>,
    #[serde(default)]
    pub desired_count: Option<u32>,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    #[serde(default)]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    #[serde(default)]
    pub health_check_grace_period_seconds: Option<u32>,
    #[serde(default)]
    pub placement_strategy: Vec<serde_json::Value>,
    #[serde(default)]
    pub placement_constraints: Vec<PlacementConstraint>,
    #[serde(default)]
    pub launch_type: Option<String>,
    #[serde(default)]
    pub scheduling_strategy: Option<String>,
    #[serde(default)]
    pub tags: Vec<super::request::Tag>,
    #[serde(default)]
    pub propagate_tags: Option<String>,
    #[serde(default, rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: bool,
    /// `{"type": "ECS" | "CODE_DEPLOY" | "EXTERNAL"}`.
    #[serde(default)]
    pub deployment_controller: Option<DeploymentController>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentController {
    #[serde(rename = "type", default)]
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateService {
    #[serde(default)]
    pub cluster: Option<String>,
    pub service: String,
    #[serde(default)]
    pub task_definition: Option<String>,
    #[serde(default)]
    pub desired_count: Option<u32>,
    #[serde(default)]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    #[serde(default)]
    pub health_check_grace_period_seconds: Option<u32>,
    #[serde(default)]
    pub force_new_deployment: bool,
    #[serde(default)]
    pub load_balancers: Option<Vec<LoadBalancer>>,
    #[serde(default)]
    pub placement_strategy: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeServices {
    #[serde(default)]
    pub cluster: Option<String>,
    pub services: Vec<String>,
    #[serde(default)]
    pub include: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServices {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(flatten)]
    pub page: super::request::Page,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteService {
    #[serde(default)]
    pub cluster: Option<String>,
    pub service: String,
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateContainerInstancesState {
    #[serde(default)]
    pub cluster: Option<String>,
    pub container_instances: Vec<String>,
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_threshold_is_half_clamped() {
        assert_eq!(failure_threshold(1), 3);
        assert_eq!(failure_threshold(2), 3);
        assert_eq!(failure_threshold(7), 4);
        assert_eq!(failure_threshold(10), 5);
        assert_eq!(failure_threshold(1000), 200);
    }

    #[test]
    fn events_are_newest_first_and_capped() {
        let mut s = Service {
            service_name: "s".into(),
            ..Default::default()
        };
        for i in 0..150 {
            s.push_event(&format!("e{i}"), i as f64);
        }
        assert_eq!(s.events.len(), MAX_EVENTS);
        assert_eq!(s.events[0].message, "(service s) e149");
    }

    #[test]
    fn view_hides_bookkeeping_and_defaults_apply() {
        let c: CreateService = serde_json::from_value(serde_json::json!({
            "serviceName": "s", "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}},
            "unknownField": 1
        }))
        .unwrap();
        let dc = c.deployment_configuration.unwrap();
        assert_eq!((dc.maximum_percent, dc.minimum_healthy_percent), (200, 100));
        let mut s = Service {
            steady: true,
            launch_throttle: LaunchThrottle {
                failures: 3,
                counted_until: 5.0,
                delay_s: 1.0,
                not_before: 6.0,
            },
            deployments: vec![Deployment {
                failed_task_arns: ["t".to_string()].into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let v = serde_json::to_value(s.view()).unwrap();
        assert!(v.get("steady").is_none());
        assert!(v.get("launchThrottle").is_none());
        let stored = serde_json::to_value(&s).unwrap();
        assert_eq!(stored["launchThrottle"]["failures"], 3);
        let back: Service = serde_json::from_value(stored).unwrap();
        assert_eq!(back.launch_throttle, s.launch_throttle);
        s.launch_throttle.reset();
        assert_eq!(s.launch_throttle.failures, 0);
        assert_eq!(s.launch_throttle.not_before, 0.0);
        assert_eq!(s.launch_throttle.counted_until, 5.0, "the watermark stays");
        assert!(v["deployments"][0].get("failedTaskArns").is_none());
        s.steady = false;
        assert!(deployment_id().starts_with("ecs-svc/"));
        assert_eq!(deployment_id().len(), "ecs-svc/".len() + 19);
    }
}
