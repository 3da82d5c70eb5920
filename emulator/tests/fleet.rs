//! Container instances on several engines, against in-memory engines: a
//! task runs on its instance's engine, an engine that stops answering
//! disconnects its instances and (after the grace) loses its tasks, and
//! its return reconnects them and removes what was left there. Fast; the
//! same is proven on a second real Docker engine in `fleet_docker.rs`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use emulator::db::{Db, State};
use emulator::ecs::{Command, Engine, EngineConfig, EngineError, Reply};
use emulator::model::request;
use emulator::model::{Attribute, ContainerInstance, Task, TaskStatus};
use emulator::runtime::fleet::Fleet;
use emulator::runtime::testing::FakeRuntime;
use emulator::runtime::ContainerRuntime;
use serde_json::json;

const REMOTE: &str = "tcp://10.213.9.2:2375";

/// An engine over a local fake and remote fakes made on demand (an
/// endpoint starting `tcp://unreachable` is one that never answers).
struct Setup {
    engine: Engine,
    local: FakeRuntime,
    remotes: Arc<Mutex<HashMap<String, FakeRuntime>>>,
}

impl Setup {
    fn new(grace: Duration) -> Setup {
        let local = FakeRuntime::new();
        let remotes: Arc<Mutex<HashMap<String, FakeRuntime>>> = Default::default();
        let made = remotes.clone();
        let fleet = Fleet::new(
            Arc::new(local.clone()),
            Arc::new(move |endpoint: &str, _: Option<&Path>| {
                let fake = FakeRuntime::new();
                if endpoint.starts_with("tcp://unreachable") {
                    fake.set_down(true);
                }
                made.lock()
                    .unwrap()
                    .insert(endpoint.to_string(), fake.clone());
                Ok(Arc::new(fake) as Arc<dyn ContainerRuntime>)
            }),
        );
        let engine = Engine::with_fleet(
            EngineConfig {
                resync: Duration::from_millis(50),
                default_stop_timeout_s: 1,
                instance_check: Duration::from_millis(50),
                instance_grace: grace,
                ..EngineConfig::default()
            },
            Arc::new(fleet),
            Db::in_memory(State::default()),
        );
        engine.start();
        Setup {
            engine,
            local,
            remotes,
        }
    }

    fn remote(&self) -> FakeRuntime {
        self.remotes.lock().unwrap()[REMOTE].clone()
    }

    async fn cluster(&self) {
        self.engine
            .handle(Command::CreateCluster(request::CreateCluster {
                cluster_name: Some("c".into()),
                ..Default::default()
            }))
            .await
            .unwrap();
    }

    async fn instance(&self, docker_host: Option<&str>) -> Result<ContainerInstance, EngineError> {
        let attributes = docker_host
            .map(|h| {
                vec![Attribute {
                    name: "emulator.docker-host".into(),
                    value: Some(h.into()),
                }]
            })
            .unwrap_or_default();
        let r = self
            .engine
            .handle(Command::RegisterContainerInstance(
                request::RegisterContainerInstance {
                    cluster: Some("c".into()),
                    attributes,
                    ..Default::default()
                },
            ))
            .await?;
        match r {
            Reply::ContainerInstance(i) => Ok(i),
            other => panic!("{other:?}"),
        }
    }

    async fn register(&self, definition: serde_json::Value) {
        self.engine
            .handle(Command::RegisterTaskDefinition(Box::new(
                serde_json::from_value(definition).unwrap(),
            )))
            .await
            .unwrap();
    }

    /// StartTask of family `web` on one instance.
    async fn start_on(&self, instance_arn: &str) -> Result<Reply, EngineError> {
        self.engine
            .handle(Command::StartTask(request::StartTask {
                cluster: Some("c".into()),
                task_definition: "web".into(),
                container_instances: vec![instance_arn.to_string()],
                ..Default::default()
            }))
            .await
    }

