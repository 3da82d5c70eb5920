//! One registered target: its address, its health, its load.
//!
//! The request path reads two atomic flags: `healthy` (published by the
//! health loop from the [`HealthMachine`]) and `enabled` (cleared at once on
//! deregistration). Keeping them apart is what lets a draining target finish
//! the requests it already has while receiving no new ones. `in_flight`
//! feeds `least_outstanding_requests` and tells the drain task when the
//! target is empty; an [`InFlight`] guard owns one unit of it for exactly as
//! long as a request (including its streamed response body) lives.
//!
//! Each target also keeps its idle upstream keep-alive connections: a small
//! LIFO stack behind a mutex held only for a push or a pop (uncontended in
//! the thread-per-core binary, where every thread has its own balancer).
//! Closed or stale ones are dropped at checkout and by the health loop.
//! Those connections carry an `UpstreamBody` (the client's request body,
//! cut off after the idle timeout without data), defined here with them;
//! opening them and sending on them is `upstream`'s.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Authority;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::connection::{BoxError, IdleTimer};
use crate::health_check::{HealthCheckConfig, HealthMachine, ProbeOutcome, TargetHealth};
use crate::io_threads;

/// Idle keep-alive connections kept per target.
const MAX_IDLE_PER_TARGET: usize = 1024;

/// How long an upstream connection may sit unused in a target's pool.
pub(crate) const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(55);

/// An idle upstream connection: its request sender (the connection itself
/// is driven by its own task) and when it was last used.
struct IdleConn {
    tx: SendRequest<UpstreamBody>,
    since: Instant,
}

/// How the client's request body failed while it was sent to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientBodyError {
    /// The client sent a malformed body (bad chunked framing) or closed
    /// the connection before the body ended.
    Broken,
    /// The client sent nothing for the idle timeout.
    Idle,
}

/// The client's request body, shared by the attempts at forwarding it: a
/// retry can take it back if the first attempt never touched it. Records
/// how the body failed, so the forwarder answers the client (400 or 408)
/// instead of blaming the target.
pub(crate) struct ClientBody {
    body: Mutex<Option<Incoming>>,
    failed: std::sync::OnceLock<ClientBodyError>,
}

impl ClientBody {
    pub(crate) fn new(body: Incoming) -> Self {
        ClientBody {
            body: Mutex::new(Some(body)),
            failed: std::sync::OnceLock::new(),
        }
    }

    /// Whether no attempt has taken the body yet.
    pub(crate) fn untouched(&self) -> bool {
        self.body.lock().map(|b| b.is_some()).unwrap_or(false)
    }

    /// How the body failed, if it did.
    pub(crate) fn failure(&self) -> Option<ClientBodyError> {
        self.failed.get().copied()
    }
}

/// The body sent upstream on a target's connections: nothing, or the
/// client's body (see [`ClientBody`]), cut off with an error once the
/// client sends nothing for the load balancer's idle timeout.
pub(crate) enum UpstreamBody {
    Empty,
    Shared {
        slot: Arc<ClientBody>,
        taken: Option<Incoming>,
        idle: IdleTimer,
    },
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            UpstreamBody::Empty => Poll::Ready(None),
            UpstreamBody::Shared { slot, taken, idle } => {
                if taken.is_none() {
                    *taken = slot.body.lock().unwrap_or_else(|p| p.into_inner()).take();
                }
                let Some(body) = taken else {
                    return Poll::Ready(None);
                };
                match Pin::new(body).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        idle.progress();
                        Poll::Ready(Some(Ok(frame)))
                    }
                    Poll::Ready(Some(Err(e))) => {
                        let _ = slot.failed.set(ClientBodyError::Broken);
                        Poll::Ready(Some(Err(e.into())))
                    }
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Pending if idle.poll_expired(cx) => {
                        let _ = slot.failed.set(ClientBodyError::Idle);
                        Poll::Ready(Some(Err(idle.error())))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Empty => true,
            UpstreamBody::Shared { taken: Some(b), .. } => b.is_end_stream(),
            UpstreamBody::Shared { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Empty => SizeHint::with_exact(0),
            UpstreamBody::Shared { slot, taken, .. } => match taken {
                Some(b) => b.size_hint(),
                None => slot
                    .body
                    .lock()
                    .ok()
                    .and_then(|s| s.as_ref().map(Body::size_hint))
                    .unwrap_or_default(),
            },
        }
    }
}

/// A target as the caller registers it: AWS keys targets by `(id, port)`;
/// `host` is what to connect to (an IP or a DNS name resolved at connect
/// time) and defaults to the id, which suits `ip` target groups. In JSON
/// `{"id": "10.0.0.7", "port": 8080, "host": "10.0.0.7"}`, `host` optional.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "TargetJson")]
pub struct Target {
    pub id: String,
    pub port: u16,
    pub host: String,
    /// Where traffic and traffic-port health checks actually go, when not
    /// `host:port`: e.g. a container's address on Docker's bridge network
    /// for a target registered as instance + host port, which skips the
    /// engine's userland port proxy. AWS sees only `(id, port)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial: Option<SocketAddr>,
}

/// [`Target`] as JSON may spell it: without `host`.
#[derive(Deserialize)]
struct TargetJson {
    id: String,
    port: u16,
    host: Option<String>,
    dial: Option<SocketAddr>,
}

impl From<TargetJson> for Target {
    fn from(t: TargetJson) -> Target {
        Target {
            host: t.host.unwrap_or_else(|| t.id.clone()),
            id: t.id,
            port: t.port,
            dial: t.dial,
        }
    }
}

