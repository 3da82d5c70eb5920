//! BatchGetSecretValue: the current values of up to 20 secrets named in
//! `SecretIdList` (each one that can't be read is an entry of `Errors`,
//! not a failure of the call), or of the secrets `Filters` choose, page by
//! page.

use serde::Deserialize;
use serde_json::{json, Value};

use super::versions::{check_filters, filter_matches, micros, Filter};
use super::*;
use crate::page;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchArg {
    #[serde(default)]
    secret_id_list: Option<Vec<String>>,
    #[serde(default)]
    filters: Option<Vec<Filter>>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
}

/// One secret's current value, or the error GetSecretValue would give.
fn value_of(s: &SecretEntry) -> Result<Value, SecretsError> {
    if s.deleted_date.is_some() {
        return Err(SecretsError::MarkedForDeletion);
    }
    let v = s
        .by_stage(AWSCURRENT)
        .ok_or_else(|| SecretsError::NoValue(format!("staging label: {AWSCURRENT}")))?;
    Ok(json!({
        "ARN": s.arn, "Name": s.name, "VersionId": v.version_id,
        "SecretString": v.secret_string, "VersionStages": v.stages,
        "CreatedDate": v.created_date,
    }))
}

fn error_entry(id: &str, e: &SecretsError) -> Value {
    json!({"SecretId": id, "ErrorCode": e.aws_type(), "Message": e.to_string()})
}

impl Secrets {
    pub(super) fn batch_get_secret_value(&self, body: &Value) -> Result<Value, SecretsError> {
        let r: BatchArg = parse(body)?;
        let (values, errors, next) = match (&r.secret_id_list, &r.filters) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(SecretsError::InvalidParameter(
                    "You must include Filters or SecretIdList, but not both.".into(),
                ))
            }
            (Some(ids), None) => {
                if ids.is_empty() || ids.len() > 20 {
                    return Err(SecretsError::InvalidParameter(
                        "SecretIdList must list 1 to 20 secrets.".into(),
                    ));
                }
                if r.max_results.is_some() || r.next_token.is_some() {
                    return Err(SecretsError::InvalidParameter(
                        "MaxResults and NextToken can only be used with Filters.".into(),
                    ));
                }
                let mut values = Vec::new();
                let mut errors = Vec::new();
                self.read(|st| {
                    for id in ids {
                        let got = find_secret(st, id)
                            .ok_or(SecretsError::SecretNotFound)
                            .and_then(value_of);
                        match got {
                            Ok(v) => values.push(v),
                            Err(e) => errors.push(error_entry(id, &e)),
                        }
                    }
                });
                (values, errors, None)
            }
            (None, Some(filters)) => {
                check_filters(filters)?;
                let limit = max_results(r.max_results, 20, 20, SecretsError::InvalidParameter)?;
                let mut items: Vec<((i64, String), Result<Value, Value>)> = Vec::new();
                self.engine.read(|state| {
                    for s in state.secrets.secrets.values() {
                        if s.deleted_date.is_some() {
                            continue;
                        }
                        let tags = state.tags_of(&s.arn);
                        if !filters.iter().all(|f| filter_matches(f, s, &tags)) {
                            continue;
                        }
                        let entry = value_of(s).map_err(|e| error_entry(&s.arn, &e));
                        items.push(((micros(s.created_date), s.name.clone()), entry));
                    }
                });
                items.sort_by(|a, b| a.0.cmp(&b.0));
                let (page, next) = page::page(
                    "BatchGetSecretValue",
                    items,
                    r.next_token.as_deref(),
                    limit,
                    false,
                )
                .map_err(|_| SecretsError::SmInvalidNextToken)?;
                let (ok, bad): (Vec<_>, Vec<_>) = page.into_iter().partition(Result::is_ok);
                let values = ok.into_iter().filter_map(Result::ok).collect();
                let errors = bad.into_iter().filter_map(Result::err).collect();
                (values, errors, next)
            }
        };
        let mut reply = json!({"SecretValues": values, "Errors": errors});
        if let Some(t) = next {
            reply["NextToken"] = json!(t);
        }
        Ok(reply)
    }
}
