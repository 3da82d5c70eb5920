//! Listener rules: conditions, actions, and the compiled routing table.
//!
//! A listener owns a set of [`RuleConfig`]s keyed by rule ARN plus a default
//! [`Action`]. Every change recompiles the whole set into an immutable
//! [`RouteTable`] (rules sorted by ascending priority, target group ARNs
//! resolved to live target groups) that the listener swaps in atomically, so
//! the request path reads routing with one lock-free `ArcSwap::load` and
//! never sees half a change. Semantics follow the AWS documentation:
//! conditions within a rule are ANDed, values within a condition are ORed,
//! `path-pattern` is case-sensitive and sees the path only (never the query),
//! `host-header`, `http-header` and `query-string` compare case-insensitively,
//! and `http-request-method` is an exact, case-sensitive name.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::target_group::TargetGroup;
use crate::wildcard;

/// Lowest and highest rule priority AWS accepts.
pub const PRIORITY_RANGE: std::ops::RangeInclusive<u32> = 1..=50_000;
/// AWS allows up to five values per condition.
pub const MAX_CONDITION_VALUES: usize = 5;
/// Maximum length of one condition value.
pub const MAX_VALUE_LEN: usize = 128;
/// Maximum size of a fixed-response body.
pub const MAX_FIXED_BODY: usize = 1024;

/// What a `path-pattern` value may contain (the AWS rule; AWS documents
/// `&` as `&amp;`, its XML spelling).
const PATH_PATTERN_CHARS: &str =
    "only A-Z, a-z, 0-9, the wildcards * and ? and the characters _ - . $ / ~ \" ' @ : + & are allowed";

/// Whether `b` may appear in a `path-pattern` value: ASCII letters and
/// digits, `_ - . $ / ~ " ' @ : + &` and the wildcards `*` and `?`. Control
/// characters, spaces, `%`, `#`, `;`, non-ASCII bytes and the rest are not.
fn is_path_pattern_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_-.$/~\"'@:+&*?".contains(&b)
}

/// Why a rule or action was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RuleError {
    #[error("rule priority {0} is outside 1..=50000")]
    InvalidPriority(u32),
    #[error("priority {priority} is already used by rule {rule_arn}")]
    PriorityInUse { priority: u32, rule_arn: String },
    #[error("rule {0} already exists")]
    RuleExists(String),
    #[error("rule {0} not found")]
    RuleNotFound(String),
    #[error("a rule needs at least one condition")]
    NoConditions,
    #[error("condition {condition} has {count} values; it needs 1 to 5")]
    ConditionValueCount {
        condition: &'static str,
        count: usize,
    },
    #[error("condition {condition} value {value:?} is invalid: {why}")]
    InvalidConditionValue {
        condition: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("invalid action: {0}")]
    InvalidAction(String),
    #[error("target group {0} not found")]
    TargetGroupNotFound(String),
}

/// One key/value pair of a `query-string` condition; a missing key matches
/// any key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryStringPair {
    #[serde(default)]
    pub key: Option<String>,
    pub value: String,
}

/// A rule condition (the `Field` of an AWS `RuleCondition`). In JSON an
/// object keyed by the field name: `{"path-pattern": ["/api/*"]}`,
/// `{"http-header": {"name": "X-Env", "values": ["prod"]}}`,
/// `{"query-string": [{"key": "v", "value": "2"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// `path-pattern`: case-sensitive, wildcards, path only.
    PathPattern(Vec<String>),
    /// `host-header`: case-insensitive, wildcards, port ignored.
    HostHeader(Vec<String>),
    /// `http-request-method`: exact method names.
    HttpRequestMethod(Vec<String>),
    /// `query-string`: any parameter matching any pair.
    QueryString(Vec<QueryStringPair>),
    /// `http-header`: the named header (case-insensitive name and value,
    /// wildcards in the value).
    HttpHeader { name: String, values: Vec<String> },
}

