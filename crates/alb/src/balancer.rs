//! [`Alb`]: the registry that owns load balancers and target groups, and
//! [`AlbBuilder`], which wires the modules below together (it hands the
//! listener's accept loop down to the control API in
//! [`crate::load_balancer`]). The reconcile to a desired state
//! ([`Alb::apply_desired`]) sits above, in `reconcile`, and the export of
//! the live configuration ([`Alb::export`]) in `export`.
//!
//! A shadow balancer ([`Alb::shadow`]) is the same registry with no
//! runtime: every call validates and records as usual, but no socket is
//! bound and no task spawned (see [`AlbBuilder::shadow`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::runtime::Handle;

use crate::desired::Desired;
use crate::health_check::{HealthProbe, HttpProbe};
use crate::load_balancer::{
    AlbInner, LoadBalancer, LoadBalancerAttributes, LoadBalancerError, LoadBalancerHandle, Registry,
};
use crate::target_group::{TargetGroup, TargetGroupConfig, TargetGroupError, TargetGroupHandle};
use crate::{io_threads, listener, metrics, upstream};

/// The registry of load balancers and target groups. Cheap to clone,
/// `Send + Sync`; every clone controls the same balancer.
#[derive(Clone)]
pub struct Alb {
    pub(crate) inner: Arc<AlbInner>,
    /// The last desired state applied, behind the lock that serializes
    /// [`Alb::apply_desired`] calls.
    pub(crate) desired: Arc<tokio::sync::Mutex<Option<Desired>>>,
}

/// Builds an [`Alb`] with a non-default health probe, I/O threads or
/// shadow mode.
pub struct AlbBuilder {
    probe: Arc<dyn HealthProbe>,
    dedicated_io: Option<bool>,
    shadow: bool,
}

impl AlbBuilder {
    /// Replace the HTTP health probe (tests use a scripted fake).
    pub fn health_probe(mut self, probe: Arc<dyn HealthProbe>) -> Self {
        self.probe = probe;
        self
    }

    /// Serve client connections (and their upstream connections) on the
    /// balancer's own single-threaded I/O runtimes, one thread per CPU,
    /// shared by every `Alb` of the process (`true`), or on the caller's
    /// runtime (`false`). Default: `true` when built inside a multi-thread
    /// runtime, where a request would otherwise hop between worker threads,
    /// `false` inside a current-thread runtime (one balancer per thread, as
    /// the standalone binary runs it). Accepting, health checks, draining
    /// and the control API stay on the caller's runtime either way.
    pub fn dedicated_io_threads(mut self, on: bool) -> Self {
        self.dedicated_io = Some(on);
        self
    }

    /// Shadow mode (`true`): the same API and validation, but nothing
    /// runs. Listeners bind no socket (their local address is the one
    /// configured, port 0 included), targets get no health checks (they
    /// stay `initial`, or `healthy` when registered with
    /// [`TargetGroupHandle::register_targets_healthy`]), a deregistered
    /// target is removed at once (as if drained) and shutdown is immediate.
    /// For a control plane that keeps its model in process and exports it
    /// ([`Alb::export`]) to a balancer running elsewhere. Needs no Tokio
    /// runtime; the probe and I/O thread settings are ignored.
    pub fn shadow(mut self, on: bool) -> Self {
        self.shadow = on;
        self
    }

