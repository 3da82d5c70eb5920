//! `docs/walkthrough.md` is run, not just read: every ` ```sh ` block, in
//! order, in one bash session, against a fresh emulator started with
//! `--no-stack`, with the page's addresses (`127.0.0.1:4566` the API,
//! `127.0.0.1:8080` the port-80 listener, `127.0.0.1:4510` the ECR
//! registry) rewritten to this emulator's, dummy AWS credentials, a
//! private Docker config for `docker login`, and the built `emulator`
//! binary on `PATH`. A `# expect: TEXT` line checks that the block's output
//! so far contains TEXT. A failing command or expectation fails the test
//! naming its line in the page, with the block's output. Whatever it made
//! goes when it ends, passed or not: the emulator's objects and the tags
//! naming its registry (`down`), and the registry tags the page adds.
//!
//! The script keeps the page's line numbers: line N of the script is line
//! N of the page (blank where the page is prose), so bash's `$LINENO` in
//! the ERR trap is the page's line.

mod common;

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::registry::{project_image, registry_or_skip, Tags, ECR};
use common::{docker_or_skip, have_aws_cli, Api, Emulator, BIN};
use serde_json::json;

const PAGE: &str = "docs/walkthrough.md";
/// The whole page's bound; each of its waits has its own, shorter one.
const TIMEOUT: Duration = Duration::from_secs(600);

fn page() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(PAGE);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a line of the page is, for the script.
#[derive(Debug, PartialEq)]
enum Line<'a> {
    Prose,
    /// The opening fence of a runnable block.
    Open,
    Run(&'a str),
    Expect(&'a str),
    /// The closing fence of a runnable block.
    Close,
}

/// Classifies every line; panics on a malformed page (an unclosed fence,
/// an `# expect:` outside a runnable block, an empty runnable block).
fn classify(page: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    // None: prose; Some(true): in a runnable block; Some(false): another.
    let mut fence: Option<bool> = None;
    let mut block_start = 0;
    for (i, line) in page.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        match (fence, trimmed.strip_prefix("```")) {
            (None, Some(info)) => {
                let runnable = info.trim() == "sh";
                fence = Some(runnable);
                block_start = n;
                out.push(if runnable { Line::Open } else { Line::Prose });
            }
            (Some(runnable), Some(_)) => {
                fence = None;
                if runnable {
                    assert!(
                        out[block_start..].iter().any(|l| matches!(l, Line::Run(_))),
                        "{PAGE}:{block_start}: an empty sh block"
                    );
                    out.push(Line::Close);
                } else {
                    out.push(Line::Prose);
                }
            }
            (Some(true), None) => match trimmed.strip_prefix("# expect:") {
                Some(text) => out.push(Line::Expect(text.trim())),
                None => out.push(Line::Run(line)),
            },
            _ => {
                assert!(
                    !trimmed.starts_with("# expect:"),
                    "{PAGE}:{n}: `# expect:` outside a sh block"
                );
                out.push(Line::Prose);
            }
        }
    }
    assert!(fence.is_none(), "{PAGE}:{block_start}: unclosed code block");
    out
}

