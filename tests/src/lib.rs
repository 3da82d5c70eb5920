//! Shared helpers for the end-to-end tests, which drive the real Docker
//! engine through the `docker` CLI (the same commands a user types).
//!
//! # Layout
//!
//! - [`require_docker`]: the skip policy. Without an engine a test skips
//!   loudly, unless `CI` is set: then a missing engine fails the test.
//! - [`build_images`]: runs `docker/build-images.sh` once per process.
//! - [`Scope`]: a unique label for everything one test creates; dropping it
//!   removes those containers and networks, also when the test panics.
//! - [`wait_for`]: polls an HTTP URL until an expected answer or a deadline.
//! - [`webdriver`]: a headless Chromium through chromedriver, for pages
//!   tested in a real browser.

pub mod webdriver;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

/// Runs a command, returning its output; panics with the command line and
/// stderr when it cannot start or fails.
pub fn run(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{:?} failed ({}):\n{}{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs a command and returns its output whatever its status.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn docker(args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(args);
    c
}

/// True when a Docker engine answers. Without one: panics when `CI` is set
/// (CI must never skip silently), otherwise prints a loud notice and
/// returns false so the caller can return early.
pub fn require_docker(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: CI is set but no Docker engine answers (`docker version` failed)");
    }
    eprintln!();
    eprintln!("!!! SKIPPING {test}: no Docker engine answers and CI is not set.");
    eprintln!("!!! Start the Docker daemon to run the end-to-end tests.");
    eprintln!();
    false
}

/// Builds the project's images (node, client, alb) with
/// `docker/build-images.sh` (once per
/// test process; the script itself is quick when nothing changed).
pub fn build_images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = root().join("docker/build-images.sh");
        run(Command::new(&script)
            .args(["node", "client", "alb"])
            .current_dir(root()));
    });
}

/// Everything one test creates carries the label `pingpong.test=<id>`;
/// dropping the scope removes those containers and networks.
pub struct Scope {
    pub id: String,
}

impl Scope {
    pub fn new() -> Self {
        Scope {
            id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
        }
    }

    /// `--label pingpong.test=<id>`, for `docker run` and `docker network create`.
    pub fn label(&self) -> String {
        format!("pingpong.test={}", self.id)
    }

    /// A name unique to this test: `<base>-<id>`.
    pub fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.id)
    }

    /// IDs of this scope's containers (running or not).
    pub fn containers(&self) -> Vec<String> {
        lines(&run(&mut docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label={}", self.label()),
        ])))
    }

    /// IDs of this scope's networks.
    pub fn networks(&self) -> Vec<String> {
        lines(&run(&mut docker(&[
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label={}", self.label()),
        ])))
    }
}

impl Default for Scope {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let filter = format!("label={}", self.label());
        let ids = output(&mut docker(&["ps", "-aq", "--filter", &filter]));
        let ids = lines(&String::from_utf8_lossy(&ids.stdout));
        if !ids.is_empty() {
            let mut rm = docker(&["rm", "-f"]);
            rm.args(&ids);
            let _ = output(&mut rm);
        }
        let nets = output(&mut docker(&["network", "ls", "-q", "--filter", &filter]));
        for net in lines(&String::from_utf8_lossy(&nets.stdout)) {
            let _ = output(&mut docker(&["network", "rm", &net]));
        }
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The 127.0.0.1 host port Docker published for `container`'s port 3000.
pub fn published_port(container: &str) -> u16 {
    let out = run(&mut docker(&["port", container, "3000/tcp"]));
    out.lines()
        .find_map(|l| l.rsplit(':').next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no published port for {container}: {out}"))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Polls `url` until it answers 200, returning the body; panics with the
/// last error after `deadline`.
pub async fn wait_for(url: &str, deadline: Duration) -> String {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < deadline {
        match client.get(url).timeout(Duration::from_secs(2)).send().await {
            Ok(res) if res.status().is_success() => return res.text().await.unwrap_or_default(),
            Ok(res) => last = format!("HTTP {}", res.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer 200 within {deadline:?}: {last}");
}

/// The exact `/start` answer of the tutorial stack.
pub const START_BODY: &str =
    r#"["meow from node-paul:3000","meow from node-george:3000","meow from node-ringo:3000"]"#;
