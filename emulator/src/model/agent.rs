//! What the ECS container agent sends (DiscoverPollEndpoint, the
//! Submit*StateChange reports, UpdateContainerAgent) and the agent's
//! version on a container instance.

use serde::{Deserialize, Serialize};

/// The newest agent the emulator offers through UpdateContainerAgent.
pub const LATEST_AGENT_VERSION: &str = "1.89.0";

/// A container instance's agent (`versionInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverPollEndpoint {
    #[serde(default)]
    pub container_instance: Option<String>,
    #[serde(default)]
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedBinding {
    #[serde(default, rename = "bindIP")]
    pub bind_ip: Option<String>,
    #[serde(default)]
    pub container_port: Option<i64>,
    #[serde(default)]
    pub host_port: Option<i64>,
    #[serde(default)]
    pub protocol: Option<String>,
}

/// One container's state in a SubmitTaskStateChange.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateChange {
    #[serde(default)]
    pub container_name: Option<String>,
    #[serde(default)]
    pub runtime_id: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub network_bindings: Vec<ReportedBinding>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub image_digest: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentStateChange {
    pub attachment_arn: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitTaskStateChange {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub task: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerStateChange>,
    #[serde(default)]
    pub attachments: Vec<AttachmentStateChange>,
    #[serde(default)]
    pub pull_started_at: Option<f64>,
    #[serde(default)]
    pub pull_stopped_at: Option<f64>,
    #[serde(default)]
    pub execution_stopped_at: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitContainerStateChange {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub task: Option<String>,
    #[serde(flatten)]
    pub container: ContainerStateChange,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitAttachmentStateChanges {
    #[serde(default)]
    pub cluster: Option<String>,
    pub attachments: Vec<AttachmentStateChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateContainerAgent {
    #[serde(default)]
    pub cluster: Option<String>,
    pub container_instance: String,
}

/// Orders dotted versions numerically (`1.10.0` > `1.9.3`).
pub fn version_less(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.trim_start_matches('v')
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parts(a) < parts(b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_order_numerically() {
        assert!(super::version_less("1.9.3", "1.10.0"));
        assert!(!super::version_less("1.89.0", "1.89.0"));
        assert!(!super::version_less("2.0.0", "1.89.0"));
    }
}
