//! What the API refuses before any operation runs, so that no web page can
//! drive it (cross-site requests, DNS rebinding):
//!
//! - a `Host` that is not an address the API serves on (`127.0.0.1:PORT`,
//!   `localhost:PORT`, `[::1]:PORT`, any IP literal on PORT when bound to
//!   all interfaces) or a name configured with `--api-host`: 421;
//! - an `Origin` other than the API's own (a browser's cross-origin
//!   request; the console is same-origin): 403;
//! - an AWS call (`POST /`) without an `Authorization` header (any
//!   signature is accepted, but a plain form post has none) or without an
//!   AWS content type (`application/x-amz-json-1.x`, or form-encoded for
//!   the Query protocol): 403 / 415, in the protocol's error shape;
//! - when the API is bound beyond loopback, a browser's (an
//!   `Origin`-bearing) AWS call that writes: 403. The console is then
//!   read-only; the CLI and SDKs, which send no `Origin`, are not limited.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// The hosts and origins the API answers.
#[derive(Debug, Clone)]
pub struct Guard {
    port: u16,
    any_ip: bool,
    /// Bound to a loopback address: only this machine can call.
    loopback: bool,
    names: Vec<String>,
}

impl Guard {
    /// The API bound at `addr`, also reachable as `names` (`host` or
    /// `host:port`).
    pub fn new(addr: SocketAddr, names: &[String]) -> Guard {
        Guard {
            port: addr.port(),
            any_ip: addr.ip().is_unspecified(),
            loopback: addr.ip().is_loopback(),
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether `host` (a `Host` header value) names this API.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let (name, port) = split_host(&host);
        let port_ok = port == Some(self.port);
        if self
            .names
            .iter()
            .any(|n| *n == host || (port_ok && *n == name))
        {
            return true;
        }
        if !port_ok {
            return false;
        }
        match name {
            "localhost" | "127.0.0.1" | "[::1]" => true,
            ip => {
                let bare = ip.trim_start_matches('[').trim_end_matches(']');
                self.any_ip && bare.parse::<std::net::IpAddr>().is_ok()
            }
        }
    }

    /// Whether the web console may only read: the API is bound beyond
    /// loopback, so others on the network may open it.
    pub fn read_only(&self) -> bool {
        !self.loopback
    }

    /// Whether `origin` is the API's own (`http://<allowed host>`).
    pub fn allows_origin(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .is_some_and(|h| !h.contains('/') && self.allows_host(h))
    }
}

/// `host[:port]` (IPv6 in brackets) into its name and port.
fn split_host(host: &str) -> (&str, Option<u16>) {
    let (name, port) = match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => (&host[..i], host[i + 1..].parse().ok()),
        _ => (host, None),
    };
    (name, port)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
}

fn is_amz_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-amz-json-1."))
}

/// A refusal in the shape the caller's protocol expects.
fn refuse(query: bool, status: StatusCode, code: &str, message: &str) -> Response {
    if query {
        crate::elbv2::wire::QueryError::new(status, "Sender", code, message.to_string())
            .into_response()
    } else {
        ApiError {
            status,
            aws_type: code.to_string(),
            message: message.to_string(),
        }
        .into_response()
    }
}

/// The middleware.
pub async fn guard(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let query = is_form(headers);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    match host {
        Some(h) if g.allows_host(&h) => {}
        _ => return refuse(
            query,
            StatusCode::MISDIRECTED_REQUEST,
            "AccessDeniedException",
            "Host is not an address of this API (start it with --api-host NAME to allow a name).",
        ),
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        if !origin.to_str().is_ok_and(|o| g.allows_origin(o)) {
            return refuse(
                query,
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                "Cross-origin requests are refused.",
            );
        }
    }
    if req.method() == Method::POST && req.uri().path() == "/" {
        if !query && !is_amz_json(headers) {
            return refuse(
                false,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaTypeException",
                "AWS calls are application/x-amz-json-1.1 (JSON protocol) or application/x-www-form-urlencoded (Query protocol).",
            );
        }
        if !headers.contains_key(header::AUTHORIZATION) {
            return refuse(
                query,
                StatusCode::FORBIDDEN,
                if query {
                    "MissingAuthenticationToken"
                } else {
                    "MissingAuthenticationTokenException"
                },
                "Missing Authentication Token: sign the request (any credentials are accepted).",
            );
        }
    }
    if g.read_only() && req.method() == Method::POST && req.headers().contains_key(header::ORIGIN) {
        return read_only_console(query, req, next).await;
    }
    next.run(req).await
}

/// A browser's AWS call to an API bound beyond loopback: reads only.
async fn read_only_console(query: bool, req: Request, next: Next) -> Response {
    let (operation, req) = if query {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
            return refuse(
                true,
                StatusCode::BAD_REQUEST,
                "ValidationError",
                "Cannot read the request body.",
            );
        };
        let action = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .unwrap_or_default()
            .into_iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v)
            .unwrap_or_default();
        (
            action,
            Request::from_parts(parts, axum::body::Body::from(bytes)),
        )
    } else {
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.split_once('.'))
            .map(|(_, op)| op.to_string())
            .unwrap_or_default();
        (target, req)
    };
    if !crate::console::is_read_operation(&operation) {
        return refuse(
            query,
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            &format!("{operation}: the console is read-only when the API is bound beyond loopback (start it on 127.0.0.1 to act from the console)."),
        );
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_the_api_only() {
        let g = Guard::new("127.0.0.1:4566".parse().unwrap(), &["emu.test".into()]);
        for ok in [
            "127.0.0.1:4566",
            "localhost:4566",
            "LOCALHOST:4566",
            "[::1]:4566",
            "emu.test:4566",
            "emu.test",
        ] {
            assert!(g.allows_host(ok), "{ok}");
        }
        for no in [
            "evil.example:4566",
            "127.0.0.1:80",
            "127.0.0.1",
            "10.0.0.1:4566",
            "",
        ] {
            assert!(!g.allows_host(no), "{no}");
        }
        let any = Guard::new("0.0.0.0:4566".parse().unwrap(), &[]);
        assert!(any.allows_host("10.0.0.1:4566"));
        assert!(!any.allows_host("rebound.example:4566"));
        assert!(g.allows_origin("http://127.0.0.1:4566"));
        assert!(!g.allows_origin("http://evil.example"));
        assert!(!g.allows_origin("null"));
        assert!(!g.allows_origin("http://127.0.0.1:4566/x"));
        assert!(!g.read_only());
        assert!(any.read_only());
    }
}
