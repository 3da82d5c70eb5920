//! ECS services on real Docker, through the embedded load balancer: desired
//! count and spread, self-healing after SIGKILL, zero-downtime rolling
//! deployments under load, the circuit breaker's rollback, manual and
//! cluster scaling, target tracking, and the real AWS CLI.
//!
//! Each test runs its own emulator process on the default stack (its
//! instances made t2.large so several node tasks fit), with ephemeral API
//! and listener ports and short reconcile/evaluation intervals.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{aws_cli, docker_or_skip, have_aws_cli, Emulator, BIN};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(600);
const CLUSTER: &str = "microservice-ping-pong-cluster";
const NODE: &str = "microservice-ping-pong-node-service";
const CLIENT: &str = "microservice-ping-pong-client-service";
const NODE_TD: &str = "microservice-ping-pong-node-td";

struct Stack {
    emu: Emulator,
    listener: String,
    _dir: tempfile::TempDir,
}

/// The default stack on bigger instances, services included.
async fn up() -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let mut stack: Value = serde_json::from_str(emulator::model::stack::DEFAULT_STACK).unwrap();
    for i in stack["cluster"]["containerInstances"]
        .as_array_mut()
        .unwrap()
    {
        i["instanceType"] = json!("t2.large");
    }
    let path = dir.path().join("stack.json");
    std::fs::write(&path, stack.to_string()).unwrap();
    let emu = Emulator::up(&[
        "--stack",
        path.to_str().unwrap(),
        "--alb-addr",
        "127.0.0.1:0",
        "--ephemeral-listeners",
        "--service-interval-ms",
        "200",
        "--autoscaling-period-secs",
        "1",
    ])
    .await;
    let v: Value = reqwest::get(format!("{}/_emulator/listeners", emu.endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listener = v
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|a| a.as_str())
        .expect("the stack's listener is bound")
        .to_string();
    Stack {
        emu,
        listener: format!("http://{listener}"),
        _dir: dir,
    }
}

impl Stack {
    async fn service(&self, name: &str) -> Value {
        let v = self
            .emu
            .ok(
                "DescribeServices",
                json!({"cluster": CLUSTER, "services": [name]}),
            )
            .await;
        v["services"][0].clone()
    }