    /// Must be called within a Tokio runtime (unless [`AlbBuilder::shadow`]):
    /// the balancer spawns its listeners, health loops and drain tasks
    /// there.
    pub fn build(self) -> Alb {
        let runtime = (!self.shadow).then(Handle::current);
        let dedicated = match (&runtime, self.dedicated_io) {
            (None, _) => false,
            (Some(_), Some(on)) => on,
            (Some(rt), None) => rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread,
        };
        Alb {
            inner: Arc::new(AlbInner {
                registry: Mutex::new(Registry::default()),
                client: upstream::new_client(),
                probe: self.probe,
                runtime,
                removals: Arc::new(tokio::sync::watch::Sender::new(0)),
                health_changes: Arc::new(tokio::sync::watch::Sender::new(0)),
                io_workers: if dedicated {
                    io_threads::io_workers()
                } else {
                    None
                },
                accept_loop: |socket, lb, listener, workers| {
                    Box::pin(listener::accept_loop(socket, lb, listener, workers))
                },
            }),
            desired: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }
}

impl Default for Alb {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Alb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reg = self.lock();
        f.debug_struct("Alb")
            .field(
                "load_balancers",
                &reg.load_balancers.keys().collect::<Vec<_>>(),
            )
            .field(
                "target_groups",
                &reg.target_groups.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Alb {
    /// A balancer with the real HTTP health probe. Must be called within a
    /// Tokio runtime (see [`AlbBuilder::build`]).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A shadow balancer (see [`AlbBuilder::shadow`]): validates and
    /// records everything, runs nothing. Needs no Tokio runtime.
    pub fn shadow() -> Self {
        Self::builder().shadow(true).build()
    }

    pub fn builder() -> AlbBuilder {
        AlbBuilder {
            probe: Arc::new(HttpProbe::new()),
            dedicated_io: None,
            shadow: false,
        }
    }

    /// Whether this is a shadow balancer (see [`AlbBuilder::shadow`]).
    pub fn is_shadow(&self) -> bool {
        self.inner.runtime.is_none()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner.lock()
    }

    /// `CreateTargetGroup`.
    pub fn create_target_group(
        &self,
        target_group_arn: impl Into<String>,
        config: TargetGroupConfig,
    ) -> Result<TargetGroupHandle, TargetGroupError> {
        let arn = target_group_arn.into();
        let mut reg = self.lock();
        if reg.target_groups.contains_key(&arn) {
            return Err(TargetGroupError::Exists(arn));
        }
        let tg = TargetGroup::new(
            arn.clone(),
            config,
            Arc::clone(&self.inner.probe),
            self.inner.runtime.clone(),
            Arc::clone(&self.inner.removals),
            Arc::clone(&self.inner.health_changes),
        )?;
        reg.target_groups.insert(arn, Arc::clone(&tg));
        Ok(TargetGroupHandle { inner: tg })
    }

    pub fn target_group(&self, target_group_arn: &str) -> Option<TargetGroupHandle> {
        self.lock()
            .target_groups
            .get(target_group_arn)
            .map(|tg| TargetGroupHandle {
                inner: Arc::clone(tg),
            })
    }

    pub fn target_groups(&self) -> Vec<TargetGroupHandle> {
        self.lock()
            .target_groups
            .values()
            .map(|tg| TargetGroupHandle {
                inner: Arc::clone(tg),
            })
            .collect()
    }

    /// `DeleteTargetGroup`: refused while a listener rule or default action
    /// forwards to it (AWS `ResourceInUse`). Stops its health checks.
    pub fn delete_target_group(&self, target_group_arn: &str) -> Result<(), TargetGroupError> {
        let mut reg = self.lock();
        for lb in reg.load_balancers.values() {
            for (larn, (l, _)) in lb.lock_listeners().iter() {
                if l.lock_rules().uses_target_group(target_group_arn) {
                    return Err(TargetGroupError::InUse {
                        target_group_arn: target_group_arn.to_owned(),
                        listener_arn: larn.clone(),
                    });
                }
            }
        }
        let tg = reg
            .target_groups
            .remove(target_group_arn)
            .ok_or_else(|| TargetGroupError::NotFound(target_group_arn.to_owned()))?;
        tg.shutdown();
        Ok(())
    }

    /// `CreateLoadBalancer` (listeners are added on the handle).
    pub fn create_load_balancer(
        &self,
        load_balancer_arn: impl Into<String>,
        attributes: LoadBalancerAttributes,
    ) -> Result<LoadBalancerHandle, LoadBalancerError> {
        let arn = load_balancer_arn.into();
        let mut reg = self.lock();
        if reg.load_balancers.contains_key(&arn) {
            return Err(LoadBalancerError::Exists(arn));
        }
        let lb = Arc::new(LoadBalancer::new(
            arn.clone(),
            attributes,
            self.inner.client.clone(),
        ));
        lb.access_log.configure(
            lb.attributes().access_log.as_ref(),
            self.inner.runtime.is_some(),
        );
        reg.load_balancers.insert(arn, Arc::clone(&lb));
        Ok(LoadBalancerHandle {
            alb: Arc::clone(&self.inner),
            lb,
        })
    }

    pub fn load_balancer(&self, load_balancer_arn: &str) -> Option<LoadBalancerHandle> {
        self.lock()
            .load_balancers
            .get(load_balancer_arn)
            .map(|lb| LoadBalancerHandle {
                alb: Arc::clone(&self.inner),
                lb: Arc::clone(lb),
            })
    }

    pub fn load_balancers(&self) -> Vec<LoadBalancerHandle> {
        self.lock()
            .load_balancers
            .values()
            .map(|lb| LoadBalancerHandle {
                alb: Arc::clone(&self.inner),
                lb: Arc::clone(lb),
            })
            .collect()
    }

    /// `DeleteLoadBalancer`: unbinds its listeners (done when this returns);
    /// open connections finish their current request in the background.
    pub async fn delete_load_balancer(
        &self,
        load_balancer_arn: &str,
    ) -> Result<(), LoadBalancerError> {
        let lb = self
            .lock()
            .load_balancers
            .remove(load_balancer_arn)
            .ok_or_else(|| LoadBalancerError::NotFound(load_balancer_arn.to_owned()))?;
        lb.close_listeners().await;
        Ok(())
    }

    /// Changes whenever a target leaves any target group (its drain ended,
    /// or its group was deleted): the value counts those events since the
    /// balancer was built.
    pub fn removals(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.removals.subscribe()
    }

    /// Changes whenever a target of any group changes health state
    /// (registered `initial`, `healthy`, `unhealthy`, `draining`, removed):
    /// watch it to show health as it changes, without polling.
    pub fn health_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.health_changes.subscribe()
    }

    /// Prometheus text for every load balancer and target group, CloudWatch
    /// metric names, `LoadBalancer` / `TargetGroup` labels.
    pub fn render_prometheus(&self) -> String {
        let (lbs, tgs): (Vec<_>, Vec<_>) = {
            let reg = self.lock();
            (
                reg.load_balancers.values().cloned().collect(),
                reg.target_groups.values().cloned().collect(),
            )
        };
        let lb_rows: Vec<(&str, &metrics::LoadBalancerMetrics)> = lbs
            .iter()
            .map(|lb| (lb.arn.as_str(), &lb.metrics))
            .collect();
        let tg_rows: Vec<metrics::TargetGroupSample<'_>> = tgs
            .iter()
            .map(|tg| {
                let (healthy, unhealthy) = tg.host_counts();
                metrics::TargetGroupSample {
                    arn: &tg.arn,
                    metrics: &tg.metrics,
                    healthy,
                    unhealthy,
                    per_target: tg
                        .per_target_requests()
                        .into_iter()
                        .map(|(t, n)| (format!("{}:{}", t.id, t.port), n))
                        .collect(),
                }
            })
            .collect();
        metrics::render(&lb_rows, &tg_rows)
    }

    /// Graceful stop: unbind every listener, let open connections finish
    /// their current request for up to `grace`, stop health checks. Returns
    /// whether every connection closed in time (a shadow balancer has none:
    /// `true` at once).
    pub async fn shutdown(&self, grace: Duration) -> bool {
        let (lbs, tgs): (Vec<_>, Vec<_>) = {
            let mut reg = self.lock();
            (
                std::mem::take(&mut reg.load_balancers)
                    .into_values()
                    .collect(),
                std::mem::take(&mut reg.target_groups)
                    .into_values()
                    .collect(),
            )
        };
        let mut listeners = Vec::new();
        for lb in &lbs {
            listeners.extend(lb.close_listeners().await);
        }
        if self.is_shadow() {
            for tg in tgs {
                tg.shutdown();
            }
            return true;
        }
        let drained = tokio::time::timeout(grace, async {
            for l in &listeners {
                l.tasks.wait().await;
            }
        })
        .await
        .is_ok();
        for tg in tgs {
            tg.shutdown();
        }
        drained
    }
}
