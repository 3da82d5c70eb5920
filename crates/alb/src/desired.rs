//! The declarative desired state of a whole balancer, and what applying it
//! reported.
//!
//! A control plane (the emulator) describes every target group, target,
//! load balancer, listener and rule it wants as one [`Desired`] value and
//! hands it to [`crate::Alb::apply_desired`] (in process) or `PUT /desired`
//! (over [`crate::admin`], when the balancer runs in its own process and
//! must outlive a control-plane restart). Applying reconciles: whatever is
//! already live and unchanged is left alone (no re-bind, no health reset),
//! so the control plane can send its whole view again whenever it likes.
//!
//! Everything is JSON-friendly (serde); every map is keyed by ARN and
//! ordered, so the same state always serializes the same way. Durations are
//! whole milliseconds in fields named `*_ms`. A minimal document:
//!
//! ```json
//! {
//!   "target_groups": {
//!     "arn:tg/web": {
//!       "config": {"port": 8080, "health_check": {"path": "/health", "interval_ms": 5000}},
//!       "targets": [{"id": "10.0.0.7", "port": 8080, "healthy": true}]
//!     }
//!   },
//!   "load_balancers": {
//!     "arn:lb/app": {
//!       "attributes": {"idle_timeout_ms": 60000},
//!       "listeners": {
//!         "arn:listener/80": {
//!           "addr": "127.0.0.1:8080",
//!           "default_action": {"forward": [{"target_group_arn": "arn:tg/web"}]},
//!           "rules": {
//!             "arn:rule/1": {
//!               "priority": 1,
//!               "conditions": [{"path-pattern": ["/api/*"]}],
//!               "action": {"fixed-response": {"status_code": 503}}
//!             }
//!           }
//!         }
//!       }
//!     }
//!   }
//! }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::load_balancer::LoadBalancerAttributes;
use crate::rule::{Action, RuleConfig};
use crate::target::Target;
use crate::target_group::TargetGroupConfig;

/// Everything the balancer should be running. What is live but missing
/// here is deleted when this is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Desired {
    /// By target group ARN.
    pub target_groups: BTreeMap<String, DesiredTargetGroup>,
    /// By load balancer ARN.
    pub load_balancers: BTreeMap<String, DesiredLoadBalancer>,
}

/// One target group: its settings and its registered targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredTargetGroup {
    pub config: TargetGroupConfig,
    /// Registered targets, matched to live ones by `(id, port)`.
    #[serde(default)]
    pub targets: Vec<DesiredTarget>,
}

/// One registered target. In JSON the target's fields and `healthy` in one
/// object: `{"id": "10.0.0.7", "port": 8080, "host": "10.0.0.7",
/// "healthy": false}` (`host` and `healthy` optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredTarget {
    #[serde(flatten)]
    pub target: Target,
    /// Only read when the target is newly registered: start `healthy`
    /// (known healthy before, e.g. the control plane restarted and
    /// re-registers its running tasks) instead of `initial`. A target
    /// already live keeps its health whatever this says.
    #[serde(default)]
    pub healthy: bool,
}

impl DesiredTarget {
    /// A target that starts `initial`, like `RegisterTargets`.
    pub fn new(target: Target) -> Self {
        DesiredTarget {
            target,
            healthy: false,
        }
    }

    /// A target known healthy before: it takes traffic at once.
    pub fn healthy(target: Target) -> Self {
        DesiredTarget {
            target,
            healthy: true,
        }
    }
}

/// One load balancer: its attributes and listeners.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredLoadBalancer {
    #[serde(default)]
    pub attributes: LoadBalancerAttributes,
    /// By listener ARN.
    #[serde(default)]
    pub listeners: BTreeMap<String, DesiredListener>,
}

/// One listener: where it listens and how it routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredListener {
    /// The address to bind, `"127.0.0.1:8080"`. Port 0 binds any free port
    /// (see [`ApplyReport::listeners`]) and then matches whatever port the
    /// live listener got, so applying again does not move it; any other
    /// change of address re-binds the listener.
    pub addr: SocketAddr,
    pub default_action: Action,
    /// By rule ARN.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleConfig>,
}

/// What [`crate::Alb::apply_desired`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// Every desired listener that is live after the apply, by listener
    /// ARN, with the address it is bound to.
    pub listeners: BTreeMap<String, SocketAddr>,
    /// What could not be applied, one entry per failing resource; the rest
    /// was applied regardless.
    pub errors: Vec<ApplyError>,
}

impl ApplyReport {
    /// Whether everything was applied.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One resource that could not be brought to its desired state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyError {
    /// The ARN of the target group, load balancer, listener or rule (a
    /// target's error names its group).
    pub arn: String,
    pub message: String,
}

impl ApplyError {
    pub fn new(arn: impl Into<String>, message: impl std::fmt::Display) -> Self {
        ApplyError {
            arn: arn.into(),
            message: message.to_string(),
        }
    }
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.arn, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health_check::HealthCheckPort;

