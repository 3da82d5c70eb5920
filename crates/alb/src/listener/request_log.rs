//! The listener's side of the access log ([`crate::access_log`]): what a
//! request and its response say, as an access log entry. [`begin`] costs
//! one relaxed load when the load balancer logs nothing; otherwise it
//! gives the request an `X-Amzn-Trace-Id` if it has none, which the
//! forwarder then keeps, so the target and the log see the same one.
//! The matched rule, the action and the target group are what the request
//! path decided ([`super::Routed`]), not routed again.
//!
//! Times: `request_processing_time` is 0 and `target_processing_time` the
//! time from the request head to the target's response head when a target
//! answered; an action the load balancer answers itself (fixed response,
//! redirect) has its time in `request_processing_time` and -1 for the
//! rest; a request no target answered (502, 503, 504, refused) has -1 for
//! all three. Byte counts are the heads as sent on the wire plus the
//! bodies' declared lengths.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use http::header::{self, HeaderMap};
use http::uri::Authority;
use http::{Request, Response};
use hyper::body::{Body, Incoming};

use super::{ConnCtx, Routed};
use crate::access_log::{Entry, Executed, Sink};
use crate::forward::{self, AlbBody};

/// A request being logged.
pub(super) struct Pending {
    sink: Arc<Sink>,
    started: Instant,
    entry: Entry,
}

/// Start logging `req`, if its load balancer writes an access log.
#[inline]
pub(super) fn begin(
    ctx: &ConnCtx,
    remote: SocketAddr,
    req: &mut Request<Incoming>,
) -> Option<Pending> {
    let sink = ctx.lb.access_log.sink()?;
    Some(begin_logged(sink, ctx, remote, req))
}

/// The bytes of a header block as sent: `name: value\r\n` each.
fn headers_len(h: &HeaderMap) -> u64 {
    h.iter()
        .map(|(n, v)| (n.as_str().len() + v.len() + 4) as u64)
        .sum()
}

fn content_length(h: &HeaderMap) -> u64 {
    h.get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0)
}

/// A per-process random value mixed into connection ids.
fn conn_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(rand::random)
}

#[inline(never)]
fn begin_logged(
    sink: Arc<Sink>,
    ctx: &ConnCtx,
    remote: SocketAddr,
    req: &mut Request<Incoming>,
) -> Pending {
    let received = SystemTime::now();
    let started = Instant::now();
    let trace_id = req
        .headers_mut()
        .entry("x-amzn-trace-id")
        .or_insert_with(forward::trace_id)
        .to_str()
        .ok()
        .map(str::to_owned);
    let host = req
        .uri()
        .authority()
        .map(|a| a.host().to_owned())
        .or_else(|| {
            let h = req.headers().get(header::HOST)?;
            Authority::try_from(h.as_bytes())
                .ok()
                .map(|a| a.host().to_owned())
        })
        .unwrap_or_else(|| ctx.listener.local_addr.ip().to_string());
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let request = format!(
        "{} http://{host}:{}{path} {:?}",
        req.method(),
        ctx.listener.local_addr.port(),
        req.version()
    );
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    // `METHOD TARGET HTTP/1.1\r\n`, TARGET as the client sent it.
    let target_len = req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + req
            .uri()
            .authority()
            .map_or(0, |a| a.as_str().len() + "http://".len());
    let received_bytes = (req.method().as_str().len() + target_len + 12) as u64
        + headers_len(req.headers())
        + 2
        + content_length(req.headers());
    let conn_id = (Arc::as_ptr(&ctx.state) as u64).rotate_left(17) ^ conn_seed();
    Pending {
        sink,
        started,
        entry: Entry {
            received,
            responded: received,
            client: remote,
            target: None,
            request_processing: None,
            target_processing: None,
            response_processing: None,
            elb_status: 0,
            target_status: None,
            received_bytes,
            sent_bytes: 0,
            request,
            user_agent,
            target_group_arn: None,
            trace_id,
            matched_rule_priority: None,
            executed: Executed::None,
            redirect_url: None,
            conn_id,
        },
    }
}

impl Pending {
    /// The response head is ready: complete the entry and queue it.
    pub(super) fn finish(self, resp: &Response<AlbBody>, routed: Routed) {
        let Pending {
            sink,
            started,
            mut entry,
        } = self;
        entry.matched_rule_priority = routed.priority;
        entry.executed = routed.executed;
        entry.target_group_arn = routed.target_group.map(|g| g.arn.clone());
        let elapsed = started.elapsed();
        entry.responded = SystemTime::now();
        let status = resp.status().as_u16();
        entry.elb_status = status;
        let target = resp.body().target_authority();
        match (target, entry.executed) {
            (Some(_), _) => {
                entry.request_processing = Some(std::time::Duration::ZERO);
                entry.target_processing = Some(elapsed);
                entry.response_processing = Some(std::time::Duration::ZERO);
                entry.target_status = Some(status);
            }
            (None, Executed::FixedResponse | Executed::Redirect) => {
                entry.request_processing = Some(elapsed);
            }
            (None, _) => {}
        }
        entry.target = target.map(str::to_owned);
        if entry.executed == Executed::Redirect {
            entry.redirect_url = resp
                .headers()
                .get(header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        }
        let body_len = resp
            .body()
            .size_hint()
            .exact()
            .unwrap_or_else(|| content_length(resp.headers()));
        // `HTTP/1.1 200 OK\r\n`, the headers, `\r\n`.
        entry.sent_bytes = 17 + headers_len(resp.headers()) + 2 + body_len;
        sink.log(entry);
    }
}
