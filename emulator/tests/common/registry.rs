//! Helpers for tests of the ECR registry with Docker: the registry's
//! availability rule, GetAuthorizationToken's password, `docker` with a
//! private config directory, the project's node image, and image clean-up.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

pub const ECR: &str = "AmazonEC2ContainerRegistry_V20150921";

/// Whether the registry (Debian's docker-registry) is installed. Without
/// it these tests skip, loudly, only when CI is unset.
pub fn registry_or_skip(test: &str) -> bool {
    let ok = Command::new("docker-registry")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: docker-registry is required in CI (apt-get install docker-registry)"
    );
    eprintln!("\n!!!!!!!! SKIPPING {test}: no `docker-registry` (apt-get install docker-registry) !!!!!!!!\n");
    false
}

/// The password in a GetAuthorizationToken answer.
pub fn password(auth: &Value) -> String {
    use base64::Engine as _;
    let token = auth["authorizationData"][0]["authorizationToken"]
        .as_str()
        .unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    raw.strip_prefix("AWS:").expect("user AWS").to_string()
}

/// Docker images tagged by a test, removed when it ends, with the
/// digest references pushes left (every name containing the scope).
pub struct Tags(pub Vec<String>, pub String);

impl Drop for Tags {
    fn drop(&mut self) {
        let out = Command::new("docker")
            .args([
                "images",
                "--digests",
                "--format",
                "{{.Repository}}@{{.Digest}}",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        let digests = out
            .lines()
            .filter(|l| l.contains(&self.1) && !l.ends_with("@<none>"))
            .map(str::to_string);
        for t in self.0.iter().cloned().chain(digests) {
            let _ = Command::new("docker")
                .args(["rmi", "-f", &t])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

pub fn docker(config: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new("docker")
        .env("DOCKER_CONFIG", config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The project's node image (built if missing).
pub fn node_image() -> &'static str {
    project_image("node")
}

/// The project's image `name` (`node`, `client`) as `pingpong-NAME:latest`,
/// built if missing.
pub fn project_image(name: &str) -> &'static str {
    let image: &'static str = match name {
        "node" => "pingpong-node:latest",
        "client" => "pingpong-client:latest",
        other => panic!("no project image {other}"),
    };
    let have = Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let ok = Command::new(root.join("docker/build-images.sh"))
            .arg(name)
            .current_dir(&root)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "docker/build-images.sh {name} failed");
    }
    image
}

/// `docker login` (in `config`) to `host` with GetAuthorizationToken's
/// password.
pub async fn docker_login(api: &super::Api, config: &Path, host: &str) {
    let auth = api.ok("GetAuthorizationToken", serde_json::json!({})).await;
    let login = docker(
        config,
        &["login", "--username", "AWS", "--password-stdin", host],
        Some(&password(&auth)),
    );
    assert!(text(&login).contains("Login Succeeded"), "{}", text(&login));
}
