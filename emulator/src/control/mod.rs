//! The control plane: domain commands, placement and the task reconciler.
//!
//! - [`command`]: the [`Command`] enum every API request becomes, its
//!   [`Reply`] and the [`EngineError`]s it can fail with.
//! - [`placement`]: pure placement of a task on container instances.
//! - [`task`]: pure `plan(task, definition, observed) -> Vec<Step>`.
//! - [`engine`]: the [`Engine`] holding state, handling commands in one
//!   `match`, and running one reconcile worker per live task that applies
//!   the plan's steps through the runtime.
//!
//! - [`service`]: pure `plan(service, observed) -> Vec<Step>` for ECS
//!   services (desired count, rolling deployments, self-healing, circuit
//!   breaker); [`scheduler`] applies it through the engine and
//!   [`targets`] (the load balancer behind a trait), and handles the
//!   service operations.
//! - [`autoscaling`]: Application Auto Scaling target tracking acting on
//!   services' desired counts (pure [`autoscaling::decide`]).
//! - [`logs`]: CloudWatch Logs over containers' output (live from the
//!   runtime, archived when a container is removed).
//! - [`secrets`]: SSM parameters and Secrets Manager secrets, and the
//!   resolution of task definitions' `secrets` at container creation.

pub mod autoscaling;
pub mod command;
pub mod elb;
pub mod engine;
pub mod logs;
pub mod placement;
pub mod scheduler;
pub mod secrets;
pub mod service;
pub mod targets;
pub mod task;

pub use command::{Command, EngineError, Reply};
pub use engine::{Engine, EngineConfig, TaskEvent, TaskHook};
