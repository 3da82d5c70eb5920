//! Amazon ECS: the operations, the task reconciler and the service
//! scheduler.
//!
//! - [`wire`]: the JSON 1.1 side (`AmazonEC2ContainerServiceV20141113.*`):
//!   requests into [`Command`]s (services: [`scheduler::ServiceCommand`]),
//!   replies out; [`command`] holds the typed operations and [`EngineError`].
//! - The operations, on the [`Engine`]: `clusters`, `container_instances`,
//!   `task_definitions`, `tasks`, `capacity_providers` (with
//!   `cluster_capacity`: clusters' providers and strategies, RunTask's
//!   strategy), `agent` (the container agent's reports,
//!   UpdateContainerAgent, ListServicesByNamespace); `services` for the
//!   service operations on the [`scheduler::Scheduler`].
//! - [`engine`]: the [`Engine`] (store, events, hooks) and `worker`, one
//!   reconcile worker per live task applying the pure [`task_plan::plan`]
//!   through the runtime; [`placement`] picks instances; [`pull`] says
//!   where a task definition's image comes from (the emulator's ECR for
//!   ECR URIs) and `task_images` gets a task's images before its
//!   containers, as the agent pulls them.
//! - [`service_plan`]: pure `plan(service, observed) -> steps` (desired
//!   count, rolling deployments, self-healing, circuit breaker), applied by
//!   the [`scheduler`] loop through [`targets`] (the load balancer behind a
//!   trait).

mod account;
mod agent;
mod capacity_providers;
mod cluster_capacity;
mod clusters;
pub mod command;
mod container_instances;
mod deployments;
pub mod engine;
mod instance_health;
pub mod placement;
pub mod pull;
pub mod scheduler;
pub mod service_plan;
mod services;
mod services_stack;
mod tags;
pub mod targets;
mod task_definitions;
mod task_images;
pub mod task_plan;
mod task_sets;
mod tasks;
pub mod wire;
mod worker;

pub use command::{Command, EngineError, Reply};
pub use engine::{Engine, EngineConfig, TaskEvent, TaskHook};
