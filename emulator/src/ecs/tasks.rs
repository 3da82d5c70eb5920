//! Tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks.

use super::command::{EngineError, Reply};
#[allow(unused_imports)]
use super::container_instances::used_resources;
use super::engine::Engine;
use super::placement::{self, Constraint, InstanceLoad};
use crate::model::arn::{self};
use crate::model::request;
use crate::model::task::{Container, StopCode};
use crate::model::{now_epoch, ContainerInstance, Failure, Task, TaskDefinition, TaskStatus};

impl Engine {
    pub(super) fn new_task(
        &self,
        cluster: &str,
        td: &TaskDefinition,
        instance: &ContainerInstance,
        started_by: Option<String>,
        group: String,
        overrides: Option<serde_json::Value>,
    ) -> Task {
        let p = &self.inner.config.partition;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let task_arn = p.task(cluster, &id);
        let (cpu, mem) = td.reservation();
        Task {
            task_arn: task_arn.clone(),
            cluster_arn: p.cluster(cluster),
            task_definition_arn: td.task_definition_arn.clone().unwrap_or_default(),
            container_instance_arn: instance.container_instance_arn.clone(),
            // EC2 tasks in bridge mode begin at PENDING, as ECS's do
            // (PROVISIONING is the ENI step of awsvpc and Fargate tasks).
            last_status: Some(TaskStatus::Pending),
            desired_status: Some(TaskStatus::Running),
            cpu: cpu.to_string(),
            memory: mem.to_string(),
            containers: td
                .container_definitions
                .iter()
                .map(|c| Container {
                    container_arn: p.container(cluster, &id, &c.name),
                    task_arn: task_arn.clone(),
                    name: c.name.clone(),
                    image: c.image.clone(),
                    last_status: "PENDING".into(),
                    health_status: "UNKNOWN".into(),
                    cpu: c.cpu.unwrap_or(0).to_string(),
                    memory: c.memory.map(|m| m.to_string()),
                    memory_reservation: c.memory_reservation.map(|m| m.to_string()),
                    essential: c.is_essential(),
                    ..Default::default()
                })
                .collect(),
            started_by,
            group: Some(group),
            launch_type: "EC2".into(),
            availability_zone: instance.availability_zone().to_string(),
            docker_host: instance.docker_host().map(str::to_string),
            created_at: now_epoch(),
            health_status: "UNKNOWN".into(),
            version: 1,
            overrides,
            ..Default::default()
        }
    }

