//! Secrets for task definitions: an SSM Parameter Store
//! (`X-Amz-Target: AmazonSSM.<Op>`) and a Secrets Manager
//! (`secretsmanager.<Op>`) on the emulator's endpoint, and [`resolve`],
//! which turns a container definition's `secrets[].valueFrom` into the value
//! the container gets in its environment, as the ECS agent does when it
//! creates the container.
//!
//! Values live in the durable state (the state file is written 0600) and
//! never appear in logs, errors or `Debug` output; only GetParameter(s),
//! GetParametersByPath and GetSecretValue return them.

mod secretsmanager;
mod ssm;
pub mod wire;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::ecs::Engine;
use crate::model::arn::Partition;
use crate::model::now_epoch;
use crate::model::secrets::{Parameter, SecretEntry, SecretsState};

/// The `X-Amz-Target` prefix of SSM.
pub const SSM_PREFIX: &str = "AmazonSSM";
/// The `X-Amz-Target` prefix of Secrets Manager.
pub const SECRETS_MANAGER_PREFIX: &str = "secretsmanager";

/// Why an operation failed, named as SSM and Secrets Manager name it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SecretsError {
    #[error("{0}")]
    Validation(String),
    #[error("Parameter {0} not found.")]
    ParameterNotFound(String),
    #[error("The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")]
    ParameterAlreadyExists,
    #[error("Secrets Manager can't find the specified secret.")]
    SecretNotFound,
    #[error("The operation failed because the secret {0} already exists.")]
    SecretExists(String),
    #[error("You can't perform this operation on the secret because it was marked for deletion.")]
    MarkedForDeletion,
    #[error("Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")]
    NoValue,
    #[error("{0}")]
    InvalidParameter(String),
    #[error("Operation '{0}' is not supported by this emulator.")]
    UnknownOperation(String),
    /// `InternalServerError` (SSM) / `InternalServiceError` (Secrets
    /// Manager): the change could not be stored.
    #[error("the change could not be stored: {0}")]
    Store(String),
}

impl From<crate::db::DbError> for SecretsError {
    fn from(e: crate::db::DbError) -> SecretsError {
        SecretsError::Store(e.to_string())
    }
}

impl SecretsError {
    pub fn aws_type(&self) -> &'static str {
        match self {
            SecretsError::Validation(_) => "ValidationException",
            SecretsError::ParameterNotFound(_) => "ParameterNotFound",
            SecretsError::ParameterAlreadyExists => "ParameterAlreadyExists",
            SecretsError::SecretNotFound | SecretsError::NoValue => "ResourceNotFoundException",
            SecretsError::SecretExists(_) => "ResourceExistsException",
            SecretsError::MarkedForDeletion => "InvalidRequestException",
            SecretsError::InvalidParameter(_) => "InvalidParameterException",
            SecretsError::UnknownOperation(_) => "UnknownOperationException",
            SecretsError::Store(_) => "InternalServerError",
        }
    }

    /// A fault of the service, not of the request (HTTP 500).
    pub fn is_server(&self) -> bool {
        matches!(self, SecretsError::Store(_))
    }
}

/// Parses a request. A type error names the problem but not the value
/// (it may be a secret sent as a number).
fn parse<T: for<'de> Deserialize<'de>>(body: &Value) -> Result<T, SecretsError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        let msg = e.to_string();
        let msg = if msg.starts_with("missing field") {
            msg
        } else {
            "a field has the wrong type (names, values and ids are strings)".to_string()
        };
        SecretsError::Validation(format!("Invalid request: {msg}"))
    })
}

fn parameter_arn(p: &Partition, name: &str) -> String {
    p.parameter(name)
}