impl Condition {
    /// The AWS `Field` name.
    pub fn field(&self) -> &'static str {
        match self {
            Condition::PathPattern(_) => "path-pattern",
            Condition::HostHeader(_) => "host-header",
            Condition::HttpRequestMethod(_) => "http-request-method",
            Condition::QueryString(_) => "query-string",
            Condition::HttpHeader { .. } => "http-header",
        }
    }

    fn validate(&self) -> Result<(), RuleError> {
        let field = self.field();
        let count = match self {
            Condition::PathPattern(v)
            | Condition::HostHeader(v)
            | Condition::HttpRequestMethod(v)
            | Condition::HttpHeader { values: v, .. } => v.len(),
            Condition::QueryString(v) => v.len(),
        };
        if count == 0 || count > MAX_CONDITION_VALUES {
            return Err(RuleError::ConditionValueCount {
                condition: field,
                count,
            });
        }
        let bad = |value: &str, why| RuleError::InvalidConditionValue {
            condition: field,
            value: value.to_owned(),
            why,
        };
        let check_len = |value: &str| {
            if value.is_empty() || value.len() > MAX_VALUE_LEN {
                Err(bad(value, "length must be 1 to 128"))
            } else {
                Ok(())
            }
        };
        match self {
            Condition::PathPattern(v) => v.iter().try_for_each(|s| {
                check_len(s)?;
                if s.bytes().all(is_path_pattern_byte) {
                    Ok(())
                } else {
                    Err(bad(s, PATH_PATTERN_CHARS))
                }
            }),
            Condition::HostHeader(v) => v.iter().try_for_each(|s| check_len(s)),
            Condition::HttpRequestMethod(v) => v.iter().try_for_each(|s| {
                check_len(s)?;
                if s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
                {
                    Ok(())
                } else {
                    Err(bad(s, "only A-Z, '-' and '_' are allowed"))
                }
            }),
            Condition::QueryString(v) => v.iter().try_for_each(|p| {
                if let Some(k) = &p.key {
                    check_len(k)?;
                }
                check_len(&p.value)
            }),
            Condition::HttpHeader { name, values } => {
                check_len(name)?;
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(bad(name, "not a valid header name"));
                }
                values.iter().try_for_each(|s| check_len(s))
            }
        }
    }

    pub(crate) fn matches(&self, req: &RequestView<'_>) -> bool {
        match self {
            Condition::PathPattern(v) => v.iter().any(|p| wildcard::matches(p, req.path, false)),
            Condition::HostHeader(v) => match req.host {
                Some(host) => v.iter().any(|p| wildcard::matches(p, host, true)),
                None => false,
            },
            Condition::HttpRequestMethod(v) => v.iter().any(|m| m == req.method.as_str()),
            Condition::QueryString(pairs) => {
                let Some(query) = req.query else {
                    return false;
                };
                query.split('&').filter(|s| !s.is_empty()).any(|param| {
                    let (k, val) = param.split_once('=').unwrap_or((param, ""));
                    pairs.iter().any(|pair| {
                        pair.key
                            .as_deref()
                            .is_none_or(|pk| wildcard::matches(pk, k, true))
                            && wildcard::matches(&pair.value, val, true)
                    })
                })
            }
            Condition::HttpHeader { name, values } => {
                req.headers.get_all(name.as_str()).iter().any(|hv| {
                    hv.to_str()
                        .is_ok_and(|s| values.iter().any(|p| wildcard::matches(p, s, true)))
                })
            }
        }
    }
}

/// The parts of a request that conditions look at.
pub(crate) struct RequestView<'a> {
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// Host name without port, from the absolute URI or the `Host` header.
    pub host: Option<&'a str>,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
}

impl<'a> RequestView<'a> {
    pub(crate) fn of<B>(req: &'a http::Request<B>) -> Self {
        let uri = req.uri();
        let host = uri.host().or_else(|| {
            req.headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(strip_port)
        });
        RequestView {
            path: uri.path(),
            query: uri.query(),
            host,
            method: req.method(),
            headers: req.headers(),
        }
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // IPv6 literal: keep through the closing bracket.
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// One target group of a `forward` action with its weight (0..=999; 1
/// when JSON leaves it out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedTargetGroup {
    pub target_group_arn: String,
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// A `fixed-response` action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedResponseConfig {
    /// 2XX, 4XX or 5XX.
    pub status_code: u16,
    /// Defaults to `text/plain`.
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub message_body: Option<String>,
}

/// HTTP_301 or HTTP_302 (in JSON those AWS names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedirectStatus {
    #[serde(rename = "HTTP_301")]
    Http301,
    #[serde(rename = "HTTP_302")]
    Http302,
}

