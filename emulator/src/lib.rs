//! A local stand-in for AWS ECS and its load balancer on the local Docker
//! engine: the same task definitions, the same `aws ecs ...` commands, real
//! containers.
//!
//! # Layout
//!
//! One module per AWS service, each with the same inner shape (moto-style:
//! the behaviour beside its own state; LocalStack-style: typed requests and
//! replies per operation):
//!
//! - `wire` parses a request into a typed operation and renders the typed
//!   reply in that protocol's shape (JSON 1.1 or Query/XML);
//! - the operations, one file per resource, work on the [`db`] store;
//! - one error enum per service, mapped onto the AWS error codes of that
//!   service's model (client faults 400, store faults 500).
//!
//! The services:
//!
//! - [`ecs`]: clusters, container instances, task definitions, tasks (one
//!   reconcile worker per live task applying the pure
//!   [`ecs::task_plan::plan`]), placement, and services: the pure
//!   [`ecs::service_plan::plan`] applied by the [`ecs::scheduler`] loop,
//!   which registers task host ports in target groups ([`ecs::targets`])
//!   and drains them before a task stops.
//! - [`elbv2`]: load balancers, target groups, listeners and rules over the
//!   `alb` crate (in a balancer process of its own, or in this one).
//! - [`autoscaling`]: Application Auto Scaling: target tracking, step
//!   policies and scheduled actions, acted on.
//! - [`logs`]: CloudWatch Logs over the containers' output.
//! - [`secrets`]: SSM Parameter Store and Secrets Manager, and the
//!   resolution of task definitions' `secrets`.
//! - [`ecr`]: ECR repositories over a real image registry (Debian's
//!   `docker-registry` as a child process) behind the emulator's own
//!   registry endpoint, which `docker login` and `docker push` talk to.
//! - [`ec2`]: the few EC2 reads set-up scripts make (default VPC, subnets,
//!   zones, instances, security groups as data).
//!
//! Beside them:
//!
//! - [`db`]: the store: every resource as a record in a persistent map;
//!   readers take the last durable snapshot without waiting, writers append
//!   the records they changed to a journal, made durable by group commit
//!   before the caller hears back; compaction into a snapshot off every
//!   lock. [`db::DataDir`] locks the data directory for the emulator's
//!   life.
//! - [`api`]: one HTTP endpoint; the router picks the service from the
//!   `X-Amz-Target` prefix (JSON 1.1) or the Query `Action` (ELBv2).
//! - [`model`]: the resources in their AWS shapes, ARNs ([`model::arn`]).
//! - [`runtime`]: `trait ContainerRuntime`; [`runtime::docker`] is the only
//!   code that talks to Docker, [`runtime::testing`] the in-memory fake.
//! - [`console`]: the web console on `GET /`: embedded HTML/CSS/JS that
//!   reads through the AWS APIs and follows a server-sent event stream of
//!   store and target-health changes.
//! - [`cli`]: the `emulator` command line (`up`, `down`, `ps`, ...).
//! - [`app`]: wiring: [`app::start`] / [`run`] bring everything up and shut
//!   it down.
//!
//! Hooking in: subscribe to [`ecs::Engine::subscribe`] (task status
//! changes with host ports in `containers[].networkBindings`) or register
//! an [`ecs::TaskHook`], awaited at ACTIVATING (register targets) and
//! DEACTIVATING (drain before any container is stopped).

pub mod api;
pub mod app;
pub mod autoscaling;
pub mod cli;
pub mod console;
pub mod db;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod elbv2;
pub mod logs;
pub mod model;
pub mod page;
pub mod runtime;
pub mod secrets;

pub use app::{run, start, Config, RunError, Running};
