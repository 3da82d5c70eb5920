//! Outgoing calls to peers: one pooled keep-alive client, and errors that
//! name the hop that failed.

use std::time::Duration;

use serde::Deserialize;

/// Header carrying the time a hop may still spend, in milliseconds.
pub const BUDGET_HEADER: &str = "x-pingpong-budget-ms";

/// The most hops a relayed chain may have (a guard against loops).
pub const MAX_HOPS: usize = 16;

/// Why a call to a peer failed. Rendered as `"<peer>: <what happened>"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HopError {
    #[error("{peer}: connection refused")]
    Refused { peer: String },
    #[error("{peer}: timed out after {ms} ms")]
    Timeout { peer: String, ms: u64 },
    #[error("{peer}: cannot connect: {reason}")]
    Connect { peer: String, reason: String },
    #[error("{peer}: answered HTTP {status}")]
    Status { peer: String, status: u16 },
    #[error("{peer}: invalid answer: {reason}")]
    Invalid { peer: String, reason: String },
    #[error("{peer}: {reason}")]
    Other { peer: String, reason: String },
    /// A hop further down the chain failed; its message already names it.
    #[error("{0}")]
    Downstream(String),
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// The one HTTP client of the process, pooled and kept alive, cheap to
/// clone (an `Arc` inside).
#[derive(Clone)]
pub struct Peers {
    client: reqwest::Client,
}

impl Peers {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .expect("a plain-HTTP reqwest client always builds");
        Peers { client }
    }

    /// `GET http://<peer><path_and_query>` within `budget`, expecting a JSON
    /// value of type `T`. The next hop is told `next_budget`.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        peer: &str,
        path_and_query: &str,
        budget: Duration,
        next_budget: Duration,
    ) -> Result<T, HopError> {
        let url = format!("http://{peer}{path_and_query}");
        let response = self
            .client
            .get(&url)
            .timeout(budget)
            .header(BUDGET_HEADER, next_budget.as_millis().to_string())
            .send()
            .await
            .map_err(|e| classify(peer, budget, &e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| classify(peer, budget, &e))?;
        if !status.is_success() {
            // A relaying hop answers 502 with the name of the hop that
            // really failed: pass that on rather than blaming the messenger.
            if status == reqwest::StatusCode::BAD_GATEWAY {
                if let Ok(ErrorBody { error }) = serde_json::from_slice(&body) {
                    return Err(HopError::Downstream(error));
                }
            }
            return Err(HopError::Status {
                peer: peer.to_string(),
                status: status.as_u16(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| HopError::Invalid {
            peer: peer.to_string(),
            reason: e.to_string(),
        })
    }
}

impl Default for Peers {
    fn default() -> Self {
        Self::new()
    }
}

/// Turns a reqwest error into what a person needs to read.
fn classify(peer: &str, budget: Duration, e: &reqwest::Error) -> HopError {
    let peer = peer.to_string();
    if e.is_timeout() {
        return HopError::Timeout {
            peer,
            ms: budget.as_millis() as u64,
        };
    }
    // Walk to the innermost cause: hyper-util wraps the io::Error.
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        if let Some(io) = next.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return HopError::Refused { peer };
            }
        }
        root = next;
    }
    let reason = root.to_string();
    if e.is_connect() {
        HopError::Connect { peer, reason }
    } else {
        HopError::Other { peer, reason }
    }
}
