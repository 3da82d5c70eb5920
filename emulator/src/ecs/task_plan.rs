//! The task reconciler's pure half: `plan(task, definition, observed) ->
//! Vec<Step>`.
//!
//! The plan is level-triggered: it never knows why it runs (an event, a
//! timer, a restart of the emulator) and looks only at the stored task and
//! the containers that exist now. The executor applies one batch of steps,
//! observes again and asks for the next batch, so the same code starts a
//! task, follows its essential container dying, stops it, and adopts it
//! after the emulator was killed.

use std::collections::HashMap;

use crate::model::task::{StopCode, Task, TaskStatus};
use crate::model::task_definition::TaskDefinition;
use crate::runtime::{ContainerState, Health, ObservedContainer};

/// One thing to do. Container steps name the ECS container.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Move `lastStatus` forward.
    Advance(TaskStatus),
    CreateNetwork,
    /// Get every container's image, as the agent pulls them all before
    /// creating any container (pull from the registry, build the project's
    /// own, fail others); ends with `pullStoppedAt`.
    PullImages,
    CreateContainer(String),
    StartContainer(String),
    StopContainer(String),
    RemoveContainer(String),
    RemoveNetwork,
    /// Decide that the task stops (desired STOPPED), with this reason.
    Stop {
        reason: String,
        code: StopCode,
    },
}

impl Step {
    /// The container a create, start or remove step is about: such steps
    /// of different containers may run at once.
    fn concurrent_container(&self) -> Option<&str> {
        match self {
            Step::CreateContainer(n) | Step::StartContainer(n) | Step::RemoveContainer(n) => {
                Some(n)
            }
            _ => None,
        }
    }
}

/// Splits a plan into waves that run one after another. A wave is either
/// one step, or the create/start/remove steps of several containers in a
/// row (the plan only puts containers side by side whose dependencies
/// are met): one chain per container, its own steps in order, the chains
/// at once. The agent does the same: a task's independent containers
/// start together, which matters when each start costs the engine a few
/// hundred milliseconds (four node containers behind one link).
pub fn waves(steps: Vec<Step>) -> Vec<Vec<Vec<Step>>> {
    let mut waves: Vec<Vec<Vec<Step>>> = Vec::new();
    let mut group: Vec<Vec<Step>> = Vec::new();
    for step in steps {
        match step.concurrent_container() {
            Some(name) => {
                let chain = group
                    .iter_mut()
                    .find(|c| c[0].concurrent_container() == Some(name));
                match chain {
                    Some(c) => c.push(step),
                    None => group.push(vec![step]),
                }
            }
            None => {
                if !group.is_empty() {
                    waves.push(std::mem::take(&mut group));
                }
                waves.push(vec![vec![step]]);
            }
        }
    }
    if !group.is_empty() {
        waves.push(group);
    }
    waves
}

/// The ECS reason for a task whose essential container exited.
pub const ESSENTIAL_EXITED: &str = "Essential container in task exited";

fn observed_by_name(observed: &[ObservedContainer]) -> HashMap<&str, &ObservedContainer> {
    observed
        .iter()
        .filter_map(|o| o.container_name().map(|n| (n, o)))
        .collect()
}

/// Whether a dependency condition holds; `Err` when it never will.
fn condition(cond: &str, dep: Option<&ObservedContainer>) -> Result<bool, ()> {
    let Some(dep) = dep else { return Ok(false) };
    match (cond, &dep.state) {
        ("START", ContainerState::Running | ContainerState::Exited { .. }) => Ok(true),
        ("COMPLETE", ContainerState::Exited { .. }) => Ok(true),
        ("SUCCESS", ContainerState::Exited { code: 0, .. }) => Ok(true),
        ("SUCCESS", ContainerState::Exited { .. }) => Err(()),
        ("HEALTHY", ContainerState::Running) => match dep.health {
            Some(Health::Healthy) => Ok(true),
            Some(Health::Unhealthy) => Err(()),
            _ => Ok(false),
        },
        ("HEALTHY", ContainerState::Exited { .. }) => Err(()),
        _ => Ok(false),
    }
}

