//! The services as images on the real Docker engine: size, the four nodes
//! and the client on a user-defined network, `docker stop`, compose.

use std::process::Command;
use std::time::{Duration, Instant};

use pingpong_tests::{
    build_images, docker, free_port, output, published_port, require_docker, root, run, wait_for,
    Scope, START_BODY,
};

#[test]
fn images_are_scratch_based_and_at_most_10_mb() {
    if !require_docker("images_are_scratch_based_and_at_most_10_mb") {
        return;
    }
    build_images();
    for image in [
        "pingpong-node:latest",
        "pingpong-client:latest",
        "pingpong-alb:latest",
    ] {
        let size: u64 = run(&mut docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Size}}",
            image,
        ]))
        .parse()
        .unwrap();
        assert!(size <= 10_000_000, "{image} is {size} bytes");
        // One layer (the binary), a numeric non-root user, port 3000.
        let layers = run(&mut docker(&[
            "image",
            "inspect",
            "--format",
            "{{len .RootFS.Layers}} {{.Config.User}} {{json .Config.ExposedPorts}}",
            image,
        ]));
        let port = if image.starts_with("pingpong-alb") {
            8080
        } else {
            3000
        };
        let expected = format!(r#"1 10001:10001 {{"{port}/tcp":{{}}}}"#);
        assert_eq!(layers, expected, "{image}");
    }
}

/// Starts the tutorial's four nodes and the client on a fresh network,
/// named by alias as in the article; returns node-john's container name.
fn start_stack(scope: &Scope) -> (String, String) {
    let net = scope.name("pingpong-net");
    run(&mut docker(&[
        "network",
        "create",
        "--label",
        &scope.label(),
        &net,
    ]));
    let mut john = String::new();
    for who in ["john", "paul", "george", "ringo"] {
        let alias = format!("node-{who}");
        let name = scope.name(&alias);
        let mut cmd = docker(&[
            "run",
            "-d",
            "--label",
            &scope.label(),
            "--name",
            &name,
            "--network",
            &net,
            "--network-alias",
            &alias,
        ]);
        if who == "john" {
            cmd.args(["-p", "127.0.0.1::3000"]);
            john = name.clone();
        } else {
            cmd.args(["-e", "PEERS="]);
        }
        cmd.arg("pingpong-node:latest");
        run(&mut cmd);
    }
    let client = scope.name("client");
    run(&mut docker(&[
        "run",
        "-d",
        "--label",
        &scope.label(),
        "--name",
        &client,
        "--network",
        &net,
        "-p",
        "127.0.0.1::3000",
        "-e",
        "BASE_URL=http://127.0.0.1:3003",
        "pingpong-client:latest",
    ]));
    (john, client)
}

