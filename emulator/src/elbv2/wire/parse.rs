//! Query parameters into [`ElbCommand`]s: the shapes of the 2015-12-01
//! model (`Name.member.N`, `Tags.member.N.Key`, ...), with the checks
//! the model itself makes (required members, numbers, `PageSize` 1-400).

use axum::http::StatusCode;

use super::{Query, QueryError};
use crate::elbv2::{
    CertificateList, CreateLoadBalancer, CreateTargetGroup, ElbCommand, HealthCheckChange,
    ListenerTlsChange, Page, TagList,
};
use crate::model::elb::tls::MutualAuthentication;
use crate::model::elb::{ActionSpec, ConditionSpec, FixedResponse, Redirect};

/// `Certificates.member.N.CertificateArn` / `.IsDefault`.
fn certificates(q: &Query) -> Result<CertificateList, QueryError> {
    q.members("Certificates")
        .into_iter()
        .map(|m| Ok((m.req("CertificateArn")?, m.bool("IsDefault")?)))
        .collect()
}

/// `SslPolicy`, `Certificates` and `MutualAuthentication.*` of
/// CreateListener / ModifyListener.
fn listener_tls(q: &Query) -> Result<ListenerTlsChange, QueryError> {
    let g = |k: &str| {
        q.get(&format!("MutualAuthentication.{k}"))
            .map(str::to_string)
    };
    let mutual_authentication = q
        .has_prefix("MutualAuthentication.")
        .then(|| {
            Ok::<_, QueryError>(MutualAuthentication {
                mode: g("Mode").unwrap_or_else(|| "off".into()),
                trust_store_arn: g("TrustStoreArn"),
                ignore_client_certificate_expiry: q
                    .bool("MutualAuthentication.IgnoreClientCertificateExpiry")?,
                advertise_trust_store_ca_names: g("AdvertiseTrustStoreCaNames"),
            })
        })
        .transpose()?;
    Ok(ListenerTlsChange {
        ssl_policy: q.get("SslPolicy").map(str::to_string),
        certificates: certificates(q)?,
        mutual_authentication,
    })
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

/// `Tags.member.N.Key` / `.Value` (a missing value is empty).
fn tags(q: &Query) -> Result<TagList, QueryError> {
    q.members("Tags")
        .into_iter()
        .map(|m| {
            let key = m
                .get("Key")
                .ok_or_else(|| QueryError::validation("Every tag needs a Key"))?;
            Ok((key.to_string(), m.get("Value").unwrap_or("").to_string()))
        })
        .collect()
}

/// `PageSize` (1-400) and `Marker`.
fn page(q: &Query) -> Result<Page, QueryError> {
    let size: Option<u32> = q.num("PageSize")?;
    if let Some(s) = size.filter(|s| !(1..=400).contains(s)) {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value '{s}' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and 400"
        )));
    }
    Ok(Page {
        size,
        marker: q.get("Marker").map(str::to_string),
    })
}

/// `Attributes.member.N.Key` / `.Value`.
fn attributes(q: &Query) -> Result<Vec<(String, String)>, QueryError> {
    q.members("Attributes")
        .into_iter()
        .map(|m| Ok((m.req("Key")?, m.get("Value").unwrap_or("").to_string())))
        .collect()
}

/// `Subnets.member.N` or `SubnetMappings.member.N.SubnetId`, not both.
fn subnets(q: &Query) -> Result<Vec<String>, QueryError> {
    let plain = q.list("Subnets");
    let mapped = q
        .members("SubnetMappings")
        .into_iter()
        .map(|m| m.req("SubnetId"))
        .collect::<Result<Vec<_>, _>>()?;
    if !plain.is_empty() && !mapped.is_empty() {
        return Err(QueryError::validation(
            "You can specify subnets or subnet mappings, not both",
        ));
    }
    Ok(if mapped.is_empty() { plain } else { mapped })
}

