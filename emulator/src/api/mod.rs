//! The control API: AWS JSON 1.1 on one `POST /`, dispatched by the
//! `X-Amz-Target` header (`AmazonEC2ContainerServiceV20141113.<Op>` for
//! ECS, services included via [`service`]; `AnyScaleFrontendService.<Op>`
//! for Application Auto Scaling via [`autoscaling`]; `AmazonSSM.<Op>` and
//! `secretsmanager.<Op>` via [`secrets`]; `Logs_20140328.<Op>` via
//! [`logs`]; `AmazonEC2ContainerRegistry_V20150921.<Op>` via [`ecr`]),
//! plus emulator
//! endpoints under `/_emulator/` and the web console ([`crate::console`]:
//! `GET /` and `/_console/`).
//!
//! Every failure is an [`ApiError`] rendered in the AWS shape: HTTP 400 with
//! `{"__type": "...", "message": "..."}`. The [`AwsRequest`] extractor's
//! rejection is that same error, so a missing header or a malformed body
//! gets a proper AWS answer, never a crash or an HTML page. Internal errors
//! are logged by the `log_errors` middleware, not where they are converted.

pub mod guard;
pub mod stats;
pub mod wire_log;

use crate::autoscaling::wire as autoscaling;
use crate::ecr::wire as ecr;
use crate::ecs::wire as ecs;
use crate::ecs::wire::services as service;
use crate::elbv2::wire as elbv2;
use crate::logs::wire as logs;
use crate::secrets::wire as secrets;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::ecs::{Engine, EngineError};

/// The content type of AWS JSON 1.1.
pub const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// What the API needs.
#[derive(Clone)]
pub struct ApiState {
    /// Which hosts and origins may call (see [`guard`]).
    pub guard: std::sync::Arc<guard::Guard>,
    pub engine: Engine,
    /// The embedded load balancer, keyed by the ELBv2 ARNs the emulator
    /// generates (`alb.target_group(tg_arn)` etc.).
    pub alb: alb::Alb,
    /// The ELBv2 control plane over `alb` (desired state, API operations).
    pub elb: crate::elbv2::Elb,
    /// ECS services (the service operations of the ECS endpoint).
    pub scheduler: crate::ecs::scheduler::Scheduler,
    /// Application Auto Scaling (`AnyScaleFrontendService.*`).
    pub autoscaling: crate::autoscaling::AutoScaling,
    /// CloudWatch Logs over the containers' output.
    pub logs: crate::logs::Logs,
    /// SSM Parameter Store and Secrets Manager.
    pub secrets: crate::secrets::Secrets,
    /// ECR over the image registry.
    pub ecr: crate::ecr::Ecr,
    /// Cancelled by `POST /_emulator/shutdown` (used by `emulator down`).
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// An AWS-shaped error.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub aws_type: String,
    pub message: String,
}

impl ApiError {
    pub fn new(aws_type: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            aws_type: aws_type.to_string(),
            message: message.into(),
        }
    }
}

/// An AWS JSON 1.1 answer.
pub fn amz_json(body: &serde_json::Value) -> Response {
    let mut resp = body.to_string().into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(AMZ_JSON),
    );
    resp
}

/// `From<E> for ApiError` for control-plane errors that name their AWS
/// type: HTTP 400, `__type` and the error's message.
macro_rules! client_errors {
    ($($e:ty),* $(,)?) => {$(
        impl From<$e> for ApiError {
            fn from(e: $e) -> ApiError {
                let mut err = ApiError::new(e.aws_type(), e.to_string());
                if e.is_server() {
                    err.status = StatusCode::INTERNAL_SERVER_ERROR;
                }
                err
            }
        }
    )*};
}

client_errors!(
    crate::autoscaling::AutoScalingError,
    crate::logs::LogsError,
    crate::secrets::SecretsError,
    crate::ecr::EcrError,
);

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let status = match e {
            EngineError::Server(_) | EngineError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            aws_type: e.aws_type().to_string(),
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"__type": self.aws_type, "message": self.message});
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(AMZ_JSON),
        );
        resp.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_str(&self.aws_type)
                .unwrap_or(HeaderValue::from_static("ClientException")),
        );
        resp
    }
}

