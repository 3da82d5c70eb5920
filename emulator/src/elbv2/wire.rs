//! The ELBv2 API: AWS Query protocol on the same `POST /` as the JSON APIs.
//! A form-encoded body (`Action=...&Version=2015-12-01`, `Member.N` lists)
//! becomes an [`ElbCommand`]; its [`ElbReply`] becomes the XML response in
//! the `2015-12-01` namespace; every failure is the AWS XML error shape
//! (HTTP 400 `Sender`, or 500 `Receiver`). Every value written into XML is
//! escaped by [`Xml`].
//!
//! [`entry`] routes `POST /`: form-encoded requests (or an `Action=` body
//! without `X-Amz-Target`) come here, everything else goes to the JSON
//! dispatch in [`super`].

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::api::{ApiState, AwsRequest};
use crate::elbv2::{
    CreateTargetGroup, Elb, ElbCommand, ElbError, ElbReply, HealthCheckChange, RuleView,
};
use crate::model::elb::{
    ActionSpec, ConditionSpec, FixedResponse, Listener, LoadBalancer, Redirect, TargetGroup,
};

/// The XML namespace of ELBv2 responses.
pub const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
/// The API version the emulator speaks.
pub const VERSION: &str = "2015-12-01";

/// `POST /`: ELBv2 Query requests here, JSON 1.1 to [`crate::api::dispatch`].
pub async fn entry(State(state): State<ApiState>, req: Request) -> Response {
    if is_query(req.headers()) {
        let body = match Bytes::from_request(req, &state).await {
            Ok(b) => b,
            Err(e) => {
                return QueryError::new(
                    StatusCode::BAD_REQUEST,
                    "Sender",
                    "ValidationError",
                    format!("Cannot read the request body: {e}"),
                )
                .into_response()
            }
        };
        return handle(&state.elb, &body).await;
    }
    match AwsRequest::from_request(req, &state).await {
        Ok(r) => match crate::api::dispatch(State(state), r).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// Query protocol: a form-encoded body, or no `X-Amz-Target` and no JSON
/// content type. A JSON body without a target belongs to the JSON 1.1
/// side, whose answer names the missing header.
fn is_query(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return true;
    }
    !headers.contains_key("x-amz-target") && !content_type.contains("json")
}

/// Handles one Query request body.
pub async fn handle(elb: &Elb, body: &[u8]) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = async {
        let q = Query::parse(body)?;
        let action = q.req("Action")?;
        if let Some(v) = q.get("Version") {
            if v != VERSION {
                return Err(QueryError::validation(format!(
                    "Version '{v}' is not supported; use {VERSION}"
                )));
            }
        }
        let cmd = command(&action, &q)?;
        let reply = elb.handle(cmd).await.map_err(QueryError::from)?;
        Ok((action, reply))
    }
    .await;
    match result {
        Ok((action, reply)) => {
            let mut x = Xml::default();
            x.raw(&format!("<{action}Response xmlns=\"{NAMESPACE}\">"));
            x.open(&format!("{action}Result"));
            render(&mut x, &reply);
            x.close(&format!("{action}Result"));
            x.open("ResponseMetadata");
            x.leaf("RequestId", &request_id);
            x.close("ResponseMetadata");
            x.raw(&format!("</{action}Response>"));
            xml_response(StatusCode::OK, x.0)
        }
        Err(e) => e.render(&request_id),
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    resp
}

/// An AWS Query error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub status: StatusCode,
    /// `Sender` or `Receiver`.
    pub kind: &'static str,
    pub code: String,
    pub message: String,
}

impl QueryError {
    pub fn new(status: StatusCode, kind: &'static str, code: &str, message: String) -> QueryError {
        QueryError {
            status,
            kind,
            code: code.into(),
            message,
        }
    }

    pub fn validation(message: impl Into<String>) -> QueryError {
        QueryError::new(
            StatusCode::BAD_REQUEST,
            "Sender",
            "ValidationError",
            message.into(),
        )
    }

