//! Load balancers: attributes, counters, listeners, and the handles the
//! embedding emulator uses to change them while traffic flows.
//!
//! A load balancer is a named group of listeners sharing attributes (idle
//! timeout, header limits, connection limit, target timeout) and CloudWatch
//! counters. Attributes live in an `ArcSwap` so a change applies to the next
//! connection (limits) or the next request (target timeout) without a
//! restart. Rule changes go through [`ListenerHandle`], which recompiles the
//! listener's route table under the registry lock (so a target group cannot
//! be deleted halfway through) and swaps it in.
//!
//! The request path ([`crate::forward`], [`crate::listener`]) sits above this
//! module and reads its state; the one thing the handles need from it, the
//! accept loop a new listener runs, comes in from the crate root as an
//! `AcceptLoop` in the shared `AlbInner`.
//!
//! In a shadow balancer (`AlbInner::runtime` is `None`) a listener is only
//! its state: nothing is bound or spawned, and its local address is the
//! configured one. Its creation is validated all the same (rules, target
//! groups, and the address against the balancer's other listeners, as a
//! bind would be).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpSocket};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::access_log::{AccessLog, AccessLogConfig};
use crate::duration_ms;
use crate::health_check::HealthProbe;
use crate::metrics::{LoadBalancerCounts, LoadBalancerMetrics};
use crate::rule::{Action, Condition, RouteTable, RuleConfig, RuleDescription, RuleError, RuleSet};
use crate::target_group::TargetGroup;
use crate::upstream::UpstreamClient;

/// Why a load balancer operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadBalancerError {
    #[error("load balancer {0} already exists")]
    Exists(String),
    #[error("load balancer {0} not found")]
    NotFound(String),
}

/// Load balancer attributes and limits. In JSON every field is optional
/// (defaults below); durations are `idle_timeout_ms`,
/// `header_read_timeout_ms` and `target_timeout_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadBalancerAttributes {
    /// `idle_timeout.timeout_seconds`: close a client connection with no
    /// request for this long, and both the client and the target
    /// connection when a request or response body streaming between them
    /// pauses this long (default 60 s).
    #[serde(rename = "idle_timeout_ms", with = "duration_ms")]
    pub idle_timeout: Duration,
    /// Close a connection whose request head is not complete this long after
    /// its first byte (slowloris defence; default 10 s).
    #[serde(rename = "header_read_timeout_ms", with = "duration_ms")]
    pub header_read_timeout: Duration,
    /// Request line plus headers above this size get 431 (default 64 KiB,
    /// at least 8 KiB).
    pub max_header_bytes: usize,
    /// Connections beyond this are closed at once and counted in
    /// `RejectedConnectionCount` (default 10 000).
    pub max_connections: usize,
    /// A target slower than this to send response headers gets the client a
    /// 504 (default 60 s, the idle timeout, like AWS).
    #[serde(rename = "target_timeout_ms", with = "duration_ms")]
    pub target_timeout: Duration,
    /// Bind listeners with `SO_REUSEPORT` so several balancers (threads or
    /// processes) can share one port and the kernel spreads connections
    /// among them (default false: a second bind fails, as it should).
    pub reuse_port: bool,
    /// `access_logs.s3.*`: write one line per request there (default
    /// none; see [`crate::access_log`]). Omitted from JSON when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLogConfig>,
}

impl Default for LoadBalancerAttributes {
    fn default() -> Self {
        LoadBalancerAttributes {
            idle_timeout: Duration::from_secs(60),
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            max_connections: 10_000,
            target_timeout: Duration::from_secs(60),
            reuse_port: false,
            access_log: None,
        }
    }
}

/// Why a listener operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("listener {0} already exists")]
    Exists(String),
    #[error("listener {0} not found")]
    NotFound(String),
    #[error("cannot bind listener {listener_arn} to {addr}: {source}")]
    Bind {
        listener_arn: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("listener {listener_arn}: {source}")]
    Rule {
        listener_arn: String,
        #[source]
        source: RuleError,
    },
}

