//! Account settings (Put/Delete/ListAccountSettings, PutAccountSettingDefault),
//! and custom attributes on container instances (Put/Delete/ListAttributes).

use serde_json::json;

use super::command::{EngineError, Reply};
use super::engine::Engine;
use super::tags::paginate;
use crate::model::account::{AccountSetting, TargetAttribute, ACCOUNT_SETTING_DEFAULTS};
use crate::model::arn;
use crate::model::request;
use crate::model::Attribute;

fn default_of(name: &str) -> Option<&'static str> {
    ACCOUNT_SETTING_DEFAULTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

fn key(principal: &str, name: &str) -> String {
    format!("{principal}|{name}")
}

impl Engine {
    /// The account root: the principal of defaults and of calls that name
    /// none.
    fn root(&self) -> String {
        format!("arn:aws:iam::{}:root", self.inner.config.partition.account)
    }

    fn check_setting(name: &str, value: &str) -> Result<(), EngineError> {
        if default_of(name).is_none() {
            return Err(EngineError::InvalidParameter(format!(
                "Unknown account setting '{name}'."
            )));
        }
        let ok = match name {
            "fargateTaskRetirementWaitPeriod" => ["0", "7", "14"].contains(&value),
            "guardDutyActivate" | "tagResourceAuthorization" => ["on", "off"].contains(&value),
            "defaultLogDriverMode" => ["blocking", "non-blocking"].contains(&value),
            "containerInsights" => ["enabled", "disabled", "enhanced"].contains(&value),
            _ => ["enabled", "disabled"].contains(&value),
        };
        if !ok {
            return Err(EngineError::InvalidParameter(format!(
                "Invalid value '{value}' for account setting '{name}'."
            )));
        }
        Ok(())
    }

    pub(super) async fn put_account_setting(
        &self,
        r: request::PutAccountSetting,
        default: bool,
    ) -> Result<Reply, EngineError> {
        Self::check_setting(&r.name, &r.value)?;
        let principal = match (default, r.principal_arn) {
            (true, _) | (false, None) => self.root(),
            (false, Some(p)) => p,
        };
        let setting = AccountSetting {
            name: r.name.clone(),
            value: r.value,
            principal_arn: principal.clone(),
            kind: "user".into(),
        };
        let stored = setting.clone();
        self.mutate(|s| s.account_settings.insert(key(&principal, &r.name), stored))
            .await?;
        Ok(Reply::Json(json!({ "setting": setting })))
    }

    pub(super) async fn delete_account_setting(
        &self,
        r: request::DeleteAccountSetting,
    ) -> Result<Reply, EngineError> {
        let principal = r.principal_arn.unwrap_or_else(|| self.root());
        let gone = self
            .mutate(|s| s.account_settings.remove(&key(&principal, &r.name)))
            .await?;
        match gone {
            Some(setting) => Ok(Reply::Json(json!({ "setting": setting }))),
            None => Err(EngineError::InvalidParameter(format!(
                "The account setting '{}' is not set for {principal}.",
                r.name
            ))),
        }
    }

    pub(super) fn list_account_settings(
        &self,
        r: request::ListAccountSettings,
    ) -> Result<Reply, EngineError> {
        let root = self.root();
        let principal = r.principal_arn.clone().unwrap_or_else(|| root.clone());
        let settings: Vec<AccountSetting> = self.read(|s| {
            ACCOUNT_SETTING_DEFAULTS
                .iter()
                .filter(|(n, _)| r.name.as_deref().is_none_or(|want| want == *n))
                .filter_map(|(name, value)| {
                    let own = s.account_settings.get(&key(&principal, name)).cloned();
                    if !r.effective_settings {
                        return own;
                    }
                    own.or_else(|| s.account_settings.get(&key(&root, name)).cloned())
                        .or_else(|| {
                            Some(AccountSetting {
                                name: name.to_string(),
                                value: value.to_string(),
                                principal_arn: principal.clone(),
                                kind: "aws_managed".into(),
                            })
                        })
                })
                .filter(|st| r.value.as_deref().is_none_or(|v| v == st.value))
                .collect()
        });
        let mut settings: Vec<(String, AccountSetting)> =
            settings.into_iter().map(|s| (s.name.clone(), s)).collect();
        settings.sort_by(|a, b| a.0.cmp(&b.0));
        let (settings, next) = paginate(settings, &r.page, 10, false)?;
        let mut v = json!({ "settings": settings });
        if let Some(t) = next {
            v["nextToken"] = json!(t);
        }
        Ok(Reply::Json(v))
    }

