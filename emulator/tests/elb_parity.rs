//! ELBv2 parity with AWS over the Query API, in memory (fake container
//! runtime, no Docker): load balancer and listener attributes (the idle
//! timeout applied, deletion protection), tags and their limits, subnets,
//! security groups and IP address type, account limits, pagination,
//! idempotent creates, rule limits and request ids.

mod common;

use std::time::Duration;

const NS: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
const BASE: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000";
const VE: &str = "ValidationError";
const ICR: &str = "InvalidConfigurationRequest";

/// A Query form: `Action=...`, then parameters, every value encoded.
struct Form(String);

fn form(action: &str) -> Form {
    Form(format!("Action={action}"))
}

impl Form {
    fn p(mut self, key: &str, value: &str) -> Form {
        let pair = serde_urlencoded::to_string([(key, value)]).unwrap();
        self.0.push('&');
        self.0.push_str(&pair);
        self
    }
    /// `prefix.member.N`.
    fn list(mut self, prefix: &str, items: &[&str]) -> Form {
        for (i, v) in items.iter().enumerate() {
            self = self.p(&format!("{prefix}.member.{}", i + 1), v);
        }
        self
    }
    /// `prefix.member.N.Key` / `.Value`.
    fn kv(mut self, prefix: &str, items: &[(&str, &str)]) -> Form {
        for (i, (k, v)) in items.iter().enumerate() {
            self = self
                .p(&format!("{prefix}.member.{}.Key", i + 1), k)
                .p(&format!("{prefix}.member.{}.Value", i + 1), v);
        }
        self
    }
    /// A raw, already encoded tail.
    fn raw(mut self, tail: &str) -> Form {
        self.0.push_str(tail);
        self
    }
}

impl AsRef<str> for Form {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

struct Api {
    running: Option<emulator::Running>,
    ep: String,
    _dir: tempfile::TempDir,
}

async fn start() -> Api {
    let (running, ep, dir) = common::in_process(|c| {
        common::free_listeners(c);
        c.resync = Duration::from_millis(100);
    })
    .await;
    Api {
        running: Some(running),
        ep,
        _dir: dir,
    }
}

impl Api {
    async fn send(&self, form: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/", self.ep))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", common::AUTH)
            .body(format!("Version=2015-12-01&{form}"))
            .send()
            .await
            .unwrap()
    }

    async fn ok(&self, form: impl AsRef<str>) -> String {
        let form = form.as_ref();
        let resp = self.send(form).await;
        let (s, body) = (resp.status().as_u16(), resp.text().await.unwrap());
        assert_eq!(s, 200, "{form}: {body}");
        let action = &form["Action=".len()..form.find('&').unwrap_or(form.len())];
        let head = format!("<{action}Response xmlns=\"{NS}\"><{action}Result>");
        assert!(body.starts_with(&head), "{body}");
        body
    }

    /// Asserts the error code; answers the message (unescaped).
    async fn err(&self, form: impl AsRef<str>, code: &str) -> String {
        let form = form.as_ref();
        let resp = self.send(form).await;
        let (s, body) = (resp.status().as_u16(), resp.text().await.unwrap());
        assert_eq!(s, 400, "{form}: {body}");
        let head = format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>"
        );
        assert!(body.starts_with(&head), "{form}: wanted {code}, got {body}");
        between(&body, "Message").replace("&apos;", "'")
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop(Duration::from_secs(5)).await;
        }
    }

    async fn target_group(&self, name: &str, extra: &str) -> String {
        let f = form("CreateTargetGroup").p("Name", name).p("Port", "80");
        between(&self.ok(f.raw(extra)).await, "TargetGroupArn").to_string()
    }

    async fn load_balancer(&self, name: &str, extra: &str) -> String {
        let f = form("CreateLoadBalancer").p("Name", name).raw(extra);
        between(&self.ok(f).await, "LoadBalancerArn").to_string()
    }

    async fn listener(&self, lb: &str, port: u16, tg: &str, extra: &str) -> String {
        let f = form("CreateListener")
            .p("LoadBalancerArn", lb)
            .p("Port", &port.to_string())
            .p("DefaultActions.member.1.Type", "forward")
            .p("DefaultActions.member.1.TargetGroupArn", tg);
        between(&self.ok(f.raw(extra)).await, "ListenerArn").to_string()
    }

    fn rule_form(listener: &str, priority: u32, tg: &str) -> Form {
        form("CreateRule")
            .p("ListenerArn", listener)
            .p("Priority", &priority.to_string())
            .p("Conditions.member.1.Field", "path-pattern")
            .p("Actions.member.1.Type", "forward")
            .p("Actions.member.1.TargetGroupArn", tg)
    }

    async fn rule(&self, listener: &str, priority: u32, tg: &str, extra: &str) -> String {
        let f = Api::rule_form(listener, priority, tg).p(
            "Conditions.member.1.Values.member.1",
            &format!("/p{priority}"),
        );
        between(&self.ok(f.raw(extra)).await, "RuleArn").to_string()
    }

    async fn listener_addr(&self, arn: &str) -> String {
        let url = format!("{}/_emulator/listeners", self.ep);
        let v: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        v[arn].as_str().expect("listener bound").to_string()
    }
}

