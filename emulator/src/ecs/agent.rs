//! The container agent's side of ECS: DiscoverPollEndpoint, the state
//! reports (SubmitTaskStateChange, SubmitContainerStateChange,
//! SubmitAttachmentStateChanges) and UpdateContainerAgent; and
//! ListServicesByNamespace.
//!
//! Every task of every container instance runs on the local Docker engine
//! under the emulator's own reconcile worker, which records what Docker
//! shows. An agent's report is taken where it does not contradict that
//! worker: container exit codes, reasons and statuses (forward only; a
//! container reported STOPPED is stopped on the Docker engine too), a
//! task's RUNNING once its worker has activated it, and a STOPPED task or
//! a stopped essential container, which stops the task as ECS would (the
//! worker then stops its containers).

use std::time::Duration;

use serde_json::json;

use super::command::{EngineError, Reply};
use super::engine::Engine;
use crate::model::agent::{
    version_less, ContainerStateChange, DiscoverPollEndpoint, SubmitAttachmentStateChanges,
    SubmitContainerStateChange, SubmitTaskStateChange, UpdateContainerAgent, LATEST_AGENT_VERSION,
};
use crate::model::capacity_provider::ListServicesByNamespace;
use crate::model::task::{NetworkBinding, StopCode};
use crate::model::{ClusterStatus, ServiceStatus, Task, TaskStatus};

/// How long a simulated agent update stays in progress (ECS: minutes).
/// Long enough that a second UpdateContainerAgent right after the first
/// sees it in progress even on a loaded machine.
const AGENT_UPDATE_TIME: Duration = Duration::from_secs(2);

const ACK: &str = "ACK";
const ATTACHMENT_STATUSES: [&str; 8] = [
    "PRECREATED",
    "CREATED",
    "ATTACHING",
    "ATTACHED",
    "DETACHING",
    "DETACHED",
    "DELETED",
    "FAILED",
];

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidParameter(msg.into())
}

fn ack() -> Reply {
    Reply::Json(json!({ "acknowledgment": ACK }))
}

fn container_rank(status: &str) -> Option<u8> {
    match status {
        "PENDING" => Some(0),
        "RUNNING" => Some(1),
        "STOPPED" => Some(2),
        _ => None,
    }
}

/// Applies one container's report to `task`; when it newly says the
/// container STOPPED, whether that container is essential.
fn apply_container(task: &mut Task, r: &ContainerStateChange) -> Result<Option<bool>, EngineError> {
    let name = r
        .container_name
        .as_deref()
        .ok_or_else(|| invalid("containerName is required."))?;
    let reported = match r.status.as_deref() {
        Some(s) => Some(container_rank(s).ok_or_else(|| {
            invalid(format!(
                "Invalid container status '{s}' (expected PENDING, RUNNING or STOPPED)."
            ))
        })?),
        None => None,
    };
    let c = task.container_mut(name).ok_or_else(|| {
        invalid(format!(
            "The container '{name}' is not a container of the task."
        ))
    })?;
    let mut stopped = None;
    if let (Some(rank), Some(status)) = (reported, r.status.as_deref()) {
        if container_rank(&c.last_status).is_none_or(|now| rank > now) {
            c.last_status = status.to_string();
            if status == "STOPPED" {
                stopped = Some(c.essential);
            }
        }
    }
    if r.exit_code.is_some() {
        c.exit_code = r.exit_code;
    }
    if let Some(reason) = &r.reason {
        c.reason = Some(reason.clone());
    }
    if c.runtime_id.is_none() {
        c.runtime_id = r.runtime_id.clone();
    }
    if c.image_digest.is_none() {
        c.image_digest = r.image_digest.clone();
    }
    if c.network_bindings.is_empty() {
        c.network_bindings = r
            .network_bindings
            .iter()
            .filter_map(|b| {
                Some(NetworkBinding {
                    bind_ip: b.bind_ip.clone().unwrap_or_else(|| "0.0.0.0".into()),
                    container_port: u16::try_from(b.container_port?).ok()?,
                    host_port: u16::try_from(b.host_port?).ok()?,
                    protocol: b.protocol.clone().unwrap_or_else(|| "tcp".into()),
                })
            })
            .collect();
    }
    Ok(stopped)
}