/// A `redirect` action. Every part may use the placeholders `#{protocol}`,
/// `#{host}`, `#{port}`, `#{path}` (without its leading `/`) and `#{query}`;
/// a missing part keeps the original (`/#{path}` for the path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectConfig {
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    pub status_code: RedirectStatus,
}

/// What a matching rule (or the default action) does. In JSON an object
/// keyed by the AWS action type: `{"forward": [{"target_group_arn": "arn",
/// "weight": 1}]}`, `{"fixed-response": {"status_code": 404,
/// "message_body": "nope"}}`, `{"redirect": {"port": "443",
/// "status_code": "HTTP_301"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Forward to one target group, or split across weighted ones.
    Forward(Vec<WeightedTargetGroup>),
    FixedResponse(FixedResponseConfig),
    Redirect(RedirectConfig),
}

impl Action {
    /// Forward everything to one target group.
    pub fn forward(target_group_arn: impl Into<String>) -> Self {
        Action::Forward(vec![WeightedTargetGroup {
            target_group_arn: target_group_arn.into(),
            weight: 1,
        }])
    }

    /// A fixed `text/plain` response.
    pub fn fixed_response(status_code: u16, body: impl Into<String>) -> Self {
        Action::FixedResponse(FixedResponseConfig {
            status_code,
            content_type: None,
            message_body: Some(body.into()),
        })
    }

    /// Target group ARNs this action refers to.
    pub fn target_group_arns(&self) -> impl Iterator<Item = &str> {
        let groups: &[WeightedTargetGroup] = match self {
            Action::Forward(g) => g,
            _ => &[],
        };
        groups.iter().map(|g| g.target_group_arn.as_str())
    }

    pub(crate) fn validate(&self) -> Result<(), RuleError> {
        let invalid = |s: String| Err(RuleError::InvalidAction(s));
        match self {
            Action::Forward(groups) => {
                if groups.is_empty() || groups.len() > 5 {
                    return invalid("forward needs 1 to 5 target groups".into());
                }
                if groups.iter().any(|g| g.weight > 999) {
                    return invalid("target group weights are 0 to 999".into());
                }
                Ok(())
            }
            Action::FixedResponse(f) => {
                let class = f.status_code / 100;
                if !matches!(class, 2 | 4 | 5) || f.status_code > 599 {
                    return invalid(format!(
                        "fixed-response status {} is not 2XX, 4XX or 5XX",
                        f.status_code
                    ));
                }
                if f.message_body
                    .as_ref()
                    .is_some_and(|b| b.len() > MAX_FIXED_BODY)
                {
                    return invalid("fixed-response body is over 1024 bytes".into());
                }
                if let Some(ct) = &f.content_type {
                    if HeaderValue::from_str(ct).is_err() {
                        return invalid(format!("bad content type {ct:?}"));
                    }
                }
                Ok(())
            }
            Action::Redirect(r) => {
                if let Some(p) = &r.protocol {
                    if !matches!(p.as_str(), "HTTP" | "HTTPS" | "#{protocol}") {
                        return invalid(format!("redirect protocol {p:?}"));
                    }
                }
                if r.path.as_ref().is_some_and(|p| !p.starts_with('/')) {
                    return invalid("redirect path must start with '/'".into());
                }
                Ok(())
            }
        }
    }
}

/// A rule as the caller defines it. In JSON `{"priority": 1,
/// "conditions": [...], "action": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleConfig {
    pub priority: u32,
    pub conditions: Vec<Condition>,
    pub action: Action,
}

impl RuleConfig {
    pub(crate) fn validate(&self) -> Result<(), RuleError> {
        if !PRIORITY_RANGE.contains(&self.priority) {
            return Err(RuleError::InvalidPriority(self.priority));
        }
        if self.conditions.is_empty() {
            return Err(RuleError::NoConditions);
        }
        self.conditions.iter().try_for_each(Condition::validate)?;
        self.action.validate()
    }
}

