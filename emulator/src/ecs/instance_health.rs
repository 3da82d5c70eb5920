//! Each engine of the fleet as ECS sees a host: its agent is connected
//! while the engine answers.
//!
//! One watcher per engine (the local one and every `emulator.docker-host`
//! in use) asks it every [`EngineConfig::instance_check`] whether it
//! answers, and pumps its container events to the task workers. When an
//! engine stops answering, its instances turn `agentConnected: false` (and
//! take no new tasks); after [`EngineConfig::instance_grace`] it is lost:
//! its tasks stop as on a terminated EC2 host, without touching the
//! unreachable containers (their workers only move them to STOPPED, the
//! scheduler drains their targets, services replace them elsewhere). When
//! it answers again its instances reconnect and the containers of tasks
//! that stopped meanwhile are removed.
//!
//! [`EngineConfig::instance_check`]: super::EngineConfig::instance_check
//! [`EngineConfig::instance_grace`]: super::EngineConfig::instance_grace

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::engine::{lock, Engine};
use crate::model::task::StopCode;
use crate::model::{Task, TaskStatus};
use crate::runtime::{labels, ContainerRuntime};

/// An engine: `None` is the local one, else its endpoint.
pub type Endpoint = Option<String>;

/// What the watcher knows of one engine.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct HostState {
    /// Not answering since then.
    pub down_since: Option<Instant>,
    /// Down for longer than the grace: its tasks are being stopped.
    pub lost: bool,
}

impl Engine {
    /// Every engine the state names: the local one, and those of its
    /// instances and live tasks.
    pub(super) fn endpoints(&self) -> BTreeSet<Endpoint> {
        self.read(|s| {
            let mut out: BTreeSet<Endpoint> = [None].into();
            out.extend(
                s.container_instances
                    .values()
                    .map(|i| i.docker_host().map(str::to_string)),
            );
            out.extend(
                s.tasks
                    .values()
                    .filter(|t| t.status() != TaskStatus::Stopped)
                    .map(|t| t.docker_host.clone()),
            );
            out
        })
    }

    /// Starts watching `endpoint` (once per engine and run, until nothing
    /// of the state names it any more).
    pub(super) fn watch(&self, endpoint: Endpoint) {
        {
            let mut hosts = lock(&self.inner.hosts);
            if hosts.contains_key(&endpoint) {
                return;
            }
            hosts.insert(endpoint.clone(), HostState::default());
        }
        // Ends both loops: the emulator stops, or the engine is no longer
        // used (its instances deregistered, its tasks stopped).
        let stop = self.inner.shutdown.child_token();
        let engine = self.clone();
        let (pumped, pump_stop) = (endpoint.clone(), stop.clone());
        tokio::spawn(async move { engine.event_pump(pumped, pump_stop).await });
        let engine = self.clone();
        tokio::spawn(async move { engine.check_loop(endpoint, stop).await });
    }

    /// Whether the task's engine is lost (its containers are out of reach
    /// for good, as far as the task is concerned).
    pub(super) fn host_lost(&self, task: &Task) -> bool {
        lock(&self.inner.hosts)
            .get(&task.docker_host)
            .is_some_and(|h| h.lost)
    }

    /// Whether the task's engine is not answering now.
    pub(super) fn host_down(&self, task: &Task) -> bool {
        lock(&self.inner.hosts)
            .get(&task.docker_host)
            .is_some_and(|h| h.down_since.is_some())
    }

