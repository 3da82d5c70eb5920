//! The service scheduler's view of the load balancer: register, deregister
//! (draining) and read target health, as one object-safe trait.
//!
//! [`AlbTargets`] adapts the embedded [`alb::Alb`]; [`FakeTargets`] is an
//! in-memory stand-in for unit tests (targets become healthy when told).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::service_plan::TargetState;

/// A target as `(id, port)`, the way ELBv2 keys them.
pub type TargetKey = (String, u16);

/// A task's target: ELBv2's `(id, port)` (instance id, host port), the
/// host that port is on, and the task container's own address when the
/// balancer can reach it directly (the container on the local engine's
/// bridge network: no trip through the engine's userland port proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTarget {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub dial: Option<std::net::SocketAddr>,
}

impl TaskTarget {
    pub fn key(&self) -> TargetKey {
        (self.id.clone(), self.port)
    }

    fn alb(&self) -> alb::Target {
        alb::Target::with_host(&self.id, &self.host, self.port).dialed_at(self.dial)
    }
}

pub trait TargetRegistry: Send + Sync + 'static {
    fn exists(&self, target_group: &str) -> bool;
    /// Registers a task's target (initial, health checks decide).
    fn register(&self, target_group: &str, target: &TaskTarget) -> Result<(), String>;
    /// Registers a target known healthy before (a running task adopted
    /// after a restart): healthy at once, its own checks take over.
    fn adopt(&self, target_group: &str, target: &TaskTarget) -> Result<(), String>;
    /// Starts draining; the target disappears once drained.
    fn deregister(&self, target_group: &str, id: &str, port: u16);
    /// Every registered or draining target and its state.
    fn health(&self, target_group: &str) -> BTreeMap<TargetKey, TargetState>;
    /// Requests sent to each registered target since its registration.
    fn request_counts(&self, target_group: &str) -> BTreeMap<TargetKey, u64>;
    /// The group's deregistration delay, in seconds.
    fn deregistration_delay_s(&self, target_group: &str) -> u64;
    /// Changes whenever a target leaves the group (`None`: no such group).
    fn removals(&self, target_group: &str) -> Option<tokio::sync::watch::Receiver<u64>>;
    /// Why a target is in its state, in the balancer's words (e.g.
    /// `Health checks failed with these codes: [503]`).
    fn reason(&self, _target_group: &str, _id: &str, _port: u16) -> Option<String> {
        None
    }
}

/// [`TargetRegistry`] over the load balancer: changes go to its model
/// (and on to the balancer process, when the listeners run there);
/// health, counts and drain completions come from where they run.
pub struct AlbTargets(pub crate::elbv2::balancer::Balancer);

impl AlbTargets {
    fn group(&self, target_group: &str) -> Result<alb::TargetGroupHandle, String> {
        self.0
            .alb()
            .target_group(target_group)
            .ok_or_else(|| format!("target group {target_group} not found"))
    }
}

impl TargetRegistry for AlbTargets {
    fn exists(&self, target_group: &str) -> bool {
        self.0.alb().target_group(target_group).is_some()
    }

    fn register(&self, target_group: &str, target: &TaskTarget) -> Result<(), String> {
        self.group(target_group)?
            .register_targets(&[target.alb()])
            .map_err(|e| e.to_string())?;
        self.0.changed();
        Ok(())
    }

    fn adopt(&self, target_group: &str, target: &TaskTarget) -> Result<(), String> {
        self.group(target_group)?
            .register_targets_healthy(&[target.alb()])
            .map_err(|e| e.to_string())?;
        self.0.changed();
        Ok(())
    }

    fn deregister(&self, target_group: &str, id: &str, port: u16) {
        if let Ok(tg) = self.group(target_group) {
            tg.deregister_targets(&[(id.to_string(), port)]);
            self.0.changed();
        }
    }

    fn health(&self, target_group: &str) -> BTreeMap<TargetKey, TargetState> {
        let Some(rows) = self.0.target_health(target_group) else {
            return BTreeMap::new();
        };
        rows.into_iter()
            .map(|d| {
                use alb::TargetHealthState as S;
                let state = match d.health.state {
                    S::Healthy => TargetState::Healthy,
                    S::Unhealthy => TargetState::Unhealthy,
                    S::Draining => TargetState::Draining,
                    S::Initial | S::Unavailable => TargetState::Initial,
                    S::Unused => TargetState::NotRegistered,
                };
                ((d.target.id, d.target.port), state)
            })
            .collect()
    }

    fn request_counts(&self, target_group: &str) -> BTreeMap<TargetKey, u64> {
        self.0
            .request_counts(target_group)
            .into_iter()
            .map(|(t, n)| ((t.id, t.port), n))
            .collect()
    }

