//! The ping-pong client: the page with the P I N G / P O N G letters.
//!
//! # Layout
//!
//! - [`Config`]: `BIND_ADDR` and `BASE_URL` from the environment.
//! - [`router`]: `GET /` (the page, with `BASE_URL` written into a `<meta>`
//!   tag at request time), `GET /static/app.js`, `GET /static/style.css`.
//!   The assets are plain files in `assets/`, embedded with `include_str!`.
//!
//! The original was a React build with the base URL baked in at build time;
//! here the same image works behind any address because the URL is read
//! when the process starts.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use pingpong_kit::config::{self as env, ConfigError, Lookup};
use pingpong_kit::http::{method_not_allowed, not_found, with_access_log};
use tokio::net::TcpListener;

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");

#[derive(Debug, Clone)]
pub struct Config {
    pub bind_addr: SocketAddr,
    /// Where the page sends `GET /start`; empty means the page's own origin
    /// (the load balancer routes `/start` to the nodes).
    pub base_url: String,
    pub shutdown_grace: Duration,
    /// One log line per request (`ACCESS_LOG=on`); off by default.
    pub access_log: bool,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Self, ConfigError> {
        let raw = env::string(lookup, "BASE_URL", "");
        let base_url = raw.trim().trim_end_matches('/').to_string();
        let valid = base_url.is_empty()
            || ((base_url.starts_with("http://") || base_url.starts_with("https://"))
                && !base_url.contains(char::is_whitespace));
        if !valid {
            return Err(ConfigError {
                name: "BASE_URL",
                value: raw,
                expected: "expected empty (same origin) or an http:// or https:// URL".into(),
            });
        }
        Ok(Config {
            bind_addr: env::socket_addr(lookup, "BIND_ADDR", ([127, 0, 0, 1], 3000).into())?,
            base_url,
            shutdown_grace: env::millis(lookup, "SHUTDOWN_GRACE_MS", Duration::from_millis(5000))?,
            access_log: env::flag(lookup, "ACCESS_LOG", false)?,
        })
    }
}

/// The rendered page, made once at start-up.
#[derive(Clone)]
pub struct AppState {
    page: Arc<str>,
    access_log: bool,
}

impl AppState {
    pub fn new(config: &Config) -> Self {
        let page = INDEX.replace("{{BASE_URL}}", &escape_attr(&config.base_url));
        AppState {
            page: page.into(),
            access_log: config.access_log,
        }
    }
}

/// Escapes a value for a double-quoted HTML attribute.
fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn router(state: AppState) -> Router {
    let access_log = state.access_log;
    let router = Router::new()
        .route("/", get(index))
        .route("/static/app.js", get(app_js))
        .route("/static/style.css", get(style_css))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    with_access_log(router, access_log)
}

async fn index(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        Html(state.page.to_string()),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=300"),
            ),
        ],
        body,
    )
}

async fn app_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

/// Serves the page on `listener` until `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tracing::info!(
        addr = %listener.local_addr()?,
        base_url = if config.base_url.is_empty() { "(same origin)" } else { config.base_url.as_str() },
        "pingpong-client listening"
    );
    let app = router(AppState::new(&config));
    pingpong_kit::serve::serve(listener, app, shutdown, config.shutdown_grace).await
}
