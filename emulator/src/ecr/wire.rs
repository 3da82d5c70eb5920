//! ECR's JSON 1.1 endpoint (`X-Amz-Target:
//! AmazonEC2ContainerRegistry_V20150921.<Op>`).

use axum::response::Response;

use crate::api::{amz_json, parse_body, ApiError};
use crate::ecr::{Ecr, EcrError};

pub use crate::ecr::ECR_PREFIX;

/// Handles one ECR operation.
pub async fn handle(ecr: &Ecr, operation: &str, body: &[u8]) -> Result<Response, ApiError> {
    let body: serde_json::Value = parse_body(body)?;
    let reply = match operation {
        "CreateRepository" => ecr.create_repository(&body).await,
        "DescribeRepositories" => ecr.describe_repositories(&body).await,
        "DeleteRepository" => ecr.delete_repository(&body).await,
        "PutImageTagMutability" => ecr.put_image_tag_mutability(&body).await,
        "GetAuthorizationToken" => ecr.get_authorization_token(),
        "ListImages" => ecr.list_images(&body).await,
        "DescribeImages" => ecr.describe_images(&body).await,
        "BatchGetImage" => ecr.batch_get_image(&body).await,
        "BatchDeleteImage" => ecr.batch_delete_image(&body).await,
        "TagResource" => ecr.tag_resource(&body).await,
        "UntagResource" => ecr.untag_resource(&body).await,
        "ListTagsForResource" => ecr.list_tags_for_resource(&body),
        "PutLifecyclePolicy" => ecr.put_lifecycle_policy(&body).await,
        "GetLifecyclePolicy" => ecr.get_lifecycle_policy(&body).await,
        "DeleteLifecyclePolicy" => ecr.delete_lifecycle_policy(&body).await,
        "StartLifecyclePolicyPreview" => ecr.start_lifecycle_policy_preview(&body).await,
        "GetLifecyclePolicyPreview" => ecr.get_lifecycle_policy_preview(&body).await,
        other => Err(EcrError::UnknownOperation(other.to_string())),
    }?;
    Ok(amz_json(&reply))
}
