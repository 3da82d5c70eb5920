//! SSM Parameter Store parameters and Secrets Manager secrets, as the
//! durable state holds them, each record with its versions (bounded as
//! AWS bounds them). Values are plain text in the data directory's state
//! file (written 0600); `Debug` never shows them.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The staging label of a secret's current version.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The staging label of a secret's version before the current one.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

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
    /// Every version kept, oldest first, the latest (the fields above)
    /// last; at most [`Parameter::MAX_VERSIONS`]. Empty in records written
    /// before versions were kept: then the latest is the only one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<ParameterVersion>,
    /// `Standard` or `Advanced` (empty in records from before tiers were
    /// kept: `Standard`). A parameter never goes back to `Standard`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tier: String,
    /// Parameter policies (PutParameter `Policies`), as given, one JSON
    /// object each; only an Advanced parameter has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// The resource policy sharing the parameter (SSM PutResourcePolicy):
    /// `(PolicyId, PolicyHash, Policy)`; only an Advanced parameter has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<(String, String, String)>,
}

/// One version of a parameter.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterVersion {
    pub version: u64,
    pub kind: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ciphertext: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub last_modified_date: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl Parameter {
    /// Versions SSM keeps of a parameter.
    pub const MAX_VERSIONS: usize = 100;

    /// The tier, `Standard` for records that name none.
    pub fn tier(&self) -> &str {
        if self.tier.is_empty() {
            "Standard"
        } else {
            &self.tier
        }
    }

    /// The latest version as a history entry (no labels).
    fn latest(&self) -> ParameterVersion {
        ParameterVersion {
            version: self.version,
            kind: self.kind.clone(),
            value: self.value.clone(),
            ciphertext: self.ciphertext.clone(),
            description: self.description.clone(),
            last_modified_date: self.last_modified_date,
            labels: Vec::new(),
        }
    }

    /// Every version kept, oldest first.
    pub fn versions(&self) -> Cow<'_, [ParameterVersion]> {
        if self.history.is_empty() {
            Cow::Owned(vec![self.latest()])
        } else {
            Cow::Borrowed(&self.history)
        }
    }

    /// The history, made explicit for a change (records from before
    /// versions were kept have none).
    pub fn history_mut(&mut self) -> &mut Vec<ParameterVersion> {
        if self.history.is_empty() {
            self.history.push(self.latest());
        }
        &mut self.history
    }

    /// Adds the version the fields now describe to the history (call
    /// [`Parameter::history_mut`] before changing them).
    pub fn push_latest(&mut self) {
        let latest = self.latest();
        self.history.push(latest);
    }
}

impl std::fmt::Debug for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parameter")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("value", &"<redacted>")
            .field("version", &self.version)
            .field("versions", &self.history.len())
            .finish()
    }
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretEntry {
    pub name: String,
    pub arn: String,
    /// The `AWSCURRENT` version's value (empty while it has none).
    pub secret_string: String,
    /// The `AWSCURRENT` version (empty while the secret has no value:
    /// CreateSecret without one).
    pub version_id: String,
    pub created_date: f64,
    pub last_changed_date: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Set by DeleteSecret with a recovery window: the secret can be
    /// restored but not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<f64>,
    /// Every version kept, oldest first, with its staging labels. Empty
    /// in records written before versions were kept: then the current
    /// version (above) is the only one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<SecretVersion>,
    /// The resource policy (PutResourcePolicy), as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<String>,
}

/// One version of a secret.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVersion {
    pub version_id: String,
    pub secret_string: String,
    pub created_date: f64,
    #[serde(default)]
    pub stages: Vec<String>,
}

impl SecretEntry {
    /// Versions without a staging label kept at most (AWS deletes the
    /// oldest such versions beyond about a hundred).
    pub const MAX_DEPRECATED: usize = 100;