impl Engine {
    /// The endpoint the agent is told to poll: this emulator's own.
    fn own_endpoint(&self) -> String {
        self.inner
            .db
            .dir()
            .and_then(crate::db::DataDir::read_endpoint)
            .unwrap_or_else(|| "http://127.0.0.1:4566".into())
    }

    pub(super) fn discover_poll_endpoint(
        &self,
        r: DiscoverPollEndpoint,
    ) -> Result<Reply, EngineError> {
        let cluster = self
            .cluster_name(r.cluster.as_deref())
            .map_err(|e| EngineError::Client(e.to_string()))?;
        if let Some(ci) = r.container_instance.as_deref() {
            let arn = self.instance_arn(&cluster, ci);
            if !self.read(|s| s.container_instances.contains_key(&arn)) {
                return Err(EngineError::Client(format!(
                    "Container instance {ci} not found in cluster {cluster}."
                )));
            }
        }
        let ep = format!("{}/", self.own_endpoint().trim_end_matches('/'));
        Ok(Reply::Json(json!({
            "endpoint": ep,
            "telemetryEndpoint": ep,
            "serviceConnectEndpoint": ep,
        })))
    }

    /// The ARN of the reported task, which must be of `cluster`.
    fn reported_task(&self, cluster: &str, task: Option<&str>) -> Result<String, EngineError> {
        let task = task.ok_or_else(|| invalid("task is required."))?;
        self.find_task_arn(cluster, task)
            .ok_or_else(|| invalid("The referenced task was not found."))
    }

    /// Records a report on a task; stops it when it says so.
    async fn apply_report(
        &self,
        arn: &str,
        containers: &[ContainerStateChange],
        status: Option<TaskStatus>,
        reason: Option<String>,
        pulls: (Option<f64>, Option<f64>),
    ) -> Result<Reply, EngineError> {
        let (stop, stopped, task) = self
            .mutate(|s| {
                let Some(t) = s.tasks.get_mut(arn) else {
                    return Err(invalid("The referenced task was not found."));
                };
                let mut next = t.clone();
                let mut essential_stopped = false;
                let mut stopped = Vec::new();
                for c in containers {
                    if let Some(essential) = apply_container(&mut next, c)? {
                        essential_stopped |= essential;
                        stopped.extend(c.container_name.clone());
                    }
                }
                // The worker's own pull times stand; an agent's fill gaps.
                if next.pull_started_at.is_none() {
                    next.pull_started_at = pulls.0;
                }
                // (Only past PENDING: the worker pulls until pullStoppedAt.)
                if next.pull_stopped_at.is_none() && next.status() > TaskStatus::Pending {
                    next.pull_stopped_at = pulls.1;
                }
                // RUNNING is taken once the worker has activated the task
                // (target registration done); earlier ones it reaches
                // itself.
                if status == Some(TaskStatus::Running) && next.status() == TaskStatus::Activating {
                    next.advance(TaskStatus::Running);
                }
                let stop = if status == Some(TaskStatus::Stopped) {
                    let code = if next.started_at.is_some() {
                        StopCode::EssentialContainerExited
                    } else {
                        StopCode::TaskFailedToStart
                    };
                    Some((
                        reason.unwrap_or_else(|| "Task stopped by the container agent".into()),
                        code,
                    ))
                } else {
                    essential_stopped.then(|| {
                        (
                            super::task_plan::ESSENTIAL_EXITED.to_string(),
                            StopCode::EssentialContainerExited,
                        )
                    })
                };
                if next != *t {
                    next.version += 1;
                    *t = next;
                }
                Ok((stop, stopped, t.clone()))
            })
            .await??;
        if let Some((reason, code)) = stop {
            self.request_stop(arn, &reason, code).await?;
        } else {
            self.emit(&task, task.status());
            // What the agent saw stop is stopped on the Docker engine too
            // (the worker then records the container's exit).
            self.stop_reported(arn, &stopped).await;
        }
        Ok(ack())
    }

