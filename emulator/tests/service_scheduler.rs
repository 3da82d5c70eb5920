//! The service scheduler against the in-memory runtime and in-memory
//! target groups: fast checks of the executor's ordering (register, wait
//! for healthy, drain before stop) that `services.rs` proves on Docker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::db::{Db, State};
use emulator::ecs::scheduler::{Scheduler, SchedulerConfig, ServiceCommand, ServiceReply};
use emulator::ecs::service_plan::{LaunchBackoff, TargetState, THROTTLED};
use emulator::ecs::targets::FakeTargets;
use emulator::ecs::{Command, Engine, EngineConfig, EngineError, Reply};
use emulator::model::request;
use emulator::model::service::{CreateService, LoadBalancer, Service, UpdateService};
use emulator::model::TaskStatus;
use emulator::runtime::testing::FakeRuntime;
use serde_json::json;

async fn setup() -> (FakeRuntime, Engine, FakeTargets, Scheduler) {
    let fake = FakeRuntime::new();
    let engine = Engine::new(
        EngineConfig {
            resync: Duration::from_millis(50),
            default_stop_timeout_s: 1,
            ..EngineConfig::default()
        },
        Arc::new(fake.clone()),
        Db::in_memory(State::default()),
    );
    let targets = FakeTargets::new(&["tg"]);
    let scheduler = Scheduler::new(
        engine.clone(),
        Arc::new(targets.clone()),
        SchedulerConfig {
            interval: Duration::from_millis(20),
        },
    );
    engine.start();
    scheduler.start();
    engine
        .handle(Command::CreateCluster(request::CreateCluster {
            cluster_name: Some("c".into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    for az in ["us-east-1a", "us-east-1b"] {
        engine
            .handle(Command::RegisterContainerInstance(
                request::RegisterContainerInstance {
                    cluster: Some("c".into()),
                    instance_type: Some("t2.large".into()),
                    availability_zone: Some(az.into()),
                    ..Default::default()
                },
            ))
            .await
            .unwrap();
    }
    let td = json!({"family": "web", "containerDefinitions": [
        {"name": "app", "image": "img", "memoryReservation": 100, "portMappings": [{"containerPort": 3000}]}
    ]});
    engine
        .handle(Command::RegisterTaskDefinition(Box::new(
            serde_json::from_value(td).unwrap(),
        )))
        .await
        .unwrap();
    (fake, engine, targets, scheduler)
}

async fn describe(s: &Scheduler) -> Service {
    match s
        .handle(ServiceCommand::Describe(
            emulator::model::service::DescribeServices {
                cluster: Some("c".into()),
                services: vec!["web".into()],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
    {
        ServiceReply::Services { services, .. } => services[0].clone(),
        other => panic!("{other:?}"),
    }
}

async fn until<F: Fn() -> bool>(what: &str, f: F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Lets the scheduler make a few passes (it reads target health on each).
async fn passes(targets: &FakeTargets, n: u64) {
    let start = targets.health_reads();
    until("scheduler passes", || targets.health_reads() >= start + n).await;
}

async fn until_steady(s: &Scheduler, desired: u32) -> Service {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = describe(s).await;
        if v.running_count == desired
            && v.deployments.len() == 1
            && v.deployments[0].rollout_state == "COMPLETED"
            && v.events[0].message.ends_with("has reached a steady state.")
        {
            return v;
        }
        assert!(Instant::now() < deadline, "not steady: {v:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rollout_waits_for_healthy_targets_and_drains_before_stopping() {
    let (fake, engine, targets, s) = setup().await;
    s.handle(ServiceCommand::Create(CreateService {
        cluster: Some("c".into()),
        service_name: "web".into(),
        task_definition: Some("web".into()),
        desired_count: Some(2),
        load_balancers: vec![LoadBalancer {
            target_group_arn: Some("tg".into()),
            container_name: "app".into(),
            container_port: 3000,
            ..Default::default()
        }],
        ..Default::default()
    }))
    .await
    .unwrap();
    until("two targets", || targets.targets("tg").len() == 2).await;
    // Initial targets: no deployment completes.
    passes(&targets, 5).await;
    assert_eq!(
        describe(&s).await.deployments[0].rollout_state,
        "IN_PROGRESS"
    );
    targets.set_all("tg", TargetState::Healthy);
    let first = until_steady(&s, 2).await;
    let old_tasks: Vec<String> = engine
        .snapshot()
        .tasks
        .values()
        .map(|t| t.task_arn.clone())
        .collect();

    // A forced deployment: two new targets, the old ones untouched until
    // the new ones are healthy.
    s.handle(ServiceCommand::Update(UpdateService {
        cluster: Some("c".into()),
        service: "web".into(),
        force_new_deployment: true,
        ..Default::default()
    }))
    .await
    .unwrap();
    until("four targets", || targets.targets("tg").len() == 4).await;
    passes(&targets, 5).await;
    assert!(
        !targets.log().iter().any(|l| l.starts_with("deregister")),
        "{:?}",
        targets.log()
    );
    for t in &old_tasks {
        assert_eq!(engine.task(t).unwrap().status(), TaskStatus::Running);
    }
    targets.set_all("tg", TargetState::Healthy);
    let done = until_steady(&s, 2).await;
    assert_ne!(done.deployments[0].id, first.deployments[0].id);
    let log = targets.log();
    let last_register = log.iter().rposition(|l| l.starts_with("register")).unwrap();
    let first_deregister = log
        .iter()
        .position(|l| l.starts_with("deregister"))
        .unwrap();
    assert!(last_register < first_deregister, "{log:?}");
    for t in &old_tasks {
        let task = engine.task(t).unwrap();
        assert_eq!(task.status(), TaskStatus::Stopped);
        assert_eq!(
            task.stop_code,
            Some(emulator::model::StopCode::ServiceSchedulerInitiated)
        );
    }
    let msgs: Vec<&str> = done.events.iter().map(|e| e.message.as_str()).collect();
    assert!(msgs.contains(&"(service web) has begun draining connections on 1 tasks."));
    assert!(msgs.contains(&"(service web) deregistered 1 targets in (target-group tg)"));

    // A task whose essential container dies is replaced: a new task runs,
    // its host port is registered and the dead one's is gone.
    let running = || -> Vec<emulator::model::Task> {
        engine
            .snapshot()
            .tasks
            .values()
            .filter(|t| t.status() == TaskStatus::Running)
            .cloned()
            .collect()
    };
    let before: Vec<String> = running().into_iter().map(|t| t.task_arn).collect();
    let victim = before[0].clone();
    let port_of =
        |t: &emulator::model::Task| -> u16 { t.containers[0].network_bindings[0].host_port };
    let victim_port = port_of(&engine.task(&victim).unwrap());
    fake.exit(&fake.find(&victim, "app").unwrap(), 137);
    until("a replacement task registered", || {
        let now = running();
        let fresh: Vec<_> = now
            .iter()
            .filter(|t| !before.contains(&t.task_arn))
            .collect();
        let ports: Vec<u16> = targets.targets("tg").iter().map(|(_, p)| *p).collect();
        now.len() == 2
            && fresh.len() == 1
            && ports.contains(&port_of(fresh[0]))
            && !ports.contains(&victim_port)
    })
    .await;
    assert_eq!(engine.task(&victim).unwrap().status(), TaskStatus::Stopped);
    targets.set_all("tg", TargetState::Healthy);
    let healed = until_steady(&s, 2).await;
    let started = healed
        .events
        .iter()
        .filter(|e| e.message.starts_with("(service web) has started 1 tasks"))
        .count();
    let started_before = done
        .events
        .iter()
        .filter(|e| e.message.starts_with("(service web) has started 1 tasks"))
        .count();
    assert!(started > started_before, "{:#?}", healed.events);
}

/// UpdateService from two clients at once, each naming a different field:
/// both changes stay (each update is one write against the service as it
/// is then, not a write-back of a stale copy).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_of_different_fields_are_never_lost() {
    let (_fake, _engine, _targets, s) = setup().await;
    s.handle(ServiceCommand::Create(CreateService {
        cluster: Some("c".into()),
        service_name: "web".into(),
        task_definition: Some("web".into()),
        desired_count: Some(0),
        ..Default::default()
    }))
    .await
    .unwrap();
    for round in 0..40u32 {
        let a = s.clone();
        let b = s.clone();
        let grace = tokio::spawn(async move {
            a.handle(ServiceCommand::Update(UpdateService {
                cluster: Some("c".into()),
                service: "web".into(),
                health_check_grace_period_seconds: Some(round + 1),
                ..Default::default()
            }))
            .await
            .unwrap();
        });
        let max = tokio::spawn(async move {
            let dc: emulator::model::service::DeploymentConfiguration =
                serde_json::from_value(json!({"maximumPercent": 200 + round})).unwrap();
            b.handle(ServiceCommand::Update(UpdateService {
                cluster: Some("c".into()),
                service: "web".into(),
                deployment_configuration: Some(dc),
                ..Default::default()
            }))
            .await
            .unwrap();
        });
        grace.await.unwrap();
        max.await.unwrap();
        let v = describe(&s).await;
        assert_eq!(
            v.health_check_grace_period_seconds,
            Some(round + 1),
            "round {round}"
        );
        assert_eq!(
            v.deployment_configuration.maximum_percent,
            200 + round,
            "round {round}: a concurrent update was lost"
        );
    }
}

/// StopTask while the task is being forgotten (stopped tasks are pruned):
/// the caller gets "not found" or the stopped task, never a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_task_racing_the_forgetting_of_the_task_never_panics() {
    let (_fake, engine, _targets, _s) = setup().await;
    for _ in 0..100 {
        let run = engine
            .handle(Command::RunTask(request::RunTask {
                cluster: Some("c".into()),
                task_definition: "web".into(),
                ..Default::default()
            }))
            .await
            .unwrap();
        let Reply::Tasks { tasks, .. } = run else {
            panic!("{run:?}")
        };
        let arn = tasks[0].task_arn.clone();
        let e = engine.clone();
        let a = arn.clone();
        let forget = tokio::spawn(async move {
            e.update_state(|s| s.tasks.remove(&a)).await.unwrap();
        });
        let stop = engine
            .handle(Command::StopTask(request::StopTask {
                cluster: Some("c".into()),
                task: arn.clone(),
                reason: None,
            }))
            .await;
        forget.await.unwrap();
        match stop {
            Ok(Reply::Task(t)) => assert_eq!(t.task_arn, arn),
            Err(EngineError::InvalidParameter(m)) => assert!(m.contains("not found"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

/// StartTask announces the new task as PENDING, as RunTask does: EC2
/// tasks in bridge mode have no PROVISIONING step in ECS.
#[tokio::test(flavor = "multi_thread")]
async fn start_task_emits_a_pending_event() {
    let (_fake, engine, _targets, _s) = setup().await;
    let mut events = engine.subscribe();
    let instances = engine
        .handle(Command::ListContainerInstances(
            request::ListContainerInstances {
                cluster: Some("c".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let Reply::ContainerInstanceArns(arns) = instances else {
        panic!("{instances:?}")
    };
    let started = engine
        .handle(Command::StartTask(request::StartTask {
            cluster: Some("c".into()),
            task_definition: "web".into(),
            container_instances: vec![arns[0].clone()],
            started_by: None,
            group: None,
            overrides: None,
        }))
        .await
        .unwrap();
    let Reply::Tasks { tasks, .. } = started else {
        panic!("{started:?}")
    };
    let ev = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let ev = events.recv().await.unwrap();
            if ev.task.task_arn == tasks[0].task_arn {
                return ev;
            }
        }
    })
    .await
    .expect("an event for the started task");
    assert_eq!(ev.task.status(), TaskStatus::Pending);
    assert_eq!(ev.previous, TaskStatus::Pending);
}

/// Target tracking remembers CPU samples only of containers that exist:
/// tasks replaced again and again leave no trail behind in its memory.
#[tokio::test(flavor = "multi_thread")]
async fn autoscaling_memory_is_bounded_by_what_exists() {
    use emulator::autoscaling::{AutoScaling, AutoScalingCommand, AutoScalingConfig};
    use emulator::runtime::ContainerStats;
    let (fake, engine, _targets, s) = setup().await;
    // Tasks killed right after they start are a crash loop to the service
    // throttle: short waits, so the rounds are not held back.
    s.set_launch_backoff(LaunchBackoff {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        ..LaunchBackoff::default()
    });
    s.handle(ServiceCommand::Create(CreateService {
        cluster: Some("c".into()),
        service_name: "web".into(),
        task_definition: Some("web".into()),
        desired_count: Some(1),
        ..Default::default()
    }))
    .await
    .unwrap();
    let scaling = AutoScaling::new(s.clone(), AutoScalingConfig::default());
    scaling
        .handle(AutoScalingCommand::RegisterScalableTarget(
            serde_json::from_value(json!({
                "ServiceNamespace": "ecs", "ResourceId": "service/c/web",
                "ScalableDimension": "ecs:service:DesiredCount",
                "MinCapacity": 1, "MaxCapacity": 1
            }))
            .unwrap(),
        ))
        .await
        .unwrap();
    scaling
        .handle(AutoScalingCommand::PutScalingPolicy(
            serde_json::from_value(json!({
                "PolicyName": "cpu", "ServiceNamespace": "ecs", "ResourceId": "service/c/web",
                "ScalableDimension": "ecs:service:DesiredCount",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 50.0,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
                    }
                }
            }))
            .unwrap(),
        ))
        .await
        .unwrap();
    let running = || -> Option<String> {
        engine
            .snapshot()
            .tasks
            .values()
            .find(|t| t.status() == TaskStatus::Running)
            .map(|t| t.task_arn.clone())
    };
    for round in 0..6u64 {
        until("a running task", || running().is_some()).await;
        let arn = running().unwrap();
        let name = fake.find(&arn, "app").unwrap();
        let sample = |ns| ContainerStats {
            cpu_total_ns: ns,
            memory_bytes: 0,
            net_rx_bytes: 0,
            net_tx_bytes: 0,
        };
        fake.script_stats(&name, vec![sample(round), sample(round + 1)]);
        // A container known to the task first (its runtime id recorded).
        until("observed", || {
            engine
                .task(&arn)
                .is_some_and(|t| t.containers.iter().all(|c| c.runtime_id.is_some()))
        })
        .await;
        scaling.evaluate().await;
        scaling.evaluate().await;
        // The live container's sample, and nothing of those before it.
        assert_eq!(scaling.remembered(), 1, "round {round}");
        fake.exit(&name, 137);
        until("replaced", || running().is_none_or(|a| a != arn)).await;
    }
}

/// Registers task definition `family` whose one container runs `image`.
async fn register(engine: &Engine, family: &str, image: &str) {
    let td = json!({"family": family, "containerDefinitions": [
        {"name": "app", "image": image, "memoryReservation": 100}
    ]});
    engine
        .handle(Command::RegisterTaskDefinition(Box::new(
            serde_json::from_value(td).unwrap(),
        )))
        .await
        .unwrap();
}

async fn create(s: &Scheduler, family: &str) {
    s.handle(ServiceCommand::Create(CreateService {
        cluster: Some("c".into()),
        service_name: "web".into(),
        task_definition: Some(family.into()),
        desired_count: Some(1),
        ..Default::default()
    }))
    .await
    .unwrap();
}

/// The creation times of the service's tasks, oldest first.
fn launches(engine: &Engine) -> Vec<f64> {
    let mut v: Vec<f64> = engine
        .snapshot()
        .tasks
        .values()
        .filter(|t| t.group.as_deref() == Some("service:web"))
        .map(|t| t.created_at)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

fn throttle_events(v: &Service) -> usize {
    let full = format!("(service web) {THROTTLED}");
    v.events.iter().filter(|e| e.message == full).count()
}

/// A container that exits as soon as it starts: without a throttle the
/// scheduler relaunched it on every pass (dozens a second here); with it,
/// the launches after the third failure wait 0.2, 0.4, 0.8 ... s, and the
/// service says why, once per wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_looping_service_launches_ever_more_slowly() {
    let (_fake, engine, _targets, s) = setup().await;
    let base = Duration::from_millis(200);
    s.set_launch_backoff(LaunchBackoff {
        after_failures: 3,
        base,
        cap: Duration::from_secs(5),
        stable: Duration::from_secs(30),
    });
    register(&engine, "crash", "crash/app").await;
    create(&s, "crash").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let at = launches(&engine);
    // 3 at once, then after 0.2, 0.4 and 0.8 s (at ~1.4 s), the next at
    // ~3 s: 6, a pass or two of slack either way.
    assert!(
        (4..=7).contains(&at.len()),
        "{} launches in 2.5 s: {at:?}",
        at.len()
    );
    for (i, w) in at.windows(2).enumerate().skip(2) {
        let wait = base.as_secs_f64() * f64::from(1u32 << (i - 2));
        assert!(
            w[1] - w[0] >= wait - 0.01,
            "launch {} came {:.3} s after the one before, not after {wait} s: {at:?}",
            i + 2,
            w[1] - w[0]
        );
    }
    let v = describe(&s).await;
    let said = throttle_events(&v);
    assert!(
        (1..at.len()).contains(&said),
        "{said} throttle events for {} launches: {:#?}",
        at.len(),
        v.events
    );
    // The deployment goes on (no circuit breaker asked for).
    assert_eq!(v.deployments[0].rollout_state, "IN_PROGRESS");
    assert!(v.deployments[0].failed_tasks >= 3, "{:#?}", v.deployments);
}

/// A missing image (TaskFailedToStart) throttles too; a new deployment
/// (the image fixed) launches at once, whatever the wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_deployment_launches_at_once_despite_the_throttle() {
    let (_fake, engine, _targets, s) = setup().await;
    s.set_launch_backoff(LaunchBackoff {
        after_failures: 1,
        base: Duration::from_secs(60),
        cap: Duration::from_secs(60),
        stable: Duration::from_secs(30),
    });
    register(&engine, "broken", "missing/app").await;
    create(&s, "broken").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while throttle_events(&describe(&s).await) == 0 {
        assert!(Instant::now() < deadline, "{:#?}", describe(&s).await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopped = engine.snapshot().tasks.values().next().cloned().unwrap();
    assert_eq!(
        stopped.stop_code,
        Some(emulator::model::StopCode::TaskFailedToStart)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(launches(&engine).len(), 1, "held back for 60 s");

    s.handle(ServiceCommand::Update(UpdateService {
        cluster: Some("c".into()),
        service: "web".into(),
        task_definition: Some("web".into()),
        ..Default::default()
    }))
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let running = engine
            .snapshot()
            .tasks
            .values()
            .any(|t| t.status() == TaskStatus::Running);
        if running {
            break;
        }
        assert!(Instant::now() < deadline, "the new deployment waited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A target failing its health checks: the task is replaced, and the
/// service's events say so in ECS's words.
#[tokio::test(flavor = "multi_thread")]
async fn an_unhealthy_target_is_reported_in_ecs_words() {
    let (_fake, _engine, targets, s) = setup().await;
    s.handle(ServiceCommand::Create(CreateService {
        cluster: Some("c".into()),
        service_name: "web".into(),
        task_definition: Some("web".into()),
        desired_count: Some(1),
        load_balancers: vec![LoadBalancer {
            target_group_arn: Some("tg".into()),
            container_name: "app".into(),
            container_port: 3000,
            ..Default::default()
        }],
        ..Default::default()
    }))
    .await
    .unwrap();
    until("a target", || targets.targets("tg").len() == 1).await;
    targets.set_all("tg", TargetState::Healthy);
    until_steady(&s, 1).await;
    targets.set_all("tg", TargetState::Unhealthy);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = describe(&s).await;
        if let Some(e) = v
            .events
            .iter()
            .find(|e| e.message.contains("is unhealthy in"))
        {
            assert!(
                e.message.starts_with("(service web) (task ")
                    && e.message.contains(") (instance i-")
                    && e.message.contains(") (port ")
                    && e.message.ends_with(
                        "is unhealthy in (target-group tg) due to (reason Health checks failed)."
                    ),
                "{}",
                e.message
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no unhealthy event: {:#?}",
            v.events
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
