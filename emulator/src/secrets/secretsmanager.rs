//! Secrets Manager operations on one secret: create, read (by version or
//! staging label), new values (versions), describe, delete, restore; the
//! others are in `versions`.

use serde::Deserialize;
use serde_json::{json, Value};

use super::versions::{add_version, secret_json};
use super::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateSecret {
    name: String,
    #[serde(default)]
    secret_string: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    client_request_token: Option<String>,
    #[serde(default)]
    tags: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SecretIdArg {
    pub secret_id: String,
    #[serde(default)]
    pub secret_string: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub force_delete_without_recovery: bool,
    #[serde(default)]
    pub recovery_window_in_days: Option<i64>,
    #[serde(default)]
    pub version_id: Option<String>,
    #[serde(default)]
    pub version_stage: Option<String>,
    #[serde(default)]
    pub client_request_token: Option<String>,
    #[serde(default)]
    pub version_stages: Option<Vec<String>>,
}

/// A ClientRequestToken as Secrets Manager takes it (it becomes the
/// version id), or a new one.
fn version_id(token: Option<&str>) -> Result<String, SecretsError> {
    match token {
        None => Ok(uuid::Uuid::new_v4().to_string()),
        Some(t) if (32..=64).contains(&t.len()) => Ok(t.to_string()),
        Some(_) => Err(SecretsError::InvalidParameter(
            "ClientRequestToken must be 32 to 64 characters.".into(),
        )),
    }
}

impl Secrets {
    /// One Secrets Manager operation.
    pub async fn secrets_manager(
        &self,
        operation: &str,
        body: &Value,
    ) -> Result<Value, SecretsError> {
        match operation {
            "CreateSecret" => self.create_secret(body).await,
            "GetSecretValue" => {
                let r: SecretIdArg = parse(body)?;
                self.read(|st| {
                    let s = find_secret(st, &r.secret_id).ok_or(SecretsError::SecretNotFound)?;
                    if s.deleted_date.is_some() {
                        return Err(SecretsError::MarkedForDeletion);
                    }
                    let v = match (&r.version_id, &r.version_stage) {
                        (Some(id), stage) => {
                            let v = s
                                .by_id(id)
                                .ok_or_else(|| SecretsError::NoValue(format!("VersionId: {id}")))?;
                            if stage.as_ref().is_some_and(|st| !v.stages.contains(st)) {
                                return Err(SecretsError::InvalidParameter(
                                    "You provided a VersionStage that is not associated to the provided VersionId.".into(),
                                ));
                            }
                            v
                        }
                        (None, stage) => {
                            let stage = stage.as_deref().unwrap_or(AWSCURRENT);
                            s.by_stage(stage).ok_or_else(|| {
                                SecretsError::NoValue(format!("staging label: {stage}"))
                            })?
                        }
                    };
                    Ok(json!({
                        "ARN": s.arn, "Name": s.name, "VersionId": v.version_id,
                        "SecretString": v.secret_string, "VersionStages": v.stages,
                        "CreatedDate": v.created_date,
                    }))
                })
            }
            "PutSecretValue" | "UpdateSecret" => self.put_secret_value(operation, body).await,
            "DescribeSecret" => {
                let r: SecretIdArg = parse(body)?;
                self.engine.read(|state| {
                    find_secret(&state.secrets, &r.secret_id)
                        .map(|s| secret_json(s, &state.tags_of(&s.arn), "VersionIdsToStages"))
                        .ok_or(SecretsError::SecretNotFound)
                })
            }
            "ListSecrets" => self.list_secrets(body),
            "ListSecretVersionIds" => self.list_secret_version_ids(body),
            "UpdateSecretVersionStage" => self.update_secret_version_stage(body).await,
            "GetRandomPassword" => super::versions::get_random_password(body),
            "BatchGetSecretValue" => self.batch_get_secret_value(body),
            "PutResourcePolicy" => self.resource_policy(operation, body).await,
            "GetResourcePolicy" => self.resource_policy(operation, body).await,
            "DeleteResourcePolicy" => self.resource_policy(operation, body).await,
            "ValidateResourcePolicy" => self.resource_policy(operation, body).await,
            "TagResource" => self.tag_secret(body).await,
            "UntagResource" => self.untag_secret(body).await,
            "DeleteSecret" => {
                let r: SecretIdArg = parse(body)?;
                if r.force_delete_without_recovery && r.recovery_window_in_days.is_some() {
                    return Err(SecretsError::InvalidParameter(
                        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.".into(),
                    ));
                }
                let days = r.recovery_window_in_days.unwrap_or(30);
                if !(7..=30).contains(&days) {
                    return Err(SecretsError::InvalidParameter(
                        "RecoveryWindowInDays must be between 7 and 30.".into(),
                    ));
                }
                self.write_state(|state| {
                    let key = secret_key(&state.secrets, &r.secret_id)?;
                    let now = now_epoch();
                    let (arn, name) = {
                        let s = &state.secrets.secrets[&key];
                        (s.arn.clone(), s.name.clone())
                    };
                    let deletion = if r.force_delete_without_recovery {
                        state.secrets.secrets.remove(&key);
                        state.tags.remove(&arn);
                        now
                    } else {
                        let s = state
                            .secrets
                            .secrets
                            .get_mut(&key)
                            .ok_or(SecretsError::SecretNotFound)?;
                        s.deleted_date = Some(now);
                        now + days as f64 * 86_400.0
                    };
                    Ok(json!({"ARN": arn, "Name": name, "DeletionDate": deletion}))
                })
                .await?
            }
            "RestoreSecret" => {
                let r: SecretIdArg = parse(body)?;
                self.write(|st| {
                    let key = secret_key(st, &r.secret_id)?;
                    let s = st
                        .secrets
                        .get_mut(&key)
                        .ok_or(SecretsError::SecretNotFound)?;
                    s.deleted_date = None;
                    Ok(json!({"ARN": s.arn, "Name": s.name}))
                })
                .await?
            }
            other => Err(SecretsError::UnknownOperation(other.to_string())),
        }
    }

    async fn create_secret(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: CreateSecret = parse(body)?;
        if r.name.is_empty()
            || r.name.len() > 512
            || !r
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
        {
            return Err(SecretsError::InvalidParameter(format!(
                "Invalid name '{}': 1 to 512 letters, digits and /_+=.@-",
                r.name
            )));
        }
        if body.get("SecretBinary").is_some() {
            return Err(SecretsError::InvalidParameter(
                "SecretBinary is not supported by this emulator; use SecretString.".into(),
            ));
        }
        let tags = tags::parse(r.tags.as_ref()).map_err(SecretsError::InvalidParameter)?;
        let suffix: String = {
            use rand::Rng;
            let mut rng = rand::rng();
            (0..6)
                .map(|_| rng.sample(rand::distr::Alphanumeric) as char)
                .collect()
        };
        let arn = self.partition().secret(&r.name, &suffix);
        // Without a value the secret exists with no version yet.
        let vid = match &r.secret_string {
            Some(_) => version_id(r.client_request_token.as_deref())?,
            None => String::new(),
        };
        self.write_state(|state| {
            if let Some(existing) = state.secrets.secrets.get(&r.name) {
                return Err(if existing.deleted_date.is_some() {
                    SecretsError::MarkedForDeletion
                } else {
                    SecretsError::SecretExists(r.name.clone())
                });
            }
            let now = now_epoch();
            let mut s = SecretEntry {
                name: r.name.clone(),
                arn: arn.clone(),
                created_date: now,
                last_changed_date: now,
                description: r.description.clone(),
                ..Default::default()
            };
            if let Some(value) = &r.secret_string {
                add_version(&mut s, &vid, value, &[AWSCURRENT.to_string()], now)?;
            }
            state.secrets.secrets.insert(r.name.clone(), s);
            state.tags.remove(&arn);
            state.tag(&arn, tags);
            Ok(())
        })
        .await??;
        let mut reply = json!({"ARN": arn, "Name": r.name});
        if !vid.is_empty() {
            reply["VersionId"] = json!(vid);
        }
        Ok(reply)
    }

    /// PutSecretValue (a new version, staged as asked, `AWSCURRENT` by
    /// default) and UpdateSecret (a description, a new current version,
    /// or both).
    async fn put_secret_value(&self, operation: &str, body: &Value) -> Result<Value, SecretsError> {
        let r: SecretIdArg = parse(body)?;
        if body.get("SecretBinary").is_some() {
            return Err(SecretsError::InvalidParameter(
                "SecretBinary is not supported by this emulator; use SecretString.".into(),
            ));
        }
        if r.secret_string.is_none() && (operation == "PutSecretValue" || r.description.is_none()) {
            return Err(SecretsError::InvalidParameter(
                "SecretString is required (SecretBinary is not supported).".into(),
            ));
        }
        let stages = match (&r.version_stages, operation) {
            (Some(s), "PutSecretValue") => {
                if s.is_empty() || s.len() > 20 || s.iter().any(|l| l.is_empty() || l.len() > 256) {
                    return Err(SecretsError::InvalidParameter(
                        "VersionStages must list 1 to 20 labels of 1 to 256 characters.".into(),
                    ));
                }
                s.clone()
            }
            _ => vec![AWSCURRENT.to_string()],
        };
        let vid = version_id(r.client_request_token.as_deref())?;
        self.write(|st| {
            let s = live_secret_mut(st, &r.secret_id)?;
            let mut reply = json!({"ARN": s.arn, "Name": s.name});
            let now = now_epoch();
            if let Some(value) = &r.secret_string {
                let attached = add_version(s, &vid, value, &stages, now)?;
                reply["VersionId"] = json!(vid);
                if operation == "PutSecretValue" {
                    reply["VersionStages"] = json!(attached);
                }
            }
            if let Some(d) = &r.description {
                s.description = Some(d.clone());
            }
            s.last_changed_date = now;
            Ok(reply)
        })
        .await?
    }
}
