//! SSM service settings of the Parameter Store: GetServiceSetting,
//! UpdateServiceSetting, ResetServiceSetting, and the tier PutParameter
//! gives a parameter that names none (the `default-parameter-tier`
//! setting).
//!
//! Only the Parameter Store's two settings exist here; any other id is
//! `ServiceSettingNotFound`. `high-throughput-enabled` is kept and read
//! back, but changes nothing: the emulator never throttles.

use serde::Deserialize;
use serde_json::{json, Value};

use super::*;
use crate::model::secrets::ServiceSetting;

/// The default tier of new parameters.
pub(super) const DEFAULT_TIER: &str = "/ssm/parameter-store/default-parameter-tier";
/// Higher GetParameter throughput (no effect here).
const HIGH_THROUGHPUT: &str = "/ssm/parameter-store/high-throughput-enabled";

/// Standard parameters hold at most 4 KB, Advanced ones 8 KB.
pub(super) const STANDARD_MAX: usize = 4096;
pub(super) const ADVANCED_MAX: usize = 8192;

/// The settings and the values each takes, the default first.
const SETTINGS: &[(&str, &[&str])] = &[
    (
        DEFAULT_TIER,
        &["Standard", "Advanced", "Intelligent-Tiering"],
    ),
    (HIGH_THROUGHPUT, &["false", "true"]),
];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SettingArg {
    setting_id: String,
    #[serde(default)]
    setting_value: Option<String>,
}

/// A setting id (`/ssm/...` or its ARN
/// `arn:aws:ssm:REGION:ACCOUNT:servicesetting/ssm/...`) as the known id
/// and the values it takes.
fn known(p: &Partition, id: &str) -> Result<(&'static str, &'static [&'static str]), SecretsError> {
    let path = match id.strip_prefix(&p.arn("ssm", "servicesetting")) {
        Some(rest) => rest,
        None if id.starts_with("arn:") => return Err(not_found(id)),
        None => id,
    };
    SETTINGS
        .iter()
        .find(|(k, _)| *k == path)
        .copied()
        .ok_or_else(|| not_found(id))
}

fn not_found(id: &str) -> SecretsError {
    SecretsError::Code(
        "ServiceSettingNotFound",
        format!("The service setting {id} was not found."),
    )
}

fn setting_json(p: &Partition, id: &str, stored: Option<&ServiceSetting>, default: &str) -> Value {
    let (value, status, date, user) = match stored {
        Some(s) => (
            s.value.as_str(),
            "Customized",
            s.last_modified_date,
            format!("arn:aws:iam::{}:root", p.account),
        ),
        None => (default, "Default", 0.0, "System".to_string()),
    };
    let mut v = json!({
        "SettingId": id,
        "SettingValue": value,
        "LastModifiedUser": user,
        "ARN": p.arn("ssm", &format!("servicesetting{id}")),
        "Status": status,
    });
    if date > 0.0 {
        v["LastModifiedDate"] = json!(date);
    }
    v
}

/// The tier of a parameter being put: the one asked for, else the default
/// tier setting; `Intelligent-Tiering` is Advanced only when the value
/// needs it (over 4 KB, or policies). An Advanced parameter stays
/// Advanced. Checks the value's size against the tier.
pub(super) fn resolve_tier(
    st: &SecretsState,
    asked: Option<&str>,
    existing: Option<&str>,
    value_len: usize,
    has_policies: bool,
) -> Result<&'static str, SecretsError> {
    let default = st
        .service_settings
        .get(DEFAULT_TIER)
        .map(|s| s.value.clone())
        .unwrap_or_else(|| "Standard".into());
    let wanted = asked.map(str::to_string).unwrap_or(default);
    let needs_advanced = value_len > STANDARD_MAX || has_policies;
    let tier = match wanted.as_str() {
        "Advanced" => "Advanced",
        "Intelligent-Tiering" if needs_advanced => "Advanced",
        "Intelligent-Tiering" | "Standard" if existing == Some("Advanced") => {
            if asked == Some("Standard") {
                return Err(SecretsError::Validation(
                    "This parameter uses the advanced-parameter tier. You can't downgrade a \
                     parameter from the advanced-parameter tier to the standard-parameter tier. \
                     If necessary, you can delete the advanced parameter and recreate it as a \
                     standard parameter."
                        .into(),
                ));
            }
            "Advanced"
        }
        "Intelligent-Tiering" | "Standard" => "Standard",
        other => {
            return Err(SecretsError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'tier' failed to satisfy \
                 constraint: Member must satisfy enum value set: [Advanced, Standard, \
                 Intelligent-Tiering]"
            )))
        }
    };
    if tier == "Standard" && value_len > STANDARD_MAX {
        return Err(SecretsError::Validation(
            "Standard tier parameters support a maximum parameter value of 4096 characters. \
             To create a larger parameter value, upgrade the parameter to use the \
             advanced-parameter tier. For more information, see \
             https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
                .into(),
        ));
    }
    if tier == "Standard" && has_policies {
        return Err(SecretsError::Validation(
            "Standard tier parameters don't support parameter policies. To use parameter \
             policies, upgrade the parameter to use the advanced-parameter tier."
                .into(),
        ));
    }
    if value_len > ADVANCED_MAX {
        return Err(SecretsError::Validation(
            "Advanced tier parameters support a maximum parameter value of 8192 characters.".into(),
        ));
    }
    Ok(tier)
}

