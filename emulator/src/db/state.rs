//! The state every service keeps: one persistent ordered map per resource
//! type ([`imbl::OrdMap`]), so a snapshot is an O(1) clone that readers
//! hold while writers go on, and the change a write made is found by
//! [`State::changes_since`] without visiting what two snapshots share.
//!
//! Each map is a *collection* with a stable name; the journal records
//! `(collection, key, value | deleted)` triples (see [`super::journal`]).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::model::autoscaling::{
    ScalableTarget, ScalingActivity, ScalingPolicy, ScheduledActionRecord,
};
use crate::model::elb::{Listener, LoadBalancer, Rule, TargetGroup};
use crate::model::logs::LogGroup;
use crate::model::secrets::{Parameter, SecretEntry};
use crate::model::service::Service;
use crate::model::{Cluster, ContainerInstance, Task, TaskDefinition};

/// A persistent map by string key (ARN, name, ...).
pub type Map<V> = imbl::OrdMap<String, V>;

/// The layout version of the snapshot and journal; bumped when a change is
/// not readable by an older emulator.
pub const FORMAT: u32 = 2;

/// Everything the emulator must not forget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct State {
    /// By cluster name.
    pub clusters: Map<Cluster>,
    /// By ARN.
    pub container_instances: Map<ContainerInstance>,
    /// By [`td_key`] (family, then revision in order).
    pub task_definitions: Map<TaskDefinition>,
    /// By ARN.
    pub tasks: Map<Task>,
    /// ECS services, by ARN.
    pub services: Map<Service>,
    /// ECS service deployments (with the revision each made), by ARN.
    pub service_deployments: Map<crate::model::service_deployment::ServiceDeployment>,
    /// Load balancers, target groups, listeners and rules (ELBv2).
    pub elb: ElbState,
    /// Application Auto Scaling targets, policies and activities.
    pub autoscaling: AutoScalingState,
    /// SSM parameters and Secrets Manager secrets.
    pub secrets: SecretsState,
    /// CloudWatch Logs groups made by CreateLogGroup, by name.
    pub log_groups: Map<LogGroup>,
    /// CloudWatch Logs resource policies, by policy name (or resource ARN).
    pub log_resource_policies: Map<crate::model::logs::LogResourcePolicy>,
    /// Every service's resource tags, by resource ARN (key -> value).
    pub tags: Map<TagSet>,
    /// ECS account settings, by `principal ARN|name`.
    pub account_settings: Map<crate::model::account::AccountSetting>,
    /// EC2 security groups (data only), by group id.
    pub security_groups: Map<crate::model::ec2::SecurityGroup>,
    /// ECS capacity providers made by CreateCapacityProvider, by name.
    pub capacity_providers: Map<crate::model::capacity_provider::CapacityProvider>,
    /// ECR repositories, by name (their images live in the registry).
    pub ecr_repositories: Map<crate::model::ecr::Repository>,
}

/// A resource's tags: key -> value (AWS keys are unique per resource).
pub type TagSet = std::collections::BTreeMap<String, String>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ElbState {
    pub load_balancers: Map<LoadBalancer>,
    pub target_groups: Map<TargetGroup>,
    pub listeners: Map<Listener>,
    /// Non-default rules (a listener's default rule is its default actions).
    pub rules: Map<Rule>,
    pub trust_stores: Map<crate::model::elb::tls::TrustStore>,
}