/// A rule as reported back (`DescribeRules`); the default rule has no
/// priority and no conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDescription {
    pub rule_arn: String,
    /// `None` for the default rule.
    pub priority: Option<u32>,
    pub conditions: Vec<Condition>,
    pub action: Action,
}

/// The source of truth for a listener's rules; compiled into a
/// [`RouteTable`] after every change.
#[derive(Debug, Clone)]
pub(crate) struct RuleSet {
    pub rules: BTreeMap<String, RuleConfig>,
    pub default_action: Action,
}

impl RuleSet {
    pub(crate) fn new(default_action: Action) -> Result<Self, RuleError> {
        default_action.validate()?;
        Ok(RuleSet {
            rules: BTreeMap::new(),
            default_action,
        })
    }

    /// A whole rule set at once: the default action and every rule valid,
    /// no priority used twice.
    pub(crate) fn with_rules(
        default_action: Action,
        rules: BTreeMap<String, RuleConfig>,
    ) -> Result<Self, RuleError> {
        let mut set = RuleSet::new(default_action)?;
        for (arn, rule) in rules {
            rule.validate()?;
            set.check_priority_free(rule.priority, &arn)?;
            set.rules.insert(arn, rule);
        }
        Ok(set)
    }

    pub(crate) fn check_priority_free(&self, priority: u32, except: &str) -> Result<(), RuleError> {
        match self
            .rules
            .iter()
            .find(|(arn, r)| r.priority == priority && arn.as_str() != except)
        {
            Some((arn, _)) => Err(RuleError::PriorityInUse {
                priority,
                rule_arn: arn.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Resolve target groups and sort by priority.
    pub(crate) fn compile(
        &self,
        resolve: impl Fn(&str) -> Option<Arc<TargetGroup>>,
    ) -> Result<RouteTable, RuleError> {
        let mut rules = self
            .rules
            .values()
            .map(|r| {
                Ok(CompiledRule {
                    priority: r.priority,
                    conditions: r.conditions.clone(),
                    action: CompiledAction::compile(&r.action, &resolve)?,
                })
            })
            .collect::<Result<Vec<_>, RuleError>>()?;
        rules.sort_by_key(|r| r.priority);
        Ok(RouteTable {
            rules,
            default: CompiledAction::compile(&self.default_action, &resolve)?,
        })
    }

    pub(crate) fn describe(&self, listener_arn: &str) -> Vec<RuleDescription> {
        let mut out: Vec<RuleDescription> = self
            .rules
            .iter()
            .map(|(arn, r)| RuleDescription {
                rule_arn: arn.clone(),
                priority: Some(r.priority),
                conditions: r.conditions.clone(),
                action: r.action.clone(),
            })
            .collect();
        out.sort_by_key(|r| r.priority);
        out.push(RuleDescription {
            rule_arn: default_rule_arn(listener_arn),
            priority: None,
            conditions: Vec::new(),
            action: self.default_action.clone(),
        });
        out
    }

    pub(crate) fn uses_target_group(&self, arn: &str) -> bool {
        self.default_action.target_group_arns().any(|a| a == arn)
            || self
                .rules
                .values()
                .any(|r| r.action.target_group_arns().any(|a| a == arn))
    }
}

/// The ARN reported for a listener's default rule.
pub fn default_rule_arn(listener_arn: &str) -> String {
    format!("{listener_arn}/default")
}

/// Immutable, priority-ordered routing for one listener.
pub(crate) struct RouteTable {
    rules: Vec<CompiledRule>,
    default: CompiledAction,
}

struct CompiledRule {
    priority: u32,
    conditions: Vec<Condition>,
    action: CompiledAction,
}

impl RouteTable {
    /// The action of the first matching rule, else the default action.
    #[cfg(test)]
    pub(crate) fn route(&self, req: &RequestView<'_>) -> &CompiledAction {
        self.route_with_priority(req).1
    }

    /// The first matching rule's priority (0: the default action), as the
    /// access log's `matched_rule_priority`, and its action.
    pub(crate) fn route_with_priority(&self, req: &RequestView<'_>) -> (u32, &CompiledAction) {
        self.rules
            .iter()
            .find(|r| r.conditions.iter().all(|c| c.matches(req)))
            .map_or((0, &self.default), |r| (r.priority, &r.action))
    }

    #[cfg(test)]
    fn priorities(&self) -> Vec<u32> {
        self.rules.iter().map(|r| r.priority).collect()
    }
}

pub(crate) enum CompiledAction {
    Forward(CompiledForward),
    Fixed {
        status: StatusCode,
        content_type: HeaderValue,
        body: Bytes,
    },
    Redirect(RedirectConfig),
}

pub(crate) struct CompiledForward {
    groups: Vec<(Arc<TargetGroup>, u32)>,
    total_weight: u32,
    next: AtomicU32,
}

impl CompiledForward {
    /// Pick a target group by weight (a deterministic weighted rotation).
    pub(crate) fn pick(&self) -> Option<&Arc<TargetGroup>> {
        if self.groups.len() == 1 {
            return self.groups.first().map(|(g, _)| g);
        }
        if self.total_weight == 0 {
            return None;
        }
        let mut n = self.next.fetch_add(1, Ordering::Relaxed) % self.total_weight;
        for (g, w) in &self.groups {
            if n < *w {
                return Some(g);
            }
            n -= w;
        }
        None
    }
}

impl CompiledAction {
    fn compile(
        action: &Action,
        resolve: &impl Fn(&str) -> Option<Arc<TargetGroup>>,
    ) -> Result<Self, RuleError> {
        Ok(match action {
            Action::Forward(groups) => {
                let groups = groups
                    .iter()
                    .map(|g| {
                        resolve(&g.target_group_arn)
                            .map(|tg| (tg, g.weight))
                            .ok_or_else(|| {
                                RuleError::TargetGroupNotFound(g.target_group_arn.clone())
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let total_weight = groups.iter().map(|(_, w)| *w).sum();
                CompiledAction::Forward(CompiledForward {
                    groups,
                    total_weight,
                    next: AtomicU32::new(0),
                })
            }
            Action::FixedResponse(f) => CompiledAction::Fixed {
                status: StatusCode::from_u16(f.status_code)
                    .map_err(|e| RuleError::InvalidAction(e.to_string()))?,
                content_type: HeaderValue::from_str(
                    f.content_type.as_deref().unwrap_or("text/plain"),
                )
                .map_err(|e| RuleError::InvalidAction(e.to_string()))?,
                body: Bytes::from(f.message_body.clone().unwrap_or_default()),
            },
            Action::Redirect(r) => CompiledAction::Redirect(r.clone()),
        })
    }
}

/// Build the `Location` of a redirect action.
pub(crate) fn redirect_location(
    r: &RedirectConfig,
    req: &RequestView<'_>,
    listener_port: u16,
) -> String {
    let host = req.host.unwrap_or("");
    let path_no_slash = req.path.strip_prefix('/').unwrap_or(req.path);
    let port = listener_port.to_string();
    let query = req.query.unwrap_or("");
    let fill = |template: &str| {
        template
            .replace("#{protocol}", "HTTP")
            .replace("#{host}", host)
            .replace("#{port}", &port)
            .replace("#{path}", path_no_slash)
            .replace("#{query}", query)
    };
    let protocol = fill(r.protocol.as_deref().unwrap_or("#{protocol}")).to_ascii_lowercase();
    let host = fill(r.host.as_deref().unwrap_or("#{host}"));
    let port = fill(r.port.as_deref().unwrap_or("#{port}"));
    let path = fill(r.path.as_deref().unwrap_or("/#{path}"));
    let query = fill(r.query.as_deref().unwrap_or("#{query}"));
    let default_port = matches!(
        (protocol.as_str(), port.as_str()),
        ("http", "80") | ("https", "443")
    );
    let mut out = format!("{protocol}://{host}");
    if !default_port {
        out.push(':');
        out.push_str(&port);
    }
    out.push_str(&path);
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    out
}

#[cfg(test)]
mod tests;
