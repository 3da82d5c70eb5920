//! SSM Parameter Store operations: put (a new version each time), get
//! (with `name:version` / `name:label` selectors) and delete; the others
//! are in `params`.

use serde::Deserialize;
use serde_json::{json, Value};

use super::*;

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
    #[serde(default)]
    tags: Option<Value>,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    policies: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct NameArg {
    pub name: String,
    #[serde(default)]
    pub with_decryption: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NamesArg {
    names: Vec<String>,
    #[serde(default)]
    with_decryption: bool,
}

impl Secrets {
    /// One SSM operation.
    pub async fn ssm(&self, operation: &str, body: &Value) -> Result<Value, SecretsError> {
        let p = self.partition();
        match operation {
            "PutParameter" => self.put_parameter(body).await,
            "GetParameter" => {
                let r: NameArg = parse(body)?;
                self.read(|st| {
                    let s = select_parameter(st, &r.name)?;
                    let v = parameter_json(
                        &p,
                        s.param,
                        &s.version,
                        s.selector.as_deref(),
                        r.with_decryption,
                    );
                    Ok(json!({ "Parameter": v }))
                })
            }
            "GetParameters" => {
                let r: NamesArg = parse(body)?;
                if r.names.is_empty() || r.names.len() > 10 {
                    return Err(SecretsError::Validation(
                        "Names must list 1 to 10 parameters.".into(),
                    ));
                }
                Ok(self.read(|st| {
                    let mut params = Vec::new();
                    let mut invalid = Vec::new();
                    for n in &r.names {
                        match select_parameter(st, n) {
                            Ok(s) => params.push(parameter_json(
                                &p,
                                s.param,
                                &s.version,
                                s.selector.as_deref(),
                                r.with_decryption,
                            )),
                            Err(_) => invalid.push(n.clone()),
                        }
                    }
                    json!({"Parameters": params, "InvalidParameters": invalid})
                }))
            }
            "GetParametersByPath" => self.get_parameters_by_path(body),
            "DescribeParameters" => self.describe_parameters(body),
            "GetParameterHistory" => self.get_parameter_history(body),
            "LabelParameterVersion" => self.label_parameter_version(body).await,
            "UnlabelParameterVersion" => self.unlabel_parameter_version(body).await,
            "AddTagsToResource" => self.add_tags_to_resource(body).await,
            "RemoveTagsFromResource" => self.remove_tags_from_resource(body).await,
            "ListTagsForResource" => self.list_tags_for_resource(body),
            "GetServiceSetting" => self.service_setting(operation, body).await,
            "UpdateServiceSetting" => self.service_setting(operation, body).await,
            "ResetServiceSetting" => self.service_setting(operation, body).await,
            "CreateDocument" => self.document(operation, body).await,
            "GetDocument" => self.document(operation, body).await,
            "DescribeDocument" => self.document(operation, body).await,
            "ListDocuments" => self.document(operation, body).await,
            "UpdateDocument" => self.document(operation, body).await,
            "DeleteDocument" => self.document(operation, body).await,
            "ListDocumentVersions" => self.document(operation, body).await,
            "UpdateDocumentDefaultVersion" => self.document(operation, body).await,
            "PutResourcePolicy" => self.ssm_resource_policy(operation, body).await,
            "GetResourcePolicies" => self.ssm_resource_policy(operation, body).await,
            "DeleteResourcePolicy" => self.ssm_resource_policy(operation, body).await,
            "DeleteParameter" => {
                let r: NameArg = parse(body)?;
                self.write_state(|s| {
                    let key = parameter_key(&s.secrets, &r.name)
                        .ok_or_else(|| SecretsError::ParameterNotFound(r.name.clone()))?;
                    s.secrets.parameters.remove(&key);
                    s.tags.remove(&parameter_arn(&p, &key));
                    Ok(json!({}))
                })
                .await?
            }
            "DeleteParameters" => {
                let r: NamesArg = parse(body)?;
                if r.names.is_empty() || r.names.len() > 10 {
                    return Err(SecretsError::Validation(
                        "Names must list 1 to 10 parameters.".into(),
                    ));
                }
                self.write_state(|s| {
                    let mut deleted = Vec::new();
                    let mut invalid = Vec::new();
                    for n in &r.names {
                        match parameter_key(&s.secrets, n) {
                            Some(k) => {
                                s.secrets.parameters.remove(&k);
                                s.tags.remove(&parameter_arn(&p, &k));
                                deleted.push(n.clone());
                            }
                            None => invalid.push(n.clone()),
                        }
                    }
                    json!({"DeletedParameters": deleted, "InvalidParameters": invalid})
                })
                .await
            }
            other => Err(SecretsError::UnknownOperation(other.to_string())),
        }
    }

    async fn put_parameter(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: PutParameter = parse(body)?;
        validate_parameter_name(&r.name)?;
        if r.value.is_empty() {
            return Err(SecretsError::Validation(
                "1 validation error detected: Value '' at 'value' failed to satisfy \
                 constraint: Member must have length greater than or equal to 1"
                    .into(),
            ));
        }
        let policies = match &r.policies {
            Some(text) => Some(service_settings::parse_policies(text)?),
            None => None,
        };
        if let Some(k) = &r.kind {
            if !matches!(k.as_str(), "String" | "StringList" | "SecureString") {
                return Err(SecretsError::Validation(format!(
                    "Type '{k}' is not valid (expected String, StringList or SecureString)."
                )));
            }
        }
        if r.overwrite && r.tags.is_some() {
            return Err(SecretsError::Validation(
                "Invalid request: tags and overwrite can't be used together. To create a \
                 parameter with tags, please remove overwrite flag. To update tags for an \
                 existing parameter, please use AddTagsToResource or RemoveTagsFromResource."
                    .into(),
            ));
        }
        let tags = tags::parse(r.tags.as_ref()).map_err(SecretsError::Validation)?;
        let arn = parameter_arn(&self.partition(), &r.name);
        let (version, tier) = self
            .write_state(|s| {
                let st = &mut s.secrets;
                let existing = st.parameters.get(&r.name);
                let has_policies = match &policies {
                    Some(p) => !p.is_empty(),
                    None => existing.is_some_and(|e| !e.policies.is_empty()),
                };
                let tier = service_settings::resolve_tier(
                    st,
                    r.tier.as_deref(),
                    existing.map(|e| e.tier()),
                    r.value.len(),
                    has_policies,
                )?;
                match st.parameters.get_mut(&r.name) {
                    Some(_) if !r.overwrite => Err(SecretsError::ParameterAlreadyExists),
                    Some(existing) => {
                        // SSM keeps 100 versions: the oldest goes, unless
                        // it has a label.
                        let oldest = existing.versions().first().cloned();
                        if existing.versions().len() >= Parameter::MAX_VERSIONS {
                            if let Some(o) = oldest.filter(|o| !o.labels.is_empty()) {
                                return Err(SecretsError::ParameterMaxVersionLimitExceeded(
                                    format!(
                                        "You attempted to create a new version of {} by calling \
                                         the PutParameter API with the overwrite flag. Version {}, \
                                         the oldest version, can't be deleted because it has a \
                                         label associated with it. Move the label to another \
                                         version of the parameter, and try again.",
                                        r.name, o.version
                                    ),
                                ));
                            }
                        }
                        let history = existing.history_mut();
                        while history.len() >= Parameter::MAX_VERSIONS {
                            history.remove(0);
                        }
                        existing.value = r.value.clone();
                        existing.ciphertext = ciphertext(r.value.len());
                        if let Some(k) = &r.kind {
                            existing.kind = k.clone();
                        }
                        if r.description.is_some() {
                            existing.description = r.description.clone();
                        }
                        existing.version += 1;
                        existing.last_modified_date = now_epoch();
                        existing.tier = tier.to_string();
                        if let Some(p) = &policies {
                            existing.policies = p.clone();
                        }
                        existing.push_latest();
                        Ok((existing.version, tier))
                    }
                    None => {
                        let mut param = Parameter {
                            name: r.name.clone(),
                            kind: r.kind.clone().unwrap_or_else(|| "String".into()),
                            value: r.value.clone(),
                            version: 1,
                            last_modified_date: now_epoch(),
                            description: r.description.clone(),
                            ciphertext: ciphertext(r.value.len()),
                            history: Vec::new(),
                            tier: tier.to_string(),
                            policies: policies.clone().unwrap_or_default(),
                            resource_policy: None,
                        };
                        param.push_latest();
                        st.parameters.insert(r.name.clone(), param);
                        s.tags.remove(&arn);
                        s.tag(&arn, tags);
                        Ok((1, tier))
                    }
                }
            })
            .await??;
        Ok(json!({"Version": version, "Tier": tier}))
    }
}
