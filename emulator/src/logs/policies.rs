//! Resource policies: PutResourcePolicy, DescribeResourcePolicies,
//! DeleteResourcePolicy. Account-scoped policies are kept by name (10 at
//! most, as AWS allows); a policy given a `resourceArn` is scoped to that
//! log group, kept by the ARN and guarded by its revision id.

use serde_json::{json, Value};

use super::metric_filters::required;
use super::{group_from_arn, invalid, now_ms, paged, Logs, LogsError, Query};
use crate::model::logs::LogResourcePolicy;

/// Account-scoped resource policies a region may have.
const MAX_ACCOUNT_POLICIES: usize = 10;
const MAX_DOCUMENT: usize = 51_200;

fn render(p: &LogResourcePolicy) -> Value {
    serde_json::to_value(p).unwrap_or_default()
}

impl Logs {
    /// The store key and scope of the policy a request names.
    fn policy_key(&self, q: &Query) -> Result<(String, &'static str), LogsError> {
        match &q.resource_arn {
            Some(arn) => {
                let g = group_from_arn(arn).ok_or_else(|| {
                    invalid(format!(
                        "Invalid resourceArn '{arn}': only log group ARNs are supported."
                    ))
                })?;
                if self.group(g).is_none() {
                    return Err(LogsError::GroupNotFound);
                }
                Ok((format!("resource:{}", self.tag_arn(g)), "RESOURCE"))
            }
            None => {
                let name = required(&q.policy_name, "policyName")?;
                if name.is_empty() {
                    return Err(invalid("policyName must not be empty."));
                }
                Ok((format!("account:{name}"), "ACCOUNT"))
            }
        }
    }

    pub(super) async fn put_resource_policy(&self, q: &Query) -> Result<Value, LogsError> {
        let (key, scope) = self.policy_key(q)?;
        let doc = required(&q.policy_document, "policyDocument")?.to_string();
        if doc.is_empty() || doc.len() > MAX_DOCUMENT {
            return Err(invalid(format!(
                "policyDocument must have 1 to {MAX_DOCUMENT} characters."
            )));
        }
        if !serde_json::from_str::<Value>(&doc).is_ok_and(|v| v.is_object()) {
            return Err(invalid(
                "Invalid policy document: it must be a JSON object.",
            ));
        }
        let expected = q.expected_revision_id.clone();
        let policy = LogResourcePolicy {
            policy_name: q.policy_name.clone().unwrap_or_default(),
            policy_document: doc,
            last_updated_time: now_ms(),
            policy_scope: scope.into(),
            resource_arn: q
                .resource_arn
                .as_deref()
                .and_then(group_from_arn)
                .map(|g| self.tag_arn(g)),
            revision_id: uuid::Uuid::new_v4().simple().to_string(),
        };
        let stored = policy.clone();
        self.engine
            .update_state(move |s| {
                let old = s.log_resource_policies.get(&key);
                if scope == "RESOURCE" {
                    let current = old.map(|p| p.revision_id.clone());
                    if current != expected {
                        return Err(invalid(
                            "The expectedRevisionId does not match the policy's current revision.",
                        ));
                    }
                } else if old.is_none()
                    && s.log_resource_policies
                        .values()
                        .filter(|p| p.policy_scope == "ACCOUNT")
                        .count()
                        >= MAX_ACCOUNT_POLICIES
                {
                    return Err(LogsError::LimitExceeded("Resource limit exceeded.".into()));
                }
                s.log_resource_policies.insert(key, stored);
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({"resourcePolicy": render(&policy), "revisionId": policy.revision_id}))
    }

    pub(super) fn describe_resource_policies(&self, q: &Query) -> Result<Value, LogsError> {
        let limit = q.limit(50, 50)?;
        if let Some(s) = q
            .policy_scope
            .as_deref()
            .filter(|s| !["ACCOUNT", "RESOURCE"].contains(s))
        {
            return Err(invalid(format!(
                "1 validation error detected: Value '{s}' at 'policyScope' failed to satisfy \
                 constraint: Member must satisfy enum value set: [ACCOUNT, RESOURCE]"
            )));
        }
        let arn = q.resource_arn.as_deref().map(|a| {
            group_from_arn(a)
                .map(|g| self.tag_arn(g))
                .unwrap_or(a.to_string())
        });
        let items: Vec<(String, Value)> = self.engine.read(|s| {
            s.log_resource_policies
                .iter()
                .filter(|(_, p)| {
                    q.policy_scope
                        .as_deref()
                        .is_none_or(|sc| sc == p.policy_scope)
                })
                .filter(|(_, p)| arn.is_none() || p.resource_arn == arn)
                .map(|(k, p)| (k.clone(), render(p)))
                .collect()
        });
        paged(
            "DescribeResourcePolicies",
            "resourcePolicies",
            items,
            q,
            limit,
            false,
        )
    }

    pub(super) async fn delete_resource_policy(&self, q: &Query) -> Result<Value, LogsError> {
        let (key, scope) = self.policy_key(q)?;
        let expected = q.expected_revision_id.clone();
        let name = q.policy_name.clone().unwrap_or_default();
        self.engine
            .update_state(move |s| {
                let Some(p) = s.log_resource_policies.get(&key) else {
                    return Err(LogsError::NotFound(format!(
                        "Policy with name [{name}] does not exist"
                    )));
                };
                if scope == "RESOURCE" && expected.as_deref() != Some(p.revision_id.as_str()) {
                    return Err(invalid(
                        "The expectedRevisionId does not match the policy's current revision.",
                    ));
                }
                s.log_resource_policies.remove(&key);
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }
}