/// An AWS JSON request: the target header, split into service and
/// operation, and the raw body (parsed per operation by [`parse_body`]).
#[derive(Debug, Clone)]
pub struct AwsRequest {
    pub service: String,
    pub operation: String,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for AwsRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let target = target(req.headers())?;
        let (service, operation) = target.split_once('.').ok_or_else(|| {
            ApiError::new(
                "UnknownOperationException",
                format!("Malformed X-Amz-Target '{target}'."),
            )
        })?;
        let (service, operation) = (service.to_string(), operation.to_string());
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                "SerializationException",
                format!("Cannot read the request body: {e}"),
            )
        })?;
        Ok(AwsRequest {
            service,
            operation,
            body,
        })
    }
}

fn target(headers: &HeaderMap) -> Result<String, ApiError> {
    let v = headers.get("x-amz-target").ok_or_else(|| {
        ApiError::new(
            "MissingAuthenticationTokenException",
            "Missing X-Amz-Target header: this endpoint speaks AWS JSON 1.1.",
        )
    })?;
    v.to_str().map(str::to_string).map_err(|_| {
        ApiError::new(
            "UnknownOperationException",
            "X-Amz-Target is not valid text.",
        )
    })
}

/// The `__type` [`parse_body`] gives a body of the wrong shape, until
/// [`dispatch`] names it in the service's own terms ([`shape_error`]).
const SHAPE_ERROR: &str = "RequestShape";

/// A request of the wrong shape in `service`'s terms: each service's own
/// code for it (ECS `ClientException`, Logs and Secrets Manager
/// `InvalidParameterException`, SSM and Application Auto Scaling
/// `ValidationException`, with AWS's "1 validation error detected" wording
/// for a missing member).
fn shape_error(service: &str, mut e: ApiError) -> ApiError {
    if e.aws_type == SHAPE_ERROR {
        e.aws_type = match service {
            logs::LOGS_PREFIX | secrets::SECRETS_MANAGER_PREFIX | ecr::ECR_PREFIX => {
                "InvalidParameterException"
            }
            secrets::SSM_PREFIX | autoscaling::TARGET_PREFIX => "ValidationException",
            _ => "ClientException",
        }
        .into();
    }
    if e.aws_type == "ValidationException" {
        if let Some(field) = e
            .message
            .split_once("missing required field `")
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(f, _)| f.to_string())
        {
            e.message = format!(
                "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
            );
        }
    }
    e
}

/// Parses a request body: empty means `{}`; syntax errors are a
/// `SerializationException`, wrong types and missing required fields the
/// service's own error naming the field (see [`shape_error`]).
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            "SerializationException",
            format!("Request body is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            "SerializationException",
            "Request body must be a JSON object.",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        // The member at fault, as AWS names it (`containerDefinitions[0].name`).
        let path = e.path().to_string();
        let inner = aws_words(&e.inner().to_string());
        let message = if path == "." || inner.starts_with("missing required field") {
            format!("Invalid request: {inner}")
        } else {
            format!("Invalid request: {path}: {inner}")
        };
        ApiError::new(SHAPE_ERROR, message)
    })
}

