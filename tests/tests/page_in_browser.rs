//! The client page in a real browser (headless Chromium through
//! chromedriver's WebDriver API): clicking a letter shows the `/start`
//! answer on the page, and a failed call shows a readable error. The page
//! and the nodes run in-process on loopback, on another origin than the
//! nodes, so the browser also checks the nodes' CORS headers for real.
//!
//! Needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver;
//! `.ci/run` installs them). Without them the test skips loudly, unless
//! `CI` is set.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

fn lookup(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
}

/// A server on 127.0.0.1:0 that stops when dropped.
struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn node(peers: String) -> Server {
    let config = pingpong_node::Config::from_lookup(&lookup(vec![("PEERS", peers)])).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(pingpong_node::run(listener, config, async {
        let _ = stopped.await;
    }));
    Server { addr, _stop: stop }
}

async fn client(base_url: String) -> Server {
    let config =
        pingpong_client::Config::from_lookup(&lookup(vec![("BASE_URL", base_url)])).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(pingpong_client::run(listener, config, async {
        let _ = stopped.await;
    }));
    Server { addr, _stop: stop }
}

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

/// The WebDriver session: a thin JSON-over-HTTP client.
struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let res = req.send().await.unwrap();
        let text = res.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        v["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn elements(&self, css: &str) -> Vec<String> {
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

    async fn text(&self, element: &str) -> String {
        self.get(&format!("/element/{element}/text"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.elements(css).await {
            out.push(self.text(&e).await);
        }
        out
    }

    async fn click(&self, element: &str) {
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }
}

/// Polls `f` until it returns Some, or panics after `deadline`.
async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicking_a_letter_shows_the_answer_and_errors_are_readable() {
    let test = "clicking_a_letter_shows_the_answer_and_errors_are_readable";
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

    let mut leaves = vec![
        node(String::new()).await,
        node(String::new()).await,
        node(String::new()).await,
    ];
    let peers: Vec<String> = leaves.iter().map(|l| l.addr.to_string()).collect();
    let john = node(peers.join(",")).await;
    let page = client(format!("http://{}", john.addr)).await;

    let port = pingpong_tests::free_port();
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
    let status_url = format!("{}/status", driver.url);
    eventually("chromedriver", Duration::from_secs(15), || {
        let http = http.clone();
        let url = status_url.clone();
        async move { http.get(&url).send().await.ok().map(|_| ()) }
    })
    .await;
    let created: Value = serde_json::from_str(
        &http
            .post(format!("{}/session", driver.url))
            .header("content-type", "application/json")
            .body(
                json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
                }}}})
                .to_string(),
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let session_id = created["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
        .to_string();
    let browser = Browser {
        http: http.clone(),
        session: format!("{}/session/{session_id}", driver.url),
    };

    browser
        .post("/url", json!({"url": format!("http://{}/", page.addr)}))
        .await;
    let buttons = browser.elements("button").await;
    let letters = browser.texts("button").await;
    assert_eq!(letters, ["P", "I", "N", "G", "P", "O", "N", "G"]);

    // Click N of PING: the three meows appear, in order.
    browser.click(&buttons[2]).await;
    let expected: Vec<String> = peers.iter().map(|p| format!("meow from {p}")).collect();
    let shown = eventually("the answer list", Duration::from_secs(10), || async {
        let items = browser.texts("#answers li").await;
        (items.len() == 3).then_some(items)
    })
    .await;
    assert_eq!(shown, expected);

    // george goes away: the next click shows a readable error naming him.
    let george = peers[1].clone();
    drop(leaves.remove(1));
    tokio::time::sleep(Duration::from_millis(100)).await;
    browser.click(&buttons[5]).await;
    let status = eventually("the error message", Duration::from_secs(10), || async {
        let text = browser.texts("#status").await.join("");
        text.contains("failed").then_some(text)
    })
    .await;
    // Only the first leaf is reached in the chain, so the error names it.
    assert!(status.contains("HTTP 502"), "{status}");
    assert!(
        status.contains(&peers[0]) || status.contains(&george),
        "{status}"
    );
    assert!(status.contains("connection refused"), "{status}");
    assert!(browser.texts("#answers li").await.is_empty());

    let _ = browser.call(reqwest::Method::DELETE, "", None).await;
}
