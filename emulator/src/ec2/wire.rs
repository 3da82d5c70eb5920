//! EC2's Query protocol: a form in, XML out (namespace
//! `http://ec2.amazonaws.com/doc/2016-11-15/`), errors as
//! `<Response><Errors><Error>`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::escape::escape;

use super::{subnet_cidr, subnet_id, zones, VPC_CIDR, VPC_ID};
use crate::db::State;
use crate::ecs::Engine;
use crate::model::ec2::SecurityGroup;

const NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
/// The default security group of the default VPC (always there).
const DEFAULT_SG: &str = "sg-00000000000000001";

/// The form's values: `get("GroupId")`, lists as `Name.N`.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// `Prefix.1`, `Prefix.2`, ... in order.
    fn list(&self, prefix: &str) -> Vec<String> {
        (1..)
            .map_while(|n| self.get(&format!("{prefix}.{n}")).map(str::to_string))
            .collect()
    }
    /// `Filter.N.Name` / `Filter.N.Value.M`, as (name, values).
    fn filters(&self) -> Vec<(String, Vec<String>)> {
        (1..)
            .map_while(|n| {
                let name = self.get(&format!("Filter.{n}.Name"))?.to_string();
                Some((name, self.list(&format!("Filter.{n}.Value"))))
            })
            .collect()
    }
}

fn matches(filters: &[(String, Vec<String>)], name: &str, value: &str) -> bool {
    filters
        .iter()
        .filter(|(n, _)| n == name)
        .all(|(_, vs)| vs.iter().any(|v| v == value))
}

fn xml(action: &str, request_id: &str, inner: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{NS}\"><requestId>{request_id}</requestId>{inner}</{action}Response>"
    );
    let mut r = body.into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/xml"));
    r
}

/// An EC2 error answer.
pub fn error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>",
        escape(code),
        escape(message)
    );
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/xml"));
    r
}

fn el(name: &str, value: &str) -> String {
    format!("<{name}>{}</{name}>", escape(value))
}

