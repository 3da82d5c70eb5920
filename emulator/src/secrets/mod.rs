//! Secrets for task definitions: an SSM Parameter Store
//! (`X-Amz-Target: AmazonSSM.<Op>`) and a Secrets Manager
//! (`secretsmanager.<Op>`) on the emulator's endpoint, and [`resolve`],
//! which turns a container definition's `secrets[].valueFrom` into the value
//! the container gets in its environment, as the ECS agent does when it
//! creates the container.
//!
//! Values live in the durable state (the state file is written 0600) and
//! never appear in logs, errors or `Debug` output; only GetParameter(s),
//! GetParametersByPath, GetParameterHistory (with decryption) and
//! GetSecretValue return them.
//!
//! Layout: `ssm` (parameters: put, get, delete, selectors), `params`
//! (history, labels, tags, listing by path and with filters),
//! `secretsmanager` (secrets: create, read, update, delete), `versions`
//! (versions and staging labels, listing, tags, random passwords),
//! `tags` (the tag rules both services share), `service_settings` (the
//! Parameter Store's settings and the tier they give new parameters),
//! `documents` and `document_content` (SSM documents and their content
//! checks), `sha256` (document hashes), `batch` (BatchGetSecretValue),
//! `policies` (Secrets Manager resource policies), `ssm_policies` (SSM
//! resource policies sharing parameters).

mod batch;
mod document_content;
mod documents;
mod params;
mod policies;
mod secretsmanager;
mod service_settings;
mod sha256;
mod ssm;
mod ssm_policies;
mod tags;
mod versions;
pub mod wire;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::ecs::Engine;
use crate::model::arn::Partition;
use crate::model::now_epoch;
use crate::model::secrets::{Parameter, ParameterVersion, SecretEntry, SecretsState, AWSCURRENT};

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
    #[error("{0}")]
    ParameterVersionNotFound(String),
    #[error("The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")]
    ParameterAlreadyExists,
    #[error("{0}")]
    ParameterMaxVersionLimitExceeded(String),
    #[error("{0}")]
    ParameterVersionLabelLimitExceeded(String),
    #[error("{0}")]
    InvalidResourceType(String),
    #[error("{0}")]
    InvalidResourceId(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    InvalidFilterKey(String),
    #[error("{0}")]
    InvalidFilterOption(String),
    #[error("{0}")]
    InvalidFilterValue(String),
    /// SSM's `InvalidNextToken`.
    #[error("The specified token is not valid.")]
    SsmInvalidNextToken,
    #[error("Secrets Manager can't find the specified secret.")]
    SecretNotFound,
    #[error("The operation failed because the secret {0} already exists.")]
    SecretExists(String),
    /// ClientRequestToken names a version that holds another value.
    #[error("You can't modify an existing version, you can only create new versions.")]
    VersionExists,
    #[error("You can't perform this operation on the secret because it was marked for deletion.")]
    MarkedForDeletion,
    /// No version for this stage or id (`staging label: X`, `VersionId: X`).
    #[error("Secrets Manager can't find the specified secret value for {0}")]
    NoValue(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    LimitExceeded(String),
    /// Secrets Manager's `InvalidNextTokenException`.
    #[error("The NextToken value is invalid.")]
    SmInvalidNextToken,
    /// Another error of the services' models, by its code (documents,
    /// service settings, resource policies).
    #[error("{1}")]
    Code(&'static str, String),
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
            SecretsError::ParameterVersionNotFound(_) => "ParameterVersionNotFound",
            SecretsError::ParameterAlreadyExists => "ParameterAlreadyExists",
            SecretsError::ParameterMaxVersionLimitExceeded(_) => "ParameterMaxVersionLimitExceeded",
            SecretsError::ParameterVersionLabelLimitExceeded(_) => {
                "ParameterVersionLabelLimitExceeded"
            }
            SecretsError::InvalidResourceType(_) => "InvalidResourceType",
            SecretsError::InvalidResourceId(_) => "InvalidResourceId",
            SecretsError::TooManyTags(_) => "TooManyTagsError",
            SecretsError::InvalidFilterKey(_) => "InvalidFilterKey",
            SecretsError::InvalidFilterOption(_) => "InvalidFilterOption",
            SecretsError::InvalidFilterValue(_) => "InvalidFilterValue",
            SecretsError::SsmInvalidNextToken => "InvalidNextToken",
            SecretsError::SecretNotFound | SecretsError::NoValue(_) => "ResourceNotFoundException",
            SecretsError::SecretExists(_) | SecretsError::VersionExists => {
                "ResourceExistsException"
            }
            SecretsError::MarkedForDeletion | SecretsError::InvalidRequest(_) => {
                "InvalidRequestException"
            }
            SecretsError::InvalidParameter(_) => "InvalidParameterException",
            SecretsError::LimitExceeded(_) => "LimitExceededException",
            SecretsError::SmInvalidNextToken => "InvalidNextTokenException",
            SecretsError::Code(code, _) => code,
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
        let msg = crate::api::aws_words(&e.to_string());
        let msg = if msg.starts_with("missing required field") {
            msg
        } else {
            "a field has the wrong type (names, values and ids are strings)".to_string()
        };
        SecretsError::Validation(format!("Invalid request: {msg}"))
    })
}

