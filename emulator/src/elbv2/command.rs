//! The ELBv2 operations as typed commands and replies (the wire side in
//! [`super::wire`] parses and renders them).

use std::collections::BTreeMap;

use crate::db::state::TagSet;
use crate::model::elb::tls::{MutualAuthentication, TrustStore};
use crate::model::elb::{
    ActionSpec, ConditionSpec, HealthCheck, Listener, LoadBalancer, TargetGroup,
};

use super::ssl_policies::SslPolicy;

/// `Tags.member.N`: key, value (duplicates kept, to be refused).
pub type TagList = Vec<(String, String)>;

/// `PageSize` (1-400, checked by the wire) and `Marker` of a Describe
/// call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub size: Option<u32>,
    pub marker: Option<String>,
}

/// Health check fields of CreateTargetGroup / ModifyTargetGroup; `None`
/// keeps the current (or default) value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCheckChange {
    pub enabled: Option<bool>,
    pub protocol: Option<String>,
    pub port: Option<String>,
    pub path: Option<String>,
    pub interval_seconds: Option<u32>,
    pub timeout_seconds: Option<u32>,
    pub healthy_threshold: Option<u32>,
    pub unhealthy_threshold: Option<u32>,
    pub matcher: Option<String>,
}

impl HealthCheckChange {
    pub(super) fn apply(&self, hc: &mut HealthCheck) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { hc.$f = v.clone(); } )* };
        }
        set!(
            enabled,
            protocol,
            port,
            path,
            interval_seconds,
            timeout_seconds,
            healthy_threshold,
            unhealthy_threshold,
            matcher
        );
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateTargetGroup {
    pub name: String,
    pub protocol: Option<String>,
    pub port: Option<u16>,
    pub vpc_id: Option<String>,
    pub target_type: Option<String>,
    pub health_check: HealthCheckChange,
    pub tags: TagList,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateLoadBalancer {
    pub name: String,
    pub scheme: Option<String>,
    /// `Type`: only `application`.
    pub kind: Option<String>,
    /// `Subnets` and `SubnetMappings.N.SubnetId`.
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub ip_address_type: Option<String>,
    pub tags: TagList,
}

/// `Certificates.member.N`: the certificate ARN and `IsDefault`.
pub type CertificateList = Vec<(String, Option<bool>)>;

/// The TLS members of CreateListener / ModifyListener (`None`/empty:
/// not given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListenerTlsChange {
    pub ssl_policy: Option<String>,
    pub certificates: CertificateList,
    pub mutual_authentication: Option<MutualAuthentication>,
}