/// Handles one EC2 Query request.
pub async fn handle(engine: &Engine, pairs: Vec<(String, String)>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let form = Form(pairs);
    let action = form.get("Action").unwrap_or("").to_string();
    let p = engine.config().partition.clone();
    let state = engine.snapshot();
    let account = p.account.clone();
    let ok = |inner: String| xml(&action, &request_id, &inner);
    let bad = |code: &str, msg: &str| error(StatusCode::BAD_REQUEST, code, msg, &request_id);
    match action.as_str() {
        "DescribeVpcs" => {
            let f = form.filters();
            let ids = form.list("VpcId");
            let show = (ids.is_empty() || ids.iter().any(|i| i == VPC_ID))
                && matches(&f, "isDefault", "true")
                && matches(&f, "vpc-id", VPC_ID);
            let item = format!(
                "<item>{}{}{}{}{}{}{}</item>",
                el("vpcId", VPC_ID),
                el("ownerId", &account),
                el("state", "available"),
                el("cidrBlock", VPC_CIDR),
                el("dhcpOptionsId", "dopt-00000000000000001"),
                el("instanceTenancy", "default"),
                el("isDefault", "true")
            );
            ok(format!("<vpcSet>{}</vpcSet>", if show { item } else { String::new() }))
        }
        "DescribeSubnets" => {
            let f = form.filters();
            let ids = form.list("SubnetId");
            let items: String = zones(&state, &p.region)
                .iter()
                .filter(|z| ids.is_empty() || ids.contains(&subnet_id(z)))
                .filter(|z| {
                    matches(&f, "vpc-id", VPC_ID)
                        && matches(&f, "availability-zone", z)
                        && matches(&f, "default-for-az", "true")
                        && matches(&f, "subnet-id", &subnet_id(z))
                })
                .map(|z| {
                    let id = subnet_id(z);
                    format!(
                        "<item>{}{}{}{}{}{}{}{}{}{}</item>",
                        el("subnetId", &id),
                        el("subnetArn", &p.arn("ec2", &format!("subnet/{id}"))),
                        el("state", "available"),
                        el("vpcId", VPC_ID),
                        el("ownerId", &account),
                        el("cidrBlock", &subnet_cidr(z)),
                        el("availableIpAddressCount", "4091"),
                        el("availabilityZone", z),
                        el("defaultForAz", "true"),
                        el("mapPublicIpOnLaunch", "true")
                    )
                })
                .collect();
            if !ids.is_empty() && items.is_empty() {
                return bad(
                    "InvalidSubnetID.NotFound",
                    &format!("The subnet ID '{}' does not exist", ids.join(",")),
                );
            }
            ok(format!("<subnetSet>{items}</subnetSet>"))
        }
        "DescribeAvailabilityZones" => {
            let items: String = zones(&state, &p.region)
                .iter()
                .map(|z| {
                    format!(
                        "<item>{}{}{}{}{}</item>",
                        el("zoneName", z),
                        el("zoneState", "available"),
                        el("regionName", &p.region),
                        el("zoneId", &format!("use1-az{}", z.len() % 7 + 1)),
                        el("zoneType", "availability-zone")
                    )
                })
                .collect();
            ok(format!("<availabilityZoneInfo>{items}</availabilityZoneInfo>"))
        }
        "DescribeInstances" => {
            let ids = form.list("InstanceId");
            let items: String = state
                .container_instances
                .values()
                .filter(|i| ids.is_empty() || ids.contains(&i.ec2_instance_id))
                .map(|i| {
                    let attr = |n: &str| {
                        i.attributes
                            .iter()
                            .find(|a| a.name == n)
                            .and_then(|a| a.value.clone())
                            .unwrap_or_default()
                    };
                    let zone = attr(crate::model::container_instance::AZ_ATTRIBUTE);
                    let placement =
                        format!("<placement>{}</placement>", el("availabilityZone", &zone));
                    format!(
                        "<item>{}{}<instancesSet><item>{}{}{}<instanceState><code>16</code><name>running</name></instanceState>{}{}{}{}</item></instancesSet></item>",
                        el("reservationId", &format!("r-{}", &i.ec2_instance_id[2..])),
                        el("ownerId", &account),
                        el("instanceId", &i.ec2_instance_id),
                        el("imageId", "ami-00000000000000001"),
                        // An engine's own resources: no instance type.
                        match attr(crate::model::container_instance::INSTANCE_TYPE_ATTRIBUTE) {
                            t if t.is_empty() => String::new(),
                            t => el("instanceType", &t),
                        },
                        placement,
                        el("privateIpAddress", &i.address().unwrap_or_else(|| "127.0.0.1".into())),
                        el("vpcId", VPC_ID),
                        el("subnetId", &subnet_id(&zone))
                    )
                })
                .collect();
            ok(format!("<reservationSet>{items}</reservationSet>"))
        }
        "DescribeSecurityGroups" => {
            let f = form.filters();
            let ids = form.list("GroupId");
            let names = form.list("GroupName");
            let groups = all_groups(&state);
            for id in &ids {
                if !groups.iter().any(|g| &g.group_id == id) {
                    return bad(
                        "InvalidGroup.NotFound",
                        &format!("The security group '{id}' does not exist"),
                    );
                }
            }
            let items: String = groups
                .iter()
                .filter(|g| ids.is_empty() || ids.contains(&g.group_id))
                .filter(|g| names.is_empty() || names.contains(&g.group_name))
                .filter(|g| matches(&f, "group-name", &g.group_name) && matches(&f, "vpc-id", VPC_ID))
                .map(|g| render_group(g, &account))
                .collect();
            ok(format!("<securityGroupInfo>{items}</securityGroupInfo>"))
        }
        "CreateSecurityGroup" => {
            let (Some(name), Some(desc)) = (form.get("GroupName"), form.get("GroupDescription"))
            else {
                return bad("MissingParameter", "GroupName and GroupDescription are required.");
            };
            let id = format!("sg-{}", &uuid::Uuid::new_v4().simple().to_string()[..17]);
            let group = SecurityGroup {
                group_id: id.clone(),
                group_name: name.to_string(),
                description: desc.to_string(),
                ingress: vec![],
            };
            let name = name.to_string();
            let created = engine
                .update_state(|s| {
                    if name == "default" || s.security_groups.values().any(|g| g.group_name == name) {
                        return false;
                    }
                    s.security_groups.insert(group.group_id.clone(), group);
                    true
                })
                .await;
            match created {
                Ok(true) => ok(el("groupId", &id) + &el("return", "true")),
                Ok(false) => bad(
                    "InvalidGroup.Duplicate",
                    &format!("The security group '{name}' already exists for VPC '{VPC_ID}'"),
                ),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &e.to_string(), &request_id),
            }
        }
        "DeleteSecurityGroup" | "AuthorizeSecurityGroupIngress" => {
            let id = match (form.get("GroupId"), form.get("GroupName")) {
                (Some(id), _) => Some(id.to_string()),
                (None, Some(name)) => state
                    .security_groups
                    .values()
                    .find(|g| g.group_name == name)
                    .map(|g| g.group_id.clone()),
                _ => None,
            };
            let Some(id) = id.filter(|i| state.security_groups.contains_key(i)) else {
                return bad("InvalidGroup.NotFound", "The security group does not exist");
            };
            let rules: Vec<String> = (1..)
                .map_while(|n| {
                    let proto = form.get(&format!("IpPermissions.{n}.IpProtocol"))?;
                    let from = form.get(&format!("IpPermissions.{n}.FromPort")).unwrap_or("-1");
                    let to = form.get(&format!("IpPermissions.{n}.ToPort")).unwrap_or("-1");
                    let cidr = form
                        .get(&format!("IpPermissions.{n}.IpRanges.1.CidrIp"))
                        .unwrap_or("0.0.0.0/0");
                    Some(format!("{proto} {from} {to} {cidr}"))
                })
                .collect();
            let delete = action == "DeleteSecurityGroup";
            let r = engine
                .update_state(|s| {
                    if delete {
                        s.security_groups.remove(&id);
                    } else if let Some(g) = s.security_groups.get_mut(&id) {
                        g.ingress.extend(rules);
                    }
                })
                .await;
            match r {
                Ok(()) => ok(el("return", "true")),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &e.to_string(), &request_id),
            }
        }
        other => bad(
            "InvalidAction",
            &format!("The action {other} is not valid for this web service (this emulator answers DescribeVpcs, DescribeSubnets, DescribeAvailabilityZones, DescribeInstances and the security group calls of EC2)."),
        ),
    }
}

