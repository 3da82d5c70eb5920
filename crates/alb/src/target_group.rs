//! Target groups: the registered targets, their selection, registration and
//! draining, and each target's health check loop.
//!
//! The target list is an `ArcSwap<Vec<Arc<TargetRuntime>>>`: the request
//! path loads it lock-free and picks a target (round robin or least
//! outstanding requests, healthy and enabled targets only, every enabled
//! target if none is healthy: AWS's fail-open). Writers (register,
//! deregister, drain completion) serialize on a small mutex and publish a new
//! list, pingora-style. Registration spawns the target's health loop;
//! deregistration clears `enabled` at once and spawns a drain task that
//! removes the target after the deregistration delay or as soon as its last
//! in-flight request finishes, whichever comes first.
//!
//! A shadow balancer's groups (no runtime) run none of those tasks: targets
//! keep the health they were registered with, and a deregistered target
//! leaves at once, as if its drain had ended.

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use http::uri::Authority;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::duration_ms;
use crate::health_check::{
    HealthCheckConfig, HealthCheckError, HealthCheckPort, HealthMachine, HealthProbe, ProbeOutcome,
    ProbeRequest, TargetHealth, TargetHealthState,
};
use crate::metrics::TargetGroupMetrics;
use crate::target::{Target, TargetRuntime, UPSTREAM_IDLE_TIMEOUT};

/// Why a target group operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetGroupError {
    #[error("target group {0} already exists")]
    Exists(String),
    #[error("target group {0} not found")]
    NotFound(String),
    #[error("target group {target_group_arn} is in use by listener {listener_arn}")]
    InUse {
        target_group_arn: String,
        listener_arn: String,
    },
    #[error("invalid health check for target group {target_group_arn}: {source}")]
    HealthCheck {
        target_group_arn: String,
        #[source]
        source: HealthCheckError,
    },
    #[error("invalid target {id}:{port}: {why}")]
    InvalidTarget { id: String, port: u16, why: String },
}

/// `load_balancing.algorithm.type` (in JSON its AWS value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadBalancingAlgorithm {
    #[default]
    RoundRobin,
    LeastOutstandingRequests,
}

impl LoadBalancingAlgorithm {
    /// The AWS attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadBalancingAlgorithm::RoundRobin => "round_robin",
            LoadBalancingAlgorithm::LeastOutstandingRequests => "least_outstanding_requests",
        }
    }
}

impl FromStr for LoadBalancingAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "round_robin" => Ok(LoadBalancingAlgorithm::RoundRobin),
            "least_outstanding_requests" => Ok(LoadBalancingAlgorithm::LeastOutstandingRequests),
            other => Err(format!("unknown load balancing algorithm {other:?}")),
        }
    }
}

/// Target group attributes. In JSON every field is optional (defaults
/// below); the delay is `deregistration_delay_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetGroupAttributes {
    /// `deregistration_delay.timeout_seconds` (default 300 s).
    #[serde(rename = "deregistration_delay_ms", with = "duration_ms")]
    pub deregistration_delay: Duration,
    /// `load_balancing.algorithm.type`.
    pub algorithm: LoadBalancingAlgorithm,
    /// Not an AWS attribute: when connecting to a target fails before any
    /// byte was sent (or an idempotent body-less request fails before a
    /// response), retry once on another target and count a passive failure
    /// against the first. On by default.
    pub passive_retry: bool,
}

impl Default for TargetGroupAttributes {
    fn default() -> Self {
        TargetGroupAttributes {
            deregistration_delay: Duration::from_secs(300),
            algorithm: LoadBalancingAlgorithm::RoundRobin,
            passive_retry: true,
        }
    }
}

/// Everything about a target group except its targets. In JSON `port` is
/// required, `health_check` and `attributes` default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupConfig {
    /// The group's traffic port (reported back; each target carries its own
    /// port, which `HealthCheckPort::TrafficPort` probes).
    pub port: u16,
    #[serde(default)]
    pub health_check: HealthCheckConfig,
    #[serde(default)]
    pub attributes: TargetGroupAttributes,
}

impl TargetGroupConfig {
    pub fn new(port: u16) -> Self {
        TargetGroupConfig {
            port,
            health_check: HealthCheckConfig::default(),
            attributes: TargetGroupAttributes::default(),
        }
    }
}

