//! The registry endpoint Docker talks to (`repositoryUri`'s host): the
//! registry API (`/v2/...`) forwarded to the [`super::registry`] child,
//! with what ECR does on top:
//!
//! - basic auth: `AWS` and a password GetAuthorizationToken issued (valid
//!   12 hours, across restarts); without it `401` and
//!   `WWW-Authenticate: Basic realm="ECR"`, as `docker login` expects;
//! - pushes and pulls only name existing repositories (`NAME_UNKNOWN`
//!   in ECR's words otherwise);
//! - an IMMUTABLE repository refuses a manifest that would move an
//!   existing tag (`TAG_INVALID`);
//! - each manifest pushed is recorded with its time (`imagePushedAt`).
//!
//! Responses stream; a layer upload is forwarded in parts of at most
//! [`CHUNK`] bytes (other request bodies, manifests, are small and read
//! whole).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::Digest as _;
use tokio_util::sync::CancellationToken;

use super::Ecr;

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// The password GetAuthorizationToken issues, valid until `expires`
/// (epoch seconds): `EXPIRES.MAC`, checked by [`authorized`] without any
/// record of it.
pub fn password(secret: &str, expires: u64) -> String {
    let mac = sha2::Sha256::digest(format!("{secret}:{expires}").as_bytes());
    format!("{expires}.{}", hex(&mac))
}

/// Whether an `Authorization` header carries `AWS` and a valid password.
pub fn authorized(secret: &str, header: Option<&str>) -> bool {
    use base64::Engine as _;
    let Some(b64) = header.and_then(|h| h.strip_prefix("Basic ")) else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let raw = String::from_utf8_lossy(&raw);
    let Some(("AWS", pw)) = raw.split_once(':') else {
        return false;
    };
    let Some(expires) = pw.split_once('.').and_then(|(e, _)| e.parse::<u64>().ok()) else {
        return false;
    };
    expires as f64 > crate::model::now_epoch() && password(secret, expires) == pw
}

/// A registry API error (`{"errors": [{"code", "message"}]}`).
fn registry_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    if status == StatusCode::UNAUTHORIZED {
        h.insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"ECR\""),
        );
    }
    resp
}

/// The repository name and the rest of a `/v2/NAME/(manifests|blobs|tags)/...` path.
fn split_path(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix("/v2/")?;
    for kind in ["/manifests/", "/blobs/", "/tags/"] {
        if let Some(i) = rest.rfind(kind) {
            return Some((
                &rest[..i],
                &kind[1..kind.len() - 1],
                &rest[i + kind.len()..],
            ));
        }
    }
    None
}

/// Serves the registry endpoint on `listener` until `stop`.
pub fn serve(
    listener: tokio::net::TcpListener,
    ecr: Ecr,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let app = Router::new().fallback(forward).with_state(ecr);
    tokio::spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "registry endpoint failed");
        }
    })
}

async fn forward(State(ecr): State<Ecr>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if !path.starts_with("/v2") {
        return registry_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found.");
    }
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if !authorized(&ecr.registry().secret, auth) {
        return registry_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Not Authorized: log in with `aws ecr get-login-password | docker login --username AWS --password-stdin`.",
        );
    }
    let base = match ecr.registry().url() {
        Ok(u) => u.to_string(),
        Err(e) => {
            return registry_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                &e.to_string(),
            )
        }
    };
    // The repository and reference of a manifest PUT.
    let mut record: Option<(String, String)> = None;
    if let Some((name, kind, reference)) = split_path(&path) {
        let Ok(repo) = ecr.repository(name) else {
            return registry_error(
                StatusCode::NOT_FOUND,
                "NAME_UNKNOWN",
                &format!(
                    "The repository with name '{name}' does not exist in the registry with id '{}'",
                    ecr.account()
                ),
            );
        };
        if kind == "manifests" && req.method() == Method::PUT {
            record = Some((name.to_string(), reference.to_string()));
            if repo.image_tag_mutability == "IMMUTABLE" && !reference.contains(':') {
                if let Ok(Some(existing)) = ecr.manifest(name, reference).await {
                    let (parts, body) = req.into_parts();
                    let body = match axum::body::to_bytes(body, usize::MAX).await {
                        Ok(b) => b,
                        Err(e) => {
                            return registry_error(
                                StatusCode::BAD_REQUEST,
                                "MANIFEST_INVALID",
                                &e.to_string(),
                            )
                        }
                    };
                    let digest = format!("sha256:{}", hex(&sha2::Sha256::digest(&body)));
                    if digest != existing.digest {
                        return registry_error(
                            StatusCode::BAD_REQUEST,
                            "TAG_INVALID",
                            &format!(
                                "The image tag '{reference}' already exists in the '{name}' repository and cannot be overwritten because the repository is immutable."
                            ),
                        );
                    }
                    let req = Request::from_parts(parts, Body::from(body));
                    return send(&ecr, &base, req, record).await;
                }
            }
        }
        if kind == "blobs" && reference.starts_with("uploads/") && req.method() == Method::PATCH {
            return patch_in_chunks(&ecr, &base, req).await;
        }
    }
    send(&ecr, &base, req, record).await
}

/// The most of a layer upload held in memory: a PATCH is forwarded in
/// parts of this size, each a PATCH of its own to the location the
/// registry gave for the previous (Distribution appends them).
const CHUNK: usize = 1 << 20;