    fn deregistration_delay_s(&self, target_group: &str) -> u64 {
        self.group(target_group)
            .map(|tg| tg.config().attributes.deregistration_delay.as_secs())
            .unwrap_or(0)
    }

    fn removals(&self, target_group: &str) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.0.removals(target_group)
    }

    fn reason(&self, target_group: &str, id: &str, port: u16) -> Option<String> {
        self.0
            .target_health(target_group)?
            .into_iter()
            .find(|d| d.target.id == id && d.target.port == port)
            .and_then(|d| d.health.description)
    }
}

/// In-memory targets for unit tests: registered targets start `initial`;
/// `FakeTargets::set` changes a state; deregistered ones vanish at once.
#[derive(Default, Clone)]
pub struct FakeTargets {
    inner: Arc<Mutex<FakeInner>>,
}

#[derive(Default)]
struct FakeInner {
    groups: BTreeMap<String, BTreeMap<TargetKey, TargetState>>,
    counts: BTreeMap<String, BTreeMap<TargetKey, u64>>,
    log: Vec<String>,
    health_reads: u64,
}

impl FakeTargets {
    pub fn new(groups: &[&str]) -> FakeTargets {
        let f = FakeTargets::default();
        for g in groups {
            f.lock().groups.insert(g.to_string(), BTreeMap::new());
        }
        f
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, FakeInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Sets the state of every target of the group.
    pub fn set_all(&self, group: &str, state: TargetState) {
        if let Some(g) = self.lock().groups.get_mut(group) {
            for s in g.values_mut() {
                *s = state;
            }
        }
    }
    pub fn set_count(&self, group: &str, key: TargetKey, n: u64) {
        self.lock()
            .counts
            .entry(group.to_string())
            .or_default()
            .insert(key, n);
    }
    pub fn targets(&self, group: &str) -> Vec<TargetKey> {
        self.lock()
            .groups
            .get(group)
            .map(|g| g.keys().cloned().collect())
            .unwrap_or_default()
    }
    /// How often target health was read: the scheduler reads it on every
    /// pass, so a test can wait for passes instead of sleeping.
    pub fn health_reads(&self) -> u64 {
        self.lock().health_reads
    }
    /// `register tg id:port` / `deregister tg id:port`, in order.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }
}

impl TargetRegistry for FakeTargets {
    fn exists(&self, target_group: &str) -> bool {
        self.lock().groups.contains_key(target_group)
    }
    fn register(&self, target_group: &str, target: &TaskTarget) -> Result<(), String> {
        let (id, port) = (target.id.as_str(), target.port);
        let mut inner = self.lock();
        inner
            .log
            .push(format!("register {target_group} {id}:{port}"));
        let g = inner
            .groups
            .get_mut(target_group)
            .ok_or_else(|| format!("target group {target_group} not found"))?;
        g.entry((id.to_string(), port))
            .or_insert(TargetState::Initial);
        Ok(())
    }
    fn adopt(&self, target_group: &str, target: &TaskTarget) -> Result<(), String> {
        let (id, port) = (target.id.as_str(), target.port);
        let mut inner = self.lock();
        inner.log.push(format!("adopt {target_group} {id}:{port}"));
        let g = inner
            .groups
            .get_mut(target_group)
            .ok_or_else(|| format!("target group {target_group} not found"))?;
        g.entry((id.to_string(), port))
            .or_insert(TargetState::Healthy);
        Ok(())
    }
    fn deregister(&self, target_group: &str, id: &str, port: u16) {
        let mut inner = self.lock();
        inner
            .log
            .push(format!("deregister {target_group} {id}:{port}"));
        if let Some(g) = inner.groups.get_mut(target_group) {
            g.remove(&(id.to_string(), port));
        }
    }
    fn health(&self, target_group: &str) -> BTreeMap<TargetKey, TargetState> {
        let mut inner = self.lock();
        inner.health_reads += 1;
        inner.groups.get(target_group).cloned().unwrap_or_default()
    }
    fn request_counts(&self, target_group: &str) -> BTreeMap<TargetKey, u64> {
        self.lock()
            .counts
            .get(target_group)
            .cloned()
            .unwrap_or_default()
    }
    fn deregistration_delay_s(&self, _target_group: &str) -> u64 {
        0
    }
    fn removals(&self, target_group: &str) -> Option<tokio::sync::watch::Receiver<u64>> {
        // Deregistered fake targets vanish at once: nothing to wait for.
        self.exists(target_group)
            .then(|| tokio::sync::watch::Sender::new(0).subscribe())
    }
}