/// `MaxResults` within `1..=max` (AWS's constraint), else `default`; the
/// error is built by the caller (each service names it its way).
fn max_results(
    given: Option<i64>,
    max: usize,
    default: usize,
    err: impl FnOnce(String) -> SecretsError,
) -> Result<usize, SecretsError> {
    match given {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(n) => Err(err(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy \
             constraint: Member must have value {}",
            if n < 1 {
                "greater than or equal to 1".to_string()
            } else {
                format!("less than or equal to {max}")
            }
        ))),
    }
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

/// What a version's value reads as: a `SecureString` without decryption
/// shows its (here: random, not encrypted) ciphertext.
fn shown_value(v: &ParameterVersion, decrypt: bool) -> String {
    if v.kind == "SecureString" && !decrypt {
        if v.ciphertext.is_empty() {
            ciphertext(v.value.len())
        } else {
            v.ciphertext.clone()
        }
    } else {
        v.value.clone()
    }
}

/// A parameter version as GetParameter shows it (`selector`: the
/// `:version` or `:label` it was asked for by).
fn parameter_json(
    p: &Partition,
    param: &Parameter,
    v: &ParameterVersion,
    selector: Option<&str>,
    decrypt: bool,
) -> Value {
    let mut out = json!({
        "Name": param.name,
        "Type": v.kind,
        "Value": shown_value(v, decrypt),
        "Version": v.version,
        "LastModifiedDate": v.last_modified_date,
        "ARN": parameter_arn(p, &param.name),
        "DataType": "text",
    });
    if let Some(s) = selector {
        out["Selector"] = json!(format!(":{s}"));
    }
    out
}

/// An opaque stand-in for KMS ciphertext: base64 of random bytes, a little
/// longer than the value, as SSM shows a `SecureString` read without
/// decryption. It says nothing about the value.
fn ciphertext(len: usize) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..len + 48).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A parameter name or ARN, less the ARN prefix.
fn strip_parameter_arn(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":parameter") {
        Some((prefix, tail)) if prefix.starts_with("arn:") => tail,
        _ => name_or_arn,
    }
}

/// The key of a parameter (by name or ARN, without selector).
fn parameter_key(st: &SecretsState, name_or_arn: &str) -> Option<String> {
    let name = strip_parameter_arn(name_or_arn);
    [name, name.trim_start_matches('/')]
        .into_iter()
        .find(|n| st.parameters.contains_key(*n))
        .map(str::to_string)
}

/// A parameter and the version a name selects: the latest, or
/// `name:version`, or `name:label`.
struct Selected<'a> {
    param: &'a Parameter,
    version: ParameterVersion,
    selector: Option<String>,
}