    /// RunTask; `providers` names the capacity provider of each task in
    /// turn (empty: none, the launch type).
    pub(super) async fn run_task(
        &self,
        r: request::RunTask,
        providers: Vec<String>,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let count = r.count.unwrap_or(1);
        if !(1..=10).contains(&count) {
            return Err(EngineError::InvalidParameter(
                "count must be between 1 and 10.".into(),
            ));
        }
        if let Some(lt) = r.launch_type.as_deref() {
            if lt != "EC2" && lt != "EXTERNAL" {
                return Err(EngineError::InvalidParameter(format!(
                    "Launch type '{lt}' is not supported by this emulator (EC2 only)."
                )));
            }
        }
        super::tags::validate_tags(&r.tags)?;
        if let Some(p) = r.propagate_tags.as_deref() {
            if !["TASK_DEFINITION", "SERVICE", "NONE"].contains(&p) {
                return Err(EngineError::InvalidParameter(format!(
                    "Invalid propagateTags '{p}' (expected TASK_DEFINITION, SERVICE or NONE)."
                )));
            }
        }
        let strategies = placement::Strategy::parse_all(&r.placement_strategy)
            .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        if let Some(sb) = &r.started_by {
            if sb.len() > 128 {
                return Err(EngineError::InvalidParameter(
                    "startedBy must be at most 128 characters.".into(),
                ));
            }
        }
        for c in &r.placement_constraints {
            Constraint::parse(&c.kind, c.expression.as_deref())
                .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        }
        let td = self.resolve_task_definition(&r.task_definition, false)?;
        let constraints = td
            .placement_constraints
            .iter()
            .chain(r.placement_constraints.iter())
            .map(|c| Constraint::parse(&c.kind, c.expression.as_deref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        let group = r
            .group
            .clone()
            .unwrap_or_else(|| format!("family:{}", td.family));
        let (cpu, memory) = td.reservation();
        let req = placement::Request {
            cpu: i64::from(cpu),
            memory: i64::from(memory),
            group: group.clone(),
            constraints,
            strategies,
            ports: td.fixed_host_ports(),
        };
        let (tasks, failures) = self
            .mutate(|state| {
                let mut tasks = Vec::new();
                let mut failures = Vec::new();
                for i in 0..count {
                    let loads = self.loads(state, &cluster);
                    match placement::place(&req, &loads) {
                        Ok(arn) => {
                            let inst = state.container_instances[&arn].clone();
                            let mut task = self.new_task(
                                &cluster,
                                &td,
                                &inst,
                                r.started_by.clone(),
                                group.clone(),
                                r.overrides.clone(),
                            );
                            if let Some(p) = usize::try_from(i).ok().and_then(|i| providers.get(i)) {
                                super::cluster_capacity::set_provider(&mut task, p);
                            }
                            state.tasks.insert(task.task_arn.clone(), task.clone());
                            run_task_tags(state, &task, &td, &r, &cluster);
                            tasks.push(task);
                        }
                        Err(u) => {
                            tracing::info!(family = %td.family, reason = %u.reason, "task not placed: {}", u.detail);
                            failures.push(Failure {
                                arn: u.arn,
                                reason: u.reason,
                                detail: Some(u.detail),
                            });
                        }
                    }
                }
                (tasks, failures)
            })
            .await?;
        for t in &tasks {
            self.emit(t, TaskStatus::Pending);
            self.spawn_worker(t.task_arn.clone());
        }
        Ok(Reply::Tasks { tasks, failures })
    }

    pub(super) async fn start_task(&self, r: request::StartTask) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if r.container_instances.is_empty() || r.container_instances.len() > 10 {
            return Err(EngineError::InvalidParameter(
                "containerInstances must name 1 to 10 container instances.".into(),
            ));
        }
        let td = self.resolve_task_definition(&r.task_definition, false)?;
        let group = r
            .group
            .clone()
            .unwrap_or_else(|| format!("family:{}", td.family));
        let (cpu, memory) = td.reservation();
        let req = placement::Request {
            cpu: i64::from(cpu),
            memory: i64::from(memory),
            group: group.clone(),
            constraints: vec![],
            strategies: vec![],
            ports: td.fixed_host_ports(),
        };
        let (tasks, failures) = self
            .mutate(|state| {
                let mut tasks = Vec::new();
                let mut failures = Vec::new();
                for ci in &r.container_instances {
                    let arn = self
                        .inner
                        .config
                        .partition
                        .container_instance(&cluster, arn::short_name(ci));
                    let loads: Vec<InstanceLoad> = self
                        .loads(state, &cluster)
                        .into_iter()
                        .filter(|l| l.arn == arn)
                        .collect();
                    if loads.is_empty() {
                        failures.push(Failure {
                            arn: Some(ci.clone()),
                            reason: "MISSING".into(),
                            detail: None,
                        });
                        continue;
                    }
                    match placement::place(&req, &loads) {
                        Ok(arn) => {
                            let inst = state.container_instances[&arn].clone();
                            let task = self.new_task(
                                &cluster,
                                &td,
                                &inst,
                                r.started_by.clone(),
                                group.clone(),
                                r.overrides.clone(),
                            );
                            state.tasks.insert(task.task_arn.clone(), task.clone());
                            tasks.push(task);
                        }
                        Err(u) => failures.push(Failure {
                            arn: u.arn,
                            reason: u.reason,
                            detail: Some(u.detail),
                        }),
                    }
                }
                (tasks, failures)
            })
            .await?;
        for t in &tasks {
            self.emit(t, TaskStatus::Pending);
            self.spawn_worker(t.task_arn.clone());
        }
        Ok(Reply::Tasks { tasks, failures })
    }

    pub(super) fn find_task_arn(&self, cluster: &str, reference: &str) -> Option<String> {
        let arn = if reference.starts_with("arn:") {
            reference.to_string()
        } else {
            self.inner.config.partition.task(cluster, reference)
        };
        // A task of another cluster is not found in this one.
        self.read(|s| {
            s.tasks
                .get(&arn)
                .is_some_and(|t| t.cluster_name() == cluster)
        })
        .then_some(arn)
    }

    pub(super) async fn stop_task(&self, r: request::StopTask) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if let Some(reason) = &r.reason {
            if reason.len() > 255 {
                return Err(EngineError::InvalidParameter(
                    "reason must be at most 255 characters.".into(),
                ));
            }
        }
        let not_found =
            || EngineError::InvalidParameter("The referenced task was not found.".into());
        let arn = self
            .find_task_arn(&cluster, &r.task)
            .ok_or_else(not_found)?;
        // The task may be forgotten (stopped long ago, pruned) between the
        // lookup and the write: then it is not found, never a panic.
        self.request_stop(
            &arn,
            r.reason.as_deref().unwrap_or("Task stopped by user"),
            StopCode::UserInitiated,
        )
        .await?
        .map(Reply::Task)
        .ok_or_else(not_found)
    }