/// A deserialisation message in the API's words: no Rust type names
/// (`u32` is "an integer", a struct "an object"), no source position.
pub fn aws_words(message: &str) -> String {
    let mut m = message.to_string();
    if let Some(i) = m.find(" at line ") {
        m.truncate(i);
    }
    for (rust, aws) in [
        ("u8", "an integer"),
        ("u16", "an integer"),
        ("u32", "an integer"),
        ("u64", "an integer"),
        ("usize", "an integer"),
        ("i8", "an integer"),
        ("i16", "an integer"),
        ("i32", "an integer"),
        ("i64", "an integer"),
        ("isize", "an integer"),
        ("f32", "a number"),
        ("f64", "a number"),
        ("a sequence", "a list"),
        ("a map", "an object"),
        ("a boolean", "true or false"),
    ] {
        for tail in ["", ","] {
            m = m.replace(
                &format!("expected {rust}{tail}"),
                &format!("expected {aws}{tail}"),
            );
        }
    }
    // `expected struct Foo` / `expected enum Bar` / `expected unit`.
    for kind in ["struct ", "enum ", "tuple struct "] {
        while let Some(i) = m.find(&format!("expected {kind}")) {
            let start = i + "expected ".len();
            let end = m[start + kind.len()..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(m.len(), |e| start + kind.len() + e);
            m.replace_range(start..end, "an object");
        }
    }
    m.replace("missing field `", "missing required field `")
}

pub(crate) async fn dispatch(
    State(state): State<ApiState>,
    req: AwsRequest,
) -> Result<Response, ApiError> {
    let service = req.service.clone();
    answer(state, req)
        .await
        .map_err(|e| shape_error(&service, e))
}

async fn answer(state: ApiState, req: AwsRequest) -> Result<Response, ApiError> {
    match req.service.as_str() {
        ecs::TARGET_PREFIX if service::OPERATIONS.contains(&req.operation.as_str()) => {
            service::handle(&state.scheduler, &req.operation, &req.body).await
        }
        ecs::TARGET_PREFIX => ecs::handle(&state.engine, &req.operation, &req.body).await,
        autoscaling::TARGET_PREFIX => {
            autoscaling::handle(&state.autoscaling, &req.operation, &req.body).await
        }
        logs::LOGS_PREFIX => logs::handle(&state.logs, &req.operation, &req.body).await,
        secrets::SSM_PREFIX | secrets::SECRETS_MANAGER_PREFIX => {
            secrets::handle(&state.secrets, &req.service, &req.operation, &req.body).await
        }
        ecr::ECR_PREFIX => ecr::handle(&state.ecr, &req.operation, &req.body).await,
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("Unknown service '{other}' in X-Amz-Target."),
        )),
    }
}

/// Prometheus text of the load balancer (CloudWatch ALB metric names) and
/// of CloudWatch Logs metric filters.
async fn metrics(State(state): State<ApiState>) -> Response {
    let mut text = state.elb.balancer().metrics().await;
    text.push_str(&state.logs.metric_filter_metrics());
    let mut resp = text.into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
}

/// The bound address of every ELBv2 listener (`{"listenerArn": "ip:port"}`).
async fn listeners(State(state): State<ApiState>) -> axum::Json<serde_json::Value> {
    let map: serde_json::Map<String, serde_json::Value> = state
        .elb
        .listener_addrs()
        .into_iter()
        .map(|(arn, addr)| (arn, addr.to_string().into()))
        .collect();
    axum::Json(map.into())
}

async fn shutdown(State(state): State<ApiState>) -> &'static str {
    state.shutdown.cancel();
    "shutting down\n"
}

async fn health(State(state): State<ApiState>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok", "instance": state.engine.config().instance}))
}

async fn log_errors(req: Request, next: Next) -> Response {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let resp = next.run(req).await;
    if resp.status().is_server_error() {
        tracing::error!(%target, status = %resp.status(), "API request failed");
    } else if resp.status().is_client_error() {
        tracing::debug!(%target, status = %resp.status(), "API request refused");
    }
    resp
}

