//! SSM Parameter Store parameters and Secrets Manager secrets, as the
//! durable state holds them. Values are plain text in the data directory's
//! state file (written 0600); `Debug` never shows them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub name: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    pub value: String,
    pub version: u64,
    pub last_modified_date: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What a `SecureString` reads as without decryption: random bytes
    /// made when the value was set (no KMS here), never derived from it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ciphertext: String,
}

impl std::fmt::Debug for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parameter")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("value", &"<redacted>")
            .field("version", &self.version)
            .finish()
    }
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretEntry {
    pub name: String,
    pub arn: String,
    pub secret_string: String,
    /// Empty while the secret has no value (CreateSecret without one).
    pub version_id: String,
    pub created_date: f64,
    pub last_changed_date: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Set by DeleteSecret with a recovery window: the secret can be
    /// restored but not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<f64>,
}

impl std::fmt::Debug for SecretEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretEntry")
            .field("name", &self.name)
            .field("arn", &self.arn)
            .field("secret_string", &"<redacted>")
            .field("version_id", &self.version_id)
            .finish()
    }
}

/// Both stores, keyed by name.
pub use crate::db::state::SecretsState;