/// The next batch of steps for one task. Empty: nothing to do until
/// something changes.
pub fn plan(task: &Task, def: &TaskDefinition, observed: &[ObservedContainer]) -> Vec<Step> {
    let status = task.status();
    if status == TaskStatus::Stopped {
        return Vec::new();
    }
    let by_name = observed_by_name(observed);
    let order = def.start_order();

    let stopping = !task.wants_running() || status >= TaskStatus::Deactivating;
    if stopping {
        return match status {
            s if s < TaskStatus::Deactivating => {
                vec![
                    Step::Advance(TaskStatus::Deactivating),
                    Step::Advance(TaskStatus::Stopping),
                ]
            }
            TaskStatus::Deactivating => vec![Step::Advance(TaskStatus::Stopping)],
            TaskStatus::Stopping => {
                // Dependents first: reverse start order.
                let mut steps: Vec<Step> = order
                    .iter()
                    .rev()
                    .filter(|n| matches!(by_name.get(n.as_str()), Some(o) if o.state == ContainerState::Running))
                    .map(|n| Step::StopContainer(n.clone()))
                    .collect();
                steps.push(Step::Advance(TaskStatus::Deprovisioning));
                steps
            }
            _ => {
                let mut steps: Vec<Step> = order
                    .iter()
                    .filter(|n| by_name.contains_key(n.as_str()))
                    .map(|n| Step::RemoveContainer(n.clone()))
                    .collect();
                steps.push(Step::RemoveNetwork);
                steps.push(Step::Advance(TaskStatus::Stopped));
                steps
            }
        };
    }

    // A task saved at PROVISIONING (by an emulator before tasks began at
    // PENDING) makes its network and moves on.
    if status == TaskStatus::Provisioning {
        return vec![Step::CreateNetwork, Step::Advance(TaskStatus::Pending)];
    }

    // An essential container that exited (or vanished after running) stops
    // the task.
    for c in &def.container_definitions {
        let was_running = task
            .container(&c.name)
            .is_some_and(|k| k.last_status == "RUNNING");
        let gone = match by_name.get(c.name.as_str()) {
            Some(o) => matches!(o.state, ContainerState::Exited { .. }),
            None => was_running,
        };
        if gone && c.is_essential() {
            return vec![Step::Stop {
                reason: ESSENTIAL_EXITED.into(),
                code: StopCode::EssentialContainerExited,
            }];
        }
    }

    // Images before anything else: a task stays PENDING while pulling.
    // (Alone in its batch: the network is made once, in the next one.)
    if status == TaskStatus::Pending && task.pull_stopped_at.is_none() {
        return vec![Step::PullImages];
    }
    let mut steps = Vec::new();
    // The task's network comes before its first container (in the batch
    // that creates containers, so it is made once: Docker allows two
    // networks of one name).
    if status == TaskStatus::Pending && observed.is_empty() {
        steps.push(Step::CreateNetwork);
    }
    let mut all_up = true;
    for name in &order {
        let Some(c) = def.container(name) else {
            continue;
        };
        match by_name.get(name.as_str()).map(|o| &o.state) {
            Some(ContainerState::Running) => continue,
            Some(ContainerState::Exited { .. }) => continue, // non-essential, done
            Some(ContainerState::Created) => {
                all_up = false;
                steps.push(Step::StartContainer(name.clone()));
                continue;
            }
            None => {}
        }
        all_up = false;
        if task
            .container(name)
            .is_some_and(|k| k.last_status == "STOPPED")
        {
            // A non-essential container that ran and was removed: done.
            all_up = true;
            continue;
        }
        let mut ready = true;
        let deps = c
            .depends_on
            .iter()
            .map(|d| (d.container_name.as_str(), d.condition.as_str()))
            .chain(
                c.links
                    .iter()
                    .map(|l| (l.split(':').next().unwrap_or_default(), "START")),
            );
        for (dep, cond) in deps {
            match condition(cond, by_name.get(dep).copied()) {
                Ok(true) => {}
                Ok(false) => ready = false,
                Err(()) => {
                    return vec![Step::Stop {
                        reason: format!(
                            "Container {name} cannot start: dependency {dep} did not reach condition {cond}"
                        ),
                        code: StopCode::TaskFailedToStart,
                    }]
                }
            }
        }
        if ready {
            steps.push(Step::CreateContainer(name.clone()));
            steps.push(Step::StartContainer(name.clone()));
        }
    }
    if all_up && status < TaskStatus::Running {
        steps.push(Step::Advance(TaskStatus::Activating));
        steps.push(Step::Advance(TaskStatus::Running));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::task::Container;
    use crate::runtime::labels;

    fn def() -> TaskDefinition {
        serde_json::from_value(serde_json::json!({
            "family": "web", "revision": 1,
            "containerDefinitions": [
                {"name": "app", "image": "i", "memory": 64, "links": ["db"]},
                {"name": "db", "image": "i", "memory": 64},
                {"name": "init", "image": "i", "memory": 64, "essential": false}
            ]
        }))
        .unwrap()
    }

    fn task(status: TaskStatus, desired: TaskStatus) -> Task {
        Task {
            task_arn: "arn:aws:ecs:us-east-1:0:task/c/t1".into(),
            last_status: Some(status),
            desired_status: Some(desired),
            containers: ["app", "db", "init"]
                .iter()
                .map(|n| Container {
                    name: n.to_string(),
                    last_status: "PENDING".into(),
                    ..Default::default()
                })
                .collect(),
            pull_stopped_at: Some(1.0),
            ..Default::default()
        }
    }

    fn obs(name: &str, state: ContainerState) -> ObservedContainer {
        let mut l = HashMap::new();
        l.insert(labels::CONTAINER_NAME.to_string(), name.to_string());
        ObservedContainer {
            id: name.into(),
            runtime_name: name.into(),
            labels: l,
            state,
            health: None,
            ports: vec![],
            address: None,
        }
    }

    const RUN: ContainerState = ContainerState::Running;
    fn exited(code: i64) -> ContainerState {
        ContainerState::Exited {
            code,
            oom_killed: false,
        }
    }

    use TaskStatus::*;

    #[test]
    fn provisioning_creates_the_network_first() {
        assert_eq!(
            plan(&task(Provisioning, Running), &def(), &[]),
            vec![Step::CreateNetwork, Step::Advance(Pending)]
        );
    }

    #[test]
    fn a_new_pending_task_makes_its_network_before_any_container() {
        let steps = plan(&task(Pending, Running), &def(), &[]);
        assert_eq!(steps.first(), Some(&Step::CreateNetwork), "{steps:?}");
        let later = plan(&task(Pending, Running), &def(), &[obs("db", RUN)]);
        assert!(!later.contains(&Step::CreateNetwork), "{later:?}");
    }

    #[test]
    fn a_pending_task_pulls_its_images_before_creating_containers() {
        let mut t = task(Pending, Running);
        t.pull_stopped_at = None;
        assert_eq!(plan(&t, &def(), &[]), vec![Step::PullImages]);
        // Adopted half-way (some containers there): pull, then go on.
        assert_eq!(plan(&t, &def(), &[obs("db", RUN)]), vec![Step::PullImages]);
        t.pull_stopped_at = Some(2.0);
        let next = plan(&t, &def(), &[]);
        assert_eq!(next.first(), Some(&Step::CreateNetwork), "{next:?}");
        assert!(!next.contains(&Step::PullImages));
        // Running tasks are never pulled for again.
        let mut running = task(Running, Running);
        running.pull_stopped_at = None;
        let o = [obs("db", RUN), obs("init", RUN), obs("app", RUN)];
        assert!(plan(&running, &def(), &o).is_empty());
    }

    #[test]
    fn pending_starts_dependencies_before_dependents() {
        let steps = plan(&task(Pending, Running), &def(), &[]);
        let started: Vec<_> = steps
            .iter()
            .filter_map(|s| match s {
                Step::StartContainer(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(started, ["db", "init"], "app waits for its link db");
        let steps = plan(
            &task(Pending, Running),
            &def(),
            &[obs("db", RUN), obs("init", RUN)],
        );
        assert_eq!(
            steps,
            vec![
                Step::CreateContainer("app".into()),
                Step::StartContainer("app".into())
            ]
        );
    }

    #[test]
    fn independent_containers_start_in_one_wave_and_their_dependent_after() {
        use Step::*;
        let c = |n: &str| CreateContainer(n.into());
        let s = |n: &str| StartContainer(n.into());
        let w = waves(vec![
            CreateNetwork,
            c("paul"),
            s("paul"),
            c("george"),
            s("george"),
            Advance(TaskStatus::Activating),
            c("john"),
            s("john"),
        ]);
        assert_eq!(
            w,
            vec![
                vec![vec![CreateNetwork]],
                vec![vec![c("paul"), s("paul")], vec![c("george"), s("george")]],
                vec![vec![Advance(TaskStatus::Activating)]],
                vec![vec![c("john"), s("john")]],
            ]
        );
        // Stops stay one by one, in the plan's (reverse dependency) order.
        let stops = waves(vec![
            StopContainer("john".into()),
            StopContainer("paul".into()),
        ]);
        assert_eq!(stops.len(), 2);
    }

    #[test]
    fn created_but_not_started_containers_are_started() {
        let steps = plan(
            &task(Pending, Running),
            &def(),
            &[obs("db", ContainerState::Created), obs("init", RUN)],
        );
        assert_eq!(steps, vec![Step::StartContainer("db".into())]);
    }

    #[test]
    fn all_running_moves_through_activating_to_running() {
        let o = [obs("db", RUN), obs("init", RUN), obs("app", RUN)];
        assert_eq!(
            plan(&task(Pending, Running), &def(), &o),
            vec![Step::Advance(Activating), Step::Advance(Running)]
        );
        assert!(
            plan(&task(Running, Running), &def(), &o).is_empty(),
            "steady state: nothing to do"
        );
    }

    #[test]
    fn a_finished_non_essential_container_does_not_block_running() {
        let o = [obs("db", RUN), obs("init", exited(0)), obs("app", RUN)];
        assert_eq!(
            plan(&task(Pending, Running), &def(), &o),
            vec![Step::Advance(Activating), Step::Advance(Running)]
        );
        assert!(plan(&task(Running, Running), &def(), &o).is_empty());
    }

    #[test]
    fn essential_exit_stops_the_task() {
        let o = [obs("db", exited(137)), obs("init", RUN), obs("app", RUN)];
        let steps = plan(&task(Running, Running), &def(), &o);
        assert_eq!(
            steps,
            vec![Step::Stop {
                reason: ESSENTIAL_EXITED.into(),
                code: StopCode::EssentialContainerExited
            }]
        );
    }

    #[test]
    fn an_essential_container_that_vanished_after_running_stops_the_task() {
        let mut t = task(Running, Running);
        for c in &mut t.containers {
            c.last_status = "RUNNING".into();
        }
        let o = [obs("db", RUN), obs("init", RUN)];
        assert!(matches!(
            &plan(&t, &def(), &o)[..],
            [Step::Stop {
                code: StopCode::EssentialContainerExited,
                ..
            }]
        ));
    }

    #[test]
    fn adoption_of_a_running_task_needs_no_steps() {
        let mut t = task(Running, Running);
        for c in &mut t.containers {
            c.last_status = "RUNNING".into();
        }
        let o = [obs("db", RUN), obs("init", RUN), obs("app", RUN)];
        assert!(plan(&t, &def(), &o).is_empty());
    }

    #[test]
    fn stopping_goes_through_every_status_and_removes_everything() {
        let o = [obs("db", RUN), obs("init", exited(0)), obs("app", RUN)];
        for s in [Provisioning, Pending, Activating, Running] {
            assert_eq!(
                plan(&task(s, Stopped), &def(), &o),
                vec![Step::Advance(Deactivating), Step::Advance(Stopping)]
            );
        }
        assert_eq!(
            plan(&task(Deactivating, Stopped), &def(), &o),
            vec![Step::Advance(Stopping)]
        );
        assert_eq!(
            plan(&task(Stopping, Stopped), &def(), &o),
            vec![
                Step::StopContainer("app".into()),
                Step::StopContainer("db".into()),
                Step::Advance(Deprovisioning)
            ]
        );
        assert_eq!(
            plan(&task(Deprovisioning, Stopped), &def(), &o),
            vec![
                Step::RemoveContainer("db".into()),
                Step::RemoveContainer("init".into()),
                Step::RemoveContainer("app".into()),
                Step::RemoveNetwork,
                Step::Advance(Stopped)
            ]
        );
        assert!(plan(&task(Stopped, Stopped), &def(), &o).is_empty());
    }

    #[test]
    fn a_stopping_task_keeps_stopping_even_if_desired_running() {
        // lastStatus never goes back: once deactivating, the task ends.
        assert_eq!(
            plan(&task(Stopping, Running), &def(), &[]),
            vec![Step::Advance(Deprovisioning)]
        );
    }

    fn dep_def(cond: &str) -> TaskDefinition {
        serde_json::from_value(serde_json::json!({
            "family": "web", "revision": 1,
            "containerDefinitions": [
                {"name": "app", "image": "i", "memory": 64,
                 "dependsOn": [{"containerName": "db", "condition": cond}]},
                {"name": "db", "image": "i", "memory": 64, "essential": false,
                 "healthCheck": {"command": ["CMD", "true"]}}
            ]
        }))
        .unwrap()
    }

    fn starts_app(steps: &[Step]) -> bool {
        steps.contains(&Step::StartContainer("app".into()))
    }

    #[test]
    fn depends_on_conditions_are_honoured() {
        let t = task(Pending, Running);
        let mut db = obs("db", RUN);
        // START
        assert!(starts_app(&plan(&t, &dep_def("START"), &[db.clone()])));
        // HEALTHY: waits while starting, goes once healthy, fails if unhealthy.
        db.health = Some(Health::Starting);
        assert!(!starts_app(&plan(&t, &dep_def("HEALTHY"), &[db.clone()])));
        db.health = Some(Health::Healthy);
        assert!(starts_app(&plan(&t, &dep_def("HEALTHY"), &[db.clone()])));
        db.health = Some(Health::Unhealthy);
        assert!(matches!(
            &plan(&t, &dep_def("HEALTHY"), &[db.clone()])[..],
            [Step::Stop {
                code: StopCode::TaskFailedToStart,
                ..
            }]
        ));
        // COMPLETE and SUCCESS.
        assert!(!starts_app(&plan(
            &t,
            &dep_def("COMPLETE"),
            &[obs("db", RUN)]
        )));
        assert!(starts_app(&plan(
            &t,
            &dep_def("COMPLETE"),
            &[obs("db", exited(3))]
        )));
        assert!(starts_app(&plan(
            &t,
            &dep_def("SUCCESS"),
            &[obs("db", exited(0))]
        )));
        assert!(matches!(
            &plan(&t, &dep_def("SUCCESS"), &[obs("db", exited(1))])[..],
            [Step::Stop { .. }]
        ));
    }
}
