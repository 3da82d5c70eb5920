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
}

/// `GET /_emulator/logs?target=SERVICE|TASK&since_ms=N`: every line of the
/// target's tasks' containers, oldest first, as
/// `{"events": [{"stream": "<container>/<task id>", "timestamp": ms, "message": ".."}]}`.
pub async fn for_target(
    State(state): State<ApiState>,
    Query(q): Query<TargetQuery>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
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
    let events: Vec<serde_json::Value> = state
        .logs
        .task_events(&tasks, q.since_ms)
        .await
        .into_iter()
        .map(|e| serde_json::json!({"stream": e.stream, "timestamp": e.line.timestamp_ms, "message": e.line.message}))
        .collect();
    Ok(axum::Json(serde_json::json!({ "events": events })))
}
