//! The default stack with its services on bigger instances, and the load
//! and inspection helpers the service tests share.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use std::process::Command;

use super::{Emulator, BIN};

pub const T: Duration = Duration::from_secs(600);
pub const CLUSTER: &str = "microservice-ping-pong-cluster";
pub const NODE: &str = "microservice-ping-pong-node-service";
pub const CLIENT: &str = "microservice-ping-pong-client-service";
pub const NODE_TD: &str = "microservice-ping-pong-node-td";

pub struct Stack {
    pub emu: Emulator,
    pub listener: String,
    /// What `up` was started with (a restart passes them again).
    pub args: Vec<String>,
    pub _dir: tempfile::TempDir,
}

/// The default stack on bigger instances, services included.
pub async fn up() -> Stack {
    up_with(|_| {}, &[]).await
}

/// The default stack on bigger instances, changed by `edit`, started with
/// `extra` arguments too.
pub async fn up_with(edit: impl FnOnce(&mut Value), extra: &[&str]) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let mut stack: Value = serde_json::from_str(emulator::model::stack::DEFAULT_STACK).unwrap();
    for i in stack["cluster"]["containerInstances"]
        .as_array_mut()
        .unwrap()
    {
        i["instanceType"] = json!("t2.large");
    }
    edit(&mut stack);
    let path = dir.path().join("stack.json");
    std::fs::write(&path, stack.to_string()).unwrap();
    let mut args: Vec<String> = [
        "--stack",
        path.to_str().unwrap(),
        "--alb-addr",
        "127.0.0.1:0",
        "--ephemeral-listeners",
        "--service-interval-ms",
        "200",
        "--autoscaling-period-secs",
        "1",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().map(|a| a.to_string()));
    let emu = Emulator::up(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    Stack {
        listener: listener_of(&emu).await,
        emu,
        args,
        _dir: dir,
    }
}

/// `http://ADDR` of the stack's listener.
pub async fn listener_of(emu: &Emulator) -> String {
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
    format!("http://{listener}")
}

impl Stack {
    pub async fn service(&self, name: &str) -> Value {
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
    pub async fn wait(&self, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
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
    pub async fn steady(&self, name: &str, desired: u64) -> Value {
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

    pub async fn update(&self, body: Value) -> Value {
        let mut body = body;
        body["cluster"] = json!(CLUSTER);
        self.emu.ok("UpdateService", body).await["service"].clone()
    }

    /// ELBv2 (Query protocol) call; the XML body.
    pub async fn elb(&self, form: &str) -> String {
        let (status, text) = elb_query(&self.emu.endpoint, form).await;
        assert_eq!(status, 200, "{form}: {text}");
        text
    }

    pub async fn tg_arn(&self, name: &str) -> String {
        let x = self
            .elb(&format!(
                "Action=DescribeTargetGroups&Names.member.1={name}"
            ))
            .await;
        between(&x, "TargetGroupArn").to_string()
    }

    /// Target states in a group (`healthy`, `draining`, ...).
    pub async fn target_states(&self, tg: &str) -> Vec<String> {
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
    pub async fn tasks(&self, service: &Value) -> Vec<Value> {
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

    pub fn cli(&self, args: &[&str]) -> String {
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

pub fn brief(s: &Value) -> Value {
    json!({
        "desired": s["desiredCount"], "running": s["runningCount"], "pending": s["pendingCount"],
        "deployments": s["deployments"].as_array().map(|a| a.iter().map(|d| json!([d["status"], d["rolloutState"], d["taskDefinition"], d["runningCount"], d["failedTasks"]])).collect::<Vec<_>>()),
        "events": messages(s).into_iter().take(12).collect::<Vec<_>>(),
    })
}

pub fn messages(s: &Value) -> Vec<String> {
    s["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["message"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// An ELBv2 Query call (`Action=...&...`) on `endpoint`: status, XML body.
pub async fn elb_query(endpoint: &str, form: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", super::AUTH)
        .body(format!("Version=2015-12-01&{form}"))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

pub fn between<'a>(text: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = text.find(&open).map(|i| i + open.len()).expect(tag);
    let end = text[start..].find('<').unwrap() + start;
    &text[start..end]
}

pub fn enc(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}

/// Concurrent clients hammering one URL until stopped.
pub struct Load {
    pub ok: Arc<AtomicU64>,
    pub failed: Arc<AtomicU64>,
    pub stop: Arc<AtomicBool>,
    pub errors: Arc<std::sync::Mutex<Vec<String>>>,
    pub handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(url: String, workers: usize, expect: &'static str) -> Load {
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
    pub async fn reached(&self, n: u64) {
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

    pub fn total(&self) -> u64 {
        self.ok.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    /// Stops; (ok, failed, first errors).
    pub async fn finish(self) -> (u64, u64, Vec<String>) {
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
pub async fn node_revision(s: &Stack, edit: impl FnOnce(&mut Value)) -> String {
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