/// One row of `DescribeTargetHealth`. In JSON one flat object: `id`,
/// `port`, `host`, `health_check_port`, `state`, `reason`, `description`,
/// `in_flight`, `request_count`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealthDescription {
    #[serde(flatten)]
    pub target: Target,
    pub health_check_port: u16,
    #[serde(flatten)]
    pub health: TargetHealth,
    /// Requests currently in flight to this target.
    pub in_flight: usize,
    /// Requests sent to this target since registration.
    pub request_count: u64,
}

pub(crate) struct TargetGroup {
    pub arn: String,
    config: ArcSwap<TargetGroupConfig>,
    targets: ArcSwap<Vec<Arc<TargetRuntime>>>,
    /// Serializes writers of `targets`.
    write: Mutex<()>,
    next: AtomicUsize,
    pub metrics: TargetGroupMetrics,
    /// Parent of every health loop and drain task of this group.
    cancel: CancellationToken,
    /// Bumped whenever a target leaves the group (drained), so waiters
    /// wake on the event instead of polling.
    removed: tokio::sync::watch::Sender<u64>,
    /// The same, shared by every group of the balancer.
    removed_anywhere: Arc<tokio::sync::watch::Sender<u64>>,
    /// Bumped whenever a target's health state changes (shared by every
    /// group of the balancer).
    health_changes: Arc<tokio::sync::watch::Sender<u64>>,
    probe: Arc<dyn HealthProbe>,
    /// Where health loops and drain tasks run; `None` in a shadow balancer,
    /// which runs none.
    runtime: Option<Handle>,
}

impl Drop for TargetGroup {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn authority(t: &Target) -> Result<Authority, TargetGroupError> {
    let (host, port) = t.traffic_host_port();
    let text = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Authority::from_str(&text).map_err(|e| TargetGroupError::InvalidTarget {
        id: t.id.clone(),
        port: t.port,
        why: e.to_string(),
    })
}

impl TargetGroup {
    pub(crate) fn new(
        arn: String,
        config: TargetGroupConfig,
        probe: Arc<dyn HealthProbe>,
        runtime: Option<Handle>,
        removed_anywhere: Arc<tokio::sync::watch::Sender<u64>>,
        health_changes: Arc<tokio::sync::watch::Sender<u64>>,
    ) -> Result<Arc<Self>, TargetGroupError> {
        config
            .health_check
            .validate()
            .map_err(|source| TargetGroupError::HealthCheck {
                target_group_arn: arn.clone(),
                source,
            })?;
        Ok(Arc::new(TargetGroup {
            arn,
            config: ArcSwap::from_pointee(config),
            targets: ArcSwap::from_pointee(Vec::new()),
            write: Mutex::new(()),
            next: AtomicUsize::new(0),
            metrics: TargetGroupMetrics::default(),
            cancel: CancellationToken::new(),
            removed: tokio::sync::watch::Sender::new(0),
            removed_anywhere,
            health_changes,
            probe,
            runtime,
        }))
    }

    pub(crate) fn config(&self) -> Arc<TargetGroupConfig> {
        self.config.load_full()
    }

    pub(crate) fn passive_retry(&self) -> bool {
        self.config.load().attributes.passive_retry
    }

    /// Stop every health loop and drain; targets still registered leave
    /// with the group (a removal for `removed_anywhere` waiters; draining ones count when their drain task ends).
    pub(crate) fn shutdown(&self) {
        self.cancel.cancel();
        if self.targets.load().iter().any(|t| t.is_enabled()) {
            self.removed_anywhere.send_modify(|n| *n += 1);
        }
        self.health_changed();
    }

    /// Tells health watchers that a target's state changed.
    fn health_changed(&self) {
        self.health_changes.send_modify(|n| *n += 1);
    }