    pub(super) fn describe_tasks(&self, r: request::DescribeTasks) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if r.tasks.is_empty() {
            return Err(EngineError::InvalidParameter(
                "Tasks cannot be empty.".into(),
            ));
        }
        if r.tasks.len() > 100 {
            return Err(EngineError::InvalidParameter(
                "At most 100 tasks can be described at once.".into(),
            ));
        }
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        let with_tags = r.include.iter().any(|i| i == "TAGS");
        for t in r.tasks {
            match self.find_task_arn(&cluster, &t).and_then(|a| self.task(&a)) {
                Some(mut task) => {
                    if with_tags {
                        task.tags = self.read(|s| super::tags::tags_of(s, &task.task_arn));
                    }
                    tasks.push(task)
                }
                None => failures.push(Failure {
                    arn: Some(t),
                    reason: "MISSING".into(),
                    detail: None,
                }),
            }
        }
        Ok(Reply::Tasks { tasks, failures })
    }

    pub(super) fn list_tasks(&self, r: request::ListTasks) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let desired = match r.desired_status.as_deref() {
            None => TaskStatus::Running,
            Some("RUNNING") => TaskStatus::Running,
            Some("STOPPED") => TaskStatus::Stopped,
            Some("PENDING") => TaskStatus::Running,
            Some(other) => {
                return Err(EngineError::InvalidParameter(format!(
                    "Invalid desiredStatus '{other}' (expected RUNNING, PENDING or STOPPED)."
                )))
            }
        };
        let state = self.snapshot();
        // A service's tasks are those of its group, as ECS starts them.
        let service_group = match r.service_name.as_deref() {
            Some(name) => {
                let name = arn::short_name(name);
                let known = state
                    .services
                    .values()
                    .any(|s| s.service_name == name && s.cluster_name() == cluster);
                if !known {
                    return Err(EngineError::ServiceNotFound(name.to_string()));
                }
                Some(format!("service:{name}"))
            }
            None => None,
        };
        let instance = r.container_instance.as_deref().map(|ci| {
            self.inner
                .config
                .partition
                .container_instance(&cluster, arn::short_name(ci))
        });
        let arns: Vec<String> = state
            .tasks
            .values()
            .filter(|t| t.cluster_name() == cluster)
            .filter(|t| t.desired_status == Some(desired))
            .filter(|t| {
                r.family.as_deref().is_none_or(|f| {
                    t.group.as_deref() == Some(&format!("family:{f}"))
                        || arn::task_definition_ref(&t.task_definition_arn).0 == f
                })
            })
            .filter(|t| {
                instance
                    .as_deref()
                    .is_none_or(|i| t.container_instance_arn == i)
            })
            .filter(|t| {
                r.started_by
                    .as_deref()
                    .is_none_or(|s| t.started_by.as_deref() == Some(s))
            })
            .filter(|t| {
                service_group
                    .as_deref()
                    .is_none_or(|g| t.group.as_deref() == Some(g))
            })
            .map(|t| t.task_arn.clone())
            .collect();
        let (arns, next) = super::tags::paginate_arns(arns, &r.page, 100)?;
        Ok(super::tags::paged(Reply::TaskArns(arns), next))
    }
}

