//! Capacity providers: CreateCapacityProvider, UpdateCapacityProvider,
//! DeleteCapacityProvider, DescribeCapacityProviders (the ones created,
//! and AWS's built-in FARGATE and FARGATE_SPOT), PutClusterCapacityProviders.
//!
//! The emulator has no Auto Scaling groups or Managed Instances: a
//! provider is kept with its configuration, associated with clusters and
//! named in strategies; tasks still run on the cluster's container
//! instances.

use serde_json::{json, Value};

use super::cluster_capacity::{associated, usable};
use super::command::{EngineError, Reply};
use super::engine::Engine;
use super::tags::{add_tags, paged, paginate, tags_of, validate_tags};
use crate::model::arn;
use crate::model::capacity_provider::{
    CapacityProvider, CreateCapacityProvider, DeleteCapacityProvider, DescribeCapacityProviders,
    PutClusterCapacityProviders, UpdateCapacityProvider, FARGATE_PROVIDERS,
};
use crate::model::{ClusterStatus, TaskStatus};

const NOT_FOUND: &str =
    "The specified capacity provider does not exist. Specify a valid name or ARN and try again.";

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidParameter(msg.into())
}

/// ECS's rules for a provider's name: 1-255 letters, digits, `_` and `-`,
/// not starting with `aws`, `ecs` or `fargate` (any case).
fn check_name(name: &str) -> Result<(), EngineError> {
    let lower = name.to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !["aws", "ecs", "fargate"]
            .iter()
            .any(|p| lower.starts_with(p));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "The specified capacity provider name '{name}' is invalid. Up to 255 characters are allowed, including letters (upper and lowercase), numbers, underscores, and hyphens. The name cannot be prefixed with \"aws\", \"ecs\", or \"fargate\"."
        )))
    }
}

/// Checks `managedScaling`, `managedTerminationProtection` and
/// `managedDraining` of an Auto Scaling group provider.
fn check_asg(asg: &Value) -> Result<(), EngineError> {
    if let Some(ms) = asg.get("managedScaling") {
        let within = |key: &str, lo: i64, hi: i64| -> Result<(), EngineError> {
            match ms.get(key).map(Value::as_i64) {
                None => Ok(()),
                Some(Some(v)) if (lo..=hi).contains(&v) => Ok(()),
                _ => Err(invalid(format!(
                    "managedScaling.{key} must be between {lo} and {hi}."
                ))),
            }
        };
        within("targetCapacity", 1, 100)?;
        within("minimumScalingStepSize", 1, 10_000)?;
        within("maximumScalingStepSize", 1, 10_000)?;
        within("instanceWarmupPeriod", 0, 10_000)?;
        let min = ms["minimumScalingStepSize"].as_i64().unwrap_or(1);
        let max = ms["maximumScalingStepSize"].as_i64().unwrap_or(10_000);
        if min > max {
            return Err(invalid(
                "managedScaling.minimumScalingStepSize cannot be greater than maximumScalingStepSize.",
            ));
        }
        if let Some(s) = ms.get("status") {
            if !matches!(s.as_str(), Some("ENABLED" | "DISABLED")) {
                return Err(invalid(
                    "managedScaling.status must be ENABLED or DISABLED.",
                ));
            }
        }
    }
    for key in ["managedTerminationProtection", "managedDraining"] {
        if let Some(v) = asg.get(key) {
            if !matches!(v.as_str(), Some("ENABLED" | "DISABLED")) {
                return Err(invalid(format!("{key} must be ENABLED or DISABLED.")));
            }
        }
    }
    Ok(())
}

/// The defaults ECS fills into an Auto Scaling group provider.
fn asg_with_defaults(mut asg: Value) -> Value {
    let ms = asg
        .as_object_mut()
        .map(|o| o.entry("managedScaling").or_insert_with(|| json!({})));
    if let Some(Value::Object(ms)) = ms {
        for (k, v) in [
            ("status", json!("DISABLED")),
            ("targetCapacity", json!(100)),
            ("minimumScalingStepSize", json!(1)),
            ("maximumScalingStepSize", json!(10000)),
            ("instanceWarmupPeriod", json!(300)),
        ] {
            ms.entry(k).or_insert(v);
        }
    }
    if let Some(o) = asg.as_object_mut() {
        o.entry("managedTerminationProtection")
            .or_insert(json!("DISABLED"));
        o.entry("managedDraining").or_insert(json!("ENABLED"));
    }
    asg
}

