//! Active health checks: settings, the per-target state machine, the probe.
//!
//! Each registered target has one background loop (spawned by its target
//! group, cancelled when the target is removed) that probes it every
//! interval and feeds the outcome to a [`HealthMachine`] counting
//! consecutive successes and failures. The machine is pure and synchronous so
//! every transition and AWS reason code is unit-tested; the loop only adds
//! time (`tokio::time`, so tests run it under paused time) and the probe,
//! which sits behind the object-safe [`HealthProbe`] trait (the real one is
//! [`HttpProbe`]; tests inject fakes through [`crate::AlbBuilder`]).
//!
//! A target's routability is published separately from its state as an
//! atomic flag (see [`crate::target`]), so the request path never takes the
//! machine's lock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

use crate::duration_ms;

/// Why health check settings were rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HealthCheckError {
    #[error(
        "matcher {0:?} is not a code (200), a range (200-299) or a list (200,302) of 200..=499"
    )]
    InvalidMatcher(String),
    #[error("{field} is {value}, AWS allows {min}..={max}")]
    OutOfRange {
        field: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    #[error("timeout ({timeout:?}) must be smaller than interval ({interval:?})")]
    TimeoutNotBelowInterval {
        timeout: Duration,
        interval: Duration,
    },
    #[error("health check path {0:?} must start with '/'")]
    InvalidPath(String),
    #[error("{0} must be positive")]
    Zero(&'static str),
}

/// Where the health check connects: the target's own port or a fixed one.
/// In JSON, like AWS's `HealthCheckPort`: `"traffic-port"` or a port
/// (a number, or a string of digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthCheckPort {
    #[default]
    TrafficPort,
    Fixed(u16),
}

impl Serialize for HealthCheckPort {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HealthCheckPort::TrafficPort => s.serialize_str("traffic-port"),
            HealthCheckPort::Fixed(p) => s.serialize_u16(*p),
        }
    }
}

impl<'de> Deserialize<'de> for HealthCheckPort {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Port(u16),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Port(p) => Ok(HealthCheckPort::Fixed(p)),
            Repr::Text(t) if t == "traffic-port" => Ok(HealthCheckPort::TrafficPort),
            Repr::Text(t) => t.parse().map(HealthCheckPort::Fixed).map_err(|_| {
                serde::de::Error::custom(format!(
                    "health check port {t:?} is neither \"traffic-port\" nor a port"
                ))
            }),
        }
    }
}

/// HTTP codes that count as success (`200`, `200-299`, `200,302`); in JSON
/// that text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Matcher {
    ranges: Vec<(u16, u16)>,
    text: String,
}

impl Matcher {
    pub fn parse(text: &str) -> Result<Self, HealthCheckError> {
        let bad = || HealthCheckError::InvalidMatcher(text.to_owned());
        let code = |s: &str| -> Result<u16, HealthCheckError> {
            let c: u16 = s.trim().parse().map_err(|_| bad())?;
            if (200..=499).contains(&c) {
                Ok(c)
            } else {
                Err(bad())
            }
        };
        let ranges = if let Some((lo, hi)) = text.split_once('-') {
            let (lo, hi) = (code(lo)?, code(hi)?);
            if lo > hi {
                return Err(bad());
            }
            vec![(lo, hi)]
        } else {
            text.split(',')
                .map(|c| code(c).map(|c| (c, c)))
                .collect::<Result<_, _>>()?
        };
        Ok(Matcher {
            ranges,
            text: text.to_owned(),
        })
    }

    pub fn matches(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }

    /// The text it was parsed from (`HttpCode` in the API).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl TryFrom<String> for Matcher {
    type Error = HealthCheckError;
    fn try_from(text: String) -> Result<Self, HealthCheckError> {
        Matcher::parse(&text)
    }
}

impl From<Matcher> for String {
    fn from(m: Matcher) -> String {
        m.text
    }
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher {
            ranges: vec![(200, 200)],
            text: "200".into(),
        }
    }
}

/// A target group's health check settings (AWS defaults for HTTP). In
/// JSON every field is optional (missing ones take these defaults) and the
/// durations are `interval_ms` / `timeout_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheckConfig {
    /// When false no probes run and targets report
    /// `unavailable` / `Target.HealthCheckDisabled` but receive traffic.
    pub enabled: bool,
    pub path: String,
    pub port: HealthCheckPort,
    #[serde(rename = "interval_ms", with = "duration_ms")]
    pub interval: Duration,
    #[serde(rename = "timeout_ms", with = "duration_ms")]
    pub timeout: Duration,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub matcher: Matcher,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            enabled: true,
            path: "/".into(),
            port: HealthCheckPort::TrafficPort,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: Matcher::default(),
        }
    }
}

