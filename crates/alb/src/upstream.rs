//! Upstream HTTP/1 connections to targets: the connection settings every
//! load balancer of an [`crate::Alb`] shares, opening a connection (the
//! host name resolved on every new one, so Docker DNS names keep working
//! when containers move), and sending a request on a pooled connection of a
//! target or a new one. The pool itself is the target's
//! ([`TargetRuntime::checkout`] / [`TargetRuntime::checkin`]); what to send
//! and what to answer the client is [`crate::forward`]'s.

use std::net::IpAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::debug;

use crate::target::{TargetRuntime, UpstreamBody};

/// Upstream connection settings shared by every load balancer of an
/// [`crate::Alb`]. The connections themselves are pooled per target (see
/// `TargetRuntime::checkout`): plain hyper HTTP/1 connections, each driven
/// by its own task, reused LIFO so the warmest one serves the next request.
#[derive(Clone, Debug)]
pub(crate) struct UpstreamClient {
    connect_timeout: Duration,
}

pub(crate) fn new_client() -> UpstreamClient {
    UpstreamClient {
        connect_timeout: Duration::from_secs(10),
    }
}

/// Why a request to a target failed.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// No connection could be made (DNS, refused, connect timeout).
    Connect(std::io::Error),
    /// The connection failed while sending or awaiting the response.
    Http(hyper::Error),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Connect(e) => write!(f, "connect: {e}"),
            UpstreamError::Http(e) => write!(f, "{e}"),
        }
    }
}

impl UpstreamClient {
    /// Open a new connection to `target`, resolving its host name now.
    async fn connect(
        &self,
        target: &TargetRuntime,
    ) -> Result<SendRequest<UpstreamBody>, UpstreamError> {
        let (host, port) = target.spec.traffic_host_port();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let stream = tokio::time::timeout(self.connect_timeout, async {
            if let Ok(ip) = host.parse::<IpAddr>() {
                return TcpStream::connect((ip, port)).await;
            }
            let mut last = None;
            for addr in tokio::net::lookup_host((host, port)).await? {
                match TcpStream::connect(addr).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no address for host")
            }))
        })
        .await
        .map_err(|_| {
            UpstreamError::Connect(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ))
        })?
        .map_err(UpstreamError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (tx, conn) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Http)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                debug!(error = %e, "upstream connection ended with error");
            }
        });
        Ok(tx)
    }

    /// Send `req` on a pooled connection to `target` (or a new one). A
    /// pooled connection that turns out closed before the request was
    /// written is skipped, like hyper-util's pool does.
    pub(crate) async fn send(
        &self,
        target: &TargetRuntime,
        mut req: Request<UpstreamBody>,
    ) -> Result<(Response<Incoming>, SendRequest<UpstreamBody>), UpstreamError> {
        loop {
            let (mut tx, reused) = match target.checkout() {
                Some(tx) => (tx, true),
                None => (self.connect(target).await?, false),
            };
            if let Err(e) = tx.ready().await {
                if reused {
                    continue;
                }
                return Err(UpstreamError::Http(e));
            }
            match tx.try_send_request(req).await {
                Ok(resp) => return Ok((resp, tx)),
                Err(mut e) => match e.take_message() {
                    Some(r) if reused => req = r,
                    _ => return Err(UpstreamError::Http(e.into_error())),
                },
            }
        }
    }
}
