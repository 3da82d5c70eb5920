//! The per-request log line is opt-in (`ACCESS_LOG=on`): the binary as a
//! container runs it, its stdout read as `docker logs` would.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the node with `access_log` (None: unset), sends `/ping` and
/// `/nope`, stops it with SIGTERM and returns everything it printed.
async fn run_node(access_log: Option<&str>) -> String {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pingpong-node"));
    cmd.env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("PEERS", "")
        .env("RUST_LOG", "info")
        .env_remove("ACCESS_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(v) = access_log {
        cmd.env("ACCESS_LOG", v);
    }
    let mut node = Running(cmd.spawn().unwrap());
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{port}");
    loop {
        if let Ok(r) = reqwest::get(format!("{url}/ping")).await {
            assert_eq!(r.text().await.unwrap(), "pong");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "node did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = reqwest::get(format!("{url}/nope")).await.unwrap().status();
    assert_eq!(status, 404);
    // SIGTERM: the node flushes its log writer and exits.
    let pid = node.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = node.0.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(out).lines().map_while(Result::ok).collect();
    let _ = node.0.wait();
    lines.join("\n")
}

#[tokio::test]
async fn requests_are_not_logged_by_default() {
    let out = run_node(None).await;
    assert!(out.contains("pingpong-node listening"), "{out}");
    assert!(
        !out.contains("path=\"/ping\""),
        "request line without ACCESS_LOG:\n{out}"
    );
    assert!(!out.contains("path=\"/nope\""), "{out}");
}

#[tokio::test]
async fn access_log_on_logs_each_request_with_its_status() {
    let out = run_node(Some("on")).await;
    assert!(out.contains("pingpong-node listening"), "{out}");
    let line = |path: &str| {
        out.lines()
            .find(|l| l.contains(&format!("path=\"{path}\"")))
            .unwrap_or_else(|| panic!("no line for {path}:\n{out}"))
            .to_string()
    };
    assert!(line("/ping").contains("status=200"), "{out}");
    assert!(line("/nope").contains("status=404"), "{out}");
}

#[test]
fn a_bad_access_log_value_is_refused_in_one_line() {
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_pingpong-node"))
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("ACCESS_LOG", "maybe")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ACCESS_LOG=\"maybe\": expected on or off"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
