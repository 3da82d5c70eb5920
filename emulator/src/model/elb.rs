//! The ELBv2 resources (load balancers, target groups, listeners, rules) as
//! the emulator stores them: the durable desired state that
//! [`crate::elbv2`] applies to the embedded [`alb::Alb`] and
//! re-applies after a restart.
//!
//! These are plain serde structs (camelCase, every field defaulted so older
//! state files load); the AWS Query/XML shapes live in [`crate::elbv2::wire`].
//! Conversions into the `alb` crate's types validate with AWS's documented
//! ranges and return a message suitable for a `ValidationError`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub mod tls;

/// Everything ELBv2, keyed by ARN.
pub use crate::db::state::ElbState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    /// `internet-facing` or `internal` (reported only).
    pub scheme: String,
    pub created_time: f64,
    /// Subnet ids in the order given, each in a zone of its own
    /// ([`availability_zones`]; reported only).
    pub subnets: Vec<String>,
    /// Security group ids (reported only).
    pub security_groups: Vec<String>,
    /// `ipv4`, `dualstack` or `dualstack-without-public-ipv4`.
    pub ip_address_type: String,
    /// The attributes changed from AWS's defaults (see
    /// [`LoadBalancer::attributes`] for all of them).
    pub attributes: BTreeMap<String, String>,
    pub capacity: tls::CapacityReservation,
}

impl Default for LoadBalancer {
    fn default() -> Self {
        LoadBalancer {
            arn: String::new(),
            name: String::new(),
            scheme: "internet-facing".into(),
            created_time: 0.0,
            subnets: Vec::new(),
            security_groups: Vec::new(),
            ip_address_type: "ipv4".into(),
            attributes: BTreeMap::new(),
            capacity: Default::default(),
        }
    }
}

/// `idle_timeout.timeout_seconds`: applied to the balancer.
pub const IDLE_TIMEOUT: &str = "idle_timeout.timeout_seconds";
/// `deletion_protection.enabled`: DeleteLoadBalancer refuses while true.
pub const DELETION_PROTECTION: &str = "deletion_protection.enabled";

