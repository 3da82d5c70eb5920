//! A headless Chromium driven through chromedriver's WebDriver API (plain
//! JSON over HTTP), for the tests that check a page in a real browser: the
//! client page (`tests/page_in_browser.rs`) and the emulator's console
//! (`emulator/tests/console_in_browser.rs`).
//!
//! Needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver).
//! [`chromedriver_or_skip`] applies the skip rule: without them a test
//! skips loudly, unless `CI` is set.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

/// The chromedriver command when it and a Chromium are installed; `None`
/// (the test skips) otherwise, unless `CI` is set: then it panics.
pub fn chromedriver_or_skip(test: &str) -> Option<String> {
    let (Some(chromedriver), Some(_)) = (
        find(&["chromedriver"]),
        find(&["chromium", "chromium-browser", "google-chrome"]),
    ) else {
        if std::env::var_os("CI").is_some() {
            panic!("{test}: CI is set but chromium/chromedriver are missing");
        }
        eprintln!("\n!!! SKIPPING {test}: chromium and chromedriver are not installed.\n");
        return None;
    };
    Some(chromedriver)
}

/// Polls `f` every 100 ms until it returns `Some`; panics after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
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

/// chromedriver as a child process, killed on drop.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One WebDriver session in its own chromedriver (both end on drop).
pub struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: Driver,
}

impl Browser {
    /// Starts `chromedriver` on a free port and a headless session in a
    /// window of `width` x `height`.
    pub async fn start(chromedriver: &str, width: u32, height: u32) -> Browser {
        let port = crate::free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver(child);
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        eventually("chromedriver", Duration::from_secs(15), || {
            let (http, url) = (http.clone(), format!("{url}/status"));
            async move { http.get(&url).send().await.ok().map(|_| ()) }
        })
        .await;
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={width},{height}"),
        ];
        let text = http
            .post(format!("{url}/session"))
            .header("content-type", "application/json")
            .body(
                json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"args": args}}}})
                    .to_string(),
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let created: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {text}"));
        Browser {
            session: format!("{url}/session/{id}"),
            http,
            _driver: driver,
        }
    }

    /// A WebDriver call on the session (`path` after `/session/{id}`); the
    /// answer's `value`.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let text = req.send().await.unwrap().text().await.unwrap();
        serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)["value"].clone()
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the
    /// page; what it returns.
    pub async fn js(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// The element ids matching a CSS selector.
    pub async fn elements(&self, css: &str) -> Vec<String> {
        let found = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        found
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.as_object()?.values().next()?.as_str().map(str::to_string))
            .collect()
    }

    pub async fn text(&self, element: &str) -> String {
        self.get(&format!("/element/{element}/text"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.elements(css).await {
            out.push(self.text(&e).await);
        }
        out
    }

    pub async fn click(&self, element: &str) {
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// The visible page as a base64 PNG.
    pub async fn screenshot_base64(&self) -> String {
        self.get("/screenshot")
            .await
            .as_str()
            .expect("a screenshot")
            .to_string()
    }
}
