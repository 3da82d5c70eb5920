//! Helpers for the emulator's tests: a running emulator process (killed and
//! cleaned up on drop), an ECS API client, and the Docker availability rule.
#![allow(dead_code)]

pub mod registry;
pub mod second_engine;
pub mod stack;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_emulator");

/// Any signature is accepted, but AWS calls must carry one.
pub const AUTH: &str =
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0";

/// The chain's answer to `/start` with the default peers.
pub const START_BODY: &str =
    r#"["meow from node-paul:3000","meow from node-george:3000","meow from node-ringo:3000"]"#;

/// Whether Docker tests can run. Without an engine they skip, loudly, only
/// when CI is unset; with CI set a missing engine is a failure.
pub fn docker_or_skip(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: no Docker engine answers, and CI is set: Docker tests must run in CI");
    }
    eprintln!("\n!!!!!!!! SKIPPING {test}: no Docker engine answers (set CI=1 to make this a failure) !!!!!!!!\n");
    false
}

/// An emulator process on its own data directory and a free API port.
pub struct Emulator {
    pub child: Option<Child>,
    pub data_dir: PathBuf,
    pub endpoint: String,
    _tmp: Option<tempfile::TempDir>,
}

impl Emulator {
    /// Starts `emulator up` with `extra` arguments (e.g. `--no-stack`).
    pub async fn up(extra: &[&str]) -> Emulator {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut e = Emulator::start_on(&dir, extra).await;
        e._tmp = Some(tmp);
        e
    }

