//! SSM Parameter Store operations.

use serde_json::{json, Value};

use super::*;

impl Secrets {
    /// One SSM operation.
    pub async fn ssm(&self, operation: &str, body: &Value) -> Result<Value, SecretsError> {
        let p = self.partition();
        match operation {
            "PutParameter" => {
                let r: PutParameter = parse(body)?;
                validate_parameter_name(&r.name)?;
                if r.value.is_empty() || r.value.len() > 4096 {
                    return Err(SecretsError::Validation(
                        "Parameter value must be 1 to 4096 characters (Standard tier).".into(),
                    ));
                }
                let kind = r.kind.clone();
                if let Some(k) = &kind {
                    if !matches!(k.as_str(), "String" | "StringList" | "SecureString") {
                        return Err(SecretsError::Validation(format!(
                            "Type '{k}' is not valid (expected String, StringList or SecureString)."
                        )));
                    }
                }
                let version = self
                    .write(|st| match st.parameters.get_mut(&r.name) {
                        Some(_) if !r.overwrite => Err(SecretsError::ParameterAlreadyExists),
                        Some(existing) => {
                            existing.value = r.value.clone();
                            existing.ciphertext = ciphertext(r.value.len());
                            if let Some(k) = kind {
                                existing.kind = k;
                            }
                            if r.description.is_some() {
                                existing.description = r.description.clone();
                            }
                            existing.version += 1;
                            existing.last_modified_date = now_epoch();
                            Ok(existing.version)
                        }
                        None => {
                            st.parameters.insert(
                                r.name.clone(),
                                Parameter {
                                    name: r.name.clone(),
                                    kind: kind.unwrap_or_else(|| "String".into()),
                                    value: r.value.clone(),
                                    version: 1,
                                    last_modified_date: now_epoch(),
                                    description: r.description.clone(),
                                    ciphertext: ciphertext(r.value.len()),
                                },
                            );
                            Ok(1)
                        }
                    })
                    .await??;
                Ok(json!({"Version": version, "Tier": "Standard"}))
            }
            "GetParameter" => {
                let r: NameArg = parse(body)?;
                self.read(|st| {
                    find_parameter(st, &r.name)
                        .map(|param| json!({"Parameter": parameter_json(&p, param, r.with_decryption)}))
                        .ok_or(SecretsError::ParameterNotFound(r.name.clone()))
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
                    let (found, missing): (Vec<_>, Vec<_>) = r
                        .names
                        .iter()
                        .partition(|n| find_parameter(st, n).is_some());
                    let params: Vec<Value> = found
                        .iter()
                        .filter_map(|n| find_parameter(st, n))
                        .map(|param| parameter_json(&p, param, r.with_decryption))
                        .collect();
                    json!({"Parameters": params, "InvalidParameters": missing})
                }))
            }
            "GetParametersByPath" => {
                let r: PathArg = parse(body)?;
                if !r.path.starts_with('/') {
                    return Err(SecretsError::Validation("Path must start with /.".into()));
                }
                let prefix = if r.path.ends_with('/') {
                    r.path.clone()
                } else {
                    format!("{}/", r.path)
                };
                Ok(self.read(|st| {
                    let params: Vec<Value> = st
                        .parameters
                        .values()
                        .filter(|param| {
                            param
                                .name
                                .strip_prefix(&prefix)
                                .is_some_and(|rest| r.recursive || !rest.contains('/'))
                        })
                        .map(|param| parameter_json(&p, param, r.with_decryption))
                        .collect();
                    json!({"Parameters": params})
                }))
            }
            "DescribeParameters" => Ok(self.read(|st| {
                let params: Vec<Value> = st
                    .parameters
                    .values()
                    .map(|param| {
                        let mut v = json!({
                            "Name": param.name,
                            "ARN": parameter_arn(&p, &param.name),
                            "Type": param.kind,
                            "Version": param.version,
                            "LastModifiedDate": param.last_modified_date,
                            "Tier": "Standard",
                            "DataType": "text",
                        });
                        if let Some(d) = &param.description {
                            v["Description"] = json!(d);
                        }
                        v
                    })
                    .collect();
                json!({"Parameters": params})
            })),
            "DeleteParameter" => {
                let r: NameArg = parse(body)?;
                self.write(|st| {
                    let key = find_parameter(st, &r.name).map(|param| param.name.clone());
                    match key {
                        Some(k) => {
                            st.parameters.remove(&k);
                            Ok(json!({}))
                        }
                        None => Err(SecretsError::ParameterNotFound(r.name.clone())),
                    }
                })
                .await?
            }
            "DeleteParameters" => {
                let r: NamesArg = parse(body)?;
                self.write(|st| {
                    let mut deleted = Vec::new();
                    let mut invalid = Vec::new();
                    for n in &r.names {
                        match find_parameter(st, n).map(|param| param.name.clone()) {
                            Some(k) => {
                                st.parameters.remove(&k);
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
}