    fn lock_writers(&self) -> std::sync::MutexGuard<'_, ()> {
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Pick a target for a new request, skipping `exclude` (the target a
    /// retry is moving away from).
    pub(crate) fn select(
        &self,
        exclude: Option<&Arc<TargetRuntime>>,
    ) -> Option<Arc<TargetRuntime>> {
        let targets = self.targets.load();
        let allowed =
            |t: &&Arc<TargetRuntime>| t.is_enabled() && exclude.is_none_or(|x| !Arc::ptr_eq(x, t));
        let healthy = targets
            .iter()
            .filter(allowed)
            .filter(|t| t.is_healthy())
            .count();
        // Fail open: with no healthy target, use every enabled one.
        let (count, need_healthy) = if healthy > 0 {
            (healthy, true)
        } else {
            (targets.iter().filter(allowed).count(), false)
        };
        if count == 0 {
            return None;
        }
        let candidates = || {
            targets
                .iter()
                .filter(allowed)
                .filter(move |t| !need_healthy || t.is_healthy())
        };
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        let algorithm = self.config.load().attributes.algorithm;
        let chosen = match algorithm {
            LoadBalancingAlgorithm::RoundRobin => candidates().nth(start),
            LoadBalancingAlgorithm::LeastOutstandingRequests => candidates()
                .cycle()
                .skip(start)
                .take(count)
                .min_by_key(|t| t.in_flight()),
        };
        chosen.cloned()
    }

    /// Register targets; already-registered (non-draining) ones are left
    /// alone, like AWS.
    pub(crate) fn register(self: &Arc<Self>, targets: &[Target]) -> Result<(), TargetGroupError> {
        self.register_with(targets, false)
    }

    /// [`TargetGroup::register`], the new targets starting `healthy` when
    /// `healthy` (known healthy before: a control plane restarted).
    pub(crate) fn register_with(
        self: &Arc<Self>,
        targets: &[Target],
        healthy: bool,
    ) -> Result<(), TargetGroupError> {
        let parsed = targets
            .iter()
            .map(|t| authority(t).map(|a| (t.clone(), a)))
            .collect::<Result<Vec<_>, _>>()?;
        let _w = self.lock_writers();
        let mut list: Vec<Arc<TargetRuntime>> = self.targets.load().as_ref().clone();
        for (spec, auth) in parsed {
            if list
                .iter()
                .any(|t| t.key_matches(&spec.id, spec.port) && t.is_enabled())
            {
                continue;
            }
            let target = Arc::new(TargetRuntime::with_health(
                spec,
                auth,
                self.cancel.child_token(),
                healthy,
            ));
            info!(target_group = %self.arn, target = %target.authority, "target registered");
            if let Some(runtime) = &self.runtime {
                runtime.spawn(health_loop(Arc::clone(self), Arc::clone(&target)));
            }
            list.push(target);
        }
        self.targets.store(Arc::new(list));
        self.health_changed();
        Ok(())
    }

    /// The registered targets, draining ones left out.
    pub(crate) fn registered(&self) -> Vec<Target> {
        self.targets
            .load()
            .iter()
            .filter(|t| t.is_enabled())
            .map(|t| t.spec.clone())
            .collect()
    }

    /// The registered targets, draining ones left out, each with whether
    /// it was registered known healthy and still is healthy.
    pub(crate) fn registered_health(&self) -> Vec<(Target, bool)> {
        self.targets
            .load()
            .iter()
            .filter(|t| t.is_enabled())
            .map(|t| (t.spec.clone(), t.still_known_healthy()))
            .collect()
    }

    /// Start draining the given `(id, port)` targets (in a shadow group:
    /// remove them at once); returns how many were found registered.
    pub(crate) fn deregister(self: &Arc<Self>, keys: &[(String, u16)]) -> usize {
        let delay = self.config.load().attributes.deregistration_delay;
        let targets = self.targets.load();
        let mut found = 0;
        for t in targets.iter() {
            if !t.is_enabled() || !keys.iter().any(|(id, port)| t.key_matches(id, *port)) {
                continue;
            }
            found += 1;
            t.begin_drain();
            self.health_changed();
            let Some(runtime) = &self.runtime else {
                self.remove(t);
                continue;
            };
            info!(target_group = %self.arn, target = %t.authority, ?delay, "target draining");
            let tg = Arc::clone(self);
            let t = Arc::clone(t);
            runtime.spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = t.wait_idle() => {}
                    _ = tg.cancel.cancelled() => {}
                }
                tg.remove(&t);
            });
        }
        found
    }

    fn remove(&self, target: &Arc<TargetRuntime>) {
        target.cancel.cancel();
        let _w = self.lock_writers();
        let list: Vec<_> = self
            .targets
            .load()
            .iter()
            .filter(|t| !Arc::ptr_eq(t, target))
            .cloned()
            .collect();
        self.targets.store(Arc::new(list));
        self.removed.send_modify(|n| *n += 1);
        self.removed_anywhere.send_modify(|n| *n += 1);
        self.health_changed();
        debug!(target_group = %self.arn, target = %target.authority, "target removed");
    }

    pub(crate) fn modify(
        &self,
        f: impl FnOnce(&mut TargetGroupConfig),
    ) -> Result<(), TargetGroupError> {
        let _w = self.lock_writers();
        let mut cfg = self.config.load().as_ref().clone();
        f(&mut cfg);
        cfg.health_check
            .validate()
            .map_err(|source| TargetGroupError::HealthCheck {
                target_group_arn: self.arn.clone(),
                source,
            })?;
        self.config.store(Arc::new(cfg));
        Ok(())
    }

    pub(crate) fn describe(
        &self,
        filter: Option<&[(String, u16)]>,
    ) -> Vec<TargetHealthDescription> {
        let cfg = self.config.load();
        let hc_port = |t: &Target| match cfg.health_check.port {
            HealthCheckPort::TrafficPort => t.port,
            HealthCheckPort::Fixed(p) => p,
        };
        let targets = self.targets.load();
        let row = |t: &Arc<TargetRuntime>| TargetHealthDescription {
            target: t.spec.clone(),
            health_check_port: hc_port(&t.spec),
            health: t.health(),
            in_flight: t.in_flight(),
            request_count: t.request_count(),
        };
        match filter {
            None => targets.iter().map(row).collect(),
            Some(keys) => keys
                .iter()
                .map(|(id, port)| {
                    // Prefer the live registration over a draining one.
                    let mut matching = targets.iter().filter(|t| t.key_matches(id, *port));
                    let found = matching
                        .clone()
                        .find(|t| t.is_enabled())
                        .or_else(|| matching.next());
                    found.map(row).unwrap_or_else(|| {
                        let spec = Target::new(id.clone(), *port);
                        TargetHealthDescription {
                            health_check_port: hc_port(&spec),
                            target: spec,
                            health: HealthMachine::not_registered(),
                            in_flight: 0,
                            request_count: 0,
                        }
                    })
                })
                .collect(),
        }
    }

    /// `(healthy, unhealthy)` counts of registered, non-draining targets.
    pub(crate) fn host_counts(&self) -> (u64, u64) {
        let targets = self.targets.load();
        let mut counts = (0, 0);
        for t in targets.iter().filter(|t| t.is_enabled()) {
            match t.health().state {
                TargetHealthState::Healthy | TargetHealthState::Unavailable => counts.0 += 1,
                TargetHealthState::Unhealthy => counts.1 += 1,
                _ => {}
            }
        }
        counts
    }

    pub(crate) fn per_target_requests(&self) -> Vec<(Target, u64)> {
        self.targets
            .load()
            .iter()
            .map(|t| (t.spec.clone(), t.request_count()))
            .collect()
    }

    /// A request to `target` failed to connect: count it like a failed
    /// health check so a dead target leaves rotation quickly.
    pub(crate) fn passive_failure(&self, target: &TargetRuntime, why: &str) {
        let cfg = self.config.load();
        if cfg.health_check.enabled {
            let changed =
                target.record_outcome(&ProbeOutcome::Failed(why.to_owned()), &cfg.health_check);
            if changed {
                self.health_changed();
                info!(target_group = %self.arn, target = %target.authority, "target unhealthy after passive failures");
            }
        }
    }
}

