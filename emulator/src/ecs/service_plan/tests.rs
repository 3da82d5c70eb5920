//! The service planner, step by step.

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
        status: ServiceStatus::Active,
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
        stopping_at: None,
        availability_zone: "a".into(),
        instance_active: true,
        container_unhealthy: false,
        protected: false,
        targets: vec![target],
    }
}

fn healthy(arn: &str, deployment: &str) -> ObservedTask {
    task(arn, deployment, TaskStatus::Running, TargetState::Healthy)
}

fn obs(tasks: Vec<ObservedTask>) -> Observed {
    Observed {
        tasks,
        now: NOW,
        ..Default::default()
    }
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
    s.status = ServiceStatus::Draining;
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

// ------------------------------------------------------- launch throttle

const BACKOFF: LaunchBackoff = LaunchBackoff {
    after_failures: 3,
    base: Duration::from_secs(10),
    cap: Duration::from_secs(35),
    stable: Duration::from_secs(30),
};

/// A task that stopped by itself at `stopped`, `ran` seconds after it
/// started (`None`: it never started).
fn failed(arn: &str, stopped: f64, ran: Option<f64>, code: StopCode) -> ObservedTask {
    let mut t = task(arn, "new", TaskStatus::Stopped, TargetState::NotRegistered);
    t.stop_code = Some(code);
    t.stopping_at = Some(stopped);
    t.started_at = ran.map(|r| stopped - r);
    t
}

fn throttled(tasks: Vec<ObservedTask>) -> Observed {
    Observed {
        tasks,
        now: NOW,
        backoff: BACKOFF,
    }
}

fn throttle_step(steps: &[Step]) -> Option<(LaunchThrottle, bool)> {
    steps.iter().find_map(|s| match s {
        Step::ThrottleLaunches { throttle, announce } => Some((throttle.clone(), *announce)),
        _ => None,
    })
}

/// Applies the plan's throttle step to the service, as the executor does.
fn stored(mut s: Service, steps: &[Step]) -> Service {
    if let Some((t, _)) = throttle_step(steps) {
        s.launch_throttle = t;
    }
    s
}

#[test]
fn launch_failures_below_the_threshold_are_counted_and_relaunched() {
    let mut s = one(1);
    s.deployments[0].rollout_state = COMPLETED.into();
    let steps = plan(
        &s,
        &throttled(vec![failed(
            "a",
            NOW - 1.0,
            None,
            StopCode::TaskFailedToStart,
        )]),
    );
    let (t, announce) = throttle_step(&steps).expect("counted");
    assert_eq!(
        (t.failures, t.counted_until, t.not_before),
        (1, NOW - 1.0, 0.0)
    );
    assert!(!announce);
    assert!(steps.contains(&start(1)), "{steps:?}");
    // Counted once: the next pass sees the same task and counts nothing.
    let s = stored(s, &steps);
    let again = plan(
        &s,
        &throttled(vec![failed(
            "a",
            NOW - 1.0,
            None,
            StopCode::TaskFailedToStart,
        )]),
    );
    assert_eq!(again, vec![start(1)]);
}

#[test]
fn repeated_launch_failures_hold_back_launches_with_a_growing_wait() {
    let mut s = one(1);
    s.deployments[0].rollout_state = COMPLETED.into();
    s.launch_throttle.failures = 2;
    s.launch_throttle.counted_until = NOW - 5.0;
    // The third failure in a row (an essential container that exited one
    // second after it started): launches wait `base`, said once.
    let o = throttled(vec![failed(
        "c",
        NOW - 0.5,
        Some(1.0),
        StopCode::EssentialContainerExited,
    )]);
    let steps = plan(&s, &o);
    let (t, announce) = throttle_step(&steps).expect("counted");
    assert!(announce);
    assert_eq!((t.failures, t.delay_s, t.not_before), (3, 10.0, NOW + 10.0));
    assert!(
        !steps.iter().any(|s| matches!(s, Step::StartTasks { .. })),
        "{steps:?}"
    );
    // Later passes within the wait: nothing is started, nothing said.
    let s = stored(s, &steps);
    let mut later = o.clone();
    later.now = NOW + 9.0;
    assert_eq!(plan(&s, &later), vec![]);
    // Once it ends: one launch.
    later.now = NOW + 10.0;
    assert_eq!(plan(&s, &later), vec![start(1)]);
    // That one fails too: the wait doubles, then stops at the cap.
    later
        .tasks
        .push(failed("d", NOW + 11.0, None, StopCode::TaskFailedToStart));
    later.now = NOW + 12.0;
    let steps = plan(&s, &later);
    let (t, announce) = throttle_step(&steps).unwrap();
    assert!(announce);
    assert_eq!((t.failures, t.delay_s, t.not_before), (4, 20.0, NOW + 32.0));
    let s = stored(s, &steps);
    later
        .tasks
        .push(failed("e", NOW + 33.0, None, StopCode::TaskFailedToStart));
    later.now = NOW + 34.0;
    let (t, _) = throttle_step(&plan(&s, &later)).unwrap();
    assert_eq!((t.failures, t.delay_s), (5, 35.0));
}

#[test]
fn a_task_still_stopping_by_itself_counts_before_its_replacement_is_planned() {
    let mut s = one(1);
    s.deployments[0].rollout_state = COMPLETED.into();
    s.launch_throttle.failures = 2;
    s.launch_throttle.counted_until = NOW - 5.0;
    let mut dying = task("a", "new", TaskStatus::Deactivating, TargetState::Healthy);
    dying.wants_running = false;
    dying.stop_code = Some(StopCode::EssentialContainerExited);
    dying.stopping_at = Some(NOW - 0.1);
    dying.started_at = Some(NOW - 0.5);
    let steps = plan(&s, &throttled(vec![dying]));
    let (t, announce) = throttle_step(&steps).expect("counted");
    assert!(announce && t.failures == 3 && t.counted_until == NOW - 0.1);
    assert!(
        !steps.iter().any(|s| matches!(s, Step::StartTasks { .. })),
        "{steps:?}"
    );
}

#[test]
fn tasks_that_ran_a_while_or_were_stopped_by_the_scheduler_are_not_launch_failures() {
    let mut s = one(1);
    s.deployments[0].rollout_state = COMPLETED.into();
    s.launch_throttle.failures = 5;
    s.launch_throttle.counted_until = NOW - 50.0;
    let mut scheduler_stopped = failed("a", NOW - 1.0, Some(1.0), StopCode::TaskFailedToStart);
    scheduler_stopped.stop_code = Some(StopCode::ServiceSchedulerInitiated);
    let ran_long = failed(
        "b",
        NOW - 1.0,
        Some(31.0),
        StopCode::EssentialContainerExited,
    );
    // Another deployment's (another service of the same name, deleted).
    let mut stranger = failed("c", NOW - 1.0, None, StopCode::TaskFailedToStart);
    stranger.deployment = "gone".into();
    let steps = plan(&s, &throttled(vec![scheduler_stopped, ran_long, stranger]));
    assert_eq!(throttle_step(&steps), None);
    assert!(steps.contains(&start(1)), "{steps:?}");
}

#[test]
fn a_task_that_runs_healthy_long_enough_clears_the_throttle() {
    let mut s = one(3);
    s.deployments[0].rollout_state = COMPLETED.into();
    s.launch_throttle = LaunchThrottle {
        failures: 4,
        counted_until: NOW - 40.0,
        delay_s: 20.0,
        not_before: NOW + 5.0,
    };
    // Started before the last failure: it says nothing about launches.
    let mut old = healthy("a", "new");
    old.started_at = Some(NOW - 100.0);
    assert_eq!(plan(&s, &throttled(vec![old.clone()])), vec![]);
    // Started after it, but not healthy for long enough yet.
    let mut fresh = healthy("b", "new");
    fresh.started_at = Some(NOW - 20.0);
    assert_eq!(
        plan(&s, &throttled(vec![old.clone(), fresh.clone()])),
        vec![]
    );
    // Healthy for `stable`: cleared, and the missing task starts at once.
    fresh.started_at = Some(NOW - 30.0);
    assert_eq!(
        plan(&s, &throttled(vec![old, fresh])),
        vec![Step::ClearThrottle, start(1)]
    );
}

#[test]
fn the_circuit_breaker_still_fails_a_throttled_deployment() {
    let mut s = one(1);
    s.deployment_configuration.deployment_circuit_breaker = CircuitBreaker {
        enable: true,
        rollback: false,
    };
    s.deployments[0].failed_tasks = 2;
    s.deployments[0].failed_task_arns = ["a".to_string(), "b".to_string()].into();
    s.launch_throttle.failures = 2;
    s.launch_throttle.counted_until = NOW - 10.0;
    let o = throttled(vec![failed(
        "c",
        NOW - 1.0,
        None,
        StopCode::TaskFailedToStart,
    )]);
    let steps = plan(&s, &o);
    let (t, announce) = throttle_step(&steps).unwrap();
    assert!(announce && t.failures == 3);
    assert!(
        steps.contains(&Step::TripCircuitBreaker {
            deployment: "new".into(),
            rollback_to: None
        }),
        "{steps:?}"
    );
}

#[test]
fn backoff_doubles_from_the_base_up_to_the_cap() {
    let b = LaunchBackoff::default();
    assert_eq!(b.next_delay(0.0), 5.0);
    assert_eq!(b.next_delay(5.0), 10.0);
    assert_eq!(b.next_delay(200.0), 300.0);
    assert_eq!(b.next_delay(300.0), 300.0);
}

#[test]
fn protected_tasks_are_not_stopped_to_scale_in() {
    let mut s = one(1);
    s.deployments[0].rollout_state = COMPLETED.into();
    let mut a = healthy("a", "new");
    a.protected = true;
    let mut b = healthy("b", "new");
    b.protected = true;
    let c = healthy("c", "new");
    // Desired 1 of 3: only the unprotected one goes; the protected stay
    // until their protection ends.
    let steps = plan(&s, &obs(vec![a, b, c]));
    assert_eq!(stops(&steps), vec!["c"]);
}

#[test]
fn start_failures_become_events_once_each_oldest_first() {
    let s = one(1);
    let failed = |id: &str, deployment: &str, at: f64, code: StopCode| crate::model::Task {
        task_arn: format!("arn:aws:ecs:us-east-1:0:task/c/{id}"),
        started_by: Some(deployment.into()),
        stopping_at: Some(at),
        stop_code: Some(code),
        stopped_reason: Some(format!("CannotPullContainerError: {id}")),
        ..Default::default()
    };
    let tasks = [
        failed("b", "new", 12.0, StopCode::TaskFailedToStart),
        failed("a", "new", 11.0, StopCode::TaskFailedToStart),
        failed("old", "new", 9.0, StopCode::TaskFailedToStart),
        failed("other", "elsewhere", 11.5, StopCode::TaskFailedToStart),
        failed("exit", "new", 11.5, StopCode::EssentialContainerExited),
    ];
    assert_eq!(
        start_failure_events(&s, &tasks, 10.0, 12.0),
        [
            "(task a) failed to start: CannotPullContainerError: a",
            "(task b) failed to start: CannotPullContainerError: b"
        ]
    );
    assert!(start_failure_events(&s, &tasks, 12.0, 13.0).is_empty());
}
