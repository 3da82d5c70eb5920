//! Test backends and a client, all on 127.0.0.1 port 0.
//!
//! Everything a test starts runs on the test's own Tokio runtime, so when a
//! test ends (or panics) the runtime drops every task and socket it made.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A tiny HTTP backend: `/health` answers `health_status`, `/slow?ms=N`
/// waits N ms, `/headers` echoes request headers, anything else answers the
/// backend's name.
pub struct Backend {
    pub addr: SocketAddr,
    pub name: String,
    pub health_status: Arc<AtomicU16>,
    pub hits: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Backend {
    pub async fn start(name: &str) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind backend");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let health_status = Arc::new(AtomicU16::new(200));
        let hits = Arc::new(AtomicU64::new(0));
        let (n, h, c, s) = (
            name.to_owned(),
            health_status.clone(),
            hits.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    _ = s.cancelled() => return,
                    a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
                };
                let (n, h, c, s) = (n.clone(), h.clone(), c.clone(), s.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (n, h, c) = (n.clone(), h.clone(), c.clone());
                        async move { Ok::<_, Infallible>(answer(req, &n, &h, &c).await) }
                    });
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = s.cancelled() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
        });
        Backend {
            addr,
            name: name.to_owned(),
            health_status,
            hits,
            stop,
        }
    }

    /// Stop accepting and close connections once their request is done
    /// (a task being stopped).
    pub fn stop(&self) {
        self.stop.cancel();
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn set_health(&self, status: u16) {
        self.health_status.store(status, Ordering::SeqCst);
    }
}

async fn answer(
    req: Request<Incoming>,
    name: &str,
    health: &AtomicU16,
    hits: &AtomicU64,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if path == "/health" {
        let mut r = Response::new(Full::new(Bytes::from_static(b"ok")));
        *r.status_mut() =
            hyper::StatusCode::from_u16(health.load(Ordering::SeqCst)).unwrap_or_default();
        return r;
    }
    hits.fetch_add(1, Ordering::SeqCst);
    if path == "/slow" {
        let ms = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("ms="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if path == "/headers" {
        let mut text = String::new();
        for (k, v) in req.headers() {
            text.push_str(&format!("{}: {}\n", k, v.to_str().unwrap_or("?")));
        }
        return Response::new(Full::new(Bytes::from(text)));
    }
    if path == "/echo" {
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Response::new(Full::new(body));
    }
    Response::new(Full::new(Bytes::from(name.to_owned())))
}

pub type TestClient = Client<HttpConnector, Empty<Bytes>>;

pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// `GET http://addr{path}` -> (status, body); transport errors become status 0.
pub async fn get(client: &TestClient, addr: SocketAddr, path: &str) -> (u16, String) {
    get_with(client, addr, path, &[]).await
}

pub async fn get_with(
    client: &TestClient,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut b = Request::get(format!("http://{addr}{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Empty::new()).expect("request");
    match client.request(req).await {
        Err(_) => (0, String::new()),
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    }
}

/// Poll `f` every 10 ms until it returns true, failing after `within`.
pub async fn eventually(within: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
