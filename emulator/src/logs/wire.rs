//! CloudWatch Logs (`X-Amz-Target: Logs_20140328.<Op>`, AWS JSON 1.1) and
//! the emulator's own `GET /_emulator/logs` behind `emulator logs`.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::api::{amz_json, parse_body, ApiError, ApiState};
use crate::logs::Logs;
use crate::model::arn;

pub use crate::logs::LOGS_PREFIX;

/// Handles one CloudWatch Logs operation.
pub async fn handle(logs: &Logs, operation: &str, body: &[u8]) -> Result<Response, ApiError> {
    let body: serde_json::Value = parse_body(body)?;
    let reply = logs.handle(operation, &body).await?;
    Ok(amz_json(&reply))
}

#[derive(Deserialize)]
pub struct TargetQuery {
    /// A service name, or a task id or ARN.
    target: String,
    #[serde(default)]
    since_ms: i64,
    /// `target` names a load balancer: its access log.
    #[serde(default)]
    load_balancer: bool,
}

/// `GET /_emulator/logs?target=SERVICE|TASK&since_ms=N`: every line of the
/// target's tasks' containers, oldest first, as
/// `{"events": [{"stream": "<container>/<task id>", "timestamp": ms, "message": ".."}]}`.
/// With `load_balancer=true`, `target` is a load balancer's name and the
/// lines are its access log's (streams: the log's files).
pub async fn for_target(
    State(state): State<ApiState>,
    Query(q): Query<TargetQuery>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    if q.load_balancer {
        return access_log(&state, &q).await;
    }
    let snapshot = state.engine.snapshot();
    let service_group = format!("service:{}", arn::short_name(&q.target));
    let tasks: Vec<_> = snapshot
        .tasks
        .values()
        .filter(|t| {
            t.group.as_deref() == Some(service_group.as_str())
                || t.task_arn == q.target
                || t.id() == q.target
        })
        .cloned()
        .collect();
    if tasks.is_empty() {
        return Err(ApiError::new(
            "ResourceNotFoundException",
            format!("No service or task named {} has any task.", q.target),
        ));
    }
    let events = state.logs.task_events(&tasks, q.since_ms).await;
    Ok(events_json(events))
}

fn events_json(events: Vec<crate::logs::Event>) -> axum::Json<serde_json::Value> {
    let events: Vec<serde_json::Value> = events
        .into_iter()
        .map(|e| serde_json::json!({"stream": e.stream, "timestamp": e.line.timestamp_ms, "message": e.line.message}))
        .collect();
    axum::Json(serde_json::json!({ "events": events }))
}

/// A load balancer's access log, for `emulator logs --load-balancer`.
async fn access_log(
    state: &ApiState,
    q: &TargetQuery,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let not_found = |m: String| ApiError::new("ResourceNotFoundException", m);
    let elb = state.elb.state();
    let lb = elb
        .load_balancers
        .values()
        .find(|lb| lb.name == q.target || lb.arn == q.target)
        .ok_or_else(|| not_found(format!("No load balancer named {}.", q.target)))?;
    let group = crate::elbv2::access_logs::group_name(&lb.name);
    let events = state
        .logs
        .group_events(&group, q.since_ms)
        .await
        .ok_or_else(|| {
            not_found(format!(
                "Load balancer {} writes no access log: set access_logs.s3.enabled to true \
             (and access_logs.s3.bucket) with modify-load-balancer-attributes.",
                lb.name
            ))
        })?;
    Ok(events_json(events))
}