    async fn check_loop(&self, endpoint: Endpoint, stop: CancellationToken) {
        let name = endpoint
            .as_deref()
            .unwrap_or("the local engine")
            .to_string();
        let check = self.inner.config.instance_check;
        // A busy engine may be slow to answer: only a refusal, or no answer
        // within the timeout, twice in a row, is an engine that is away.
        let timeout = (check * 2).max(Duration::from_secs(5));
        let mut failures = 0u32;
        let mut first = true;
        loop {
            if endpoint.is_some() && !self.endpoints().contains(&endpoint) {
                tracing::info!(engine = %name, "no instance or task uses the engine any more; not watching it");
                lock(&self.inner.hosts).remove(&endpoint);
                stop.cancel();
                return;
            }
            // Asked each time: an engine that could not be connected to
            // (a socket not there yet) is tried again.
            let runtime = self.inner.fleet.runtime(endpoint.as_deref());
            let ok = match &runtime {
                Ok(rt) => matches!(tokio::time::timeout(timeout, rt.ping()).await, Ok(Ok(()))),
                Err(_) => false,
            };
            failures = if ok { 0 } else { failures + 1 };
            // (An engine that does not answer at start is away at once.)
            let answers = (ok || !first) && failures < 2;
            let (was, now) = {
                let mut hosts = lock(&self.inner.hosts);
                let h = hosts.entry(endpoint.clone()).or_default();
                let was = *h;
                match (answers, h.down_since) {
                    (true, _) => *h = HostState::default(),
                    (false, None) => h.down_since = Some(Instant::now()),
                    (false, Some(since)) => {
                        h.lost |= since.elapsed() >= self.inner.config.instance_grace
                    }
                }
                (was, *h)
            };
            if first || was.down_since.is_some() != now.down_since.is_some() {
                if answers {
                    if !first {
                        tracing::info!(engine = %name, "the engine answers again; its instances reconnect");
                    }
                    // Before it takes tasks again. (The local engine was
                    // cleaned before the API answered: `remove_orphans`.)
                    if let (Ok(rt), false) = (&runtime, first && endpoint.is_none()) {
                        self.remove_strays(rt.as_ref(), &name).await;
                    }
                    self.set_connected(&endpoint, true).await;
                    self.wake_tasks_on(&endpoint);
                } else {
                    tracing::warn!(engine = %name, "the engine does not answer; its instances' agents are disconnected");
                    self.set_connected(&endpoint, false).await;
                }
            }
            if now.lost && !was.lost {
                tracing::warn!(engine = %name, grace = ?self.inner.config.instance_grace, "the engine is lost; stopping its tasks");
                self.stop_tasks_on(&endpoint).await;
            }
            first = false;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(check) => {}
            }
        }
    }

    /// Sets `agentConnected` of the engine's instances.
    async fn set_connected(&self, endpoint: &Endpoint, connected: bool) {
        let r = self
            .mutate(|s| {
                let arns: Vec<String> = s
                    .container_instances
                    .values()
                    .filter(|i| {
                        i.docker_host() == endpoint.as_deref() && i.agent_connected != connected
                    })
                    .map(|i| i.container_instance_arn.clone())
                    .collect();
                for arn in arns {
                    if let Some(i) = s.container_instances.get_mut(&arn) {
                        i.agent_connected = connected;
                    }
                }
            })
            .await;
        if let Err(e) = r {
            tracing::error!("cannot record an instance's agent connection: {e}");
        }
    }

    fn wake_tasks_on(&self, endpoint: &Endpoint) {
        let arns: Vec<String> = self.read(|s| {
            s.tasks
                .values()
                .filter(|t| t.docker_host == *endpoint && t.status() != TaskStatus::Stopped)
                .map(|t| t.task_arn.clone())
                .collect()
        });
        for arn in arns {
            self.wake(&arn);
        }
    }

    /// Stops the live tasks of a lost engine, as ECS stops the tasks of a
    /// terminated host.
    async fn stop_tasks_on(&self, endpoint: &Endpoint) {
        let tasks: Vec<(String, String)> = self.read(|s| {
            s.tasks
                .values()
                .filter(|t| t.docker_host == *endpoint && t.status() != TaskStatus::Stopped)
                .map(|t| {
                    let ec2 = s
                        .container_instances
                        .get(&t.container_instance_arn)
                        .map(|i| i.ec2_instance_id.clone())
                        .unwrap_or_else(|| t.container_instance_arn.clone());
                    (t.task_arn.clone(), ec2)
                })
                .collect()
        });
        for (arn, ec2) in tasks {
            let reason = format!("Host EC2 (instance {ec2}) stopped/terminated.");
            if let Err(e) = self
                .request_stop(&arn, &reason, StopCode::TerminationNotice)
                .await
            {
                tracing::error!(task = %arn, "cannot record the stop: {e}");
            }
            // A task already stopping for another reason stops now too.
            self.wake(&arn);
        }
    }

    /// Removes this emulator's containers (and task networks) on `runtime`
    /// whose task is not live: unknown to the state (a lost or replaced
    /// state) or stopped while the engine was out of reach. Returns their
    /// names.
    pub(super) async fn remove_strays(&self, rt: &dyn ContainerRuntime, name: &str) -> Vec<String> {
        let instance = self.inner.config.instance.clone();
        let filter = [(labels::INSTANCE, instance.as_str())];
        // Listed before the state is read: a task is recorded before its
        // containers are made, so one made meanwhile is known.
        let containers = rt.list_containers(&filter).await;
        let networks = rt.list_networks(&filter).await;
        let known = self.snapshot();
        let live = |arn: &str| {
            known
                .tasks
                .get(arn)
                .is_some_and(|t| t.status() != TaskStatus::Stopped)
        };
        let mut removed = Vec::new();
        match containers {
            Ok(containers) => {
                for c in containers {
                    let Some(arn) = c.task_arn() else { continue };
                    if live(arn) {
                        continue;
                    }
                    tracing::warn!(engine = %name, container = %c.runtime_name, task = %arn, "removing a container of a task that is not running");
                    match rt.remove_container(&c.runtime_name).await {
                        Ok(()) => removed.push(c.runtime_name),
                        Err(e) => {
                            tracing::error!(container = %c.runtime_name, "cannot remove: {e}")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(engine = %name, "cannot look for stray containers: {e}"),
        }
        let live_networks: std::collections::HashSet<String> = known
            .tasks
            .values()
            .filter(|t| t.status() != TaskStatus::Stopped)
            .map(Self::network_name)
            .collect();
        if let Ok(networks) = networks {
            for n in networks {
                if n.starts_with("ecs-task-") && !live_networks.contains(&n) {
                    tracing::warn!(engine = %name, network = %n, "removing a network of a task that is not running");
                    if rt.remove_network(&n).await.is_ok() {
                        removed.push(n);
                    }
                }
            }
        }
        removed
    }

    /// Container events of one engine wake the workers of their tasks;
    /// reconnects with a backoff while the engine is away.
    async fn event_pump(&self, endpoint: Endpoint, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let mut stream = match self.inner.fleet.runtime(endpoint.as_deref()) {
                Ok(runtime) => runtime.events(&self.inner.config.instance),
                Err(e) => Box::pin(futures_util::stream::once(std::future::ready(Err(e)))),
            };
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    ev = stream.next() => match ev {
                        Some(Ok(ev)) => {
                            backoff = Duration::from_millis(200);
                            tracing::debug!(action = %ev.action, container = %ev.container_id, "docker event");
                            if let Some(arn) = ev.task_arn() {
                                self.wake(arn);
                            }
                        }
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "docker event stream failed; reconnecting");
                            break;
                        }
                        None => break,
                    }
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

/// Hosts by endpoint, as the watchers last saw them.
pub(super) type Hosts = HashMap<Endpoint, HostState>;