/// One listener's state: its socket address, its rules and their compiled
/// route table, and what stops it. Its accept loop and connections live in
/// [`crate::listener`].
pub(crate) struct Listener {
    pub arn: String,
    /// The address as configured (port 0 included), which the exported
    /// desired state reports.
    addr: Mutex<SocketAddr>,
    /// The bound address (in a shadow balancer: the configured one).
    pub local_addr: SocketAddr,
    /// The port as an `X-Forwarded-Port` value.
    pub port_header: HeaderValue,
    pub rules: Mutex<RuleSet>,
    pub routes: ArcSwap<RouteTable>,
    /// Stops the accept loop and asks connections to close gracefully.
    pub cancel: CancellationToken,
    /// Every connection task (and the accept loop) of this listener.
    pub tasks: TaskTracker,
}

impl Listener {
    pub(crate) fn new(
        arn: String,
        addr: SocketAddr,
        local_addr: SocketAddr,
        rules: RuleSet,
        routes: RouteTable,
    ) -> Self {
        Listener {
            arn,
            addr: Mutex::new(addr),
            local_addr,
            port_header: HeaderValue::from(local_addr.port()),
            rules: Mutex::new(rules),
            routes: ArcSwap::from_pointee(routes),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }

    pub(crate) fn lock_rules(&self) -> std::sync::MutexGuard<'_, RuleSet> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        *self.addr.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves a bound listener socket until the listener is cancelled, each
/// connection on the next of the I/O runtimes if given: the accept loop of
/// [`crate::listener`], which the crate root hands down in [`AlbInner`].
pub(crate) type AcceptLoop = fn(
    TcpListener,
    Arc<LoadBalancer>,
    Arc<Listener>,
    Option<Arc<[Handle]>>,
) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// What an [`crate::Alb`] and every handle it gives out share.
pub(crate) struct AlbInner {
    pub(crate) registry: Mutex<Registry>,
    pub(crate) client: UpstreamClient,
    pub(crate) probe: Arc<dyn HealthProbe>,
    /// Where listeners, health loops and drain tasks run; `None` for a
    /// shadow balancer, which runs none of them.
    pub(crate) runtime: Option<Handle>,
    /// Bumped whenever a target leaves any target group (its drain ended).
    pub(crate) removals: Arc<tokio::sync::watch::Sender<u64>>,
    /// Bumped whenever a target of any group changes health state
    /// (registered, healthy, unhealthy, draining, removed).
    pub(crate) health_changes: Arc<tokio::sync::watch::Sender<u64>>,
    /// Where client connections are served: `None` on the caller's
    /// runtime, else round robin over these single-threaded I/O runtimes.
    pub(crate) io_workers: Option<Arc<[Handle]>>,
    /// What a new listener runs (spawned on `runtime`, if any).
    pub(crate) accept_loop: AcceptLoop,
}

impl AlbInner {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The load balancers and target groups of one [`crate::Alb`], by ARN.
#[derive(Default)]
pub(crate) struct Registry {
    pub load_balancers: BTreeMap<String, Arc<LoadBalancer>>,
    pub target_groups: BTreeMap<String, Arc<TargetGroup>>,
}

/// Listeners by ARN, each with its accept loop task.
pub(crate) type ListenerMap = BTreeMap<String, (Arc<Listener>, Option<JoinHandle<()>>)>;

pub(crate) struct LoadBalancer {
    pub arn: String,
    attributes: ArcSwap<LoadBalancerAttributes>,
    pub metrics: LoadBalancerMetrics,
    pub client: UpstreamClient,
    pub listeners: Mutex<ListenerMap>,
    /// Where requests are logged, if anywhere (the `access_log` attribute).
    pub access_log: AccessLog,
}

impl LoadBalancer {
    pub(crate) fn new(
        arn: String,
        attributes: LoadBalancerAttributes,
        client: UpstreamClient,
    ) -> Self {
        LoadBalancer {
            arn,
            attributes: ArcSwap::from_pointee(attributes),
            metrics: LoadBalancerMetrics::default(),
            client,
            listeners: Mutex::new(BTreeMap::new()),
            access_log: AccessLog::default(),
        }
    }

    pub(crate) fn attributes(&self) -> Arc<LoadBalancerAttributes> {
        self.attributes.load_full()
    }

    /// The current target timeout and idle timeout (which also bounds a
    /// pause in a streamed body), without cloning the attributes' `Arc`.
    pub(crate) fn request_timeouts(&self) -> (Duration, Duration) {
        let a = self.attributes.load();
        (a.target_timeout, a.idle_timeout)
    }

    pub(crate) fn lock_listeners(&self) -> std::sync::MutexGuard<'_, ListenerMap> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stop accepting on every listener; returns them so the caller can wait.
    pub(crate) async fn close_listeners(&self) -> Vec<Arc<Listener>> {
        let taken: Vec<_> = std::mem::take(&mut *self.lock_listeners())
            .into_values()
            .collect();
        let mut out = Vec::with_capacity(taken.len());
        for (l, task) in taken {
            close_listener(&l, task).await;
            out.push(l);
        }
        out
    }
}

async fn close_listener(l: &Listener, accept: Option<JoinHandle<()>>) {
    l.cancel.cancel();
    l.tasks.close();
    if let Some(t) = accept {
        // The socket is unbound once the accept loop has returned.
        let _ = t.await;
    }
    info!(listener = %l.arn, "listener closed");
}

/// Whether listeners on `a` and `b` could not both be bound (same port,
/// and the same address or a wildcard covering the other; `[::]` is dual
/// stack). Port 0 never clashes.
fn clashes(a: SocketAddr, b: SocketAddr) -> bool {
    if a.port() == 0 || a.port() != b.port() {
        return false;
    }
    let covers =
        |x: IpAddr, y: IpAddr| x == y || (x.is_unspecified() && (x.is_ipv6() || y.is_ipv4()));
    covers(a.ip(), b.ip()) || covers(b.ip(), a.ip())
}

fn bind(addr: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}

/// A cheap, cloneable handle to one load balancer.
#[derive(Clone)]
pub struct LoadBalancerHandle {
    pub(crate) alb: Arc<AlbInner>,
    pub(crate) lb: Arc<LoadBalancer>,
}

impl std::fmt::Debug for LoadBalancerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadBalancerHandle")
            .field("arn", &self.lb.arn)
            .finish()
    }
}

impl LoadBalancerHandle {
    pub fn arn(&self) -> &str {
        &self.lb.arn
    }

