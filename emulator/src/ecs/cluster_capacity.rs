//! What capacity providers change elsewhere: a cluster's providers and
//! default strategy (CreateCluster, PutClusterCapacityProviders), its
//! Service Connect defaults (CreateCluster, UpdateCluster), and the
//! strategy RunTask places tasks with (the cluster's default when the call
//! names neither a strategy nor a launch type).

use super::command::{EngineError, Reply};
use super::engine::Engine;
use crate::db::State;
use crate::model::capacity_provider::{
    ClusterCapacity, RunTaskCapacity, ServiceConnectDefaults, StrategyItem, FARGATE_PROVIDERS,
};
use crate::model::request;
use crate::model::{arn, Task};

/// ECS's limit on the providers of a strategy (and of a cluster).
pub const MAX_PROVIDERS: usize = 20;

const NOT_ASSOCIATED: &str = "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.";

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidParameter(msg.into())
}

/// Records the provider a task was placed with (and the launch type it
/// stands for: FARGATE for the Fargate providers).
pub(super) fn set_provider(task: &mut Task, provider: &str) {
    task.capacity_provider_name = Some(provider.to_string());
    if FARGATE_PROVIDERS.contains(&provider) {
        task.launch_type = "FARGATE".into();
    }
}

/// Checks a strategy as ECS does, its providers among `associated`.
pub(super) fn check_strategy(
    strategy: &[StrategyItem],
    associated: &[String],
) -> Result<(), EngineError> {
    if strategy.len() > MAX_PROVIDERS {
        return Err(invalid(format!(
            "A capacity provider strategy can contain a maximum of {MAX_PROVIDERS} capacity providers."
        )));
    }
    let mut seen = Vec::new();
    for item in strategy {
        let name = arn::short_name(&item.capacity_provider);
        if !(0..=1000).contains(&item.weight) {
            return Err(invalid(
                "The weight of a capacity provider must be between 0 and 1000.",
            ));
        }
        if !(0..=100_000).contains(&item.base) {
            return Err(invalid(
                "The base of a capacity provider must be between 0 and 100000.",
            ));
        }
        if seen.contains(&name) {
            return Err(invalid(
                "The capacity provider strategy cannot contain duplicate capacity providers.",
            ));
        }
        seen.push(name);
        if !associated.iter().any(|a| a == name) {
            return Err(invalid(NOT_ASSOCIATED));
        }
    }
    if strategy.iter().filter(|i| i.base > 0).count() > 1 {
        return Err(invalid(
            "Only one capacity provider in a capacity provider strategy can have a base defined.",
        ));
    }
    let fargate = seen
        .iter()
        .filter(|n| FARGATE_PROVIDERS.contains(n))
        .count();
    if fargate > 0 && fargate < seen.len() {
        return Err(invalid(
            "The capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.",
        ));
    }
    if !strategy.is_empty() && strategy.iter().all(|i| i.weight == 0) {
        return Err(invalid(
            "At least one capacity provider in a capacity provider strategy must have a weight greater than zero.",
        ));
    }
    Ok(())
}

/// The provider of each of `count` tasks: `base` tasks on the provider
/// with a base, the rest spread by weight.
pub(super) fn spread(strategy: &[StrategyItem], count: usize) -> Vec<String> {
    let name = |i: &StrategyItem| arn::short_name(&i.capacity_provider).to_string();
    let mut out = Vec::new();
    if let Some(b) = strategy.iter().find(|i| i.base > 0) {
        let base = usize::try_from(b.base).unwrap_or(0).min(count);
        out.extend(std::iter::repeat_n(name(b), base));
    }
    // Weighted round robin: each task to the provider furthest below its
    // share.
    let weighted: Vec<&StrategyItem> = strategy.iter().filter(|i| i.weight > 0).collect();
    let total: i64 = weighted.iter().map(|i| i.weight).sum();
    let mut given = vec![0i64; weighted.len()];
    while out.len() < count && total > 0 {
        let n = (out.len() + 1) as i64;
        let pick = (0..weighted.len())
            .max_by(|&a, &b| {
                let need = |k: usize| n * weighted[k].weight - given[k] * total;
                need(a).cmp(&need(b)).then(b.cmp(&a))
            })
            .unwrap_or(0);
        given[pick] += 1;
        out.push(name(weighted[pick]));
    }
    out
}