/// `POST /`: AWS JSON 1.1 and ELBv2 Query go on to ELBv2's entry (which
/// passes JSON on to [`dispatch`]); a Query request of EC2's version goes
/// to [`crate::ec2`]; one of another version (IAM, STS, ...) is told that
/// service is not emulated.
async fn entry(State(state): State<ApiState>, req: Request) -> Response {
    let form = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return elbv2::entry(State(state), req).await;
    }
    let body = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
        Ok(b) => b,
        Err(e) => {
            return crate::ec2::wire::error(
                StatusCode::BAD_REQUEST,
                "ValidationError",
                &format!("Cannot read the request body: {e}"),
                &uuid::Uuid::new_v4().to_string(),
            )
        }
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let version = pairs
        .iter()
        .find(|(k, _)| k == "Version")
        .map(|(_, v)| v.clone());
    match version.as_deref() {
        Some(crate::ec2::VERSION) => crate::ec2::wire::handle(&state.engine, pairs).await,
        Some(v) if v != elbv2::VERSION => {
            let action = pairs
                .iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, a)| a.as_str())
                .unwrap_or("");
            crate::ec2::wire::error(
                StatusCode::BAD_REQUEST,
                "UnsupportedService",
                &format!(
                    "{action} (API version {v}) is a service this emulator does not emulate: it answers ECS, ELBv2, Application Auto Scaling, CloudWatch Logs, SSM, Secrets Manager, ECR and a few EC2 reads."
                ),
                &uuid::Uuid::new_v4().to_string(),
            )
        }
        _ => elbv2::handle(&state.elb, &body).await,
    }
}

/// Every answer names its request, as AWS's do (`x-amzn-RequestId`; a
/// Query answer's body may name it too, and then the header agrees).
async fn request_id(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if !resp.headers().contains_key("x-amzn-requestid") {
        let id = uuid::Uuid::new_v4().to_string();
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert("x-amzn-requestid", v);
        }
    }
    resp
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        aws_type: "UnknownOperationException".into(),
        message: "Unknown path: the AWS APIs are served on POST /.".into(),
    }
}

/// The API router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(crate::console::index).post(entry))
        .route("/metrics", get(metrics))
        .route("/_emulator/listeners", get(listeners))
        .route("/_emulator/logs", get(logs::for_target))
        .route("/_emulator/stats", get(stats::stats))
        .route("/_emulator/shutdown", post(shutdown))
        .route("/_emulator/health", get(health))
        .merge(crate::console::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(log_errors))
        .layer(middleware::from_fn_with_state(
            state.guard.clone(),
            guard::guard,
        ))
        .layer(middleware::from_fn(wire_log::record))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_errors_name_no_rust_types() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct R {
            count: u32,
            weight: f64,
            list: Vec<String>,
            inner: Option<Inner>,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Inner {}
        for (body, want) in [
            (
                r#"{"count":"x","weight":1,"list":[]}"#,
                "expected an integer",
            ),
            (r#"{"count":1,"weight":"x","list":[]}"#, "expected a number"),
            (r#"{"count":1,"weight":1,"list":"x"}"#, "expected a list"),
            (
                r#"{"count":1,"weight":1,"list":[],"inner":3}"#,
                "expected an object",
            ),
            (
                r#"{"weight":1,"list":[]}"#,
                "missing required field `count`",
            ),
        ] {
            let e = parse_body::<R>(body.as_bytes()).unwrap_err();
            assert!(e.message.contains(want), "{body}: {}", e.message);
            for rust in ["u32", "f64", "Vec", "struct", "Inner", "line "] {
                assert!(!e.message.contains(rust), "{body}: {}", e.message);
            }
        }
    }

    /// A change the store could not make durable is the service's fault:
    /// HTTP 500 in each service's own error type, never a 200.
    #[test]
    fn store_failures_answer_500_in_each_services_terms() {
        let db = || crate::db::DbError::Failed("No space left on device".into());
        let ecs = ApiError::from(EngineError::Store(db()));
        assert_eq!(ecs.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(ecs.aws_type, "ServerException");
        let ssm = ApiError::from(crate::secrets::SecretsError::from(db()));
        assert_eq!(ssm.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(ssm.aws_type, "InternalServerError");
        let logs = ApiError::from(crate::logs::LogsError::from(db()));
        assert_eq!(logs.status, StatusCode::INTERNAL_SERVER_ERROR);
        let asg = ApiError::from(crate::autoscaling::AutoScalingError::from(db()));
        assert_eq!(asg.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(asg.aws_type, "InternalServiceException");
        assert!(ecs.message.contains("No space left"), "{}", ecs.message);
    }
}