/// Turns a Query request into a command.
pub fn command(action: &str, q: &Query) -> Result<ElbCommand, QueryError> {
    Ok(match action {
        "CreateLoadBalancer" => ElbCommand::CreateLoadBalancer(CreateLoadBalancer {
            name: q.req("Name")?,
            scheme: q.get("Scheme").map(str::to_string),
            kind: q.get("Type").map(str::to_string),
            subnets: subnets(q)?,
            security_groups: q.list("SecurityGroups"),
            ip_address_type: q.get("IpAddressType").map(str::to_string),
            tags: tags(q)?,
        }),
        "DescribeLoadBalancers" => ElbCommand::DescribeLoadBalancers {
            arns: q.list("LoadBalancerArns"),
            names: q.list("Names"),
            page: page(q)?,
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
            tags: tags(q)?,
        }),
        "DescribeTargetGroups" => ElbCommand::DescribeTargetGroups {
            load_balancer_arn: q.get("LoadBalancerArn").map(str::to_string),
            arns: q.list("TargetGroupArns"),
            names: q.list("Names"),
            page: page(q)?,
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
            attributes: attributes(q)?,
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
            tls: listener_tls(q)?,
            tags: tags(q)?,
        },
        "ModifyListener" => ElbCommand::ModifyListener {
            arn: q.req("ListenerArn")?,
            protocol: q.get("Protocol").map(str::to_string),
            port: q.num("Port")?,
            default_actions: actions(q, "DefaultActions")?,
            tls: listener_tls(q)?,
        },
        "DescribeListeners" => ElbCommand::DescribeListeners {
            load_balancer_arn: q.get("LoadBalancerArn").map(str::to_string),
            arns: q.list("ListenerArns"),
            page: page(q)?,
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
            tags: tags(q)?,
        },
        "DescribeRules" => ElbCommand::DescribeRules {
            listener_arn: q.get("ListenerArn").map(str::to_string),
            arns: q.list("RuleArns"),
            page: page(q)?,
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
        "DescribeLoadBalancerAttributes" => ElbCommand::DescribeLoadBalancerAttributes {
            arn: q.req("LoadBalancerArn")?,
        },
        "ModifyLoadBalancerAttributes" => ElbCommand::ModifyLoadBalancerAttributes {
            arn: q.req("LoadBalancerArn")?,
            attributes: attributes(q)?,
        },
        "DescribeListenerAttributes" => ElbCommand::DescribeListenerAttributes {
            arn: q.req("ListenerArn")?,
        },
        "ModifyListenerAttributes" => ElbCommand::ModifyListenerAttributes {
            arn: q.req("ListenerArn")?,
            attributes: attributes(q)?,
        },
        "AddTags" => ElbCommand::AddTags {
            arns: q.list("ResourceArns"),
            tags: tags(q)?,
        },
        "RemoveTags" => ElbCommand::RemoveTags {
            arns: q.list("ResourceArns"),
            keys: q.list("TagKeys"),
        },
        "DescribeTags" => ElbCommand::DescribeTags {
            arns: q.list("ResourceArns"),
        },
        "SetSubnets" => ElbCommand::SetSubnets {
            arn: q.req("LoadBalancerArn")?,
            subnets: subnets(q)?,
            ip_address_type: q.get("IpAddressType").map(str::to_string),
        },
        "SetSecurityGroups" => ElbCommand::SetSecurityGroups {
            arn: q.req("LoadBalancerArn")?,
            security_groups: q.list("SecurityGroups"),
        },
        "SetIpAddressType" => ElbCommand::SetIpAddressType {
            arn: q.req("LoadBalancerArn")?,
            ip_address_type: q.req("IpAddressType")?,
        },
        "DescribeAccountLimits" => ElbCommand::DescribeAccountLimits { page: page(q)? },
        "DescribeSSLPolicies" => ElbCommand::DescribeSslPolicies {
            names: q.list("Names"),
            load_balancer_type: q.get("LoadBalancerType").map(str::to_string),
            page: page(q)?,
        },
        "AddListenerCertificates" => ElbCommand::AddListenerCertificates {
            arn: q.req("ListenerArn")?,
            certificates: certificates(q)?,
        },
        "RemoveListenerCertificates" => ElbCommand::RemoveListenerCertificates {
            arn: q.req("ListenerArn")?,
            certificates: certificates(q)?,
        },
        "DescribeListenerCertificates" => ElbCommand::DescribeListenerCertificates {
            arn: q.req("ListenerArn")?,
            page: page(q)?,
        },
        "CreateTrustStore" => ElbCommand::CreateTrustStore {
            name: q.req("Name")?,
            bucket: q.req("CaCertificatesBundleS3Bucket")?,
            key: q.req("CaCertificatesBundleS3Key")?,
            object_version: q
                .get("CaCertificatesBundleS3ObjectVersion")
                .map(str::to_string),
            tags: tags(q)?,
        },
        "DescribeTrustStores" => ElbCommand::DescribeTrustStores {
            arns: q.list("TrustStoreArns"),
            names: q.list("Names"),
            page: page(q)?,
        },
        "ModifyTrustStore" => ElbCommand::ModifyTrustStore {
            arn: q.req("TrustStoreArn")?,
            bucket: q.req("CaCertificatesBundleS3Bucket")?,
            key: q.req("CaCertificatesBundleS3Key")?,
            object_version: q
                .get("CaCertificatesBundleS3ObjectVersion")
                .map(str::to_string),
        },
        "DeleteTrustStore" => ElbCommand::DeleteTrustStore {
            arn: q.req("TrustStoreArn")?,
        },
        "DescribeTrustStoreAssociations" => ElbCommand::DescribeTrustStoreAssociations {
            arn: q.req("TrustStoreArn")?,
            page: page(q)?,
        },
        "DescribeCapacityReservation" => ElbCommand::DescribeCapacityReservation {
            arn: q.req("LoadBalancerArn")?,
        },
        "ModifyCapacityReservation" => ElbCommand::ModifyCapacityReservation {
            arn: q.req("LoadBalancerArn")?,
            capacity_units: q.num("MinimumLoadBalancerCapacity.CapacityUnits")?,
            reset: q.bool("ResetCapacityReservation")?,
        },
        "GetResourcePolicy" => ElbCommand::GetResourcePolicy {
            arn: q.req("ResourceArn")?,
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
        for c in [
            "Action=DescribeTargetGroups&PageSize=0",
            "Action=DescribeTargetGroups&PageSize=401",
            "Action=DescribeRules&PageSize=x",
            "Action=AddTags&ResourceArns.member.1=a&Tags.member.1.Value=v",
            "Action=CreateLoadBalancer&Name=a&Subnets.member.1=s&SubnetMappings.member.1.SubnetId=t",
            "Action=SetIpAddressType&LoadBalancerArn=a",
        ] {
            let q = Query::parse(c.as_bytes()).unwrap();
            let action = q.req("Action").unwrap();
            assert_eq!(command(&action, &q).unwrap_err().code, "ValidationError", "{c}");
        }
        let q = Query::parse(b"Action=Nope").unwrap();
        assert_eq!(command("Nope", &q).unwrap_err().code, "InvalidAction");
    }
}
