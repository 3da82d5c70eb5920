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