    pub fn attributes(&self) -> LoadBalancerAttributes {
        self.lb.attributes().as_ref().clone()
    }

    /// `ModifyLoadBalancerAttributes`: applies to new connections and new
    /// requests.
    pub fn set_attributes(&self, attributes: LoadBalancerAttributes) {
        let live = self.alb.runtime.is_some();
        self.lb
            .access_log
            .configure(attributes.access_log.as_ref(), live);
        self.lb.attributes.store(Arc::new(attributes));
    }

    /// A snapshot of this load balancer's CloudWatch counters.
    pub fn counts(&self) -> LoadBalancerCounts {
        self.lb.metrics.snapshot()
    }

    /// `CreateListener`: bind `addr` (port 0 picks a free port; read it back
    /// with [`ListenerHandle::local_addr`]) and start serving with
    /// `default_action` until rules are added. A shadow balancer binds
    /// nothing: the listener's local address is `addr` as given, and
    /// creating it fails only if another of its listeners holds that
    /// address (as the bind would).
    pub async fn create_listener(
        &self,
        listener_arn: impl Into<String>,
        addr: SocketAddr,
        default_action: Action,
    ) -> Result<ListenerHandle, ListenerError> {
        self.create_listener_with_rules(listener_arn, addr, default_action, BTreeMap::new())
            .await
    }

    /// [`LoadBalancerHandle::create_listener`] serving `rules` (by rule ARN)
    /// from its first connection on; nothing is bound unless every rule is
    /// valid.
    pub async fn create_listener_with_rules(
        &self,
        listener_arn: impl Into<String>,
        addr: SocketAddr,
        default_action: Action,
        rules: BTreeMap<String, RuleConfig>,
    ) -> Result<ListenerHandle, ListenerError> {
        let arn = listener_arn.into();
        let rule_err = |source| ListenerError::Rule {
            listener_arn: arn.clone(),
            source,
        };
        if self.lock_listener_exists(&arn) {
            return Err(ListenerError::Exists(arn));
        }
        let rules = RuleSet::with_rules(default_action, rules).map_err(rule_err)?;
        let routes = {
            let reg = self.alb.lock();
            rules
                .compile(|a| reg.target_groups.get(a).cloned())
                .map_err(rule_err)?
        };
        let Some(runtime) = &self.alb.runtime else {
            return self.insert_shadow_listener(arn, addr, rules, routes);
        };
        let reuse_port = self.lb.attributes().reuse_port;
        let socket = bind(addr, reuse_port).map_err(|source| ListenerError::Bind {
            listener_arn: arn.clone(),
            addr,
            source,
        })?;
        let local_addr = socket.local_addr().map_err(|source| ListenerError::Bind {
            listener_arn: arn.clone(),
            addr,
            source,
        })?;
        let listener = Arc::new(Listener::new(arn.clone(), addr, local_addr, rules, routes));
        let mut listeners = self.lb.lock_listeners();
        if listeners.contains_key(&arn) {
            return Err(ListenerError::Exists(arn));
        }
        let task = runtime.spawn((self.alb.accept_loop)(
            socket,
            Arc::clone(&self.lb),
            Arc::clone(&listener),
            self.alb.io_workers.clone(),
        ));
        listeners.insert(arn.clone(), (Arc::clone(&listener), Some(task)));
        info!(load_balancer = %self.lb.arn, listener = %arn, %local_addr, "listener bound");
        Ok(ListenerHandle {
            alb: Arc::clone(&self.alb),
            listener,
        })
    }