    /// The account's effective `defaultLogDriverMode` for tasks: the root's
    /// own setting (tasks run as the account here), else ECS's default.
    pub(super) fn default_log_driver_mode(&self) -> String {
        let name = "defaultLogDriverMode";
        self.read(|s| {
            s.account_settings
                .get(&key(&self.root(), name))
                .map(|st| st.value.clone())
        })
        .or_else(|| default_of(name).map(str::to_string))
        .unwrap_or_default()
    }

    /// The ARN of a container instance named by `id` (ARN or id) in `cluster`.
    pub(super) fn instance_arn(&self, cluster: &str, id: &str) -> String {
        self.inner
            .config
            .partition
            .container_instance(cluster, arn::short_name(id))
    }

    pub(super) async fn put_attributes(
        &self,
        r: request::PutAttributes,
        delete: bool,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if r.attributes.is_empty() || r.attributes.len() > 10 {
            return Err(EngineError::InvalidParameter(
                "attributes must hold 1 to 10 attributes.".into(),
            ));
        }
        let mut targets = Vec::new();
        for a in &r.attributes {
            if a.name.is_empty() || a.name.len() > 128 {
                return Err(EngineError::InvalidParameter(format!(
                    "Invalid attribute name '{}'.",
                    a.name
                )));
            }
            if a.target_type.as_deref().unwrap_or("container-instance") != "container-instance" {
                return Err(EngineError::InvalidParameter(
                    "targetType must be container-instance.".into(),
                ));
            }
            let id = a
                .target_id
                .as_deref()
                .ok_or_else(|| EngineError::InvalidParameter("targetId is required.".into()))?;
            targets.push(self.instance_arn(&cluster, id));
        }
        let attributes = r.attributes.clone();
        self.mutate(|s| {
            for (a, arn) in attributes.iter().zip(&targets) {
                let Some(i) = s.container_instances.get_mut(arn) else {
                    return Err(EngineError::TargetNotFound(format!(
                        "Could not find {arn}."
                    )));
                };
                i.attributes.retain(|x| x.name != a.name);
                if !delete {
                    i.attributes.push(Attribute {
                        name: a.name.clone(),
                        value: a.value.clone(),
                    });
                }
            }
            Ok(())
        })
        .await??;
        Ok(Reply::Json(json!({ "attributes": r.attributes })))
    }

    pub(super) fn list_attributes(&self, r: request::ListAttributes) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if r.target_type != "container-instance" {
            return Err(EngineError::InvalidParameter(
                "targetType must be container-instance.".into(),
            ));
        }
        let found: Vec<TargetAttribute> = self.read(|s| {
            s.container_instances
                .values()
                .filter(|i| i.cluster_name() == cluster)
                .flat_map(|i| {
                    i.attributes.iter().map(move |a| TargetAttribute {
                        name: a.name.clone(),
                        value: a.value.clone(),
                        target_type: Some("container-instance".into()),
                        target_id: Some(i.container_instance_arn.clone()),
                    })
                })
                .filter(|a| r.attribute_name.as_deref().is_none_or(|n| n == a.name))
                .filter(|a| {
                    r.attribute_value
                        .as_deref()
                        .is_none_or(|v| a.value.as_deref() == Some(v))
                })
                .collect()
        });
        let mut found: Vec<(String, TargetAttribute)> = found
            .into_iter()
            .map(|a| {
                let key = format!("{}|{}", a.target_id.as_deref().unwrap_or(""), a.name);
                (key, a)
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let (found, next) = paginate(found, &r.page, 100, false)?;
        let mut v = json!({ "attributes": found });
        if let Some(t) = next {
            v["nextToken"] = json!(t);
        }
        Ok(Reply::Json(v))
    }
}
