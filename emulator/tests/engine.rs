//! The control plane against the in-memory runtime: lifecycle, failures,
//! adoption, placement spread. Fast; the same behaviours are proven on real
//! Docker in `docker.rs`.

use std::sync::Arc;
use std::time::Duration;

use emulator::db::{Db, State};
use emulator::ecs::pull::RegistryAccess;
use emulator::ecs::{Command, Engine, EngineConfig, Reply};
use emulator::model::request;
use emulator::model::{Task, TaskStatus};
use emulator::runtime::testing::FakeRuntime;
use serde_json::json;

fn config() -> EngineConfig {
    EngineConfig {
        resync: Duration::from_millis(50),
        default_stop_timeout_s: 1,
        ..EngineConfig::default()
    }
}

async fn engine_with(fake: &FakeRuntime, state: State) -> Engine {
    let e = Engine::new(config(), Arc::new(fake.clone()), Db::in_memory(state));
    e.start();
    e
}

async fn setup(fake: &FakeRuntime) -> Engine {
    let e = engine_with(fake, State::default()).await;
    e.handle(Command::CreateCluster(request::CreateCluster {
        cluster_name: Some("c".into()),
        ..Default::default()
    }))
    .await
    .unwrap();
    for az in ["us-east-1a", "us-east-1b"] {
        e.handle(Command::RegisterContainerInstance(
            request::RegisterContainerInstance {
                cluster: Some("c".into()),
                instance_type: Some("t2.small".into()),
                availability_zone: Some(az.into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    }
    e
}

async fn register(e: &Engine, td: serde_json::Value) {
    e.handle(Command::RegisterTaskDefinition(Box::new(
        serde_json::from_value(td).unwrap(),
    )))
    .await
    .unwrap();
}

fn web() -> serde_json::Value {
    json!({"family": "web", "containerDefinitions": [
        {"name": "app", "image": "img", "memoryReservation": 300, "links": ["db"],
         "portMappings": [{"containerPort": 3000}]},
        {"name": "db", "image": "img", "memoryReservation": 300}
    ]})
}

async fn run(e: &Engine, td: &str, count: i64) -> (Vec<Task>, Vec<emulator::model::Failure>) {
    let r = e
        .handle(Command::RunTask(request::RunTask {
            cluster: Some("c".into()),
            task_definition: td.into(),
            count: Some(count),
            ..Default::default()
        }))
        .await
        .unwrap();
    match r {
        Reply::Tasks { tasks, failures } => (tasks, failures),
        other => panic!("{other:?}"),
    }
}

async fn wait(e: &Engine, arn: &str, status: TaskStatus) -> Task {
    for _ in 0..200 {
        let t = e.task(arn).unwrap();
        if t.status() == status {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{arn} did not reach {status}: {:#?}", e.task(arn));
}

#[tokio::test]
async fn task_runs_with_bindings_and_every_status_is_announced() {
    let fake = FakeRuntime::new();
    let e = setup(&fake).await;
    register(&e, web()).await;
    let mut events = e.subscribe();
    let (tasks, _) = run(&e, "web", 1).await;
    let t = wait(&e, &tasks[0].task_arn, TaskStatus::Running).await;
    let port = t
        .host_port("app", 3000)
        .expect("dynamic host port recorded");
    assert!(port >= 32768);
    let app = fake.spec(&fake.find(&t.task_arn, "app").unwrap()).unwrap();
    assert_eq!(app.aliases, vec!["app".to_string()]);
    assert_eq!(app.network, format!("ecs-task-{}", t.id()));
    assert_eq!(app.memory_reservation_mib, Some(300));
    assert_eq!(app.labels["com.pingpong.emulator.instance"], "default");
    let log = fake.log();
    let pos = |s: &str| {
        log.iter()
            .position(|l| l.starts_with(s) && l.contains(if s == "start" { "-db-" } else { "" }))
            .unwrap()
    };
    assert!(pos("create-network") < pos("start"));
    let mut seen = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if ev.previous != ev.task.status() || seen.is_empty() {
            seen.push(ev.task.status());
        }
    }
    assert_eq!(
        seen,
        [
            // EC2 bridge-mode tasks have no PROVISIONING step in ECS.
            TaskStatus::Pending,
            TaskStatus::Activating,
            TaskStatus::Running
        ]
    );
}

#[tokio::test]
async fn essential_exit_stops_the_task_and_removes_the_rest() {
    let fake = FakeRuntime::new();
    let e = setup(&fake).await;
    register(&e, web()).await;
    let (tasks, _) = run(&e, "web", 1).await;
    let t = wait(&e, &tasks[0].task_arn, TaskStatus::Running).await;
    fake.exit(&fake.find(&t.task_arn, "db").unwrap(), 137);
    let t = wait(&e, &t.task_arn, TaskStatus::Stopped).await;
    assert_eq!(
        t.stopped_reason.as_deref(),
        Some("Essential container in task exited")
    );
    assert_eq!(
        t.stop_code,
        Some(emulator::model::StopCode::EssentialContainerExited)
    );
    assert_eq!(t.container("db").unwrap().exit_code, Some(137));
    assert!(fake.container_names().is_empty());
    assert!(fake.network_names().is_empty());
}

#[tokio::test]
async fn stop_task_goes_through_the_stopping_statuses() {
    let fake = FakeRuntime::new();
    let e = setup(&fake).await;
    register(&e, web()).await;
    let (tasks, _) = run(&e, "web", 1).await;
    let arn = tasks[0].task_arn.clone();
    wait(&e, &arn, TaskStatus::Running).await;
    let mut events = e.subscribe();
    e.handle(Command::StopTask(request::StopTask {
        cluster: Some("c".into()),
        task: arn.clone(),
        reason: None,
    }))
    .await
    .unwrap();
    let t = wait(&e, &arn, TaskStatus::Stopped).await;
    assert_eq!(t.stopped_reason.as_deref(), Some("Task stopped by user"));
    let mut seen = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if ev.previous != ev.task.status() {
            seen.push(ev.task.status());
        }
    }
    assert_eq!(
        seen,
        [
            TaskStatus::Deactivating,
            TaskStatus::Stopping,
            TaskStatus::Deprovisioning,
            TaskStatus::Stopped
        ]
    );
    assert!(fake.container_names().is_empty());
}

#[tokio::test]
async fn a_restarted_engine_adopts_running_tasks_without_duplicates() {
    let fake = FakeRuntime::new();
    let e = setup(&fake).await;
    register(&e, web()).await;
    let (tasks, _) = run(&e, "web", 2).await;
    for t in &tasks {
        wait(&e, &t.task_arn, TaskStatus::Running).await;
    }
    let before = fake.container_names();
    let state = State::clone(&e.snapshot());
    e.shutdown();
    // A new engine on the saved state and the same engine.
    let e2 = engine_with(&fake, state).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.container_names(), before);
    for t in &tasks {
        assert_eq!(e2.task(&t.task_arn).unwrap().status(), TaskStatus::Running);
    }
    // And what died while nobody watched is marked stopped.
    e2.shutdown();
    let state = State::clone(&e2.snapshot());
    fake.exit(&fake.find(&tasks[0].task_arn, "app").unwrap(), 1);
    let e3 = engine_with(&fake, state).await;
    let t = wait(&e3, &tasks[0].task_arn, TaskStatus::Stopped).await;
    assert_eq!(
        t.stopped_reason.as_deref(),
        Some("Essential container in task exited")
    );
    assert_eq!(
        e3.task(&tasks[1].task_arn).unwrap().status(),
        TaskStatus::Running
    );
}

#[tokio::test]
async fn tasks_spread_over_zones_and_the_one_that_does_not_fit_is_refused() {
    let fake = FakeRuntime::new();
    let e = setup(&fake).await;
    register(&e, web()).await; // 600 MiB a task; 2048 per instance
    let (tasks, failures) = run(&e, "web", 7).await;
    assert_eq!(tasks.len(), 6);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].reason, "RESOURCE:MEMORY");
    let a = tasks
        .iter()
        .filter(|t| t.availability_zone == "us-east-1a")
        .count();
    assert_eq!(a, 3, "three per zone");
}

#[tokio::test]
async fn binpack_fills_one_instance_before_the_next_and_bad_strategies_are_refused() {
    let fake = FakeRuntime::new();
    let e = setup(&fake).await;
    register(&e, web()).await; // 600 MiB a task: three fit on one instance
    let r = e
        .handle(Command::RunTask(request::RunTask {
            cluster: Some("c".into()),
            task_definition: "web".into(),
            count: Some(4),
            placement_strategy: vec![json!({"type": "binpack", "field": "memory"})],
            ..Default::default()
        }))
        .await
        .unwrap();
    let Reply::Tasks { tasks, .. } = r else {
        panic!("{r:?}")
    };
    let mut per_instance = std::collections::BTreeMap::<String, usize>::new();
    for t in &tasks {
        *per_instance
            .entry(t.container_instance_arn.clone())
            .or_default() += 1;
    }
    let mut counts: Vec<usize> = per_instance.into_values().collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 3], "binpack fills the first instance");

    let err = e
        .handle(Command::RunTask(request::RunTask {
            cluster: Some("c".into()),
            task_definition: "web".into(),
            placement_strategy: vec![json!({"type": "binpack", "field": "disk"})],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("field 'disk'"), "{err}");
}

#[tokio::test]
async fn missing_images_and_taken_host_ports_fail_with_ecs_reasons() {
    let fake = FakeRuntime::new();
    let e = setup(&fake).await;
    register(&e, json!({"family": "nopull", "containerDefinitions": [{"name": "x", "image": "missing/img", "memory": 32}]})).await;
    let (tasks, _) = run(&e, "nopull", 1).await;
    let t = wait(&e, &tasks[0].task_arn, TaskStatus::Stopped).await;
    assert!(t
        .stopped_reason
        .as_deref()
        .unwrap()
        .starts_with("CannotPullContainerError"));
    assert!(t.stopped_reason.as_deref().unwrap().contains("missing/img"));
    assert_eq!(
        t.stop_code,
        Some(emulator::model::StopCode::TaskFailedToStart)
    );

    register(
        &e,
        json!({"family": "fixed", "containerDefinitions": [{"name": "x", "image": "i", "memory": 32,
        "portMappings": [{"containerPort": 80, "hostPort": 18080}]}]}),
    )
    .await;
    // Two tasks asking for one fixed host port: the second is not placed
    // (RESOURCE:PORTS), rather than placed and failing at Docker.
    let (tasks, failures) = run(&e, "fixed", 2).await;
    assert_eq!(tasks.len(), 1, "{failures:?}");
    assert_eq!(failures[0].reason, "RESOURCE:PORTS");
    let a = wait(&e, &tasks[0].task_arn, TaskStatus::Running).await;
    assert_eq!(a.host_port("x", 80), Some(18080));
}

/// An engine whose registry endpoint is `127.0.0.1:4510` (the fake's
/// `publish` fills it), and the ECR form of `name` for its account/region.
async fn with_registry(fake: &FakeRuntime) -> (Engine, impl Fn(&str) -> String) {
    let e = setup(fake).await;
    e.set_registry(Some(RegistryAccess::new(
        "127.0.0.1:4510".parse().unwrap(),
        || "minted".into(),
    )));
    let p = e.config().partition.clone();
    let ecr = move |name: &str| format!("{}.dkr.ecr.{}.amazonaws.com/{name}", p.account, p.region);
    (e, ecr)
}

fn one(family: &str, image: &str) -> serde_json::Value {
    json!({"family": family, "containerDefinitions": [{"name": "x", "image": image, "memory": 32}]})
}

#[tokio::test]
async fn registry_images_are_pulled_at_every_start_and_recorded_on_the_task() {
    let fake = FakeRuntime::new();
    let (e, ecr) = with_registry(&fake).await;
    fake.publish("127.0.0.1:4510/web:1", "sha256:aaa");
    register(&e, one("pulled", &ecr("web:1"))).await;
    let (tasks, _) = run(&e, "pulled", 2).await;
    for task in &tasks {
        let t = wait(&e, &task.task_arn, TaskStatus::Running).await;
        let (start, stop) = (t.pull_started_at.unwrap(), t.pull_stopped_at.unwrap());
        assert!(start <= stop && stop <= t.started_at.unwrap(), "{t:#?}");
        assert_eq!(t.containers[0].image_digest.as_deref(), Some("sha256:aaa"));
        // The container runs the image under this emulator's registry
        // name (another emulator on the engine may pull the same ECR name
        // from its own registry); DescribeTasks shows the definition's.
        let spec = fake.spec(&fake.find(&t.task_arn, "x").unwrap()).unwrap();
        assert_eq!(spec.image, "127.0.0.1:4510/web:1");
        assert_eq!(t.containers[0].image, ecr("web:1"));
    }
    let log = fake.log();
    let pulls = log
        .iter()
        .filter(|l| *l == "pull 127.0.0.1:4510/web:1")
        .count();
    assert_eq!(pulls, 2, "one pull per task start: {log:?}");
    let first_pull = log.iter().position(|l| l.starts_with("pull")).unwrap();
    let first_create = log.iter().position(|l| l.starts_with("create ")).unwrap();
    assert!(first_pull < first_create, "{log:?}");
    // By digest: run from the pulled reference, no tag; and by the
    // endpoint's own name.
    register(&e, one("bydigest", &ecr("web@sha256:aaa"))).await;
    register(&e, one("byhost", "localhost:4510/web:1")).await;
    for (family, runs_as) in [
        ("bydigest", "127.0.0.1:4510/web@sha256:aaa"),
        ("byhost", "127.0.0.1:4510/web:1"),
    ] {
        let (tasks, _) = run(&e, family, 1).await;
        let t = wait(&e, &tasks[0].task_arn, TaskStatus::Running).await;
        assert_eq!(t.containers[0].image_digest.as_deref(), Some("sha256:aaa"));
        let spec = fake.spec(&fake.find(&t.task_arn, "x").unwrap()).unwrap();
        assert_eq!(spec.image, runs_as);
    }
}

#[tokio::test]
async fn an_image_missing_from_the_registry_stops_the_task_with_the_agents_words() {
    let fake = FakeRuntime::new();
    let (e, ecr) = with_registry(&fake).await;
    register(&e, one("nope", &ecr("nope"))).await;
    let (tasks, _) = run(&e, "nope", 1).await;
    let t = wait(&e, &tasks[0].task_arn, TaskStatus::Stopped).await;
    let want = format!(
        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {}:latest: not found",
        ecr("nope")
    );
    assert_eq!(t.stopped_reason.as_deref(), Some(want.as_str()));
    assert_eq!(t.containers[0].reason.as_deref(), Some(want.as_str()));
    assert!(t.pull_started_at.unwrap() <= t.pull_stopped_at.unwrap());
    assert_eq!(
        t.stop_code,
        Some(emulator::model::StopCode::TaskFailedToStart)
    );
    assert!(fake.container_names().is_empty());

    // ECR of another account has no registry here.
    register(
        &e,
        one(
            "elsewhere",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1",
        ),
    )
    .await;
    let (tasks, _) = run(&e, "elsewhere", 1).await;
    let t = wait(&e, &tasks[0].task_arn, TaskStatus::Stopped).await;
    let reason = t.stopped_reason.unwrap();
    assert!(reason.starts_with("CannotPullContainerError"), "{reason}");
    assert!(
        reason.contains("123456789012") && reason.contains("eu-west-1"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_failed_pull_falls_back_on_the_cached_image() {
    use emulator::runtime::ContainerRuntime;
    let fake = FakeRuntime::new();
    let (e, ecr) = with_registry(&fake).await;
    // On the engine as an earlier pull left it, no longer in the registry.
    fake.ensure_image("127.0.0.1:4510/old:1").await.unwrap();
    register(&e, one("cached", &ecr("old:1"))).await;
    let (tasks, _) = run(&e, "cached", 1).await;
    let t = wait(&e, &tasks[0].task_arn, TaskStatus::Running).await;
    assert!(fake
        .log()
        .contains(&"pull 127.0.0.1:4510/old:1".to_string()));
    assert!(t.pull_stopped_at.is_some());
}

#[tokio::test]
async fn pulls_wait_for_the_registry_that_starts_after_the_engine() {
    let fake = FakeRuntime::new();
    let e = setup(&fake).await;
    fake.publish("127.0.0.1:4510/web:1", "sha256:bbb");
    let p = e.config().partition.clone();
    let image = format!("{}.dkr.ecr.{}.amazonaws.com/web:1", p.account, p.region);
    register(&e, one("early", &image)).await;
    let (tasks, _) = run(&e, "early", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = e.task(&tasks[0].task_arn).unwrap();
    assert_eq!(t.status(), TaskStatus::Pending, "{t:#?}");
    assert!(t.pull_started_at.is_some() && t.pull_stopped_at.is_none());
    e.set_registry(Some(RegistryAccess::new(
        "127.0.0.1:4510".parse().unwrap(),
        || "minted".into(),
    )));
    let t = wait(&e, &tasks[0].task_arn, TaskStatus::Running).await;
    assert_eq!(t.containers[0].image_digest.as_deref(), Some("sha256:bbb"));
}

#[tokio::test]
async fn without_a_registry_ecr_images_cannot_be_pulled_and_local_ones_still_run() {
    let fake = FakeRuntime::new();
    let e = setup(&fake).await;
    e.set_registry(None);
    let p = e.config().partition.clone();
    let image = format!("{}.dkr.ecr.{}.amazonaws.com/web", p.account, p.region);
    register(&e, one("noreg", &image)).await;
    register(&e, one("local", "127.0.0.1:4510/web:1")).await;
    let (tasks, _) = run(&e, "noreg", 1).await;
    let t = wait(&e, &tasks[0].task_arn, TaskStatus::Stopped).await;
    assert_eq!(
        t.stopped_reason.as_deref(),
        Some(&*format!("CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {image}:latest: this emulator runs without an image registry"))
    );
    // Without a registry, a loopback name is an image on the engine.
    let (tasks, _) = run(&e, "local", 1).await;
    wait(&e, &tasks[0].task_arn, TaskStatus::Running).await;
    assert!(!fake.log().iter().any(|l| l.starts_with("pull")));
}