/// One ELBv2 request.
#[derive(Debug, Clone, PartialEq)]
pub enum ElbCommand {
    CreateLoadBalancer(CreateLoadBalancer),
    DescribeLoadBalancers {
        arns: Vec<String>,
        names: Vec<String>,
        page: Page,
    },
    DeleteLoadBalancer {
        arn: String,
    },
    CreateTargetGroup(CreateTargetGroup),
    DescribeTargetGroups {
        load_balancer_arn: Option<String>,
        arns: Vec<String>,
        names: Vec<String>,
        page: Page,
    },
    ModifyTargetGroup {
        arn: String,
        health_check: HealthCheckChange,
    },
    DeleteTargetGroup {
        arn: String,
    },
    ModifyTargetGroupAttributes {
        arn: String,
        attributes: Vec<(String, String)>,
    },
    DescribeTargetGroupAttributes {
        arn: String,
    },
    RegisterTargets {
        arn: String,
        targets: Vec<(String, Option<u16>, Option<String>)>,
    },
    DeregisterTargets {
        arn: String,
        targets: Vec<(String, Option<u16>)>,
    },
    DescribeTargetHealth {
        arn: String,
        targets: Vec<(String, Option<u16>)>,
    },
    CreateListener {
        load_balancer_arn: String,
        protocol: Option<String>,
        port: Option<u16>,
        default_actions: Vec<ActionSpec>,
        tls: ListenerTlsChange,
        tags: TagList,
    },
    /// Port, protocol or default actions; `None`/empty leaves them.
    ModifyListener {
        arn: String,
        protocol: Option<String>,
        port: Option<u16>,
        default_actions: Vec<ActionSpec>,
        tls: ListenerTlsChange,
    },
    DescribeListeners {
        load_balancer_arn: Option<String>,
        arns: Vec<String>,
        page: Page,
    },
    DeleteListener {
        arn: String,
    },
    CreateRule {
        listener_arn: String,
        priority: u32,
        conditions: Vec<ConditionSpec>,
        actions: Vec<ActionSpec>,
        tags: TagList,
    },
    DescribeRules {
        listener_arn: Option<String>,
        arns: Vec<String>,
        page: Page,
    },
    ModifyRule {
        arn: String,
        conditions: Option<Vec<ConditionSpec>>,
        actions: Option<Vec<ActionSpec>>,
    },
    DeleteRule {
        arn: String,
    },
    SetRulePriorities {
        priorities: Vec<(String, u32)>,
    },
    DescribeLoadBalancerAttributes {
        arn: String,
    },
    ModifyLoadBalancerAttributes {
        arn: String,
        attributes: Vec<(String, String)>,
    },
    DescribeListenerAttributes {
        arn: String,
    },
    ModifyListenerAttributes {
        arn: String,
        attributes: Vec<(String, String)>,
    },
    AddTags {
        arns: Vec<String>,
        tags: TagList,
    },
    RemoveTags {
        arns: Vec<String>,
        keys: Vec<String>,
    },
    DescribeTags {
        arns: Vec<String>,
    },
    SetSubnets {
        arn: String,
        subnets: Vec<String>,
        ip_address_type: Option<String>,
    },
    SetSecurityGroups {
        arn: String,
        security_groups: Vec<String>,
    },
    SetIpAddressType {
        arn: String,
        ip_address_type: String,
    },
    DescribeAccountLimits {
        page: Page,
    },
    DescribeSslPolicies {
        names: Vec<String>,
        load_balancer_type: Option<String>,
        page: Page,
    },
    AddListenerCertificates {
        arn: String,
        certificates: CertificateList,
    },
    RemoveListenerCertificates {
        arn: String,
        certificates: CertificateList,
    },
    DescribeListenerCertificates {
        arn: String,
        page: Page,
    },
    CreateTrustStore {
        name: String,
        bucket: String,
        key: String,
        object_version: Option<String>,
        tags: TagList,
    },
    DescribeTrustStores {
        arns: Vec<String>,
        names: Vec<String>,
        page: Page,
    },
    ModifyTrustStore {
        arn: String,
        bucket: String,
        key: String,
        object_version: Option<String>,
    },
    DeleteTrustStore {
        arn: String,
    },
    DescribeTrustStoreAssociations {
        arn: String,
        page: Page,
    },
    DescribeCapacityReservation {
        arn: String,
    },
    ModifyCapacityReservation {
        arn: String,
        capacity_units: Option<u32>,
        reset: Option<bool>,
    },
    GetResourcePolicy {
        arn: String,
    },
}

