//! ECS account settings and attributes.

use serde::{Deserialize, Serialize};

/// One account setting (`PutAccountSetting`), for a principal or the
/// account's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSetting {
    pub name: String,
    pub value: String,
    pub principal_arn: String,
    /// `user` (set by a call) or `aws_managed` (AWS's default).
    #[serde(rename = "type")]
    pub kind: String,
}

/// The settings ECS knows, and their defaults when nobody set them.
pub const ACCOUNT_SETTING_DEFAULTS: &[(&str, &str)] = &[
    ("awsvpcTrunking", "disabled"),
    ("containerInsights", "disabled"),
    ("containerInstanceLongArnFormat", "enabled"),
    ("fargateFIPSMode", "disabled"),
    ("fargateTaskRetirementWaitPeriod", "7"),
    ("guardDutyActivate", "off"),
    ("serviceLongArnFormat", "enabled"),
    ("tagResourceAuthorization", "on"),
    ("taskLongArnFormat", "enabled"),
    // ECS's default since 25 June 2025 ("to prioritize task availability
    // over logging").
    ("defaultLogDriverMode", "non-blocking"),
];

/// A custom attribute on a container instance (`PutAttributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetAttribute {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
}