fn select_parameter<'a>(
    st: &'a SecretsState,
    name_or_arn: &str,
) -> Result<Selected<'a>, SecretsError> {
    let stripped = strip_parameter_arn(name_or_arn);
    let (name, selector) = match stripped.split_once(':') {
        Some((n, s)) => (n, Some(s)),
        None => (stripped, None),
    };
    let not_found = || SecretsError::ParameterNotFound(name_or_arn.to_string());
    let key = parameter_key(st, name).ok_or_else(not_found)?;
    let param = &st.parameters[&key];
    let versions = param.versions();
    let version = match selector {
        None => versions.last().cloned().ok_or_else(not_found)?,
        Some(sel) if sel.parse::<u64>().is_ok() => versions
            .iter()
            .find(|v| v.version.to_string() == sel)
            .cloned()
            .ok_or_else(|| {
                SecretsError::ParameterVersionNotFound(format!(
                    "Systems Manager could not find version {sel} of {name}. \
                     Verify the version and try again."
                ))
            })?,
        Some(label) => versions
            .iter()
            .find(|v| v.labels.iter().any(|l| l == label))
            .cloned()
            .ok_or_else(not_found)?,
    };
    Ok(Selected {
        param,
        version,
        selector: selector.map(str::to_string),
    })
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

/// A secret to change: it must exist and not be marked for deletion.
fn live_secret_mut<'a>(
    st: &'a mut SecretsState,
    id: &str,
) -> Result<&'a mut SecretEntry, SecretsError> {
    let key = secret_key(st, id)?;
    let s = st
        .secrets
        .get_mut(&key)
        .ok_or(SecretsError::SecretNotFound)?;
    if s.deleted_date.is_some() {
        return Err(SecretsError::MarkedForDeletion);
    }
    Ok(s)
}

/// The value a container gets for one `secrets[].valueFrom`: an SSM
/// parameter (name or ARN, with a `:version` or `:label` selector), or a
/// Secrets Manager secret (ARN, optionally
/// `:json-key:version-stage:version-id`). The error is the agent's reason,
/// naming the reference but never a value.
pub fn resolve(st: &SecretsState, value_from: &str) -> Result<String, String> {
    if let Some(rest) = value_from.strip_prefix("arn:") {
        let service = rest.split(':').nth(1).unwrap_or("");
        if service == "secretsmanager" {
            // arn:aws:secretsmanager:R:A:secret:NAME-xxxxxx[:key:stage:version]
            let parts: Vec<&str> = value_from.splitn(11, ':').collect();
            let base = parts.get(..7).map(|p| p.join(":")).unwrap_or_default();
            let part = |i: usize| parts.get(i).copied().filter(|k| !k.is_empty());
            let (json_key, stage, id) = (part(7), part(8), part(9));
            let not_found = || {
                format!("retrieve secret from Secrets Manager: ResourceNotFoundException: Secrets Manager can't find the specified secret: {base}")
            };
            let secret = find_secret(st, &base)
                .filter(|s| s.deleted_date.is_none())
                .ok_or_else(not_found)?;
            let version = match id {
                Some(id) => secret
                    .by_id(id)
                    .filter(|v| stage.is_none_or(|s| v.stages.iter().any(|x| x == s))),
                None => secret.by_stage(stage.unwrap_or(AWSCURRENT)),
            }
            .ok_or_else(|| {
                format!(
                    "retrieve secret from Secrets Manager: ResourceNotFoundException: Secrets Manager can't find the specified secret value for {}: {base}",
                    match (id, stage) {
                        (Some(id), _) => format!("VersionId {id}"),
                        (None, s) => format!("staging label {}", s.unwrap_or(AWSCURRENT)),
                    }
                )
            })?;
            return match json_key {
                None => Ok(version.secret_string),
                Some(key) => {
                    let doc: Value = serde_json::from_str(&version.secret_string).map_err(|_| {
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
    select_parameter(st, value_from)
        .map(|s| s.version.value)
        .map_err(|_| {
            format!("fetch secret data from SSM Parameter Store: invalid parameters: {value_from}")
        })
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

    /// A write that also reaches the tags (`State::tags`).
    async fn write_state<R>(
        &self,
        f: impl FnOnce(&mut crate::db::State) -> R,
    ) -> Result<R, SecretsError> {
        Ok(self.engine.update_state(f).await?)
    }
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