/// The providers a cluster may use: those associated with it, and the
/// Managed Instances providers created in it.
pub(super) fn associated(state: &State, cluster: &str) -> Vec<String> {
    let mut names: Vec<String> = state
        .clusters
        .get(cluster)
        .map(|c| c.capacity_providers.clone())
        .unwrap_or_default();
    names.extend(
        state
            .capacity_providers
            .values()
            .filter(|p| p.status == "ACTIVE" && p.cluster.as_deref() == Some(cluster))
            .map(|p| p.name.clone()),
    );
    names
}

/// Whether `name` is a provider that can be associated with a cluster
/// now: a built-in one, or an ACTIVE one created by CreateCapacityProvider.
pub(super) fn usable(state: &State, name: &str) -> bool {
    FARGATE_PROVIDERS.contains(&name)
        || state
            .capacity_providers
            .get(name)
            .is_some_and(|p| p.status == "ACTIVE")
}

/// The ARN of a Cloud Map namespace named by name or ARN (the emulator
/// keeps no Cloud Map: a name stands for the HTTP namespace ECS would
/// make, its id derived from the name).
pub(super) fn namespace_arn(engine: &Engine, namespace: &str) -> String {
    if namespace.starts_with("arn:") {
        return namespace.to_string();
    }
    // FNV-1a: stable across runs and builds.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in namespace.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let p = &engine.config().partition;
    format!(
        "arn:aws:servicediscovery:{}:{}:namespace/ns-{h:016x}",
        p.region, p.account
    )
}

impl Engine {
    /// Checks a service's capacity provider strategy against its cluster,
    /// as CreateService and UpdateService do in ECS.
    pub fn check_capacity_provider_strategy(
        &self,
        cluster: &str,
        strategy: &[StrategyItem],
    ) -> Result<(), EngineError> {
        let cluster = self.cluster_name(Some(cluster))?;
        let associated = self.read(|s| associated(s, &cluster));
        check_strategy(strategy, &associated)
    }

    /// Checks a cluster's providers and default strategy.
    fn check_cluster_capacity(
        &self,
        providers: &[String],
        strategy: &[StrategyItem],
    ) -> Result<(), EngineError> {
        if providers.len() > MAX_PROVIDERS {
            return Err(invalid(format!(
                "A cluster can have a maximum of {MAX_PROVIDERS} capacity providers."
            )));
        }
        let names: Vec<String> = providers
            .iter()
            .map(|p| arn::short_name(p).to_string())
            .collect();
        for n in &names {
            if !self.read(|s| usable(s, n)) {
                return Err(invalid(format!(
                    "The specified capacity provider '{n}' does not exist. Specify a valid capacity provider and try again."
                )));
            }
        }
        check_strategy(strategy, &names)
    }

    pub(super) async fn create_cluster_with(
        &self,
        r: request::CreateCluster,
        c: ClusterCapacity,
    ) -> Result<Reply, EngineError> {
        let providers = c.capacity_providers.clone().unwrap_or_default();
        let strategy = c
            .default_capacity_provider_strategy
            .clone()
            .unwrap_or_default();
        self.check_cluster_capacity(&providers, &strategy)?;
        let scd = self.service_connect_defaults(&c)?;
        let reply = self.create_cluster(r).await?;
        let Reply::Cluster(cluster) = reply else {
            return Ok(reply);
        };
        if c.capacity_providers.is_none()
            && c.default_capacity_provider_strategy.is_none()
            && scd.is_none()
        {
            return Ok(Reply::Cluster(cluster));
        }
        let name = cluster.cluster_name.clone();
        self.mutate(|s| {
            if let Some(cl) = s.clusters.get_mut(&name) {
                if c.capacity_providers.is_some() {
                    cl.capacity_providers = providers
                        .iter()
                        .map(|p| arn::short_name(p).to_string())
                        .collect();
                }
                if c.default_capacity_provider_strategy.is_some() {
                    cl.default_capacity_provider_strategy = strategy.clone();
                }
                if scd.is_some() {
                    cl.service_connect_defaults = scd;
                }
            }
        })
        .await?;
        self.cluster_view(&name)
            .map(Reply::Cluster)
            .ok_or(EngineError::ClusterNotFound(name))
    }