/// How soon a new target whose port is not open yet is probed again.
const NOT_LISTENING_RETRY: Duration = Duration::from_millis(200);

/// Probe one target every interval until it is removed.
///
/// One exception to the interval: a target registered the moment its
/// container started may not listen yet. Until the first answer, within one
/// interval of registration, a failed connection is not counted and the
/// probe is repeated after [`NOT_LISTENING_RETRY`]; so a task's target is
/// healthy as soon as its process listens, not one whole interval later.
async fn health_loop(tg: Arc<TargetGroup>, target: Arc<TargetRuntime>) {
    let cancel = target.cancel.clone();
    let registered = tokio::time::Instant::now();
    let mut answered = false;
    loop {
        target.prune_idle(UPSTREAM_IDLE_TIMEOUT);
        let cfg = tg.config.load_full();
        let hc = &cfg.health_check;
        if hc.enabled {
            target.with_machine(HealthMachine::on_probe_started);
            // The traffic port is checked where traffic goes; a fixed port
            // on the target's host.
            let (host, port) = match hc.port {
                HealthCheckPort::TrafficPort => target.spec.traffic_host_port(),
                HealthCheckPort::Fixed(p) => (target.spec.host.clone(), p),
            };
            let request = ProbeRequest {
                target_id: target.spec.id.clone(),
                host,
                port,
                path: hc.path.clone(),
                timeout: hc.timeout,
            };
            let outcome = tokio::select! {
                _ = cancel.cancelled() => return,
                r = tokio::time::timeout(hc.timeout, tg.probe.probe(request)) => r.unwrap_or(ProbeOutcome::Timeout),
            };
            let not_listening_yet = !answered
                && matches!(outcome, ProbeOutcome::Failed(_))
                && registered.elapsed() + NOT_LISTENING_RETRY < hc.interval;
            if not_listening_yet {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(NOT_LISTENING_RETRY) => {}
                }
                continue;
            }
            answered = true;
            if target.record_outcome(&outcome, hc) {
                tg.health_changed();
                let h = target.health();
                info!(
                    target_group = %tg.arn,
                    target = %target.authority,
                    state = %h.state,
                    reason = h.reason.map(|r| r.code()),
                    "target health changed"
                );
            }
        } else {
            target.with_machine(HealthMachine::on_disabled);
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(hc.interval) => {}
        }
    }
}

