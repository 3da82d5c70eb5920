//! SSM Parameter Store (`X-Amz-Target: AmazonSSM.<Op>`) and Secrets Manager
//! (`secretsmanager.<Op>`), AWS JSON 1.1 on the emulator's endpoint.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{parse_body, ApiError, AMZ_JSON};
use crate::control::secrets::{Secrets, SecretsError};

pub use crate::control::secrets::{SECRETS_MANAGER_PREFIX, SSM_PREFIX};

impl From<SecretsError> for ApiError {
    fn from(e: SecretsError) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            aws_type: e.aws_type().to_string(),
            message: e.to_string(),
        }
    }
}

/// Handles one operation of either service.
pub fn handle(
    secrets: &Secrets,
    service: &str,
    operation: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let body: serde_json::Value = parse_body(body)?;
    let reply = if service == SSM_PREFIX {
        secrets.ssm(operation, &body)?
    } else {
        secrets.secrets_manager(operation, &body)?
    };
    let mut resp = reply.to_string().into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(AMZ_JSON),
    );
    Ok(resp)
}