impl HealthCheckConfig {
    /// The checks the library itself enforces: anything that would make the
    /// loop misbehave. Sub-second intervals are allowed (tests, emulator
    /// speed-ups); use [`HealthCheckConfig::validate_aws`] for API input.
    pub fn validate(&self) -> Result<(), HealthCheckError> {
        if !self.path.starts_with('/') {
            return Err(HealthCheckError::InvalidPath(self.path.clone()));
        }
        if self.interval.is_zero() {
            return Err(HealthCheckError::Zero("interval"));
        }
        if self.timeout.is_zero() {
            return Err(HealthCheckError::Zero("timeout"));
        }
        if self.healthy_threshold == 0 {
            return Err(HealthCheckError::Zero("healthy_threshold"));
        }
        if self.unhealthy_threshold == 0 {
            return Err(HealthCheckError::Zero("unhealthy_threshold"));
        }
        Ok(())
    }

    /// [`HealthCheckConfig::validate`] plus AWS's documented ranges:
    /// interval 5-300 s, timeout 2-120 s and below the interval,
    /// thresholds 2-10.
    pub fn validate_aws(&self) -> Result<(), HealthCheckError> {
        self.validate()?;
        let range = |field, value: u64, min, max| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(HealthCheckError::OutOfRange {
                    field,
                    value,
                    min,
                    max,
                })
            }
        };
        range("interval", self.interval.as_secs(), 5, 300)?;
        range("timeout", self.timeout.as_secs(), 2, 120)?;
        range("healthy_threshold", self.healthy_threshold.into(), 2, 10)?;
        range(
            "unhealthy_threshold",
            self.unhealthy_threshold.into(),
            2,
            10,
        )?;
        if self.timeout >= self.interval {
            return Err(HealthCheckError::TimeoutNotBelowInterval {
                timeout: self.timeout,
                interval: self.interval,
            });
        }
        Ok(())
    }
}

/// The AWS `TargetHealth.State` (in JSON its lowercase name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetHealthState {
    Initial,
    Healthy,
    Unhealthy,
    Unused,
    Draining,
    Unavailable,
}

impl TargetHealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetHealthState::Initial => "initial",
            TargetHealthState::Healthy => "healthy",
            TargetHealthState::Unhealthy => "unhealthy",
            TargetHealthState::Unused => "unused",
            TargetHealthState::Draining => "draining",
            TargetHealthState::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for TargetHealthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The AWS `TargetHealth.Reason` code (in JSON that code, as
/// [`TargetHealthReason::code`] spells it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TargetHealthReason {
    #[serde(rename = "Elb.RegistrationInProgress")]
    RegistrationInProgress,
    #[serde(rename = "Elb.InitialHealthChecking")]
    InitialHealthChecking,
    #[serde(rename = "Target.ResponseCodeMismatch")]
    ResponseCodeMismatch,
    #[serde(rename = "Target.Timeout")]
    Timeout,
    #[serde(rename = "Target.FailedHealthChecks")]
    FailedHealthChecks,
    #[serde(rename = "Target.DeregistrationInProgress")]
    DeregistrationInProgress,
    #[serde(rename = "Target.NotRegistered")]
    NotRegistered,
    #[serde(rename = "Target.HealthCheckDisabled")]
    HealthCheckDisabled,
}

impl TargetHealthReason {
    pub fn code(self) -> &'static str {
        match self {
            TargetHealthReason::RegistrationInProgress => "Elb.RegistrationInProgress",
            TargetHealthReason::InitialHealthChecking => "Elb.InitialHealthChecking",
            TargetHealthReason::ResponseCodeMismatch => "Target.ResponseCodeMismatch",
            TargetHealthReason::Timeout => "Target.Timeout",
            TargetHealthReason::FailedHealthChecks => "Target.FailedHealthChecks",
            TargetHealthReason::DeregistrationInProgress => "Target.DeregistrationInProgress",
            TargetHealthReason::NotRegistered => "Target.NotRegistered",
            TargetHealthReason::HealthCheckDisabled => "Target.HealthCheckDisabled",
        }
    }
}