#[tokio::test]
async fn four_nodes_on_a_user_defined_network_answer_start_exactly() {
    if !require_docker("four_nodes_on_a_user_defined_network_answer_start_exactly") {
        return;
    }
    build_images();
    let scope = Scope::new();
    let (john, client) = start_stack(&scope);
    let port = published_port(&john);
    let body = wait_for(
        &format!("http://127.0.0.1:{port}/start"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(body, START_BODY);
    let ping = wait_for(
        &format!("http://127.0.0.1:{port}/ping"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(ping, "pong");
    let page = wait_for(
        &format!("http://127.0.0.1:{}/", published_port(&client)),
        Duration::from_secs(10),
    )
    .await;
    assert!(
        page.contains(r#"content="http://127.0.0.1:3003""#),
        "{page}"
    );

    // A stopped peer: john answers 502 naming it, quickly.
    run(&mut docker(&["stop", &scope.name("node-george")]));
    let res = reqwest::get(format!("http://127.0.0.1:{port}/start"))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 502);
    let body = res.text().await.unwrap();
    assert!(
        body.starts_with(r#"{"error":"node-george:3000: "#),
        "{body}"
    );
}

#[tokio::test]
async fn docker_stop_of_a_node_returns_in_under_3_seconds() {
    if !require_docker("docker_stop_of_a_node_returns_in_under_3_seconds") {
        return;
    }
    build_images();
    let scope = Scope::new();
    let name = scope.name("node-stop");
    run(&mut docker(&[
        "run",
        "-d",
        "--label",
        &scope.label(),
        "--name",
        &name,
        "-p",
        "127.0.0.1::3000",
        // Request lines are opt-in; this test wants one to be flushed.
        "-e",
        "ACCESS_LOG=on",
        "pingpong-node:latest",
    ]));
    let port = published_port(&name);
    let answer = wait_for(
        &format!("http://127.0.0.1:{port}/ping"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(answer, "pong");
    let started = Instant::now();
    run(&mut docker(&["stop", "--time", "10", &name]));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "docker stop took {took:?}");
    // It exited by itself on SIGTERM (0), not by SIGKILL (137).
    let code = run(&mut docker(&[
        "inspect",
        "--format",
        "{{.State.ExitCode}}",
        &name,
    ]));
    assert_eq!(code, "0");
    // The request's log line and the shutdown reached `docker logs`: the
    // batched log writer is flushed on the way out.
    let logs = run(&mut docker(&["logs", &name]));
    assert!(
        logs.lines().any(|l| l.contains("method=GET")
            && l.contains(r#"path="/ping""#)
            && l.contains("status=200")),
        "no request line in:\n{logs}"
    );
    assert!(logs.contains("stopped cleanly"), "{logs}");
}

/// `docker-compose` where installed (Debian's), else `docker compose`.
fn compose(project: &str) -> Command {
    let standalone = Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok();
    let mut cmd = if standalone {
        Command::new("docker-compose")
    } else {
        let mut c = Command::new("docker");
        c.arg("compose");
        c
    };
    cmd.current_dir(root())
        .args(["-f", "compose.yml", "-p", project]);
    cmd
}

/// Runs `down` on drop, so a failing test leaves nothing behind.
struct ComposeDown<'a> {
    project: &'a str,
    env: Vec<(&'static str, String)>,
}

impl Drop for ComposeDown<'_> {
    fn drop(&mut self) {
        let _ = output(compose(self.project).envs(self.env.clone()).args([
            "down",
            "--volumes",
            "--timeout",
            "5",
        ]));
    }
}

#[tokio::test]
async fn compose_brings_the_stack_up_answers_and_leaves_nothing_behind() {
    if !require_docker("compose_brings_the_stack_up_answers_and_leaves_nothing_behind") {
        return;
    }
    build_images();
    let project = format!("pingpongtest{}", Scope::new().id);
    let john = free_port();
    let client = free_port();
    let alb = free_port();
    let env = vec![
        ("JOHN_PORT", john.to_string()),
        ("CLIENT_PORT", client.to_string()),
        ("ALB_PORT", alb.to_string()),
    ];
    let guard = ComposeDown {
        project: &project,
        env: env.clone(),
    };
    run(compose(&project).envs(env.clone()).args(["up", "-d"]));
    let body = wait_for(
        &format!("http://127.0.0.1:{john}/start"),
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(body, START_BODY);
    let page = wait_for(
        &format!("http://127.0.0.1:{client}/"),
        Duration::from_secs(10),
    )
    .await;
    assert!(page.contains(&format!("http://127.0.0.1:{alb}")));

    // The balancer in nginx's place: one port, routed by path.
    let through = wait_for(
        &format!("http://127.0.0.1:{alb}/start"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(through, START_BODY);
    let ping = wait_for(
        &format!("http://127.0.0.1:{alb}/ping"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(ping, "pong");
    let page = wait_for(&format!("http://127.0.0.1:{alb}/"), Duration::from_secs(5)).await;
    assert!(
        page.contains("aria-label=\"P O N G\""),
        "the page comes through the balancer"
    );
    drop(guard);
    let filter = format!("label=com.docker.compose.project={project}");
    assert_eq!(run(&mut docker(&["ps", "-aq", "--filter", &filter])), "");
    assert_eq!(
        run(&mut docker(&["network", "ls", "-q", "--filter", &filter])),
        ""
    );
}

/// Removes a test image on drop.
struct ImageGuard(String);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = output(&mut docker(&["image", "rm", "-f", &self.0]));
    }
}

#[test]
fn the_healthcheck_subcommand_makes_docker_report_healthy() {
    if !require_docker("the_healthcheck_subcommand_makes_docker_report_healthy") {
        return;
    }
    build_images();
    let scope = Scope::new();
    for (image, binary) in [
        ("pingpong-node", "pingpong-node"),
        ("pingpong-client", "pingpong-client"),
    ] {
        // The exec form, as an ECS healthCheck ["CMD", ...] gives it: a
        // scratch image has no shell for the CMD-SHELL form.
        let tag = scope.name(&format!("{image}-hc")).to_lowercase();
        let _image = ImageGuard(tag.clone());
        let dockerfile = format!(
            "FROM {image}:latest\nHEALTHCHECK --interval=1s --timeout=2s CMD [\"/{binary}\", \"healthcheck\"]\n"
        );
        let mut build = docker(&["build", "-q", "--label", &scope.label(), "-t", &tag, "-"]);
        build
            .env("DOCKER_BUILDKIT", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = build.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), dockerfile.as_bytes()).unwrap();
        assert!(
            child.wait_with_output().unwrap().status.success(),
            "docker build of {tag}"
        );
        let name = scope.name(binary);
        run(&mut docker(&[
            "run",
            "-d",
            "--label",
            &scope.label(),
            "--name",
            &name,
            &tag,
        ]));
        let started = Instant::now();
        loop {
            let health = run(&mut docker(&[
                "inspect",
                "--format",
                "{{.State.Health.Status}}",
                &name,
            ]));
            if health == "healthy" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{name} is still {health}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        run(&mut docker(&["rm", "-f", &name]));
    }
}