    /// A shadow balancer's listener: checked against every listener of the
    /// balancer for the address, then recorded; nothing bound or spawned.
    fn insert_shadow_listener(
        &self,
        arn: String,
        addr: SocketAddr,
        rules: RuleSet,
        routes: RouteTable,
    ) -> Result<ListenerHandle, ListenerError> {
        let reg = self.alb.lock();
        let reuse_port = self.lb.attributes().reuse_port;
        for lb in reg.load_balancers.values() {
            let shared = reuse_port && lb.attributes().reuse_port;
            let listeners = lb.lock_listeners();
            let taken = listeners
                .values()
                .find(|(l, _)| !shared && clashes(addr, l.local_addr));
            if let Some((l, _)) = taken {
                return Err(ListenerError::Bind {
                    listener_arn: arn,
                    addr,
                    source: std::io::Error::new(
                        std::io::ErrorKind::AddrInUse,
                        format!("listener {} holds {}", l.arn, l.local_addr),
                    ),
                });
            }
        }
        let mut listeners = self.lb.lock_listeners();
        if listeners.contains_key(&arn) {
            return Err(ListenerError::Exists(arn));
        }
        let listener = Arc::new(Listener::new(arn.clone(), addr, addr, rules, routes));
        listeners.insert(arn.clone(), (Arc::clone(&listener), None));
        drop(reg);
        info!(load_balancer = %self.lb.arn, listener = %arn, %addr, "shadow listener created");
        Ok(ListenerHandle {
            alb: Arc::clone(&self.alb),
            listener,
        })
    }

    fn lock_listener_exists(&self, arn: &str) -> bool {
        self.lb.lock_listeners().contains_key(arn)
    }

    pub fn listener(&self, listener_arn: &str) -> Option<ListenerHandle> {
        self.lb
            .lock_listeners()
            .get(listener_arn)
            .map(|(l, _)| ListenerHandle {
                alb: Arc::clone(&self.alb),
                listener: Arc::clone(l),
            })
    }

    pub fn listeners(&self) -> Vec<ListenerHandle> {
        self.lb
            .lock_listeners()
            .values()
            .map(|(l, _)| ListenerHandle {
                alb: Arc::clone(&self.alb),
                listener: Arc::clone(l),
            })
            .collect()
    }

    /// `DeleteListener`: the socket is unbound when this returns; open
    /// connections finish their current request in the background.
    pub async fn delete_listener(&self, listener_arn: &str) -> Result<(), ListenerError> {
        let removed = self.lb.lock_listeners().remove(listener_arn);
        let Some((l, task)) = removed else {
            return Err(ListenerError::NotFound(listener_arn.to_owned()));
        };
        close_listener(&l, task).await;
        Ok(())
    }
}

/// A cheap, cloneable handle to one listener and its rules.
#[derive(Clone)]
pub struct ListenerHandle {
    pub(crate) alb: Arc<AlbInner>,
    pub(crate) listener: Arc<Listener>,
}

impl std::fmt::Debug for ListenerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerHandle")
            .field("arn", &self.listener.arn)
            .field("local_addr", &self.listener.local_addr)
            .finish()
    }
}

impl ListenerHandle {
    pub fn arn(&self) -> &str {
        &self.listener.arn
    }