fn all_groups(state: &State) -> Vec<SecurityGroup> {
    let mut groups = vec![SecurityGroup {
        group_id: DEFAULT_SG.into(),
        group_name: "default".into(),
        description: "default VPC security group".into(),
        ingress: vec![],
    }];
    groups.extend(state.security_groups.values().cloned());
    groups
}

fn render_group(g: &SecurityGroup, account: &str) -> String {
    let ingress: String = g
        .ingress
        .iter()
        .map(|rule| {
            let mut parts = rule.split(' ');
            let proto = parts.next().unwrap_or("-1");
            let from = parts.next().unwrap_or("-1");
            let to = parts.next().unwrap_or("-1");
            let cidr = parts.next().unwrap_or("0.0.0.0/0");
            format!(
                "<item>{}{}{}<ipRanges><item>{}</item></ipRanges></item>",
                el("ipProtocol", proto),
                el("fromPort", from),
                el("toPort", to),
                el("cidrIp", cidr)
            )
        })
        .collect();
    format!(
        "<item>{}{}{}{}{}<ipPermissions>{ingress}</ipPermissions><ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges></item></ipPermissionsEgress></item>",
        el("ownerId", account),
        el("groupId", &g.group_id),
        el("groupName", &g.group_name),
        el("groupDescription", &g.description),
        el("vpcId", VPC_ID)
    )
}