/// Single-quoted for bash.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The helpers the generated script sources on its line 1.
const PRELUDE: &str = r#"
set -eE -o pipefail
exec 3>&2
__out=$(mktemp)
__block=0
__fail() {
  # The page's line of the command the script ran (a function's caller).
  local top=${BASH_LINENO[${#BASH_LINENO[@]}-2]}
  if [ "$top" = "$1" ]; then
    echo "$PAGE:$1: failed (exit $2): $3" >&3
  else
    echo "$PAGE:$top: failed (exit $2), at line $1: $3" >&3
  fi
  echo "--- output of the block at $PAGE:$__block:" >&3
  cat "$__out" >&3
  exit 97
}
trap '__fail "$LINENO" "$?" "$BASH_COMMAND"' ERR
__begin() { __block=$1; echo "--- $PAGE:$1"; }
__end() { cat "$__out"; }
__expect() {
  if ! grep -qF -- "$2" "$__out"; then
    echo "$PAGE:$1: expected the output to contain: $2" >&3
    echo "--- output of the block at $PAGE:$__block:" >&3
    cat "$__out" >&3
    exit 98
  fi
}
"#;

/// The page as a bash script, line for line, with `rewrite` applied to
/// what it runs and expects.
fn script(page: &str, prelude: &Path, rewrite: &dyn Fn(&str) -> String) -> String {
    let lines = classify(page);
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let mut s = match line {
            Line::Prose => String::new(),
            Line::Open => format!("__begin {n}; {{"),
            Line::Run(cmd) => rewrite(cmd),
            Line::Expect(text) => format!("__expect {n} {}", quote(&rewrite(text))),
            Line::Close => "} > \"$__out\" 2>&1; __end".to_string(),
        };
        if n == 1 {
            assert_eq!(*line, Line::Prose, "{PAGE}:1 must be prose");
            s = format!("source {}", quote(&prelude.display().to_string()));
        }
        out.push(s);
    }
    out.join("\n") + "\n"
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn the_walkthrough_page_is_well_formed() {
    let page = page();
    let lines = classify(&page);
    let runs = lines.iter().filter(|l| matches!(l, Line::Run(_))).count();
    let expects = lines
        .iter()
        .filter(|l| matches!(l, Line::Expect(_)))
        .count();
    assert!(
        runs > 100 && expects > 20,
        "{runs} commands, {expects} expectations"
    );
    // What the page promises its reader is checked, not only run.
    for promised in [
        r#"# expect: ["meow from node-paul:3000","meow from node-george:3000","meow from node-ringo:3000"]"#,
        "# expect: rolling back to deployment",
        "# expect: was unable to place a task because",
        "# expect: Login Succeeded",
    ] {
        assert!(page.contains(promised), "{PAGE} does not check {promised}");
    }
    // The script keeps the page's line numbers.
    let s = script(&page, Path::new("/p"), &|l| l.to_string());
    assert_eq!(s.lines().count(), page.lines().count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_runs_command_for_command() {
    let test = "the_walkthrough_runs_command_for_command";
    if !docker_or_skip(test) || !registry_or_skip(test) || !have_aws_cli(test) {
        return;
    }
    project_image("client");
    project_image("node");
    let page = page();
    // Dropped last, after the emulator's `down`.
    let alb = format!("127.0.0.1:{}", free_port());
    let e = Emulator::up(&["--no-stack", "--alb-addr", &alb]).await;
    let api = e.endpoint.trim_start_matches("http://").to_string();
    let auth = Api::new(&e.endpoint, ECR)
        .ok("GetAuthorizationToken", json!({}))
        .await;
    let registry = auth["authorizationData"][0]["proxyEndpoint"]
        .as_str()
        .expect("proxyEndpoint")
        .trim_start_matches("http://")
        .to_string();
    // What the page tags locally, removed even when it fails half-way.
    let _tags = Tags(
        ["client:latest", "node:latest", "node:v2"]
            .iter()
            .map(|t| format!("{registry}/microservice-ping-pong/{t}"))
            .collect(),
        registry.clone(),
    );

    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = tmp.path().join("bin");
    let work = tmp.path().join("work");
    let docker_config = tmp.path().join("docker-config");
    for d in [&bin_dir, &work, &docker_config] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::os::unix::fs::symlink(BIN, bin_dir.join("emulator")).unwrap();
    let prelude = tmp.path().join("prelude.sh");
    std::fs::write(&prelude, PRELUDE).unwrap();
    let rewrite = |l: &str| {
        l.replace("127.0.0.1:4566", &api)
            .replace("127.0.0.1:8080", &alb)
            .replace("127.0.0.1:4510", &registry)
    };
    let script_path = tmp.path().join("walkthrough.sh");
    std::fs::write(&script_path, script(&page, &prelude, &rewrite)).unwrap();
    let log_path = tmp.path().join("walkthrough.log");
    let log = std::fs::File::create(&log_path).unwrap();

    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(&script_path)
        .current_dir(&work)
        .env("PATH", path)
        .env("PAGE", PAGE)
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env("DOCKER_CONFIG", &docker_config)
        .env("EMULATOR_DATA_DIR", &e.data_dir)
        .env("EMULATOR_ENDPOINT", &e.endpoint)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout stops the background jobs too.
        .process_group(0)
        .spawn()
        .expect("bash");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > TIMEOUT {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let errors = reader.join().unwrap_or_default();
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    eprintln!(
        "{PAGE} ran in {:.0} s\n{output}",
        started.elapsed().as_secs_f64()
    );
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("{PAGE} failed ({s}):\n{errors}"),
        None => panic!("{PAGE} did not finish within {TIMEOUT:?}:\n{errors}"),
    }
}
