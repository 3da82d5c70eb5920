//! ECR repositories as the store keeps them (by name). Images live in the
//! registry itself; the record only remembers when each manifest was
//! pushed (what the registry does not keep) and its lifecycle policy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    pub repository_name: String,
    pub repository_arn: String,
    pub registry_id: String,
    pub created_at: f64,
    /// MUTABLE or IMMUTABLE.
    pub image_tag_mutability: String,
    #[serde(default)]
    pub scan_on_push: bool,
    /// `imagePushedAt` by manifest digest, recorded by the registry proxy.
    #[serde(default)]
    pub pushed_at: BTreeMap<String, f64>,
    /// The lifecycle policy text (PutLifecyclePolicy), applied after each
    /// push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_policy: Option<String>,
    /// When the policy last ran over the images (`lastEvaluatedAt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_evaluated_at: Option<f64>,
    /// The policy text of the last StartLifecyclePolicyPreview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_preview: Option<String>,
}
