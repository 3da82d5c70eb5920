//! The ECS service operations (same endpoint and `X-Amz-Target` prefix as
//! [`super`]): each body becomes a [`ServiceCommand`] for the
//! [`Scheduler`], each [`ServiceReply`] the AWS response shape.

use axum::response::Response;
use serde_json::{json, Value};

use crate::api::{amz_json, parse_body, ApiError};
use crate::ecs::scheduler::{Scheduler, ServiceCommand, ServiceError, ServiceReply};
use crate::ecs::EngineError;

/// The operations handled here.
pub const OPERATIONS: &[&str] = &[
    "CreateService",
    "UpdateService",
    "DescribeServices",
    "ListServices",
    "DeleteService",
    "UpdateContainerInstancesState",
    "ListServiceDeployments",
    "DescribeServiceDeployments",
    "DescribeServiceRevisions",
    "StopServiceDeployment",
    "ContinueServiceDeployment",
    "CreateTaskSet",
    "DescribeTaskSets",
    "UpdateTaskSet",
    "DeleteTaskSet",
    "UpdateServicePrimaryTaskSet",
];

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            ServiceError::Engine(e) => e.into(),
            e => ApiError::new(e.aws_type(), e.to_string()),
        }
    }
}

pub fn command(operation: &str, body: &[u8]) -> Result<ServiceCommand, ApiError> {
    Ok(match operation {
        "CreateService" => ServiceCommand::Create(parse_body(body)?),
        "UpdateService" => ServiceCommand::Update(parse_body(body)?),
        "DescribeServices" => ServiceCommand::Describe(parse_body(body)?),
        "ListServices" => ServiceCommand::List(parse_body(body)?),
        "DeleteService" => ServiceCommand::Delete(parse_body(body)?),
        "UpdateContainerInstancesState" => {
            ServiceCommand::UpdateContainerInstancesState(parse_body(body)?)
        }
        "ListServiceDeployments" => ServiceCommand::ListServiceDeployments(parse_body(body)?),
        "DescribeServiceDeployments" => {
            ServiceCommand::DescribeServiceDeployments(parse_body(body)?)
        }
        "DescribeServiceRevisions" => ServiceCommand::DescribeServiceRevisions(parse_body(body)?),
        "StopServiceDeployment" => ServiceCommand::StopServiceDeployment(parse_body(body)?),
        "ContinueServiceDeployment" => ServiceCommand::ContinueServiceDeployment(parse_body(body)?),
        "CreateTaskSet" => ServiceCommand::CreateTaskSet(parse_body(body)?),
        "DescribeTaskSets" => ServiceCommand::DescribeTaskSets(parse_body(body)?),
        "UpdateTaskSet" => ServiceCommand::UpdateTaskSet(parse_body(body)?),
        "DeleteTaskSet" => ServiceCommand::DeleteTaskSet(parse_body(body)?),
        "UpdateServicePrimaryTaskSet" => {
            ServiceCommand::UpdateServicePrimaryTaskSet(parse_body(body)?)
        }
        other => {
            return Err(EngineError::Client(format!("Unknown service operation '{other}'.")).into())
        }
    })
}

pub fn render(reply: ServiceReply) -> Value {
    match reply {
        ServiceReply::Service(s) => json!({ "service": s }),
        ServiceReply::Services { services, failures } => {
            json!({ "services": services, "failures": failures })
        }
        ServiceReply::ServiceArns { arns, next_token } => match next_token {
            Some(t) => json!({ "serviceArns": arns, "nextToken": t }),
            None => json!({ "serviceArns": arns }),
        },
        ServiceReply::ContainerInstances {
            instances,
            failures,
        } => json!({ "containerInstances": instances, "failures": failures }),
        ServiceReply::Json(v) => v,
    }
}

/// Handles one service operation.
pub async fn handle(
    scheduler: &Scheduler,
    operation: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let cmd = command(operation, body)?;
    let reply = scheduler.handle(cmd).await?;
    Ok(amz_json(&render(reply)))
}
