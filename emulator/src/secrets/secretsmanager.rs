//! Secrets Manager operations.

use serde_json::{json, Value};

use super::*;

impl Secrets {
    /// One Secrets Manager operation.
    pub async fn secrets_manager(
        &self,
        operation: &str,
        body: &Value,
    ) -> Result<Value, SecretsError> {
        let p = self.partition();
        let version = || uuid::Uuid::new_v4().to_string();
        match operation {
            "CreateSecret" => {
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
                // Without a value the secret exists with no version yet.
                let value = r.secret_string.clone();
                let suffix: String = {
                    use rand::Rng;
                    let mut rng = rand::rng();
                    (0..6)
                        .map(|_| rng.sample(rand::distr::Alphanumeric) as char)
                        .collect()
                };
                let arn = p.secret(&r.name, &suffix);
                let vid = if value.is_some() {
                    version()
                } else {
                    String::new()
                };
                self.write(|st| {
                    if let Some(existing) = st.secrets.get(&r.name) {
                        return Err(if existing.deleted_date.is_some() {
                            SecretsError::MarkedForDeletion
                        } else {
                            SecretsError::SecretExists(r.name.clone())
                        });
                    }
                    let now = now_epoch();
                    st.secrets.insert(
                        r.name.clone(),
                        SecretEntry {
                            name: r.name.clone(),
                            arn: arn.clone(),
                            secret_string: value.unwrap_or_default(),
                            version_id: vid.clone(),
                            created_date: now,
                            last_changed_date: now,
                            description: r.description.clone(),
                            deleted_date: None,
                        },
                    );
                    Ok(())
                })
                .await??;
                let mut reply = json!({"ARN": arn, "Name": r.name});
                if !vid.is_empty() {
                    reply["VersionId"] = json!(vid);
                }
                Ok(reply)
            }
            "GetSecretValue" => {
                let r: SecretIdArg = parse(body)?;
                self.read(|st| {
                    let s = find_secret(st, &r.secret_id).ok_or(SecretsError::SecretNotFound)?;
                    if s.deleted_date.is_some() {
                        return Err(SecretsError::MarkedForDeletion);
                    }
                    if s.version_id.is_empty() {
                        return Err(SecretsError::NoValue);
                    }
                    Ok(json!({
                        "ARN": s.arn, "Name": s.name, "VersionId": s.version_id,
                        "SecretString": s.secret_string, "VersionStages": ["AWSCURRENT"],
                        "CreatedDate": s.last_changed_date,
                    }))
                })
            }
            "PutSecretValue" | "UpdateSecret" => {
                let r: SecretIdArg = parse(body)?;
                // PutSecretValue sets a value; UpdateSecret a value, a
                // description, or both.
                if r.secret_string.is_none()
                    && (operation == "PutSecretValue" || r.description.is_none())
                {
                    return Err(SecretsError::InvalidParameter(
                        "SecretString is required (SecretBinary is not supported).".into(),
                    ));
                }
                let vid = r.secret_string.as_ref().map(|_| version());
                self.write(|st| {
                    let key = secret_key(st, &r.secret_id)?;
                    let s = st
                        .secrets
                        .get_mut(&key)
                        .ok_or(SecretsError::SecretNotFound)?;
                    if s.deleted_date.is_some() {
                        return Err(SecretsError::MarkedForDeletion);
                    }
                    if let Some(d) = &r.description {
                        s.description = Some(d.clone());
                    }
                    let mut reply = json!({"ARN": s.arn, "Name": s.name});
                    if let (Some(value), Some(vid)) = (&r.secret_string, &vid) {
                        s.secret_string = value.clone();
                        s.version_id = vid.clone();
                        reply["VersionId"] = json!(vid);
                        if operation == "PutSecretValue" {
                            reply["VersionStages"] = json!(["AWSCURRENT"]);
                        }
                    }
                    s.last_changed_date = now_epoch();
                    Ok(reply)
                })
                .await?
            }
            "DescribeSecret" => {
                let r: SecretIdArg = parse(body)?;
                self.read(|st| {
                    find_secret(st, &r.secret_id)
                        .map(secret_json)
                        .ok_or(SecretsError::SecretNotFound)
                })
            }
            "ListSecrets" => Ok(self.read(|st| {
                let list: Vec<Value> = st
                    .secrets
                    .values()
                    .filter(|s| s.deleted_date.is_none())
                    .map(secret_json)
                    .collect();
                json!({"SecretList": list})
            })),
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
                self.write(|st| {
                    let key = secret_key(st, &r.secret_id)?;
                    let now = now_epoch();
                    let (arn, name) = {
                        let s = &st.secrets[&key];
                        (s.arn.clone(), s.name.clone())
                    };
                    let deletion = if r.force_delete_without_recovery {
                        st.secrets.remove(&key);
                        now
                    } else {
                        let s = st
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
}