/// PutParameter's `Policies`: a JSON array of at most 10 policies of
/// the three types, kept as given (one JSON object each). They make a
/// parameter Advanced; the emulator does not act on them (an Expiration
/// does not delete the parameter, notifications go nowhere).
pub(super) fn parse_policies(text: &str) -> Result<Vec<String>, SecretsError> {
    let invalid = |why: &str| {
        SecretsError::Code(
            "InvalidPolicyTypeException",
            format!("A policy type that is not supported was specified: {why}"),
        )
    };
    let list: Vec<Value> = serde_json::from_str(text)
        .map_err(|_| invalid("Policies must be a JSON array of policies."))?;
    if list.len() > 10 {
        return Err(SecretsError::Code(
            "PoliciesLimitExceededException",
            "You specified more than the maximum number of allowed policies for the parameter. \
             The maximum is 10."
                .into(),
        ));
    }
    list.iter()
        .map(|p| match p.get("Type").and_then(Value::as_str) {
            Some("Expiration" | "ExpirationNotification" | "NoChangeNotification") => {
                if p.get("Attributes").is_some_and(Value::is_object) {
                    Ok(p.to_string())
                } else {
                    Err(SecretsError::Code(
                        "InvalidPolicyAttributeException",
                        "A policy attribute or its value is invalid: Attributes is required."
                            .into(),
                    ))
                }
            }
            other => Err(invalid(other.unwrap_or("no Type"))),
        })
        .collect()
}

/// A parameter's policies as DescribeParameters shows them.
pub(super) fn policies_json(policies: &[String]) -> Value {
    Value::Array(
        policies
            .iter()
            .map(|text| {
                let kind = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|v| v.get("Type").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                json!({"PolicyText": text, "PolicyType": kind, "PolicyStatus": "Pending"})
            })
            .collect(),
    )
}

impl Secrets {
    pub(super) async fn service_setting(
        &self,
        operation: &str,
        body: &Value,
    ) -> Result<Value, SecretsError> {
        let r: SettingArg = parse(body)?;
        let p = self.partition();
        let (id, values) = known(&p, &r.setting_id)?;
        let default = values[0];
        match operation {
            "GetServiceSetting" => Ok(self.read(|st| {
                json!({"ServiceSetting": setting_json(&p, id, st.service_settings.get(id), default)})
            })),
            "UpdateServiceSetting" => {
                let value = r.setting_value.ok_or_else(|| {
                    SecretsError::Validation(
                        "Invalid request: missing required field `SettingValue`".into(),
                    )
                })?;
                if !values.contains(&value.as_str()) {
                    return Err(SecretsError::Validation(format!(
                        "The value {value} is not valid for the setting {id}. Valid values: {}.",
                        values.join(", ")
                    )));
                }
                self.write(|st| {
                    st.service_settings.insert(
                        id.to_string(),
                        ServiceSetting {
                            setting_id: id.to_string(),
                            value,
                            last_modified_date: now_epoch(),
                        },
                    );
                })
                .await?;
                Ok(json!({}))
            }
            _ => {
                self.write(|st| st.service_settings.remove(id)).await?;
                Ok(json!({"ServiceSetting": setting_json(&p, id, None, default)}))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_default_setting_and_the_value() {
        let mut st = SecretsState::default();
        assert_eq!(resolve_tier(&st, None, None, 10, false), Ok("Standard"));
        assert!(resolve_tier(&st, None, None, 5000, false).is_err());
        assert_eq!(
            resolve_tier(&st, Some("Advanced"), None, 5000, false),
            Ok("Advanced")
        );
        st.service_settings.insert(
            DEFAULT_TIER.into(),
            ServiceSetting {
                value: "Intelligent-Tiering".into(),
                ..Default::default()
            },
        );
        assert_eq!(resolve_tier(&st, None, None, 10, false), Ok("Standard"));
        assert_eq!(resolve_tier(&st, None, None, 10, true), Ok("Advanced"));
        assert_eq!(resolve_tier(&st, None, None, 5000, false), Ok("Advanced"));
        // Never back to Standard.
        assert_eq!(
            resolve_tier(&st, None, Some("Advanced"), 10, false),
            Ok("Advanced")
        );
        assert!(resolve_tier(&st, Some("Standard"), Some("Advanced"), 10, false).is_err());
        assert!(resolve_tier(&st, Some("Bogus"), None, 10, false).is_err());
        assert!(resolve_tier(&st, Some("Advanced"), None, 9000, false).is_err());
        let p = Partition::default();
        assert_eq!(
            known(&p, "arn:aws:ssm:us-east-1:000000000000:servicesetting/ssm/parameter-store/high-throughput-enabled")
                .unwrap()
                .0,
            HIGH_THROUGHPUT
        );
        assert!(known(&p, "/ssm/other").is_err());
        assert!(known(&p, "arn:aws:ssm:eu-west-1:000000000000:servicesetting/ssm/parameter-store/high-throughput-enabled").is_err());
    }
}
