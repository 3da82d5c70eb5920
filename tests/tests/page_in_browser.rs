//! The client page in a real browser (headless Chromium through
//! chromedriver's WebDriver API): clicking a letter shows the `/start`
//! answer on the page, and a failed call shows a readable error. The page
//! and the nodes run in-process on loopback, on another origin than the
//! nodes, so the browser also checks the nodes' CORS headers for real.
//!
//! Needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver;
//! `.ci/run` installs them): see [`pingpong_tests::webdriver`].

use std::net::SocketAddr;
use std::time::Duration;

use pingpong_tests::webdriver::{chromedriver_or_skip, eventually, Browser};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicking_a_letter_shows_the_answer_and_errors_are_readable() {
    let Some(chromedriver) =
        chromedriver_or_skip("clicking_a_letter_shows_the_answer_and_errors_are_readable")
    else {
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

    let browser = Browser::start(&chromedriver, 1200, 900).await;

    browser.goto(&format!("http://{}/", page.addr)).await;
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
