//! [`ElbReply`]s into the XML of the 2015-12-01 model; every value is
//! escaped by [`Xml`].

use crate::elbv2::{ElbReply, LoadBalancerView, RuleView};
use crate::model::elb::{ActionSpec, Listener, TargetGroup};

/// A tiny XML writer; `Xml::leaf` escapes every value.
#[derive(Debug, Default)]
pub struct Xml(pub String);

impl Xml {
    pub(super) fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }
    pub(super) fn open(&mut self, tag: &str) {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
    }
    pub(super) fn close(&mut self, tag: &str) {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
    }
    pub(super) fn leaf(&mut self, tag: &str, value: &str) {
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

pub(super) fn render(x: &mut Xml, reply: &ElbReply) {
    match reply {
        ElbReply::Empty => {}
        ElbReply::LoadBalancers(lbs) => x.members("LoadBalancers", lbs, load_balancer),
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
        ElbReply::Paged { reply, next_marker } => {
            render(x, reply);
            x.opt("NextMarker", next_marker.as_deref());
        }
        ElbReply::Tags(descriptions) => {
            x.members("TagDescriptions", descriptions, |x, (arn, tags)| {
                x.leaf("ResourceArn", arn);
                let tags: Vec<(&String, &String)> = tags.iter().collect();
                x.members("Tags", &tags, |x, (k, v)| {
                    x.leaf("Key", k);
                    x.leaf("Value", v);
                });
            })
        }
        ElbReply::AvailabilityZones {
            zones,
            ip_address_type,
        } => {
            availability_zones(x, zones);
            x.leaf("IpAddressType", ip_address_type);
        }
        ElbReply::SecurityGroupIds(ids) => x.strings("SecurityGroupIds", ids),
        ElbReply::IpAddressType(t) => x.leaf("IpAddressType", t),
        ElbReply::Limits(limits) => x.members("Limits", limits, |x, (name, max)| {
            x.leaf("Name", name);
            x.leaf("Max", max);
        }),
        ElbReply::SslPolicies(policies) => x.members("SslPolicies", policies, |x, p| {
            x.leaf("Name", p.name);
            let protocols: Vec<String> = p.protocols.iter().map(|s| s.to_string()).collect();
            x.strings("SslProtocols", &protocols);
            let ciphers: Vec<(usize, &str)> = p.ciphers.iter().copied().enumerate().collect();
            x.members("Ciphers", &ciphers, |x, (i, c)| {
                x.leaf("Name", c);
                x.leaf("Priority", &(i + 1).to_string());
            });
            let types: Vec<String> = p
                .load_balancer_types
                .iter()
                .map(|s| s.to_string())
                .collect();
            x.strings("SupportedLoadBalancerTypes", &types);
        }),
        ElbReply::Certificates(certs) => certificates(x, certs),
        ElbReply::TrustStores(stores) => x.members("TrustStores", stores, |x, t| {
            x.leaf("Name", &t.name);
            x.leaf("TrustStoreArn", &t.arn);
            x.leaf("Status", "ACTIVE");
            x.leaf("NumberOfCaCertificates", &t.ca_certificates().to_string());
            x.leaf("TotalRevokedEntries", "0");
        }),
        ElbReply::TrustStoreAssociations(arns) => {
            x.members("TrustStoreAssociations", arns, |x, a| {
                x.leaf("ResourceArn", a)
            })
        }
        ElbReply::Capacity(c) => {
            if let Some(t) = c.last_modified_time {
                x.leaf("LastModifiedTime", &iso8601(t));
            }
            x.leaf(
                "DecreaseRequestsRemaining",
                &c.decrease_requests_remaining.to_string(),
            );
            if let Some(u) = c.capacity_units {
                x.open("MinimumLoadBalancerCapacity");
                x.leaf("CapacityUnits", &u.to_string());
                x.close("MinimumLoadBalancerCapacity");
            }
            x.members("CapacityReservationState", &c.zones, |x, (zone, units)| {
                x.open("State");
                x.leaf("Code", "provisioned");
                x.close("State");
                x.leaf("AvailabilityZone", zone);
                x.leaf("EffectiveCapacityUnits", &units.to_string());
            });
        }
    }
}

/// `Certificates`: (ARN, IsDefault).
fn certificates(x: &mut Xml, certs: &[(String, bool)]) {
    x.members("Certificates", certs, |x, (arn, default)| {
        x.leaf("CertificateArn", arn);
        x.leaf("IsDefault", &default.to_string());
    });
}

fn availability_zones(x: &mut Xml, zones: &[(String, String)]) {
    x.members("AvailabilityZones", zones, |x, (zone, subnet)| {
        x.leaf("ZoneName", zone);
        x.leaf("SubnetId", subnet);
        x.raw("<LoadBalancerAddresses/>");
    });
}

fn load_balancer(x: &mut Xml, v: &LoadBalancerView) {
    let lb = &v.lb;
    x.leaf("LoadBalancerArn", &lb.arn);
    x.leaf("DNSName", &v.dns_name);
    x.leaf("CanonicalHostedZoneId", "Z35SXDOTRQ7X7K");
    x.leaf("CreatedTime", &iso8601(lb.created_time));
    x.leaf("LoadBalancerName", &lb.name);
    x.leaf("Scheme", &lb.scheme);
    x.leaf("VpcId", "vpc-local");
    x.open("State");
    x.leaf("Code", "active");
    x.close("State");
    x.leaf("Type", "application");
    availability_zones(x, &v.zones);
    x.strings("SecurityGroups", &lb.security_groups);
    x.leaf("IpAddressType", &lb.ip_address_type);
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
    if let Some(tls) = &l.tls {
        // DescribeListeners lists the default certificate only.
        x.members("Certificates", &[&tls.default_certificate], |x, c| {
            x.leaf("CertificateArn", c)
        });
        x.leaf("SslPolicy", &tls.ssl_policy);
        if let Some(m) = &tls.mutual_authentication {
            x.open("MutualAuthentication");
            x.leaf("Mode", &m.mode);
            x.opt("TrustStoreArn", m.trust_store_arn.as_deref());
            if let Some(i) = m.ignore_client_certificate_expiry {
                x.leaf("IgnoreClientCertificateExpiry", &i.to_string());
            }
            x.opt(
                "AdvertiseTrustStoreCaNames",
                m.advertise_trust_store_ca_names.as_deref(),
            );
            x.close("MutualAuthentication");
        }
    }
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
    fn xml_values_are_escaped() {
        let mut x = Xml::default();
        x.leaf("Message", "<a href=\"x\">&'</a>");
        assert_eq!(
            x.0,
            "<Message>&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;</Message>"
        );
    }

    #[test]
    fn pages_tags_and_zones_render_in_the_model_shape() {
        let mut x = Xml::default();
        render(
            &mut x,
            &ElbReply::Paged {
                reply: Box::new(ElbReply::Tags(vec![(
                    "arn".into(),
                    [("k".to_string(), "v".to_string())].into_iter().collect(),
                )])),
                next_marker: Some("m".into()),
            },
        );
        assert_eq!(
            x.0,
            "<TagDescriptions><member><ResourceArn>arn</ResourceArn><Tags><member><Key>k</Key><Value>v</Value></member></Tags></member></TagDescriptions><NextMarker>m</NextMarker>"
        );
        let mut x = Xml::default();
        render(
            &mut x,
            &ElbReply::AvailabilityZones {
                zones: vec![("us-east-1a".into(), "subnet-1".into())],
                ip_address_type: "ipv4".into(),
            },
        );
        assert!(
            x.0.contains("<member><ZoneName>us-east-1a</ZoneName><SubnetId>subnet-1</SubnetId>"),
            "{}",
            x.0
        );
    }
}
