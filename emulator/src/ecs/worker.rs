//! The per-task reconcile workers: observe a task's containers, ask the
//! pure [`plan`] for steps, apply them through the runtime; and the Docker
//! event pump that wakes them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::command::EngineError;
#[allow(unused_imports)]
use super::container_instances::used_resources;
use super::engine::{lock, prune_stopped, Engine};
use super::task_plan::{plan, waves, Step};
use crate::model::task::{NetworkBinding, StopCode};
use crate::model::{now_epoch, Task, TaskDefinition, TaskStatus};
use crate::runtime::{
    labels, ContainerSpec, ContainerState, Health, HealthSpec, NetworkSpec, ObservedContainer,
    PortSpec, RuntimeError,
};

impl Engine {
    pub(super) fn spawn_worker(&self, arn: String) {
        let notify = Arc::new(Notify::new());
        {
            let mut workers = lock(&self.inner.workers);
            if workers.contains_key(&arn) {
                return;
            }
            workers.insert(arn.clone(), notify.clone());
        }
        let engine = self.clone();
        tokio::spawn(async move {
            engine.worker(&arn, &notify).await;
            lock(&engine.inner.workers).remove(&arn);
        });
    }

    async fn worker(&self, arn: &str, notify: &Notify) {
        let filter_instance = self.inner.config.instance.clone();
        loop {
            if self.inner.shutdown.is_cancelled() {
                return;
            }
            let Some(task) = self.task(arn) else { return };
            if task.status() == TaskStatus::Stopped {
                return;
            }
            let def = match self.resolve_task_definition(&task.task_definition_arn, true) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(task = %arn, error = %e, "task definition of a live task is gone");
                    return;
                }
            };
            let filter = [
                (labels::INSTANCE, filter_instance.as_str()),
                (labels::TASK_ARN, arn),
            ];
            // A lost engine's containers are out of reach: its stopping
            // tasks only move on to STOPPED (the containers go when the
            // engine is back, see `instance_health`).
            let lost = self.host_lost(&task) && !task.wants_running();
            let observed = if lost {
                Vec::new()
            } else {
                let listed = match self.runtime_of(&task) {
                    Ok(rt) => rt.list_containers(&filter).await,
                    Err(e) => Err(e),
                };
                match listed {
                    Ok(o) => o,
                    Err(e) => {
                        let down = self.host_down(&task);
                        if !down {
                            tracing::warn!(task = %arn, error = %e, "cannot observe task containers; retrying");
                        }
                        // An engine that is away: wait for its return (or
                        // loss), not a second.
                        let wait = if down {
                            self.inner.config.resync
                        } else {
                            Duration::from_secs(1)
                        };
                        tokio::select! {
                            _ = self.inner.shutdown.cancelled() => return,
                            _ = notify.notified() => {}
                            _ = tokio::time::sleep(wait) => {}
                        }
                        continue;
                    }
                }
            };
            if !lost {
                self.record_observation(arn, &observed).await;
            }
            let Some(task) = self.task(arn) else { return };
            let mut steps = plan(&task, &def, &observed);
            if lost {
                steps.retain(|s| matches!(s, Step::Advance(_)));
            }
            if steps.is_empty() {
                tokio::select! {
                    _ = self.inner.shutdown.cancelled() => return,
                    _ = notify.notified() => {}
                    _ = tokio::time::sleep(self.inner.config.resync) => {}
                }
                continue;
            }
            for wave in waves(steps) {
                // One chain per container, all at once; a chain stops at
                // its first failure, the wave reports the first one.
                let (task, def) = (&task, &def);
                let chains = wave.into_iter().map(|chain| async move {
                    for step in chain {
                        if let Err(e) = self.apply(task, def, step.clone()).await {
                            return Err((step, e));
                        }
                    }
                    Ok(())
                });
                let failed = futures_util::future::join_all(chains)
                    .await
                    .into_iter()
                    .find_map(Result::err);
                if let Some((step, e)) = failed {
                    tracing::warn!(task = %arn, ?step, error = %e, "step failed");
                    let stop = task.wants_running() && task.status() < TaskStatus::Deactivating;
                    let stopped = stop
                        && self
                            .request_stop(arn, &e.to_string(), StopCode::TaskFailedToStart)
                            .await
                            .is_ok();
                    if !stopped {
                        // Stopping: retry after a pause rather than spin.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    break;
                }
            }
        }
    }

    pub(super) fn network_name(task: &Task) -> String {
        format!("ecs-task-{}", task.id())
    }

    pub fn runtime_name(task: &Task, def: &TaskDefinition, container: &str) -> String {
        let id = task.id();
        format!(
            "ecs-{}-{}-{}-{}",
            def.family,
            def.revision.unwrap_or(0),
            container,
            &id[..id.len().min(12)]
        )
    }

    fn labels(&self, task: &Task, def: &TaskDefinition) -> HashMap<String, String> {
        let mut l = HashMap::new();
        l.insert(
            labels::INSTANCE.to_string(),
            self.inner.config.instance.clone(),
        );
        l.insert(labels::CLUSTER.to_string(), task.cluster_name().to_string());
        l.insert(labels::TASK_ARN.to_string(), task.task_arn.clone());
        l.insert(labels::TASK_DEFINITION.to_string(), def.family_revision());
        l.insert(
            labels::CONTAINER_INSTANCE.to_string(),
            task.container_instance_arn.clone(),
        );
        l
    }

    /// What to create for one container. Fails when a `secrets` reference
    /// does not resolve (the task then stops, as ECS stops it).
    fn container_spec(
        &self,
        task: &Task,
        def: &TaskDefinition,
        name: &str,
        run_as: String,
    ) -> Result<ContainerSpec, RuntimeError> {
        let c = def.container(name).expect("planned containers exist");
        let mut env: Vec<(String, String)> = c
            .environment
            .iter()
            .map(|kv| (kv.name.clone(), kv.value.clone()))
            .collect();
        // Secrets are read when the container is created, as the agent
        // reads them: a value changed later reaches new tasks only.
        if !c.secrets.is_empty() {
            let resolved = {
                let state = self.snapshot();
                c.secrets
                    .iter()
                    .map(|s| {
                        crate::secrets::resolve(&state.secrets, &s.value_from)
                            .map(|v| (s.name.clone(), v))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(RuntimeError::ResourceInitialization)?
            };
            for (name, value) in resolved {
                env.retain(|(n, _)| *n != name);
                env.push((name, value));
            }
        }
        let mut command = c.command.clone();
        // containerOverrides: environment and command, as RunTask allows.
        if let Some(ovs) = task
            .overrides
            .as_ref()
            .and_then(|o| o.get("containerOverrides"))
            .and_then(|v| v.as_array())
        {
            for ov in ovs
                .iter()
                .filter(|o| o.get("name").and_then(|n| n.as_str()) == Some(name))
            {
                if let Some(cmd) = ov
                    .get("command")
                    .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
                {
                    command = cmd;
                }
                if let Some(extra) = ov.get("environment").and_then(|v| v.as_array()) {
                    for kv in extra {
                        if let (Some(k), Some(v)) = (
                            kv.get("name").and_then(|x| x.as_str()),
                            kv.get("value").and_then(|x| x.as_str()),
                        ) {
                            env.retain(|(n, _)| n != k);
                            env.push((k.to_string(), v.to_string()));
                        }
                    }
                }
            }
        }
        let mut labels = self.labels(task, def);
        labels.insert(labels::CONTAINER_NAME.to_string(), name.to_string());
        // The container is reachable by its name, and by every alias other
        // containers' `links` give it (`name:alias`).
        let mut aliases = vec![name.to_string()];
        for other in &def.container_definitions {
            for link in &other.links {
                if let Some((target, alias)) = link.split_once(':') {
                    if target == name && !aliases.iter().any(|a| a == alias) {
                        aliases.push(alias.to_string());
                    }
                }
            }
        }
        Ok(ContainerSpec {
            runtime_name: Self::runtime_name(task, def, name),
            image: run_as,
            env,
            command,
            entry_point: c.entry_point.clone(),
            memory_mib: c.memory,
            memory_reservation_mib: c.memory_reservation,
            cpu_shares: c.cpu.unwrap_or(0).max(2),
            stop_timeout_s: c
                .stop_timeout
                .unwrap_or(self.inner.config.default_stop_timeout_s),
            health: c.health_check.as_ref().map(|h| HealthSpec {
                test: h.command.clone(),
                interval_s: h.interval.unwrap_or(30),
                timeout_s: h.timeout.unwrap_or(5),
                retries: h.retries.unwrap_or(3),
                start_period_s: h.start_period.unwrap_or(0),
            }),
            ports: c
                .port_mappings
                .iter()
                .map(|p| PortSpec {
                    container_port: p.container_port.unwrap_or(0) as u16,
                    host_port: p.host_port.filter(|h| *h != 0).map(|h| h as u16),
                    protocol: p.protocol.clone().unwrap_or_else(|| "tcp".into()),
                })
                .collect(),
            network: Self::network_name(task),
            aliases,
            labels,
            log_options: self.log_options(c),
        })
    }

    /// The delivery mode of an `awslogs` container as the agent sets it:
    /// the definition's `mode` (and `max-buffer-size`), else the account's
    /// `defaultLogDriverMode`. Docker's own logging (what the emulator reads
    /// as CloudWatch Logs) takes the same options: in `non-blocking` mode a
    /// container never waits on a busy log driver; lines beyond the buffer
    /// are dropped.
    fn log_options(
        &self,
        c: &crate::model::task_definition::ContainerDefinition,
    ) -> Vec<(String, String)> {
        let Some(cfg) = c.log_configuration.as_ref() else {
            return Vec::new();
        };
        if cfg.get("logDriver").and_then(|d| d.as_str()) != Some("awslogs") {
            return Vec::new();
        }
        let opt = |k: &str| {
            cfg.get("options")
                .and_then(|o| o.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let mode = opt("mode").unwrap_or_else(|| self.default_log_driver_mode());
        let mut out = vec![("mode".to_string(), mode.clone())];
        if mode == "non-blocking" {
            if let Some(size) = opt("max-buffer-size") {
                out.push(("max-buffer-size".to_string(), size));
            }
        }
        out
    }

    async fn apply(
        &self,
        task: &Task,
        def: &TaskDefinition,
        step: Step,
    ) -> Result<(), RuntimeError> {
        let rt = &self.runtime_of(task)?;
        match step {
            Step::Advance(status) => {
                let moved = self
                    .mutate(|s| {
                        let t = s.tasks.get_mut(&task.task_arn)?;
                        let previous = t.status();
                        if status == TaskStatus::Stopped {
                            // Containers that never started (or were never
                            // seen stopping) are STOPPED with their task.
                            for c in &mut t.containers {
                                if c.last_status != "STOPPED" {
                                    c.last_status = "STOPPED".into();
                                }
                            }
                        }
                        let moved = t.advance(status).then(|| (t.clone(), previous));
                        if status == TaskStatus::Stopped {
                            prune_stopped(&mut s.tasks, now_epoch());
                        }
                        moved
                    })
                    .await
                    .map_err(store_error)?;
                if let Some((t, previous)) = moved {
                    tracing::info!(task = %t.task_arn, from = %previous, to = %status, "task status");
                    if matches!(status, TaskStatus::Activating | TaskStatus::Deactivating) {
                        let hooks: Vec<_> = lock(&self.inner.hooks).clone();
                        for h in hooks {
                            h.on_status(&t, status).await;
                        }
                    }
                    self.emit(&t, previous);
                }
                Ok(())
            }
            Step::CreateNetwork => {
                let mut labels = self.labels(task, def);
                labels.remove(labels::CONTAINER_INSTANCE);
                rt.create_network(&NetworkSpec {
                    name: Self::network_name(task),
                    labels,
                })
                .await
            }
            Step::PullImages => self.pull_images(task, def).await,
            Step::CreateContainer(name) => {
                let image = def.container(&name).map(|c| c.image.as_str()).unwrap_or("");
                let run_as = self.run_as(task, image).await;
                let spec = match self.container_spec(task, def, &name, run_as) {
                    Ok(spec) => spec,
                    Err(e) => {
                        self.set_container_reason(&task.task_arn, &name, &e.to_string())
                            .await;
                        return Err(e);
                    }
                };
                match rt.create_container(&spec).await {
                    Ok(_) | Err(RuntimeError::Conflict(_)) => Ok(()),
                    Err(e) => {
                        self.set_container_reason(&task.task_arn, &name, &e.to_string())
                            .await;
                        Err(e)
                    }
                }
            }
            Step::StartContainer(name) => {
                let r = rt
                    .start_container(&Self::runtime_name(task, def, &name))
                    .await;
                if let Err(e) = &r {
                    self.set_container_reason(&task.task_arn, &name, &e.to_string())
                        .await;
                }
                r
            }
            Step::StopContainer(name) => {
                let timeout = def
                    .container(&name)
                    .and_then(|c| c.stop_timeout)
                    .unwrap_or(self.inner.config.default_stop_timeout_s);
                rt.stop_container(&Self::runtime_name(task, def, &name), timeout)
                    .await
            }
            Step::RemoveContainer(name) => {
                let runtime_name = Self::runtime_name(task, def, &name);
                // Keep what it wrote: the reason a task died is often there.
                let archive = !self
                    .inner
                    .stopping_all
                    .load(std::sync::atomic::Ordering::Relaxed);
                if archive {
                    if let Ok(lines) = rt.logs(&runtime_name, 0, crate::logs::TAIL).await {
                        lock(&self.inner.log_archive).push(&task.task_arn, &name, lines);
                    }
                }
                rt.remove_container(&runtime_name).await
            }
            Step::RemoveNetwork => rt.remove_network(&Self::network_name(task)).await,
            Step::Stop { reason, code } => {
                self.request_stop(&task.task_arn, &reason, code)
                    .await
                    .map_err(store_error)?;
                Ok(())
            }
        }
    }

    async fn set_container_reason(&self, arn: &str, name: &str, reason: &str) {
        let r = self
            .mutate(|s| {
                if let Some(c) = s.tasks.get_mut(arn).and_then(|t| t.container_mut(name)) {
                    c.reason = Some(reason.to_string());
                }
            })
            .await;
        if let Err(e) = r {
            tracing::error!(task = %arn, "cannot record a container's reason: {e}");
        }
    }

    /// Copies what the runtime reports into the task's `containers[]`
    /// (status, exit code, bindings, health) and derives the task health.
    async fn record_observation(&self, arn: &str, observed: &[ObservedContainer]) {
        let by_name: HashMap<&str, &ObservedContainer> = observed
            .iter()
            .filter_map(|o| o.container_name().map(|n| (n, o)))
            .collect();
        let changed = self.mutate(|state| {
            let task = state.tasks.get_mut(arn)?;
            let before = task.clone();
            for c in &mut task.containers {
                match by_name.get(c.name.as_str()) {
                    Some(o) => {
                        c.runtime_id = Some(o.id.clone());
                        match &o.state {
                            ContainerState::Created => c.last_status = "PENDING".into(),
                            ContainerState::Running => {
                                c.last_status = "RUNNING".into();
                                c.runtime_address = o.address.map(|a| a.to_string());
                                c.network_bindings = o
                                    .ports
                                    .iter()
                                    .map(|p| NetworkBinding {
                                        bind_ip: p.host_ip.clone(),
                                        container_port: p.container_port,
                                        host_port: p.host_port,
                                        protocol: p.protocol.clone(),
                                    })
                                    .collect();
                            }
                            ContainerState::Exited { code, oom_killed } => {
                                c.last_status = "STOPPED".into();
                                c.exit_code = Some(*code);
                                if *oom_killed {
                                    c.reason = Some(
                                        "OutOfMemoryError: Container killed due to memory usage"
                                            .into(),
                                    );
                                }
                            }
                        }
                        c.health_status = match o.health {
                            Some(Health::Healthy) => "HEALTHY",
                            Some(Health::Unhealthy) => "UNHEALTHY",
                            _ => "UNKNOWN",
                        }
                        .into();
                    }
                    None if c.last_status == "RUNNING" => {
                        c.last_status = "STOPPED".into();
                        if c.reason.is_none() {
                            c.reason = Some("Container is gone from the Docker engine".into());
                        }
                    }
                    None => {}
                }
            }
            // Task health: from essential containers that have a check.
            let checked: Vec<&str> = task
                .containers
                .iter()
                .filter(|c| c.essential)
                .filter(|c| {
                    by_name
                        .get(c.name.as_str())
                        .is_some_and(|o| o.health.is_some())
                })
                .map(|c| c.health_status.as_str())
                .collect();
            task.health_status = if checked.contains(&"UNHEALTHY") {
                "UNHEALTHY"
            } else if !checked.is_empty() && checked.iter().all(|h| *h == "HEALTHY") {
                "HEALTHY"
            } else {
                "UNKNOWN"
            }
            .into();
            let changed = *task != before;
            if changed {
                task.version += 1;
                let t = task.clone();
                (before.health_status != t.health_status).then_some(t)
            } else {
                None
            }
        });
        let changed = match changed.await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(task = %arn, "cannot record what was observed: {e}");
                None
            }
        };
        if let Some(t) = changed {
            // Health changed; observers see an event with the same status.
            self.emit(&t, t.status());
        }
    }
}

/// A step that could not be recorded fails like a runtime step.
pub(super) fn store_error(e: EngineError) -> RuntimeError {
    RuntimeError::Other(format!("cannot record the change: {e}"))
}
