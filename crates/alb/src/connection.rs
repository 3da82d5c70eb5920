//! A client connection's request timing, shared by the listener (its
//! socket wrapper and watchdog, which close slow or idle connections) and
//! the response body the forwarder streams back, which holds the request's
//! [`ConnRequest`] until the body ends; and the idle timer of a body
//! streamed through the balancer in either direction ([`IdleTimer`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// The error type of the bodies the balancer streams.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed body's source sent nothing for the load balancer's idle
/// timeout (`idle_timeout.timeout_seconds`).
#[derive(Debug)]
pub(crate) struct IdleTimeout(pub(crate) Duration);

impl std::fmt::Display for IdleTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no body data for the idle timeout ({:?})", self.0)
    }
}

impl std::error::Error for IdleTimeout {}

/// The idle timeout of a body streamed through the balancer (a target's
/// response body to the client, a client's request body to the target):
/// expires once the body's source has had nothing to give for `idle` since
/// the body last yielded data. The clock only runs while the body is read
/// and its source has nothing (the reader's own slowness is not the
/// source's idleness), and a body that never has to wait never arms it.
pub(crate) struct IdleTimer {
    idle: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    progressed: bool,
}

impl IdleTimer {
    pub(crate) fn new(idle: Duration) -> Self {
        IdleTimer {
            idle,
            sleep: None,
            progressed: false,
        }
    }

    /// The body yielded data: the next wait starts a new idle period.
    pub(crate) fn progress(&mut self) {
        self.progressed = true;
    }

    /// The body's source has nothing now: whether it has had nothing for
    /// the idle timeout. If not, `cx` is woken when it will have.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let progressed = std::mem::take(&mut self.progressed);
        let sleep = match &mut self.sleep {
            Some(s) => {
                if progressed {
                    s.as_mut().reset(Instant::now() + self.idle);
                }
                s
            }
            None => self.sleep.insert(Box::pin(tokio::time::sleep(self.idle))),
        };
        sleep.as_mut().poll(cx).is_ready()
    }

    pub(crate) fn error(&self) -> BoxError {
        Box::new(IdleTimeout(self.idle))
    }
}

/// Timing state shared by a connection's IO wrapper, its requests and its
/// watchdog. Times are milliseconds since `base`, plus one so 0 means unset.
pub(crate) struct ConnState {
    pub(crate) base: Instant,
    pub(crate) active_requests: AtomicUsize,
    pub(crate) idle_since: AtomicU64,
    pub(crate) head_started: AtomicU64,
}

impl ConnState {
    pub(crate) fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    pub(crate) fn at(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms.saturating_sub(1))
    }
}

/// Marks one request of a connection as active until dropped.
pub(crate) struct ConnRequest(Arc<ConnState>);

impl ConnRequest {
    pub(crate) fn start(state: &Arc<ConnState>) -> Self {
        state.active_requests.fetch_add(1, Ordering::Relaxed);
        state.head_started.store(0, Ordering::Relaxed);
        ConnRequest(Arc::clone(state))
    }
}

impl Drop for ConnRequest {
    fn drop(&mut self) {
        self.0.idle_since.store(self.0.now(), Ordering::Relaxed);
        self.0.active_requests.fetch_sub(1, Ordering::Relaxed);
    }
}