/// AWS's defaults for an Application Load Balancer's attributes (one
/// depends on the scheme).
pub fn default_load_balancer_attributes(scheme: &str) -> BTreeMap<String, String> {
    let internal = if scheme == "internal" {
        "true"
    } else {
        "false"
    };
    [
        ("access_logs.s3.enabled", "false"),
        ("access_logs.s3.bucket", ""),
        ("access_logs.s3.prefix", ""),
        ("client_keep_alive.seconds", "3600"),
        ("connection_logs.s3.enabled", "false"),
        ("connection_logs.s3.bucket", ""),
        ("connection_logs.s3.prefix", ""),
        ("health_check_logs.s3.enabled", "false"),
        ("health_check_logs.s3.bucket", ""),
        ("health_check_logs.s3.prefix", ""),
        (DELETION_PROTECTION, "false"),
        (IDLE_TIMEOUT, "60"),
        ("ipv6.deny_all_igw_traffic", internal),
        ("load_balancing.cross_zone.enabled", "true"),
        ("routing.http.desync_mitigation_mode", "defensive"),
        ("routing.http.drop_invalid_header_fields.enabled", "false"),
        ("routing.http.preserve_host_header.enabled", "false"),
        (
            "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
            "false",
        ),
        ("routing.http.xff_client_port.enabled", "false"),
        ("routing.http.xff_header_processing.mode", "append"),
        ("routing.http2.enabled", "true"),
        ("waf.fail_open.enabled", "false"),
        ("zonal_shift.config.enabled", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The zone of each subnet of a load balancer, one zone per subnet: the
/// EC2 default subnet of a zone (`subnet-` and 17 hex digits: 0x1000 plus
/// the zone's letter) is in that zone; any other subnet takes the first
/// zone left of `REGIONa`, `REGIONb`, ..., in order.
pub fn availability_zones(region: &str, subnets: &[String]) -> Vec<String> {
    let known = |s: &str| {
        let hex = s.strip_prefix("subnet-").filter(|h| h.len() == 17)?;
        let n = u128::from_str_radix(hex, 16).ok()?.checked_sub(0x1000)?;
        char::from_u32(u32::try_from(n).ok()?).filter(char::is_ascii_lowercase)
    };
    let letters: Vec<Option<char>> = subnets.iter().map(|s| known(s)).collect();
    let mut free = ('a'..='z').filter(|c| !letters.contains(&Some(*c)));
    letters
        .iter()
        .map(|l| format!("{region}{}", l.or_else(|| free.next()).unwrap_or('z')))
        .collect()
}

impl LoadBalancer {
    /// Every attribute: AWS's defaults (HTTPS listeners have more), then
    /// the changes.
    pub fn attributes(&self) -> BTreeMap<String, String> {
        let mut all = default_load_balancer_attributes(&self.scheme);
        all.extend(self.attributes.clone());
        all
    }

    /// Whether DeleteLoadBalancer is refused.
    pub fn deletion_protected(&self) -> bool {
        self.attributes()
            .get(DELETION_PROTECTION)
            .map(String::as_str)
            == Some("true")
    }

    /// The balancer's attributes: the idle timeout (also the target
    /// response timeout, as with AWS) over `base`.
    pub fn alb_attributes(&self, base: alb::LoadBalancerAttributes) -> alb::LoadBalancerAttributes {
        let idle = self
            .attributes()
            .get(IDLE_TIMEOUT)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(60);
        alb::LoadBalancerAttributes {
            idle_timeout: Duration::from_secs(idle),
            target_timeout: Duration::from_secs(idle),
            ..base
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: String,
    pub port: u16,
    pub vpc_id: Option<String>,
    /// `instance` (ids are container instances' `i-...`, resolved to
    /// 127.0.0.1) or `ip` (ids are addresses, used as they are).
    pub target_type: String,
    pub health_check: HealthCheck,
    /// Every attribute, defaults filled in.
    pub attributes: BTreeMap<String, String>,
    /// Targets registered through the API (services register theirs on
    /// the balancer directly and re-register after a restart themselves).
    pub targets: Vec<TargetSpec>,
}

impl Default for TargetGroup {
    fn default() -> Self {
        TargetGroup {
            arn: String::new(),
            name: String::new(),
            protocol: "HTTP".into(),
            port: 80,
            vpc_id: None,
            target_type: "instance".into(),
            health_check: HealthCheck::default(),
            attributes: default_target_group_attributes(),
            targets: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetSpec {
    pub id: String,
    pub port: u16,
    pub availability_zone: Option<String>,
}

/// Health check settings in AWS's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HealthCheck {
    pub enabled: bool,
    pub protocol: String,
    /// `traffic-port` or a port number.
    pub port: String,
    pub path: String,
    pub interval_seconds: u32,
    pub timeout_seconds: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    /// `HttpCode`: `200`, `200-299`, `200,302`.
    pub matcher: String,
}

impl Default for HealthCheck {
    /// AWS's defaults for an HTTP target group.
    fn default() -> Self {
        HealthCheck {
            enabled: true,
            protocol: "HTTP".into(),
            port: "traffic-port".into(),
            path: "/".into(),
            interval_seconds: 30,
            timeout_seconds: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: "200".into(),
        }
    }
}

impl HealthCheck {
    /// The balancer's settings, validated with AWS's ranges.
    pub fn to_alb(&self) -> Result<alb::HealthCheckConfig, String> {
        if self.protocol != "HTTP" {
            return Err(format!(
                "Health check protocol '{}' is not supported; use HTTP",
                self.protocol
            ));
        }
        let port = if self.port == "traffic-port" {
            alb::HealthCheckPort::TrafficPort
        } else {
            match self.port.parse::<u16>() {
                Ok(p) if p > 0 => alb::HealthCheckPort::Fixed(p),
                _ => {
                    return Err(format!(
                        "Health check port '{}' must be 'traffic-port' or 1-65535",
                        self.port
                    ))
                }
            }
        };
        let matcher = alb::Matcher::parse(&self.matcher).map_err(|e| e.to_string())?;
        let config = alb::HealthCheckConfig {
            enabled: self.enabled,
            path: self.path.clone(),
            port,
            interval: Duration::from_secs(self.interval_seconds.into()),
            timeout: Duration::from_secs(self.timeout_seconds.into()),
            healthy_threshold: self.healthy_threshold,
            unhealthy_threshold: self.unhealthy_threshold,
            matcher,
        };
        if self.path.len() > 1024 {
            return Err("Health check path must be at most 1024 characters".into());
        }
        config.validate_aws().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

/// `deregistration_delay.timeout_seconds`.
pub const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";
/// `load_balancing.algorithm.type`.
pub const ALGORITHM: &str = "load_balancing.algorithm.type";

/// AWS's defaults for the attributes the emulator knows. Only the first two
/// change behaviour; the others are stored and reported.
pub fn default_target_group_attributes() -> BTreeMap<String, String> {
    [
        (DEREGISTRATION_DELAY, "300"),
        (ALGORITHM, "round_robin"),
        ("stickiness.enabled", "false"),
        ("stickiness.type", "lb_cookie"),
        ("stickiness.lb_cookie.duration_seconds", "86400"),
        ("slow_start.duration_seconds", "0"),
        (
            "load_balancing.cross_zone.enabled",
            "use_load_balancer_configuration",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Checks one attribute change (known key, valid value).
pub fn validate_attribute(key: &str, value: &str) -> Result<(), String> {
    let bad = || format!("Attribute '{key}' value '{value}' is invalid");
    match key {
        DEREGISTRATION_DELAY => match value.parse::<u32>() {
            Ok(v) if v <= 3600 => Ok(()),
            _ => Err(format!("{} (0-3600 seconds)", bad())),
        },
        ALGORITHM => value
            .parse::<alb::LoadBalancingAlgorithm>()
            .map(|_| ())
            .map_err(|_| format!("{} (round_robin or least_outstanding_requests)", bad())),
        "stickiness.enabled" => match value {
            "true" | "false" => Ok(()),
            _ => Err(bad()),
        },
        "stickiness.type" | "load_balancing.cross_zone.enabled" => Ok(()),
        "stickiness.lb_cookie.duration_seconds" | "slow_start.duration_seconds" => {
            value.parse::<u32>().map(|_| ()).map_err(|_| bad())
        }
        other => Err(format!(
            "Target group attribute key '{other}' is not recognized"
        )),
    }
}

impl TargetGroup {
    /// The balancer's attributes from the AWS ones.
    pub fn alb_attributes(&self) -> alb::TargetGroupAttributes {
        let mut a = alb::TargetGroupAttributes::default();
        if let Some(d) = self
            .attributes
            .get(DEREGISTRATION_DELAY)
            .and_then(|v| v.parse::<u64>().ok())
        {
            a.deregistration_delay = Duration::from_secs(d);
        }
        if let Some(alg) = self
            .attributes
            .get(ALGORITHM)
            .and_then(|v| v.parse::<alb::LoadBalancingAlgorithm>().ok())
        {
            a.algorithm = alg;
        }
        a
    }

    /// The balancer's whole configuration.
    pub fn alb_config(&self) -> Result<alb::TargetGroupConfig, String> {
        Ok(alb::TargetGroupConfig {
            port: self.port,
            health_check: self.health_check.to_alb()?,
            attributes: self.alb_attributes(),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Listener {
    pub arn: String,
    pub load_balancer_arn: String,
    pub protocol: String,
    pub port: u16,
    pub default_actions: Vec<ActionSpec>,
    /// The attributes changed from AWS's defaults (stored and reported).
    pub attributes: BTreeMap<String, String>,
    /// HTTPS listeners' certificates, policy and mTLS.
    pub tls: Option<tls::ListenerTls>,
}

/// AWS's defaults for an HTTP listener's attributes.
pub fn default_listener_attributes() -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = LISTENER_RESPONSE_HEADERS
        .iter()
        .map(|h| {
            (
                format!("routing.http.response.{h}.header_value"),
                String::new(),
            )
        })
        .collect();
    all.insert("routing.http.response.server.enabled".into(), "true".into());
    all
}

/// The response headers an ALB listener can add
/// (`routing.http.response.NAME.header_value`).
pub const LISTENER_RESPONSE_HEADERS: &[&str] = &[
    "strict_transport_security",
    "access_control_allow_origin",
    "access_control_allow_methods",
    "access_control_allow_headers",
    "access_control_allow_credentials",
    "access_control_expose_headers",
    "access_control_max_age",
    "content_security_policy",
    "x_content_type_options",
    "x_frame_options",
];

impl Listener {
    /// Every attribute: AWS's defaults, then the changes.
    pub fn attributes(&self) -> BTreeMap<String, String> {
        let mut all = default_listener_attributes();
        if self.tls.is_some() {
            all.extend(tls::https_listener_attributes());
        }
        all.extend(self.attributes.clone());
        all
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    pub arn: String,
    pub listener_arn: String,
    pub priority: u32,
    pub conditions: Vec<ConditionSpec>,
    pub actions: Vec<ActionSpec>,
}

/// A rule action in AWS's terms (`Type` plus its config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActionSpec {
    /// `forward`, `fixed-response` or `redirect`.
    #[serde(rename = "type")]
    pub kind: String,
    pub order: Option<u32>,
    /// `TargetGroupArn` (forward to one group).
    pub target_group_arn: Option<String>,
    /// `ForwardConfig.TargetGroups` (ARN, weight).
    pub forward_target_groups: Vec<(String, u32)>,
    pub fixed_response: Option<FixedResponse>,
    pub redirect: Option<Redirect>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FixedResponse {
    pub status_code: String,
    pub content_type: Option<String>,
    pub message_body: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Redirect {
    pub protocol: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub path: Option<String>,
    pub query: Option<String>,
    /// `HTTP_301` or `HTTP_302`.
    pub status_code: String,
}

impl ActionSpec {
    pub fn forward(target_group_arn: &str) -> ActionSpec {
        ActionSpec {
            kind: "forward".into(),
            target_group_arn: Some(target_group_arn.into()),
            ..Default::default()
        }
    }

    /// Every target group this action forwards to.
    pub fn target_group_arns(&self) -> impl Iterator<Item = &str> {
        self.target_group_arn
            .as_deref()
            .into_iter()
            .chain(self.forward_target_groups.iter().map(|(a, _)| a.as_str()))
    }

    /// The balancer's action for an AWS action list (exactly one terminal
    /// action: authentication actions are not emulated).
    pub fn to_alb(actions: &[ActionSpec]) -> Result<alb::Action, String> {
        let [a] = actions else {
            return Err(format!(
                "Exactly one action (forward, fixed-response or redirect) is supported, got {}",
                actions.len()
            ));
        };
        match a.kind.as_str() {
            "forward" => {
                let mut groups: Vec<alb::WeightedTargetGroup> = a
                    .forward_target_groups
                    .iter()
                    .map(|(arn, w)| alb::WeightedTargetGroup {
                        target_group_arn: arn.clone(),
                        weight: *w,
                    })
                    .collect();
                match (&a.target_group_arn, groups.is_empty()) {
                    (Some(arn), true) => groups.push(alb::WeightedTargetGroup {
                        target_group_arn: arn.clone(),
                        weight: 1,
                    }),
                    (Some(arn), false) => {
                        if groups.len() != 1 || groups[0].target_group_arn != *arn {
                            return Err("TargetGroupArn and ForwardConfig must name the same single target group when both are given".into());
                        }
                    }
                    (None, true) => {
                        return Err(
                            "A forward action needs TargetGroupArn or ForwardConfig.TargetGroups"
                                .into(),
                        )
                    }
                    (None, false) => {}
                }
                Ok(alb::Action::Forward(groups))
            }
            "fixed-response" => {
                let f = a
                    .fixed_response
                    .as_ref()
                    .ok_or("A fixed-response action needs FixedResponseConfig")?;
                let status_code: u16 = f.status_code.parse().map_err(|_| {
                    format!("Invalid fixed-response StatusCode '{}'", f.status_code)
                })?;
                Ok(alb::Action::FixedResponse(alb::FixedResponseConfig {
                    status_code,
                    content_type: f.content_type.clone(),
                    message_body: f.message_body.clone(),
                }))
            }
            "redirect" => {
                let r = a
                    .redirect
                    .as_ref()
                    .ok_or("A redirect action needs RedirectConfig")?;
                let status_code = match r.status_code.as_str() {
                    "HTTP_301" => alb::RedirectStatus::Http301,
                    "HTTP_302" => alb::RedirectStatus::Http302,
                    other => {
                        return Err(format!(
                            "Redirect StatusCode '{other}' must be HTTP_301 or HTTP_302"
                        ))
                    }
                };
                Ok(alb::Action::Redirect(alb::RedirectConfig {
                    protocol: r.protocol.clone(),
                    host: r.host.clone(),
                    port: r.port.clone(),
                    path: r.path.clone(),
                    query: r.query.clone(),
                    status_code,
                }))
            }
            other => Err(format!(
                "Action type '{other}' is not supported (forward, fixed-response, redirect)"
            )),
        }
    }
}

/// A rule condition in AWS's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConditionSpec {
    /// `path-pattern`, `host-header`, `http-request-method`,
    /// `query-string`, `http-header`.
    pub field: String,
    /// Values (from `Values` or the field's `*Config.Values`).
    pub values: Vec<String>,
    /// `HttpHeaderConfig.HttpHeaderName`.
    pub http_header_name: Option<String>,
    /// `QueryStringConfig.Values` (key, value).
    pub query_string: Vec<(Option<String>, String)>,
}

impl ConditionSpec {
    pub fn path_pattern(values: &[&str]) -> ConditionSpec {
        ConditionSpec {
            field: "path-pattern".into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            ..Default::default()
        }
    }

    pub fn to_alb(&self) -> Result<alb::Condition, String> {
        Ok(match self.field.as_str() {
            "path-pattern" => alb::Condition::PathPattern(self.values.clone()),
            "host-header" => alb::Condition::HostHeader(self.values.clone()),
            "http-request-method" => alb::Condition::HttpRequestMethod(self.values.clone()),
            "query-string" => alb::Condition::QueryString(
                self.query_string
                    .iter()
                    .map(|(k, v)| alb::QueryStringPair {
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect(),
            ),
            "http-header" => alb::Condition::HttpHeader {
                name: self
                    .http_header_name
                    .clone()
                    .ok_or("An http-header condition needs HttpHeaderConfig.HttpHeaderName")?,
                values: self.values.clone(),
            },
            "source-ip" => return Err("Condition field 'source-ip' is not supported".into()),
            other => return Err(format!("Condition field '{other}' is not valid")),
        })
    }
}

/// A load balancer or target group name: 1-32 alphanumerics or hyphens,
/// not beginning or ending with a hyphen.
pub fn validate_name(kind: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        return Err(format!("{kind} name '{name}' must be 1-32 alphanumeric characters or hyphens, and must not begin or end with a hyphen"));
    }
    if kind == "Load balancer" && name.starts_with("internal-") {
        return Err(format!(
            "Load balancer name '{name}' cannot begin with 'internal-'"
        ));
    }
    Ok(())
}

pub use super::arn::{default_rule_arn, new_id, ElbArns};

/// The DNS name reported for a load balancer.
pub fn dns_name(name: &str, arn: &str, region: &str) -> String {
    let id = arn.rsplit('/').next().unwrap_or("");
    format!("{name}-{}.{region}.elb.localhost", &id[..8.min(id.len())])
}

/// A target group of the stack file (CreateTargetGroup's fields in
/// camelCase; `attributes` as key/value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTargetGroup {
    pub name: String,
    pub port: u16,
    #[serde(default)]
    pub target_type: Option<String>,
    #[serde(default)]
    pub health_check_path: Option<String>,
    #[serde(default)]
    pub health_check_interval_seconds: Option<u32>,
    #[serde(default)]
    pub health_check_timeout_seconds: Option<u32>,
    #[serde(default)]
    pub healthy_threshold_count: Option<u32>,
    #[serde(default)]
    pub unhealthy_threshold_count: Option<u32>,
    #[serde(default)]
    pub matcher: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A load balancer of the stack file with its listeners.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackLoadBalancer {
    pub name: String,
    #[serde(default)]
    pub listeners: Vec<StackListener>,
}

/// A listener: its AWS port (see `--alb-addr` for where port 80 binds),
/// the default target group and path rules, by target group name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackListener {
    pub port: u16,
    pub default_target_group: String,
    #[serde(default)]
    pub rules: Vec<StackRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackRule {
    pub priority: u32,
    pub path_patterns: Vec<String>,
    pub target_group: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_have_the_aws_form() {
        let a = ElbArns::default();
        let lb = a.load_balancer("web", "50dc6c495c0c9188");
        assert_eq!(
            lb,
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/50dc6c495c0c9188"
        );
        let l = a.listener(&lb, "f2f7dc8efc522ab2");
        assert_eq!(l, "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2");
        assert_eq!(a.rule(&l, "9683b2d02a6cabee"), "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee");
        assert_eq!(
            a.target_group("tg", "1"),
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg/1"
        );
        assert!(default_rule_arn(&l).contains(":listener-rule/app/web/"));
        assert_eq!(new_id().len(), 16);
    }

    #[test]
    fn health_check_uses_aws_ranges() {
        assert!(HealthCheck::default().to_alb().is_ok());
        for bad in [
            HealthCheck {
                interval_seconds: 4,
                ..Default::default()
            },
            HealthCheck {
                timeout_seconds: 30,
                ..Default::default()
            },
            HealthCheck {
                healthy_threshold: 11,
                ..Default::default()
            },
            HealthCheck {
                matcher: "600".into(),
                ..Default::default()
            },
            HealthCheck {
                path: "nope".into(),
                ..Default::default()
            },
            HealthCheck {
                port: "x".into(),
                ..Default::default()
            },
        ] {
            assert!(bad.to_alb().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn actions_and_conditions_convert() {
        let a = ActionSpec::to_alb(&[ActionSpec::forward("tg")]).unwrap();
        assert_eq!(a, alb::Action::forward("tg"));
        assert!(ActionSpec::to_alb(&[]).is_err());
        assert!(ActionSpec::to_alb(&[ActionSpec {
            kind: "forward".into(),
            ..Default::default()
        }])
        .is_err());
        let c = ConditionSpec::path_pattern(&["/ping"]).to_alb().unwrap();
        assert_eq!(c, alb::Condition::PathPattern(vec!["/ping".into()]));
        assert!(ConditionSpec {
            field: "nope".into(),
            ..Default::default()
        }
        .to_alb()
        .is_err());
    }

    #[test]
    fn every_subnet_has_a_zone_of_its_own() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let zones = availability_zones("r-", &s(&["subnet-x", "subnet-y"]));
        assert_eq!(zones, ["r-a", "r-b"]);
        // EC2's default subnet of zone b (0x1000 + 'b') stays in b.
        let b = format!("subnet-{:017x}", 0x1000 + 'b' as u32);
        let zones = availability_zones("r-", &s(&[&b, "subnet-x", "subnet-y"]));
        assert_eq!(zones, ["r-b", "r-a", "r-c"]);
    }

    #[test]
    fn names_and_attributes_are_checked() {
        assert!(validate_name("Target group", "a-b-1").is_ok());
        for bad in ["", "-a", "a-", "a_b", &"x".repeat(33)] {
            assert!(validate_name("Target group", bad).is_err(), "{bad}");
        }
        assert!(validate_name("Load balancer", "internal-x").is_err());
        assert!(validate_attribute(DEREGISTRATION_DELAY, "5").is_ok());
        assert!(validate_attribute(DEREGISTRATION_DELAY, "3601").is_err());
        assert!(validate_attribute(ALGORITHM, "random").is_err());
        assert!(validate_attribute("nope", "1").is_err());
    }
}