/// Merges the members of `update` into `into` (objects recursively).
fn merge(into: &mut Value, update: &Value) {
    match (into, update) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

impl Engine {
    fn provider_arn(&self, name: &str) -> String {
        self.inner
            .config
            .partition
            .arn("ecs", &format!("capacity-provider/{name}"))
    }

    fn provider_view(&self, p: &CapacityProvider, with_tags: bool) -> Value {
        let mut p = p.clone();
        p.tags = if with_tags {
            self.read(|s| tags_of(s, &p.capacity_provider_arn))
        } else {
            vec![]
        };
        serde_json::to_value(p).unwrap_or(Value::Null)
    }

    pub(super) async fn create_capacity_provider(
        &self,
        create: CreateCapacityProvider,
    ) -> Result<Reply, EngineError> {
        let r = &create.provider;
        check_name(&r.name)?;
        validate_tags(&create.tags)?;
        let (kind, cluster, asg, mi) = match (
            &r.auto_scaling_group_provider,
            &r.managed_instances_provider,
        ) {
            (Some(asg), None) => {
                let group = asg["autoScalingGroupArn"].as_str().unwrap_or_default();
                if group.is_empty() {
                    return Err(invalid(
                        "autoScalingGroupProvider.autoScalingGroupArn is required.",
                    ));
                }
                check_asg(asg)?;
                (
                    "EC2_AUTOSCALING",
                    None,
                    Some(asg_with_defaults(asg.clone())),
                    None,
                )
            }
            (None, Some(mi)) => {
                let Some(cluster) = r.cluster.as_deref() else {
                    return Err(invalid(
                        "A cluster is required when creating a capacity provider with Amazon ECS Managed Instances.",
                    ));
                };
                for key in ["infrastructureRoleArn", "instanceLaunchTemplate"] {
                    if mi.get(key).is_none_or(Value::is_null) {
                        return Err(invalid(format!(
                            "managedInstancesProvider.{key} is required."
                        )));
                    }
                }
                let cluster = self.cluster_name(Some(cluster))?;
                ("MANAGED_INSTANCES", Some(cluster), None, Some(mi.clone()))
            }
            _ => {
                return Err(invalid(
                    "Specify exactly one of autoScalingGroupProvider or managedInstancesProvider.",
                ))
            }
        };
        let provider = CapacityProvider {
            capacity_provider_arn: self.provider_arn(&r.name),
            name: r.name.clone(),
            status: "ACTIVE".into(),
            cluster,
            auto_scaling_group_provider: asg,
            managed_instances_provider: mi,
            update_status: None,
            update_status_reason: None,
            kind: kind.into(),
            tags: vec![],
        };
        let stored = provider.clone();
        self.mutate(|s| {
            if s.capacity_providers
                .get(&r.name)
                .is_some_and(|p| p.status == "ACTIVE")
            {
                return Err(EngineError::Client(
                    "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.".into(),
                ));
            }
            let group = stored
                .auto_scaling_group_provider
                .as_ref()
                .map(|a| a["autoScalingGroupArn"].clone());
            let taken = group.is_some()
                && s.capacity_providers.values().any(|p| {
                    p.status == "ACTIVE"
                        && p.auto_scaling_group_provider
                            .as_ref()
                            .map(|a| a["autoScalingGroupArn"].clone())
                            == group
                });
            if taken {
                return Err(EngineError::Client(
                    "The specified Auto Scaling group is already being used by another capacity provider. Specify a unique Auto Scaling group and try again.".into(),
                ));
            }
            // A name deleted before may be taken again: its old tags go.
            s.tags.remove(&stored.capacity_provider_arn);
            s.capacity_providers.insert(r.name.clone(), stored.clone());
            add_tags(s, &stored.capacity_provider_arn, &create.tags)
        })
        .await??;
        Ok(Reply::Json(
            json!({ "capacityProvider": self.provider_view(&provider, true) }),
        ))
    }

    /// The ACTIVE provider `reference` (name or ARN) names.
    fn active_provider(&self, reference: &str) -> Result<CapacityProvider, EngineError> {
        let name = arn::short_name(reference);
        self.read(|s| s.capacity_providers.get(name).cloned())
            .filter(|p| p.status == "ACTIVE")
            .ok_or_else(|| EngineError::Client(NOT_FOUND.into()))
    }

    pub(super) async fn update_capacity_provider(
        &self,
        r: UpdateCapacityProvider,
    ) -> Result<Reply, EngineError> {
        if FARGATE_PROVIDERS.contains(&arn::short_name(&r.name)) {
            return Err(invalid(
                "The FARGATE and FARGATE_SPOT capacity providers cannot be updated.",
            ));
        }
        let current = self.active_provider(&r.name)?;
        let mut next = current.clone();
        match (
            &r.auto_scaling_group_provider,
            &r.managed_instances_provider,
        ) {
            (Some(u), None) if current.kind == "EC2_AUTOSCALING" => {
                check_asg(u)?;
                if u.get("autoScalingGroupArn").is_some() {
                    return Err(invalid(
                        "The Auto Scaling group of a capacity provider cannot be changed.",
                    ));
                }
                let mut asg = current
                    .auto_scaling_group_provider
                    .clone()
                    .unwrap_or_default();
                merge(&mut asg, u);
                next.auto_scaling_group_provider = Some(asg);
            }
            (None, Some(u)) if current.kind == "MANAGED_INSTANCES" => {
                if let Some(c) = r.cluster.as_deref() {
                    if current.cluster.as_deref() != Some(arn::short_name(c)) {
                        return Err(EngineError::Client(NOT_FOUND.into()));
                    }
                }
                let mut mi = current
                    .managed_instances_provider
                    .clone()
                    .unwrap_or_default();
                merge(&mut mi, u);
                next.managed_instances_provider = Some(mi);
            }
            (None, None) => {
                return Err(invalid(
                    "Specify autoScalingGroupProvider or managedInstancesProvider to update.",
                ))
            }
            _ => {
                return Err(invalid(format!(
                    "The update does not match the capacity provider's type ({}).",
                    current.kind
                )))
            }
        }
        next.update_status = Some("UPDATE_COMPLETE".into());
        let stored = next.clone();
        self.mutate(|s| s.capacity_providers.insert(stored.name.clone(), stored))
            .await?;
        Ok(Reply::Json(
            json!({ "capacityProvider": self.provider_view(&next, true) }),
        ))
    }

    /// DeleteCapacityProvider: only a provider no ACTIVE cluster has; it
    /// answers DELETE_IN_PROGRESS and is INACTIVE (DELETE_COMPLETE) after.
    pub(super) async fn delete_capacity_provider(
        &self,
        r: DeleteCapacityProvider,
    ) -> Result<Reply, EngineError> {
        let name = arn::short_name(&r.capacity_provider).to_string();
        if FARGATE_PROVIDERS.contains(&name.as_str()) {
            return Err(invalid(
                "The FARGATE and FARGATE_SPOT capacity providers are reserved and cannot be deleted. Disassociate them from the cluster instead.",
            ));
        }
        let current = self.active_provider(&name)?;
        if let Some(c) = r.cluster.as_deref() {
            let c = self.cluster_name(Some(c))?;
            if current.cluster.as_deref().is_some_and(|own| own != c) {
                return Err(EngineError::Client(NOT_FOUND.into()));
            }
        }
        self.mutate(|s| {
            let users: Vec<String> = s
                .clusters
                .values()
                .filter(|c| c.status == ClusterStatus::Active)
                .filter(|c| c.capacity_providers.contains(&name))
                .map(|c| c.cluster_name.clone())
                .collect();
            if let Some(cluster) = users.first() {
                return Err(EngineError::Client(format!(
                    "The specified capacity provider is in use by cluster '{cluster}' and cannot be deleted. Remove the capacity provider from the cluster with PutClusterCapacityProviders and try again."
                )));
            }
            let live = s.tasks.values().any(|t| {
                t.status() != TaskStatus::Stopped
                    && t.capacity_provider_name.as_deref() == Some(&name)
            });
            if live {
                return Err(EngineError::Client(
                    "The specified capacity provider is in use by running tasks and cannot be deleted.".into(),
                ));
            }
            if let Some(p) = s.capacity_providers.get_mut(&name) {
                p.status = "INACTIVE".into();
                p.update_status = Some("DELETE_COMPLETE".into());
            }
            Ok(())
        })
        .await??;
        let mut answer = current;
        answer.update_status = Some("DELETE_IN_PROGRESS".into());
        Ok(Reply::Json(
            json!({ "capacityProvider": self.provider_view(&answer, true) }),
        ))
    }

    pub(super) fn describe_capacity_providers(
        &self,
        r: DescribeCapacityProviders,
    ) -> Result<Reply, EngineError> {
        if r.capacity_providers.len() > 100 {
            return Err(invalid(
                "At most 100 capacity providers can be described at once.",
            ));
        }
        let with_tags = r.include.iter().any(|i| i == "TAGS");
        let cluster = r
            .cluster
            .as_deref()
            .map(|c| self.cluster_name(Some(c)))
            .transpose()?;
        let built_in = |name: &str| -> Value {
            json!({
                "capacityProviderArn": self.provider_arn(name),
                "name": name,
                "status": "ACTIVE",
                "type": name,
                "tags": [],
            })
        };
        let state = self.snapshot();
        let in_cluster: Option<Vec<String>> = cluster.as_deref().map(|c| associated(&state, c));
        let listed = |name: &str| {
            in_cluster
                .as_ref()
                .is_none_or(|a| a.iter().any(|n| n == name))
        };
        let mut providers: Vec<(String, Value)> = Vec::new();
        let mut failures = Vec::new();
        if r.capacity_providers.is_empty() {
            for n in FARGATE_PROVIDERS {
                if listed(n) {
                    providers.push((n.to_string(), built_in(n)));
                }
            }
            for p in state.capacity_providers.values() {
                if p.status == "ACTIVE" && listed(&p.name) {
                    providers.push((p.name.clone(), self.provider_view(p, with_tags)));
                }
            }
        } else {
            for reference in &r.capacity_providers {
                let name = arn::short_name(reference);
                let found = if FARGATE_PROVIDERS.contains(&name) {
                    Some(built_in(name))
                } else {
                    state
                        .capacity_providers
                        .get(name)
                        .map(|p| self.provider_view(p, with_tags))
                };
                match found {
                    Some(v) if listed(name) => providers.push((name.to_string(), v)),
                    _ => failures.push(json!({"arn": reference, "reason": "MISSING"})),
                }
            }
        }
        providers.sort_by(|a, b| a.0.cmp(&b.0));
        providers.dedup_by(|a, b| a.0 == b.0);
        let (providers, next) = paginate(providers, &r.page, 10, false)?;
        let v = json!({ "capacityProviders": providers, "failures": failures });
        Ok(paged(Reply::Json(v), next))
    }

    /// PutClusterCapacityProviders: the cluster's whole list and default
    /// strategy; a provider still used by the cluster's live tasks cannot
    /// be removed from it.
    pub(super) async fn put_cluster_capacity_providers(
        &self,
        r: PutClusterCapacityProviders,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(Some(&r.cluster))?;
        let names: Vec<String> = r
            .capacity_providers
            .iter()
            .map(|p| arn::short_name(p).to_string())
            .collect();
        if names.len() > super::cluster_capacity::MAX_PROVIDERS {
            return Err(invalid(format!(
                "A cluster can have a maximum of {} capacity providers.",
                super::cluster_capacity::MAX_PROVIDERS
            )));
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != names.len() {
            return Err(invalid(
                "The list of capacity providers cannot contain duplicates.",
            ));
        }
        let state = self.snapshot();
        for n in &names {
            if !usable(&state, n) {
                return Err(invalid(format!(
                    "The specified capacity provider '{n}' does not exist. Specify a valid capacity provider and try again."
                )));
            }
            if state
                .capacity_providers
                .get(n)
                .is_some_and(|p| p.cluster.as_deref().is_some_and(|c| c != cluster))
            {
                return Err(invalid(format!(
                    "The capacity provider '{n}' is a Managed Instances capacity provider of another cluster."
                )));
            }
        }
        let mut allowed = names.clone();
        allowed.extend(associated(&state, &cluster).into_iter().filter(|n| {
            state
                .capacity_providers
                .get(n)
                .is_some_and(|p| p.cluster.is_some())
        }));
        super::cluster_capacity::check_strategy(&r.default_capacity_provider_strategy, &allowed)?;
        let strategy = r.default_capacity_provider_strategy.clone();
        self.mutate(|s| {
            let Some(c) = s.clusters.get(&cluster) else {
                return Err(EngineError::ClusterNotFound(cluster.clone()));
            };
            let removed: Vec<String> = c
                .capacity_providers
                .iter()
                .filter(|p| !names.contains(p))
                .cloned()
                .collect();
            let in_use = s.tasks.values().any(|t| {
                t.cluster_name() == cluster
                    && t.status() != TaskStatus::Stopped
                    && t.capacity_provider_name
                        .as_ref()
                        .is_some_and(|p| removed.contains(p))
            });
            if in_use {
                return Err(EngineError::ResourceInUse(
                    "The specified capacity provider is in use and cannot be removed.".into(),
                ));
            }
            if let Some(c) = s.clusters.get_mut(&cluster) {
                c.capacity_providers = names.clone();
                c.default_capacity_provider_strategy = strategy
                    .iter()
                    .map(|i| {
                        let mut i = i.clone();
                        i.capacity_provider = arn::short_name(&i.capacity_provider).to_string();
                        i
                    })
                    .collect();
            }
            Ok(())
        })
        .await??;
        self.cluster_view(&cluster)
            .map(Reply::Cluster)
            .ok_or(EngineError::ClusterNotFound(cluster))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_follow_ecs_rules() {
        assert!(check_name("my-provider_1").is_ok());
        for bad in [
            "",
            "awsX",
            "ECSprov",
            "Fargate2",
            "has space",
            &"x".repeat(256),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn asg_defaults_and_limits() {
        let asg = asg_with_defaults(json!({"autoScalingGroupArn": "g"}));
        assert_eq!(asg["managedScaling"]["targetCapacity"], 100);
        assert_eq!(asg["managedTerminationProtection"], "DISABLED");
        assert!(check_asg(&json!({"managedScaling": {"targetCapacity": 0}})).is_err());
        assert!(check_asg(&json!({"managedDraining": "MAYBE"})).is_err());
    }
}
