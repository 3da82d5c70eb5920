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
//! Services (issue 5) fit as a second reconciler beside [`task`]: a pure
//! `plan(service, tasks, targets)` whose steps are "run a task", "stop a
//! task", "register target"; the engine's [`TaskHook`]s and
//! [`Engine::subscribe`] carry task RUNNING/STOPPED with their host ports.

pub mod command;
pub mod elb;
pub mod engine;
pub mod placement;
pub mod service;
pub mod task;

pub use command::{Command, EngineError, Reply};
pub use engine::{Engine, EngineConfig, TaskEvent, TaskHook};