fn between<'a>(text: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {text}"))
        + open.len();
    let end = text[start..].find(&format!("</{tag}>")).unwrap() + start;
    &text[start..end]
}

/// Every `<tag>value</tag>` in order.
fn all(text: &str, tag: &str) -> Vec<String> {
    let close = format!("</{tag}>");
    text.split(&format!("<{tag}>"))
        .skip(1)
        .map(|s| s[..s.find(&close).unwrap()].to_string())
        .collect()
}

/// The value of one key of an Attributes answer.
fn attribute(body: &str, key: &str) -> String {
    let at = format!("<Key>{key}</Key><Value>");
    let start = body
        .find(&at)
        .unwrap_or_else(|| panic!("no {key} in {body}"))
        + at.len();
    body[start..start + body[start..].find("</Value>").unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn load_balancer_attributes_apply_idle_timeout_and_deletion_protection() {
    let api = start().await;
    let lb = api.load_balancer("attrs", "").await;
    let describe = form("DescribeLoadBalancerAttributes").p("LoadBalancerArn", &lb);
    let b = api.ok(&describe).await;
    for (k, v) in [
        ("idle_timeout.timeout_seconds", "60"),
        ("deletion_protection.enabled", "false"),
        ("routing.http2.enabled", "true"),
        ("access_logs.s3.enabled", "false"),
        ("access_logs.s3.bucket", ""),
        ("client_keep_alive.seconds", "3600"),
        ("routing.http.desync_mitigation_mode", "defensive"),
        ("routing.http.xff_header_processing.mode", "append"),
        ("load_balancing.cross_zone.enabled", "true"),
        ("ipv6.deny_all_igw_traffic", "false"),
    ] {
        assert_eq!(attribute(&b, k), v, "{k}");
    }
    let modify = |attrs: &[(&str, &str)]| {
        form("ModifyLoadBalancerAttributes")
            .p("LoadBalancerArn", &lb)
            .kv("Attributes", attrs)
    };
    let b = api
        .ok(modify(&[
            ("idle_timeout.timeout_seconds", "1"),
            ("deletion_protection.enabled", "true"),
            ("access_logs.s3.bucket", "logs"),
            ("access_logs.s3.enabled", "true"),
            ("routing.http2.enabled", "false"),
        ]))
        .await;
    assert_eq!(attribute(&b, "idle_timeout.timeout_seconds"), "1");
    let b = api.ok(&describe).await;
    assert_eq!(attribute(&b, "deletion_protection.enabled"), "true");
    assert_eq!(attribute(&b, "access_logs.s3.enabled"), "true");
    assert_eq!(attribute(&b, "access_logs.s3.bucket"), "logs");
    assert_eq!(attribute(&b, "routing.http2.enabled"), "false");

    // The idle timeout reaches the balancer: an idle keep-alive
    // connection is closed after a second (not 60).
    let f = form("CreateListener")
        .p("LoadBalancerArn", &lb)
        .p("Port", "8300")
        .p("DefaultActions.member.1.Type", "fixed-response")
        .raw("&DefaultActions.member.1.FixedResponseConfig.StatusCode=200");
    let listener = between(&api.ok(f).await, "ListenerArn").to_string();
    let addr = api.listener_addr(&listener).await;
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        c.write_all(get).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = c.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(1..) = c.read(&mut buf).await {}
        })
        .await;
        assert!(closed.is_ok(), "the idle connection was not closed");
    }

    // Deletion protection refuses DeleteLoadBalancer until turned off.
    let delete = form("DeleteLoadBalancer").p("LoadBalancerArn", &lb);
    let m = api.err(&delete, "OperationNotPermitted").await;
    assert!(m.contains("deletion protection"), "{m}");
    let off = modify(&[("deletion_protection.enabled", "false")]);
    api.ok(form("DescribeLoadBalancers").p("LoadBalancerArns.member.1", &lb))
        .await;
    api.ok(off).await;
    api.ok(&delete).await;

    let lb = api.load_balancer("attrs2", "&Scheme=internal").await;
    let describe = form("DescribeLoadBalancerAttributes").p("LoadBalancerArn", &lb);
    let b = api.ok(&describe).await;
    assert_eq!(attribute(&b, "ipv6.deny_all_igw_traffic"), "true");
    let modify = |attrs: &[(&str, &str)]| {
        form("ModifyLoadBalancerAttributes")
            .p("LoadBalancerArn", &lb)
            .kv("Attributes", attrs)
    };
    for (k, v, code) in [
        ("idle_timeout.timeout_seconds", "0", VE),
        ("idle_timeout.timeout_seconds", "4001", VE),
        ("client_keep_alive.seconds", "59", VE),
        ("deletion_protection.enabled", "yes", VE),
        ("routing.http.desync_mitigation_mode", "lax", VE),
        ("no.such.key", "1", VE),
        // AWS: "ValidationError: The value of 'access_logs.s3.bucket'
        // cannot be empty".
        ("access_logs.s3.enabled", "true", VE),
        ("load_balancing.cross_zone.enabled", "false", ICR),
    ] {
        api.err(modify(&[(k, v)]), code).await;
    }
    api.err(modify(&[]), VE).await;
    let many: Vec<(&str, &str)> = vec![("routing.http2.enabled", "true"); 21];
    api.err(modify(&many), VE).await;
    let missing = format!("{BASE}:loadbalancer/app/x/1");
    let f = form("DescribeLoadBalancerAttributes").p("LoadBalancerArn", &missing);
    api.err(f, "LoadBalancerNotFound").await;
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listener_attributes_are_stored_with_aws_keys() {
    let api = start().await;
    let tg = api.target_group("la", "").await;
    let lb = api.load_balancer("la", "").await;
    let l = api.listener(&lb, 8310, &tg, "").await;
    let describe = form("DescribeListenerAttributes").p("ListenerArn", &l);
    let b = api.ok(&describe).await;
    let server = "routing.http.response.server.enabled";
    let header = |h: &str| format!("routing.http.response.{h}.header_value");
    assert_eq!(attribute(&b, server), "true");
    assert_eq!(attribute(&b, &header("strict_transport_security")), "");
    let modify = |attrs: &[(&str, &str)]| {
        form("ModifyListenerAttributes")
            .p("ListenerArn", &l)
            .kv("Attributes", attrs)
    };
    let frame = header("x_frame_options");
    let methods = header("access_control_allow_methods");
    let change = modify(&[(server, "false"), (&frame, "DENY"), (&methods, "GET,POST")]);
    let b = api.ok(change).await;
    assert_eq!(attribute(&b, server), "false");
    let b = api.ok(&describe).await;
    assert_eq!(attribute(&b, &frame), "DENY");
    assert_eq!(attribute(&b, &methods), "GET,POST");
    for (k, v, code) in [
        (server, "maybe", VE),
        (&frame, "NEVER", VE),
        (&methods, "GET,FETCH", VE),
        (&header("access_control_max_age"), "-1", VE),
        ("no.such.key", "1", VE),
        ("tcp.idle_timeout.seconds", "60", ICR),
        (
            "routing.http.request.x_amzn_tls_version.header_name",
            "x-tls",
            ICR,
        ),
    ] {
        api.err(modify(&[(k, v)]), code).await;
    }
    let missing = format!("{BASE}:listener/app/x/1/2");
    let f = form("DescribeListenerAttributes").p("ListenerArn", &missing);
    api.err(f, "ListenerNotFound").await;
    api.stop().await;
}