/// A cheap, cloneable handle to one target group.
#[derive(Clone)]
pub struct TargetGroupHandle {
    pub(crate) inner: Arc<TargetGroup>,
}

impl std::fmt::Debug for TargetGroupHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetGroupHandle")
            .field("arn", &self.inner.arn)
            .finish()
    }
}

impl TargetGroupHandle {
    pub fn arn(&self) -> &str {
        &self.inner.arn
    }

    /// Current settings (port, health check, attributes).
    pub fn config(&self) -> TargetGroupConfig {
        self.inner.config().as_ref().clone()
    }

    /// `RegisterTargets`: new targets start `initial` and get their first
    /// health check at once. Must be called within a Tokio runtime context
    /// or from any thread (tasks go to the `Alb`'s runtime).
    pub fn register_targets(&self, targets: &[Target]) -> Result<(), TargetGroupError> {
        self.inner.register(targets)
    }

    /// Registers targets known healthy before this balancer saw them (a
    /// control plane that restarted re-registers the targets of its
    /// running tasks): they take traffic at once, and their own health
    /// checks take over from there.
    pub fn register_targets_healthy(&self, targets: &[Target]) -> Result<(), TargetGroupError> {
        self.inner.register_with(targets, true)
    }

    /// Changes whenever a target leaves the group (its drain finished):
    /// wait on it instead of polling `describe_target_health`.
    pub fn removals(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.removed.subscribe()
    }

    /// `DeregisterTargets` by `(id, port)`: new requests stop at once; the
    /// target drains. Returns how many targets were registered.
    pub fn deregister_targets(&self, targets: &[(String, u16)]) -> usize {
        self.inner.deregister(targets)
    }

    /// `DescribeTargetHealth`: every registered (and draining) target, or
    /// only the given ones (unknown ones report `unused` /
    /// `Target.NotRegistered`).
    pub fn describe_target_health(
        &self,
        targets: Option<&[(String, u16)]>,
    ) -> Vec<TargetHealthDescription> {
        self.inner.describe(targets)
    }

    /// `ModifyTargetGroup`: replace the health check; applies from each
    /// target's next probe.
    pub fn modify_health_check(
        &self,
        health_check: HealthCheckConfig,
    ) -> Result<(), TargetGroupError> {
        self.inner.modify(|c| c.health_check = health_check)
    }

    /// `ModifyTargetGroupAttributes`.
    pub fn set_attributes(
        &self,
        attributes: TargetGroupAttributes,
    ) -> Result<(), TargetGroupError> {
        self.inner.modify(|c| c.attributes = attributes)
    }

    /// `HealthyHostCount` (healthy or health-check-disabled targets).
    pub fn healthy_host_count(&self) -> u64 {
        self.inner.host_counts().0
    }

    /// `UnHealthyHostCount`.
    pub fn unhealthy_host_count(&self) -> u64 {
        self.inner.host_counts().1
    }

    /// Requests sent to each currently registered target since it was
    /// registered (for `ALBRequestCountPerTarget`).
    pub fn request_counts(&self) -> Vec<(Target, u64)> {
        self.inner.per_target_requests()
    }

    /// Requests this group has received in total.
    pub fn request_count(&self) -> u64 {
        self.inner.metrics.requests.load(Ordering::Relaxed)
    }
}
