//! SSM Parameter Store (`X-Amz-Target: AmazonSSM.<Op>`) and Secrets Manager
//! (`secretsmanager.<Op>`), AWS JSON 1.1 on the emulator's endpoint.

use axum::response::Response;

use crate::api::{amz_json, parse_body, ApiError};
use crate::secrets::Secrets;

pub use crate::secrets::{SECRETS_MANAGER_PREFIX, SSM_PREFIX};

/// Handles one operation of either service.
pub async fn handle(
    secrets: &Secrets,
    service: &str,
    operation: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let body: serde_json::Value = parse_body(body)?;
    let reply = if service == SSM_PREFIX {
        secrets.ssm(operation, &body).await?
    } else {
        secrets.secrets_manager(operation, &body).await?
    };
    Ok(amz_json(&reply))
}
