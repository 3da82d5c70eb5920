//! Unit tests of rule validation, condition matching, compilation and
//! redirects.

use super::*;

fn view<'a>(
    method: &'a Method,
    uri: &'a http::Uri,
    host: Option<&'a str>,
    headers: &'a HeaderMap,
) -> RequestView<'a> {
    RequestView {
        path: uri.path(),
        query: uri.query(),
        host,
        method,
        headers,
    }
}

fn check(cond: Condition, cases: &[(&str, &str, &str, bool)]) {
    cond.validate().expect("valid condition");
    for (method, uri, host, want) in cases {
        let m = Method::from_bytes(method.as_bytes()).expect("method");
        let u: http::Uri = uri.parse().expect("uri");
        let mut headers = HeaderMap::new();
        headers.insert(
            "user-agent",
            HeaderValue::from_static("Mozilla/5.0 (X11) Chrome/120"),
        );
        let host = (!host.is_empty()).then_some(*host);
        assert_eq!(
            cond.matches(&view(&m, &u, host, &headers)),
            *want,
            "{cond:?} vs {method} {uri} host={host:?}"
        );
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Examples from the AWS ALB "Listener rules" documentation.
#[test]
fn path_pattern_table() {
    check(
        Condition::PathPattern(strs(&["/img/*", "/js/*"])),
        &[
            ("GET", "/img/logo.png", "", true),
            ("GET", "/js/app.js", "", true),
            ("GET", "/IMG/logo.png", "", false), // case-sensitive
            ("GET", "/css/x.css", "", false),
            ("GET", "/img/x?y=/js/", "", true),
            ("GET", "/other?path=/img/x", "", false), // never the query string
        ],
    );
    check(
        Condition::PathPattern(strs(&["/start"])),
        &[
            ("GET", "/start", "", true),
            ("GET", "/start/", "", false),
            ("GET", "/start?x=1", "", true),
        ],
    );
    check(
        Condition::PathPattern(strs(&["/ping?"])),
        &[("GET", "/pings", "", true), ("GET", "/ping", "", false)],
    );
}

#[test]
fn host_header_table() {
    check(
        Condition::HostHeader(strs(&["example.com", "*.example.com"])),
        &[
            ("GET", "/", "example.com", true),
            ("GET", "/", "EXAMPLE.COM", true), // case-insensitive
            ("GET", "/", "www.example.com", true),
            ("GET", "/", "example.org", false),
            ("GET", "/", "", false),
            ("GET", "http://www.example.com/x", "", false), // view host is given explicitly here
        ],
    );
    check(
        Condition::HostHeader(strs(&["?.example.com"])),
        &[
            ("GET", "/", "a.example.com", true),
            ("GET", "/", "ab.example.com", false),
        ],
    );
}

#[test]
fn method_table() {
    check(
        Condition::HttpRequestMethod(strs(&["GET", "HEAD"])),
        &[
            ("GET", "/", "", true),
            ("HEAD", "/", "", true),
            ("POST", "/", "", false),
            ("get", "/", "", false),
        ],
    );
    assert!(Condition::HttpRequestMethod(strs(&["get"]))
        .validate()
        .is_err());
    assert!(Condition::HttpRequestMethod(strs(&["G*"]))
        .validate()
        .is_err());
}

#[test]
fn query_string_table() {
    check(
        Condition::QueryString(vec![
            QueryStringPair {
                key: Some("version".into()),
                value: "v1".into(),
            },
            QueryStringPair {
                key: None,
                value: "*example*".into(),
            },
        ]),
        &[
            ("GET", "/?version=v1", "", true),
            ("GET", "/?a=1&VERSION=V1", "", true),
            ("GET", "/?version=v2", "", false),
            ("GET", "/?q=an-example-here", "", true),
            ("GET", "/", "", false),
            ("GET", "/example?x=y", "", false),
        ],
    );
}

#[test]
fn http_header_table() {
    check(
        Condition::HttpHeader {
            name: "User-Agent".into(),
            values: strs(&["*Chrome*", "*Safari*"]),
        },
        &[("GET", "/", "", true)],
    );
    check(
        Condition::HttpHeader {
            name: "User-Agent".into(),
            values: strs(&["*Firefox*"]),
        },
        &[("GET", "/", "", false)],
    );
}

#[test]
fn validation() {
    let six = strs(&["/a", "/b", "/c", "/d", "/e", "/f"]);
    assert!(matches!(
        Condition::PathPattern(six).validate(),
        Err(RuleError::ConditionValueCount { count: 6, .. })
    ));
    assert!(Condition::PathPattern(vec![]).validate().is_err());
    assert!(Condition::PathPattern(vec!["x".repeat(129)])
        .validate()
        .is_err());
    let rule = |priority| RuleConfig {
        priority,
        conditions: vec![Condition::PathPattern(strs(&["/"]))],
        action: Action::fixed_response(200, "ok"),
    };
    assert_eq!(rule(0).validate(), Err(RuleError::InvalidPriority(0)));
    assert_eq!(
        rule(50_001).validate(),
        Err(RuleError::InvalidPriority(50_001))
    );
    assert!(rule(1).validate().is_ok());
    assert!(rule(50_000).validate().is_ok());
    assert!(Action::fixed_response(302, "x").validate().is_err());
    assert!(Action::fixed_response(503, "x".repeat(1025))
        .validate()
        .is_err());
    assert_eq!(
        RuleConfig {
            conditions: vec![],
            ..rule(1)
        }
        .validate(),
        Err(RuleError::NoConditions)
    );
}

#[test]
fn table_orders_by_priority_and_falls_back_to_default() {
    let mut set = RuleSet::new(Action::fixed_response(404, "default")).expect("default");
    for (arn, prio, path) in [("r3", 30, "/*"), ("r1", 10, "/a"), ("r2", 20, "/a*")] {
        set.rules.insert(
            arn.into(),
            RuleConfig {
                priority: prio,
                conditions: vec![Condition::PathPattern(strs(&[path]))],
                action: Action::fixed_response(200, arn),
            },
        );
    }
    let table = set.compile(|_| None).expect("compile");
    assert_eq!(table.priorities(), vec![10, 20, 30]);
    let body_for = |uri: &str| {
        let u: http::Uri = uri.parse().expect("uri");
        let h = HeaderMap::new();
        match table.route(&view(&Method::GET, &u, None, &h)) {
            CompiledAction::Fixed { body, .. } => body.clone(),
            _ => Bytes::new(),
        }
    };
    assert_eq!(body_for("/a"), "r1");
    assert_eq!(body_for("/ab"), "r2");
    assert_eq!(body_for("/b"), "r3");
    set.rules.clear();
    let table = set.compile(|_| None).expect("compile");
    let u: http::Uri = "/a".parse().expect("uri");
    let h = HeaderMap::new();
    assert!(
        matches!(table.route(&view(&Method::GET, &u, None, &h)), CompiledAction::Fixed { status, .. } if *status == 404)
    );
    assert_eq!(set.check_priority_free(10, ""), Ok(()));
    // Unknown target groups are refused at compile time.
    set.default_action = Action::forward("missing");
    assert!(
        matches!(set.compile(|_| None), Err(RuleError::TargetGroupNotFound(a)) if a == "missing")
    );
}

#[test]
fn redirect_placeholders() {
    let u: http::Uri = "/old/page?x=1".parse().expect("uri");
    let h = HeaderMap::new();
    let v = view(&Method::GET, &u, Some("example.com"), &h);
    let mut r = RedirectConfig {
        protocol: None,
        host: None,
        port: None,
        path: None,
        query: None,
        status_code: RedirectStatus::Http301,
    };
    assert_eq!(
        redirect_location(&r, &v, 8080),
        "http://example.com:8080/old/page?x=1"
    );
    r.protocol = Some("HTTPS".into());
    r.port = Some("443".into());
    r.path = Some("/new/#{path}".into());
    r.query = Some("from=#{host}".into());
    assert_eq!(
        redirect_location(&r, &v, 8080),
        "https://example.com/new/old/page?from=example.com"
    );
}

#[test]
fn host_port_is_stripped() {
    assert_eq!(strip_port("example.com:8080"), "example.com");
    assert_eq!(strip_port("example.com"), "example.com");
    assert_eq!(strip_port("[::1]:80"), "[::1]");
}