    #[test]
    fn the_documented_example_parses() {
        let text = include_str!("desired.rs");
        let start = text.find("//! ```json").expect("example");
        let json: String = text[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        let d: Desired = serde_json::from_str(&json).expect("parse");
        let tg = &d.target_groups["arn:tg/web"];
        assert_eq!(tg.config.health_check.interval.as_millis(), 5000);
        assert_eq!(tg.config.health_check.port, HealthCheckPort::TrafficPort);
        assert_eq!(tg.targets[0].target.host, "10.0.0.7");
        assert!(tg.targets[0].healthy);
        let l = &d.load_balancers["arn:lb/app"].listeners["arn:listener/80"];
        assert_eq!(l.default_action, Action::forward("arn:tg/web"));
        assert_eq!(l.rules["arn:rule/1"].priority, 1);
        // And survives a round trip unchanged.
        let again: Desired =
            serde_json::from_str(&serde_json::to_string(&d).expect("json")).expect("parse");
        assert_eq!(again, d);
    }

    #[test]
    fn every_part_round_trips() {
        use crate::health_check::{HealthCheckConfig, Matcher};
        use crate::rule::{
            Condition, FixedResponseConfig, QueryStringPair, RedirectConfig, RedirectStatus,
            WeightedTargetGroup,
        };
        use crate::target_group::LoadBalancingAlgorithm;
        use std::time::Duration;

        let mut config = TargetGroupConfig::new(80);
        config.health_check = HealthCheckConfig {
            enabled: false,
            port: HealthCheckPort::Fixed(9000),
            timeout: Duration::from_millis(250),
            matcher: Matcher::parse("200-299").expect("matcher"),
            ..HealthCheckConfig::default()
        };
        config.attributes.algorithm = LoadBalancingAlgorithm::LeastOutstandingRequests;
        config.attributes.deregistration_delay = Duration::from_millis(1500);
        let rule = RuleConfig {
            priority: 7,
            conditions: vec![
                Condition::HostHeader(vec!["*.example.com".into()]),
                Condition::HttpRequestMethod(vec!["GET".into()]),
                Condition::QueryString(vec![QueryStringPair {
                    key: None,
                    value: "x".into(),
                }]),
                Condition::HttpHeader {
                    name: "X-A".into(),
                    values: vec!["b".into()],
                },
            ],
            action: Action::Redirect(RedirectConfig {
                protocol: Some("HTTPS".into()),
                host: None,
                port: Some("443".into()),
                path: None,
                query: None,
                status_code: RedirectStatus::Http302,
            }),
        };
        let d = Desired {
            target_groups: BTreeMap::from([(
                "tg".to_owned(),
                DesiredTargetGroup {
                    config,
                    targets: vec![DesiredTarget::new(Target::with_host("i-1", "10.0.0.1", 80))],
                },
            )]),
            load_balancers: BTreeMap::from([(
                "lb".to_owned(),
                DesiredLoadBalancer {
                    attributes: LoadBalancerAttributes {
                        reuse_port: true,
                        ..LoadBalancerAttributes::default()
                    },
                    listeners: BTreeMap::from([(
                        "l".to_owned(),
                        DesiredListener {
                            addr: "[::1]:0".parse().expect("addr"),
                            default_action: Action::FixedResponse(FixedResponseConfig {
                                status_code: 418,
                                content_type: Some("text/html".into()),
                                message_body: None,
                            }),
                            rules: BTreeMap::from([
                                ("r".to_owned(), rule),
                                (
                                    "w".to_owned(),
                                    RuleConfig {
                                        priority: 8,
                                        conditions: vec![Condition::PathPattern(vec!["/".into()])],
                                        action: Action::Forward(vec![WeightedTargetGroup {
                                            target_group_arn: "tg".into(),
                                            weight: 0,
                                        }]),
                                    },
                                ),
                            ]),
                        },
                    )]),
                },
            )]),
        };
        let json = serde_json::to_value(&d).expect("json");
        let hc = &json["target_groups"]["tg"]["config"]["health_check"];
        assert_eq!(hc["port"], 9000);
        assert_eq!(hc["timeout_ms"], 250);
        assert_eq!(hc["matcher"], "200-299");
        let attrs = &json["target_groups"]["tg"]["config"]["attributes"];
        assert_eq!(attrs["algorithm"], "least_outstanding_requests");
        assert_eq!(attrs["deregistration_delay_ms"], 1500);
        let target = &json["target_groups"]["tg"]["targets"][0];
        assert_eq!(target["id"], "i-1");
        assert_eq!(target["host"], "10.0.0.1");
        assert_eq!(target["healthy"], false);
        let l = &json["load_balancers"]["lb"]["listeners"]["l"];
        assert_eq!(l["addr"], "[::1]:0");
        assert_eq!(l["default_action"]["fixed-response"]["status_code"], 418);
        assert_eq!(
            l["rules"]["r"]["action"]["redirect"]["status_code"],
            "HTTP_302"
        );
        assert_eq!(
            l["rules"]["r"]["conditions"][0]["host-header"][0],
            "*.example.com"
        );
        let back: Desired = serde_json::from_value(json).expect("parse");
        assert_eq!(back, d);
    }

    #[test]
    fn bad_values_are_refused() {
        let bad = |json: &str| serde_json::from_str::<TargetGroupConfig>(json).is_err();
        assert!(bad(r#"{"port": 80, "health_check": {"matcher": "600"}}"#));
        assert!(bad(r#"{"port": 80, "health_check": {"port": "http"}}"#));
        assert!(bad(r#"{"health_check": {}}"#));
        let ok: TargetGroupConfig =
            serde_json::from_str(r#"{"port": 80, "health_check": {"port": "8081"}}"#)
                .expect("port as text");
        assert_eq!(ok.health_check.port, HealthCheckPort::Fixed(8081));
    }
}
