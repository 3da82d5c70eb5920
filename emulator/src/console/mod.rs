//! The web console: `GET /` serves a page (plain HTML, CSS and JavaScript,
//! embedded in the binary, no network needed) that shows what the control
//! plane runs, in ECS's own words, and follows it live.
//!
//! The page reads everything through the same AWS APIs the CLI and SDKs
//! call (`POST /`, same origin: the [`crate::api::guard`] lets the API's
//! own origin through and still refuses every other). It learns *when* to
//! re-read from one server-sent event stream, [`events`], fed by the
//! control plane's own change notifications: the store's durable sequence
//! ([`crate::db::Db::changed_after`], with [`crate::db::State::changes_since`]
//! naming the records each event covers) and the load balancer's target
//! health changes ([`crate::elbv2::balancer::Balancer::health_changes`]).
//! The page never polls the APIs; only a task's log tail polls
//! `/_emulator/logs`, as `emulator logs -f` does.
//!
//! Routes:
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the page |
//! | `GET /_console/{file}` | its script and style sheet |
//! | `GET /_console/config` | `{"readOnly": bool, "instance": ".."}` |
//! | `GET /_console/events` | `text/event-stream`: `change` events |
//!
//! Read-only: when the API is bound beyond loopback, the page hides its
//! actions and the guard refuses a browser's (an `Origin`-bearing) calls
//! other than reads ([`is_read_operation`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::Stream;

mod kill;

use crate::api::ApiState;
use crate::db::State as DbState;

const INDEX: &str = include_str!("assets/index.html");

/// The page's other files: name, content type, text.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    ),
    (
        "aws.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/aws.js"),
    ),
    (
        "views.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/views.js"),
    ),
    (
        "task.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/task.js"),
    ),
    (
        "metrics.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/metrics.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
];

/// Collections whose changes no view shows: no event for them.
const UNSHOWN: &[&str] = &[
    "log_groups",
    "log_resource_policies",
    "account_settings",
    "security_groups",
    "ecr_repositories",
    "tags",
];

/// Whether a console (browser) call of `operation` only reads: the calls
/// a read-only console may make.
pub fn is_read_operation(operation: &str) -> bool {
    ["Describe", "List", "Get"]
        .iter()
        .any(|p| operation.starts_with(p))
}

/// The console's routes under `/_console/`, merged into the API router
/// (which serves [`index`] on `GET /` beside the AWS entry's `POST /`).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/_console/config", get(config))
        .route("/_console/events", get(events))
        .route("/_console/kill", axum::routing::post(kill::kill))
        .route("/_console/{file}", get(asset))
}

fn text(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // The page loads nothing from elsewhere and may not be framed.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// `GET /`: the page.
pub async fn index() -> Response {
    text("text/html; charset=utf-8", INDEX)
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => text(content_type, body),
        None => (StatusCode::NOT_FOUND, "no such console file\n").into_response(),
    }
}

async fn config(State(state): State<ApiState>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "readOnly": state.guard.read_only(),
        "instance": state.engine.config().instance,
    }))
}

/// What one event stream has told its page so far.
struct Feed {
    state: ApiState,
    seq: u64,
    seen: Arc<DbState>,
    health: tokio::sync::watch::Receiver<u64>,
    first: bool,
}

/// One event's data: the records that changed since the last event, by
/// collection (`tasks`, `services`, `elb.targetGroups`, ...), and whether
/// target health changed.
fn change_event(seq: u64, records: BTreeMap<String, Vec<String>>, health: bool) -> Event {
    let data = serde_json::json!({"seq": seq, "records": records, "targetHealth": health});
    Event::default().event("change").data(data.to_string())
}

impl Feed {
    /// Waits for the next change worth telling; `None` never (the stream
    /// ends when the client goes away and axum drops it).
    async fn next(&mut self) -> Event {
        if self.first {
            self.first = false;
            return Event::default()
                .event("hello")
                .data(serde_json::json!({"seq": self.seq}).to_string());
        }
        loop {
            let db = self.state.engine.db().clone();
            let health = tokio::select! {
                seq = db.changed_after(self.seq) => {
                    if seq == self.seq {
                        // The store failed: it will not change again.
                        std::future::pending::<()>().await;
                    }
                    self.seq = seq;
                    false
                }
                r = self.health.changed() => {
                    if r.is_err() {
                        std::future::pending::<()>().await;
                    }
                    true
                }
            };
            // Several notifications in a burst (a deployment step, a
            // health check round) become one event.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let health = health || self.health.has_changed().unwrap_or(false);
            self.health.borrow_and_update();
            self.seq = self.seq.max(db.durable_seq());
            let now = db.read();
            let mut records: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for c in now.changes_since(&self.seen) {
                if !UNSHOWN.contains(&c.0.as_str()) {
                    records.entry(c.0).or_default().push(c.1);
                }
            }
            self.seen = now;
            if health || !records.is_empty() {
                return change_event(self.seq, records, health);
            }
        }
    }
}

/// `GET /_console/events`: a `hello` event, then a `change` event after
/// every burst of changes the console shows.
async fn events(
    State(state): State<ApiState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let db = state.engine.db().clone();
    let feed = Feed {
        seq: db.durable_seq(),
        seen: db.read(),
        health: state.elb.balancer().health_changes(),
        state,
        first: true,
    };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await;
        Some((Ok(event), feed))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_when_read_only() {
        for op in ["DescribeServices", "ListTasks", "GetLogEvents"] {
            assert!(is_read_operation(op), "{op}");
        }
        for op in ["UpdateService", "StopTask", "DeleteCluster", "RunTask"] {
            assert!(!is_read_operation(op), "{op}");
        }
    }

    #[test]
    fn every_asset_the_page_names_is_served() {
        for (name, _, _) in ASSETS {
            assert!(INDEX.contains(&format!("/_console/{name}")), "{name}");
        }
    }
}
