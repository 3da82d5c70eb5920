//! A local Application Load Balancer with AWS ALB semantics, built on
//! hyper 1 / hyper-util: listeners, listener rules, target groups, active
//! health checks, draining, passive retry and CloudWatch-named metrics, all
//! changeable at runtime through cheap, cloneable handles.
//!
//! # Layout
//!
//! Modules are arranged in the order a request travels (linkerd2-proxy
//! style):
//!
//! - [`listener`]: the bound socket, connection limits (max connections,
//!   header size, header read timeout, idle timeout), the requests refused
//!   before routing (400, 405), the per-request entry; `connection` is a
//!   connection's request timing and a streamed body's idle timer.
//! - [`rule`]: conditions and actions, compiled into a priority-ordered
//!   route table swapped in atomically; [`wildcard`] is its `*`/`?` matcher.
//! - [`target_group`]: target selection (round robin, least outstanding
//!   requests, fail-open), registration, draining, the health check loop.
//! - [`target`]: one target's address, health flags, in-flight count and
//!   idle upstream keep-alive connections.
//! - [`health_check`]: settings, the pure health state machine, the probe.
//! - [`forward`]: header rewriting, passive retry, 502/503/504, bodies
//!   streamed under the idle timeout (408; 400 for a broken body); `upstream`
//!   opens the HTTP/1 connections (pooled per target) and sends on them.
//! - [`metrics`]: counters and Prometheus text.
//! - [`access_log`]: AWS-format access log lines, written in batches to
//!   files named like AWS's S3 keys by a writer thread per load balancer;
//!   the listener fills an entry per request (`listener::request_log`)
//!   only when the load balancer's `access_log` attribute is set.
//! - [`load_balancer`]: attributes, listener state and the
//!   [`LoadBalancerHandle`] / [`ListenerHandle`] control API.
//! - `balancer`: [`Alb`], the registry that owns load balancers and target
//!   groups, and [`AlbBuilder`], which wires the modules together (it hands
//!   the listener's accept loop down to the control API). A shadow balancer
//!   ([`Alb::shadow`]) has the same API and validation but runs nothing: no
//!   socket, no health check, no drain.
//! - [`desired`]: the declarative, serializable state of a whole balancer
//!   ([`Desired`]) and what applying it reported ([`ApplyReport`]);
//!   `reconcile` is [`Alb::apply_desired`], which brings the live balancer
//!   to such a state, and `export` is [`Alb::export`], the live
//!   configuration as such a state (a shadow balancer's, to send to the
//!   real one); [`admin`] serves it all over HTTP/JSON (`PUT /desired`,
//!   `GET /health`, ...) for a control plane in another process;
//!   `duration_ms` is the JSON spelling of durations.
//! - `io_threads`: the single-threaded I/O runtimes (see below).
//!
//! The modules form a one-way tree: none uses a module that uses it back
//! (`.ci/alb-tree-check` keeps it so). Bottom up: [`access_log`],
//! `connection`, `duration_ms`, `io_threads`, [`metrics`], [`wildcard`];
//! [`health_check`]; [`target`]; [`target_group`], `upstream`; [`rule`];
//! [`load_balancer`]; [`desired`], [`forward`]; [`listener`]; `balancer`;
//! [`admin`], `export`, `reconcile`; this crate root, which only declares and
//! re-exports.
//!
//! # Usage
//!
//! ```no_run
//! use alb::{Action, Alb, Condition, LoadBalancerAttributes, RuleConfig, Target, TargetGroupConfig};
//!
//! # async fn demo() -> anyhow::Result<()> {
//! let alb = Alb::new(); // inside a Tokio runtime
//! let node = alb.create_target_group("arn:tg/node", TargetGroupConfig::new(3000))?;
//! node.register_targets(&[Target::new("127.0.0.1", 3001)])?;
//! alb.create_target_group("arn:tg/client", TargetGroupConfig::new(3000))?;
//! let lb = alb.create_load_balancer("arn:lb/app", LoadBalancerAttributes::default())?;
//! let listener = lb
//!     .create_listener("arn:listener/80", "127.0.0.1:8080".parse()?, Action::forward("arn:tg/client"))
//!     .await?;
//! listener.create_rule(
//!     "arn:rule/1",
//!     RuleConfig {
//!         priority: 1,
//!         conditions: vec![Condition::PathPattern(vec!["/start".into(), "/ping".into()])],
//!         action: Action::forward("arn:tg/node"),
//!     },
//! )?;
//! for t in node.describe_target_health(None) {
//!     println!("{} {} {:?}", t.target.id, t.health.state, t.health.reason);
//! }
//! println!("{}", alb.render_prometheus());
//! alb.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! # Threads
//!
//! Inside a multi-thread runtime (the emulator), client connections and
//! their upstream connections are served on the balancer's own
//! single-threaded I/O runtimes, one thread per CPU, shared by every `Alb`
//! of the process: the accept loop hands connections out in turn, and a
//! request then never leaves its thread. Inside a current-thread runtime
//! everything runs on that runtime. [`AlbBuilder::dedicated_io_threads`]
//! overrides the choice.
//!
//! The standalone `alb` binary (`src/main.rs`) builds a static
//! configuration from command-line flags; see `alb --help`. It runs one
//! single-threaded balancer per CPU sharing the port with `SO_REUSEPORT`.
//! With `--admin ADDR` it instead runs one balancer (on a multi-thread
//! runtime, so with the I/O threads above) with no configuration, serving
//! the [`admin`] API on `ADDR` for a control plane to configure it.

pub mod access_log;
pub mod admin;
mod balancer;
mod connection;
pub mod desired;
mod duration_ms;
mod export;
pub mod forward;
pub mod health_check;
mod io_threads;
pub mod listener;
pub mod load_balancer;
pub mod metrics;
mod reconcile;
pub mod rule;
pub mod target;
pub mod target_group;
mod upstream;
pub mod wildcard;

pub use access_log::AccessLogConfig;
pub use balancer::{Alb, AlbBuilder};
pub use desired::{
    ApplyError, ApplyReport, Desired, DesiredListener, DesiredLoadBalancer, DesiredTarget,
    DesiredTargetGroup,
};
pub use forward::AlbBody;
pub use health_check::{
    HealthCheckConfig, HealthCheckError, HealthCheckPort, HealthProbe, HttpProbe, Matcher,
    ProbeOutcome, ProbeRequest, TargetHealth, TargetHealthReason, TargetHealthState,
};
pub use listener::ListenerError;
pub use load_balancer::{
    ListenerHandle, LoadBalancerAttributes, LoadBalancerError, LoadBalancerHandle,
};
pub use metrics::LoadBalancerCounts;
pub use rule::{
    Action, Condition, FixedResponseConfig, QueryStringPair, RedirectConfig, RedirectStatus,
    RuleConfig, RuleDescription, RuleError, WeightedTargetGroup,
};
pub use target::Target;
pub use target_group::{
    LoadBalancingAlgorithm, TargetGroupAttributes, TargetGroupConfig, TargetGroupError,
    TargetGroupHandle, TargetHealthDescription,
};
