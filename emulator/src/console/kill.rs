//! `POST /_console/kill`: the console's "kill container", what `emulator
//! kill` does: SIGKILL one container of a task (the named one, or its
//! first running essential one), so a learner watches ECS react. Not an
//! AWS call, so it is the console's own: JSON only (a cross-site form
//! cannot send it), refused when the console is read-only.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::ApiState;

#[derive(Debug, Deserialize)]
pub(super) struct Kill {
    /// Task id or ARN.
    task: String,
    container: Option<String>,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

pub(super) async fn kill(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if state.guard.read_only() {
        return refuse(
            StatusCode::FORBIDDEN,
            "The console is read-only: the API is bound beyond loopback.",
        );
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send {\"task\": ID, \"container\": NAME} as application/json.",
        );
    }
    let Ok(k) = serde_json::from_str::<Kill>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Send {\"task\": ID, \"container\": NAME} as application/json.",
        );
    };
    let found = state.engine.read(|s| {
        s.tasks
            .values()
            .find(|t| t.task_arn == k.task || t.id() == k.task)
            .cloned()
    });
    let Some(task) = found else {
        return refuse(StatusCode::NOT_FOUND, &format!("No task {}.", k.task));
    };
    let container = task.containers.iter().find(|c| {
        c.last_status == "RUNNING"
            && match &k.container {
                Some(name) => c.name == *name,
                None => c.essential,
            }
    });
    let Some((name, id)) = container.and_then(|c| Some((c.name.clone(), c.runtime_id.clone()?)))
    else {
        return refuse(
            StatusCode::CONFLICT,
            &format!("Task {} has no such running container.", task.id()),
        );
    };
    let killed = match state.engine.runtime_of(&task) {
        Ok(rt) => rt.kill_container(&id, "KILL").await,
        Err(e) => Err(e),
    };
    match killed {
        Ok(()) => axum::Json(json!({ "task": task.task_arn, "container": name })).into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
