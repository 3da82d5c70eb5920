//! What the capacity-provider and agent tests share: an in-memory
//! emulator on the fake runtime, a cluster with an instance and a task
//! definition, and a check of an ECS answer against botocore's output
//! shape of its operation (member names, types, enum values), when
//! python3 with botocore is installed (otherwise it says so and passes).

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;
use serde_json::{json, Value};

use super::common::Api;

/// An emulator on a fake runtime, its ECS client and its data directory.
pub async fn start() -> (emulator::Running, Api, Arc<FakeRuntime>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().to_path_buf());
    config.api_addr = "127.0.0.1:0".parse().unwrap();
    config.resync = Duration::from_millis(50);
    let fake = Arc::new(FakeRuntime::new());
    let running = start_with_runtime(config, fake.clone()).await.unwrap();
    let api = Api::new(
        &format!("http://{}", running.api_addr),
        "AmazonEC2ContainerServiceV20141113",
    );
    (running, api, fake, dir)
}

/// Cluster `c` with one container instance (registered with `extra`
/// members) and task definition `w` of `containers`; the instance.
pub async fn cluster(api: &Api, extra: Value, containers: Value) -> Value {
    api.ok("CreateCluster", json!({"clusterName": "c"})).await;
    let mut body = json!({"cluster": "c", "instanceType": "t3.medium"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let ci = api.ok("RegisterContainerInstance", body).await;
    api.ok(
        "RegisterTaskDefinition",
        json!({"family": "w", "containerDefinitions": containers}),
    )
    .await;
    ci["containerInstance"].clone()
}

/// `ok`, with the answer checked against botocore's shape.
pub async fn ok(api: &Api, op: &str, body: Value) -> Value {
    let v = api.ok(op, body).await;
    check(op, &v);
    v
}

const CHECK: &str = r#"
import json, sys
try:
    import botocore.session
except ImportError:
    print("SKIP"); sys.exit(0)
op, body = sys.argv[1], json.load(sys.stdin)
m = botocore.session.get_session().get_service_model('ecs')
errors = []
def check(shape, v, path):
    t = shape.type_name
    if t == 'structure':
        if not isinstance(v, dict): errors.append(f"{path}: not an object"); return
        for k, x in v.items():
            if k not in shape.members: errors.append(f"{path}.{k}: not in {shape.name}")
            else: check(shape.members[k], x, f"{path}.{k}")
    elif t == 'list':
        if not isinstance(v, list): errors.append(f"{path}: not a list"); return
        for i, x in enumerate(v): check(shape.member, x, f"{path}[{i}]")
    elif t == 'string':
        if not isinstance(v, str): errors.append(f"{path}: not a string")
        elif shape.enum and v not in shape.enum: errors.append(f"{path}: {v} not in {shape.enum}")
    elif t in ('integer', 'long'):
        if not isinstance(v, int) or isinstance(v, bool): errors.append(f"{path}: not an integer")
    elif t == 'boolean':
        if not isinstance(v, bool): errors.append(f"{path}: not a boolean")
    elif t in ('double', 'float', 'timestamp'):
        if not isinstance(v, (int, float)) or isinstance(v, bool): errors.append(f"{path}: not a number")
check(m.operation_model(op).output_shape, body, op)
print("\n".join(errors) if errors else "OK")
"#;

/// Panics when `body` does not fit the output shape of `op`.
pub fn check(op: &str, body: &Value) {
    let child = Command::new("python3")
        .args(["-c", CHECK, op])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("python3 not found: {op} not checked against botocore");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if text == "SKIP" {
        eprintln!("botocore not installed: {op} not checked");
        return;
    }
    assert_eq!(
        text, "OK",
        "{op} answer does not fit botocore's shape: {body}"
    );
}