fn describe_tags(arns: &[&str]) -> Form {
    form("DescribeTags").list("ResourceArns", arns)
}

fn add_tags(arns: &[&str], tags: &[(&str, &str)]) -> Form {
    form("AddTags").list("ResourceArns", arns).kv("Tags", tags)
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_round_trip_on_every_resource_with_aws_limits() {
    let api = start().await;
    let tags = |t: &[(&str, &str)]| form("").kv("Tags", t).0["Action=".len()..].to_string();
    let tg_tags = tags(&[("team", "web"), ("empty", "")]);
    let tg = api.target_group("tags", &tg_tags).await;
    let lb = api.load_balancer("tags", &tags(&[("env", "prod")])).await;
    let l_tags = tags(&[("kind", "listener")]);
    let l = api.listener(&lb, 8320, &tg, &l_tags).await;
    let r = api.rule(&l, 1, &tg, &tags(&[("kind", "rule")])).await;
    let b = api.ok(describe_tags(&[&tg, &lb, &l, &r])).await;
    let arns = [&tg, &lb, &l, &r].map(String::clone);
    assert_eq!(all(&b, "ResourceArn"), arns);
    assert!(
        b.contains(&format!("<member><ResourceArn>{tg}</ResourceArn><Tags><member><Key>empty</Key><Value></Value></member><member><Key>team</Key><Value>web</Value></member></Tags></member>")),
        "{b}"
    );
    for kv in ["env</Key><Value>prod", "kind</Key><Value>listener"] {
        assert!(b.contains(&format!("<Key>{kv}</Value>")), "{b}");
    }
    assert!(b.contains("<Key>kind</Key><Value>rule</Value>"), "{b}");

    // AddTags overwrites and adds, on several resources at once.
    let more = [("team", "api"), ("cost centre", "42")];
    api.ok(add_tags(&[&tg, &lb], &more)).await;
    let b = api.ok(describe_tags(&[&tg])).await;
    assert_eq!(all(&b, "Key"), ["cost centre", "empty", "team"]);
    assert_eq!(all(&b, "Value"), ["42", "", "api"]);
    let b = api.ok(describe_tags(&[&lb])).await;
    assert_eq!(all(&b, "Key"), ["cost centre", "env", "team"]);
    let f = form("RemoveTags")
        .list("ResourceArns", &[&tg])
        .list("TagKeys", &["team", "absent"]);
    api.ok(f).await;
    let b = api.ok(describe_tags(&[&tg])).await;
    assert_eq!(all(&b, "Key"), ["cost centre", "empty"]);
    // A listener's default rule can be tagged too.
    let b = api.ok(form("DescribeRules").p("ListenerArn", &l)).await;
    let default_rule = all(&b, "RuleArn").pop().unwrap();
    api.ok(add_tags(&[&default_rule], &[("d", "")])).await;

    // Unknown resources: each kind's NotFound, for every tag call.
    for (arn, code) in [
        ("loadbalancer/app/x/1", "LoadBalancerNotFound"),
        ("targetgroup/x/1", "TargetGroupNotFound"),
        ("listener/app/x/1/2", "ListenerNotFound"),
        ("listener-rule/app/x/1/2/3", "RuleNotFound"),
    ] {
        let arn = format!("{BASE}:{arn}");
        api.err(describe_tags(&[&tg, &arn]), code).await;
        api.err(add_tags(&[&arn], &[("k", "")]), code).await;
        let f = form("RemoveTags")
            .list("ResourceArns", &[&arn])
            .list("TagKeys", &["k"]);
        api.err(f, code).await;
    }
    for arns in [&["nope"][..], &[], &[tg.as_str(); 21]] {
        api.err(describe_tags(arns), VE).await;
    }

    // 50 tags per resource: the group has 2, so 48 more fill it.
    let keys: Vec<String> = (0..49).map(|i| format!("k{i}")).collect();
    let many =
        |n: usize| -> Vec<(&str, &str)> { keys[..n].iter().map(|k| (k.as_str(), "v")).collect() };
    api.err(add_tags(&[&tg], &many(49)), "TooManyTags").await;
    api.ok(add_tags(&[&tg], &many(48))).await;
    api.ok(add_tags(&[&tg], &many(48))).await; // overwriting adds none
    let one_more = add_tags(&[&tg], &[("more", "")]);
    api.err(one_more, "TooManyTags").await;
    assert_eq!(all(&api.ok(describe_tags(&[&tg])).await, "Key").len(), 50);
    // Keys 1-128 and values 0-256 characters, no key twice, no `aws:`.
    let (k128, v256) = ("k".repeat(128), "v".repeat(256));
    api.ok(add_tags(&[&lb], &[(&k128, &v256)])).await;
    let dup: &[(&str, &str)] = &[("a", "1"), ("a", "2")];
    api.err(add_tags(&[&lb], dup), "DuplicateTagKeys").await;
    for bad in [
        [(format!("{k128}k"), "v".to_string())],
        [("k".into(), format!("{v256}v"))],
        [("".into(), "v".into())],
        [("aws:x".into(), "v".into())],
        [("a<b".into(), "v".into())],
    ] {
        let t: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        api.err(add_tags(&[&lb], &t), VE).await;
    }
    api.err(add_tags(&[&lb], &[]), VE).await;
    // A create with bad tags creates nothing.
    let mut over = many(49);
    over.extend([("x", ""), ("y", "")]);
    for (name, tags, code) in [
        ("over", &over[..], "TooManyTags"),
        // CreateTargetGroup does not declare DuplicateTagKeys.
        ("dup", dup, VE),
    ] {
        let f = form("CreateTargetGroup").p("Name", name).p("Port", "80");
        api.err(f.kv("Tags", tags), code).await;
    }
    for name in ["over", "dup"] {
        let f = form("DescribeTargetGroups").list("Names", &[name]);
        api.err(f, "TargetGroupNotFound").await;
    }
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subnets_security_groups_and_ip_address_type_are_kept() {
    let api = start().await;
    let extra = form("")
        .list("Subnets", &["subnet-aaa", "subnet-bbb"])
        .list("SecurityGroups", &["sg-1"])
        .p("IpAddressType", "dualstack");
    let lb = api.load_balancer("net", &extra.0["Action=".len()..]).await;
    let describe = form("DescribeLoadBalancers").list("LoadBalancerArns", &[&lb]);
    let b = api.ok(&describe).await;
    assert!(b.contains("<AvailabilityZones><member><ZoneName>us-east-1a</ZoneName><SubnetId>subnet-aaa</SubnetId><LoadBalancerAddresses/></member><member><ZoneName>us-east-1b</ZoneName><SubnetId>subnet-bbb</SubnetId>"), "{b}");
    let sg1 = "<SecurityGroups><member>sg-1</member></SecurityGroups>";
    assert!(b.contains(sg1), "{b}");
    assert_eq!(between(&b, "IpAddressType"), "dualstack");

    let set_subnets = |s: &[&str]| {
        form("SetSubnets")
            .p("LoadBalancerArn", &lb)
            .list("Subnets", s)
    };
    let subnets = ["subnet-ccc", "subnet-ddd", "subnet-eee"];
    let b = api.ok(set_subnets(&subnets)).await;
    let zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
    assert_eq!(all(&b, "ZoneName"), zones);
    assert_eq!(between(&b, "IpAddressType"), "dualstack");
    let set_groups = |g: &[&str]| {
        form("SetSecurityGroups")
            .p("LoadBalancerArn", &lb)
            .list("SecurityGroups", g)
    };
    let b = api.ok(set_groups(&["sg-2", "sg-3"])).await;
    let groups = "<member>sg-2</member><member>sg-3</member>";
    let ids = format!("<SecurityGroupIds>{groups}</SecurityGroupIds>");
    assert!(b.contains(&ids), "{b}");
    let set_type = |t: &str| {
        form("SetIpAddressType")
            .p("LoadBalancerArn", &lb)
            .p("IpAddressType", t)
    };
    let b = api.ok(set_type("ipv4")).await;
    assert_eq!(between(&b, "IpAddressType"), "ipv4");
    let b = api.ok(&describe).await;
    assert_eq!(all(&b, "SubnetId"), subnets);
    let sgs = format!("<SecurityGroups>{groups}</SecurityGroups>");
    assert!(b.contains(&sgs), "{b}");
    assert_eq!(between(&b, "IpAddressType"), "ipv4");
    // SubnetMappings work as Subnets.
    let f = form("SetSubnets")
        .p("LoadBalancerArn", &lb)
        .p("SubnetMappings.member.1.SubnetId", "subnet-x")
        .p("SubnetMappings.member.2.SubnetId", "subnet-y");
    assert_eq!(all(&api.ok(f).await, "SubnetId"), ["subnet-x", "subnet-y"]);

    let one = form("CreateLoadBalancer").p("Name", "one");
    for (f, code) in [
        (set_subnets(&["subnet-1"]), VE),
        (set_subnets(&["subnet-1", "subnet-1"]), VE),
        (set_subnets(&["net-1", "subnet-2"]), "InvalidSubnet"),
        (set_groups(&["group"]), "InvalidSecurityGroup"),
        (set_groups(&[]), VE),
        (set_type("ipv6"), VE),
        (one.list("Subnets", &["subnet-1"]), VE),
    ] {
        api.err(f, code).await;
    }
    let missing = format!("{BASE}:loadbalancer/app/x/1");
    let f = form("SetIpAddressType")
        .p("LoadBalancerArn", &missing)
        .p("IpAddressType", "ipv4");
    api.err(f, "LoadBalancerNotFound").await;
    api.stop().await;
}

/// Pages through a Describe call; the values of `tag` per page.
async fn pages(api: &Api, form: &str, size: u32, tag: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut f = Form(format!("{form}&PageSize={size}"));
        if let Some(m) = &marker {
            f = f.p("Marker", m);
        }
        let b = api.ok(f).await;
        out.push(all(&b, tag));
        if !b.contains("<NextMarker>") {
            return out;
        }
        marker = Some(between(&b, "NextMarker").to_string());
        assert!(out.len() < 100, "no end");
    }
}

fn sizes(pages: &[Vec<String>]) -> Vec<usize> {
    pages.iter().map(Vec::len).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn account_limits_are_aws_defaults_and_page() {
    let api = start().await;
    let b = api.ok("Action=DescribeAccountLimits").await;
    let names = all(&b, "Name");
    assert_eq!(names.len(), 18, "{b}");
    for (name, max) in [
        ("application-load-balancers", "50"),
        ("target-groups", "3000"),
        ("listeners-per-application-load-balancer", "50"),
        ("rules-per-application-load-balancer", "100"),
        ("condition-values-per-alb-rule", "5"),
        ("targets-per-application-load-balancer", "1000"),
    ] {
        let limit = format!("<Name>{name}</Name><Max>{max}</Max>");
        assert!(b.contains(&limit), "{name}: {b}");
    }
    let p = pages(&api, "Action=DescribeAccountLimits", 5, "Name").await;
    assert_eq!(sizes(&p), [5, 5, 5, 3]);
    assert_eq!(p.concat(), names);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_calls_page_with_markers() {
    let api = start().await;
    let mut tgs = Vec::new();
    for i in 0..7 {
        tgs.push(api.target_group(&format!("page-{i}"), "").await);
    }
    let p = pages(&api, "Action=DescribeTargetGroups", 3, "TargetGroupArn").await;
    assert_eq!(sizes(&p), [3, 3, 1], "{p:?}");
    let mut seen: Vec<String> = p.concat();
    seen.sort();
    let mut want = tgs.clone();
    want.sort();
    assert_eq!(seen, want, "every group once");
    // Exactly one page: no NextMarker.
    let b = api.ok("Action=DescribeTargetGroups&PageSize=7").await;
    assert!(!b.contains("NextMarker"), "{b}");
    let b = api.ok("Action=DescribeTargetGroups").await;
    assert_eq!(all(&b, "TargetGroupArn").len(), 7);
    let b = api.ok("Action=DescribeTargetGroups&PageSize=400").await;
    assert_eq!(all(&b, "TargetGroupArn").len(), 7);
    // Names asked for page in the order asked.
    let names = form("DescribeTargetGroups").list("Names", &["page-6", "page-0", "page-3"]);
    let p = pages(&api, &names.0, 2, "TargetGroupName").await;
    assert_eq!(p, [vec!["page-6", "page-0"], vec!["page-3"]]);

    for f in [
        "Action=DescribeTargetGroups&PageSize=0",
        "Action=DescribeTargetGroups&PageSize=401",
        "Action=DescribeLoadBalancers&PageSize=-1",
        "Action=DescribeAccountLimits&PageSize=1000",
    ] {
        api.err(f, VE).await;
    }
    for f in [
        "Action=DescribeTargetGroups&Marker=not-a-marker",
        "Action=DescribeLoadBalancers&Marker=%2A%2A%2A",
        "Action=DescribeAccountLimits&Marker=",
    ] {
        let m = api.err(f, VE).await;
        assert!(m.contains("Invalid Marker"), "{m}");
    }

    // Load balancers, listeners and rules page the same way.
    let mut lbs = Vec::new();
    for i in 0..3 {
        lbs.push(api.load_balancer(&format!("page-{i}"), "").await);
    }
    let p = pages(&api, "Action=DescribeLoadBalancers", 2, "LoadBalancerArn").await;
    assert_eq!(sizes(&p), [2, 1]);
    let mut ls = Vec::new();
    for port in [8401, 8402, 8403] {
        ls.push(api.listener(&lbs[0], port, &tgs[0], "").await);
    }
    let f = form("DescribeListeners").p("LoadBalancerArn", &lbs[0]);
    let p = pages(&api, &f.0, 2, "ListenerArn").await;
    assert_eq!(sizes(&p), [2, 1]);
    let mut got: Vec<String> = p.concat();
    got.sort();
    ls.sort();
    assert_eq!(got, ls);
    for priority in [40, 10, 30, 20] {
        api.rule(&ls[0], priority, &tgs[1], "").await;
    }
    let f = form("DescribeRules").p("ListenerArn", &ls[0]);
    let p = pages(&api, &f.0, 2, "Priority").await;
    assert_eq!(p, [vec!["10", "20"], vec!["30", "40"], vec!["default"]]);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_are_idempotent_with_the_same_settings() {
    let api = start().await;
    let tg = |port: &str, kind: &str, path: Option<&str>| {
        let f = form("CreateTargetGroup")
            .p("Name", "same")
            .p("Protocol", "HTTP")
            .p("Port", port)
            .p("VpcId", "vpc-1")
            .p("TargetType", kind);
        match path {
            Some(p) => f.p("HealthCheckPath", p),
            None => f,
        }
    };
    let arn = |b: String| between(&b, "TargetGroupArn").to_string();
    let a = arn(api.ok(tg("8080", "ip", Some("/health"))).await);
    assert_eq!(a, arn(api.ok(tg("8080", "ip", Some("/health"))).await));
    for other in [
        tg("8081", "ip", Some("/health")),
        tg("8080", "instance", Some("/health")),
        tg("8080", "ip", None),
        form("CreateTargetGroup")
            .p("Name", "same")
            .p("Port", "8080"),
    ] {
        api.err(other, "DuplicateTargetGroupName").await;
    }
    let b = api.ok("Action=DescribeTargetGroups").await;
    assert_eq!(all(&b, "TargetGroupArn"), [a]);

    // Subnets 1 and 2 and group sg-1, then `extra`.
    let lb = |subnets: &str, extra: &str| {
        let f = form("CreateLoadBalancer").p("Name", "same").raw(subnets);
        f.raw(extra)
    };
    let (s12, s21, sg) = (
        "&Subnets.member.1=subnet-1&Subnets.member.2=subnet-2",
        "&Subnets.member.1=subnet-2&Subnets.member.2=subnet-1",
        "&SecurityGroups.member.1=sg-1",
    );
    let x = api.ok(lb(s12, sg)).await;
    let x = between(&x, "LoadBalancerArn").to_string();
    // The same subnets in another order, defaults spelt out: the same.
    let defaults = "&Scheme=internet-facing&Type=application&IpAddressType=ipv4";
    let y = api.ok(lb(s21, &format!("{sg}{defaults}"))).await;
    assert_eq!(x, between(&y, "LoadBalancerArn"));
    for other in [
        lb(s12, &format!("{sg}&Scheme=internal")),
        lb(s12, &format!("{sg}&IpAddressType=dualstack")),
        lb(&s12.replace("subnet-2", "subnet-3"), sg),
        lb(s12, ""),
    ] {
        api.err(other, "DuplicateLoadBalancerName").await;
    }
    let b = api.ok("Action=DescribeLoadBalancers").await;
    assert_eq!(all(&b, "LoadBalancerArn"), [x]);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rule_limits_are_aws_quotas() {
    let api = start().await;
    let tg = api.target_group("rules", "").await;
    let lb = api.load_balancer("rules", "").await;
    let l1 = api.listener(&lb, 8501, &tg, "").await;
    let l2 = api.listener(&lb, 8502, &tg, "").await;
    // 100 rules per load balancer, over all its listeners.
    for p in 1..=60 {
        api.rule(&l1, p, &tg, "").await;
    }
    for p in 1..=40 {
        api.rule(&l2, p, &tg, "").await;
    }
    let f = Api::rule_form(&l1, 101, &tg).p("Conditions.member.1.Values.member.1", "/x");
    let m = api.err(f, "TooManyRules").await;
    assert!(m.contains("100"), "{m}");
    let f = form("DescribeRules").p("ListenerArn", &l1);
    let rules = api.ok(f).await;
    let rules = all(&rules, "RuleArn");
    assert_eq!(rules.len(), 61, "60 rules and the default");
    // Deleting one makes room.
    api.ok(form("DeleteRule").p("RuleArn", &rules[0])).await;
    api.rule(&l2, 41, &tg, "").await;

    // 5 condition values and 5 wildcards per rule, over all conditions.
    let lb2 = api.load_balancer("rules2", "").await;
    let l3 = api.listener(&lb2, 8503, &tg, "").await;
    let paths = ["/v1", "/v2", "/v3", "/v4", "/v5", "/v6"];
    let create =
        |n: usize| Api::rule_form(&l3, 1, &tg).list("Conditions.member.1.Values", &paths[..n]);
    let m = api.err(create(6), VE).await;
    assert_eq!(m, "A rule can only have '5' condition values");
    let host = create(5)
        .p("Conditions.member.2.Field", "host-header")
        .p("Conditions.member.2.Values.member.1", "a.example");
    api.err(host, VE).await;
    let wild = Api::rule_form(&l3, 1, &tg).p("Conditions.member.1.Values.member.1", "/***/***");
    api.err(wild, VE).await;
    let rule = between(&api.ok(create(5)).await, "RuleArn").to_string();
    let f = form("ModifyRule")
        .p("RuleArn", &rule)
        .p("Conditions.member.1.Field", "path-pattern")
        .list("Conditions.member.1.Values", &paths);
    api.err(f, VE).await;
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_its_request_id_in_the_header_and_the_xml() {
    let api = start().await;
    let id_of =
        |r: &reqwest::Response| r.headers()["x-amzn-RequestId"].to_str().unwrap().to_owned();
    let resp = api.send("Action=DescribeLoadBalancers").await;
    assert_eq!(resp.status().as_u16(), 200);
    let id = id_of(&resp);
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().to_string(), id);
    let body = resp.text().await.unwrap();
    let tail = format!("<ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>");
    assert!(body.ends_with(&tail), "{body}");
    let resp = api.send("Action=DescribeTags").await;
    assert_eq!(resp.status().as_u16(), 400);
    let id2 = id_of(&resp);
    assert_ne!(id, id2);
    let body = resp.text().await.unwrap();
    let tail = format!("<RequestId>{id2}</RequestId></ErrorResponse>");
    assert!(body.ends_with(&tail), "{body}");
    api.stop().await;
}