    async fn stop_reported(&self, arn: &str, names: &[String]) {
        if names.is_empty() {
            return;
        }
        let Some(task) = self.task(arn) else { return };
        let Ok(rt) = self.runtime_of(&task) else {
            return;
        };
        let instance = self.inner.config.instance.clone();
        let filter = [
            (crate::runtime::labels::INSTANCE, instance.as_str()),
            (crate::runtime::labels::TASK_ARN, arn),
        ];
        let Ok(observed) = rt.list_containers(&filter).await else {
            return;
        };
        let timeout = self.inner.config.default_stop_timeout_s;
        for o in observed {
            if o.container_name()
                .is_some_and(|n| names.iter().any(|x| x == n))
            {
                if let Err(e) = rt.stop_container(&o.runtime_name, timeout).await {
                    tracing::warn!(container = %o.runtime_name, "cannot stop a container its agent reported stopped: {e}");
                }
            }
        }
        self.wake(arn);
    }

    pub(super) async fn submit_task_state_change(
        &self,
        r: SubmitTaskStateChange,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let arn = self.reported_task(&cluster, r.task.as_deref())?;
        let status = match r.status.as_deref() {
            None => None,
            Some(s) => Some(
                TaskStatus::parse(s)
                    .ok_or_else(|| invalid(format!("Invalid task status '{s}'.")))?,
            ),
        };
        if !r.attachments.is_empty() {
            self.check_attachments(&r.attachments)?;
        }
        let pulls = (r.pull_started_at, r.pull_stopped_at);
        self.apply_report(&arn, &r.containers, status, r.reason, pulls)
            .await
    }

    pub(super) async fn submit_container_state_change(
        &self,
        r: SubmitContainerStateChange,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let arn = self.reported_task(&cluster, r.task.as_deref())?;
        self.apply_report(
            &arn,
            std::slice::from_ref(&r.container),
            None,
            None,
            (None, None),
        )
        .await
    }

    /// The emulator's tasks use bridge networking: they have no
    /// attachments, so any attachment reported is unknown.
    fn check_attachments(
        &self,
        attachments: &[crate::model::agent::AttachmentStateChange],
    ) -> Result<(), EngineError> {
        for a in attachments {
            if !ATTACHMENT_STATUSES.contains(&a.status.as_str()) {
                return Err(invalid(format!(
                    "Invalid attachment status '{}'.",
                    a.status
                )));
            }
        }
        match attachments.first() {
            Some(a) => Err(invalid(format!(
                "The attachment {} was not found.",
                a.attachment_arn
            ))),
            None => Ok(()),
        }
    }

    pub(super) fn submit_attachment_state_changes(
        &self,
        r: SubmitAttachmentStateChanges,
    ) -> Result<Reply, EngineError> {
        self.cluster_name(r.cluster.as_deref())?;
        if r.attachments.is_empty() {
            return Err(invalid("attachments cannot be empty."));
        }
        self.check_attachments(&r.attachments)?;
        Ok(ack())
    }