impl ElbState {
    /// The non-default rules of one listener.
    pub fn listener_rules(&self, listener_arn: &str) -> Vec<Rule> {
        self.rules
            .values()
            .filter(|r| r.listener_arn == listener_arn)
            .cloned()
            .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutoScalingState {
    /// By resource id (`service/<cluster>/<service>`).
    pub targets: Map<ScalableTarget>,
    /// By policy ARN.
    pub policies: Map<ScalingPolicy>,
    /// By [`activity_key`]: oldest first, so `.values().rev()` is newest
    /// first as DescribeScalingActivities lists them.
    pub activities: Map<ScalingActivity>,
    /// By [`crate::model::autoscaling::scheduled_action_key`].
    pub scheduled_actions: Map<ScheduledActionRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecretsState {
    pub parameters: Map<Parameter>,
    pub secrets: Map<SecretEntry>,
    /// SSM service settings changed from their defaults, by setting id.
    pub service_settings: Map<crate::model::secrets::ServiceSetting>,
    /// SSM documents, by name.
    pub documents: Map<crate::model::secrets::Document>,
}

/// The key of a task definition revision: the family, then the revision
/// zero-padded so the map orders revisions numerically.
pub fn td_key(family: &str, revision: u32) -> String {
    format!("{family}:{revision:010}")
}

/// The key of a scaling activity: start time first, so keys sort by age.
pub fn activity_key(a: &ScalingActivity) -> String {
    format!(
        "{:016x}-{}",
        (a.start_time * 1e6).max(0.0) as u64,
        a.activity_id
    )
}

impl State {
    /// The revisions of one family, oldest first.
    pub fn revisions<'a>(
        &'a self,
        family: &str,
    ) -> impl DoubleEndedIterator<Item = &'a TaskDefinition> {
        let lo = format!("{family}:");
        let hi = format!("{family};");
        self.task_definitions.range(lo..hi).map(|(_, v)| v)
    }

    /// One revision of a family.
    pub fn task_definition(&self, family: &str, revision: u32) -> Option<&TaskDefinition> {
        self.task_definitions.get(&td_key(family, revision))
    }

    /// The newest revision of a family (ACTIVE or not).
    pub fn latest_revision(&self, family: &str) -> Option<&TaskDefinition> {
        self.revisions(family).next_back()
    }
}

impl State {
    /// Adds (or overwrites) tags of a resource.
    pub fn tag(&mut self, arn: &str, tags: impl IntoIterator<Item = (String, String)>) {
        let mut set = self.tags.get(arn).cloned().unwrap_or_default();
        set.extend(tags);
        if !set.is_empty() {
            self.tags.insert(arn.to_string(), set);
        }
    }

    /// Removes tags of a resource by key.
    pub fn untag(&mut self, arn: &str, keys: &[String]) {
        if let Some(set) = self.tags.get_mut(arn) {
            set.retain(|k, _| !keys.contains(k));
            if set.is_empty() {
                self.tags.remove(arn);
            }
        }
    }

