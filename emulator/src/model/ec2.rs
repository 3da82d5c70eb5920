//! EC2 security groups, kept as data (they filter nothing here).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    pub group_id: String,
    pub group_name: String,
    pub description: String,
    /// Ingress rules as `PROTOCOL FROM TO CIDR`.
    #[serde(default)]
    pub ingress: Vec<String>,
}
