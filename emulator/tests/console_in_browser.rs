//! The web console in a real browser (headless Chromium through
//! chromedriver's WebDriver API) against an emulator running the default
//! stack on real Docker: the front page lists the services and the task
//! ids the API lists; stopping a service's task from the page shows its
//! replacement appear and that task's target turn healthy, without a
//! reload. Each main view is saved as a PNG in
//! `target/console-screenshots/`; with `UPDATE_CONSOLE_PNG` set,
//! `overview.png` is also copied to `docs/console.png` (the README's).
//!
//! Needs Docker, `chromium` and `chromedriver` (Debian: chromium,
//! chromium-driver). Without them the test skips loudly, unless `CI` is
//! set.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use common::stack::{self, CLIENT, CLUSTER, NODE};

/// chromedriver as a child process, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        Command::new(n)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .filter(|s| s.success())
            .map(|_| n.to_string())
    })
}

/// A WebDriver session: a thin JSON-over-HTTP client.
struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let text = req.send().await.unwrap().text().await.unwrap();
        serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Runs `script` in the page; its return value.
    async fn js(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    async fn go(&self, hash: &str) {
        self.js(&format!("location.hash = {};", json!(hash))).await;
    }

    /// The page's PNG, saved as `name` in the screenshot directory.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("a screenshot"))
            .unwrap();
        let path = screenshots().join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn screenshots() -> PathBuf {
    let dir = workspace().join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Polls `f` every 100 ms until it returns Some; panics after `limit`.
async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ids of a service's running tasks, as the API lists them.
async fn task_ids(s: &stack::Stack, service: &str) -> Vec<String> {
    let v = s
        .emu
        .ok(
            "ListTasks",
            json!({"cluster": CLUSTER, "serviceName": service}),
        )
        .await;
    let mut ids: Vec<String> = v["taskArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// What the page shows in a service's front-page row: its task ids.
const ROW_TASKS: &str = r#"
const row = document.querySelector('tr.service[data-service="' + arguments[0] + '"]');
return row ? Array.from(row.querySelectorAll('a.task-link')).map((a) => a.dataset.task).sort() : null;
"#;

async fn shown_tasks(b: &Browser, service: &str) -> Option<Vec<String>> {
    let v = b
        .post(
            "/execute/sync",
            json!({"script": ROW_TASKS, "args": [service]}),
        )
        .await;
    serde_json::from_value(v).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_follows_a_stopped_task_to_its_healthy_replacement() {
    let test = "the_console_follows_a_stopped_task_to_its_healthy_replacement";
    let (Some(chromedriver), Some(_)) = (
        find(&["chromedriver"]),
        find(&["chromium", "chromium-browser", "google-chrome"]),
    ) else {
        if std::env::var_os("CI").is_some() {
            panic!("{test}: CI is set but chromium/chromedriver are missing");
        }
        eprintln!("\n!!! SKIPPING {test}: chromium and chromedriver are not installed.\n");
        return;
    };
    if !common::docker_or_skip(test) {
        return;
    }
    let s = stack::up().await;
    let node = s.service(NODE).await;
    let desired = node["desiredCount"].as_u64().unwrap();
    s.steady(NODE, desired).await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    eventually("chromedriver", Duration::from_secs(15), || {
        let (http, url) = (http.clone(), format!("{}/status", driver.url));
        async move { http.get(&url).send().await.ok().map(|_| ()) }
    })
    .await;
    let created: Value = http
        .post(format!("{}/session", driver.url))
        .json(
            &json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1000"]
            }}}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {created}"));
    let b = Browser {
        http: http.clone(),
        session: format!("{}/session/{id}", driver.url),
    };
    let limit = Duration::from_secs(30);

    // The front page: every service with the task ids the API lists.
    b.post("/url", json!({"url": format!("{}/", s.emu.endpoint)}))
        .await;
    for service in [NODE, CLIENT] {
        let want = task_ids(&s, service).await;
        assert!(!want.is_empty(), "{service} runs tasks");
        eventually(&format!("{service}'s tasks {want:?}"), limit, || async {
            (shown_tasks(&b, service).await.as_ref() == Some(&want)).then_some(())
        })
        .await;
    }
    eventually("healthy targets on the front page", limit, || async {
        let n = b
            .js("return document.querySelectorAll('.target[data-state=\"healthy\"]').length;")
            .await;
        (n.as_u64().unwrap_or(0) as usize >= desired as usize).then_some(())
    })
    .await;
    let overview = b.screenshot("overview.png").await;
    // The README's picture changes only when asked.
    if std::env::var_os("UPDATE_CONSOLE_PNG").is_some() {
        std::fs::create_dir_all(workspace().join("docs")).unwrap();
        std::fs::copy(&overview, workspace().join("docs/console.png")).unwrap();
    }

    // The service view: stop a task from the page.
    b.js("window.consoleNotReloaded = true;").await;
    b.go(&format!("#/services/{NODE}")).await;
    let before = task_ids(&s, NODE).await;
    let stop = eventually("a stop button", limit, || async {
        let v = b
            .post(
                "/elements",
                json!({"using": "css selector", "value": "button.stop-task"}),
            )
            .await;
        v.as_array()
            .and_then(|a| a.first().cloned())
            .and_then(|e| e.as_object()?.values().next()?.as_str().map(str::to_string))
    })
    .await;
    b.screenshot("service.png").await;
    let stopped = b
        .js("return document.querySelector('button.stop-task').dataset.stop.split('/').pop();")
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert!(before.contains(&stopped), "{stopped} in {before:?}");
    b.post(&format!("/element/{stop}/click"), json!({})).await;

    // The replacement appears, and its target turns healthy, on the same
    // page (never reloaded).
    let replacement = eventually("the replacement task on the page", limit, || async {
        let ids = b
            .js("return Array.from(document.querySelectorAll('table.tasks tr[data-task]')).map((r) => r.dataset.task);")
            .await;
        let ids: Vec<String> = serde_json::from_value(ids).unwrap_or_default();
        ids.into_iter().find(|i| !before.contains(i))
    })
    .await;
    let api = task_ids(&s, NODE).await;
    assert!(api.contains(&replacement), "{replacement} in {api:?}");
    let healthy = format!(
        "return !!document.querySelector('table.target-groups .target[data-state=\"healthy\"] a[data-task=\"{replacement}\"]');"
    );
    eventually("the replacement's target healthy", limit, || async {
        (b.js(&healthy).await == json!(true)).then_some(())
    })
    .await;
    assert_eq!(
        b.js("return window.consoleNotReloaded === true;").await,
        json!(true),
        "the page reloaded"
    );
    b.screenshot("service-after-stop.png").await;

    // The task view: lifecycle up to RUNNING, its containers' ports, logs.
    b.go(&format!("#/tasks/{replacement}")).await;
    eventually("the task's lifecycle", limit, || async {
        let v = b
            .js("const c = document.querySelector('.timeline li.current'); return c && c.dataset.status;")
            .await;
        (v == json!("RUNNING")).then_some(())
    })
    .await;
    eventually("the task's logs", limit, || async {
        let n = b
            .js("const l = document.getElementById('logs'); return l ? l.childNodes.length : 0;")
            .await;
        (n.as_u64().unwrap_or(0) > 0).then_some(())
    })
    .await;
    b.screenshot("task.png").await;

    // The load balancers: rules in priority order, then the clusters.
    b.go("#/load-balancers").await;
    eventually("the listener rules", limit, || async {
        let v = b
            .js("return document.querySelectorAll('table.rules tr').length;")
            .await;
        (v.as_u64().unwrap_or(0) > 1).then_some(())
    })
    .await;
    b.screenshot("load-balancers.png").await;
    b.go("#/clusters").await;
    eventually("the container instances", limit, || async {
        let v = b
            .js("return document.querySelectorAll('table.instances tr').length;")
            .await;
        (v.as_u64().unwrap_or(0) > 1).then_some(())
    })
    .await;
    b.screenshot("clusters.png").await;

    let _ = b.call(reqwest::Method::DELETE, "", None).await;
}