    /// The tags of a resource (empty when none).
    pub fn tags_of(&self, arn: &str) -> TagSet {
        self.tags.get(arn).cloned().unwrap_or_default()
    }
}

/// Removes the entries `keep` says no to (imbl maps have no `retain`).
pub fn retain<V: Clone>(map: &mut Map<V>, mut keep: impl FnMut(&String, &V) -> bool) {
    let gone: Vec<String> = map
        .iter()
        .filter(|(k, v)| !keep(k, v))
        .map(|(k, _)| k.clone())
        .collect();
    for k in gone {
        map.remove(&k);
    }
}

/// One changed record: its collection, key and new value (`None`: removed).
#[derive(Debug, Serialize, Deserialize)]
pub struct Change(pub String, pub String, pub Option<Box<RawValue>>);

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("unknown collection {0:?}")]
    UnknownCollection(String),
    #[error("record {collection}/{key}: {source}")]
    Record {
        collection: String,
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

macro_rules! collections {
    ($($name:literal => $($field:ident).+ : $ty:ty),* $(,)?) => {
        /// The collections by name, in journal order.
        pub const COLLECTIONS: &[&str] = &[$($name),*];

        impl State {
            /// What changed from `old` to `self`, ready for the journal.
            /// Maps a write did not touch are skipped in O(1), touched ones
            /// cost only their unshared nodes.
            pub fn changes_since(&self, old: &State) -> Vec<Change> {
                let mut out = Vec::new();
                $(
                    for item in old.$($field).+.diff(&self.$($field).+) {
                        let (k, v) = match item {
                            imbl::ordmap::DiffItem::Add(k, v) => (k, Some(v)),
                            imbl::ordmap::DiffItem::Update { new: (k, v), .. } => (k, Some(v)),
                            imbl::ordmap::DiffItem::Remove(k, _) => (k, None),
                        };
                        let raw = v.map(|v| {
                            serde_json::value::to_raw_value(v).expect("state records serialize")
                        });
                        out.push(Change($name.to_string(), k.clone(), raw));
                    }
                )*
                out
            }

            /// Applies one journal record.
            pub fn apply(&mut self, change: Change) -> Result<(), ApplyError> {
                let Change(collection, key, value) = change;
                match collection.as_str() {
                    $(
                        $name => match value {
                            Some(raw) => {
                                let v: $ty = serde_json::from_str(raw.get()).map_err(|source| {
                                    ApplyError::Record { collection: collection.clone(), key: key.clone(), source }
                                })?;
                                self.$($field).+.insert(key, v);
                            }
                            None => {
                                self.$($field).+.remove(&key);
                            }
                        },
                    )*
                    _ => return Err(ApplyError::UnknownCollection(collection)),
                }
                Ok(())
            }

            /// How many records the state holds.
            pub fn records(&self) -> usize {
                0 $(+ self.$($field).+.len())*
            }
        }
    };
}

collections! {
    "clusters" => clusters: Cluster,
    "containerInstances" => container_instances: ContainerInstance,
    "taskDefinitions" => task_definitions: TaskDefinition,
    "tasks" => tasks: Task,
    "services" => services: Service,
    "serviceDeployments" => service_deployments: crate::model::service_deployment::ServiceDeployment,
    "loadBalancers" => elb.load_balancers: LoadBalancer,
    "targetGroups" => elb.target_groups: TargetGroup,
    "listeners" => elb.listeners: Listener,
    "rules" => elb.rules: Rule,
    "trustStores" => elb.trust_stores: crate::model::elb::tls::TrustStore,
    "scalableTargets" => autoscaling.targets: ScalableTarget,
    "scalingPolicies" => autoscaling.policies: ScalingPolicy,
    "scalingActivities" => autoscaling.activities: ScalingActivity,
    "scheduledActions" => autoscaling.scheduled_actions: ScheduledActionRecord,
    "parameters" => secrets.parameters: Parameter,
    "secrets" => secrets.secrets: SecretEntry,
    "ssmServiceSettings" => secrets.service_settings: crate::model::secrets::ServiceSetting,
    "ssmDocuments" => secrets.documents: crate::model::secrets::Document,
    "logGroups" => log_groups: LogGroup,
    "logResourcePolicies" => log_resource_policies: crate::model::logs::LogResourcePolicy,
    "tags" => tags: TagSet,
    "accountSettings" => account_settings: crate::model::account::AccountSetting,
    "securityGroups" => security_groups: crate::model::ec2::SecurityGroup,
    "capacityProviders" => capacity_providers: crate::model::capacity_provider::CapacityProvider,
    "ecrRepositories" => ecr_repositories: crate::model::ecr::Repository,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(name: &str, status: &str) -> Cluster {
        Cluster {
            cluster_name: name.into(),
            status: crate::model::ClusterStatus::parse(status).unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn changes_name_only_what_a_write_touched_and_replay() {
        let mut a = State::default();
        for i in 0..200 {
            a.clusters
                .insert(format!("c{i}"), cluster(&format!("c{i}"), "ACTIVE"));
        }
        let mut b = a.clone();
        assert!(b.changes_since(&a).is_empty());
        // Touching a record without changing it is no change.
        if let Some(c) = b.clusters.get_mut("c5") {
            c.status = crate::model::ClusterStatus::Active;
        }
        assert!(b.changes_since(&a).is_empty());
        b.clusters.get_mut("c7").unwrap().status = crate::model::ClusterStatus::Inactive;
        b.clusters.remove("c9");
        b.log_groups.insert(
            "/ecs/x".into(),
            LogGroup {
                log_group_name: "/ecs/x".into(),
                ..Default::default()
            },
        );
        let changes = b.changes_since(&a);
        let names: Vec<(&str, &str, bool)> = changes
            .iter()
            .map(|c| (c.0.as_str(), c.1.as_str(), c.2.is_some()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("clusters", "c7", true),
                ("clusters", "c9", false),
                ("logGroups", "/ecs/x", true)
            ]
        );
        let mut replayed = a.clone();
        for c in changes {
            replayed.apply(c).unwrap();
        }
        assert_eq!(replayed, b);
        assert!(matches!(
            replayed.apply(Change("nope".into(), "k".into(), None)),
            Err(ApplyError::UnknownCollection(_))
        ));
    }

    #[test]
    fn revisions_of_a_family_come_in_numeric_order() {
        let mut s = State::default();
        for (family, rev) in [("node", 10), ("node", 2), ("node-x", 1), ("no", 3)] {
            s.task_definitions.insert(
                td_key(family, rev),
                TaskDefinition {
                    family: family.into(),
                    revision: Some(rev),
                    ..Default::default()
                },
            );
        }
        let revs: Vec<u32> = s.revisions("node").filter_map(|t| t.revision).collect();
        assert_eq!(revs, vec![2, 10]);
        assert_eq!(s.latest_revision("node").unwrap().revision, Some(10));
        assert!(s.task_definition("node", 2).is_some());
        assert!(s.latest_revision("nod").is_none());
    }
}
