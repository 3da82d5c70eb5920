//! Outgoing calls to peers: a small keep-alive pool of HTTP/1.1
//! connections per peer, and errors that name the hop that failed.
//!
//! The pool is hyper's bare `client::conn::http1` with an idle stack per
//! peer, not reqwest: a hop is a `GET` on a name we already validated, so
//! reqwest's per-request URL parsing, header-map building, boxed timeout and
//! pool bookkeeping were a tenth of a node's CPU under load, for nothing.
//! What stays: one timeout per call (connect, request and body together),
//! keep-alive reuse, `TCP_NODELAY`, and peer names resolved by the system
//! resolver on each new connection (Docker's embedded DNS in a container).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;

/// Header carrying the time a hop may still spend, in milliseconds.
pub const BUDGET_HEADER: &str = "x-pingpong-budget-ms";

/// The most hops a relayed chain may have (a guard against loops).
pub const MAX_HOPS: usize = 16;

/// Idle connections kept per peer; more are closed when returned.
const MAX_IDLE_PER_PEER: usize = 256;

/// An idle connection older than this is closed rather than reused (the
/// peer may have dropped it; reqwest's default was 90 s, ours 30 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

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

type Sender = SendRequest<Empty<Bytes>>;

/// Idle connections of one peer, most recently used last.
type Idle = Vec<(Sender, Instant)>;

/// The one HTTP client of the process, pooled and kept alive, cheap to
/// clone (an `Arc` inside).
#[derive(Clone, Default)]
pub struct Peers {
    idle: Arc<Mutex<HashMap<String, Idle>>>,
}

impl Peers {
    pub fn new() -> Self {
        Self::default()
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
        let call = self.get(peer, path_and_query, next_budget);
        let (status, body) = match tokio::time::timeout(budget, call).await {
            Ok(answer) => answer?,
            Err(_) => {
                return Err(HopError::Timeout {
                    peer: peer.to_string(),
                    ms: budget.as_millis() as u64,
                })
            }
        };
        if !status.is_success() {
            // A relaying hop answers 502 with the name of the hop that
            // really failed: pass that on rather than blaming the messenger.
            if status == StatusCode::BAD_GATEWAY {
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

    /// One request on a pooled (or new) connection; the connection goes
    /// back to the pool once the whole answer is read.
    async fn get(
        &self,
        peer: &str,
        path_and_query: &str,
        next_budget: Duration,
    ) -> Result<(StatusCode, Bytes), HopError> {
        let other = |e: hyper::Error| HopError::Other {
            peer: peer.to_string(),
            reason: root_cause(&e),
        };
        let (mut sender, reused) = self.checkout(peer).await?;
        let request = Request::get(path_and_query)
            .header(HOST, host_header(peer))
            .header(BUDGET_HEADER, millis_header(next_budget))
            .body(Empty::new())
            .map_err(|e| HopError::Other {
                peer: peer.to_string(),
                reason: e.to_string(),
            })?;
        let response = match sender.try_send_request(request).await {
            Ok(response) => response,
            // A kept-alive connection the peer closed while it sat idle
            // (a restarting peer closes its idle connections): the request
            // was never written, so it goes once more on a new connection,
            // as reqwest's pool did.
            Err(mut e) if reused && e.message().is_some() => {
                let request = e.take_message().expect("checked above");
                sender = connect(peer).await?;
                sender.send_request(request).await.map_err(other)?
            }
            Err(e) => return Err(other(e.into_error())),
        };
        let status = response.status();
        let body = response.into_body().collect().await.map_err(other)?;
        self.checkin(peer, sender);
        Ok((status, body.to_bytes()))
    }

    /// A ready connection to `peer`: the most recently used idle one that
    /// is still open (`true`: reused), or a new one.
    async fn checkout(&self, peer: &str) -> Result<(Sender, bool), HopError> {
        loop {
            let reused = {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                idle.get_mut(peer).and_then(Vec::pop)
            };
            let Some((mut sender, since)) = reused else {
                return Ok((connect(peer).await?, false));
            };
            if sender.is_closed() || since.elapsed() > IDLE_TIMEOUT {
                continue;
            }
            // Ready at once unless the previous answer is still being wound
            // up on the connection; an error means the peer closed it.
            if sender.ready().await.is_ok() {
                return Ok((sender, true));
            }
        }
    }

    fn checkin(&self, peer: &str, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = match idle.get_mut(peer) {
            Some(list) => list,
            None => idle.entry(peer.to_string()).or_default(),
        };
        if list.len() < MAX_IDLE_PER_PEER {
            list.push((sender, Instant::now()));
        }
    }
}

/// Resolves `peer` (the system resolver: Docker's embedded DNS in a
/// container), connects to its first address that accepts, and starts the
/// HTTP/1.1 connection task.
async fn connect(peer: &str) -> Result<Sender, HopError> {
    let connect_error = |e: &std::io::Error| {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            HopError::Refused {
                peer: peer.to_string(),
            }
        } else {
            HopError::Connect {
                peer: peer.to_string(),
                reason: e.to_string(),
            }
        }
    };
    let addrs = tokio::net::lookup_host(peer)
        .await
        .map_err(|e| connect_error(&e))?;
    let mut last = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(stream) = stream else {
        return Err(match last {
            Some(e) => connect_error(&e),
            None => HopError::Connect {
                peer: peer.to_string(),
                reason: "the name has no address".into(),
            },
        });
    };
    // Each hop is one small write; Nagle would hold it for the peer's ACK.
    let _ = stream.set_nodelay(true);
    let (sender, connection) =
        http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| HopError::Connect {
                peer: peer.to_string(),
                reason: root_cause(&e),
            })?;
    tokio::spawn(async move {
        // Ends when the peer closes or every sender is dropped; a failed
        // request already reported its error to the caller.
        let _ = connection.await;
    });
    Ok(sender)
}

/// `Host` as reqwest sent it: `host:port`, or just `host` for port 80.
fn host_header(peer: &str) -> HeaderValue {
    let host = peer.strip_suffix(":80").unwrap_or(peer);
    HeaderValue::from_str(host).unwrap_or_else(|_| HeaderValue::from_static("localhost"))
}

fn millis_header(d: Duration) -> HeaderValue {
    HeaderValue::from(d.as_millis().min(u64::MAX as u128) as u64)
}

/// The innermost cause of an error, the part a person needs to read.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut root = e;
    while let Some(next) = root.source() {
        root = next;
    }
    root.to_string()
}
