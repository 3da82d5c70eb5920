//! A local stand-in for AWS ECS on the local Docker engine: the same task
//! definitions, the same `aws ecs ...` commands, real containers.
//!
//! # Layout
//!
//! The ECS concepts are mirrored across layers (firecracker style):
//!
//! - [`model`]: the resources in their AWS JSON shapes: task definitions
//!   (with validation), tasks and their lifecycle, clusters, container
//!   instances, ARNs, request shapes, and the stack file `up` loads.
//! - [`control`]: the control plane. [`control::Command`] is what every
//!   request becomes; [`control::Engine`] handles it in one `match`, keeps
//!   the state, and runs one reconcile worker per live task applying the
//!   pure [`control::task::plan`]; [`control::placement`] picks instances.
//!   ECS services: the pure [`control::service::plan`] (desired count,
//!   rolling deployments, self-healing, circuit breaker) applied by
//!   [`control::scheduler::Scheduler`], which registers task host ports in
//!   target groups ([`control::targets`], over the embedded `alb`) and
//!   drains them before a task stops; [`control::autoscaling`] is
//!   Application Auto Scaling's target tracking.
//! - [`runtime`]: `trait ContainerRuntime` (object-safe, `Arc<dyn>`);
//!   [`runtime::docker`] is the only code that talks to Docker,
//!   [`runtime::testing`] the in-memory fake for unit tests.
//! - [`api`]: the AWS JSON 1.1 endpoint (`X-Amz-Target`), one `ApiError`
//!   rendering the AWS error shape; [`api::ecs`] maps ECS operations,
//!   [`api::service`] the ECS service operations, [`api::autoscaling`]
//!   Application Auto Scaling (`AnyScaleFrontendService.*`).
//! - [`store`]: durable state in the data directory, written atomically.
//! - [`cli`]: the `emulator` command line (`up`, `down`, `ps`, ...).
//! - [`app`]: wiring: [`app::start`] / [`run`] bring everything up and
//!   shut it down.
//!
//! Hooking in services and target groups: subscribe to
//! [`control::Engine::subscribe`] (task status changes with host ports in
//! `containers[].networkBindings`) or register a [`control::TaskHook`],
//! awaited at ACTIVATING (register targets) and DEACTIVATING (drain before
//! any container is stopped).

pub mod api;
pub mod app;
pub mod cli;
pub mod control;
pub mod model;
pub mod runtime;
pub mod store;

pub use app::{run, start, Config, RunError, Running};