    fn render(&self, request_id: &str) -> Response {
        let mut x = Xml::default();
        x.raw(&format!("<ErrorResponse xmlns=\"{NAMESPACE}\">"));
        x.open("Error");
        x.leaf("Type", self.kind);
        x.leaf("Code", &self.code);
        x.leaf("Message", &self.message);
        x.close("Error");
        x.leaf("RequestId", request_id);
        x.raw("</ErrorResponse>");
        if self.status.is_server_error() {
            tracing::error!(code = %self.code, message = %self.message, "ELBv2 request failed");
        }
        xml_response(self.status, x.0)
    }
}

impl From<ElbError> for QueryError {
    fn from(e: ElbError) -> QueryError {
        let (status, kind) = if e.is_client() {
            (StatusCode::BAD_REQUEST, "Sender")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "Receiver")
        };
        QueryError::new(status, kind, e.code(), e.to_string())
    }
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        self.render(&uuid::Uuid::new_v4().to_string())
    }
}

/// A parsed Query request: flat `Key.member.N.Sub` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(BTreeMap<String, String>);

impl Query {
    pub fn parse(body: &[u8]) -> Result<Query, QueryError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| QueryError::validation(format!("Malformed form-encoded body: {e}")))?;
        Ok(Query(pairs.into_iter().collect()))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn req(&self, key: &str) -> Result<String, QueryError> {
        self.get(key)
            .map(str::to_string)
            .ok_or_else(|| QueryError::validation(format!("'{key}' must be specified")))
    }

    fn num<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, QueryError> {
        self.get(key)
            .map(|v| {
                v.parse().map_err(|_| {
                    QueryError::validation(format!("'{key}' value '{v}' is not a valid number"))
                })
            })
            .transpose()
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, QueryError> {
        self.get(key)
            .map(|v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(QueryError::validation(format!(
                    "'{key}' value '{v}' must be true or false"
                ))),
            })
            .transpose()
    }

    /// The `prefix.member.N` sub-parameters, ordered by N.
    pub fn members(&self, prefix: &str) -> Vec<Query> {
        let head = format!("{prefix}.member.");
        let mut by_n: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&head) else {
                continue;
            };
            let (n, sub) = rest.split_once('.').unwrap_or((rest, ""));
            if let Ok(n) = n.parse::<u32>() {
                by_n.entry(n)
                    .or_default()
                    .insert(sub.to_string(), v.clone());
            }
        }
        by_n.into_values().map(Query).collect()
    }

    /// The `prefix.member.N` scalar values, ordered by N.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        self.members(prefix)
            .into_iter()
            .filter_map(|m| m.get("").map(str::to_string))
            .collect()
    }

    fn has_prefix(&self, prefix: &str) -> bool {
        self.0.keys().any(|k| k.starts_with(prefix))
    }
}

fn health_check_change(q: &Query) -> Result<HealthCheckChange, QueryError> {
    Ok(HealthCheckChange {
        enabled: q.bool("HealthCheckEnabled")?,
        protocol: q.get("HealthCheckProtocol").map(str::to_string),
        port: q.get("HealthCheckPort").map(str::to_string),
        path: q.get("HealthCheckPath").map(str::to_string),
        interval_seconds: q.num("HealthCheckIntervalSeconds")?,
        timeout_seconds: q.num("HealthCheckTimeoutSeconds")?,
        healthy_threshold: q.num("HealthyThresholdCount")?,
        unhealthy_threshold: q.num("UnhealthyThresholdCount")?,
        matcher: q.get("Matcher.HttpCode").map(str::to_string),
    })
}

/// `Targets.member.N`: id, port, availability zone.
type TargetList = Vec<(String, Option<u16>, Option<String>)>;

fn target_list(q: &Query) -> Result<TargetList, QueryError> {
    q.members("Targets")
        .into_iter()
        .map(|m| {
            let id = m
                .get("Id")
                .ok_or_else(|| QueryError::validation("Every target needs an Id"))?;
            Ok((
                id.to_string(),
                m.num("Port")?,
                m.get("AvailabilityZone").map(str::to_string),
            ))
        })
        .collect()
}

