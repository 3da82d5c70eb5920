//! A second Docker engine of the test's own: another "host" in a network
//! namespace the test creates, joined to this one by a veth pair on a
//! private /30, as `../shared/DESIGN.md` describes (`nsenter --net=`, an
//! own config file, data root, exec root and socket). Its TCP endpoint
//! speaks TLS with client certificates, as Docker's documentation asks of
//! a remote engine (a CA, server and client certificates made with
//! `openssl` for the test). Everything is removed on drop, also when the
//! test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a second engine can be started here (root, iproute2, nsenter,
/// dockerd, fuse-overlayfs). Without them the test skips, loudly, only when
/// CI is unset; with CI set it is a failure.
pub fn second_engine_or_skip(test: &str) -> bool {
    let missing: Vec<&str> = ["ip", "nsenter", "dockerd", "fuse-overlayfs", "openssl"]
        .into_iter()
        .filter(|tool| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if missing.is_empty() && root {
        return true;
    }
    let why = if root {
        format!("missing {}", missing.join(", "))
    } else {
        "not root".to_string()
    };
    if std::env::var_os("CI").is_some() {
        panic!("{test}: cannot start a second Docker engine ({why}), and CI is set");
    }
    eprintln!("\n!!!!!!!! SKIPPING {test}: cannot start a second Docker engine ({why}) !!!!!!!!\n");
    false
}

pub struct SecondEngine {
    netns: String,
    host_if: String,
    dir: PathBuf,
    /// This host's end of the veth pair (where the engine reaches us).
    pub host_ip: String,
    /// The engine's host address (where its published ports are).
    pub engine_ip: String,
    /// `https://ENGINE_IP:2376`, for `emulator.docker-host`.
    pub endpoint: String,
    /// The client's certificate directory (`ca.pem`, `cert.pem`, `key.pem`),
    /// for `emulator.docker-cert-path`.
    pub tls_dir: PathBuf,
    child: Option<Child>,
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn must(args: &[&str]) {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl SecondEngine {
    /// Starts the engine; its plain-HTTP registries are those on this
    /// host's end of the pair (the emulator's registry is reached there).
    pub async fn start() -> SecondEngine {
        // A tag of this process keeps parallel runs and leftovers apart.
        let tag = std::process::id() % 200 + 20;
        let netns = format!("pp-e{tag}");
        let host_if = format!("pp-e{tag}h");
        let peer_if = format!("pp-e{tag}n");
        // Leftovers of a killed run with the same tag.
        let _ = run(&["ip", "netns", "del", &netns]);
        let _ = run(&["ip", "link", "del", &host_if]);
        let (host_ip, engine_ip) = (format!("10.213.{tag}.1"), format!("10.213.{tag}.2"));
        let dir = PathBuf::from(format!("/tmp/pp-engine-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut e = SecondEngine {
            netns: netns.clone(),
            host_if: host_if.clone(),
            dir: dir.clone(),
            endpoint: format!("https://{engine_ip}:2376"),
            tls_dir: dir.join("client"),
            host_ip: host_ip.clone(),
            engine_ip: engine_ip.clone(),
            child: None,
        };
        must(&["ip", "netns", "add", &netns]);
        must(&[
            "ip", "link", "add", &host_if, "type", "veth", "peer", "name", &peer_if,
        ]);
        must(&["ip", "link", "set", &peer_if, "netns", &netns]);
        must(&[
            "ip",
            "addr",
            "add",
            &format!("{host_ip}/30"),
            "dev",
            &host_if,
        ]);
        must(&["ip", "link", "set", &host_if, "up"]);
        let net = format!("--net=/var/run/netns/{netns}");
        let inside = |cmd: &[&str]| {
            let mut args = vec!["nsenter", net.as_str()];
            args.extend_from_slice(cmd);
            must(&args);
        };
        inside(&[
            "ip",
            "addr",
            "add",
            &format!("{engine_ip}/30"),
            "dev",
            &peer_if,
        ]);
        inside(&["ip", "link", "set", &peer_if, "up"]);
        inside(&["ip", "link", "set", "lo", "up"]);
        inside(&["ip", "route", "add", "default", "via", &host_ip]);
        let config = serde_json::json!({
            "insecure-registries": [format!("10.213.{tag}.0/30")],
        });
        std::fs::write(dir.join("daemon.json"), config.to_string()).unwrap();
        make_certificates(&dir, &engine_ip);
        e.start_daemon(tag).await;
        e
    }

    async fn start_daemon(&mut self, tag: u32) {
        let d = |p: &str| self.dir.join(p).display().to_string();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dockerd.log"))
            .unwrap();
        let child = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{}", self.netns))
            .args(["dockerd", "--config-file", &d("daemon.json")])
            .args(["--data-root", &d("root"), "--exec-root", &d("exec")])
            .args(["-H", &format!("unix://{}", d("docker.sock"))])
            .args(["-H", &format!("tcp://{}:2376", self.engine_ip)])
            .args(["--tlsverify", "--tlscacert", &d("server/ca.pem")])
            .args([
                "--tlscert",
                &d("server/cert.pem"),
                "--tlskey",
                &d("server/key.pem"),
            ])
            .args(["--pidfile", &d("docker.pid")])
            .args(["--bip", &format!("172.31.{tag}.1/24")])
            .args(["--storage-driver", "fuse-overlayfs"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "the second engine did not answer: {}",
                std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Whether the engine answers on its socket.
    pub fn answers(&self) -> bool {
        self.docker(&["version", "--format", "{{.Server.Version}}"])
            .status
            .success()
    }

    /// `docker` against this engine.
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.dir.join("docker.sock").display()))
            .args(args)
            .output()
            .expect("docker")
    }

    /// Ids of the containers carrying every label (`key=value`), stopped
    /// too.
    pub fn containers(&self, labels: &[&str]) -> Vec<String> {
        self.ps("-aq", labels)
    }

    /// Ids of the running containers carrying every label.
    pub fn running(&self, labels: &[&str]) -> Vec<String> {
        self.ps("-q", labels)
    }

    fn ps(&self, flags: &str, labels: &[&str]) -> Vec<String> {
        let mut args = vec!["ps".to_string(), flags.to_string()];
        for l in labels {
            args.push("--filter".into());
            args.push(format!("label={l}"));
        }
        let out = self.docker(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        ids.sort();
        ids
    }

    /// Stops the engine as `systemctl stop docker` does (SIGTERM: its
    /// containers are stopped, then it exits).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(40);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// The host fails: the engine is killed (SIGKILL), nothing stops its
    /// containers or says they stopped.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the engine again on the same data (its stopped containers
    /// are still there).
    pub async fn restart(&mut self) {
        let tag = std::process::id() % 200 + 20;
        self.start_daemon(tag).await;
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A CA, the engine's certificate (for its address) and a client's, as
/// Docker's "protect the daemon socket" page makes them: `server/` and
/// `client/` under `dir`, each with `ca.pem`, `cert.pem` and `key.pem`.
fn make_certificates(dir: &Path, engine_ip: &str) {
    let ssl = |args: &[&str]| {
        let mut all = vec!["openssl"];
        all.extend_from_slice(args);
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{all:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for sub in ["server", "client"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    ssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=pingpong test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        format!("subjectAltName=IP:{engine_ip}\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (sub, cn) in [("server", engine_ip), ("client", "emulator")] {
        let key = format!("{sub}/key.pem");
        let csr = format!("{sub}.csr");
        ssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &key,
            "-out",
            &csr,
        ]);
        ssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{sub}.ext"),
            "-out",
            &format!("{sub}/cert.pem"),
        ]);
        std::fs::copy(dir.join("ca.pem"), dir.join(sub).join("ca.pem")).unwrap();
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        if self.child.is_some() {
            // Its containers go with it: nothing of the test stays.
            let ids = self.docker(&["ps", "-aq"]);
            for id in String::from_utf8_lossy(&ids.stdout).lines() {
                let _ = self.docker(&["rm", "-f", id]);
            }
        }
        self.stop();
        let _ = run(&["ip", "netns", "del", &self.netns]);
        let _ = run(&["ip", "link", "del", &self.host_if]);
        // fuse-overlayfs mounts of a dockerd killed hard would keep files.
        let _ = run(&[
            "sh",
            "-c",
            &format!(
                "grep -o ' {}[^ ]*' /proc/mounts | xargs -r -n1 umount -l",
                self.dir.display()
            ),
        ]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