    /// Polls the service until `pred` holds.
    async fn wait(&self, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + T;
        loop {
            let s = self.service(name).await;
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: {what} did not happen: {:#}",
                brief(&s)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Steady: desired tasks running, one COMPLETED deployment, and a
    /// steady-state event newer than `after` events.
    async fn steady(&self, name: &str, desired: u64) -> Value {
        self.wait(name, &format!("steady at {desired}"), |s| {
            s["runningCount"] == desired
                && s["pendingCount"] == 0
                && s["deployments"].as_array().unwrap().len() == 1
                && s["deployments"][0]["rolloutState"] == "COMPLETED"
                && messages(s)
                    .first()
                    .is_some_and(|m| m.ends_with("has reached a steady state."))
        })
        .await
    }

    async fn update(&self, body: Value) -> Value {
        let mut body = body;
        body["cluster"] = json!(CLUSTER);
        self.emu.ok("UpdateService", body).await["service"].clone()
    }

    /// ELBv2 (Query protocol) call; the XML body.
    async fn elb(&self, form: &str) -> String {
        let resp = reqwest::Client::new()
            .post(format!("{}/", self.emu.endpoint))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("Version=2015-12-01&{form}"))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{form}: {text}");
        text
    }

    async fn tg_arn(&self, name: &str) -> String {
        let x = self
            .elb(&format!(
                "Action=DescribeTargetGroups&Names.member.1={name}"
            ))
            .await;
        between(&x, "TargetGroupArn").to_string()
    }

    /// Target states in a group (`healthy`, `draining`, ...).
    async fn target_states(&self, tg: &str) -> Vec<String> {
        let x = self
            .elb(&format!(
                "Action=DescribeTargetHealth&TargetGroupArn={}",
                enc(tg)
            ))
            .await;
        x.split("<State>")
            .skip(1)
            .map(|p| p.split('<').next().unwrap_or("").to_string())
            .collect()
    }

    /// The service's live tasks, described.
    async fn tasks(&self, service: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        for d in service["deployments"].as_array().unwrap() {
            let arns = self
                .emu
                .ok(
                    "ListTasks",
                    json!({"cluster": CLUSTER, "startedBy": d["id"]}),
                )
                .await["taskArns"]
                .clone();
            if arns.as_array().unwrap().is_empty() {
                continue;
            }
            let v = self
                .emu
                .ok("DescribeTasks", json!({"cluster": CLUSTER, "tasks": arns}))
                .await;
            out.extend(v["tasks"].as_array().unwrap().iter().cloned());
        }
        out
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(["--endpoint", &self.emu.endpoint])
            .args(args)
            .output()
            .expect("emulator cli");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "emulator {args:?} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }
}

fn brief(s: &Value) -> Value {
    json!({
        "desired": s["desiredCount"], "running": s["runningCount"], "pending": s["pendingCount"],
        "deployments": s["deployments"].as_array().map(|a| a.iter().map(|d| json!([d["status"], d["rolloutState"], d["taskDefinition"], d["runningCount"], d["failedTasks"]])).collect::<Vec<_>>()),
        "events": messages(s).into_iter().take(12).collect::<Vec<_>>(),
    })
}

fn messages(s: &Value) -> Vec<String> {
    s["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["message"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn between<'a>(text: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = text.find(&open).map(|i| i + open.len()).expect(tag);
    let end = text[start..].find('<').unwrap() + start;
    &text[start..end]
}

fn enc(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}

/// Concurrent clients hammering one URL until stopped.
struct Load {
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    errors: Arc<std::sync::Mutex<Vec<String>>>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(url: String, workers: usize, expect: &'static str) -> Load {
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
        let handles = (0..workers)
            .map(|_| {
                let (ok, failed, stop, errors, url) = (
                    ok.clone(),
                    failed.clone(),
                    stop.clone(),
                    errors.clone(),
                    url.clone(),
                );
                tokio::spawn(async move {
                    let client = reqwest::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .unwrap();
                    while !stop.load(Ordering::Relaxed) {
                        let r = client.get(&url).send().await;
                        let good = match r {
                            Ok(resp) => {
                                let status = resp.status();
                                let body = resp.text().await.unwrap_or_default();
                                if status.is_success() && body == expect {
                                    true
                                } else {
                                    errors.lock().unwrap().push(format!("{status} {body}"));
                                    false
                                }
                            }
                            Err(e) => {
                                errors.lock().unwrap().push(e.to_string());
                                false
                            }
                        };
                        if good {
                            ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        Load {
            ok,
            failed,
            stop,
            errors,
            handles,
        }
    }

    /// Waits until `n` requests in all were answered (or failed).
    async fn reached(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.total() < n {
            assert!(
                Instant::now() < deadline,
                "the load made only {} of {n} requests",
                self.total()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn total(&self) -> u64 {
        self.ok.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    /// Stops; (ok, failed, first errors).
    async fn finish(self) -> (u64, u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            let _ = h.await;
        }
        let errors = self
            .errors
            .lock()
            .unwrap()
            .iter()
            .take(5)
            .cloned()
            .collect();
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            errors,
        )
    }
}

/// Registers a copy of the node task definition with `edit` applied to
/// node-john; returns its ARN.
async fn node_revision(s: &Stack, edit: impl FnOnce(&mut Value)) -> String {
    let td = s
        .emu
        .ok("DescribeTaskDefinition", json!({"taskDefinition": NODE_TD}))
        .await["taskDefinition"]
        .clone();
    let mut td = td;
    for k in ["taskDefinitionArn", "revision", "status", "registeredAt"] {
        td.as_object_mut().unwrap().remove(k);
    }
    edit(&mut td["containerDefinitions"][0]);
    s.emu.ok("RegisterTaskDefinition", td).await["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_services_answer_and_scale_by_api_and_cli_spread_over_zones() {
    if !docker_or_skip("stack_services_answer_and_scale_by_api_and_cli_spread_over_zones") {
        return;
    }
    let s = up().await;
    s.steady(CLIENT, 1).await;
    let node = s.steady(NODE, 1).await;
    let msgs = messages(&node);
    assert!(
        msgs.iter().any(|m| m.starts_with(&format!(
            "(service {NODE}) registered 1 targets in (target-group arn:aws:elasticloadbalancing:"
        ))),
        "{msgs:#?}"
    );
    assert!(msgs.iter().any(|m| m
        .starts_with(&format!("(service {NODE}) has started 1 tasks: (task "))
        && m.ends_with(").")));
    let body = reqwest::get(format!("{}/start", s.listener))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, common::START_BODY);
    let ping = reqwest::get(format!("{}/ping", s.listener))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ping, "pong");
    let page = reqwest::get(format!("{}/", s.listener))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html"), "{page}");

    // Desired 3: three running, healthy in the group, over both zones.
    s.update(json!({"service": NODE, "desiredCount": 3})).await;
    let node = s.steady(NODE, 3).await;
    let tasks = s.tasks(&node).await;
    assert_eq!(tasks.len(), 3);
    let zones: BTreeSet<&str> = tasks
        .iter()
        .map(|t| t["availabilityZone"].as_str().unwrap())
        .collect();
    assert_eq!(zones.len(), 2, "{zones:?}");
    let tg = s.tg_arn("microservice-ping-pong-node-tg").await;
    assert_eq!(s.target_states(&tg).await, vec!["healthy"; 3]);
    assert!(messages(&node)
        .iter()
        .any(|m| m.starts_with(&format!("(service {NODE}) has started 2 tasks: (task "))));

    // Scale in by the CLI: drained, deregistered, stopped, in ECS words.
    let out = s.cli(&["scale", NODE, "1"]);
    assert!(out.contains("desired count 3 -> 1"), "{out}");
    let node = s.steady(NODE, 1).await;
    let msgs = messages(&node);
    for needle in [
        "has begun draining connections on 1 tasks.".to_string(),
        format!("deregistered 1 targets in (target-group {tg})"),
        "has stopped 1 running tasks: (task ".to_string(),
    ] {
        assert!(
            msgs.iter().any(|m| m.contains(&needle)),
            "{needle}: {msgs:#?}"
        );
    }
    // Newest first.
    assert!(msgs[0].ends_with("has reached a steady state."));
    assert_eq!(s.target_states(&tg).await, vec!["healthy"]);

    // And up again by the API; the CLI lists and tells.
    s.update(json!({"service": NODE, "desiredCount": 2})).await;
    s.steady(NODE, 2).await;
    let out = s.cli(&["services"]);
    assert!(out.contains(NODE) && out.contains(CLIENT), "{out}");
    let out = s.cli(&["events", NODE]);
    assert!(out.contains("has reached a steady state."), "{out}");
    // `emulator stats` reads the real containers' counters: every node
    // container of both tasks, with memory in use.
    let out = s.cli(&["stats"]);
    let john: Vec<&str> = out.lines().filter(|l| l.contains("node-john")).collect();
    assert_eq!(john.len(), 2, "{out}");
    assert!(
        john.iter()
            .all(|l| l.contains(" / 300 MiB") && !l.contains(" 0 B / 300 MiB")),
        "{out}"
    );
    assert!(out.contains(&format!("service:{NODE}")), "{out}");

    // ListServices, and DeleteService refuses a service scaled above 0.
    let list = s.emu.ok("ListServices", json!({"cluster": CLUSTER})).await;
    assert_eq!(list["serviceArns"].as_array().unwrap().len(), 2);
    // ListTasks by service: that service's tasks only.
    let mine = s
        .emu
        .ok(
            "ListTasks",
            json!({"cluster": CLUSTER, "serviceName": CLIENT}),
        )
        .await;
    assert_eq!(mine["taskArns"].as_array().unwrap().len(), 1, "{mine}");
    let mine = s
        .emu
        .ok(
            "ListTasks",
            json!({"cluster": CLUSTER, "serviceName": NODE}),
        )
        .await;
    assert_eq!(mine["taskArns"].as_array().unwrap().len(), 2, "{mine}");
    let (status, err) = s
        .emu
        .call(
            "ListTasks",
            json!({"cluster": CLUSTER, "serviceName": "nope"}),
        )
        .await;
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ServiceNotFoundException"))
    );
    let (status, err) = s
        .emu
        .call(
            "DeleteService",
            json!({"cluster": CLUSTER, "service": CLIENT}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(err["__type"], "InvalidParameterException");
    // A load balancer naming a container port the definition lacks.
    let (status, err) = s
        .emu
        .call(
            "CreateService",
            json!({"cluster": CLUSTER, "serviceName": "bad", "taskDefinition": NODE_TD, "desiredCount": 1,
                   "loadBalancers": [{"targetGroupArn": tg, "containerName": "node-john", "containerPort": 4000}]}),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("container port 4000"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkilled_task_is_replaced_and_clients_see_no_errors() {
    if !docker_or_skip("sigkilled_task_is_replaced_and_clients_see_no_errors") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    s.update(json!({"service": NODE, "desiredCount": 2})).await;
    let node = s.steady(NODE, 2).await;
    let before = s.tasks(&node).await;
    let victim = before[0]["taskArn"].as_str().unwrap().to_string();
    let tg = s.tg_arn("microservice-ping-pong-node-tg").await;

    let load = Load::start(format!("{}/ping", s.listener), 4, "pong");
    load.reached(50).await;
    let out = s.cli(&["kill", &victim]);
    assert!(out.contains("sent SIGKILL"), "{out}");
    let t = s.emu.wait_task(CLUSTER, &victim, "STOPPED", T).await;
    // The engine sees the container die; the balancer may see the target
    // fail first (passive health), and then the scheduler stops it.
    assert!(
        t["stopCode"] == "EssentialContainerExited" || t["stopCode"] == "ServiceSchedulerInitiated",
        "{t:#}"
    );
    let node = s
        .wait(NODE, "replacement", |v| {
            v["runningCount"] == 2
                && messages(v)
                    .first()
                    .is_some_and(|m| m.ends_with("has reached a steady state."))
                && messages(v)
                    .iter()
                    .filter(|m| m.contains("has started 1 tasks"))
                    .count()
                    >= 1
        })
        .await;
    // Keep the load on the healed service for a while.
    load.reached(load.total() + 200).await;
    let (ok, failed, errors) = load.finish().await;
    assert!(ok > 250, "the load ran: {ok}");
    assert_eq!(failed, 0, "client errors during self-healing: {errors:?}");
    let after: BTreeSet<String> = s
        .tasks(&node)
        .await
        .iter()
        .map(|t| t["taskArn"].as_str().unwrap().to_string())
        .collect();
    assert!(!after.contains(&victim));
    assert_eq!(after.len(), 2);
    // The target group followed: two healthy targets, the dead one gone.
    assert_eq!(s.target_states(&tg).await, vec!["healthy"; 2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn rolling_deployment_under_load_fails_no_request() {
    if !docker_or_skip("rolling_deployment_under_load_fails_no_request") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    s.update(json!({"service": NODE, "desiredCount": 2})).await;
    let node = s.steady(NODE, 2).await;
    let old: Vec<String> = s
        .tasks(&node)
        .await
        .iter()
        .map(|t| t["taskArn"].as_str().unwrap().to_string())
        .collect();
    let rev2 = node_revision(&s, |john| {
        john["environment"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "RELEASE", "value": "2"}));
    })
    .await;

    let load = Load::start(format!("{}/ping", s.listener), 6, "pong");
    load.reached(50).await;
    let started = Instant::now();
    let before = load.total();
    let up = s
        .update(json!({"service": NODE, "taskDefinition": rev2}))
        .await;
    assert_eq!(up["deployments"][0]["status"], "PRIMARY");
    assert_eq!(up["deployments"][0]["rolloutState"], "IN_PROGRESS");
    assert_eq!(up["deployments"][1]["status"], "ACTIVE");
    let done = s
        .wait(NODE, "rollout COMPLETED", |v| {
            v["deployments"].as_array().unwrap().len() == 1
                && v["deployments"][0]["taskDefinition"] == rev2.as_str()
                && v["deployments"][0]["rolloutState"] == "COMPLETED"
                && v["runningCount"] == 2
        })
        .await;
    let took = started.elapsed();
    let during = load.total() - before;
    assert!(during > 0, "no request during the deployment");
    load.reached(5000).await;
    let (ok, failed, errors) = load.finish().await;
    eprintln!(
        "rolling deployment took {took:?} ({during} requests meanwhile); {ok} requests ok, {failed} failed"
    );
    assert!(ok >= 5000);
    assert_eq!(
        failed, 0,
        "failed requests during the deployment: {errors:?}"
    );
    for arn in &old {
        let t = s.emu.wait_task(CLUSTER, arn, "STOPPED", T).await;
        assert_eq!(t["stopCode"], "ServiceSchedulerInitiated");
    }
    let msgs = messages(&s.steady(NODE, 2).await);
    let completed = msgs
        .iter()
        .position(|m| m.contains("deployment completed."))
        .expect("completed event");
    let steady = msgs
        .iter()
        .position(|m| m.ends_with("has reached a steady state."))
        .unwrap();
    assert!(
        steady < completed,
        "steady state after completion: {msgs:#?}"
    );
    assert!(
        msgs.iter()
            .filter(|m| m.contains("has begun draining connections on 1 tasks."))
            .count()
            >= 2
    );
    assert_eq!(done["taskDefinition"], rev2.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_deployment_trips_the_circuit_breaker_and_rolls_back() {
    if !docker_or_skip("failing_deployment_trips_the_circuit_breaker_and_rolls_back") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    s.update(json!({"service": NODE, "desiredCount": 2})).await;
    let node = s.steady(NODE, 2).await;
    let good = node["taskDefinition"].as_str().unwrap().to_string();
    // node-john listens on another port: the target group's check fails.
    let bad = node_revision(&s, |john| {
        john["environment"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "BIND_ADDR", "value": "0.0.0.0:3001"}));
    })
    .await;
    let load = Load::start(format!("{}/ping", s.listener), 3, "pong");
    s.update(json!({"service": NODE, "taskDefinition": bad}))
        .await;
    let back = s
        .wait(NODE, "rollback", |v| {
            messages(v)
                .iter()
                .any(|m| m.contains("rolling back to deployment"))
                && v["deployments"][0]["taskDefinition"] == good.as_str()
                && v["deployments"][0]["rolloutState"] == "COMPLETED"
                && v["runningCount"] == 2
        })
        .await;
    let (ok, failed, errors) = load.finish().await;
    assert!(ok > 50);
    assert_eq!(failed, 0, "the service must answer throughout: {errors:?}");
    let msgs = messages(&back);
    assert!(
        msgs.iter()
            .any(|m| m.contains("deployment failed: tasks failed to start.")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("failed ELB health checks")),
        "{msgs:#?}"
    );
    assert_eq!(back["taskDefinition"], good.as_str());
    // Only tasks of the good revision remain.
    let tasks = s.tasks(&back).await;
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    for t in tasks {
        assert_eq!(t["taskDefinitionArn"], good.as_str());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn draining_instance_loses_its_service_tasks_to_the_other() {
    if !docker_or_skip("draining_instance_loses_its_service_tasks_to_the_other") {
        return;
    }
    let s = up().await;
    s.steady(CLIENT, 1).await;
    let node = s.steady(NODE, 1).await;
    let task = s.tasks(&node).await[0].clone();
    let instance = task["containerInstanceArn"].as_str().unwrap().to_string();
    let load = Load::start(format!("{}/ping", s.listener), 2, "pong");
    let v = s
        .emu
        .ok(
            "UpdateContainerInstancesState",
            json!({"cluster": CLUSTER, "containerInstances": [instance], "status": "DRAINING"}),
        )
        .await;
    assert_eq!(v["containerInstances"][0]["status"], "DRAINING");
    let node = s
        .wait(NODE, "moved", |v| {
            v["runningCount"] == 1
                && messages(v)
                    .first()
                    .is_some_and(|m| m.ends_with("has reached a steady state."))
                && messages(v)
                    .iter()
                    .any(|m| m.contains("has stopped 1 running tasks"))
        })
        .await;
    let (_, failed, errors) = load.finish().await;
    assert_eq!(failed, 0, "{errors:?}");
    let moved = s.tasks(&node).await;
    assert_eq!(moved.len(), 1);
    assert_ne!(moved[0]["containerInstanceArn"], instance.as_str());
    // The client service's task (if it was there) moves too.
    s.steady(CLIENT, 1).await;
    let left_running = s
        .emu
        .ok(
            "ListTasks",
            json!({"cluster": CLUSTER, "containerInstance": instance}),
        )
        .await;
    assert!(
        left_running["taskArns"].as_array().unwrap().is_empty(),
        "{left_running}"
    );
}

async fn autoscaling(s: &Stack, op: &str, body: Value) -> Value {
    let (status, v) = common::raw_call(
        &s.emu.endpoint,
        Some(&format!("AnyScaleFrontendService.{op}")),
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{op}: {v}");
    v
}

/// Registers the node service as a scalable target (1..=`max`) with one
/// target-tracking policy on `metric` (cooldowns out/in in seconds);
/// returns the resource id.
async fn track(
    s: &Stack,
    policy: &str,
    max: u32,
    metric: &str,
    target: f64,
    (out_cd, in_cd): (u32, u32),
) -> String {
    let rid = format!("service/{CLUSTER}/{NODE}");
    autoscaling(
        s,
        "RegisterScalableTarget",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid, "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 1, "MaxCapacity": max}),
    )
    .await;
    autoscaling(
        s,
        "PutScalingPolicy",
        json!({"PolicyName": policy, "ServiceNamespace": "ecs", "ResourceId": rid,
               "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling",
               "TargetTrackingScalingPolicyConfiguration": {"TargetValue": target,
                 "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
                 "ScaleOutCooldown": out_cd, "ScaleInCooldown": in_cd}}),
    )
    .await;
    rid
}

#[tokio::test(flavor = "multi_thread")]
async fn target_tracking_scales_out_under_load_and_back_in() {
    if !docker_or_skip("target_tracking_scales_out_under_load_and_back_in") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    let rid = track(&s, "requests", 3, "ALBRequestCountPerTarget", 600.0, (1, 3)).await;
    // Hundreds of requests a second: far above 600 a minute per target.
    let load = Load::start(format!("{}/ping", s.listener), 4, "pong");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = s.service(NODE).await;
        let d = v["desiredCount"].as_u64().unwrap();
        assert!(d <= 3, "desired count above the maximum: {d}");
        if d == 3 && v["runningCount"] == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not scale out: {:#}",
            brief(&v)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (_, failed, errors) = load.finish().await;
    assert_eq!(failed, 0, "{errors:?}");
    // No load: back to the minimum.
    s.wait(NODE, "scale in to 1", |v| {
        v["desiredCount"] == 1 && v["runningCount"] == 1
    })
    .await;
    let acts = autoscaling(
        &s,
        "DescribeScalingActivities",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid}),
    )
    .await;
    let descs: Vec<&str> = acts["ScalingActivities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Description"].as_str().unwrap())
        .collect();
    assert!(descs.contains(&"Setting desired count to 1."), "{descs:?}");
    assert!(
        descs.contains(&"Setting desired count to 3.")
            || descs.contains(&"Setting desired count to 2."),
        "no scale-out activity: {descs:?}"
    );
    let pol = autoscaling(
        &s,
        "DescribeScalingPolicies",
        json!({"ServiceNamespace": "ecs", "ResourceId": rid}),
    )
    .await;
    assert_eq!(pol["ScalingPolicies"][0]["PolicyName"], "requests");
}

fn aws(s: &Stack, args: &[&str]) -> Value {
    aws_cli(&s.emu.endpoint, args)
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_drives_services_and_cpu_target_tracking() {
    if !docker_or_skip("aws_cli_drives_services_and_cpu_target_tracking") {
        return;
    }
    if !have_aws_cli("aws_cli_drives_services_and_cpu_target_tracking") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    let tg = s.tg_arn("microservice-ping-pong-node-tg").await;
    let lb = format!("targetGroupArn={tg},containerName=node-john,containerPort=3000");
    let v = aws(&s, &["ecs", "create-service", "--cluster", CLUSTER, "--service-name", "cli-svc",
        "--task-definition", NODE_TD, "--desired-count", "1", "--load-balancers", &lb,
        "--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=100,deploymentCircuitBreaker={enable=true,rollback=true}"]);
    assert_eq!(v["service"]["serviceName"], "cli-svc");
    assert_eq!(
        v["service"]["deployments"][0]["rolloutState"],
        "IN_PROGRESS"
    );
    s.steady("cli-svc", 1).await;
    let v = aws(
        &s,
        &[
            "ecs",
            "update-service",
            "--cluster",
            CLUSTER,
            "--service",
            "cli-svc",
            "--desired-count",
            "2",
        ],
    );
    assert_eq!(v["service"]["desiredCount"], 2);
    s.steady("cli-svc", 2).await;
    let v = aws(
        &s,
        &[
            "ecs",
            "describe-services",
            "--cluster",
            CLUSTER,
            "--services",
            "cli-svc",
        ],
    );
    assert_eq!(v["services"][0]["runningCount"], 2);
    assert_eq!(
        v["services"][0]["loadBalancers"][0]["containerName"],
        "node-john"
    );

    // CPU target tracking: idle tasks are far under 50%, so it scales in.
    let rid = format!("service/{CLUSTER}/cli-svc");
    aws(
        &s,
        &[
            "application-autoscaling",
            "register-scalable-target",
            "--service-namespace",
            "ecs",
            "--resource-id",
            &rid,
            "--scalable-dimension",
            "ecs:service:DesiredCount",
            "--min-capacity",
            "1",
            "--max-capacity",
            "3",
        ],
    );
    let cfg = r#"{"TargetValue": 50.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}, "ScaleOutCooldown": 1, "ScaleInCooldown": 1}"#;
    let v = aws(
        &s,
        &[
            "application-autoscaling",
            "put-scaling-policy",
            "--service-namespace",
            "ecs",
            "--resource-id",
            &rid,
            "--scalable-dimension",
            "ecs:service:DesiredCount",
            "--policy-name",
            "cpu50",
            "--policy-type",
            "TargetTrackingScaling",
            "--target-tracking-scaling-policy-configuration",
            cfg,
        ],
    );
    assert!(v["PolicyARN"]
        .as_str()
        .unwrap()
        .contains("policyName/cpu50"));
    let v = aws(
        &s,
        &[
            "application-autoscaling",
            "describe-scaling-policies",
            "--service-namespace",
            "ecs",
            "--resource-id",
            &rid,
        ],
    );
    assert_eq!(v["ScalingPolicies"][0]["PolicyName"], "cpu50");
    assert_eq!(
        v["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
        50.0
    );
    let v = aws(
        &s,
        &[
            "application-autoscaling",
            "describe-scalable-targets",
            "--service-namespace",
            "ecs",
        ],
    );
    assert_eq!(v["ScalableTargets"][0]["MaxCapacity"], 3);
    s.wait("cli-svc", "CPU scale-in to 1", |v| {
        v["desiredCount"] == 1 && v["runningCount"] == 1
    })
    .await;
    aws(
        &s,
        &[
            "ecs",
            "delete-service",
            "--cluster",
            CLUSTER,
            "--service",
            "cli-svc",
            "--force",
        ],
    );
    s.wait("cli-svc", "INACTIVE", |v| v["status"] == "INACTIVE")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cpu_target_tracking_scales_out_on_real_container_stats() {
    if !docker_or_skip("cpu_target_tracking_scales_out_on_real_container_stats") {
        return;
    }
    let s = up().await;
    s.steady(NODE, 1).await;
    // A busy node-john uses well over 2% of a vCPU.
    track(&s, "cpu", 2, "ECSServiceAverageCPUUtilization", 2.0, (1, 2)).await;
    let load = Load::start(format!("{}/start", s.listener), 4, common::START_BODY);
    s.wait(NODE, "CPU scale-out to 2", |v| {
        v["desiredCount"] == 2 && v["runningCount"] == 2
    })
    .await;
    let (_, failed, errors) = load.finish().await;
    assert_eq!(failed, 0, "{errors:?}");
    s.wait(NODE, "CPU scale-in to 1", |v| {
        v["desiredCount"] == 1 && v["runningCount"] == 1
    })
    .await;
}