impl fmt::Display for TargetHealthReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// State, reason and description, as `DescribeTargetHealth` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealth {
    pub state: TargetHealthState,
    pub reason: Option<TargetHealthReason>,
    pub description: Option<String>,
}

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The target answered with this status code.
    Status(u16),
    /// No answer within the health check timeout.
    Timeout,
    /// Connection refused/reset or a broken response.
    Failed(String),
}

/// Consecutive-success/failure counting for one target.
#[derive(Debug, Clone)]
pub struct HealthMachine {
    health: TargetHealth,
    consecutive_ok: u32,
    consecutive_fail: u32,
}

impl Default for HealthMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl HealthMachine {
    /// A freshly registered target: `initial` / `Elb.RegistrationInProgress`.
    pub fn new() -> Self {
        HealthMachine {
            health: TargetHealth {
                state: TargetHealthState::Initial,
                reason: Some(TargetHealthReason::RegistrationInProgress),
                description: Some("Target registration is in progress".into()),
            },
            consecutive_ok: 0,
            consecutive_fail: 0,
        }
    }

    /// A target known healthy before this balancer saw it (re-registered
    /// after a control-plane restart): `healthy` until its own checks
    /// say otherwise.
    pub fn healthy() -> Self {
        HealthMachine {
            health: TargetHealth {
                state: TargetHealthState::Healthy,
                reason: None,
                description: None,
            },
            consecutive_ok: 0,
            consecutive_fail: 0,
        }
    }

    pub fn health(&self) -> &TargetHealth {
        &self.health
    }

    /// Whether the target may receive new requests on health grounds
    /// (draining is handled by the separate `enabled` flag).
    pub fn is_routable(&self) -> bool {
        matches!(
            self.health.state,
            TargetHealthState::Healthy | TargetHealthState::Unavailable
        )
    }

    fn set(
        &mut self,
        state: TargetHealthState,
        reason: Option<TargetHealthReason>,
        description: Option<String>,
    ) {
        self.health = TargetHealth {
            state,
            reason,
            description,
        };
    }

    /// The health loop is about to run the first probe.
    pub fn on_probe_started(&mut self) {
        if self.health.reason == Some(TargetHealthReason::RegistrationInProgress) {
            self.set(
                TargetHealthState::Initial,
                Some(TargetHealthReason::InitialHealthChecking),
                Some("Initial health checks in progress".into()),
            );
        }
    }

    /// Health checks were switched off for the group.
    pub fn on_disabled(&mut self) {
        if self.health.state != TargetHealthState::Draining {
            self.consecutive_ok = 0;
            self.consecutive_fail = 0;
            self.set(
                TargetHealthState::Unavailable,
                Some(TargetHealthReason::HealthCheckDisabled),
                Some("Health checks disabled".into()),
            );
        }
    }

    /// Feed one probe outcome; returns whether routability changed.
    pub fn on_outcome(&mut self, outcome: &ProbeOutcome, config: &HealthCheckConfig) -> bool {
        let before = self.is_routable();
        let state = self.health.state;
        if state == TargetHealthState::Draining {
            return false;
        }
        if state == TargetHealthState::Unavailable {
            // Checks were just re-enabled: start over like a new target.
            *self = HealthMachine::new();
        }
        let failure = match outcome {
            ProbeOutcome::Status(code) if config.matcher.matches(*code) => None,
            ProbeOutcome::Status(code) => Some((
                TargetHealthReason::ResponseCodeMismatch,
                format!("Health checks failed with these codes: [{code}]"),
            )),
            ProbeOutcome::Timeout => {
                Some((TargetHealthReason::Timeout, "Request timed out".to_owned()))
            }
            // AWS's description says no more; the cause goes to the log.
            ProbeOutcome::Failed(why) => {
                tracing::debug!(cause = %why, "health check failed");
                Some((
                    TargetHealthReason::FailedHealthChecks,
                    "Health checks failed".to_owned(),
                ))
            }
        };
        match failure {
            None => {
                self.consecutive_fail = 0;
                self.consecutive_ok = self.consecutive_ok.saturating_add(1);
                let promote = match self.health.state {
                    // AWS: a new target is healthy after its first passing check.
                    TargetHealthState::Initial => true,
                    TargetHealthState::Unhealthy => self.consecutive_ok >= config.healthy_threshold,
                    _ => false,
                };
                if promote {
                    self.set(TargetHealthState::Healthy, None, None);
                }
            }
            Some((reason, description)) => {
                self.consecutive_ok = 0;
                self.consecutive_fail = self.consecutive_fail.saturating_add(1);
                match self.health.state {
                    TargetHealthState::Unhealthy => self.set(
                        TargetHealthState::Unhealthy,
                        Some(reason),
                        Some(description),
                    ),
                    _ if self.consecutive_fail >= config.unhealthy_threshold => self.set(
                        TargetHealthState::Unhealthy,
                        Some(reason),
                        Some(description),
                    ),
                    _ => {}
                }
            }
        }
        before != self.is_routable()
    }