    async fn run_on(&self, instance: &ContainerInstance) -> Task {
        self.register(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "img", "memoryReservation": 128,
             "portMappings": [{"containerPort": 3000}]}
        ]}))
        .await;
        match self
            .start_on(&instance.container_instance_arn)
            .await
            .unwrap()
        {
            Reply::Tasks { mut tasks, .. } => tasks.remove(0),
            other => panic!("{other:?}"),
        }
    }

    fn instance_now(&self, arn: &str) -> ContainerInstance {
        self.engine
            .read(|s| s.container_instances.get(arn).cloned())
            .unwrap()
    }

    async fn until<T>(&self, what: &str, mut f: impl FnMut(&Engine) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = f(&self.engine) {
                return v;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn status_of(e: &Engine, arn: &str) -> TaskStatus {
    e.task(arn)
        .map(|t| t.status())
        .unwrap_or(TaskStatus::Stopped)
}

#[tokio::test]
async fn an_instance_on_another_engine_registers_its_resources_and_runs_its_tasks_there() {
    let s = Setup::new(Duration::from_secs(60));
    s.cluster().await;
    let local = s.instance(None).await.unwrap();
    let remote = s.instance(Some(REMOTE)).await.unwrap();
    // The local one: the default type's resources; the other: what its
    // engine reports (the fake: 2 CPUs, 4096 MiB), and no instance type.
    assert_eq!(local.capacity(), (1024, 2048));
    assert_eq!(remote.capacity(), (2048, 4096));
    assert_eq!(remote.docker_host(), Some(REMOTE));
    assert!(remote.attribute("ecs.instance-type").is_none());
    assert_eq!(remote.address().as_deref(), Some("10.213.9.2"));

    let task = s.run_on(&remote).await;
    let arn = task.task_arn.clone();
    s.until("the task runs", |e| {
        (status_of(e, &arn) == TaskStatus::Running).then_some(())
    })
    .await;
    let fake = s.remote();
    assert!(
        fake.container_names()
            .iter()
            .any(|n| n.starts_with("ecs-web-")),
        "the container is on the remote engine: {:?}",
        fake.container_names()
    );
    assert!(
        s.local.container_names().is_empty(),
        "nothing on the local engine: {:?}",
        s.local.container_names()
    );
    // The remote engine publishes on every address (the balancer comes
    // from outside); it is not in ECS's Task shape.
    let spec = fake
        .spec(&fake.container_names()[0])
        .expect("a spec for the container");
    assert!(spec
        .labels
        .values()
        .any(|v| v == &remote.container_instance_arn));
    let answer = emulator::ecs::wire::handle(
        &s.engine,
        "DescribeTasks",
        json!({"cluster": "c", "tasks": [arn]})
            .to_string()
            .as_bytes(),
    )
    .await
    .unwrap();
    let body = axum::body::to_bytes(
        axum::response::IntoResponse::into_response(answer).into_body(),
        1 << 20,
    )
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("dockerHost"), "{text}");
    assert!(text.contains(&remote.container_instance_arn), "{text}");
}

#[tokio::test]
async fn an_engine_that_does_not_answer_cannot_be_registered() {
    let s = Setup::new(Duration::from_secs(60));
    s.cluster().await;
    let err = s
        .instance(Some("tcp://unreachable:2375"))
        .await
        .expect_err("an engine that does not answer is refused");
    let text = err.to_string();
    assert!(
        text.contains("tcp://unreachable:2375") && text.contains("does not answer"),
        "{text}"
    );
    let count = s.engine.read(|st| st.container_instances.len());
    assert_eq!(count, 0, "nothing registered");
}

#[tokio::test]
async fn a_lost_engine_disconnects_its_instance_stops_its_tasks_and_reconnects_on_return() {
    let s = Setup::new(Duration::from_millis(400));
    s.cluster().await;
    let local = s.instance(None).await.unwrap();
    let remote = s.instance(Some(REMOTE)).await.unwrap();
    let task = s.run_on(&remote).await;
    let arn = task.task_arn.clone();
    s.until("the task runs", |e| {
        (status_of(e, &arn) == TaskStatus::Running).then_some(())
    })
    .await;
    let fake = s.remote();

    fake.set_down(true);
    let ci = remote.container_instance_arn.clone();
    s.until("the instance's agent disconnects", |_| {
        (!s.instance_now(&ci).agent_connected).then_some(())
    })
    .await;
    assert!(
        s.instance_now(&local.container_instance_arn)
            .agent_connected
    );
    // Within the grace the task is still RUNNING, as ECS shows it.
    assert_eq!(status_of(&s.engine, &arn), TaskStatus::Running);
    // Nothing new is placed on a disconnected instance.
    let r = s.start_on(&ci).await;
    let placed = matches!(r, Ok(Reply::Tasks { ref tasks, .. }) if !tasks.is_empty());
    assert!(!placed, "placed on a disconnected instance: {r:?}");

    // After the grace the task stops as on a terminated host.
    let stopped = s
        .until("the task stops", |e| {
            e.task(&arn).filter(|t| t.status() == TaskStatus::Stopped)
        })
        .await;
    assert_eq!(
        stopped.stopped_reason.as_deref(),
        Some(
            format!(
                "Host EC2 (instance {}) stopped/terminated.",
                remote.ec2_instance_id
            )
            .as_str()
        )
    );
    assert_eq!(
        stopped.stop_code,
        Some(emulator::model::task::StopCode::TerminationNotice)
    );
    assert!(
        !fake.container_names().is_empty(),
        "the unreachable container is still there"
    );

    // The engine is back: the instance reconnects, the stray goes.
    fake.set_down(false);
    s.until("the instance reconnects", |_| {
        s.instance_now(&ci).agent_connected.then_some(())
    })
    .await;
    s.until("the stopped task's container is removed", |_| {
        fake.container_names().is_empty().then_some(())
    })
    .await;
    assert!(
        fake.network_names().is_empty(),
        "{:?}",
        fake.network_names()
    );
}

#[tokio::test]
async fn fixed_host_ports_are_taken_per_engine() {
    let s = Setup::new(Duration::from_secs(60));
    s.cluster().await;
    let local = s.instance(None).await.unwrap();
    let remote = s.instance(Some(REMOTE)).await.unwrap();
    s.register(json!({"family": "fixed", "containerDefinitions": [
        {"name": "app", "image": "img", "memoryReservation": 64,
         "portMappings": [{"containerPort": 80, "hostPort": 8088}]}
    ]}))
    .await;
    let r = s
        .engine
        .handle(Command::RunTask(request::RunTask {
            cluster: Some("c".into()),
            task_definition: "fixed".into(),
            count: Some(3),
            ..Default::default()
        }))
        .await
        .unwrap();
    let Reply::Tasks { tasks, failures } = r else {
        panic!()
    };
    // One per engine: the port is free once on each.
    assert_eq!(tasks.len(), 2, "{failures:?}");
    let mut on: Vec<&str> = tasks
        .iter()
        .map(|t| t.container_instance_arn.as_str())
        .collect();
    on.sort();
    let mut want = vec![
        local.container_instance_arn.as_str(),
        remote.container_instance_arn.as_str(),
    ];
    want.sort();
    assert_eq!(on, want);
    assert_eq!(failures.len(), 1);
    assert!(failures[0].reason.contains("PORTS"), "{:?}", failures[0]);
}

#[tokio::test]
async fn an_engine_no_instance_uses_is_no_longer_watched_and_is_again_when_registered() {
    let s = Setup::new(Duration::from_secs(60));
    s.cluster().await;
    let remote = s.instance(Some(REMOTE)).await.unwrap();
    let fake = s.remote();
    let before = fake.info_calls();
    s.until("the engine is watched", |_| {
        (fake.info_calls() > before + 2).then_some(())
    })
    .await;
    s.engine
        .handle(Command::DeregisterContainerInstance(
            request::DeregisterContainerInstance {
                cluster: Some("c".into()),
                container_instance: remote.container_instance_arn.clone(),
                force: false,
            },
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = fake.info_calls();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.info_calls(),
        settled,
        "still asked after its instance went"
    );
    // Registered again: watched again (a down engine disconnects it).
    let again = s.instance(Some(REMOTE)).await.unwrap();
    fake.set_down(true);
    let arn = again.container_instance_arn.clone();
    s.until("the new instance disconnects", |_| {
        (!s.instance_now(&arn).agent_connected).then_some(())
    })
    .await;
}
