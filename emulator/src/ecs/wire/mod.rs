//! The ECS operations: each request body becomes a [`Command`], each
//! [`Reply`] becomes the AWS response shape.

pub mod services;

use axum::response::Response;
use serde_json::{json, Value};

use crate::api::{amz_json, parse_body, ApiError};
use crate::ecs::{Command, Engine, Reply};

/// The `X-Amz-Target` prefix of ECS.
pub const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113";

/// Parses an operation's body into a command.
pub fn command(operation: &str, body: &[u8]) -> Result<Command, ApiError> {
    Ok(match operation {
        "CreateCluster" => Command::CreateClusterWith(parse_body(body)?, parse_body(body)?),
        "DescribeClusters" => Command::DescribeClusters(parse_body(body)?),
        "ListClusters" => Command::ListClusters(parse_body(body)?),
        "UpdateCluster" => Command::UpdateClusterWith(parse_body(body)?, parse_body(body)?),
        "UpdateClusterSettings" => Command::UpdateClusterSettings(parse_body(body)?),
        "TagResource" => Command::TagResource(parse_body(body)?),
        "UntagResource" => Command::UntagResource(parse_body(body)?),
        "ListTagsForResource" => Command::ListTagsForResource(parse_body(body)?),
        "DeregisterContainerInstance" => Command::DeregisterContainerInstance(parse_body(body)?),
        "DeleteTaskDefinitions" => Command::DeleteTaskDefinitions(parse_body(body)?),
        "PutAccountSetting" => Command::PutAccountSetting(parse_body(body)?),
        "PutAccountSettingDefault" => Command::PutAccountSettingDefault(parse_body(body)?),
        "DeleteAccountSetting" => Command::DeleteAccountSetting(parse_body(body)?),
        "ListAccountSettings" => Command::ListAccountSettings(parse_body(body)?),
        "PutAttributes" => Command::PutAttributes(parse_body(body)?),
        "DeleteAttributes" => Command::DeleteAttributes(parse_body(body)?),
        "ListAttributes" => Command::ListAttributes(parse_body(body)?),
        "DescribeCapacityProviders" => Command::DescribeCapacityProviders(parse_body(body)?),
        "UpdateTaskProtection" => Command::UpdateTaskProtection(parse_body(body)?),
        "GetTaskProtection" => Command::GetTaskProtection(parse_body(body)?),
        "DeleteCluster" => Command::DeleteCluster(parse_body(body)?),
        "RegisterContainerInstance" => Command::RegisterContainerInstance(parse_body(body)?),
        "ListContainerInstances" => Command::ListContainerInstances(parse_body(body)?),
        "DescribeContainerInstances" => Command::DescribeContainerInstances(parse_body(body)?),
        "RegisterTaskDefinition" => Command::RegisterTaskDefinition(Box::new(parse_body(body)?)),
        "DescribeTaskDefinition" => Command::DescribeTaskDefinition(parse_body(body)?),
        "ListTaskDefinitions" => Command::ListTaskDefinitions(parse_body(body)?),
        "ListTaskDefinitionFamilies" => Command::ListTaskDefinitionFamilies(parse_body(body)?),
        "DeregisterTaskDefinition" => Command::DeregisterTaskDefinition(parse_body(body)?),
        "RunTask" => Command::RunTaskWith(parse_body(body)?, parse_body(body)?),
        "StartTask" => Command::StartTask(parse_body(body)?),
        "StopTask" => Command::StopTask(parse_body(body)?),
        "DescribeTasks" => Command::DescribeTasks(parse_body(body)?),
        "ListTasks" => Command::ListTasks(parse_body(body)?),
        "CreateCapacityProvider" => Command::CreateCapacityProvider(parse_body(body)?),
        "UpdateCapacityProvider" => Command::UpdateCapacityProvider(parse_body(body)?),
        "DeleteCapacityProvider" => Command::DeleteCapacityProvider(parse_body(body)?),
        "PutClusterCapacityProviders" => Command::PutClusterCapacityProviders(parse_body(body)?),
        "ListServicesByNamespace" => Command::ListServicesByNamespace(parse_body(body)?),
        "DiscoverPollEndpoint" => Command::DiscoverPollEndpoint(parse_body(body)?),
        "SubmitTaskStateChange" => Command::SubmitTaskStateChange(parse_body(body)?),
        "SubmitContainerStateChange" => Command::SubmitContainerStateChange(parse_body(body)?),
        "SubmitAttachmentStateChanges" => Command::SubmitAttachmentStateChanges(parse_body(body)?),
        "UpdateContainerAgent" => Command::UpdateContainerAgent(parse_body(body)?),
        other => {
            return Err(ApiError::new(
                "UnknownOperationException",
                format!("Operation '{other}' is not supported by this ECS emulator."),
            ))
        }
    })
}

/// The AWS response body of a reply.
pub fn render(reply: Reply) -> Value {
    match reply {
        Reply::Cluster(c) => json!({ "cluster": c }),
        Reply::Clusters { clusters, failures } => {
            json!({ "clusters": clusters, "failures": failures })
        }
        Reply::ClusterArns(a) => json!({ "clusterArns": a }),
        Reply::ContainerInstance(i) => json!({ "containerInstance": i }),
        Reply::ContainerInstances {
            instances,
            failures,
        } => {
            json!({ "containerInstances": instances, "failures": failures })
        }
        Reply::ContainerInstanceArns(a) => json!({ "containerInstanceArns": a }),
        Reply::TaskDefinition(t) => json!({ "taskDefinition": t }),
        Reply::TaskDefinitionArns(a) => json!({ "taskDefinitionArns": a }),
        Reply::Families(f) => json!({ "families": f }),
        Reply::Tasks { tasks, failures } => {
            let tasks: Vec<Value> = tasks.iter().map(aws_task).collect();
            json!({ "tasks": tasks, "failures": failures })
        }
        Reply::Task(t) => json!({ "task": aws_task(&t) }),
        Reply::TaskArns(a) => json!({ "taskArns": a }),
        Reply::TaskDefinitionTagged {
            task_definition,
            tags,
        } => json!({ "taskDefinition": task_definition, "tags": tags }),
        Reply::TaskDefinitions {
            task_definitions,
            failures,
        } => json!({ "taskDefinitions": task_definitions, "failures": failures }),
        Reply::Tags(tags) => json!({ "tags": tags }),
        Reply::Empty => json!({}),
        Reply::Json(v) => v,
        Reply::Paged { reply, next_token } => {
            let mut v = render(*reply);
            v["nextToken"] = json!(next_token);
            v
        }
    }
}

/// A task in ECS's Task shape: what the emulator keeps beside it
/// (`containers[].essential`, read from the definition at placement, and
/// `runtimeAddress`, and the task's `dockerHost`) is left out.
fn aws_task(task: &crate::model::Task) -> Value {
    let mut v = serde_json::to_value(task).unwrap_or(Value::Null);
    if let Some(containers) = v.get_mut("containers").and_then(Value::as_array_mut) {
        for c in containers {
            if let Some(c) = c.as_object_mut() {
                c.remove("essential");
                c.remove("runtimeAddress");
            }
        }
    }
    if let Some(t) = v.as_object_mut() {
        t.remove("protectedUntil");
        t.remove("dockerHost");
    }
    v
}

/// Handles one ECS operation.
pub async fn handle(engine: &Engine, operation: &str, body: &[u8]) -> Result<Response, ApiError> {
    let cmd = command(operation, body)?;
    let reply = engine.handle(cmd).await?;
    Ok(amz_json(&render(reply)))
}
