//! The web console in a real browser (headless Chromium through
//! chromedriver's WebDriver API) against an emulator running the default
//! stack on real Docker: the front page lists the services and the task
//! ids the API lists; stopping a service's task from the page shows its
//! replacement appear and that task's target turn healthy, without a
//! reload; scaling and forcing a new deployment from the page take effect
//! and show; a deep link survives a reload. Each main view is saved as a PNG in
//! `target/console-screenshots/`; with `UPDATE_CONSOLE_PNG` set,
//! `overview.png` is also copied to `docs/console.png` (the README's).
//!
//! Needs Docker, `chromium` and `chromedriver` (see
//! [`pingpong_tests::webdriver`]); without them the test skips loudly,
//! unless `CI` is set.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use pingpong_tests::webdriver::{chromedriver_or_skip, eventually, Browser};
use serde_json::{json, Value};

use common::stack::{self, CLIENT, CLUSTER, NODE};

/// Runs `script` in the page (no arguments); what it returns.
async fn js(b: &Browser, script: &str) -> Value {
    b.js(script, json!([])).await
}

async fn go(b: &Browser, hash: &str) {
    js(b, &format!("location.hash = {};", json!(hash))).await;
}

/// The page's PNG, saved as `name` in the screenshot directory.
async fn screenshot(b: &Browser, name: &str) -> PathBuf {
    let png = base64::engine::general_purpose::STANDARD
        .decode(b.screenshot_base64().await)
        .unwrap();
    let path = screenshots().join(name);
    std::fs::write(&path, png).unwrap();
    path
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn screenshots() -> PathBuf {
    let dir = workspace().join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
    serde_json::from_value(b.js(ROW_TASKS, json!([service])).await).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_follows_a_stopped_task_to_its_healthy_replacement() {
    let test = "the_console_follows_a_stopped_task_to_its_healthy_replacement";
    let Some(chromedriver) = chromedriver_or_skip(test) else {
        return;
    };
    if !common::docker_or_skip(test) {
        return;
    }
    let s = stack::up().await;
    let node = s.service(NODE).await;
    let desired = node["desiredCount"].as_u64().unwrap();
    s.steady(NODE, desired).await;

    let b = Browser::start(&chromedriver, 1400, 1300).await;
    let limit = Duration::from_secs(30);

    // The front page: every service with the task ids the API lists.
    b.goto(&format!("{}/", s.emu.endpoint)).await;
    for service in [NODE, CLIENT] {
        let want = task_ids(&s, service).await;
        assert!(!want.is_empty(), "{service} runs tasks");
        eventually(&format!("{service}'s tasks {want:?}"), limit, || async {
            (shown_tasks(&b, service).await.as_ref() == Some(&want)).then_some(())
        })
        .await;
    }
    eventually("healthy targets on the front page", limit, || async {
        let n = js(
            &b,
            "return document.querySelectorAll('.target[data-state=\"healthy\"]').length;",
        )
        .await;
        (n.as_u64().unwrap_or(0) as usize >= desired as usize).then_some(())
    })
    .await;
    let overview = screenshot(&b, "overview.png").await;
    // The README's picture changes only when asked.
    if std::env::var_os("UPDATE_CONSOLE_PNG").is_some() {
        std::fs::create_dir_all(workspace().join("docs")).unwrap();
        std::fs::copy(&overview, workspace().join("docs/console.png")).unwrap();
    }

    // The service view: stop a task from the page.
    js(&b, "window.consoleNotReloaded = true;").await;
    go(&b, &format!("#/services/{NODE}")).await;
    let before = task_ids(&s, NODE).await;
    let stop = eventually("a stop button", limit, || async {
        b.elements("button.stop-task").await.into_iter().next()
    })
    .await;
    // Its tasks' output follows on the service's page too.
    eventually("the service's logs", limit, || async {
        let n = js(
            &b,
            "const l = document.getElementById('logs'); return l ? l.childNodes.length : 0;",
        )
        .await;
        (n.as_u64().unwrap_or(0) > 0).then_some(())
    })
    .await;
    screenshot(&b, "service.png").await;
    let stopped = js(
        &b,
        "return document.querySelector('button.stop-task').dataset.stop.split('/').pop();",
    )
    .await
    .as_str()
    .unwrap()
    .to_string();
    assert!(before.contains(&stopped), "{stopped} in {before:?}");
    b.click(&stop).await;

    // The replacement appears, and its target turns healthy, on the same
    // page (never reloaded).
    let replacement = eventually("the replacement task on the page", limit, || async {
        let ids = js(&b, "return Array.from(document.querySelectorAll('table.tasks tr[data-task]')).map((r) => r.dataset.task);")
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
        (js(&b, &healthy).await == json!(true)).then_some(())
    })
    .await;
    assert_eq!(
        js(&b, "return window.consoleNotReloaded === true;").await,
        json!(true),
        "the page reloaded"
    );
    screenshot(&b, "service-after-stop.png").await;

    // Scale from the page: the API's desired count follows, and the page
    // shows the new task running.
    let more = desired + 1;
    let input = b.elements("input#desired").await;
    b.post(&format!("/element/{}/clear", input[0]), json!({}))
        .await;
    b.post(
        &format!("/element/{}/value", input[0]),
        json!({"text": more.to_string()}),
    )
    .await;
    let scale = b.elements("button#scale").await;
    b.click(&scale[0]).await;
    eventually("the scaled service on the page", limit, || async {
        let v = js(
            &b,
            "return document.querySelectorAll('table.tasks tr[data-task] .chip.ok').length;",
        )
        .await;
        (v.as_u64() == Some(more)).then_some(())
    })
    .await;
    assert_eq!(s.service(NODE).await["desiredCount"], more);

    // The task view: lifecycle up to RUNNING, its containers' ports, logs.
    go(&b, &format!("#/tasks/{replacement}")).await;
    eventually("the task's lifecycle", limit, || async {
        let v = js(&b, "const c = document.querySelector('.timeline li.current'); return c && c.dataset.status;")
            .await;
        (v == json!("RUNNING")).then_some(())
    })
    .await;
    eventually("the task's logs", limit, || async {
        let n = js(
            &b,
            "const l = document.getElementById('logs'); return l ? l.childNodes.length : 0;",
        )
        .await;
        (n.as_u64().unwrap_or(0) > 0).then_some(())
    })
    .await;
    screenshot(&b, "task.png").await;
    // The deep link survives a reload.
    b.post("/refresh", json!({})).await;
    eventually("the task view after a reload", limit, || async {
        let v = js(
            &b,
            "return document.querySelector('h1') && document.querySelector('h1').textContent;",
        )
        .await;
        v.as_str()
            .is_some_and(|h| h.contains(&replacement))
            .then_some(())
    })
    .await;

    // Kill a container from the task view: the page follows the task to
    // STOPPED with ECS's reason, and the service replaces it.
    let kill = eventually("a kill button", limit, || async {
        b.elements("button.kill-container").await.into_iter().next()
    })
    .await;
    b.click(&kill).await;
    // Stopping includes draining its target: longer than a page update
    // on a busy machine.
    eventually("the killed task stopped on the page", limit * 3, || async {
        let v = js(
            &b,
            "const r = document.querySelector('.stopped-reason'); return r && r.textContent;",
        )
        .await;
        v.as_str()
            .is_some_and(|r| r.contains("Essential container in task exited"))
            .then_some(())
    })
    .await;
    eventually("a replacement of the killed task", limit, || async {
        let ids = task_ids(&s, NODE).await;
        (ids.len() as u64 == more && !ids.contains(&replacement)).then_some(())
    })
    .await;

    // The load balancers: rules in priority order, then the clusters.
    go(&b, "#/load-balancers").await;
    eventually("the listener rules", limit, || async {
        let v = js(
            &b,
            "return document.querySelectorAll('table.rules tr').length;",
        )
        .await;
        (v.as_u64().unwrap_or(0) > 1).then_some(())
    })
    .await;
    screenshot(&b, "load-balancers.png").await;
    go(&b, "#/clusters").await;
    eventually("the container instances", limit, || async {
        let v = js(
            &b,
            "return document.querySelectorAll('table.instances tr').length;",
        )
        .await;
        (v.as_u64().unwrap_or(0) > 1).then_some(())
    })
    .await;
    // Each instance's engine and agent connection.
    let row = js(
        &b,
        "const r = document.querySelectorAll('table.instances tr')[1]; return r && r.textContent;",
    )
    .await;
    let row = row.as_str().unwrap_or("");
    assert!(
        row.contains("local") && row.contains("CONNECTED") && !row.contains("DISCONNECTED"),
        "{row}"
    );
    screenshot(&b, "clusters.png").await;

    // Metrics: requests through the listener show as a rate of the load
    // balancer, and the running tasks' CPU and memory as charts.
    go(&b, "#/metrics").await;
    let listener = s.listener.clone();
    let load = tokio::spawn(async move {
        for _ in 0..200 {
            let _ = reqwest::get(format!("{listener}/ping")).await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    eventually("request-rate and CPU charts", limit, || async {
        let v = js(
            &b,
            "const n = (m) => Array.from(document.querySelectorAll('.chart[data-metric=' + m + ']'));             return [n('requests').map((c) => c.querySelector('.value').textContent),                     n('cpu').filter((c) => Number(c.dataset.samples) >= 2).length];",
        )
        .await;
        let rates = v[0].as_array().cloned().unwrap_or_default();
        let busy = rates
            .iter()
            .any(|r| r.as_str().and_then(|t| t.split(' ').next()?.parse::<f64>().ok()) > Some(0.0));
        (busy && v[1].as_u64().unwrap_or(0) >= 2).then_some(())
    })
    .await;
    load.abort();
    screenshot(&b, "metrics.png").await;

    // Force a new deployment from the page: a new PRIMARY deployment shows.
    let first = s.service(NODE).await["deployments"][0]["id"].clone();
    go(&b, &format!("#/services/{NODE}")).await;
    let force = eventually("the force button", limit, || async {
        b.elements("button#force").await.into_iter().next()
    })
    .await;
    b.click(&force).await;
    let primary =
        "return Array.from(document.querySelectorAll('table.deployments tr[data-deployment]'))\
        .filter((r) => r.dataset.status === 'PRIMARY').map((r) => r.dataset.deployment);";
    eventually("the new deployment on the page", limit, || async {
        let ids = js(&b, primary).await;
        let ids = ids.as_array().cloned().unwrap_or_default();
        (ids.len() == 1 && ids[0] != first).then_some(())
    })
    .await;

    let _ = b.call(reqwest::Method::DELETE, "", None).await;
}