impl Target {
    /// An IP (or host name) target: connect to `id:port`.
    pub fn new(id: impl Into<String>, port: u16) -> Self {
        let id = id.into();
        Target {
            host: id.clone(),
            id,
            port,
            dial: None,
        }
    }

    /// An instance-style target whose id is not an address.
    pub fn with_host(id: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        Target {
            id: id.into(),
            port,
            host: host.into(),
            dial: None,
        }
    }

    /// The same target, reached at `addr` instead of `host:port`.
    pub fn dialed_at(mut self, addr: Option<SocketAddr>) -> Self {
        self.dial = addr;
        self
    }

    /// Where traffic goes: `dial`, or `host` at `port`.
    pub fn traffic_host_port(&self) -> (String, u16) {
        match self.dial {
            Some(a) => (a.ip().to_string(), a.port()),
            None => (self.host.clone(), self.port),
        }
    }
}

/// Runtime state of one registered target.
pub(crate) struct TargetRuntime {
    pub spec: Target,
    /// `host:port`, parsed once at registration.
    pub authority: Authority,
    healthy: AtomicBool,
    enabled: AtomicBool,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    health: Mutex<HealthMachine>,
    /// Registered as known healthy (`register_targets_healthy`).
    registered_healthy: bool,
    /// Signalled when `in_flight` drops to zero while draining.
    idle: Notify,
    /// Stops this target's health loop.
    pub cancel: CancellationToken,
    /// Idle keep-alive connections to this target, most recently used last.
    /// One stack per I/O thread (see `io_threads::io_workers`): a connection
    /// is reused by the thread whose runtime drives it, never across
    /// threads. Slot 0 serves every other thread.
    idle_conns: Box<[Mutex<Vec<IdleConn>>]>,
}

impl TargetRuntime {
    /// A target starting `healthy` (known healthy before) or `initial`.
    pub(crate) fn with_health(
        spec: Target,
        authority: Authority,
        cancel: CancellationToken,
        healthy: bool,
    ) -> Self {
        TargetRuntime {
            spec,
            authority,
            healthy: AtomicBool::new(healthy),
            enabled: AtomicBool::new(true),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            health: Mutex::new(if healthy {
                HealthMachine::healthy()
            } else {
                HealthMachine::new()
            }),
            registered_healthy: healthy,
            idle: Notify::new(),
            cancel,
            idle_conns: (0..io_threads::io_slots())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        }
    }

    fn machine(&self) -> MutexGuard<'_, HealthMachine> {
        // A poisoned lock only means a panic elsewhere mid-update; the
        // machine is still a valid value.
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn key_matches(&self, id: &str, port: u16) -> bool {
        self.spec.id == id && self.spec.port == port
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Whether it was registered as known healthy and its checks have not
    /// failed it since (`healthy`, or `unavailable` with checks off): how
    /// the exported desired state re-registers it.
    pub(crate) fn still_known_healthy(&self) -> bool {
        self.registered_healthy && self.machine().is_routable()
    }

    pub(crate) fn health(&self) -> TargetHealth {
        self.machine().health().clone()
    }

    pub(crate) fn with_machine<R>(&self, f: impl FnOnce(&mut HealthMachine) -> R) -> R {
        let mut m = self.machine();
        let r = f(&mut m);
        self.healthy.store(m.is_routable(), Ordering::Relaxed);
        r
    }

    pub(crate) fn record_outcome(
        &self,
        outcome: &ProbeOutcome,
        config: &HealthCheckConfig,
    ) -> bool {
        self.with_machine(|m| m.on_outcome(outcome, config))
    }

    /// Stop new requests at once and mark the target draining.
    pub(crate) fn begin_drain(&self) {
        self.enabled.store(false, Ordering::Relaxed);
        self.with_machine(HealthMachine::on_deregister);
    }

    /// Wait until no request is in flight.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.in_flight() == 0 {
                return;
            }
            notified.await;
        }
    }

    fn idle_conns(&self) -> MutexGuard<'_, Vec<IdleConn>> {
        // `io_slots()` is at least 2, so there is always a slot.
        let slot = io_threads::current_io_slot() % self.idle_conns.len();
        self.idle_conns[slot]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The most recently used idle connection that is not known to be
    /// closed.
    pub(crate) fn checkout(&self) -> Option<SendRequest<UpstreamBody>> {
        let mut idle = self.idle_conns();
        while let Some(c) = idle.pop() {
            if !c.tx.is_closed() {
                return Some(c.tx);
            }
        }
        None
    }

    /// Return a connection whose last response was read completely.
    pub(crate) fn checkin(&self, tx: SendRequest<UpstreamBody>) {
        if tx.is_closed() {
            return;
        }
        let mut idle = self.idle_conns();
        if idle.len() < MAX_IDLE_PER_TARGET {
            idle.push(IdleConn {
                tx,
                since: Instant::now(),
            });
        }
    }

    /// Close connections idle for longer than `max_idle` (or closed by the
    /// target).
    pub(crate) fn prune_idle(&self, max_idle: std::time::Duration) {
        let now = Instant::now();
        for slot in &*self.idle_conns {
            slot.lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|c| !c.tx.is_closed() && now.duration_since(c.since) < max_idle);
        }
    }

    /// Count a request to this target; the guard ends it.
    pub(crate) fn start_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }
}

/// One request in flight to a target; dropping it ends the request.
pub(crate) struct InFlight(Arc<TargetRuntime>);

impl InFlight {
    pub(crate) fn target(&self) -> &Arc<TargetRuntime> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let prev = self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        if prev == 1 && !self.0.is_enabled() {
            // notify_one stores a permit, so a drain task that checks the
            // counter just before this cannot miss the wake-up.
            self.0.idle.notify_one();
        }
    }
}
