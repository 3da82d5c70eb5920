//! Every route and error of the client page server.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use pingpong_client::{router, AppState, Config};
use tower::ServiceExt;

fn config(pairs: &[(&str, &str)]) -> Result<Config, pingpong_kit::config::ConfigError> {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Config::from_lookup(&lookup)
}

async fn get(pairs: &[(&str, &str)], uri: &str) -> (StatusCode, String, String) {
    let app = router(AppState::new(&config(pairs).unwrap()));
    let res = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let ctype = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(body.to_vec()).unwrap())
}

/// The letters of both rows in order, each with its background colour.
fn buttons(page: &str) -> Vec<(String, String)> {
    page.split("<button")
        .skip(1)
        .map(|b| {
            let colour = b.split("background:").nth(1).unwrap()[..7].to_string();
            let letter = b.split('>').nth(1).unwrap().split('<').next().unwrap();
            (letter.to_string(), colour)
        })
        .collect()
}

#[tokio::test]
async fn the_page_has_both_rows_with_the_originals_colours() {
    let (status, ctype, page) = get(&[], "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let expected = [
        ("P", "#C8E6C9"),
        ("I", "#BBDEFB"),
        ("N", "#ffcdd2"),
        ("G", "#E1BEE7"),
        ("P", "#BBDEFB"),
        ("O", "#C8E6C9"),
        ("N", "#E1BEE7"),
        ("G", "#ffcdd2"),
    ];
    let got = buttons(&page);
    let got: Vec<(&str, &str)> = got.iter().map(|(l, c)| (l.as_str(), c.as_str())).collect();
    assert_eq!(got, expected);
    assert!(page.contains(r#"<script src="/static/app.js">"#));
}

#[tokio::test]
async fn base_url_is_read_at_run_time_and_defaults_to_same_origin() {
    let (_, _, page) = get(&[], "/").await;
    assert!(page.contains(r#"<meta name="pingpong-base-url" content="">"#));
    let (_, _, page) = get(&[("BASE_URL", "http://127.0.0.1:3003/")], "/").await;
    assert!(page.contains(r#"<meta name="pingpong-base-url" content="http://127.0.0.1:3003">"#));
}

#[tokio::test]
async fn base_url_cannot_break_out_of_the_attribute() {
    let (_, _, page) = get(
        &[("BASE_URL", r#"http://x/"><script>alert(1)</script>"#)],
        "/",
    )
    .await;
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("&quot;&gt;&lt;script&gt;"));
}

#[test]
fn a_base_url_that_is_not_http_is_refused_naming_the_variable() {
    for bad in ["javascript:alert(1)", "127.0.0.1:3003", "http://a b"] {
        let err = config(&[("BASE_URL", bad)]).unwrap_err();
        assert_eq!(err.name, "BASE_URL", "{bad}");
    }
}

#[tokio::test]
async fn the_script_calls_start_and_shows_answers_and_errors() {
    let (status, ctype, js) = get(&[], "/static/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/javascript"), "{ctype}");
    assert!(js.contains(r#"base + "/start""#));
    assert!(
        js.contains("textContent"),
        "answers are shown as text, not HTML"
    );
    assert!(js.contains("failed: HTTP"), "errors are shown readably");
}

#[tokio::test]
async fn the_stylesheet_is_served() {
    let (status, ctype, css) = get(&[], "/static/style.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/css"), "{ctype}");
    assert!(css.contains("margin: 100px auto 0"));
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let (status, ctype, body) = get(&[], "/start").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(ctype, "application/json");
    assert_eq!(body, r#"{"error":"no route for GET /start"}"#);
}

#[tokio::test]
async fn wrong_method_is_a_json_405() {
    let app = router(AppState::new(&config(&[]).unwrap()));
    let res = app
        .oneshot(Request::delete("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn serves_on_a_real_socket_and_stops_on_shutdown() {
    let config = config(&[("BASE_URL", "http://127.0.0.1:3003")]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pingpong_client::run(listener, config, async {
        let _ = stopped.await;
    }));
    let page = reqwest::get(format!("http://{addr}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("http://127.0.0.1:3003"));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