impl Engine {
    /// UpdateTaskProtection: protected tasks are not stopped to scale a
    /// service in, nor to finish a deployment, until protection ends
    /// (`expiresInMinutes`, 1-2880, default 120).
    pub(super) async fn update_task_protection(
        &self,
        r: request::UpdateTaskProtection,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        if r.tasks.is_empty() || r.tasks.len() > 10 {
            return Err(EngineError::InvalidParameter(
                "tasks must name 1 to 10 tasks.".into(),
            ));
        }
        let minutes = r.expires_in_minutes.unwrap_or(120);
        if !(1..=2880).contains(&minutes) {
            return Err(EngineError::InvalidParameter(
                "expiresInMinutes must be between 1 and 2880.".into(),
            ));
        }
        let until = r
            .protection_enabled
            .then(|| now_epoch() + minutes as f64 * 60.0);
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for t in &r.tasks {
            match self.find_task_arn(&cluster, t) {
                Some(arn) => found.push(arn),
                None => failures.push(Failure {
                    arn: Some(t.clone()),
                    reason: "MISSING".into(),
                    detail: None,
                }),
            }
        }
        let arns = found.clone();
        self.mutate(|s| {
            for arn in &arns {
                if let Some(t) = s.tasks.get_mut(arn) {
                    t.protected_until = until;
                }
            }
        })
        .await?;
        Ok(self.protection_reply(&found, failures))
    }

    pub(super) fn get_task_protection(
        &self,
        r: request::GetTaskProtection,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for t in &r.tasks {
            match self.find_task_arn(&cluster, t) {
                Some(arn) => found.push(arn),
                None => failures.push(Failure {
                    arn: Some(t.clone()),
                    reason: "MISSING".into(),
                    detail: None,
                }),
            }
        }
        Ok(self.protection_reply(&found, failures))
    }

    fn protection_reply(&self, arns: &[String], failures: Vec<Failure>) -> Reply {
        let now = now_epoch();
        let protected: Vec<serde_json::Value> = self.read(|s| {
            arns.iter()
                .filter_map(|a| s.tasks.get(a))
                .map(|t| {
                    let until = t.protected_until.filter(|u| *u > now);
                    let mut v = serde_json::json!({
                        "taskArn": t.task_arn,
                        "protectionEnabled": until.is_some(),
                    });
                    if let Some(u) = until {
                        v["expirationDate"] = serde_json::json!(u);
                    }
                    v
                })
                .collect()
        });
        Reply::Json(serde_json::json!({ "protectedTasks": protected, "failures": failures }))
    }
}

/// The tags a new task gets: those RunTask names, the task definition's
/// (`propagateTags: TASK_DEFINITION`) or the service's (`SERVICE`), and
/// with `enableECSManagedTags` ECS's own (`aws:ecs:clusterName`,
/// `aws:ecs:serviceName`).
fn run_task_tags(
    state: &mut crate::db::State,
    task: &crate::model::Task,
    td: &TaskDefinition,
    r: &request::RunTask,
    cluster: &str,
) {
    let mut tags = std::collections::BTreeMap::new();
    let from = match r.propagate_tags.as_deref() {
        Some("TASK_DEFINITION") => td.task_definition_arn.clone(),
        Some("SERVICE") => r
            .group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"))
            .map(|name| {
                state
                    .services
                    .values()
                    .find(|s| s.service_name == name && s.cluster_arn == task.cluster_arn)
                    .map(|s| s.service_arn.clone())
                    .unwrap_or_default()
            }),
        _ => None,
    };
    if let Some(arn) = from {
        tags.extend(state.tags_of(&arn));
    }
    tags.extend(r.tags.iter().map(|t| (t.key.clone(), t.value.clone())));
    if r.enable_ecs_managed_tags {
        tags.insert("aws:ecs:clusterName".into(), cluster.to_string());
        if let Some(name) = r.group.as_deref().and_then(|g| g.strip_prefix("service:")) {
            tags.insert("aws:ecs:serviceName".into(), name.to_string());
        }
    }
    if !tags.is_empty() {
        state.tag(&task.task_arn, tags);
    }
}