    /// Every version, oldest first.
    pub fn all_versions(&self) -> Cow<'_, [SecretVersion]> {
        if self.versions.is_empty() && !self.version_id.is_empty() {
            Cow::Owned(vec![SecretVersion {
                version_id: self.version_id.clone(),
                secret_string: self.secret_string.clone(),
                created_date: self.last_changed_date,
                stages: vec![AWSCURRENT.to_string()],
            }])
        } else {
            Cow::Borrowed(&self.versions)
        }
    }

    /// The versions, made explicit for a change.
    pub fn versions_mut(&mut self) -> &mut Vec<SecretVersion> {
        if self.versions.is_empty() && !self.version_id.is_empty() {
            self.versions = self.all_versions().into_owned();
        }
        &mut self.versions
    }

    /// The version holding staging label `stage`.
    pub fn by_stage(&self, stage: &str) -> Option<SecretVersion> {
        self.all_versions()
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
            .cloned()
    }

    /// The version `id`.
    pub fn by_id(&self, id: &str) -> Option<SecretVersion> {
        self.all_versions()
            .iter()
            .find(|v| v.version_id == id)
            .cloned()
    }

    /// Refreshes the `AWSCURRENT` mirror fields and drops the oldest
    /// unlabelled versions beyond the bound.
    pub fn settle(&mut self) {
        let current = self.by_stage(AWSCURRENT);
        self.version_id = current
            .as_ref()
            .map(|v| v.version_id.clone())
            .unwrap_or_default();
        self.secret_string = current.map(|v| v.secret_string).unwrap_or_default();
        let deprecated = self.versions.iter().filter(|v| v.stages.is_empty()).count();
        let mut extra = deprecated.saturating_sub(Self::MAX_DEPRECATED);
        self.versions.retain(|v| {
            if extra > 0 && v.stages.is_empty() {
                extra -= 1;
                false
            } else {
                true
            }
        });
    }
}

impl std::fmt::Debug for SecretEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretEntry")
            .field("name", &self.name)
            .field("arn", &self.arn)
            .field("secret_string", &"<redacted>")
            .field("version_id", &self.version_id)
            .field("versions", &self.versions.len())
            .finish()
    }
}

/// An SSM service setting changed from its default (UpdateServiceSetting);
/// the others read as their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSetting {
    /// The setting id without the ARN (`/ssm/parameter-store/...`).
    pub setting_id: String,
    pub value: String,
    pub last_modified_date: f64,
}

/// An SSM document with its versions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub name: String,
    pub document_type: String,
    pub created_date: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    pub default_version: u64,
    /// Every version, oldest first (a version deleted by DeleteDocument
    /// with a DocumentVersion is gone).
    pub versions: Vec<DocumentVersion>,
}

/// One version of a document: its content as given, and what SSM reads
/// out of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentVersion {
    pub version: u64,
    pub content: String,
    /// `JSON`, `YAML` or `TEXT`.
    pub format: String,
    /// Sha256 of the content, hex.
    pub hash: String,
    pub created_date: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `[{Name, Type, Description, DefaultValue}]` as DescribeDocument shows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<serde_json::Value>,
    #[serde(default)]
    pub platform_types: Vec<String>,
}

impl Document {
    /// Versions SSM keeps of a document.
    pub const MAX_VERSIONS: usize = 1000;

    pub fn version(&self, n: u64) -> Option<&DocumentVersion> {
        self.versions.iter().find(|v| v.version == n)
    }

    pub fn latest(&self) -> u64 {
        self.versions.last().map(|v| v.version).unwrap_or(0)
    }
}

/// Both stores, keyed by name.
pub use crate::db::state::SecretsState;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_without_versions_read_as_their_one_version() {
        let mut p = Parameter {
            name: "p".into(),
            value: "v1".into(),
            version: 3,
            ..Default::default()
        };
        assert_eq!(p.versions().len(), 1);
        assert_eq!(p.versions()[0].version, 3);
        // The old record's version 3 stays in the history.
        p.history_mut();
        p.value = "v4".into();
        p.version = 4;
        p.push_latest();
        assert_eq!(
            p.versions().iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![3, 4]
        );

        let mut s = SecretEntry {
            version_id: "a".into(),
            secret_string: "x".into(),
            ..Default::default()
        };
        assert_eq!(s.by_stage(AWSCURRENT).unwrap().version_id, "a");
        s.versions_mut().push(SecretVersion {
            version_id: "b".into(),
            secret_string: "y".into(),
            ..Default::default()
        });
        assert_eq!(s.versions.len(), 2);
        s.settle();
        assert_eq!(
            (s.version_id.as_str(), s.secret_string.as_str()),
            ("a", "x")
        );
        let debug = format!("{s:?}{p:?}");
        assert!(!debug.contains("\"x\"") && !debug.contains("v4"), "{debug}");
    }
}
