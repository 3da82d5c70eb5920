//! Secrets Manager resource policies: PutResourcePolicy (checked, and
//! refused when public under `BlockPublicPolicy`), GetResourcePolicy,
//! DeleteResourcePolicy, ValidateResourcePolicy. A policy is kept on its
//! secret as given; DescribeSecret does not show it. Nothing enforces it:
//! the emulator has no IAM.
//!
//! ValidateResourcePolicy's `CheckName`s are the emulator's own
//! (`SYNTAX` for a statement that is not well-formed, `BROAD_ACCESS` for
//! one that lets anyone in); AWS runs IAM Access Analyzer's checks.

use serde::Deserialize;
use serde_json::{json, Value};

use super::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyArg {
    #[serde(default)]
    secret_id: Option<String>,
    #[serde(default)]
    resource_policy: Option<String>,
    #[serde(default)]
    block_public_policy: bool,
}

/// What is wrong with a policy document: syntax problems (the policy
/// is malformed) and broad access (it lets anyone in).
#[derive(Debug, Default, PartialEq)]
struct Findings {
    syntax: Vec<String>,
    broad: Vec<String>,
}

fn malformed(why: &str) -> SecretsError {
    SecretsError::Code(
        "MalformedPolicyDocumentException",
        format!("This resource policy contains a syntax error: {why}"),
    )
}

/// Is this principal everyone (`"*"`, `{"AWS": "*"}`, or `"*"` in a list)?
fn is_everyone(p: &Value) -> bool {
    match p {
        Value::String(s) => s == "*",
        Value::Array(list) => list.iter().any(is_everyone),
        Value::Object(map) => map.get("AWS").is_some_and(is_everyone),
        _ => false,
    }
}

/// Reads a policy document; invalid JSON is an error, the rest findings.
fn examine(text: &str) -> Result<Findings, SecretsError> {
    if text.is_empty() || text.len() > 20480 {
        return Err(SecretsError::InvalidParameter(
            "ResourcePolicy must be 1 to 20480 characters.".into(),
        ));
    }
    let doc: Value =
        serde_json::from_str(text).map_err(|_| malformed("the policy is not valid JSON."))?;
    let mut f = Findings::default();
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => {
            f.syntax
                .push("The policy must contain a Statement (an object or a list).".into());
            return Ok(f);
        }
    };
    if statements.is_empty() {
        f.syntax
            .push("The policy's Statement list is empty.".into());
    }
    for (i, st) in statements.iter().enumerate() {
        let n = i + 1;
        let effect = st.get("Effect").and_then(Value::as_str);
        if !matches!(effect, Some("Allow" | "Deny")) {
            f.syntax
                .push(format!("Statement {n}: Effect must be Allow or Deny."));
        }
        if st.get("Action").is_none() && st.get("NotAction").is_none() {
            f.syntax.push(format!("Statement {n}: Action is required."));
        }
        match st.get("Principal") {
            None if st.get("NotPrincipal").is_none() => {
                f.syntax.push(format!(
                    "Statement {n}: a resource policy must name a Principal."
                ));
            }
            Some(p)
                if effect == Some("Allow") && is_everyone(p) && st.get("Condition").is_none() =>
            {
                f.broad.push(format!(
                    "Statement {n} allows every principal (\"*\") without a Condition."
                ));
            }
            _ => {}
        }
    }
    Ok(f)
}

impl Secrets {
    pub(super) async fn resource_policy(
        &self,
        op: &str,
        body: &Value,
    ) -> Result<Value, SecretsError> {
        let r: PolicyArg = parse(body)?;
        let required =
            |field: &str| SecretsError::InvalidParameter(format!("{field} is required."));
        if op == "ValidateResourcePolicy" {
            let text = r
                .resource_policy
                .ok_or_else(|| required("ResourcePolicy"))?;
            if let Some(id) = &r.secret_id {
                self.read(|st| find_secret(st, id).map(|_| ()))
                    .ok_or(SecretsError::SecretNotFound)?;
            }
            let f = examine(&text)?;
            let errors: Vec<Value> = f
                .syntax
                .iter()
                .map(|m| json!({"CheckName": "SYNTAX", "ErrorMessage": m}))
                .chain(
                    f.broad
                        .iter()
                        .map(|m| json!({"CheckName": "BROAD_ACCESS", "ErrorMessage": m})),
                )
                .collect();
            return Ok(json!({
                "PolicyValidationPassed": errors.is_empty(),
                "ValidationErrors": errors,
            }));
        }
        let id = r.secret_id.clone().ok_or_else(|| required("SecretId"))?;
        let policy = match op {
            "PutResourcePolicy" => {
                let text = r
                    .resource_policy
                    .ok_or_else(|| required("ResourcePolicy"))?;
                let f = examine(&text)?;
                if let Some(first) = f.syntax.first() {
                    return Err(malformed(first));
                }
                if r.block_public_policy && !f.broad.is_empty() {
                    return Err(SecretsError::Code(
                        "PublicPolicyException",
                        "The BlockPublicPolicy parameter is set to true, and the resource \
                         policy did not prevent broad access to the secret."
                            .into(),
                    ));
                }
                Some(Some(text))
            }
            "DeleteResourcePolicy" => Some(None),
            _ => None,
        };
        let Some(policy) = policy else {
            // GetResourcePolicy
            return self.read(|st| {
                let s = find_secret(st, &id).ok_or(SecretsError::SecretNotFound)?;
                let mut out = json!({"ARN": s.arn, "Name": s.name});
                if let Some(p) = &s.resource_policy {
                    out["ResourcePolicy"] = json!(p);
                }
                Ok(out)
            });
        };
        self.write(|st| {
            let s = live_secret_mut(st, &id)?;
            s.resource_policy = policy;
            Ok(json!({"ARN": s.arn, "Name": s.name}))
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_read_for_syntax_and_broad_access() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        assert_eq!(examine(ok).unwrap(), Findings::default());
        let public =
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["x","*"]},"Action":"*"}}"#;
        assert_eq!(examine(public).unwrap().broad.len(), 1);
        let conditioned = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}}"#;
        assert!(examine(conditioned).unwrap().broad.is_empty());
        let denied = r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"*"}}"#;
        assert!(examine(denied).unwrap().broad.is_empty());
        assert_eq!(
            examine(r#"{"Version":"2012-10-17"}"#).unwrap().syntax.len(),
            1
        );
        assert_eq!(
            examine(r#"{"Statement":[{"Effect":"Maybe"}]}"#)
                .unwrap()
                .syntax
                .len(),
            3
        );
        assert_eq!(
            examine("{nope").unwrap_err().aws_type(),
            "MalformedPolicyDocumentException"
        );
    }
}