fn host_of(req: &Request) -> Option<String> {
    req.headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn path_url(base: &str, uri: &axum::http::Uri) -> String {
    format!(
        "{base}{}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    )
}

/// A request to the registry with `headers` less the hop and auth ones.
fn outgoing(
    ecr: &Ecr,
    method: Method,
    url: &str,
    headers: &axum::http::HeaderMap,
) -> reqwest::RequestBuilder {
    let mut out = ecr.registry().http.request(method, url);
    for (k, v) in headers {
        if !matches!(
            k.as_str(),
            "host" | "authorization" | "content-length" | "connection" | "transfer-encoding"
        ) {
            out = out.header(k, v);
        }
    }
    out
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    registry_error(
        StatusCode::BAD_GATEWAY,
        "UNAVAILABLE",
        &format!("the image registry did not answer: {e}"),
    )
}

/// A layer upload (`PATCH .../blobs/uploads/ID`) forwarded in parts of at
/// most [`CHUNK`] bytes, so no layer is held whole in memory.
async fn patch_in_chunks(ecr: &Ecr, base: &str, req: Request) -> Response {
    use futures_util::StreamExt as _;
    let proxy_host = host_of(&req);
    let (parts, body) = req.into_parts();
    let mut url = path_url(base, &parts.uri);
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut last: Option<reqwest::Response> = None;
    loop {
        let next = stream.next().await;
        let done = match next {
            Some(Ok(b)) => {
                buf.extend_from_slice(&b);
                if buf.len() < CHUNK {
                    continue;
                }
                false
            }
            Some(Err(e)) => {
                return registry_error(
                    StatusCode::BAD_REQUEST,
                    "BLOB_UPLOAD_INVALID",
                    &e.to_string(),
                )
            }
            None => true,
        };
        if !buf.is_empty() || last.is_none() {
            let part = std::mem::take(&mut buf);
            let resp = match outgoing(ecr, Method::PATCH, &url, &parts.headers)
                .body(part)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return unavailable(e),
            };
            if !resp.status().is_success() {
                return relay(resp, base, proxy_host.as_deref());
            }
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if location.starts_with('/') {
                url = format!("{base}{location}");
            } else if !location.is_empty() {
                url = location;
            }
            last = Some(resp);
        }
        if done {
            break;
        }
    }
    match last {
        Some(resp) => relay(resp, base, proxy_host.as_deref()),
        None => unavailable("no answer"),
    }
}

/// Sends `req` to the registry at `base` and streams its answer back;
/// `record`: the repository and reference a manifest PUT goes to.
async fn send(ecr: &Ecr, base: &str, req: Request, record: Option<(String, String)>) -> Response {
    let proxy_host = host_of(&req);
    let (parts, body) = req.into_parts();
    let url = path_url(base, &parts.uri);
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return registry_error(
                StatusCode::BAD_REQUEST,
                "BLOB_UPLOAD_INVALID",
                &e.to_string(),
            )
        }
    };
    let resp = match outgoing(ecr, parts.method.clone(), &url, &parts.headers)
        .body(body)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    if let (Some((name, reference)), true) = (record, resp.status().is_success()) {
        if let Some(d) = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            ecr.record_push(&name, d).await;
            // A push ends with its tag; the images an index lists come
            // first, by digest, untagged, and must not be expired before
            // the index naming them arrives.
            if !reference.contains(':') {
                ecr.apply_lifecycle_logged(&name).await;
            }
        }
    }
    relay(resp, base, proxy_host.as_deref())
}

/// The registry's answer, streamed back, its `Location` pointing at this
/// endpoint (`proxy_host`) instead of the registry.
fn relay(resp: reqwest::Response, base: &str, proxy_host: Option<&str>) -> Response {
    let mut builder = Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        if matches!(k.as_str(), "connection" | "transfer-encoding") {
            continue;
        }
        if k.as_str() == "location" {
            if let (Ok(loc), Some(host)) = (v.to_str(), proxy_host) {
                let loc = loc.replacen(base, &format!("http://{host}"), 1);
                if let Ok(v) = HeaderValue::from_str(&loc) {
                    builder = builder.header(k.as_str(), v);
                    continue;
                }
            }
        }
        builder = builder.header(k.as_str(), v.as_bytes());
    }
    let stream = futures_util::stream::unfold(Some(resp), |r| async move {
        let mut r = r?;
        match r.chunk().await {
            Ok(Some(b)) => Some((Ok::<_, reqwest::Error>(b), Some(r))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    });
    builder
        .body(Body::from_stream(stream))
        .unwrap_or_else(unavailable)
}

/// Binds the registry endpoint (`None`: it could not bind, said why).
pub async fn bind(addr: SocketAddr) -> Option<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!("the ECR registry endpoint cannot listen on {addr}: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_check_their_mac_and_expiry() {
        use base64::Engine as _;
        let b64 = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        let future = crate::model::now_epoch() as u64 + 3600;
        let good = password("s", future);
        assert!(authorized("s", Some(&b64(&format!("AWS:{good}")))));
        assert!(!authorized("other", Some(&b64(&format!("AWS:{good}")))));
        assert!(!authorized("s", Some(&b64(&format!("bob:{good}")))));
        let past = password("s", 1000);
        assert!(!authorized("s", Some(&b64(&format!("AWS:{past}")))));
        assert!(!authorized("s", None));
    }

    #[test]
    fn paths_name_their_repository() {
        assert_eq!(
            split_path("/v2/a/b/manifests/v1"),
            Some(("a/b", "manifests", "v1"))
        );
        assert_eq!(
            split_path("/v2/x/blobs/uploads/"),
            Some(("x", "blobs", "uploads/"))
        );
        assert_eq!(split_path("/v2/x/tags/list"), Some(("x", "tags", "list")));
        assert_eq!(split_path("/v2/"), None);
    }
}
