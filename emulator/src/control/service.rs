//! The service scheduler's pure half: `plan(service, observed) -> Vec<Step>`.
//!
//! Like the task reconciler ([`super::task`]) it is level-triggered: it
//! never knows why it runs. It looks at the stored service (deployments,
//! configuration, what it already counted) and at what is observed now
//! (the service's tasks, each with its instance's status and its target
//! health in every target group of the service) and says what to do next.
//! The executor ([`super::scheduler`]) applies the steps and asks again.
//!
//! What the plan guarantees:
//! - `desiredCount` tasks of the PRIMARY deployment on ACTIVE instances;
//! - every RUNNING task registered in each target group of the service;
//! - a task is only *stopped* here; draining happens in the task's
//!   DEACTIVATING hook, before any container is stopped;
//! - during a rollout (new deployment, DRAINING instance), at most
//!   `maximumPercent` of the desired count exist and at least
//!   `minimumHealthyPercent` stay healthy (RUNNING and healthy in every
//!   target group);
//! - a task that is unhealthy after the grace period is replaced, and
//!   failures of an IN_PROGRESS deployment trip the circuit breaker.

use std::collections::BTreeMap;

use crate::model::service::{self, Service, COMPLETED, FAILED, IN_PROGRESS, PRIMARY};
use crate::model::task::{StopCode, TaskStatus};

/// A task's target in one target group, as the balancer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    NotRegistered,
    Initial,
    Healthy,
    Unhealthy,
    Draining,
}

/// One task of the service as observed now.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedTask {
    pub arn: String,
    /// The deployment that started it (the task's `startedBy`).
    pub deployment: String,
    pub status: TaskStatus,
    pub wants_running: bool,
    pub stop_code: Option<StopCode>,
    /// When it became RUNNING (epoch seconds).
    pub started_at: Option<f64>,
    pub availability_zone: String,
    /// Its container instance is ACTIVE (not DRAINING, not gone).
    pub instance_active: bool,
    /// An essential container reports UNHEALTHY (container health check).
    pub container_unhealthy: bool,
    /// One entry per load balancer of the service, in order.
    pub targets: Vec<TargetState>,
}

impl ObservedTask {
    fn live(&self) -> bool {
        self.wants_running && self.status < TaskStatus::Deactivating
    }
    fn healthy(&self) -> bool {
        self.status == TaskStatus::Running
            && !self.container_unhealthy
            && self.targets.iter().all(|t| *t == TargetState::Healthy)
    }
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Register the task in every target group it is missing from.
    RegisterTargets {
        task: String,
    },
    /// Run `count` tasks of the deployment (placement may refuse some).
    StartTasks {
        deployment: String,
        count: u32,
    },
    /// Stop a task (the engine drains it first). `failed`: count it
    /// against its deployment.
    StopTask {
        task: String,
        reason: String,
        failed: bool,
    },
    /// A task of an IN_PROGRESS deployment stopped by itself.
    RecordFailure {
        deployment: String,
        task: String,
    },
    /// The circuit breaker tripped: the deployment is FAILED; roll back to
    /// the given (last COMPLETED) deployment when there is one.
    TripCircuitBreaker {
        deployment: String,
        rollback_to: Option<String>,
    },
    CompleteDeployment {
        deployment: String,
    },
    /// An older deployment with no task left, once the PRIMARY completed.
    RemoveDeployment {
        deployment: String,
    },
    /// Say "has reached a steady state" (once per steady period).
    SteadyState,
    /// A deleted service has no task left: it becomes INACTIVE.
    Inactivate,
}

/// What is observed now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// The service's tasks, stopped ones included.
    pub tasks: Vec<ObservedTask>,
    pub now: f64,
}

/// The reason ECS gives a task it stops for failing target health checks.
pub fn elb_unhealthy_reason(target_group: &str) -> String {
    format!("Task failed ELB health checks in (target-group {target_group})")
}

