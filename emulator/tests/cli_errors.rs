//! Start-up errors a user meets: one clear line, a failure exit, and
//! nothing left running or created.

mod common;

use std::process::Command;

use common::{docker_or_skip, BIN};

#[test]
fn a_taken_api_port_is_one_line_and_starts_nothing() {
    if !docker_or_skip("a_taken_api_port_is_one_line_and_starts_nothing") {
        return;
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = Command::new(BIN)
        .args([
            "--data-dir",
            data,
            "up",
            "--api-addr",
            &addr,
            "--alb-addr",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        [format!(
            "emulator: error: cannot listen on {addr}: Address already in use (os error 98)"
        )],
        "{stderr}"
    );
    // Failed before any task was placed: no container of this instance.
    let instance = emulator::app::instance_id(dir.path(), None);
    let ps = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.pingpong.emulator.instance={instance}"),
        ])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&ps.stdout)
    );
}
