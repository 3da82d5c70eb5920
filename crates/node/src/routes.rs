//! The node's HTTP routes.
//!
//! | route | answer |
//! |---|---|
//! | `GET /ping` | `pong` (the target group's health check) |
//! | `GET /meow` | `"meow from <Host>"` |
//! | `GET /start` | the peers' meows, `[...]`, or 502 naming the failing hop |
//! | `GET /relay?rest=a:1,b:2` | one hop of the chain: own meow, then the rest's |
//!
//! Every response carries the original's CORS headers; OPTIONS preflights are
//! answered.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::future::try_join_all;
use serde::Deserialize;
use tower_http::cors::CorsLayer;

use crate::config::{is_peer, Config, Mode};
use crate::peer::{HopError, Peers, BUDGET_HEADER, MAX_HOPS};
use pingpong_kit::http::{json_error, method_not_allowed, not_found, with_access_log};

/// What every handler shares: the config and the one HTTP client.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub peers: Peers,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        AppState {
            config: Arc::new(config),
            peers: Peers::new(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let access_log = state.config.access_log;
    let router = Router::new()
        .route("/ping", get(ping))
        .route("/meow", get(meow))
        .route("/start", get(start))
        .route("/relay", get(relay))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(cors());
    with_access_log(router, access_log)
}

/// The original's CORS policy, on every response.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::PUT, Method::POST, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
}

async fn ping() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        "pong",
    )
}

/// `meow from <Host>`: the name the caller used to reach this node.
fn meow_text(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("unknown");
    let mut meow = String::with_capacity(MEOW_FROM.len() + host.len());
    meow.push_str(MEOW_FROM);
    meow.push_str(host);
    meow
}

const MEOW_FROM: &str = "meow from ";

// The handlers take the whole `Request` rather than axum's `HeaderMap`
// extractor, which clones every header of every request.

async fn meow(req: Request) -> Json<String> {
    Json(meow_text(req.headers()))
}

/// The budget the next hop gets: a fifth less, so an inner hop always
/// gives up (and says why) before the outer one stops waiting.
fn shrink(budget: Duration) -> Duration {
    budget.mul_f64(0.8).max(Duration::from_millis(1))
}

/// The budget this request may spend: the caller's, capped by our own.
fn budget(config: &Config, headers: &HeaderMap) -> Duration {
    headers
        .get(BUDGET_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ms| Duration::from_millis(ms.max(1)).min(config.peer_timeout))
        .unwrap_or(config.peer_timeout)
}

fn bad_gateway(err: HopError) -> Response {
    tracing::warn!(error = %err, "peer call failed");
    json_error(StatusCode::BAD_GATEWAY, err.to_string())
}

async fn start(State(state): State<AppState>, req: Request) -> Response {
    let budget = budget(&state.config, req.headers());
    let peers = &state.config.peers;
    let result = match state.config.mode {
        Mode::Chain => chain(&state.peers, peers, budget).await,
        Mode::Fanout => {
            let calls = peers.iter().map(|peer| {
                state
                    .peers
                    .get_json::<String>(peer, "/meow", budget, shrink(budget))
            });
            try_join_all(calls).await
        }
    };
    match result {
        Ok(meows) => Json(meows).into_response(),
        Err(e) => bad_gateway(e),
    }
}

/// Asks the first of `hops` to relay through the rest.
async fn chain<H: AsRef<str>>(
    client: &Peers,
    hops: &[H],
    budget: Duration,
) -> Result<Vec<String>, HopError> {
    let Some((first, rest)) = hops.split_first() else {
        return Ok(Vec::new());
    };
    let mut path = String::with_capacity(64);
    path.push_str("/relay?rest=");
    for (i, hop) in rest.iter().enumerate() {
        if i > 0 {
            path.push(',');
        }
        path.push_str(hop.as_ref());
    }
    client
        .get_json::<Vec<String>>(first.as_ref(), &path, budget, shrink(budget))
        .await
}

#[derive(Deserialize)]
struct RelayQuery {
    #[serde(default)]
    rest: String,
}

async fn relay(State(state): State<AppState>, req: Request) -> Response {
    let query = match Query::<RelayQuery>::try_from_uri(req.uri()) {
        Ok(Query(q)) => q,
        Err(rejection) => return rejection.into_response(),
    };
    let rest: Vec<&str> = query.rest.split(',').filter(|s| !s.is_empty()).collect();
    if rest.len() > MAX_HOPS {
        return json_error(
            StatusCode::BAD_REQUEST,
            format!("a chain may have at most {MAX_HOPS} hops"),
        );
    }
    if let Some(bad) = rest.iter().find(|p| !is_peer(p)) {
        return json_error(StatusCode::BAD_REQUEST, format!("{bad:?} is not host:port"));
    }
    let headers = req.headers();
    let own = meow_text(headers);
    match chain(&state.peers, &rest, budget(&state.config, headers)).await {
        Ok(mut answer) => {
            answer.insert(0, own);
            Json(answer).into_response()
        }
        Err(e) => bad_gateway(e),
    }
}