/// The reason for a task failing its container health check.
pub const CONTAINER_UNHEALTHY: &str = "Task failed container health checks";
/// The reason for tasks stopped to scale in or finish a rollout.
pub const SCHEDULER_STOP: &str = "Scaling activity initiated by (deployment {})";

/// The next steps for one service.
pub fn plan(svc: &Service, obs: &Observed) -> Vec<Step> {
    let mut steps = Vec::new();
    if svc.status == "INACTIVE" {
        return steps;
    }
    let deleting = svc.status == "DRAINING";
    if deleting && obs.tasks.iter().all(|t| t.status == TaskStatus::Stopped) {
        return vec![Step::Inactivate];
    }
    let Some(primary) = svc.primary() else {
        return steps;
    };
    let desired = if deleting { 0 } else { svc.desired_count };
    let grace = f64::from(svc.health_check_grace_period_seconds.unwrap_or(0));
    let in_progress = |dep: &str| {
        svc.deployments
            .iter()
            .any(|d| d.id == dep && d.rollout_state == IN_PROGRESS)
    };
    let mut primary_failures = primary.failed_tasks;

    // Tasks that stopped by themselves count against their deployment.
    for t in &obs.tasks {
        let self_stopped = matches!(
            t.stop_code,
            Some(StopCode::EssentialContainerExited | StopCode::TaskFailedToStart)
        );
        if t.status == TaskStatus::Stopped && self_stopped && in_progress(&t.deployment) {
            let counted = svc
                .deployments
                .iter()
                .any(|d| d.id == t.deployment && d.failed_task_arns.contains(&t.arn));
            if !counted {
                if t.deployment == primary.id {
                    primary_failures += 1;
                }
                steps.push(Step::RecordFailure {
                    deployment: t.deployment.clone(),
                    task: t.arn.clone(),
                });
            }
        }
    }

    // RUNNING tasks belong in their target groups.
    for t in obs.tasks.iter().filter(|t| t.live()) {
        if t.status == TaskStatus::Running && t.targets.contains(&TargetState::NotRegistered) {
            steps.push(Step::RegisterTargets {
                task: t.arn.clone(),
            });
        }
    }

    // Unhealthy after the grace period: replace.
    let mut stopped: Vec<&str> = Vec::new();
    for t in obs.tasks.iter().filter(|t| t.live()) {
        let past_grace = t.started_at.is_some_and(|s| obs.now - s >= grace);
        if t.status != TaskStatus::Running || !past_grace {
            continue;
        }
        let reason = if t.container_unhealthy {
            Some(CONTAINER_UNHEALTHY.to_string())
        } else {
            t.targets
                .iter()
                .position(|s| *s == TargetState::Unhealthy)
                .map(|i| {
                    elb_unhealthy_reason(
                        svc.load_balancers[i]
                            .target_group_arn
                            .as_deref()
                            .unwrap_or(""),
                    )
                })
        };
        if let Some(reason) = reason {
            let failed = in_progress(&t.deployment);
            if failed && t.deployment == primary.id {
                primary_failures += 1;
            }
            steps.push(Step::StopTask {
                task: t.arn.clone(),
                reason,
                failed,
            });
            stopped.push(&t.arn);
        }
    }

    // The circuit breaker.
    let cb = &svc.deployment_configuration.deployment_circuit_breaker;
    if cb.enable
        && !deleting
        && primary.rollout_state == IN_PROGRESS
        && primary_failures >= service::failure_threshold(desired)
    {
        let rollback_to = cb
            .rollback
            .then(|| {
                svc.deployments
                    .iter()
                    .filter(|d| d.status != PRIMARY && d.rollout_state == COMPLETED)
                    .max_by(|a, b| a.created_at.total_cmp(&b.created_at))
                    .map(|d| d.id.clone())
            })
            .flatten();
        steps.push(Step::TripCircuitBreaker {
            deployment: primary.id.clone(),
            rollback_to,
        });
        return steps;
    }

    let live: Vec<&ObservedTask> = obs
        .tasks
        .iter()
        .filter(|t| t.live() && !stopped.contains(&t.arn.as_str()))
        .collect();
    let (keep, outgoing): (Vec<&ObservedTask>, Vec<&ObservedTask>) = live
        .iter()
        .partition(|t| t.deployment == primary.id && t.instance_active);
    let not_stopped = obs
        .tasks
        .iter()
        .filter(|t| t.status != TaskStatus::Stopped)
        .count() as u32;
    let percent = |pct: u32, up: bool| {
        let p = u64::from(desired) * u64::from(pct);
        (if up { p.div_ceil(100) } else { p / 100 }) as u32
    };
    let max_total = percent(svc.deployment_configuration.maximum_percent, false);
    let min_healthy = percent(svc.deployment_configuration.minimum_healthy_percent, true);

    // Start within maximumPercent.
    let keep_n = keep.len() as u32;
    let mut started = 0;
    if primary.rollout_state != FAILED && keep_n < desired {
        let room = max_total.saturating_sub(not_stopped);
        started = (desired - keep_n).min(room);
        if started > 0 {
            steps.push(Step::StartTasks {
                deployment: primary.id.clone(),
                count: started,
            });
        }
    }

    // Stop without going under minimumHealthyPercent: tasks that are not
    // healthy cost nothing; each healthy one costs one from the budget.
    let healthy_now = live.iter().filter(|t| t.healthy()).count() as u32;
    let mut budget = healthy_now.saturating_sub(min_healthy);
    let mut victims: Vec<&ObservedTask> = Vec::new();
    // Outgoing tasks all go: unhealthy first, then the oldest deployments'.
    let mut out = outgoing.clone();
    out.sort_by_key(|t| (t.healthy(), t.started_at.map(|s| s as i64), t.arn.clone()));
    victims.extend(out);
    // Scale in: excess tasks of the primary, unhealthy first, then from
    // the zone holding most of them.
    if keep_n > desired {
        let mut pool = keep.clone();
        let mut per_az: BTreeMap<&str, u32> = BTreeMap::new();
        for t in &keep {
            *per_az.entry(&t.availability_zone).or_default() += 1;
        }
        for _ in 0..keep_n - desired {
            pool.sort_by_key(|t| {
                (
                    t.healthy(),
                    std::cmp::Reverse(per_az[t.availability_zone.as_str()]),
                    std::cmp::Reverse(t.started_at.map(|s| s as i64)),
                    t.arn.clone(),
                )
            });
            let v = pool.remove(0);
            *per_az
                .get_mut(v.availability_zone.as_str())
                .expect("counted") -= 1;
            victims.push(v);
        }
    }
    let mut stops = 0;
    for v in victims {
        if v.healthy() {
            if budget == 0 {
                continue;
            }
            budget -= 1;
        }
        stops += 1;
        steps.push(Step::StopTask {
            task: v.arn.clone(),
            reason: SCHEDULER_STOP.replace("{}", &primary.id),
            failed: false,
        });
    }

    // Done when exactly the desired tasks of the primary run healthy and
    // nothing else is left (old tasks drained and stopped).
    let settled = started == 0
        && stops == 0
        && stopped.is_empty()
        && keep_n == desired
        && keep.iter().all(|t| t.healthy())
        && not_stopped == keep_n;
    let mut completed = primary.rollout_state == COMPLETED;
    if settled && primary.rollout_state == IN_PROGRESS && !deleting {
        steps.push(Step::CompleteDeployment {
            deployment: primary.id.clone(),
        });
        completed = true;
    }
    if completed {
        for d in svc.deployments.iter().filter(|d| d.status != PRIMARY) {
            let has_tasks = obs
                .tasks
                .iter()
                .any(|t| t.deployment == d.id && t.status != TaskStatus::Stopped);
            if !has_tasks {
                steps.push(Step::RemoveDeployment {
                    deployment: d.id.clone(),
                });
            }
        }
    }
    if settled && completed && !svc.steady && !deleting {
        steps.push(Step::SteadyState);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::service::{CircuitBreaker, Deployment, LoadBalancer, ACTIVE};

    const NOW: f64 = 1000.0;

    fn dep(id: &str, status: &str, rollout: &str, created: f64) -> Deployment {
        Deployment {
            id: id.into(),
            status: status.into(),
            task_definition: format!("td:{id}"),
            rollout_state: rollout.into(),
            created_at: created,
            ..Default::default()
        }
    }

    fn svc(desired: u32, deployments: Vec<Deployment>) -> Service {
        Service {
            service_name: "s".into(),
            status: "ACTIVE".into(),
            desired_count: desired,
            load_balancers: vec![LoadBalancer {
                target_group_arn: Some("tg".into()),
                container_name: "c".into(),
                container_port: 3000,
                ..Default::default()
            }],
            deployments,
            ..Default::default()
        }
    }

    fn one(desired: u32) -> Service {
        svc(desired, vec![dep("new", PRIMARY, IN_PROGRESS, 2.0)])
    }

    fn task(arn: &str, deployment: &str, status: TaskStatus, target: TargetState) -> ObservedTask {
        ObservedTask {
            arn: arn.into(),
            deployment: deployment.into(),
            status,
            wants_running: status != TaskStatus::Stopped,
            stop_code: None,
            started_at: (status >= TaskStatus::Running).then_some(NOW - 100.0),
            availability_zone: "a".into(),
            instance_active: true,
            container_unhealthy: false,
            targets: vec![target],
        }
    }

    fn healthy(arn: &str, deployment: &str) -> ObservedTask {
        task(arn, deployment, TaskStatus::Running, TargetState::Healthy)
    }

    fn obs(tasks: Vec<ObservedTask>) -> Observed {
        Observed { tasks, now: NOW }
    }

    fn start(n: u32) -> Step {
        Step::StartTasks {
            deployment: "new".into(),
            count: n,
        }
    }

    fn stops(steps: &[Step]) -> Vec<&str> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::StopTask { task, .. } => Some(task.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn new_service_starts_desired_count() {
        assert_eq!(plan(&one(3), &obs(vec![])), vec![start(3)]);
    }

    #[test]
    fn pending_tasks_are_not_started_twice() {
        let o = obs(vec![
            task(
                "a",
                "new",
                TaskStatus::Provisioning,
                TargetState::NotRegistered,
            ),
            task("b", "new", TaskStatus::Pending, TargetState::NotRegistered),
        ]);
        assert_eq!(plan(&one(3), &o), vec![start(1)]);
    }

    #[test]
    fn running_task_without_target_is_registered() {
        let o = obs(vec![task(
            "a",
            "new",
            TaskStatus::Running,
            TargetState::NotRegistered,
        )]);
        assert_eq!(
            plan(&one(1), &o),
            vec![Step::RegisterTargets { task: "a".into() }]
        );
    }

    #[test]
    fn healthy_desired_tasks_complete_the_deployment_then_steady_state() {
        let o = obs(vec![healthy("a", "new"), healthy("b", "new")]);
        assert_eq!(
            plan(&one(2), &o),
            vec![
                Step::CompleteDeployment {
                    deployment: "new".into()
                },
                Step::SteadyState
            ]
        );
        let mut s = one(2);
        s.deployments[0].rollout_state = COMPLETED.into();
        assert_eq!(plan(&s, &o), vec![Step::SteadyState]);
        s.steady = true;
        assert_eq!(plan(&s, &o), vec![]);
    }

    #[test]
    fn initial_targets_do_not_complete_a_deployment() {
        let o = obs(vec![task(
            "a",
            "new",
            TaskStatus::Running,
            TargetState::Initial,
        )]);
        assert_eq!(plan(&one(1), &o), vec![]);
    }

    #[test]
    fn dead_task_is_replaced_and_counted_while_in_progress() {
        let mut dead = task("a", "new", TaskStatus::Stopped, TargetState::NotRegistered);
        dead.stop_code = Some(StopCode::EssentialContainerExited);
        let steps = plan(&one(1), &obs(vec![dead.clone()]));
        assert_eq!(
            steps,
            vec![
                Step::RecordFailure {
                    deployment: "new".into(),
                    task: "a".into()
                },
                start(1)
            ]
        );
        // Counted once.
        let mut s = one(1);
        s.deployments[0].failed_task_arns.insert("a".into());
        s.deployments[0].failed_tasks = 1;
        assert_eq!(plan(&s, &obs(vec![dead.clone()])), vec![start(1)]);
        // Not counted once the deployment completed (self-healing only).
        s.deployments[0].rollout_state = COMPLETED.into();
        s.deployments[0].failed_task_arns.clear();
        assert_eq!(plan(&s, &obs(vec![dead])), vec![start(1)]);
    }

    #[test]
    fn stopping_task_is_replaced_within_maximum_percent() {
        // Desired 2, max 200%: a dying task (DEACTIVATING) still counts
        // towards the maximum but not towards the desired count.
        let mut s = one(2);
        s.deployments[0].rollout_state = COMPLETED.into();
        let mut dying = healthy("a", "new");
        dying.status = TaskStatus::Deactivating;
        dying.wants_running = false;
        let o = obs(vec![dying, healthy("b", "new")]);
        assert_eq!(plan(&s, &o), vec![start(1)]);
        // max 100%: wait for it to stop.
        s.deployment_configuration.maximum_percent = 100;
        assert_eq!(plan(&s, &o), vec![]);
    }

    #[test]
    fn unhealthy_target_after_grace_is_replaced() {
        let mut s = one(1);
        s.deployments[0].rollout_state = COMPLETED.into();
        s.health_check_grace_period_seconds = Some(60);
        let mut t = task("a", "new", TaskStatus::Running, TargetState::Unhealthy);
        t.started_at = Some(NOW - 10.0);
        // Within the grace period: left alone.
        assert_eq!(plan(&s, &obs(vec![t.clone()])), vec![]);
        t.started_at = Some(NOW - 61.0);
        assert_eq!(
            plan(&s, &obs(vec![t])),
            vec![
                Step::StopTask {
                    task: "a".into(),
                    reason: elb_unhealthy_reason("tg"),
                    failed: false
                },
                // Max 200% of 1 = 2: the dying one still counts.
                start(1)
            ]
        );
    }

    #[test]
    fn container_unhealthy_is_replaced() {
        let mut s = one(1);
        s.deployments[0].rollout_state = COMPLETED.into();
        let mut t = healthy("a", "new");
        t.container_unhealthy = true;
        let steps = plan(&s, &obs(vec![t]));
        assert_eq!(stops(&steps), vec!["a"]);
    }

    fn rolling(desired: u32) -> Service {
        svc(
            desired,
            vec![
                dep("new", PRIMARY, IN_PROGRESS, 2.0),
                dep("old", ACTIVE, COMPLETED, 1.0),
            ],
        )
    }

    #[test]
    fn rolling_deployment_starts_new_tasks_within_maximum_percent() {
        let o = obs(vec![healthy("o1", "old"), healthy("o2", "old")]);
        // 200% of 2 = 4: two new tasks at once, no old task stopped.
        assert_eq!(plan(&rolling(2), &o), vec![start(2)]);
        // 150% of 2 = 3: one at a time.
        let mut s = rolling(2);
        s.deployment_configuration.maximum_percent = 150;
        assert_eq!(plan(&s, &o), vec![start(1)]);
    }

    #[test]
    fn rolling_deployment_waits_for_new_tasks_to_be_healthy() {
        let o = obs(vec![
            healthy("o1", "old"),
            healthy("o2", "old"),
            task("n1", "new", TaskStatus::Running, TargetState::Initial),
            task("n2", "new", TaskStatus::Pending, TargetState::NotRegistered),
        ]);
        assert_eq!(plan(&rolling(2), &o), vec![]);
    }

    #[test]
    fn rolling_deployment_stops_old_tasks_without_going_under_minimum() {
        // One new task healthy: 3 healthy, min 2 -> one old may go.
        let o = obs(vec![
            healthy("o1", "old"),
            healthy("o2", "old"),
            healthy("n1", "new"),
            task("n2", "new", TaskStatus::Running, TargetState::Initial),
        ]);
        assert_eq!(stops(&plan(&rolling(2), &o)), vec!["o1"]);
        // Both healthy: both old go.
        let o = obs(vec![
            healthy("o1", "old"),
            healthy("o2", "old"),
            healthy("n1", "new"),
            healthy("n2", "new"),
        ]);
        let steps = plan(&rolling(2), &o);
        assert_eq!(stops(&steps), vec!["o1", "o2"]);
        assert!(!steps
            .iter()
            .any(|s| matches!(s, Step::CompleteDeployment { .. })));
    }

    #[test]
    fn minimum_healthy_50_stops_an_old_task_first_when_there_is_no_room() {
        let mut s = rolling(2);
        s.deployment_configuration.maximum_percent = 100;
        s.deployment_configuration.minimum_healthy_percent = 50;
        let o = obs(vec![healthy("o1", "old"), healthy("o2", "old")]);
        assert_eq!(stops(&plan(&s, &o)), vec!["o1"]);
        assert!(!plan(&s, &o)
            .iter()
            .any(|s| matches!(s, Step::StartTasks { .. })));
    }

    #[test]
    fn rollout_completes_only_when_old_tasks_are_stopped() {
        let mut draining = healthy("o1", "old");
        draining.status = TaskStatus::Stopping;
        draining.wants_running = false;
        let o = obs(vec![draining, healthy("n1", "new"), healthy("n2", "new")]);
        assert_eq!(plan(&rolling(2), &o), vec![]);
        let mut gone = healthy("o1", "old");
        gone.status = TaskStatus::Stopped;
        gone.wants_running = false;
        let o = obs(vec![gone, healthy("n1", "new"), healthy("n2", "new")]);
        assert_eq!(
            plan(&rolling(2), &o),
            vec![
                Step::CompleteDeployment {
                    deployment: "new".into()
                },
                Step::RemoveDeployment {
                    deployment: "old".into()
                },
                Step::SteadyState
            ]
        );
    }

    #[test]
    fn unhealthy_old_tasks_are_stopped_at_once() {
        let o = obs(vec![
            task("o1", "old", TaskStatus::Pending, TargetState::NotRegistered),
            healthy("o2", "old"),
        ]);
        let steps = plan(&rolling(2), &o);
        assert_eq!(stops(&steps), vec!["o1"]);
    }

    #[test]
    fn scale_in_spreads_over_zones_and_respects_nothing_else() {
        let mut s = one(1);
        s.deployments[0].rollout_state = COMPLETED.into();
        let mut a1 = healthy("a1", "new");
        a1.availability_zone = "a".into();
        let mut a2 = healthy("a2", "new");
        a2.availability_zone = "a".into();
        let mut b1 = healthy("b1", "new");
        b1.availability_zone = "b".into();
        let steps = plan(&s, &obs(vec![a1, a2, b1]));
        // One from zone a (the fullest), then one more: zones now equal.
        let st = stops(&steps);
        assert_eq!(st.len(), 2);
        assert!(st.contains(&"a1") || st.contains(&"a2"));
    }

    #[test]
    fn scale_out_starts_the_difference() {
        let mut s = one(3);
        s.deployments[0].rollout_state = COMPLETED.into();
        assert_eq!(plan(&s, &obs(vec![healthy("a", "new")])), vec![start(2)]);
    }

    #[test]
    fn draining_instance_tasks_are_replaced_before_they_stop() {
        let mut s = one(1);
        s.deployments[0].rollout_state = COMPLETED.into();
        let mut t = healthy("a", "new");
        t.instance_active = false;
        assert_eq!(plan(&s, &obs(vec![t.clone()])), vec![start(1)]);
        let o = obs(vec![
            t.clone(),
            task("b", "new", TaskStatus::Running, TargetState::Initial),
        ]);
        assert_eq!(plan(&s, &o), vec![]);
        let o = obs(vec![t, healthy("b", "new")]);
        assert_eq!(stops(&plan(&s, &o)), vec!["a"]);
    }

    #[test]
    fn circuit_breaker_trips_at_threshold_and_rolls_back() {
        let mut s = rolling(2);
        s.deployment_configuration.deployment_circuit_breaker = CircuitBreaker {
            enable: true,
            rollback: true,
        };
        s.deployments[0].failed_tasks = 2;
        let mut dead = task("n3", "new", TaskStatus::Stopped, TargetState::NotRegistered);
        dead.stop_code = Some(StopCode::TaskFailedToStart);
        let o = obs(vec![healthy("o1", "old"), healthy("o2", "old"), dead]);
        let steps = plan(&s, &o);
        assert_eq!(
            steps.last(),
            Some(&Step::TripCircuitBreaker {
                deployment: "new".into(),
                rollback_to: Some("old".into())
            })
        );
        // Without rollback: FAILED and no target.
        s.deployment_configuration
            .deployment_circuit_breaker
            .rollback = false;
        assert_eq!(
            plan(&s, &o).last(),
            Some(&Step::TripCircuitBreaker {
                deployment: "new".into(),
                rollback_to: None
            })
        );
        // Disabled: keeps trying.
        s.deployment_configuration.deployment_circuit_breaker.enable = false;
        assert!(!plan(&s, &o)
            .iter()
            .any(|s| matches!(s, Step::TripCircuitBreaker { .. })));
    }

    #[test]
    fn unhealthy_new_tasks_count_towards_the_circuit_breaker() {
        let mut s = rolling(2);
        s.deployment_configuration.deployment_circuit_breaker.enable = true;
        s.deployments[0].failed_tasks = 2;
        let o = obs(vec![
            healthy("o1", "old"),
            healthy("o2", "old"),
            task("n1", "new", TaskStatus::Running, TargetState::Unhealthy),
        ]);
        let steps = plan(&s, &o);
        assert!(matches!(steps[0], Step::StopTask { failed: true, .. }));
        assert!(matches!(steps[1], Step::TripCircuitBreaker { .. }));
    }

    #[test]
    fn failed_primary_without_rollback_starts_nothing() {
        let mut s = one(2);
        s.deployments[0].rollout_state = FAILED.into();
        assert_eq!(plan(&s, &obs(vec![])), vec![]);
    }

    #[test]
    fn deleted_service_stops_everything_then_goes_inactive() {
        let mut s = one(2);
        s.status = "DRAINING".into();
        let steps = plan(&s, &obs(vec![healthy("a", "new")]));
        assert_eq!(stops(&steps), vec!["a"]);
        let mut gone = healthy("a", "new");
        gone.status = TaskStatus::Stopped;
        assert_eq!(plan(&s, &obs(vec![gone])), vec![Step::Inactivate]);
    }

    #[test]
    fn service_without_load_balancer_is_healthy_when_running() {
        let mut s = one(1);
        s.load_balancers.clear();
        let mut t = healthy("a", "new");
        t.targets.clear();
        assert_eq!(
            plan(&s, &obs(vec![t]))[0],
            Step::CompleteDeployment {
                deployment: "new".into()
            }
        );
    }
}
