//! The `AWS/ApplicationELB` metrics per load balancer and target group, and
//! their Prometheus text rendering.
//!
//! Every counter is a relaxed atomic bumped on the request path; nothing is
//! allocated or locked per request. The text follows Prometheus's naming
//! conventions, so a Prometheus or Grafana a user already runs can scrape
//! it: a `aws_applicationelb_` prefix, snake_case, `_total` counters, units
//! in names (`_seconds`), AWS's dimensions as snake_case labels
//! (`load_balancer`, `target_group`, `target`); each family's HELP names
//! the CloudWatch metric it stands for (`RequestCount`,
//! `HTTPCode_Target_2XX_Count`, ...). [`crate::Alb::render_prometheus`]
//! produces the text the emulator serves on `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use http::StatusCode;

/// The prefix of every family (CloudWatch's namespace `AWS/ApplicationELB`).
const PREFIX: &str = "aws_applicationelb_";

/// Upper bounds (seconds) of the `TargetResponseTime` histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

fn add(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// `HTTPCode_*_{2,3,4,5}XX_Count`.
#[derive(Default, Debug)]
pub(crate) struct CodeCounters([AtomicU64; 4]);

impl CodeCounters {
    pub(crate) fn record(&self, status: StatusCode) {
        if let Some(c) = (status.as_u16() / 100)
            .checked_sub(2)
            .and_then(|i| self.0.get(usize::from(i)))
        {
            add(c);
        }
    }

    fn get(&self, class: usize) -> u64 {
        self.0
            .get(class - 2)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

/// `TargetResponseTime` as a histogram.
#[derive(Default, Debug)]
pub(crate) struct ResponseTime {
    buckets: [AtomicU64; BUCKETS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl ResponseTime {
    pub(crate) fn record(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            if let Some(b) = self.buckets.get(i) {
                add(b);
            }
        }
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        add(&self.count);
    }
}

/// Counters of one load balancer.
#[derive(Default, Debug)]
pub(crate) struct LoadBalancerMetrics {
    pub requests: AtomicU64,
    pub target_codes: CodeCounters,
    pub elb_codes: CodeCounters,
    pub elb_502: AtomicU64,
    pub elb_503: AtomicU64,
    pub elb_504: AtomicU64,
    pub fixed_responses: AtomicU64,
    pub redirects: AtomicU64,
    pub target_connection_errors: AtomicU64,
    pub response_time: ResponseTime,
    pub active_connections: AtomicI64,
    pub new_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
}

impl LoadBalancerMetrics {
    pub(crate) fn elb_response(&self, status: StatusCode) {
        self.elb_codes.record(status);
        match status.as_u16() {
            502 => add(&self.elb_502),
            503 => add(&self.elb_503),
            504 => add(&self.elb_504),
            _ => {}
        }
    }
}

/// Counters of one target group.
#[derive(Default, Debug)]
pub(crate) struct TargetGroupMetrics {
    pub requests: AtomicU64,
    pub target_codes: CodeCounters,
    pub response_time: ResponseTime,
}

/// A point-in-time copy of a load balancer's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadBalancerCounts {
    pub request_count: u64,
    pub http_code_target_2xx: u64,
    pub http_code_target_3xx: u64,
    pub http_code_target_4xx: u64,
    pub http_code_target_5xx: u64,
    pub http_code_elb_4xx: u64,
    pub http_code_elb_5xx: u64,
    pub http_code_elb_502: u64,
    pub http_code_elb_503: u64,
    pub http_code_elb_504: u64,
    pub active_connection_count: i64,
    pub rejected_connection_count: u64,
    pub target_connection_error_count: u64,
}

impl LoadBalancerMetrics {
    pub(crate) fn snapshot(&self) -> LoadBalancerCounts {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        LoadBalancerCounts {
            request_count: l(&self.requests),
            http_code_target_2xx: self.target_codes.get(2),
            http_code_target_3xx: self.target_codes.get(3),
            http_code_target_4xx: self.target_codes.get(4),
            http_code_target_5xx: self.target_codes.get(5),
            http_code_elb_4xx: self.elb_codes.get(4),
            http_code_elb_5xx: self.elb_codes.get(5),
            http_code_elb_502: l(&self.elb_502),
            http_code_elb_503: l(&self.elb_503),
            http_code_elb_504: l(&self.elb_504),
            active_connection_count: self.active_connections.load(Ordering::Relaxed),
            rejected_connection_count: l(&self.rejected_connections),
            target_connection_error_count: l(&self.target_connection_errors),
        }
    }
}

/// Everything the renderer needs about one target group.
pub(crate) struct TargetGroupSample<'a> {
    pub arn: &'a str,
    pub metrics: &'a TargetGroupMetrics,
    pub healthy: u64,
    pub unhealthy: u64,
    /// `(target "id:port", requests)`.
    pub per_target: Vec<(String, u64)>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Render Prometheus text exposition format (version 0.0.4).
pub(crate) fn render(
    lbs: &[(&str, &LoadBalancerMetrics)],
    tgs: &[TargetGroupSample<'_>],
) -> String {
    let mut out = String::with_capacity(4096);
    let lb_label = |arn: &str| format!("load_balancer=\"{}\"", escape(arn));
    let tg_label = |arn: &str| format!("target_group=\"{}\"", escape(arn));
    let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let family =
        |out: &mut String, name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
            let _ = writeln!(
                out,
                "# HELP {PREFIX}{name} {help}\n# TYPE {PREFIX}{name} {kind}"
            );
            for (labels, value) in rows {
                let _ = writeln!(out, "{PREFIX}{name}{{{labels}}} {value}");
            }
        };

    let mut rows = Vec::new();
    rows.extend(
        lbs.iter()
            .map(|(a, m)| (lb_label(a), l(&m.requests).to_string())),
    );
    rows.extend(
        tgs.iter()
            .map(|t| (tg_label(t.arn), l(&t.metrics.requests).to_string())),
    );
    family(
        &mut out,
        "requests_total",
        "counter",
        "Requests processed (CloudWatch: RequestCount).",
        rows,
    );

    for class in 2..=5 {
        let mut rows = Vec::new();
        rows.extend(
            lbs.iter()
                .map(|(a, m)| (lb_label(a), m.target_codes.get(class).to_string())),
        );
        rows.extend(tgs.iter().map(|t| {
            (
                tg_label(t.arn),
                t.metrics.target_codes.get(class).to_string(),
            )
        }));
        family(
            &mut out,
            &format!("httpcode_target_{class}xx_total"),
            "counter",
            &format!(
                "{class}XX responses generated by targets (CloudWatch: HTTPCode_Target_{class}XX_Count)."
            ),
            rows,
        );
    }
    for class in 3..=5 {
        let rows = lbs
            .iter()
            .map(|(a, m)| (lb_label(a), m.elb_codes.get(class).to_string()))
            .collect();
        family(
            &mut out,
            &format!("httpcode_elb_{class}xx_total"),
            "counter",
            &format!(
                "{class}XX responses generated by the load balancer (CloudWatch: HTTPCode_ELB_{class}XX_Count)."
            ),
            rows,
        );
    }
    type Pick = fn(&LoadBalancerMetrics) -> u64;
    let counters: [(&str, &str, Pick); 8] = [
        ("httpcode_elb_502_total", "HTTPCode_ELB_502_Count", |m| {
            m.elb_502.load(Ordering::Relaxed)
        }),
        ("httpcode_elb_503_total", "HTTPCode_ELB_503_Count", |m| {
            m.elb_503.load(Ordering::Relaxed)
        }),
        ("httpcode_elb_504_total", "HTTPCode_ELB_504_Count", |m| {
            m.elb_504.load(Ordering::Relaxed)
        }),
        (
            "http_fixed_responses_total",
            "HTTP_Fixed_Response_Count",
            |m| m.fixed_responses.load(Ordering::Relaxed),
        ),
        ("http_redirects_total", "HTTP_Redirect_Count", |m| {
            m.redirects.load(Ordering::Relaxed)
        }),
        (
            "target_connection_errors_total",
            "TargetConnectionErrorCount",
            |m| m.target_connection_errors.load(Ordering::Relaxed),
        ),
        ("new_connections_total", "NewConnectionCount", |m| {
            m.new_connections.load(Ordering::Relaxed)
        }),
        (
            "rejected_connections_total",
            "RejectedConnectionCount",
            |m| m.rejected_connections.load(Ordering::Relaxed),
        ),
    ];
    for (name, cloudwatch, pick) in counters {
        let rows = lbs
            .iter()
            .map(|(a, m)| (lb_label(a), pick(m).to_string()))
            .collect();
        let help = format!("Load balancer counter (CloudWatch: {cloudwatch}).");
        family(&mut out, name, "counter", &help, rows);
    }
    let rows = lbs
        .iter()
        .map(|(a, m)| {
            (
                lb_label(a),
                m.active_connections.load(Ordering::Relaxed).to_string(),
            )
        })
        .collect();
    family(
        &mut out,
        "active_connections",
        "gauge",
        "Open client connections (CloudWatch: ActiveConnectionCount).",
        rows,
    );

    let rows = tgs
        .iter()
        .map(|t| (tg_label(t.arn), t.healthy.to_string()))
        .collect();
    family(
        &mut out,
        "healthy_hosts",
        "gauge",
        "Targets considered healthy (CloudWatch: HealthyHostCount).",
        rows,
    );
    let rows = tgs
        .iter()
        .map(|t| (tg_label(t.arn), t.unhealthy.to_string()))
        .collect();
    family(
        &mut out,
        "unhealthy_hosts",
        "gauge",
        "Targets considered unhealthy (CloudWatch: UnHealthyHostCount).",
        rows,
    );

    let mut rows = Vec::new();
    for t in tgs {
        for (target, n) in &t.per_target {
            rows.push((
                format!("{},target=\"{}\"", tg_label(t.arn), escape(target)),
                n.to_string(),
            ));
        }
    }
    family(
        &mut out,
        "target_requests_total",
        "counter",
        "Requests sent to each target (CloudWatch: RequestCountPerTarget).",
        rows,
    );

    let _ = writeln!(
        out,
        "# HELP {PREFIX}target_response_time_seconds Seconds from sending the request to the target until its response headers (CloudWatch: TargetResponseTime).\n# TYPE {PREFIX}target_response_time_seconds histogram"
    );
    let series = lbs
        .iter()
        .map(|(a, m)| (lb_label(a), &m.response_time))
        .chain(
            tgs.iter()
                .map(|t| (tg_label(t.arn), &t.metrics.response_time)),
        );
    for (labels, rt) in series {
        let mut cumulative = 0;
        for (b, c) in BUCKETS.iter().zip(&rt.buckets) {
            cumulative += l(c);
            let _ = writeln!(
                out,
                "{PREFIX}target_response_time_seconds_bucket{{{labels},le=\"{b}\"}} {cumulative}"
            );
        }
        let count = l(&rt.count);
        let _ = writeln!(
            out,
            "{PREFIX}target_response_time_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "{PREFIX}target_response_time_seconds_sum{{{labels}}} {}",
            l(&rt.sum_micros) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "{PREFIX}target_response_time_seconds_count{{{labels}}} {count}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_with_dimensions() {
        let lb = LoadBalancerMetrics::default();
        lb.requests.fetch_add(3, Ordering::Relaxed);
        lb.target_codes.record(StatusCode::OK);
        lb.elb_response(StatusCode::SERVICE_UNAVAILABLE);
        lb.response_time.record(Duration::from_millis(3));
        let tg = TargetGroupMetrics::default();
        tg.target_codes.record(StatusCode::NOT_FOUND);
        let text = render(
            &[("app/my-lb", &lb)],
            &[TargetGroupSample {
                arn: "tg\"1",
                metrics: &tg,
                healthy: 2,
                unhealthy: 1,
                per_target: vec![("10.0.0.1:80".into(), 7)],
            }],
        );
        let has = |line: &str| text.contains(&format!("{PREFIX}{line}"));
        assert!(has("requests_total{load_balancer=\"app/my-lb\"} 3"));
        assert!(has(
            "httpcode_target_2xx_total{load_balancer=\"app/my-lb\"} 1"
        ));
        assert!(has("httpcode_target_4xx_total{target_group=\"tg\\\"1\"} 1"));
        assert!(has("httpcode_elb_5xx_total{load_balancer=\"app/my-lb\"} 1"));
        assert!(has("httpcode_elb_503_total{load_balancer=\"app/my-lb\"} 1"));
        assert!(has("healthy_hosts{target_group=\"tg\\\"1\"} 2"));
        assert!(has("unhealthy_hosts{target_group=\"tg\\\"1\"} 1"));
        assert!(has(
            "target_requests_total{target_group=\"tg\\\"1\",target=\"10.0.0.1:80\"} 7"
        ));
        assert!(has(
            "target_response_time_seconds_bucket{load_balancer=\"app/my-lb\",le=\"0.005\"} 1"
        ));
        assert!(has(
            "target_response_time_seconds_count{load_balancer=\"app/my-lb\"} 1"
        ));
        assert!(text.contains("# TYPE aws_applicationelb_active_connections gauge"));
        assert!(text.contains("(CloudWatch: RequestCount)"));
        // Every sample's name is snake_case with the prefix; counters end
        // in _total.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split('{').next().unwrap();
            assert!(name.starts_with(PREFIX), "{line}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{line}"
            );
        }
        for line in text
            .lines()
            .filter(|l| l.starts_with("# TYPE") && l.ends_with("counter"))
        {
            assert!(
                line.split(' ').nth(2).unwrap().ends_with("_total"),
                "{line}"
            );
        }
    }
}
