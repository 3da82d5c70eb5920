//! Tasks: running instances of a task definition, with the ECS lifecycle.
//!
//! The lifecycle is PROVISIONING -> PENDING -> ACTIVATING -> RUNNING ->
//! DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED. `lastStatus` only
//! moves forward (see [`TaskStatus::can_move_to`]); `desiredStatus` is RUNNING
//! or STOPPED.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    /// Statuses only move forward; a task may skip steps (a task that fails
    /// to start goes from PENDING straight to STOPPING) but never goes back.
    pub fn can_move_to(self, next: TaskStatus) -> bool {
        next > self
    }

    /// Whether the task still holds resources on its instance.
    pub fn holds_resources(self) -> bool {
        self != TaskStatus::Stopped
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ECS `stopCode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopCode {
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
    SpotInterruption,
    TerminationNotice,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub container_instance_arn: String,
    pub last_status: Option<TaskStatus>,
    pub desired_status: Option<TaskStatus>,
    #[serde(default)]
    pub cpu: String,
    #[serde(default)]
    pub memory: String,
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default)]
    pub launch_type: String,
    /// The provider of the strategy the task was placed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_name: Option<String>,
    #[serde(default)]
    pub availability_zone: String,
    #[serde(default)]
    pub created_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_started_at: Option<f64>,
    /// When the last image pull of the task ended (set once its images
    /// are there: the containers are created after it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_stopped_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<StopCode>,
    /// HEALTHY, UNHEALTHY or UNKNOWN (from the essential containers).
    #[serde(default)]
    pub health_status: String,
    #[serde(default)]
    pub version: u64,
    /// The Docker endpoint its containers run on (its container instance's
    /// `emulator.docker-host` at placement; `None`: the local engine). Kept
    /// with the task, so a task outlives its instance's deregistration;
    /// not part of ECS's Task shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_host: Option<String>,
    /// Scale-in protection (UpdateTaskProtection): the time it ends (epoch
    /// seconds); not part of ECS's Task shape (GetTaskProtection shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_until: Option<f64>,
    /// Only in answers that `include` TAGS (kept in the store's tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<super::request::Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<serde_json::Value>,
}

impl Task {
    /// The task id (last ARN segment).
    pub fn id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }

    pub fn cluster_name(&self) -> &str {
        crate::model::container_instance::cluster_of(&self.task_arn)
    }

    pub fn status(&self) -> TaskStatus {
        self.last_status.unwrap_or(TaskStatus::Provisioning)
    }

    pub fn wants_running(&self) -> bool {
        self.desired_status == Some(TaskStatus::Running)
    }

    pub fn container(&self, name: &str) -> Option<&Container> {
        self.containers.iter().find(|c| c.name == name)
    }

    pub fn container_mut(&mut self, name: &str) -> Option<&mut Container> {
        self.containers.iter_mut().find(|c| c.name == name)
    }

    /// Moves `lastStatus` forward (never back). Returns whether it moved.
    pub fn advance(&mut self, next: TaskStatus) -> bool {
        if self.status().can_move_to(next) || self.last_status.is_none() {
            self.last_status = Some(next);
            self.version += 1;
            let now = crate::model::now_epoch();
            match next {
                TaskStatus::Running => self.started_at = Some(now),
                TaskStatus::Stopped => self.stopped_at = Some(now),
                _ => {}
            }
            true
        } else {
            false
        }
    }

    /// Host ports bound to a container port of a container (for target
    /// groups).
    pub fn host_port(&self, container: &str, container_port: u16) -> Option<u16> {
        self.container(container)?
            .network_bindings
            .iter()
            .find(|b| b.container_port == container_port)
            .map(|b| b.host_port)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub container_arn: String,
    pub task_arn: String,
    pub name: String,
    pub image: String,
    /// The manifest digest of the image the container runs (`sha256:...`),
    /// when known (pulled from a registry, or an image with a repo digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// PENDING, RUNNING or STOPPED.
    pub last_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub network_bindings: Vec<NetworkBinding>,
    /// HEALTHY, UNHEALTHY or UNKNOWN.
    #[serde(default)]
    pub health_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_id: Option<String>,
    #[serde(default)]
    pub cpu: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<String>,
    #[serde(default)]
    pub essential: bool,
    /// The container's address on its engine's network, when the
    /// emulator's balancer can reach it there (not in ECS's Container
    /// shape: left out of answers, as `essential`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkBinding {
    #[serde(rename = "bindIP")]
    pub bind_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub protocol: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_only_moves_forward() {
        use TaskStatus::*;
        let all = [
            Provisioning,
            Pending,
            Activating,
            Running,
            Deactivating,
            Stopping,
            Deprovisioning,
            Stopped,
        ];
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                assert_eq!(a.can_move_to(*b), j > i, "{a} -> {b}");
            }
            assert_eq!(TaskStatus::parse(a.as_str()), Some(*a));
        }
        let mut t = Task::default();
        assert!(t.advance(Pending));
        assert!(t.advance(Running));
        assert!(!t.advance(Pending));
        assert_eq!(t.status(), Running);
        assert!(t.started_at.is_some());
        assert!(t.advance(Stopped));
        assert!(!t.advance(Stopping));
    }

    #[test]
    fn bindings_serialize_with_the_aws_bind_ip_name() {
        let b = NetworkBinding {
            bind_ip: "127.0.0.1".into(),
            container_port: 3000,
            host_port: 32768,
            protocol: "tcp".into(),
        };
        let j = serde_json::to_value(&b).unwrap();
        assert_eq!(j["bindIP"], "127.0.0.1");
        assert_eq!(j["hostPort"], 32768);
    }
}
