//! The ECS resources in their AWS JSON shapes (serde, camelCase).
//!
//! These types are both the wire shapes of the API and the durable state:
//! a task definition written for real ECS loads unchanged, and what
//! `DescribeTasks` returns is what the store holds.

pub mod account;
pub mod agent;
pub mod arn;
pub mod autoscaling;
pub mod capacity_provider;
pub mod cluster;
pub mod container_instance;
pub mod ec2;
pub mod ecr;
pub mod elb;
pub mod logs;
pub mod request;
pub mod secrets;
pub mod service;
pub mod service_deployment;
pub mod stack;
pub mod task;
pub mod task_definition;
pub mod task_set;

pub use cluster::Cluster;
pub use container_instance::{Attribute, ContainerInstance, Resource};
pub use stack::Stack;
pub use task::{Container, NetworkBinding, StopCode, Task, TaskStatus};
pub use task_definition::{ContainerDefinition, TaskDefinition, TaskDefinitionError};

macro_rules! status_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            #[default]
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The AWS spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the AWS spelling.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum!(
    /// A cluster's `status` (the ones the emulator reaches).
    ClusterStatus { Active = "ACTIVE", Inactive = "INACTIVE" }
);
status_enum!(
    /// A container instance's `status`.
    InstanceStatus { Active = "ACTIVE", Draining = "DRAINING", Inactive = "INACTIVE" }
);
status_enum!(
    /// A service's `status`: DRAINING while being deleted.
    ServiceStatus { Active = "ACTIVE", Draining = "DRAINING", Inactive = "INACTIVE" }
);

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