fn actions(q: &Query, prefix: &str) -> Result<Vec<ActionSpec>, QueryError> {
    q.members(prefix)
        .into_iter()
        .map(|m| {
            let kind = m
                .get("Type")
                .ok_or_else(|| QueryError::validation("Every action needs a Type"))?;
            let forward_target_groups = m
                .members("ForwardConfig.TargetGroups")
                .into_iter()
                .map(|g| {
                    let arn = g.req("TargetGroupArn")?;
                    Ok((arn, g.num("Weight")?.unwrap_or(1)))
                })
                .collect::<Result<Vec<_>, QueryError>>()?;
            let fixed_response = m
                .has_prefix("FixedResponseConfig.")
                .then(|| {
                    Ok::<_, QueryError>(FixedResponse {
                        status_code: m.req("FixedResponseConfig.StatusCode")?,
                        content_type: m.get("FixedResponseConfig.ContentType").map(str::to_string),
                        message_body: m.get("FixedResponseConfig.MessageBody").map(str::to_string),
                    })
                })
                .transpose()?;
            let redirect = m
                .has_prefix("RedirectConfig.")
                .then(|| {
                    let g = |k: &str| m.get(&format!("RedirectConfig.{k}")).map(str::to_string);
                    Ok::<_, QueryError>(Redirect {
                        protocol: g("Protocol"),
                        host: g("Host"),
                        port: g("Port"),
                        path: g("Path"),
                        query: g("Query"),
                        status_code: m.req("RedirectConfig.StatusCode")?,
                    })
                })
                .transpose()?;
            Ok(ActionSpec {
                kind: kind.to_string(),
                order: m.num("Order")?,
                target_group_arn: m.get("TargetGroupArn").map(str::to_string),
                forward_target_groups,
                fixed_response,
                redirect,
            })
        })
        .collect()
}

fn conditions(q: &Query) -> Result<Vec<ConditionSpec>, QueryError> {
    q.members("Conditions")
        .into_iter()
        .map(|m| {
            let field = m
                .get("Field")
                .ok_or_else(|| QueryError::validation("Every condition needs a Field"))?
                .to_string();
            let config = match field.as_str() {
                "path-pattern" => "PathPatternConfig",
                "host-header" => "HostHeaderConfig",
                "http-request-method" => "HttpRequestMethodConfig",
                "http-header" => "HttpHeaderConfig",
                "source-ip" => "SourceIpConfig",
                _ => "",
            };
            let mut values = m.list("Values");
            if !config.is_empty() {
                values.extend(m.list(&format!("{config}.Values")));
            }
            let query_string = m
                .members("QueryStringConfig.Values")
                .into_iter()
                .map(|p| Ok((p.get("Key").map(str::to_string), p.req("Value")?)))
                .collect::<Result<Vec<_>, QueryError>>()?;
            Ok(ConditionSpec {
                field,
                values,
                http_header_name: m.get("HttpHeaderConfig.HttpHeaderName").map(str::to_string),
                query_string,
            })
        })
        .collect()
}

