//! Every route and error of the node, through `oneshot` (no sockets).

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use pingpong_node::{router, AppState, Config};
use tower::ServiceExt;

fn app(pairs: &[(&str, &str)]) -> axum::Router {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    router(AppState::new(Config::from_lookup(&lookup).unwrap()))
}

async fn call(
    app: axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, "node-paul:3000")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn ping_answers_pong_as_text() {
    let (status, headers, body) = call(app(&[]), get("/ping")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "pong");
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
}

#[tokio::test]
async fn meow_names_the_host_header_as_received() {
    let (status, headers, body) = call(app(&[]), get("/meow")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#""meow from node-paul:3000""#);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn start_with_no_peers_is_an_empty_list() {
    let (status, _, body) = call(app(&[("PEERS", ",")]), get("/start")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "[]");
}

#[tokio::test]
async fn start_with_an_unreachable_peer_is_a_502_naming_it() {
    // Port 1 on loopback: nothing listens there, the connect is refused.
    for mode in ["chain", "fanout"] {
        let (status, headers, body) = call(
            app(&[
                ("PEERS", "127.0.0.1:1"),
                ("MODE", mode),
                ("PEER_TIMEOUT_MS", "500"),
            ]),
            get("/start"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{mode}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            body, r#"{"error":"127.0.0.1:1: connection refused"}"#,
            "{mode}"
        );
    }
}

#[tokio::test]
async fn a_peer_answering_an_error_status_is_named_with_the_status() {
    // A peer that answers 404 to /meow and /relay: a plain HTTP server
    // built from this same router with an unknown route.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = axum::Router::new().fallback(|| async { StatusCode::INTERNAL_SERVER_ERROR });
    let server = tokio::spawn(async move { axum::serve(listener, peer).await });
    for mode in ["chain", "fanout"] {
        let (status, _, body) = call(
            app(&[("PEERS", &addr.to_string()), ("MODE", mode)]),
            get("/start"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{mode}");
        assert_eq!(body, format!(r#"{{"error":"{addr}: answered HTTP 500"}}"#));
    }
    server.abort();
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let (status, headers, body) = call(app(&[]), get("/stop")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body, r#"{"error":"no route for GET /stop"}"#);
    // CORS headers are on error answers too.
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn wrong_method_is_a_json_405() {
    let req = Request::post("/ping").body(Body::empty()).unwrap();
    let (status, _, body) = call(app(&[]), req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body, r#"{"error":"method POST not allowed on /ping"}"#);
}

#[tokio::test]
async fn every_response_carries_the_originals_cors_headers() {
    for path in ["/ping", "/meow", "/start"] {
        let (_, headers, _) = call(app(&[("PEERS", "")]), get(path)).await;
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{path}");
    }
}

#[tokio::test]
async fn options_preflight_is_answered() {
    let req = Request::builder()
        .method("OPTIONS")
        .uri("/start")
        .header(header::ORIGIN, "http://127.0.0.1:3008")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = call(app(&[]), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_METHODS],
        "GET,PUT,POST,DELETE"
    );
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    assert_eq!(allowed, "content-type,authorization");
}

#[tokio::test]
async fn relay_refuses_bad_hops() {
    let (status, _, body) = call(app(&[]), get("/relay?rest=evil%2Fpath:80")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("is not host:port"), "{body}");
    let too_many = vec!["a:1"; 17].join(",");
    let (status, _, body) = call(app(&[]), get(&format!("/relay?rest={too_many}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("at most 16 hops"), "{body}");
}

#[tokio::test]
async fn relay_at_the_end_of_the_chain_is_its_own_meow() {
    let (status, _, body) = call(app(&[]), get("/relay")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"["meow from node-paul:3000"]"#);
}

#[tokio::test]
async fn a_callers_budget_caps_the_hops_timeout() {
    // 10.255.255.1 is not routed here: the connect would hang, so only the
    // 50 ms budget the caller passed can end the call.
    let req = Request::get("/start")
        .header("x-pingpong-budget-ms", "50")
        .body(Body::empty())
        .unwrap();
    let started = std::time::Instant::now();
    let (status, _, body) = call(app(&[("PEERS", "10.255.255.1:9")]), req).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(started.elapsed() < Duration::from_secs(1), "{body}");
}