    /// UpdateContainerAgent: an instance whose agent reported a version
    /// older than the newest is updated (PENDING, then UPDATED with the
    /// new version); one without a version, or already on the newest, is
    /// refused as ECS refuses it.
    pub(super) async fn update_container_agent(
        &self,
        r: UpdateContainerAgent,
    ) -> Result<Reply, EngineError> {
        let cluster = self.cluster_name(r.cluster.as_deref())?;
        let arn = self.instance_arn(&cluster, &r.container_instance);
        let instance = self
            .read(|s| s.container_instances.get(&arn).cloned())
            .ok_or_else(|| {
                invalid(format!(
                    "Container instance {} not found.",
                    r.container_instance
                ))
            })?;
        if instance.attribute("ecs.os-type") == Some("windows") {
            return Err(invalid(
                "Agent updates are not supported for Windows container instances.",
            ));
        }
        if matches!(
            instance.agent_update_status.as_deref(),
            Some("PENDING" | "STAGING" | "STAGED" | "UPDATING")
        ) {
            return Err(EngineError::UpdateInProgress(
                "There is already a current agent update in progress on the container instance."
                    .into(),
            ));
        }
        let Some(version) = instance
            .version_info
            .as_ref()
            .and_then(|v| v.agent_version.clone())
        else {
            return Err(EngineError::MissingVersion(
                "The container instance does not have a version to update from: its agent did not report versionInfo.".into(),
            ));
        };
        if !version_less(&version, LATEST_AGENT_VERSION) {
            return Err(EngineError::NoUpdateAvailable(
                "There is no update available for your container agent.".into(),
            ));
        }
        self.set_agent_update(&arn, "PENDING", None).await?;
        let engine = self.clone();
        let target = arn.clone();
        tokio::spawn(async move {
            tokio::time::sleep(AGENT_UPDATE_TIME).await;
            if let Err(e) = engine
                .set_agent_update(&target, "UPDATED", Some(LATEST_AGENT_VERSION))
                .await
            {
                tracing::error!(instance = %target, "cannot record the agent update: {e}");
            }
        });
        self.instance_view(&arn)
            .map(|i| Reply::Json(json!({ "containerInstance": i })))
            .ok_or_else(|| invalid("The container instance was removed."))
    }

    async fn set_agent_update(
        &self,
        arn: &str,
        status: &str,
        version: Option<&str>,
    ) -> Result<(), EngineError> {
        self.mutate(|s| {
            if let Some(i) = s.container_instances.get_mut(arn) {
                i.agent_update_status = Some(status.to_string());
                if let (Some(v), Some(info)) = (version, i.version_info.as_mut()) {
                    info.agent_version = Some(v.to_string());
                }
            }
        })
        .await
    }

    /// ListServicesByNamespace: the services of the clusters whose Service
    /// Connect default namespace it is (the emulator keeps no per-service
    /// Service Connect configuration).
    pub(super) fn list_services_by_namespace(
        &self,
        r: ListServicesByNamespace,
    ) -> Result<Reply, EngineError> {
        if r.namespace.trim().is_empty() {
            return Err(invalid("namespace cannot be empty."));
        }
        let ns = super::cluster_capacity::namespace_arn(self, r.namespace.trim());
        let state = self.snapshot();
        let clusters: Vec<String> = state
            .clusters
            .values()
            .filter(|c| c.status == ClusterStatus::Active)
            .filter(|c| {
                c.service_connect_defaults
                    .as_ref()
                    .is_some_and(|d| d.namespace == ns)
            })
            .map(|c| c.cluster_arn.clone())
            .collect();
        if clusters.is_empty() {
            return Err(EngineError::NamespaceNotFound(format!(
                "The namespace {} was not found.",
                r.namespace
            )));
        }
        let arns: Vec<String> = state
            .services
            .values()
            .filter(|s| clusters.contains(&s.cluster_arn) && s.status == ServiceStatus::Active)
            .map(|s| s.service_arn.clone())
            .collect();
        let mut page = r.page.clone();
        page.max_results = Some(page.max_results.unwrap_or(10));
        let (arns, next) = super::tags::paginate_arns(arns, &page, 100)?;
        let mut v = json!({ "serviceArns": arns });
        if let Some(t) = next {
            v["nextToken"] = json!(t);
        }
        Ok(Reply::Json(v))
    }
}