    /// The bound address (with the real port when bound to port 0; in a
    /// shadow balancer the configured address, port 0 included).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr
    }

    /// The address as configured: given to
    /// [`LoadBalancerHandle::create_listener`], or by the last desired
    /// state applied that kept this listener (port 0 stays 0).
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// Record a new configured address for a listener kept where it is
    /// (the reconcile's port 0 matched its bound port, or vice versa).
    pub(crate) fn set_addr(&self, addr: SocketAddr) {
        *self.listener.addr.lock().unwrap_or_else(|p| p.into_inner()) = addr;
    }

    /// Apply `f` to a copy of the rules, recompile, and swap the new table
    /// in; on any error nothing changes.
    fn update(
        &self,
        f: impl FnOnce(&mut RuleSet) -> Result<(), RuleError>,
    ) -> Result<(), ListenerError> {
        let err = |source| ListenerError::Rule {
            listener_arn: self.listener.arn.clone(),
            source,
        };
        let reg = self.alb.lock();
        let mut rules = self.listener.lock_rules();
        let mut next = rules.clone();
        f(&mut next).map_err(err)?;
        let table = next
            .compile(|a| reg.target_groups.get(a).cloned())
            .map_err(err)?;
        *rules = next;
        self.listener.routes.store(Arc::new(table));
        Ok(())
    }

    /// `CreateRule`.
    pub fn create_rule(
        &self,
        rule_arn: impl Into<String>,
        rule: RuleConfig,
    ) -> Result<(), ListenerError> {
        let arn = rule_arn.into();
        self.update(|set| {
            rule.validate()?;
            if set.rules.contains_key(&arn) {
                return Err(RuleError::RuleExists(arn));
            }
            set.check_priority_free(rule.priority, &arn)?;
            set.rules.insert(arn, rule);
            Ok(())
        })
    }

    /// `ModifyRule`: replace the conditions and/or the action.
    pub fn modify_rule(
        &self,
        rule_arn: &str,
        conditions: Option<Vec<Condition>>,
        action: Option<Action>,
    ) -> Result<(), ListenerError> {
        self.update(|set| {
            let rule = set
                .rules
                .get_mut(rule_arn)
                .ok_or_else(|| RuleError::RuleNotFound(rule_arn.to_owned()))?;
            if let Some(c) = conditions {
                rule.conditions = c;
            }
            if let Some(a) = action {
                rule.action = a;
            }
            rule.validate()
        })
    }

    /// `DeleteRule`.
    pub fn delete_rule(&self, rule_arn: &str) -> Result<(), ListenerError> {
        self.update(|set| {
            set.rules
                .remove(rule_arn)
                .map(|_| ())
                .ok_or_else(|| RuleError::RuleNotFound(rule_arn.to_owned()))
        })
    }

    /// `SetRulePriorities`: all or nothing.
    pub fn set_rule_priorities(&self, priorities: &[(String, u32)]) -> Result<(), ListenerError> {
        self.update(|set| {
            for (arn, p) in priorities {
                let rule = set
                    .rules
                    .get_mut(arn)
                    .ok_or_else(|| RuleError::RuleNotFound(arn.clone()))?;
                rule.priority = *p;
                rule.validate()?;
            }
            for (arn, p) in priorities {
                set.check_priority_free(*p, arn)?;
            }
            Ok(())
        })
    }

    /// `ModifyListener --default-actions`.
    pub fn set_default_action(&self, action: Action) -> Result<(), ListenerError> {
        self.update(|set| {
            *set = RuleSet {
                rules: std::mem::take(&mut set.rules),
                default_action: action,
            };
            RuleSet::new(set.default_action.clone()).map(|_| ())
        })
    }

    /// Replace the default action and every rule (by rule ARN) at once, all
    /// or nothing: requests see the old route table or the new one, never
    /// a mix, and two rules may swap priorities.
    pub fn replace_rules(
        &self,
        default_action: Action,
        rules: BTreeMap<String, RuleConfig>,
    ) -> Result<(), ListenerError> {
        self.update(|set| {
            *set = RuleSet::with_rules(default_action, rules)?;
            Ok(())
        })
    }

    /// The default action and the rules by rule ARN, as set.
    pub fn rules(&self) -> (Action, BTreeMap<String, RuleConfig>) {
        let set = self.listener.lock_rules();
        (set.default_action.clone(), set.rules.clone())
    }

    /// `DescribeRules`: by ascending priority, the default rule last.
    pub fn describe_rules(&self) -> Vec<RuleDescription> {
        self.listener.lock_rules().describe(&self.listener.arn)
    }
}
