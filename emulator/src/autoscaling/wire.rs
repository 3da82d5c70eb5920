//! The Application Auto Scaling API (AWS JSON 1.1,
//! `X-Amz-Target: AnyScaleFrontendService.<Operation>`) on the emulator's
//! endpoint: each body becomes an [`AutoScalingCommand`].
//!
//! One operation is the emulator's own, not AWS's: `ExecuteScalingPolicy`
//! stands in for the CloudWatch alarm that invokes a step scaling policy
//! (see [`AutoScaling::execute_step_policy`]).

use axum::response::Response;

use crate::api::{amz_json, parse_body, ApiError};
use crate::autoscaling::{AutoScaling, AutoScalingCommand};

pub use crate::autoscaling::TARGET_PREFIX;

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
        "PutScheduledAction" => C::PutScheduledAction(parse_body(body)?),
        "DescribeScheduledActions" => C::DescribeScheduledActions(parse_body(body)?),
        "DeleteScheduledAction" => C::DeleteScheduledAction(parse_body(body)?),
        "TagResource" => C::TagResource(parse_body(body)?),
        "UntagResource" => C::UntagResource(parse_body(body)?),
        "ListTagsForResource" => C::ListTagsForResource(parse_body(body)?),
        "ExecuteScalingPolicy" => C::ExecuteScalingPolicy(parse_body(body)?),
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
    let reply = autoscaling.handle(command(operation, body)?).await?;
    Ok(amz_json(&reply))
}
