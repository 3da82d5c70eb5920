//! The image registry: Debian's `docker-registry` (CNCF Distribution 2.8)
//! as a child process on a free loopback port, its configuration and data
//! in `<data dir>/registry`. Started by `up`, killed when the emulator
//! stops (and on drop); one left behind by a killed emulator is killed by
//! the next start (its pid is recorded). Its output goes to
//! `<data dir>/registry/registry.log`. Without the binary, ECR answers a
//! `ServerException` naming the package and the rest keeps working.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use super::EcrError;

/// The program, as Debian's `docker-registry` package installs it.
pub const BINARY: &str = "docker-registry";

/// The registry's directory inside the data directory.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("registry")
}

/// The registry endpoints (`HOST:PORT`) recorded in the registry
/// directory `dir` by the emulators that served it, oldest first.
pub fn endpoints(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("endpoint"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Records the registry endpoint in `dir` (for `down`), beside those of
/// earlier runs: images pulled or pushed through each are tagged with it
/// on the engine, and `down` removes the tags of every one.
pub fn record_endpoint(dir: &Path, endpoint: &str) {
    let mut all = endpoints(dir);
    if !all.iter().any(|e| e == endpoint) {
        all.push(endpoint.to_string());
    }
    if let Err(e) = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(dir.join("endpoint"), all.join("\n") + "\n"))
    {
        tracing::warn!(error = %e, "cannot record the registry endpoint");
    }
}

/// A running registry, or why there is none.
pub struct Registry {
    state: Result<String, String>,
    child: Mutex<Option<Child>>,
    dir: PathBuf,
    pub http: reqwest::Client,
    /// Signs the passwords GetAuthorizationToken issues (kept in the
    /// registry's directory, so logins survive a restart).
    pub secret: String,
}

impl Registry {
    /// Starts the registry of `data_dir`. Never fails: a registry that
    /// cannot start is reported by every ECR call.
    pub async fn start(data_dir: &Path) -> Registry {
        Registry::start_program(data_dir, BINARY).await
    }

    /// [`Registry::start`] with another program (tests: a missing one).
    pub async fn start_program(data_dir: &Path, program: &str) -> Registry {
        let dir = dir(data_dir);
        kill_stale(&dir);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let (state, child) = match spawn(&dir, &http, program).await {
            Ok((url, child)) => (Ok(url), Some(child)),
            Err(e) => {
                tracing::warn!("ECR is unavailable: {e}");
                (Err(e), None)
            }
        };
        let secret = secret(&dir);
        Registry {
            state,
            child: Mutex::new(child),
            dir,
            http,
            secret,
        }
    }

    /// A registry that is not there (ECR calls answer `why`).
    pub fn absent(why: &str) -> Registry {
        Registry {
            state: Err(why.to_string()),
            child: Mutex::new(None),
            dir: PathBuf::new(),
            http: reqwest::Client::new(),
            secret: random_hex(),
        }
    }

    /// The registry's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> Result<&str, EcrError> {
        self.state
            .as_deref()
            .map_err(|e| EcrError::Server(e.to_string()))
    }

    /// Removes one tag of a repository, leaving its manifest (the
    /// registry's API deletes manifests only, with all their tags).
    pub fn untag(&self, name: &str, tag: &str) -> Result<(), EcrError> {
        if tag.contains('/') || tag.starts_with('.') || name.contains("..") {
            return Err(EcrError::InvalidParameter(format!(
                "Invalid image tag '{tag}'"
            )));
        }
        let path = self
            .dir
            .join("data/docker/registry/v2/repositories")
            .join(name)
            .join("_manifests/tags")
            .join(tag);
        std::fs::remove_dir_all(&path)
            .map_err(|e| EcrError::Server(format!("cannot remove the tag {name}:{tag}: {e}")))
    }

    /// Kills the registry and waits for it.
    pub async fn stop(&self) {
        if let Some(mut child) = self.child.lock().await.take() {
            let _ = child.kill().await;
            let _ = std::fs::remove_file(self.dir.join("pid"));
        }
    }
}

fn random_hex() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// The token secret of `dir`, made on first use.
fn secret(dir: &Path) -> String {
    let path = dir.join("secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        if s.trim().len() >= 32 {
            return s.trim().to_string();
        }
    }
    let s = random_hex();
    let _ = std::fs::write(&path, &s);
    s
}

/// Kills a registry a killed emulator left behind (by its recorded pid,
/// only if that process is still a `docker-registry`).
pub fn kill_stale(dir: &Path) {
    let Ok(pid) = std::fs::read_to_string(dir.join("pid")) else {
        return;
    };
    let pid = pid.trim();
    let is_registry = std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains(BINARY));
    if is_registry && pid.parse::<u32>().is_ok() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", pid])
            .status();
    }
    let _ = std::fs::remove_file(dir.join("pid"));
}

async fn spawn(
    dir: &Path,
    http: &reqwest::Client,
    program: &str,
) -> Result<(String, Child), String> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port for the registry: {e}"))?
        .port();
    let config = format!(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
        data.display()
    );
    let config_path = dir.join("config.yml");
    std::fs::write(&config_path, config)
        .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
    // Its own warnings and errors, for when a push fails inside it.
    let log = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("registry.log"))
            .map(std::process::Stdio::from)
            .unwrap_or_else(|_| std::process::Stdio::null())
    };
    let mut child = Command::new(program)
        .arg("serve")
        .arg(&config_path)
        .stdin(std::process::Stdio::null())
        .stdout(log())
        .stderr(log())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "the image registry cannot start: {program}: {e} (install Debian's docker-registry package: apt-get install docker-registry)"
            )
        })?;
    if let Some(pid) = child.id() {
        let _ = std::fs::write(dir.join("pid"), pid.to_string());
    }
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if http
            .get(format!("{url}/v2/"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok((url, child));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the image registry exited at start: {status}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill().await;
    Err("the image registry did not answer within 10 s".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_registry_is_named_by_every_ecr_call() {
        let tmp = tempfile::tempdir().unwrap();
        let r = Registry::start_program(tmp.path(), "no-such-docker-registry-binary").await;
        let e = r.url().unwrap_err();
        assert_eq!(e.aws_type(), "ServerException");
        assert!(e.is_server());
        assert!(
            e.to_string().contains("apt-get install docker-registry"),
            "{e}"
        );
        // Its token secret is made all the same, and kept for the next start.
        let again = Registry::start_program(tmp.path(), "no-such-docker-registry-binary").await;
        assert_eq!(r.secret, again.secret);
        assert!(r.secret.len() >= 32);
    }
}