/// SSM's rules: letters, digits and `_.-/`, at most 2048 characters, a
/// hierarchy starts with `/`, no `aws`/`ssm` prefix.
fn validate_parameter_name(name: &str) -> Result<(), SecretsError> {
    let bad = |why: &str| {
        Err(SecretsError::Validation(format!(
            "Parameter name '{name}': {why}"
        )))
    };
    if name.is_empty() || name.len() > 2048 {
        return bad("must be 1 to 2048 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
    {
        return bad("only letters, digits and _.-/ are allowed");
    }
    if name.contains('/') && !name.starts_with('/') {
        return bad("a parameter name with a hierarchy must be fully qualified (start with /)");
    }
    let lower = name.trim_start_matches('/').to_ascii_lowercase();
    if lower.starts_with("aws") || lower.starts_with("ssm") {
        return bad("names beginning with aws or ssm are reserved");
    }
    Ok(())
}

/// A parameter as GetParameter shows it. Without decryption a
/// `SecureString` shows its (here: base64, not encrypted) ciphertext.
fn parameter_json(p: &Partition, param: &Parameter, decrypt: bool) -> Value {
    let value = if param.kind == "SecureString" && !decrypt {
        if param.ciphertext.is_empty() {
            ciphertext(param.value.len())
        } else {
            param.ciphertext.clone()
        }
    } else {
        param.value.clone()
    };
    json!({
        "Name": param.name,
        "Type": param.kind,
        "Value": value,
        "Version": param.version,
        "LastModifiedDate": param.last_modified_date,
        "ARN": parameter_arn(p, &param.name),
        "DataType": "text",
    })
}

/// An opaque stand-in for KMS ciphertext: base64 of random bytes, a little
/// longer than the value, as SSM shows a `SecureString` read without
/// decryption. It says nothing about the value.
fn ciphertext(len: usize) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..len + 48).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Finds a parameter by name or ARN.
fn find_parameter<'a>(st: &'a SecretsState, name_or_arn: &str) -> Option<&'a Parameter> {
    let name = match name_or_arn.split_once(":parameter") {
        Some((prefix, tail)) if prefix.starts_with("arn:") => tail,
        _ => name_or_arn,
    };
    // `name:N` selects version N. Only the latest version is kept, so
    // another number (or a label) finds nothing.
    let (name, selector) = match name.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (name, None),
    };
    st.parameters
        .get(name)
        .or_else(|| st.parameters.get(name.trim_start_matches('/')))
        .filter(|p| selector.is_none_or(|v| v.parse::<u64>().ok() == Some(p.version)))
}

/// Finds a secret by name, full ARN or partial ARN (without the random
/// suffix).
fn find_secret<'a>(st: &'a SecretsState, id: &str) -> Option<&'a SecretEntry> {
    st.secrets.get(id).or_else(|| {
        st.secrets
            .values()
            .find(|s| s.arn == id || s.arn.rsplit_once('-').is_some_and(|(base, _)| base == id))
    })
}

fn secret_key(st: &SecretsState, id: &str) -> Result<String, SecretsError> {
    find_secret(st, id)
        .map(|s| s.name.clone())
        .ok_or(SecretsError::SecretNotFound)
}