    /// Starts `emulator up` on an existing data directory.
    pub async fn start_on(dir: &Path, extra: &[&str]) -> Emulator {
        let _ = std::fs::remove_file(dir.join("endpoint"));
        let child = Command::new(BIN)
            .args([
                "--data-dir",
                dir.to_str().unwrap(),
                "up",
                "--api-addr",
                "127.0.0.1:0",
                "--resync-secs",
                "1",
                "--stop-timeout",
                "2",
            ])
            .args(extra)
            // Each emulator's registry endpoint on a port of its own.
            .args(
                (!extra.contains(&"--registry-addr"))
                    .then_some(["--registry-addr", "127.0.0.1:0"])
                    .into_iter()
                    .flatten(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn emulator");
        let mut e = Emulator {
            child: Some(child),
            data_dir: dir.to_path_buf(),
            endpoint: String::new(),
            _tmp: None,
        };
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if let Ok(s) = std::fs::read_to_string(dir.join("endpoint")) {
                let s = s.trim().to_string();
                if reqwest::get(format!("{s}/_emulator/health"))
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    e.endpoint = s;
                    return e;
                }
            }
            if let Some(Ok(Some(status))) = e.child.as_mut().map(|c| c.try_wait()) {
                panic!("emulator exited early: {status}");
            }
            assert!(Instant::now() < deadline, "emulator did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, then `up` again on the same data directory with `extra`
    /// (what a crash and a restart do: the new one adopts).
    pub async fn restart(&mut self, extra: &[&str]) {
        self.kill();
        let tmp = self._tmp.take();
        let dir = std::mem::take(&mut self.data_dir);
        let mut again = Emulator::start_on(&dir, extra).await;
        again._tmp = tmp;
        // The old value has no data directory left: dropping it cleans nothing.
        *self = again;
    }

    /// SIGKILL, no cleanup (the data directory and containers stay).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The instance id's containers, as `docker ps -a` sees them (ids).
    pub fn containers(&self) -> Vec<String> {
        labelled("ps", &self.instance())
    }

    pub fn networks(&self) -> Vec<String> {
        labelled("network", &self.instance())
    }

    pub fn instance(&self) -> String {
        emulator::app::instance_id(&self.data_dir, None)
    }

    /// Calls an ECS operation; returns (HTTP status, body).
    pub async fn call(&self, op: &str, body: Value) -> (u16, Value) {
        raw_call(
            &self.endpoint,
            Some(&format!("AmazonEC2ContainerServiceV20141113.{op}")),
            body.to_string(),
        )
        .await
    }

    /// Calls an operation that must succeed.
    pub async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, body).await;
        assert_eq!(status, 200, "{op} failed: {v}");
        v
    }

    /// Polls DescribeTasks until the task reaches `status`.
    pub async fn wait_task(
        &self,
        cluster: &str,
        arn: &str,
        status: &str,
        timeout: Duration,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self
                .ok("DescribeTasks", json!({"cluster": cluster, "tasks": [arn]}))
                .await;
            let t = v["tasks"][0].clone();
            if t["lastStatus"] == status {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "task {arn} did not reach {status}: {t:#}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Creates a cluster with two t2.small instances in two zones.
    pub async fn cluster(&self, name: &str) {
        self.ok("CreateCluster", json!({"clusterName": name})).await;
        for az in ["us-east-1a", "us-east-1b"] {
            self.ok(
                "RegisterContainerInstance",
                json!({"cluster": name, "instanceType": "t2.small", "availabilityZone": az}),
            )
            .await;
        }
    }
}

pub async fn raw_call(endpoint: &str, target: Option<&str>, body: String) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", AUTH)
        .body(body);
    if let Some(t) = target {
        req = req.header("x-amz-target", t);
    }
    let resp = req.send().await.expect("API answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn labelled(kind: &str, instance: &str) -> Vec<String> {
    let filter = format!("label=com.pingpong.emulator.instance={instance}");
    let args: Vec<&str> = match kind {
        "ps" => vec!["ps", "-aq", "--filter", &filter],
        _ => vec!["network", "ls", "-q", "--filter", &filter],
    };
    let out = Command::new("docker")
        .args(&args)
        .output()
        .expect("docker cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|s| !s.is_empty())
        .collect()
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.kill();
        // Remove whatever this instance made, even when the test failed.
        if !self.data_dir.as_os_str().is_empty() {
            let _ = Command::new(BIN)
                .args([
                    "--data-dir",
                    self.data_dir.to_str().unwrap_or_default(),
                    "down",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The messages of a DescribeServices service's events, newest first.
pub fn event_messages(service: &Value) -> Vec<String> {
    service["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["message"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The node task definition of the default stack, under another family.
pub fn node_task_definition(family: &str) -> Value {
    let stack: Value = serde_json::from_str(emulator::model::stack::DEFAULT_STACK).unwrap();
    let mut td = stack["taskDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["family"] == "microservice-ping-pong-node-td")
        .unwrap()
        .clone();
    td["family"] = json!(family);
    // The local image, not the stack's ECR one (these tests need no ECR).
    for c in td["containerDefinitions"].as_array_mut().unwrap() {
        c["image"] = json!("pingpong-node:latest");
    }
    td
}

pub fn host_port(task: &Value, container: &str) -> u16 {
    let c = task["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == container)
        .unwrap();
    c["networkBindings"][0]["hostPort"]
        .as_u64()
        .expect("host port") as u16
}

/// Whether the AWS CLI is installed. Without it AWS CLI tests skip, loudly,
/// only when CI is unset.
pub fn have_aws_cli(test: &str) -> bool {
    if Command::new("aws").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: the AWS CLI is required in CI (pip install awscli)"
    );
    eprintln!("\n!!!!!!!! SKIPPING {test}: no `aws` command !!!!!!!!\n");
    false
}

/// `aws --endpoint-url <endpoint> --output json <args>` with dummy
/// credentials, whatever its outcome.
pub fn aws_output(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new("aws")
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_PAGER", "")
        .output()
        .expect("run aws")
}

/// [`aws_output`] parsed as JSON; panics with the CLI's message on failure.
pub fn aws_cli(endpoint: &str, args: &[&str]) -> Value {
    let out = aws_output(endpoint, args);
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The id of the running container `name` of task `task_arn`, found by the
/// labels the emulator puts on it ("" when there is none).
pub fn task_container(task_arn: &str, name: &str) -> String {
    let out = Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=com.pingpong.emulator.task-arn={task_arn}"),
            "--filter",
            &format!("label=com.pingpong.emulator.container-name={name}"),
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The largest value of Prometheus metric `name` (any labels) in `text`,
/// or `None` when no sample of it is there.
pub fn metric_max(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .reduce(f64::max)
}

/// A JSON 1.1 client of one AWS service on `ep`: operations are sent as
/// `PREFIX.Op` (an `op` with a dot is a whole target, another service's).
pub struct Api {
    pub ep: String,
    /// The `X-Amz-Target` prefix (`AmazonSSM`, `Logs_20140328`, ...).
    pub prefix: &'static str,
}

impl Api {
    pub fn new(ep: &str, prefix: &'static str) -> Api {
        Api {
            ep: ep.to_string(),
            prefix,
        }
    }

    pub async fn call(&self, op: &str, body: Value) -> (u16, Value) {
        let target = if op.contains('.') {
            op.to_string()
        } else {
            format!("{}.{op}", self.prefix)
        };
        raw_call(&self.ep, Some(&target), body.to_string()).await
    }

    /// An operation that must succeed.
    pub async fn ok(&self, op: &str, body: Value) -> Value {
        let (s, v) = self.call(op, body).await;
        assert_eq!(s, 200, "{op}: {v}");
        v
    }

    /// An operation that must fail with `aws_type` (400); its message.
    pub async fn err(&self, op: &str, body: Value, aws_type: &str) -> String {
        let (s, v) = self.call(op, body).await;
        assert_eq!(
            (s, v["__type"].as_str()),
            (400, Some(aws_type)),
            "{op}: {v}"
        );
        v["message"].as_str().unwrap_or_default().to_string()
    }
}

/// An emulator in this process, on the in-memory runtime, with its API on
/// a free port (`tune` sets anything else: listener addresses, intervals),
/// its endpoint and its data directory (removed on drop).
pub async fn in_process(
    tune: impl FnOnce(&mut emulator::app::Config),
) -> (emulator::Running, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = emulator::app::Config::new(dir.path().to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    // No registry child unless a test asks for one (ECR's tests do).
    config.registry_addr = None;
    tune(&mut config);
    let running = emulator::app::start_with_runtime(
        config,
        std::sync::Arc::new(emulator::runtime::testing::FakeRuntime::new()),
    )
    .await
    .unwrap();
    let endpoint = format!("http://{}", running.api_addr);
    (running, endpoint, dir)
}

/// Every listener on a free port of its own (`in_process`'s `tune`).
pub fn free_listeners(config: &mut emulator::app::Config) {
    config.alb_addr = "127.0.0.1:0".parse().unwrap();
    config.ephemeral_listeners = true;
}