    fn service_connect_defaults(
        &self,
        c: &ClusterCapacity,
    ) -> Result<Option<ServiceConnectDefaults>, EngineError> {
        let Some(d) = &c.service_connect_defaults else {
            return Ok(None);
        };
        let ns = d.namespace.trim();
        if ns.is_empty() || ns.len() > 1024 {
            return Err(invalid(
                "serviceConnectDefaults.namespace must name a Cloud Map namespace.",
            ));
        }
        Ok(Some(ServiceConnectDefaults {
            namespace: namespace_arn(self, ns),
        }))
    }

    pub(super) async fn update_cluster_with(
        &self,
        r: request::UpdateCluster,
        c: ClusterCapacity,
    ) -> Result<Reply, EngineError> {
        let scd = self.service_connect_defaults(&c)?;
        let name = self.cluster_name(Some(&r.cluster))?;
        let reply = self.update_cluster(r).await?;
        if scd.is_none() {
            return Ok(reply);
        }
        self.mutate(|s| {
            if let Some(cl) = s.clusters.get_mut(&name) {
                cl.service_connect_defaults = scd;
            }
        })
        .await?;
        self.cluster_view(&name)
            .map(Reply::Cluster)
            .ok_or(EngineError::ClusterNotFound(name))
    }

    /// RunTask: a strategy names providers associated with the cluster;
    /// with neither a strategy nor a launch type, the cluster's default
    /// strategy applies (none: the EC2 launch type, as before).
    pub(super) async fn run_task_with(
        &self,
        r: request::RunTask,
        c: RunTaskCapacity,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let given = c.capacity_provider_strategy.unwrap_or_default();
        if !given.is_empty() && r.launch_type.is_some() {
            return Err(invalid(
                "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
            ));
        }
        let (associated, default) = self.read(|s| {
            (
                associated(s, &cluster),
                s.clusters
                    .get(&cluster)
                    .map(|c| c.default_capacity_provider_strategy.clone())
                    .unwrap_or_default(),
            )
        });
        check_strategy(&given, &associated)?;
        let strategy = if !given.is_empty() {
            given
        } else if r.launch_type.is_none() {
            default
        } else {
            vec![]
        };
        let count = usize::try_from(r.count.unwrap_or(1).clamp(0, 10)).unwrap_or(1);
        let providers = spread(&strategy, count);
        self.run_task(r, providers).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, weight: i64, base: i64) -> StrategyItem {
        StrategyItem {
            capacity_provider: name.into(),
            weight,
            base,
        }
    }

    #[test]
    fn tasks_spread_by_base_then_weight() {
        let s = [item("a", 1, 2), item("b", 3, 0)];
        let got = spread(&s, 6);
        assert_eq!(&got[..2], ["a", "a"]);
        let b = got[2..].iter().filter(|n| *n == "b").count();
        assert_eq!(b, 3, "{got:?}");
        assert!(spread(&[], 3).is_empty());
    }

    #[test]
    fn strategies_are_checked_as_ecs_does() {
        let assoc = vec!["a".to_string(), "b".to_string(), "FARGATE".to_string()];
        assert!(check_strategy(&[item("a", 1, 0)], &assoc).is_ok());
        let e = check_strategy(&[item("zzz", 1, 0)], &assoc).unwrap_err();
        assert!(e.to_string().contains("not associated with the cluster"));
        assert!(check_strategy(&[item("a", 1, 1), item("b", 1, 1)], &assoc).is_err());
        assert!(check_strategy(&[item("a", 1, 0), item("FARGATE", 1, 0)], &assoc).is_err());
        assert!(check_strategy(&[item("a", 1001, 0)], &assoc).is_err());
        assert!(check_strategy(&[item("a", 0, 0)], &assoc).is_err());
        assert!(check_strategy(&[item("a", 1, 0), item("a", 1, 0)], &assoc).is_err());
    }
}
