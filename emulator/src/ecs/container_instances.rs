//! Container instances: RegisterContainerInstance, ListContainerInstances,
//! DescribeContainerInstances, and the resources tasks hold on them.

use crate::model::InstanceStatus;
use std::collections::BTreeMap;

use super::command::{EngineError, Reply};
use super::engine::Engine;
use super::placement::InstanceLoad;
use crate::db::State;
use crate::model::arn::{self};
use crate::model::container_instance::{
    instance_type_resources, AZ_ATTRIBUTE, DOCKER_HOST_ATTRIBUTE, DOCKER_TLS_ATTRIBUTE,
    INSTANCE_TYPE_ATTRIBUTE,
};
use crate::model::request;
use crate::model::{now_epoch, Attribute, ContainerInstance, Failure, Resource, TaskStatus};

impl Engine {
    pub(super) async fn register_container_instance(
        &self,
        r: request::RegisterContainerInstance,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        // The agent's identity document names the zone, type and id.
        let doc: serde_json::Value = r
            .instance_identity_document
            .as_deref()
            .map(|d| {
                serde_json::from_str(d).map_err(|e| {
                    EngineError::InvalidParameter(format!(
                        "instanceIdentityDocument is not valid JSON: {e}"
                    ))
                })
            })
            .transpose()?
            .unwrap_or_default();
        let from_doc = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let attribute = |name: &str| {
            r.attributes
                .iter()
                .find(|a| a.name == name)
                .and_then(|a| a.value.clone())
        };
        // Another engine: it must answer now, and says what it has.
        let docker_host = attribute(DOCKER_HOST_ATTRIBUTE);
        let engine_has = match &docker_host {
            Some(endpoint) => Some(
                self.connect_engine(endpoint, attribute(DOCKER_TLS_ATTRIBUTE).as_deref())
                    .await?,
            ),
            None => None,
        };
        let named_type = r.instance_type.clone().or_else(|| from_doc("instanceType"));
        let instance_type = named_type.clone().unwrap_or_else(|| "t2.small".into());
        let (mut cpu, mut mem) = match (instance_type_resources(&instance_type), engine_has) {
            (Some(x), _) if named_type.is_some() || engine_has.is_none() => {
                (i64::from(x.0), i64::from(x.1))
            }
            (_, Some((cpus, mib))) => (i64::from(cpus) * 1024, mib as i64),
            (None, None) if !r.total_resources.is_empty() => (0, 0),
            _ => {
                return Err(EngineError::InvalidParameter(format!(
                    "Unknown instance type '{instance_type}'; give totalResources (CPU, MEMORY) instead."
                )))
            }
        };
        for res in &r.total_resources {
            match res.name.as_str() {
                "CPU" => cpu = res.integer_value,
                "MEMORY" => mem = res.integer_value,
                _ => {}
            }
        }
        if cpu <= 0 || mem <= 0 {
            return Err(EngineError::InvalidParameter(
                "A container instance needs positive CPU and MEMORY resources.".into(),
            ));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let az = r
            .availability_zone
            .clone()
            .or_else(|| from_doc("availabilityZone"))
            .unwrap_or_else(|| format!("{}a", self.inner.config.partition.region));
        let ec2_instance_id = from_doc("instanceId")
            .filter(|i| i.starts_with("i-"))
            .unwrap_or_else(|| format!("i-{}", &id[..17]));
        let mut attributes = vec![
            Attribute {
                name: AZ_ATTRIBUTE.into(),
                value: Some(az),
            },
            Attribute {
                name: INSTANCE_TYPE_ATTRIBUTE.into(),
                value: Some(instance_type.clone()),
            },
            Attribute {
                name: "ecs.os-type".into(),
                value: Some("linux".into()),
            },
        ];
        if named_type.is_none() && engine_has.is_some() {
            // An engine's own resources: no EC2 instance type.
            attributes.retain(|x| x.name != INSTANCE_TYPE_ATTRIBUTE);
        }
        for a in r.attributes {
            attributes.retain(|x| x.name != a.name);
            attributes.push(a);
        }
        let instance = ContainerInstance {
            container_instance_arn: self
                .inner
                .config
                .partition
                .container_instance(&cluster, &id),
            ec2_instance_id,
            status: InstanceStatus::Active,
            agent_connected: true,
            registered_resources: vec![
                Resource::integer("CPU", cpu),
                Resource::integer("MEMORY", mem),
            ],
            remaining_resources: vec![],
            attributes,
            running_tasks_count: 0,
            pending_tasks_count: 0,
            registered_at: now_epoch(),
            version_info: r.version_info,
            agent_update_status: None,
        };
        let arn = instance.container_instance_arn.clone();
        self.mutate(|s| s.container_instances.insert(arn.clone(), instance))
            .await?;
        if docker_host.is_some() {
            self.watch(docker_host);
        }
        self.instance_view(&arn)
            .map(Reply::ContainerInstance)
            .ok_or_else(|| EngineError::Client("The container instance was removed.".into()))
    }

    /// Connects to another engine for a new instance: its CPUs and MiB.
    async fn connect_engine(
        &self,
        endpoint: &str,
        tls_dir: Option<&str>,
    ) -> Result<(u32, u64), EngineError> {
        if let Some(dir) = tls_dir {
            self.inner
                .fleet
                .use_tls(endpoint, std::path::Path::new(dir));
        }
        let member =
            self.inner.fleet.member(Some(endpoint)).map_err(|e| {
                EngineError::InvalidParameter(format!("{DOCKER_HOST_ATTRIBUTE}: {e}"))
            })?;
        let answer =
            tokio::time::timeout(std::time::Duration::from_secs(10), member.runtime.info()).await;
        match answer {
            Ok(Ok(info)) => Ok((info.cpus.max(1), info.memory_mib.max(1))),
            Ok(Err(e)) => Err(EngineError::Client(format!(
                "The Docker engine at {endpoint} does not answer: {e}"
            ))),
            Err(_) => Err(EngineError::Client(format!(
                "The Docker engine at {endpoint} does not answer within 10 s."
            ))),
        }
    }

    /// An instance with its remaining resources and task counts derived
    /// from the tasks placed on it.
    pub(super) fn instance_view(&self, arn: &str) -> Option<ContainerInstance> {
        let state = self.snapshot();
        let mut i = state.container_instances.get(arn)?.clone();
        let (cpu, mem) = i.capacity();
        let (used_cpu, used_mem) = used_resources(&state, arn);
        i.remaining_resources = vec![
            Resource::integer("CPU", cpu - used_cpu),
            Resource::integer("MEMORY", mem - used_mem),
        ];
        let tasks = || {
            state
                .tasks
                .values()
                .filter(|t| t.container_instance_arn == arn)
        };
        i.running_tasks_count = tasks()
            .filter(|t| t.status() == TaskStatus::Running)
            .count() as u32;
        i.pending_tasks_count = tasks().filter(|t| t.status() < TaskStatus::Running).count() as u32;
        Some(i)
    }

    pub(super) fn list_container_instances(
        &self,
        r: request::ListContainerInstances,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let state = self.snapshot();
        let arns: Vec<String> = state
            .container_instances
            .values()
            .filter(|i| i.cluster_name() == cluster)
            .filter(|i| r.status.as_deref().is_none_or(|s| s == i.status.as_str()))
            .map(|i| i.container_instance_arn.clone())
            .collect();
        let (arns, next) = super::tags::paginate_arns(arns, &r.page, 100)?;
        Ok(super::tags::paged(Reply::ContainerInstanceArns(arns), next))
    }

    /// DeregisterContainerInstance: the instance goes (INACTIVE in the
    /// answer); with tasks still on it only when `force`, and those tasks
    /// are then stopped, having no host left.
    pub(super) async fn deregister_container_instance(
        &self,
        r: request::DeregisterContainerInstance,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let arn = self
            .inner
            .config
            .partition
            .container_instance(&cluster, arn::short_name(&r.container_instance));
        let Some(mut view) = self.instance_view(&arn) else {
            return Err(EngineError::InvalidParameter(format!(
                "Container instance {} not found.",
                r.container_instance
            )));
        };
        let live: Vec<String> = self.read(|s| {
            s.tasks
                .values()
                .filter(|t| t.container_instance_arn == arn && t.status() != TaskStatus::Stopped)
                .map(|t| t.task_arn.clone())
                .collect()
        });
        if !live.is_empty() && !r.force {
            return Err(EngineError::InvalidParameter(
                "The specified container instance has tasks; stop them first or use force.".into(),
            ));
        }
        self.mutate(|s| {
            s.container_instances.remove(&arn);
            s.tags.remove(&arn);
        })
        .await?;
        for t in live {
            self.request_stop(
                &t,
                "Container instance deregistered",
                crate::model::StopCode::UserInitiated,
            )
            .await?;
        }
        view.status = InstanceStatus::Inactive;
        Ok(Reply::ContainerInstance(view))
    }

    pub(super) fn describe_container_instances(
        &self,
        r: request::DescribeContainerInstances,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if r.container_instances.is_empty() {
            return Err(EngineError::InvalidParameter(
                "containerInstances can not be empty.".into(),
            ));
        }
        let mut instances = Vec::new();
        let mut failures = Vec::new();
        for ci in r.container_instances {
            let id = arn::short_name(&ci);
            let arn = self.inner.config.partition.container_instance(&cluster, id);
            match self.instance_view(&arn) {
                Some(i) => instances.push(i),
                None => failures.push(Failure {
                    arn: Some(ci.clone()),
                    reason: "MISSING".into(),
                    detail: None,
                }),
            }
        }
        Ok(Reply::ContainerInstances {
            instances,
            failures,
        })
    }

    /// What placement weighs, for every instance of the cluster whose
    /// agent is connected (ECS places nothing on the others).
    pub(super) fn loads(&self, state: &State, cluster: &str) -> Vec<InstanceLoad> {
        state
            .container_instances
            .values()
            .filter(|i| i.cluster_name() == cluster && i.agent_connected)
            .map(|i| {
                let (cpu_total, mem_total) = i.capacity();
                let (cpu_used, mem_used) = used_resources(state, &i.container_instance_arn);
                InstanceLoad {
                    arn: i.container_instance_arn.clone(),
                    status: i.status,
                    attributes: i
                        .attributes
                        .iter()
                        .filter_map(|a| a.value.clone().map(|v| (a.name.clone(), v)))
                        .collect::<BTreeMap<_, _>>(),
                    cpu_total,
                    mem_total,
                    cpu_used,
                    mem_used,
                    task_groups: state
                        .tasks
                        .values()
                        .filter(|t| {
                            t.container_instance_arn == i.container_instance_arn
                                && t.status().holds_resources()
                        })
                        .map(|t| t.group.clone().unwrap_or_default())
                        .collect(),
                    ports_used: used_ports(state, i.docker_host()),
                }
            })
            .collect()
    }
}

/// Fixed host ports taken on an engine by tasks that hold resources.
/// Instances of one engine share its ports (a port one instance's task
/// publishes is taken on all of them); ECS counts per instance, which is
/// the same when each instance is an engine of its own.
pub(super) fn used_ports(state: &State, docker_host: Option<&str>) -> Vec<u16> {
    state
        .tasks
        .values()
        .filter(|t| t.status().holds_resources() && t.docker_host.as_deref() == docker_host)
        .filter_map(|t| {
            let (family, revision) = crate::model::arn::task_definition_ref(&t.task_definition_arn);
            state.task_definition(&family, revision?)
        })
        .flat_map(|td| td.fixed_host_ports())
        .collect()
}

/// CPU units and MiB reserved on an instance by tasks that hold resources.
pub(super) fn used_resources(state: &State, instance_arn: &str) -> (i64, i64) {
    state
        .tasks
        .values()
        .filter(|t| t.container_instance_arn == instance_arn && t.status().holds_resources())
        .fold((0, 0), |(c, m), t| {
            (
                c + t.cpu.parse::<i64>().unwrap_or(0),
                m + t.memory.parse::<i64>().unwrap_or(0),
            )
        })
}
