//! SSM resource policies that share a parameter with other accounts:
//! PutResourcePolicy, GetResourcePolicies, DeleteResourcePolicy. Only an
//! Advanced parameter can be shared, with one policy; a change or a
//! deletion names the policy by id and the hash it last had (optimistic
//! concurrency, as SSM does). Nothing enforces the policy: the emulator
//! has one account and no IAM.

use serde::Deserialize;
use serde_json::{json, Value};

use super::*;
use crate::page;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyArg {
    resource_arn: String,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    policy_id: Option<String>,
    #[serde(default)]
    policy_hash: Option<String>,
    #[serde(default)]
    max_results: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
}

fn code(code: &'static str, msg: impl Into<String>) -> SecretsError {
    SecretsError::Code(code, msg.into())
}

impl Secrets {
    pub(super) async fn ssm_resource_policy(
        &self,
        op: &str,
        body: &Value,
    ) -> Result<Value, SecretsError> {
        let r: PolicyArg = parse(body)?;
        let prefix = self.partition().arn("ssm", "parameter/");
        if !r.resource_arn.starts_with(&prefix) {
            return Err(code(
                "ResourcePolicyInvalidParameterException",
                format!(
                    "{} is not the ARN of a parameter of this account and region.",
                    r.resource_arn
                ),
            ));
        }
        let not_found = || {
            code(
                "ResourceNotFoundException",
                format!("The resource {} does not exist.", r.resource_arn),
            )
        };
        if op == "GetResourcePolicies" {
            let limit = max_results(r.max_results, 50, 50, SecretsError::Validation)?;
            let policy = self.read(|st| {
                let key = parameter_key(st, &r.resource_arn).ok_or_else(not_found)?;
                Ok::<_, SecretsError>(st.parameters[&key].resource_policy.clone())
            })?;
            let items: Vec<(String, Value)> = policy
                .into_iter()
                .map(|(id, hash, text)| {
                    let v = json!({"PolicyId": id, "PolicyHash": hash, "Policy": text});
                    (id, v)
                })
                .collect();
            let kind = format!("GetResourcePolicies:{}", r.resource_arn);
            let (list, next) = page::page(&kind, items, r.next_token.as_deref(), limit, false)
                .map_err(|_| SecretsError::SsmInvalidNextToken)?;
            let mut reply = json!({ "Policies": list });
            if let Some(t) = next {
                reply["NextToken"] = json!(t);
            }
            return Ok(reply);
        }
        let new = match op {
            "PutResourcePolicy" => {
                let text = r.policy.clone().ok_or_else(|| {
                    SecretsError::Validation(
                        "Invalid request: missing required field `Policy`".into(),
                    )
                })?;
                let doc: Value = serde_json::from_str(&text).map_err(|_| {
                    code(
                        "MalformedResourcePolicyDocumentException",
                        "The policy is not valid JSON.",
                    )
                })?;
                if !doc
                    .get("Statement")
                    .is_some_and(|s| s.is_array() || s.is_object())
                {
                    return Err(code(
                        "MalformedResourcePolicyDocumentException",
                        "The policy must contain a Statement.",
                    ));
                }
                Some(text)
            }
            _ => None,
        };
        self.write(|st| {
            let key = parameter_key(st, &r.resource_arn).ok_or_else(not_found)?;
            let param = st.parameters.get_mut(&key).ok_or_else(not_found)?;
            // A change or a deletion names the current policy and hash.
            let current = param.resource_policy.clone();
            match (&current, &r.policy_id) {
                (Some((id, hash, _)), Some(asked))
                    if id == asked && r.policy_hash.as_deref() != Some(hash.as_str()) =>
                {
                    return Err(code(
                        "ResourcePolicyConflictException",
                        "The PolicyHash does not match the policy's current hash: it \
                         changed since you read it.",
                    ));
                }
                (Some((id, _, _)), Some(asked)) if id == asked => {}
                (_, Some(asked)) => {
                    return Err(code(
                        "ResourcePolicyNotFoundException",
                        format!("The policy {asked} does not exist."),
                    ))
                }
                (Some(_), None) if new.is_some() => {
                    return Err(code(
                        "ResourcePolicyLimitExceededException",
                        "A parameter can have one resource policy; name it by PolicyId and \
                         PolicyHash to change it.",
                    ))
                }
                (_, None) if new.is_none() => {
                    return Err(SecretsError::Validation(
                        "Invalid request: missing required field `PolicyId`".into(),
                    ))
                }
                _ => {}
            }
            let Some(text) = new else {
                param.resource_policy = None;
                return Ok(json!({}));
            };
            if param.tier() != "Advanced" {
                return Err(code(
                    "ResourcePolicyInvalidParameterException",
                    "Only parameters in the advanced-parameter tier can be shared. Change the \
                     parameter to the advanced tier and try again.",
                ));
            }
            let id = current
                .map(|(id, _, _)| id)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let hash = super::sha256::hex(text.as_bytes());
            param.resource_policy = Some((id.clone(), hash.clone(), text));
            Ok(json!({"PolicyId": id, "PolicyHash": hash}))
        })
        .await?
    }
}