/// Turns a Query request into a command.
pub fn command(action: &str, q: &Query) -> Result<ElbCommand, QueryError> {
    Ok(match action {
        "CreateLoadBalancer" => ElbCommand::CreateLoadBalancer {
            name: q.req("Name")?,
            scheme: q.get("Scheme").map(str::to_string),
            kind: q.get("Type").map(str::to_string),
        },
        "DescribeLoadBalancers" => ElbCommand::DescribeLoadBalancers {
            arns: q.list("LoadBalancerArns"),
            names: q.list("Names"),
        },
        "DeleteLoadBalancer" => ElbCommand::DeleteLoadBalancer {
            arn: q.req("LoadBalancerArn")?,
        },
        "CreateTargetGroup" => ElbCommand::CreateTargetGroup(CreateTargetGroup {
            name: q.req("Name")?,
            protocol: q.get("Protocol").map(str::to_string),
            port: q.num("Port")?,
            vpc_id: q.get("VpcId").map(str::to_string),
            target_type: q.get("TargetType").map(str::to_string),
            health_check: health_check_change(q)?,
        }),
        "DescribeTargetGroups" => ElbCommand::DescribeTargetGroups {
            load_balancer_arn: q.get("LoadBalancerArn").map(str::to_string),
            arns: q.list("TargetGroupArns"),
            names: q.list("Names"),
        },
        "ModifyTargetGroup" => ElbCommand::ModifyTargetGroup {
            arn: q.req("TargetGroupArn")?,
            health_check: health_check_change(q)?,
        },
        "DeleteTargetGroup" => ElbCommand::DeleteTargetGroup {
            arn: q.req("TargetGroupArn")?,
        },
        "ModifyTargetGroupAttributes" => ElbCommand::ModifyTargetGroupAttributes {
            arn: q.req("TargetGroupArn")?,
            attributes: q
                .members("Attributes")
                .into_iter()
                .map(|m| Ok((m.req("Key")?, m.get("Value").unwrap_or("").to_string())))
                .collect::<Result<_, QueryError>>()?,
        },
        "DescribeTargetGroupAttributes" => ElbCommand::DescribeTargetGroupAttributes {
            arn: q.req("TargetGroupArn")?,
        },
        "RegisterTargets" => ElbCommand::RegisterTargets {
            arn: q.req("TargetGroupArn")?,
            targets: target_list(q)?,
        },
        "DeregisterTargets" => ElbCommand::DeregisterTargets {
            arn: q.req("TargetGroupArn")?,
            targets: target_list(q)?
                .into_iter()
                .map(|(i, p, _)| (i, p))
                .collect(),
        },
        "DescribeTargetHealth" => ElbCommand::DescribeTargetHealth {
            arn: q.req("TargetGroupArn")?,
            targets: target_list(q)?
                .into_iter()
                .map(|(i, p, _)| (i, p))
                .collect(),
        },
        "CreateListener" => ElbCommand::CreateListener {
            load_balancer_arn: q.req("LoadBalancerArn")?,
            protocol: q.get("Protocol").map(str::to_string),
            port: q.num("Port")?,
            default_actions: actions(q, "DefaultActions")?,
        },
        "ModifyListener" => ElbCommand::ModifyListener {
            arn: q.req("ListenerArn")?,
            protocol: q.get("Protocol").map(str::to_string),
            port: q.num("Port")?,
            default_actions: actions(q, "DefaultActions")?,
        },
        "DescribeListeners" => ElbCommand::DescribeListeners {
            load_balancer_arn: q.get("LoadBalancerArn").map(str::to_string),
            arns: q.list("ListenerArns"),
        },
        "DeleteListener" => ElbCommand::DeleteListener {
            arn: q.req("ListenerArn")?,
        },
        "CreateRule" => ElbCommand::CreateRule {
            listener_arn: q.req("ListenerArn")?,
            priority: q
                .num("Priority")?
                .ok_or_else(|| QueryError::validation("'Priority' must be specified"))?,
            conditions: conditions(q)?,
            actions: actions(q, "Actions")?,
        },
        "DescribeRules" => ElbCommand::DescribeRules {
            listener_arn: q.get("ListenerArn").map(str::to_string),
            arns: q.list("RuleArns"),
        },
        "ModifyRule" => ElbCommand::ModifyRule {
            arn: q.req("RuleArn")?,
            conditions: q
                .has_prefix("Conditions.")
                .then(|| conditions(q))
                .transpose()?,
            actions: q
                .has_prefix("Actions.")
                .then(|| actions(q, "Actions"))
                .transpose()?,
        },
        "DeleteRule" => ElbCommand::DeleteRule {
            arn: q.req("RuleArn")?,
        },
        "SetRulePriorities" => ElbCommand::SetRulePriorities {
            priorities: q
                .members("RulePriorities")
                .into_iter()
                .map(|m| {
                    Ok((
                        m.req("RuleArn")?,
                        m.num("Priority")?.ok_or_else(|| {
                            QueryError::validation("Every rule priority needs a Priority")
                        })?,
                    ))
                })
                .collect::<Result<_, QueryError>>()?,
        },
        other => {
            return Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "Sender",
                "InvalidAction",
                format!("The action {other} is not valid for this web service."),
            ))
        }
    })
}

