//! The Application Auto Scaling API (AWS JSON 1.1,
//! `X-Amz-Target: AnyScaleFrontendService.<Operation>`) on the emulator's
//! endpoint: each body becomes an [`AutoScalingCommand`].

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{parse_body, ApiError, AMZ_JSON};
use crate::control::autoscaling::{AutoScaling, AutoScalingCommand, AutoScalingError};

pub use crate::control::autoscaling::TARGET_PREFIX;

impl From<AutoScalingError> for ApiError {
    fn from(e: AutoScalingError) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            aws_type: e.aws_type().to_string(),
            message: e.to_string(),
        }
    }
}

pub fn command(operation: &str, body: &[u8]) -> Result<AutoScalingCommand, ApiError> {
    use AutoScalingCommand as C;
    Ok(match operation {
        "RegisterScalableTarget" => C::RegisterScalableTarget(parse_body(body)?),
        "DescribeScalableTargets" => C::DescribeScalableTargets(parse_body(body)?),
        "DeregisterScalableTarget" => C::DeregisterScalableTarget(parse_body(body)?),
        "PutScalingPolicy" => C::PutScalingPolicy(parse_body(body)?),
        "DescribeScalingPolicies" => C::DescribeScalingPolicies(parse_body(body)?),
        "DeleteScalingPolicy" => C::DeleteScalingPolicy(parse_body(body)?),
        "DescribeScalingActivities" => C::DescribeScalingActivities(parse_body(body)?),
        other => {
            return Err(ApiError::new(
                "UnknownOperationException",
                format!(
                "Operation '{other}' is not supported by this Application Auto Scaling emulator."
            ),
            ))
        }
    })
}

/// Handles one operation.
pub async fn handle(
    autoscaling: &AutoScaling,
    operation: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let reply = autoscaling.handle(command(operation, body)?)?;
    let mut resp = reply.to_string().into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(AMZ_JSON),
    );
    Ok(resp)
}
