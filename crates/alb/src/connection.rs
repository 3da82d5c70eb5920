//! A client connection's request timing, shared by the listener (its
//! socket wrapper and watchdog, which close slow or idle connections) and
//! the response body the forwarder streams back, which holds the request's
//! [`ConnRequest`] until the body ends.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

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