/// A tiny XML writer; [`Xml::leaf`] escapes every value.
#[derive(Debug, Default)]
pub struct Xml(pub String);

impl Xml {
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }
    fn open(&mut self, tag: &str) {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
    }
    fn close(&mut self, tag: &str) {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
    }
    fn leaf(&mut self, tag: &str, value: &str) {
        self.open(tag);
        self.0.push_str(&quick_xml::escape::escape(value));
        self.close(tag);
    }
    fn opt(&mut self, tag: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.leaf(tag, v);
        }
    }
    fn members<T>(&mut self, tag: &str, items: &[T], mut f: impl FnMut(&mut Xml, &T)) {
        self.open(tag);
        for i in items {
            self.open("member");
            f(self, i);
            self.close("member");
        }
        self.close(tag);
    }
    fn strings(&mut self, tag: &str, items: &[String]) {
        self.members(tag, items, |x, s| {
            x.0.push_str(&quick_xml::escape::escape(s.as_str()))
        });
    }
}

fn iso8601(epoch: f64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn render(x: &mut Xml, reply: &ElbReply) {
    match reply {
        ElbReply::Empty => {}
        ElbReply::LoadBalancers(lbs) => x.members("LoadBalancers", lbs, |x, (lb, dns)| {
            load_balancer(x, lb, dns)
        }),
        ElbReply::TargetGroups(tgs) => {
            x.members("TargetGroups", tgs, |x, (tg, lbs)| target_group(x, tg, lbs))
        }
        ElbReply::Attributes(attrs) => {
            let v: Vec<(&String, &String)> = attrs.iter().collect();
            x.members("Attributes", &v, |x, (k, v)| {
                x.leaf("Key", k);
                x.leaf("Value", v);
            })
        }
        ElbReply::TargetHealth(rows) => x.members("TargetHealthDescriptions", rows, |x, t| {
            x.open("Target");
            x.leaf("Id", &t.id);
            x.leaf("Port", &t.port.to_string());
            x.close("Target");
            x.leaf("HealthCheckPort", &t.health_check_port);
            x.open("TargetHealth");
            x.leaf("State", &t.state);
            x.opt("Reason", t.reason.as_deref());
            x.opt("Description", t.description.as_deref());
            x.close("TargetHealth");
        }),
        ElbReply::Listeners(ls) => x.members("Listeners", ls, listener),
        ElbReply::Rules(rs) => x.members("Rules", rs, rule),
    }
}

fn load_balancer(x: &mut Xml, lb: &LoadBalancer, dns: &str) {
    x.leaf("LoadBalancerArn", &lb.arn);
    x.leaf("DNSName", dns);
    x.leaf("CanonicalHostedZoneId", "Z35SXDOTRQ7X7K");
    x.leaf("CreatedTime", &iso8601(lb.created_time));
    x.leaf("LoadBalancerName", &lb.name);
    x.leaf("Scheme", &lb.scheme);
    x.leaf("VpcId", "vpc-local");
    x.open("State");
    x.leaf("Code", "active");
    x.close("State");
    x.leaf("Type", "application");
    x.leaf("IpAddressType", "ipv4");
}

fn target_group(x: &mut Xml, tg: &TargetGroup, lbs: &[String]) {
    let hc = &tg.health_check;
    x.leaf("TargetGroupArn", &tg.arn);
    x.leaf("TargetGroupName", &tg.name);
    x.leaf("Protocol", &tg.protocol);
    x.leaf("Port", &tg.port.to_string());
    x.opt("VpcId", tg.vpc_id.as_deref());
    x.leaf("HealthCheckProtocol", &hc.protocol);
    x.leaf("HealthCheckPort", &hc.port);
    x.leaf("HealthCheckEnabled", &hc.enabled.to_string());
    x.leaf(
        "HealthCheckIntervalSeconds",
        &hc.interval_seconds.to_string(),
    );
    x.leaf("HealthCheckTimeoutSeconds", &hc.timeout_seconds.to_string());
    x.leaf("HealthyThresholdCount", &hc.healthy_threshold.to_string());
    x.leaf(
        "UnhealthyThresholdCount",
        &hc.unhealthy_threshold.to_string(),
    );
    x.leaf("HealthCheckPath", &hc.path);
    x.open("Matcher");
    x.leaf("HttpCode", &hc.matcher);
    x.close("Matcher");
    x.strings("LoadBalancerArns", lbs);
    x.leaf("TargetType", &tg.target_type);
    x.leaf("ProtocolVersion", "HTTP1");
    x.leaf("IpAddressType", "ipv4");
}

fn listener(x: &mut Xml, l: &Listener) {
    x.leaf("ListenerArn", &l.arn);
    x.leaf("LoadBalancerArn", &l.load_balancer_arn);
    x.leaf("Port", &l.port.to_string());
    x.leaf("Protocol", &l.protocol);
    x.members("DefaultActions", &l.default_actions, action);
}

fn action(x: &mut Xml, a: &ActionSpec) {
    x.leaf("Type", &a.kind);
    x.opt("TargetGroupArn", a.target_group_arn.as_deref());
    if let Some(o) = a.order {
        x.leaf("Order", &o.to_string());
    }
    if a.kind == "forward" {
        let groups: Vec<(String, u32)> = if a.forward_target_groups.is_empty() {
            a.target_group_arn.iter().map(|t| (t.clone(), 1)).collect()
        } else {
            a.forward_target_groups.clone()
        };
        x.open("ForwardConfig");
        x.members("TargetGroups", &groups, |x, (arn, w)| {
            x.leaf("TargetGroupArn", arn);
            x.leaf("Weight", &w.to_string());
        });
        x.close("ForwardConfig");
    }
    if let Some(f) = &a.fixed_response {
        x.open("FixedResponseConfig");
        x.opt("MessageBody", f.message_body.as_deref());
        x.leaf("StatusCode", &f.status_code);
        x.opt("ContentType", f.content_type.as_deref());
        x.close("FixedResponseConfig");
    }
    if let Some(r) = &a.redirect {
        x.open("RedirectConfig");
        x.opt("Protocol", r.protocol.as_deref());
        x.opt("Port", r.port.as_deref());
        x.opt("Host", r.host.as_deref());
        x.opt("Path", r.path.as_deref());
        x.opt("Query", r.query.as_deref());
        x.leaf("StatusCode", &r.status_code);
        x.close("RedirectConfig");
    }
}

fn rule(x: &mut Xml, r: &RuleView) {
    x.leaf("RuleArn", &r.arn);
    match r.priority {
        Some(p) => x.leaf("Priority", &p.to_string()),
        None => x.leaf("Priority", "default"),
    }
    x.members("Conditions", &r.conditions, |x, c| {
        x.leaf("Field", &c.field);
        if c.field != "query-string" {
            x.strings("Values", &c.values);
        }
        let config = match c.field.as_str() {
            "path-pattern" => Some("PathPatternConfig"),
            "host-header" => Some("HostHeaderConfig"),
            "http-request-method" => Some("HttpRequestMethodConfig"),
            "http-header" => Some("HttpHeaderConfig"),
            _ => None,
        };
        if let Some(cfg) = config {
            x.open(cfg);
            x.opt("HttpHeaderName", c.http_header_name.as_deref());
            x.strings("Values", &c.values);
            x.close(cfg);
        }
        if c.field == "query-string" {
            x.open("QueryStringConfig");
            x.members("Values", &c.query_string, |x, (k, v)| {
                x.opt("Key", k.as_deref());
                x.leaf("Value", v);
            });
            x.close("QueryStringConfig");
        }
    });
    x.members("Actions", &r.actions, action);
    x.leaf("IsDefault", &r.priority.is_none().to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_lists_are_ordered_by_index_not_text() {
        let q = Query::parse(
            b"Action=X&Names.member.10=j&Names.member.2=b&Names.member.1=a\
              &Targets.member.1.Id=i-1&Targets.member.1.Port=80&Targets.member.2.Id=10.0.0.1",
        )
        .unwrap();
        assert_eq!(q.list("Names"), vec!["a", "b", "j"]);
        let t = target_list(&q).unwrap();
        assert_eq!(
            t,
            vec![
                ("i-1".into(), Some(80), None),
                ("10.0.0.1".into(), None, None)
            ]
        );
    }

    #[test]
    fn conditions_and_actions_parse_every_shape() {
        let body = "Conditions.member.1.Field=path-pattern\
            &Conditions.member.1.PathPatternConfig.Values.member.1=%2Fping\
            &Conditions.member.1.PathPatternConfig.Values.member.2=%2Fstart\
            &Conditions.member.2.Field=host-header&Conditions.member.2.Values.member.1=a.example\
            &Conditions.member.3.Field=query-string\
            &Conditions.member.3.QueryStringConfig.Values.member.1.Key=k\
            &Conditions.member.3.QueryStringConfig.Values.member.1.Value=v\
            &Actions.member.1.Type=forward\
            &Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=a\
            &Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=3\
            &Actions.member.2.Type=fixed-response\
            &Actions.member.2.FixedResponseConfig.StatusCode=404\
            &Actions.member.2.FixedResponseConfig.MessageBody=no\
            &Actions.member.3.Type=redirect&Actions.member.3.RedirectConfig.StatusCode=HTTP_301\
            &Actions.member.3.RedirectConfig.Path=%2Fx";
        let q = Query::parse(body.as_bytes()).unwrap();
        let c = conditions(&q).unwrap();
        assert_eq!(c[0].values, vec!["/ping", "/start"]);
        assert_eq!(c[1].values, vec!["a.example"]);
        assert_eq!(c[2].query_string, vec![(Some("k".into()), "v".into())]);
        let a = actions(&q, "Actions").unwrap();
        assert_eq!(a[0].forward_target_groups, vec![("a".into(), 3)]);
        assert_eq!(a[1].fixed_response.as_ref().unwrap().status_code, "404");
        assert_eq!(a[2].redirect.as_ref().unwrap().path.as_deref(), Some("/x"));
    }

    #[test]
    fn xml_values_are_escaped() {
        let mut x = Xml::default();
        x.leaf("Message", "<a href=\"x\">&'</a>");
        assert_eq!(
            x.0,
            "<Message>&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;</Message>"
        );
    }

    #[test]
    fn bad_inputs_are_validation_errors() {
        let cases = [
            "Action=CreateTargetGroup",
            "Action=CreateTargetGroup&Name=a&Port=abc",
            "Action=CreateTargetGroup&Name=a&Port=80&HealthCheckEnabled=maybe",
            "Action=CreateRule&ListenerArn=x",
            "Action=RegisterTargets&TargetGroupArn=x&Targets.member.1.Port=80",
            "Action=CreateListener&LoadBalancerArn=x&DefaultActions.member.1.TargetGroupArn=t",
            "Action=ModifyTargetGroupAttributes&TargetGroupArn=x&Attributes.member.1.Value=1",
            "Action=SetRulePriorities&RulePriorities.member.1.RuleArn=r",
        ];
        for c in cases {
            let q = Query::parse(c.as_bytes()).unwrap();
            let action = q.req("Action").unwrap();
            let e = command(&action, &q).unwrap_err();
            assert_eq!(e.code, "ValidationError", "{c}");
        }
        let q = Query::parse(b"Action=Nope").unwrap();
        assert_eq!(command("Nope", &q).unwrap_err().code, "InvalidAction");
    }
}
