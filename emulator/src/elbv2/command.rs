//! The ELBv2 operations as typed commands and replies (the wire side in
//! [`super::wire`] parses and renders them).

use std::collections::BTreeMap;

use crate::model::elb::{
    ActionSpec, ConditionSpec, HealthCheck, Listener, LoadBalancer, TargetGroup,
};

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
}

/// One ELBv2 request.
#[derive(Debug, Clone, PartialEq)]
pub enum ElbCommand {
    CreateLoadBalancer {
        name: String,
        scheme: Option<String>,
        kind: Option<String>,
    },
    DescribeLoadBalancers {
        arns: Vec<String>,
        names: Vec<String>,
    },
    DeleteLoadBalancer {
        arn: String,
    },
    CreateTargetGroup(CreateTargetGroup),
    DescribeTargetGroups {
        load_balancer_arn: Option<String>,
        arns: Vec<String>,
        names: Vec<String>,
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
    },
    /// Port, protocol or default actions; `None`/empty leaves them.
    ModifyListener {
        arn: String,
        protocol: Option<String>,
        port: Option<u16>,
        default_actions: Vec<ActionSpec>,
    },
    DescribeListeners {
        load_balancer_arn: Option<String>,
        arns: Vec<String>,
    },
    DeleteListener {
        arn: String,
    },
    CreateRule {
        listener_arn: String,
        priority: u32,
        conditions: Vec<ConditionSpec>,
        actions: Vec<ActionSpec>,
    },
    DescribeRules {
        listener_arn: Option<String>,
        arns: Vec<String>,
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
        )
    }
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
    LoadBalancers(Vec<(LoadBalancer, String)>),
    TargetGroups(Vec<(TargetGroup, Vec<String>)>),
    Attributes(BTreeMap<String, String>),
    TargetHealth(Vec<TargetHealthView>),
    Listeners(Vec<Listener>),
    Rules(Vec<RuleView>),
}