/// The value a container gets for one `secrets[].valueFrom`: an SSM
/// parameter (name or ARN), or a Secrets Manager secret (ARN, optionally
/// `:json-key:version-stage:version-id`). The error is the agent's reason,
/// naming the reference but never a value.
pub fn resolve(st: &SecretsState, value_from: &str) -> Result<String, String> {
    if let Some(rest) = value_from.strip_prefix("arn:") {
        let service = rest.split(':').nth(1).unwrap_or("");
        if service == "secretsmanager" {
            // arn:aws:secretsmanager:R:A:secret:NAME-xxxxxx[:key:stage:version]
            let parts: Vec<&str> = value_from.splitn(11, ':').collect();
            let base = parts.get(..7).map(|p| p.join(":")).unwrap_or_default();
            let json_key = parts.get(7).copied().filter(|k| !k.is_empty());
            let secret = find_secret(st, &base)
                .filter(|s| s.deleted_date.is_none() && !s.version_id.is_empty())
                .ok_or_else(|| {
                    format!("retrieve secret from Secrets Manager: ResourceNotFoundException: Secrets Manager can't find the specified secret: {base}")
                })?;
            return match json_key {
                None => Ok(secret.secret_string.clone()),
                Some(key) => {
                    let doc: Value = serde_json::from_str(&secret.secret_string).map_err(|_| {
                        format!("retrieve secret from Secrets Manager: the secret {base} is not JSON, so it has no key {key}")
                    })?;
                    match doc.get(key) {
                        Some(Value::String(s)) => Ok(s.clone()),
                        Some(v) => Ok(v.to_string()),
                        None => Err(format!(
                            "retrieve secret from Secrets Manager: the secret {base} has no JSON key {key}"
                        )),
                    }
                }
            };
        }
        if service != "ssm" {
            return Err(format!(
                "unsupported secret reference {value_from} (expected an SSM parameter or a Secrets Manager secret)"
            ));
        }
    }
    find_parameter(st, value_from)
        .map(|p| p.value.clone())
        .ok_or_else(|| {
            format!("fetch secret data from SSM Parameter Store: invalid parameters: {value_from}")
        })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutParameter {
    name: String,
    value: String,
    #[serde(default, rename = "Type")]
    kind: Option<String>,
    #[serde(default)]
    overwrite: bool,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameArg {
    name: String,
    #[serde(default)]
    with_decryption: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NamesArg {
    names: Vec<String>,
    #[serde(default)]
    with_decryption: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PathArg {
    path: String,
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    with_decryption: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateSecret {
    name: String,
    #[serde(default)]
    secret_string: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecretIdArg {
    secret_id: String,
    #[serde(default)]
    secret_string: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    force_delete_without_recovery: bool,
    #[serde(default)]
    recovery_window_in_days: Option<i64>,
}

/// The two stores over the engine's durable state.
#[derive(Clone)]
pub struct Secrets {
    engine: Engine,
}

impl Secrets {
    pub fn new(engine: Engine) -> Secrets {
        Secrets { engine }
    }

    fn partition(&self) -> Partition {
        self.engine.config().partition.clone()
    }

    fn read<R>(&self, f: impl FnOnce(&SecretsState) -> R) -> R {
        self.engine.read(|s| f(&s.secrets))
    }

    async fn write<R>(&self, f: impl FnOnce(&mut SecretsState) -> R) -> Result<R, SecretsError> {
        Ok(self.engine.update_state(|s| f(&mut s.secrets)).await?)
    }
}

fn secret_json(s: &SecretEntry) -> Value {
    let mut v = json!({
        "ARN": s.arn, "Name": s.name,
        "CreatedDate": s.created_date, "LastChangedDate": s.last_changed_date,
    });
    if !s.version_id.is_empty() {
        v["VersionIdsToStages"] = json!({s.version_id.clone(): ["AWSCURRENT"]});
    }
    if let Some(d) = &s.description {
        v["Description"] = json!(d);
    }
    if let Some(d) = s.deleted_date {
        v["DeletedDate"] = json!(d);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SecretsState {
        let mut st = SecretsState::default();
        st.parameters.insert(
            "/app/db-password".into(),
            Parameter {
                name: "/app/db-password".into(),
                kind: "SecureString".into(),
                value: "hunter2".into(),
                version: 1,
                ..Default::default()
            },
        );
        st.parameters.insert(
            "plain".into(),
            Parameter {
                name: "plain".into(),
                kind: "String".into(),
                value: "v".into(),
                version: 1,
                ..Default::default()
            },
        );
        st.secrets.insert(
            "app/creds".into(),
            SecretEntry {
                name: "app/creds".into(),
                arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/creds-AbC123".into(),
                secret_string: r#"{"user":"ringo","port":5432}"#.into(),
                version_id: "v1".into(),
                ..Default::default()
            },
        );
        st
    }

    #[test]
    fn value_from_resolves_parameters_by_name_and_arn() {
        let st = state();
        assert_eq!(resolve(&st, "/app/db-password").unwrap(), "hunter2");
        assert_eq!(
            resolve(
                &st,
                "arn:aws:ssm:us-east-1:000000000000:parameter/app/db-password"
            )
            .unwrap(),
            "hunter2"
        );
        assert_eq!(
            resolve(&st, "arn:aws:ssm:us-east-1:000000000000:parameter/plain").unwrap(),
            "v"
        );
        let err = resolve(&st, "/app/missing").unwrap_err();
        assert!(err.contains("invalid parameters: /app/missing"), "{err}");
    }

    #[test]
    fn value_from_resolves_secrets_whole_or_by_json_key() {
        let st = state();
        let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/creds-AbC123";
        assert_eq!(
            resolve(&st, arn).unwrap(),
            r#"{"user":"ringo","port":5432}"#
        );
        assert_eq!(resolve(&st, &format!("{arn}:user::")).unwrap(), "ringo");
        assert_eq!(resolve(&st, &format!("{arn}:port::")).unwrap(), "5432");
        assert!(resolve(&st, &format!("{arn}:nope::"))
            .unwrap_err()
            .contains("no JSON key nope"));
        // A partial ARN (no random suffix) names the secret too.
        assert!(resolve(
            &st,
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/creds"
        )
        .is_ok());
        let err = resolve(
            &st,
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:other-XyZ987",
        )
        .unwrap_err();
        assert!(err.contains("ResourceNotFoundException"), "{err}");
    }

    #[test]
    fn errors_and_debug_output_never_show_values() {
        let st = state();
        let all = format!("{st:?}");
        assert!(!all.contains("hunter2") && !all.contains("ringo"), "{all}");
        let err = resolve(
            &st,
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/creds-AbC123:missing::",
        )
        .unwrap_err();
        assert!(!err.contains("ringo"), "{err}");
    }

    #[test]
    fn parameter_names_follow_ssm_rules() {
        assert!(validate_parameter_name("/a/b-c_d.e").is_ok());
        assert!(validate_parameter_name("flat").is_ok());
        assert!(validate_parameter_name("a/b").is_err());
        assert!(validate_parameter_name("/aws/x").is_err());
        assert!(validate_parameter_name("bad name").is_err());
        assert!(validate_parameter_name("").is_err());
    }
}