impl ElbCommand {
    /// Whether the command only reads (Describe*).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            ElbCommand::DescribeLoadBalancers { .. }
                | ElbCommand::DescribeTargetGroups { .. }
                | ElbCommand::DescribeTargetGroupAttributes { .. }
                | ElbCommand::DescribeTargetHealth { .. }
                | ElbCommand::DescribeListeners { .. }
                | ElbCommand::DescribeRules { .. }
                | ElbCommand::DescribeLoadBalancerAttributes { .. }
                | ElbCommand::DescribeListenerAttributes { .. }
                | ElbCommand::DescribeTags { .. }
                | ElbCommand::DescribeAccountLimits { .. }
                | ElbCommand::DescribeSslPolicies { .. }
                | ElbCommand::DescribeListenerCertificates { .. }
                | ElbCommand::DescribeTrustStores { .. }
                | ElbCommand::DescribeTrustStoreAssociations { .. }
                | ElbCommand::DescribeCapacityReservation { .. }
                | ElbCommand::GetResourcePolicy { .. }
        )
    }

    /// Takes out the `Tags` of a Create call (`None`: not a create).
    pub fn take_create_tags(&mut self) -> Option<TagList> {
        match self {
            ElbCommand::CreateLoadBalancer(c) => Some(std::mem::take(&mut c.tags)),
            ElbCommand::CreateTargetGroup(c) => Some(std::mem::take(&mut c.tags)),
            ElbCommand::CreateListener { tags, .. }
            | ElbCommand::CreateRule { tags, .. }
            | ElbCommand::CreateTrustStore { tags, .. } => Some(std::mem::take(tags)),
            _ => None,
        }
    }
}

/// A load balancer as DescribeLoadBalancers reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerView {
    pub lb: LoadBalancer,
    pub dns_name: String,
    /// (zone, subnet), one per subnet.
    pub zones: Vec<(String, String)>,
}

/// A rule as DescribeRules reports it (the default rule included).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleView {
    pub arn: String,
    /// `None`: the default rule.
    pub priority: Option<u32>,
    pub conditions: Vec<ConditionSpec>,
    pub actions: Vec<ActionSpec>,
}

/// One row of DescribeTargetHealth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealthView {
    pub id: String,
    pub port: u16,
    pub health_check_port: String,
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// What a command answers.
#[derive(Debug, Clone, PartialEq)]
pub enum ElbReply {
    Empty,
    LoadBalancers(Vec<LoadBalancerView>),
    TargetGroups(Vec<(TargetGroup, Vec<String>)>),
    Attributes(BTreeMap<String, String>),
    TargetHealth(Vec<TargetHealthView>),
    Listeners(Vec<Listener>),
    Rules(Vec<RuleView>),
    /// One page of a Describe call, and the marker of the next one.
    Paged {
        reply: Box<ElbReply>,
        next_marker: Option<String>,
    },
    /// DescribeTags: (resource ARN, its tags), in the order asked.
    Tags(Vec<(String, TagSet)>),
    /// SetSubnets: (zone, subnet) and the IP address type.
    AvailabilityZones {
        zones: Vec<(String, String)>,
        ip_address_type: String,
    },
    SecurityGroupIds(Vec<String>),
    IpAddressType(String),
    /// DescribeAccountLimits: (name, max).
    Limits(Vec<(String, String)>),
    SslPolicies(Vec<&'static SslPolicy>),
    /// Listener certificates: (ARN, IsDefault).
    Certificates(Vec<(String, bool)>),
    TrustStores(Vec<TrustStore>),
    /// DescribeTrustStoreAssociations: the resources' ARNs.
    TrustStoreAssociations(Vec<String>),
    Capacity(CapacityView),
}

/// Describe/ModifyCapacityReservation's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityView {
    pub last_modified_time: Option<f64>,
    pub decrease_requests_remaining: u32,
    pub capacity_units: Option<u32>,
    /// (zone, effective capacity units), one per zone while reserved.
    pub zones: Vec<(String, f64)>,
}

impl ElbReply {
    /// The ARN of the resource a Create call answered with.
    pub fn created_arn(&self) -> Option<&str> {
        match self {
            ElbReply::LoadBalancers(v) => v.first().map(|l| l.lb.arn.as_str()),
            ElbReply::TargetGroups(v) => v.first().map(|t| t.0.arn.as_str()),
            ElbReply::Listeners(v) => v.first().map(|l| l.arn.as_str()),
            ElbReply::Rules(v) => v.first().map(|r| r.arn.as_str()),
            ElbReply::TrustStores(v) => v.first().map(|t| t.arn.as_str()),
            _ => None,
        }
    }
}