    /// Deregistration started: `draining` / `Target.DeregistrationInProgress`.
    pub fn on_deregister(&mut self) {
        self.set(
            TargetHealthState::Draining,
            Some(TargetHealthReason::DeregistrationInProgress),
            Some("Target deregistration is in progress".into()),
        );
    }

    /// What `DescribeTargetHealth` says about a target that is not registered.
    pub fn not_registered() -> TargetHealth {
        TargetHealth {
            state: TargetHealthState::Unused,
            reason: Some(TargetHealthReason::NotRegistered),
            description: Some("Target is not registered to the target group".into()),
        }
    }
}

/// One probe to run.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    pub target_id: String,
    /// Host name or IP to connect to (resolved at connect time).
    pub host: String,
    pub port: u16,
    pub path: String,
    pub timeout: Duration,
}

/// Runs one health check probe. Object-safe so it can be held as
/// `Arc<dyn HealthProbe>` and faked in tests.
pub trait HealthProbe: Send + Sync + 'static {
    fn probe(
        &self,
        request: ProbeRequest,
    ) -> Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'static>>;
}

/// The real probe: `GET path` over a fresh HTTP/1.1 connection, with
/// `User-Agent: ELB-HealthChecker/2.0` like AWS.
#[derive(Clone)]
pub struct HttpProbe {
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Default for HttpProbe {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpProbe {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        // A fresh connection per probe: a closed listening socket must fail.
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        HttpProbe { client }
    }
}

impl HealthProbe for HttpProbe {
    fn probe(
        &self,
        request: ProbeRequest,
    ) -> Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'static>> {
        let client = self.client.clone();
        Box::pin(async move {
            let uri = format!("http://{}:{}{}", request.host, request.port, request.path);
            let req = match http::Request::get(uri.as_str())
                .header(http::header::USER_AGENT, "ELB-HealthChecker/2.0")
                .body(Empty::new())
            {
                Ok(r) => r,
                Err(e) => return ProbeOutcome::Failed(e.to_string()),
            };
            match tokio::time::timeout(request.timeout, client.request(req)).await {
                Err(_) => ProbeOutcome::Timeout,
                Ok(Err(e)) => ProbeOutcome::Failed(if e.is_connect() {
                    "connection failed".into()
                } else {
                    e.to_string()
                }),
                Ok(Ok(resp)) => ProbeOutcome::Status(resp.status().as_u16()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TargetHealthReason as R;
    use TargetHealthState as S;

    fn cfg() -> HealthCheckConfig {
        HealthCheckConfig {
            healthy_threshold: 3,
            unhealthy_threshold: 2,
            matcher: Matcher::parse("200-299").expect("matcher"),
            ..HealthCheckConfig::default()
        }
    }

    fn state(m: &HealthMachine) -> (S, Option<R>) {
        (m.health().state, m.health().reason)
    }

    #[test]
    fn matcher_forms() {
        let single = Matcher::parse("200").expect("single");
        assert!(single.matches(200) && !single.matches(201));
        let range = Matcher::parse("200-299").expect("range");
        assert!(range.matches(204) && !range.matches(302));
        let list = Matcher::parse("200,302").expect("list");
        assert!(list.matches(302) && !list.matches(301));
        for bad in ["", "abc", "600", "299-200", "100", "200-", ","] {
            assert!(Matcher::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn aws_ranges() {
        let ok = HealthCheckConfig::default();
        assert_eq!(ok.validate_aws(), Ok(()));
        let fast = HealthCheckConfig {
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(50),
            ..ok.clone()
        };
        assert_eq!(fast.validate(), Ok(()));
        assert!(matches!(
            fast.validate_aws(),
            Err(HealthCheckError::OutOfRange {
                field: "interval",
                ..
            })
        ));
        let t = HealthCheckConfig {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            ..ok.clone()
        };
        assert!(matches!(
            t.validate_aws(),
            Err(HealthCheckError::TimeoutNotBelowInterval { .. })
        ));
        let th = HealthCheckConfig {
            healthy_threshold: 11,
            ..ok.clone()
        };
        assert!(th.validate_aws().is_err());
        let p = HealthCheckConfig {
            path: "ping".into(),
            ..ok
        };
        assert!(matches!(
            p.validate(),
            Err(HealthCheckError::InvalidPath(_))
        ));
    }

    #[test]
    fn new_target_is_healthy_after_first_pass() {
        let c = cfg();
        let mut m = HealthMachine::new();
        assert_eq!(state(&m), (S::Initial, Some(R::RegistrationInProgress)));
        assert!(!m.is_routable());
        m.on_probe_started();
        assert_eq!(state(&m), (S::Initial, Some(R::InitialHealthChecking)));
        assert!(m.on_outcome(&ProbeOutcome::Status(200), &c));
        assert_eq!(state(&m), (S::Healthy, None));
        assert!(m.is_routable());
    }

    #[test]
    fn initial_target_goes_unhealthy_after_threshold() {
        let c = cfg();
        let mut m = HealthMachine::new();
        m.on_probe_started();
        assert!(!m.on_outcome(&ProbeOutcome::Status(500), &c));
        assert_eq!(state(&m), (S::Initial, Some(R::InitialHealthChecking)));
        m.on_outcome(&ProbeOutcome::Status(500), &c);
        assert_eq!(state(&m), (S::Unhealthy, Some(R::ResponseCodeMismatch)));
        assert_eq!(
            m.health().description.as_deref(),
            Some("Health checks failed with these codes: [500]")
        );
    }

    #[test]
    fn healthy_to_unhealthy_with_each_reason_then_back() {
        let c = cfg();
        for (outcome, reason) in [
            (ProbeOutcome::Status(404), R::ResponseCodeMismatch),
            (ProbeOutcome::Timeout, R::Timeout),
            (
                ProbeOutcome::Failed("refused".into()),
                R::FailedHealthChecks,
            ),
        ] {
            let mut m = HealthMachine::new();
            m.on_outcome(&ProbeOutcome::Status(200), &c);
            assert!(
                !m.on_outcome(&outcome, &c),
                "one failure is below the threshold"
            );
            assert_eq!(state(&m), (S::Healthy, None));
            assert!(m.on_outcome(&outcome, &c));
            assert_eq!(state(&m), (S::Unhealthy, Some(reason)));
            // A pass resets the failure streak but needs healthy_threshold passes.
            m.on_outcome(&ProbeOutcome::Status(200), &c);
            m.on_outcome(&ProbeOutcome::Status(200), &c);
            assert_eq!(m.health().state, S::Unhealthy);
            assert!(m.on_outcome(&ProbeOutcome::Status(204), &c));
            assert_eq!(state(&m), (S::Healthy, None));
        }
    }

    #[test]
    fn interleaved_results_reset_streaks() {
        let c = cfg();
        let mut m = HealthMachine::new();
        m.on_outcome(&ProbeOutcome::Status(200), &c);
        for _ in 0..5 {
            m.on_outcome(&ProbeOutcome::Timeout, &c);
            m.on_outcome(&ProbeOutcome::Status(200), &c);
        }
        assert_eq!(m.health().state, S::Healthy);
        // Unhealthy: reason follows the latest failure.
        m.on_outcome(&ProbeOutcome::Timeout, &c);
        m.on_outcome(&ProbeOutcome::Timeout, &c);
        m.on_outcome(&ProbeOutcome::Status(503), &c);
        assert_eq!(state(&m), (S::Unhealthy, Some(R::ResponseCodeMismatch)));
    }

    #[test]
    fn draining_ignores_probes_and_disabled_is_routable() {
        let c = cfg();
        let mut m = HealthMachine::new();
        m.on_outcome(&ProbeOutcome::Status(200), &c);
        m.on_deregister();
        assert_eq!(state(&m), (S::Draining, Some(R::DeregistrationInProgress)));
        assert!(!m.on_outcome(&ProbeOutcome::Timeout, &c));
        assert_eq!(m.health().state, S::Draining);
        m.on_disabled();
        assert_eq!(m.health().state, S::Draining);

        let mut m = HealthMachine::new();
        m.on_disabled();
        assert_eq!(state(&m), (S::Unavailable, Some(R::HealthCheckDisabled)));
        assert!(m.is_routable());
        // Re-enabled: behaves like a new target again.
        m.on_outcome(&ProbeOutcome::Status(200), &c);
        assert_eq!(state(&m), (S::Healthy, None));
        let nr = HealthMachine::not_registered();
        assert_eq!((nr.state, nr.reason), (S::Unused, Some(R::NotRegistered)));
    }
}
