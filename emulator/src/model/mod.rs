//! The ECS resources in their AWS JSON shapes (serde, camelCase).
//!
//! These types are both the wire shapes of the API and the durable state:
//! a task definition written for real ECS loads unchanged, and what
//! `DescribeTasks` returns is what the store holds.

pub mod arn;
pub mod autoscaling;
pub mod cluster;
pub mod container_instance;
pub mod elb;
pub mod request;
pub mod secrets;
pub mod service;
pub mod stack;
pub mod task;
pub mod task_definition;

pub use cluster::Cluster;
pub use container_instance::{Attribute, ContainerInstance, Resource};
pub use stack::Stack;
pub use task::{Container, NetworkBinding, StopCode, Task, TaskStatus};
pub use task_definition::{ContainerDefinition, TaskDefinition, TaskDefinitionError};

/// Seconds since the Unix epoch as a float, the timestamp shape of the AWS
/// JSON protocols.
pub fn now_epoch() -> f64 {
    let now = time::OffsetDateTime::now_utc();
    now.unix_timestamp_nanos() as f64 / 1e9
}

/// One entry of an ECS `failures` list.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
