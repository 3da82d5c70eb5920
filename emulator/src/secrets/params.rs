//! SSM parameters beyond put/get/delete: listing by path and with filters
//! (paginated), version history, labels, and tags.

use serde::Deserialize;
use serde_json::{json, Value};

use super::*;
use crate::page;

#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct StringFilter {
    key: String,
    #[serde(default)]
    option: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LegacyFilter {
    key: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PathArg {
    path: String,
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    with_decryption: bool,
    #[serde(default)]
    parameter_filters: Vec<StringFilter>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeArg {
    #[serde(default)]
    filters: Option<Vec<LegacyFilter>>,
    #[serde(default)]
    parameter_filters: Option<Vec<StringFilter>>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HistoryArg {
    name: String,
    #[serde(default)]
    with_decryption: bool,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LabelArg {
    name: String,
    #[serde(default)]
    parameter_version: Option<u64>,
    labels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagsArg {
    resource_type: String,
    resource_id: String,
    #[serde(default)]
    tags: Option<Value>,
    #[serde(default)]
    tag_keys: Option<Vec<String>>,
}

/// A parameter's place in the hierarchy (`plain` sits at `/plain`).
fn rooted(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    }
}

/// Is `name` under `path` (one level down, or any with `recursive`)?
fn under(name: &str, path: &str, recursive: bool) -> bool {
    let prefix = if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    };
    rooted(name)
        .strip_prefix(&prefix)
        .is_some_and(|rest| !rest.is_empty() && (recursive || !rest.contains('/')))
}

/// SSM's label rules: 1 to 100 letters, digits, `.-_`, not starting with
/// a digit, `aws` or `ssm`.
fn valid_label(l: &str) -> bool {
    let lower = l.to_ascii_lowercase();
    !l.is_empty()
        && l.len() <= 100
        && l.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        && !l.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
}

fn invalid_token(_: ()) -> SecretsError {
    SecretsError::SsmInvalidNextToken
}

/// Does `value` pass one filter option?
fn option_matches(option: &str, value: &str, wanted: &[String]) -> bool {
    wanted.iter().any(|w| match option {
        "BeginsWith" => value.starts_with(w.as_str()),
        "Contains" => value.contains(w.as_str()),
        _ => value == w,
    })
}

/// Checks a `ParameterFilters` list: keys and options each operation
/// takes (`by_path`: GetParametersByPath's subset).
fn check_filters(filters: &[StringFilter], by_path: bool) -> Result<(), SecretsError> {
    for f in filters {
        let key = f.key.as_str();
        let allowed: &[&str] = match key {
            "Type" | "KeyId" => &["Equals", "BeginsWith"],
            "Label" if by_path => &["Equals"],
            "Name" if !by_path => &["Equals", "BeginsWith", "Contains"],
            "Path" if !by_path => &["Recursive", "OneLevel"],
            "Tier" | "DataType" if !by_path => &["Equals", "BeginsWith"],
            k if k.starts_with("tag:") && k.len() > 4 && !by_path => &["Equals", "BeginsWith"],
            _ => {
                let valid = if by_path {
                    "[Type, KeyId, Label]"
                } else {
                    "[Name, Type, KeyId, Path, Tier, DataType, tag:<key>]"
                };
                return Err(SecretsError::InvalidFilterKey(format!(
                    "The following filter key is not valid: {key}. Valid filter keys include: {valid}."
                )));
            }
        };
        if let Some(o) = &f.option {
            if !allowed.contains(&o.as_str()) {
                return Err(SecretsError::InvalidFilterOption(format!(
                    "The following filter option is not valid: {o}. Valid options include: {allowed:?}."
                )));
            }
        }
        if f.values.is_empty() && !key.starts_with("tag:") {
            return Err(SecretsError::InvalidFilterValue(format!(
                "The following filter values are missing : null for filter key {key}."
            )));
        }
        if key == "Path" && f.values.iter().any(|v| !v.starts_with('/')) {
            return Err(SecretsError::InvalidFilterValue(
                "The Path filter's values must start with /.".into(),
            ));
        }
    }
    Ok(())
}

/// Does a parameter pass every filter (tag filters read its tags)?
fn passes(
    p: &Partition,
    st: &crate::db::State,
    param: &Parameter,
    filters: &[StringFilter],
) -> bool {
    let tags = if filters.iter().any(|f| f.key.starts_with("tag:")) {
        st.tags_of(&parameter_arn(p, &param.name))
    } else {
        Default::default()
    };
    filters.iter().all(|f| {
        let option = f.option.as_deref().unwrap_or("Equals");
        match f.key.as_str() {
            "Name" => {
                option_matches(option, &param.name, &f.values)
                    || option_matches(option, &rooted(&param.name), &f.values)
            }
            "Type" => option_matches(option, &param.kind, &f.values),
            "KeyId" => {
                param.kind == "SecureString" && option_matches(option, "alias/aws/ssm", &f.values)
            }
            "Tier" => option_matches(option, param.tier(), &f.values),
            "DataType" => option_matches(option, "text", &f.values),
            "Path" => {
                let recursive = f.option.as_deref() == Some("Recursive");
                f.values.iter().any(|p| under(&param.name, p, recursive))
            }
            "Label" => param
                .versions()
                .iter()
                .any(|v| v.labels.iter().any(|l| f.values.contains(l))),
            k => match k.strip_prefix("tag:").and_then(|t| tags.get(t)) {
                Some(v) => f.values.is_empty() || option_matches(option, v, &f.values),
                None => false,
            },
        }
    })
}

impl Secrets {
    pub(super) fn get_parameters_by_path(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: PathArg = parse(body)?;
        if !r.path.starts_with('/') {
            return Err(SecretsError::Validation("Path must start with /.".into()));
        }
        check_filters(&r.parameter_filters, true)?;
        let limit = max_results(r.max_results, 10, 10, SecretsError::Validation)?;
        let p = self.partition();
        let items: Vec<(String, Value)> = self.engine.read(|state| {
            state
                .secrets
                .parameters
                .values()
                .filter(|param| under(&param.name, &r.path, r.recursive))
                .filter(|param| passes(&p, state, param, &r.parameter_filters))
                .map(|param| {
                    // With a Label filter, the labelled version.
                    let labels: Vec<&String> = r
                        .parameter_filters
                        .iter()
                        .filter(|f| f.key == "Label")
                        .flat_map(|f| f.values.iter())
                        .collect();
                    let versions = param.versions();
                    let v = versions
                        .iter()
                        .rev()
                        .find(|v| labels.is_empty() || v.labels.iter().any(|l| labels.contains(&l)))
                        .or(versions.last())
                        .cloned()
                        .unwrap_or_default();
                    let json = parameter_json(&p, param, &v, None, r.with_decryption);
                    (param.name.clone(), json)
                })
                .collect()
        });
        let kind = format!("GetParametersByPath:{}:{}", r.path, r.recursive);
        let (params, next) = page::page(&kind, items, r.next_token.as_deref(), limit, false)
            .map_err(invalid_token)?;
        let mut reply = json!({ "Parameters": params });
        if let Some(t) = next {
            reply["NextToken"] = json!(t);
        }
        Ok(reply)
    }

    pub(super) fn describe_parameters(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: DescribeArg = parse(body)?;
        if r.filters.is_some() && r.parameter_filters.is_some() {
            return Err(SecretsError::Validation(
                "You can use either Filters or ParameterFilters in a single request.".into(),
            ));
        }
        let mut filters = r.parameter_filters.clone().unwrap_or_default();
        check_filters(&filters, false)?;
        for f in r.filters.iter().flatten() {
            if !matches!(f.key.as_str(), "Name" | "Type" | "KeyId") {
                return Err(SecretsError::InvalidFilterKey(format!(
                    "The following filter key is not valid: {}. Valid filter keys include: [Name, Type, KeyId].",
                    f.key
                )));
            }
            filters.push(StringFilter {
                key: f.key.clone(),
                option: Some(
                    if f.key == "Name" {
                        "BeginsWith"
                    } else {
                        "Equals"
                    }
                    .into(),
                ),
                values: f.values.clone(),
            });
        }
        let limit = max_results(r.max_results, 50, 50, SecretsError::Validation)?;
        let p = self.partition();
        let items: Vec<(String, Value)> = self.engine.read(|state| {
            state
                .secrets
                .parameters
                .values()
                .filter(|param| passes(&p, state, param, &filters))
                .map(|param| {
                    let mut v = json!({
                        "Name": param.name,
                        "ARN": parameter_arn(&p, &param.name),
                        "Type": param.kind,
                        "Version": param.version,
                        "LastModifiedDate": param.last_modified_date,
                        "Tier": param.tier(),
                        "Policies": super::service_settings::policies_json(&param.policies),
                        "DataType": "text",
                    });
                    if let Some(d) = &param.description {
                        v["Description"] = json!(d);
                    }
                    if param.kind == "SecureString" {
                        v["KeyId"] = json!("alias/aws/ssm");
                    }
                    (param.name.clone(), v)
                })
                .collect()
        });
        let (params, next) = page::page(
            "DescribeParameters",
            items,
            r.next_token.as_deref(),
            limit,
            false,
        )
        .map_err(invalid_token)?;
        let mut reply = json!({ "Parameters": params });
        if let Some(t) = next {
            reply["NextToken"] = json!(t);
        }
        Ok(reply)
    }

    pub(super) fn get_parameter_history(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: HistoryArg = parse(body)?;
        let limit = max_results(r.max_results, 50, 50, SecretsError::Validation)?;
        let items: Vec<(u64, Value)> = self.read(|st| {
            let key = parameter_key(st, &r.name)
                .ok_or_else(|| SecretsError::ParameterNotFound(r.name.clone()))?;
            let param = &st.parameters[&key];
            Ok::<_, SecretsError>(
                param
                    .versions()
                    .iter()
                    .map(|v| {
                        let mut out = json!({
                            "Name": param.name,
                            "Type": v.kind,
                            "LastModifiedDate": v.last_modified_date,
                            "Value": shown_value(v, r.with_decryption),
                            "Version": v.version,
                            "Labels": v.labels,
                            "Tier": param.tier(),
                            "Policies": super::service_settings::policies_json(&param.policies),
                            "DataType": "text",
                        });
                        if let Some(d) = &v.description {
                            out["Description"] = json!(d);
                        }
                        if v.kind == "SecureString" {
                            out["KeyId"] = json!("alias/aws/ssm");
                        }
                        (v.version, out)
                    })
                    .collect(),
            )
        })?;
        let kind = format!("GetParameterHistory:{}", r.name);
        let (params, next) = page::page(&kind, items, r.next_token.as_deref(), limit, false)
            .map_err(invalid_token)?;
        let mut reply = json!({ "Parameters": params });
        if let Some(t) = next {
            reply["NextToken"] = json!(t);
        }
        Ok(reply)
    }

    pub(super) async fn label_parameter_version(
        &self,
        body: &Value,
    ) -> Result<Value, SecretsError> {
        let r: LabelArg = parse(body)?;
        if r.labels.is_empty() || r.labels.len() > 10 {
            return Err(SecretsError::Validation(
                "Labels must list 1 to 10 labels.".into(),
            ));
        }
        let (valid, invalid): (Vec<String>, Vec<String>) =
            r.labels.iter().cloned().partition(|l| valid_label(l));
        self.write(|st| {
            let key = parameter_key(st, &r.name)
                .ok_or_else(|| SecretsError::ParameterNotFound(r.name.clone()))?;
            let param = &st.parameters[&key];
            let version = r.parameter_version.unwrap_or(param.version);
            let versions = param.versions();
            let target = versions
                .iter()
                .find(|v| v.version == version)
                .ok_or_else(|| {
                    SecretsError::ParameterVersionNotFound(format!(
                        "Systems Manager could not find version {version} of {}. \
                         Verify the version and try again.",
                        r.name
                    ))
                })?;
            let mut after: Vec<&String> = target.labels.iter().chain(valid.iter()).collect();
            after.sort();
            after.dedup();
            if after.len() > 10 {
                return Err(SecretsError::ParameterVersionLabelLimitExceeded(
                    "A parameter version can have maximum 10 labels. Move one or more labels \
                     to another version and try again."
                        .into(),
                ));
            }
            let Some(param) = st.parameters.get_mut(&key) else {
                return Err(SecretsError::ParameterNotFound(r.name.clone()));
            };
            // A label names one version: attaching it moves it.
            for v in param.history_mut().iter_mut() {
                if v.version == version {
                    for l in &valid {
                        if !v.labels.contains(l) {
                            v.labels.push(l.clone());
                        }
                    }
                } else {
                    v.labels.retain(|l| !valid.contains(l));
                }
            }
            Ok(json!({"InvalidLabels": invalid, "ParameterVersion": version}))
        })
        .await?
    }

    pub(super) async fn unlabel_parameter_version(
        &self,
        body: &Value,
    ) -> Result<Value, SecretsError> {
        let r: LabelArg = parse(body)?;
        let version = r.parameter_version.ok_or_else(|| {
            SecretsError::Validation(
                "Invalid request: missing required field `ParameterVersion`".into(),
            )
        })?;
        if r.labels.is_empty() || r.labels.len() > 10 {
            return Err(SecretsError::Validation(
                "Labels must list 1 to 10 labels.".into(),
            ));
        }
        self.write(|st| {
            let key = parameter_key(st, &r.name)
                .ok_or_else(|| SecretsError::ParameterNotFound(r.name.clone()))?;
            let Some(param) = st.parameters.get_mut(&key) else {
                return Err(SecretsError::ParameterNotFound(r.name.clone()));
            };
            if !param.versions().iter().any(|v| v.version == version) {
                return Err(SecretsError::ParameterVersionNotFound(format!(
                    "Systems Manager could not find version {version} of {}. \
                     Verify the version and try again.",
                    r.name
                )));
            }
            let v = param
                .history_mut()
                .iter_mut()
                .find(|v| v.version == version)
                .ok_or_else(|| SecretsError::ParameterNotFound(r.name.clone()))?;
            let (removed, invalid): (Vec<String>, Vec<String>) =
                r.labels.iter().cloned().partition(|l| v.labels.contains(l));
            v.labels.retain(|l| !removed.contains(l));
            Ok(json!({"RemovedLabels": removed, "InvalidLabels": invalid}))
        })
        .await?
    }

    /// The ARN tags of a parameter or a document are kept under (it must
    /// exist).
    fn tagged_parameter(&self, r: &TagsArg) -> Result<String, SecretsError> {
        let p = self.partition();
        let missing = |what: &str| {
            SecretsError::InvalidResourceId(format!("The {what} {} does not exist.", r.resource_id))
        };
        match r.resource_type.as_str() {
            "Parameter" => {
                let key = self
                    .read(|st| parameter_key(st, &r.resource_id))
                    .ok_or_else(|| missing("parameter"))?;
                Ok(parameter_arn(&p, &key))
            }
            "Document" => {
                if !self.read(|st| st.documents.contains_key(&r.resource_id)) {
                    return Err(missing("document"));
                }
                Ok(super::documents::document_arn(&p, &r.resource_id))
            }
            other => Err(SecretsError::InvalidResourceType(format!(
                "The resource type {other} is not valid here: this emulator tags parameters \
                 (ResourceType Parameter) and documents (ResourceType Document)."
            ))),
        }
    }

    pub(super) async fn add_tags_to_resource(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: TagsArg = parse(body)?;
        let arn = self.tagged_parameter(&r)?;
        if r.tags.is_none() {
            return Err(SecretsError::Validation(
                "Invalid request: missing required field `Tags`".into(),
            ));
        }
        let new = tags::parse(r.tags.as_ref()).map_err(SecretsError::Validation)?;
        self.write_state(|s| {
            if !tags::fits(&s.tags_of(&arn), &new) {
                return Err(SecretsError::TooManyTags(format!(
                    "A resource can have at most {} tags.",
                    tags::MAX_TAGS
                )));
            }
            s.tag(&arn, new);
            Ok(json!({}))
        })
        .await?
    }

    pub(super) async fn remove_tags_from_resource(
        &self,
        body: &Value,
    ) -> Result<Value, SecretsError> {
        let r: TagsArg = parse(body)?;
        let arn = self.tagged_parameter(&r)?;
        let keys = r.tag_keys.clone().ok_or_else(|| {
            SecretsError::Validation("Invalid request: missing required field `TagKeys`".into())
        })?;
        self.write_state(|s| s.untag(&arn, &keys)).await?;
        Ok(json!({}))
    }

    pub(super) fn list_tags_for_resource(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: TagsArg = parse(body)?;
        let arn = self.tagged_parameter(&r)?;
        let set = self.engine.read(|s| s.tags_of(&arn));
        Ok(json!({ "TagList": tags::list(&set) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_labels_follow_ssm_rules() {
        assert!(under("/a/b", "/a", false));
        assert!(under("/a/b", "/a/", false));
        assert!(!under("/a/b/c", "/a", false));
        assert!(under("/a/b/c", "/a", true));
        assert!(!under("/ab", "/a", true));
        assert!(under("plain", "/", false));
        assert!(valid_label("prod"));
        assert!(valid_label("release-1.2_x"));
        assert!(!valid_label("1st"));
        assert!(!valid_label("awsy"));
        assert!(!valid_label("SSM"));
        assert!(!valid_label("with space"));
        assert!(!valid_label(&"x".repeat(101)));
    }
}
