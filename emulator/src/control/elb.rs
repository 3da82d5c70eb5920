//! The ELBv2 control plane: every ELBv2 request becomes an [`ElbCommand`],
//! handled in one `match` by [`Elb::handle`], which changes the embedded
//! [`alb::Alb`] (live traffic follows at once) and then records the desired
//! state ([`ElbState`]) in the emulator's store through the engine, so
//! [`Elb::restore`] can re-create everything after a restart.
//!
//! Invariant: the balancer is changed first and the state recorded only on
//! success, under one async lock, so the two never disagree about what
//! exists. Targets that services register on the balancer directly are not
//! recorded here (their reconciler re-registers them); DescribeTargetHealth
//! always reports the balancer's live view.
//!
//! Listener addresses: AWS listeners listen on their port on the load
//! balancer's DNS name; here a listener on port P binds
//! `listener_host:P`, except the ports in [`ElbConfig::port_overrides`]
//! (the default stack's port 80 binds 127.0.0.1:8080), and with
//! [`ElbConfig::ephemeral_listeners`] every listener binds port 0 (tests
//! run in parallel). [`Elb::listener_addrs`] reports the bound addresses.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use alb::Alb;

use crate::control::Engine;
use crate::model::elb::{
    default_rule_arn, default_target_group_attributes, new_id, validate_attribute, validate_name,
    ActionSpec, ConditionSpec, ElbArns, ElbState, HealthCheck, Listener, LoadBalancer, Rule,
    StackLoadBalancer, StackTargetGroup, TargetGroup, TargetSpec,
};

/// Where listeners bind.
#[derive(Debug, Clone)]
pub struct ElbConfig {
    pub arns: ElbArns,
    /// The host every listener binds on (default 127.0.0.1).
    pub listener_host: IpAddr,
    /// AWS listener port -> local address (port 0: any free port).
    pub port_overrides: BTreeMap<u16, SocketAddr>,
    /// Bind every listener without an override on port 0.
    pub ephemeral_listeners: bool,
}

impl Default for ElbConfig {
    fn default() -> Self {
        ElbConfig {
            arns: ElbArns::default(),
            listener_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_overrides: BTreeMap::new(),
            ephemeral_listeners: false,
        }
    }
}

impl ElbConfig {
    /// The local address for an AWS listener port.
    pub fn bind_addr(&self, port: u16) -> SocketAddr {
        if let Some(a) = self.port_overrides.get(&port) {
            return *a;
        }
        let port = if self.ephemeral_listeners { 0 } else { port };
        SocketAddr::new(self.listener_host, port)
    }
}

/// Why an ELBv2 request failed; [`ElbError::code`] is the AWS error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElbError {
    #[error("One or more load balancers not found: {0}")]
    LoadBalancerNotFound(String),
    #[error("One or more target groups not found: {0}")]
    TargetGroupNotFound(String),
    #[error("One or more listeners not found: {0}")]
    ListenerNotFound(String),
    #[error("One or more rules not found: {0}")]
    RuleNotFound(String),
    #[error("A load balancer with the same name '{0}' exists, but with different settings")]
    DuplicateLoadBalancerName(String),
    #[error("A target group with the same name '{0}' exists, but with different settings")]
    DuplicateTargetGroupName(String),
    #[error("A listener already exists on port {0} of this load balancer")]
    DuplicateListener(u16),
    #[error("The specified priority {0} is in use")]
    PriorityInUse(u32),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidTarget(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    InvalidConfiguration(String),
    #[error("{0}")]
    OperationNotPermitted(String),
    #[error("{0}")]
    Internal(String),
}

impl ElbError {
    /// The AWS error code.
    pub fn code(&self) -> &'static str {
        match self {
            ElbError::LoadBalancerNotFound(_) => "LoadBalancerNotFound",
            ElbError::TargetGroupNotFound(_) => "TargetGroupNotFound",
            ElbError::ListenerNotFound(_) => "ListenerNotFound",
            ElbError::RuleNotFound(_) => "RuleNotFound",
            ElbError::DuplicateLoadBalancerName(_) => "DuplicateLoadBalancerName",
            ElbError::DuplicateTargetGroupName(_) => "DuplicateTargetGroupName",
            ElbError::DuplicateListener(_) => "DuplicateListener",
            ElbError::PriorityInUse(_) => "PriorityInUse",
            ElbError::Validation(_) => "ValidationError",
            ElbError::InvalidTarget(_) => "InvalidTarget",
            ElbError::ResourceInUse(_) => "ResourceInUse",
            ElbError::InvalidConfiguration(_) => "InvalidConfigurationRequest",
            ElbError::OperationNotPermitted(_) => "OperationNotPermitted",
            ElbError::Internal(_) => "InternalFailure",
        }
    }

    /// Client error (`Sender`) or not (`Receiver`).
    pub fn is_client(&self) -> bool {
        !matches!(self, ElbError::Internal(_))
    }
}

fn validation(e: impl Into<String>) -> ElbError {
    ElbError::Validation(e.into())
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
    fn apply(&self, hc: &mut HealthCheck) {
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

/// The ELBv2 controller. Cheap to clone.
#[derive(Clone)]
pub struct Elb {
    inner: Arc<Inner>,
}

struct Inner {
    alb: Alb,
    engine: Engine,
    config: ElbConfig,
    /// The desired state; the async lock serialises every change.
    state: tokio::sync::Mutex<ElbState>,
}

impl Elb {
    /// A controller over `alb`, starting from the state the engine loaded.
    /// Call [`Elb::restore`] to re-create what that state describes.
    pub fn new(alb: Alb, engine: Engine, config: ElbConfig) -> Elb {
        let state = engine.snapshot().elb;
        Elb {
            inner: Arc::new(Inner {
                alb,
                engine,
                config,
                state: tokio::sync::Mutex::new(state),
            }),
        }
    }

    /// A copy of the desired state.
    pub async fn state(&self) -> ElbState {
        self.inner.state.lock().await.clone()
    }

    /// Bound listener addresses by listener ARN.
    pub fn listener_addrs(&self) -> BTreeMap<String, SocketAddr> {
        self.inner
            .alb
            .load_balancers()
            .iter()
            .flat_map(|lb| lb.listeners())
            .map(|l| (l.arn().to_string(), l.local_addr()))
            .collect()
    }

    /// Re-creates target groups (with their API-registered targets), load
    /// balancers, listeners and rules from the recorded state. Resources the
    /// balancer already has are left alone; failures are logged and the
    /// rest is still restored.
    pub async fn restore(&self) -> Result<(), ElbError> {
        let state = self.inner.state.lock().await.clone();
        let alb = &self.inner.alb;
        for tg in state.target_groups.values() {
            if alb.target_group(&tg.arn).is_some() {
                continue;
            }
            let made = tg
                .alb_config()
                .map_err(validation)
                .and_then(|c| alb.create_target_group(&tg.arn, c).map_err(internal));
            match made {
                Ok(h) => {
                    if let Err(e) = self
                        .resolve_targets(tg, &tg.targets)
                        .and_then(|t| h.register_targets(&t).map_err(internal))
                    {
                        tracing::warn!(target_group = %tg.arn, error = %e, "cannot restore targets");
                    }
                }
                Err(e) => tracing::warn!(target_group = %tg.arn, error = %e, "cannot restore"),
            }
        }
        let mut first_error = None;
        for lb in state.load_balancers.values() {
            let h = match alb.load_balancer(&lb.arn) {
                Some(h) => h,
                None => alb
                    .create_load_balancer(&lb.arn, alb::LoadBalancerAttributes::default())
                    .map_err(internal)?,
            };
            for l in state
                .listeners
                .values()
                .filter(|l| l.load_balancer_arn == lb.arn)
            {
                if h.listener(&l.arn).is_some() {
                    continue;
                }
                let r = self
                    .bind_listener(&h, l)
                    .await
                    .and_then(|lh| add_rules(&lh, &state.listener_rules(&l.arn)));
                if let Err(e) = r {
                    tracing::error!(listener = %l.arn, error = %e, "cannot restore listener");
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn bind_listener(
        &self,
        lb: &alb::LoadBalancerHandle,
        l: &Listener,
    ) -> Result<alb::ListenerHandle, ElbError> {
        let action = ActionSpec::to_alb(&l.default_actions).map_err(validation)?;
        let addr = self.inner.config.bind_addr(l.port);
        lb.create_listener(&l.arn, addr, action)
            .await
            .map_err(listener_err)
    }

    /// Resolves target ids: container instance ids (`i-...`) are the local
    /// engine, 127.0.0.1; `ip` targets are used as they are.
    fn resolve_targets(
        &self,
        tg: &TargetGroup,
        targets: &[TargetSpec],
    ) -> Result<Vec<alb::Target>, ElbError> {
        let instances: Vec<String> = self.inner.engine.read(|st| {
            st.container_instances
                .values()
                .map(|i| i.ec2_instance_id.clone())
                .collect()
        });
        targets
            .iter()
            .map(|t| {
                if t.port == 0 {
                    return Err(validation(format!("Target {} port must be 1-65535", t.id)));
                }
                if tg.target_type == "ip" {
                    let ip: IpAddr = t.id.parse().map_err(|_| {
                        ElbError::InvalidTarget(format!(
                            "The IP address '{}' is not a valid IP address",
                            t.id
                        ))
                    })?;
                    Ok(alb::Target::with_host(&t.id, ip.to_string(), t.port))
                } else if instances.contains(&t.id) {
                    Ok(alb::Target::with_host(&t.id, "127.0.0.1", t.port))
                } else {
                    Err(ElbError::InvalidTarget(format!(
                        "The following targets are not valid instances: '{}' (register a container instance's ec2InstanceId)",
                        t.id
                    )))
                }
            })
            .collect()
    }

    /// Handles one command: the single `match` every ELBv2 request goes
    /// through.
    pub async fn handle(&self, cmd: ElbCommand) -> Result<ElbReply, ElbError> {
        let mut guard = self.inner.state.lock().await;
        let mut next = guard.clone();
        let reply = self.apply(&mut next, cmd).await?;
        if next != *guard {
            *guard = next.clone();
            self.inner.engine.update_state(|s| s.elb = next);
        }
        Ok(reply)
    }

    async fn apply(&self, st: &mut ElbState, cmd: ElbCommand) -> Result<ElbReply, ElbError> {
        let alb = &self.inner.alb;
        let arns = &self.inner.config.arns;
        match cmd {
            ElbCommand::CreateLoadBalancer { name, scheme, kind } => {
                validate_name("Load balancer", &name).map_err(validation)?;
                if let Some(k) = kind.filter(|k| k != "application") {
                    return Err(validation(format!(
                        "Load balancer type '{k}' is not supported; only 'application'"
                    )));
                }
                if st.load_balancers.values().any(|l| l.name == name) {
                    return Err(ElbError::DuplicateLoadBalancerName(name));
                }
                let scheme = scheme.unwrap_or_else(|| "internet-facing".into());
                if scheme != "internet-facing" && scheme != "internal" {
                    return Err(validation(format!("Scheme '{scheme}' is not valid")));
                }
                let arn = arns.load_balancer(&name, &new_id());
                alb.create_load_balancer(&arn, alb::LoadBalancerAttributes::default())
                    .map_err(internal)?;
                let lb = LoadBalancer {
                    arn: arn.clone(),
                    name,
                    scheme,
                    created_time: crate::model::now_epoch(),
                };
                st.load_balancers.insert(arn, lb.clone());
                Ok(ElbReply::LoadBalancers(vec![self.with_dns(lb)]))
            }
            ElbCommand::DescribeLoadBalancers { arns: want, names } => {
                let mut out = Vec::new();
                if want.is_empty() && names.is_empty() {
                    out.extend(st.load_balancers.values().cloned());
                }
                for a in &want {
                    out.push(
                        st.load_balancers
                            .get(a)
                            .cloned()
                            .ok_or_else(|| ElbError::LoadBalancerNotFound(a.clone()))?,
                    );
                }
                for n in &names {
                    out.push(
                        st.load_balancers
                            .values()
                            .find(|l| l.name == *n)
                            .cloned()
                            .ok_or_else(|| ElbError::LoadBalancerNotFound(n.clone()))?,
                    );
                }
                Ok(ElbReply::LoadBalancers(
                    out.into_iter().map(|l| self.with_dns(l)).collect(),
                ))
            }
            ElbCommand::DeleteLoadBalancer { arn } => {
                // AWS: deleting a missing load balancer succeeds.
                if st.load_balancers.remove(&arn).is_some() {
                    let gone: Vec<String> = st
                        .listeners
                        .values()
                        .filter(|l| l.load_balancer_arn == arn)
                        .map(|l| l.arn.clone())
                        .collect();
                    for l in &gone {
                        st.listeners.remove(l);
                        st.rules.retain(|_, r| r.listener_arn != *l);
                    }
                    let _ = alb.delete_load_balancer(&arn).await;
                }
                Ok(ElbReply::Empty)
            }
            ElbCommand::CreateTargetGroup(req) => {
                validate_name("Target group", &req.name).map_err(validation)?;
                if st.target_groups.values().any(|t| t.name == req.name) {
                    return Err(ElbError::DuplicateTargetGroupName(req.name));
                }
                let protocol = req.protocol.unwrap_or_else(|| "HTTP".into());
                if protocol != "HTTP" {
                    return Err(validation(format!(
                        "Target group protocol '{protocol}' is not supported; use HTTP"
                    )));
                }
                let port = req
                    .port
                    .ok_or_else(|| validation("A port must be specified"))?;
                if port == 0 {
                    return Err(validation("Port must be 1-65535"));
                }
                let target_type = req.target_type.unwrap_or_else(|| "instance".into());
                if target_type != "instance" && target_type != "ip" {
                    return Err(validation(format!(
                        "Target type '{target_type}' is not supported (instance, ip)"
                    )));
                }
                let mut hc = HealthCheck::default();
                req.health_check.apply(&mut hc);
                let arn = arns.target_group(&req.name, &new_id());
                let tg = TargetGroup {
                    arn: arn.clone(),
                    name: req.name,
                    protocol,
                    port,
                    vpc_id: req.vpc_id,
                    target_type,
                    health_check: hc,
                    attributes: default_target_group_attributes(),
                    targets: Vec::new(),
                };
                let config = tg.alb_config().map_err(validation)?;
                alb.create_target_group(&arn, config).map_err(internal)?;
                st.target_groups.insert(arn, tg.clone());
                Ok(ElbReply::TargetGroups(vec![(tg, Vec::new())]))
            }
            ElbCommand::DescribeTargetGroups {
                load_balancer_arn,
                arns: want,
                names,
            } => {
                let mut out: Vec<TargetGroup> = Vec::new();
                if let Some(lb) = &load_balancer_arn {
                    if !st.load_balancers.contains_key(lb) {
                        return Err(ElbError::LoadBalancerNotFound(lb.clone()));
                    }
                    out.extend(
                        st.target_groups
                            .values()
                            .filter(|t| tg_load_balancers(st, &t.arn).contains(lb))
                            .cloned(),
                    );
                } else if want.is_empty() && names.is_empty() {
                    out.extend(st.target_groups.values().cloned());
                }
                for a in &want {
                    out.push(tg_ref(st, a)?.clone());
                }
                for n in &names {
                    out.push(
                        st.target_groups
                            .values()
                            .find(|t| t.name == *n)
                            .cloned()
                            .ok_or_else(|| ElbError::TargetGroupNotFound(n.clone()))?,
                    );
                }
                Ok(ElbReply::TargetGroups(
                    out.into_iter()
                        .map(|t| {
                            let lbs = tg_load_balancers(st, &t.arn);
                            (t, lbs)
                        })
                        .collect(),
                ))
            }
            ElbCommand::ModifyTargetGroup { arn, health_check } => {
                let tg = tg_mut(st, &arn)?;
                let mut hc = tg.health_check.clone();
                health_check.apply(&mut hc);
                let config = hc.to_alb().map_err(validation)?;
                self.handle_of(&arn)?
                    .modify_health_check(config)
                    .map_err(internal)?;
                tg.health_check = hc;
                let tg = tg.clone();
                let lbs = tg_load_balancers(st, &arn);
                Ok(ElbReply::TargetGroups(vec![(tg, lbs)]))
            }
            ElbCommand::DeleteTargetGroup { arn } => {
                tg_ref(st, &arn)?;
                let in_use = st
                    .listeners
                    .values()
                    .flat_map(|l| &l.default_actions)
                    .chain(st.rules.values().flat_map(|r| &r.actions))
                    .any(|a| a.target_group_arns().any(|t| t == arn));
                if in_use {
                    return Err(ElbError::ResourceInUse(format!(
                        "Target group '{arn}' is currently in use by a listener or a rule"
                    )));
                }
                match alb.delete_target_group(&arn) {
                    Ok(()) | Err(alb::TargetGroupError::NotFound(_)) => {}
                    Err(alb::TargetGroupError::InUse { .. }) => {
                        return Err(ElbError::ResourceInUse(format!(
                            "Target group '{arn}' is currently in use by a listener or a rule"
                        )))
                    }
                    Err(e) => return Err(internal(e)),
                }
                st.target_groups.remove(&arn);
                Ok(ElbReply::Empty)
            }
            ElbCommand::ModifyTargetGroupAttributes { arn, attributes } => {
                let tg = tg_mut(st, &arn)?;
                if attributes.is_empty() {
                    return Err(validation("At least one attribute must be specified"));
                }
                let mut next = tg.clone();
                for (k, v) in &attributes {
                    validate_attribute(k, v).map_err(validation)?;
                    next.attributes.insert(k.clone(), v.clone());
                }
                self.handle_of(&arn)?
                    .set_attributes(next.alb_attributes())
                    .map_err(internal)?;
                *tg = next;
                Ok(ElbReply::Attributes(tg.attributes.clone()))
            }
            ElbCommand::DescribeTargetGroupAttributes { arn } => {
                Ok(ElbReply::Attributes(tg_ref(st, &arn)?.attributes.clone()))
            }
            ElbCommand::RegisterTargets { arn, targets } => {
                let tg = tg_ref(st, &arn)?.clone();
                if targets.is_empty() {
                    return Err(validation("At least one target must be specified"));
                }
                let specs: Vec<TargetSpec> = targets
                    .into_iter()
                    .map(|(id, port, az)| TargetSpec {
                        id,
                        port: port.unwrap_or(tg.port),
                        availability_zone: az,
                    })
                    .collect();
                let resolved = self.resolve_targets(&tg, &specs)?;
                self.handle_of(&arn)?
                    .register_targets(&resolved)
                    .map_err(|e| ElbError::InvalidTarget(e.to_string()))?;
                let tg = tg_mut(st, &arn)?;
                for s in specs {
                    if !tg.targets.iter().any(|t| t.id == s.id && t.port == s.port) {
                        tg.targets.push(s);
                    }
                }
                Ok(ElbReply::Empty)
            }
            ElbCommand::DeregisterTargets { arn, targets } => {
                let tg = tg_mut(st, &arn)?;
                if targets.is_empty() {
                    return Err(validation("At least one target must be specified"));
                }
                let keys: Vec<(String, u16)> = targets
                    .into_iter()
                    .map(|(id, p)| (id, p.unwrap_or(tg.port)))
                    .collect();
                let h = self.handle_of(&arn)?;
                let live = h.describe_target_health(None);
                if let Some((id, port)) = keys.iter().find(|(id, p)| {
                    !live
                        .iter()
                        .any(|d| d.target.id == *id && d.target.port == *p)
                }) {
                    return Err(ElbError::InvalidTarget(format!(
                        "The target '{id}:{port}' is not registered in target group '{arn}'"
                    )));
                }
                h.deregister_targets(&keys);
                tg.targets
                    .retain(|t| !keys.iter().any(|(id, p)| t.id == *id && t.port == *p));
                Ok(ElbReply::Empty)
            }
            ElbCommand::DescribeTargetHealth { arn, targets } => {
                let tg = tg_ref(st, &arn)?;
                let keys: Vec<(String, u16)> = targets
                    .into_iter()
                    .map(|(id, p)| (id, p.unwrap_or(tg.port)))
                    .collect();
                let rows = self
                    .handle_of(&arn)?
                    .describe_target_health((!keys.is_empty()).then_some(&keys[..]));
                // A group no listener forwards to gets no traffic: its
                // registered targets are `unused`, as AWS reports them.
                let in_use = !tg_load_balancers(st, &arn).is_empty();
                Ok(ElbReply::TargetHealth(
                    rows.into_iter()
                        .map(|d| {
                            let registered = !matches!(
                                d.health.reason,
                                Some(
                                    alb::TargetHealthReason::NotRegistered
                                        | alb::TargetHealthReason::DeregistrationInProgress
                                )
                            );
                            let mut view = TargetHealthView {
                                id: d.target.id,
                                port: d.target.port,
                                health_check_port: d.health_check_port.to_string(),
                                state: d.health.state.as_str().to_string(),
                                reason: d.health.reason.map(|r| r.code().to_string()),
                                description: d.health.description,
                            };
                            if !in_use && registered {
                                view.state = "unused".into();
                                view.reason = Some("Target.NotInUse".into());
                                view.description = Some(
                                    "Target group is not configured to receive traffic from the load balancer".into(),
                                );
                            }
                            view
                        })
                        .collect(),
                ))
            }
            ElbCommand::CreateListener {
                load_balancer_arn,
                protocol,
                port,
                default_actions,
            } => {
                if !st.load_balancers.contains_key(&load_balancer_arn) {
                    return Err(ElbError::LoadBalancerNotFound(load_balancer_arn));
                }
                let protocol = protocol.unwrap_or_else(|| "HTTP".into());
                if protocol != "HTTP" {
                    return Err(validation(format!(
                        "Listener protocol '{protocol}' is not supported; use HTTP"
                    )));
                }
                let port = port
                    .filter(|p| *p > 0)
                    .ok_or_else(|| validation("A listener port 1-65535 must be specified"))?;
                if st
                    .listeners
                    .values()
                    .any(|l| l.load_balancer_arn == load_balancer_arn && l.port == port)
                {
                    return Err(ElbError::DuplicateListener(port));
                }
                check_actions(st, &default_actions)?;
                let lb = alb
                    .load_balancer(&load_balancer_arn)
                    .ok_or_else(|| ElbError::LoadBalancerNotFound(load_balancer_arn.clone()))?;
                let l = Listener {
                    arn: arns.listener(&load_balancer_arn, &new_id()),
                    load_balancer_arn,
                    protocol,
                    port,
                    default_actions,
                };
                self.bind_listener(&lb, &l).await?;
                st.listeners.insert(l.arn.clone(), l.clone());
                Ok(ElbReply::Listeners(vec![l]))
            }
            ElbCommand::ModifyListener {
                arn,
                protocol,
                port,
                default_actions,
            } => {
                let mut l = st
                    .listeners
                    .get(&arn)
                    .cloned()
                    .ok_or_else(|| ElbError::ListenerNotFound(arn.clone()))?;
                if let Some(p) = protocol.filter(|p| p != "HTTP") {
                    return Err(validation(format!(
                        "Listener protocol '{p}' is not supported; use HTTP"
                    )));
                }
                if port == Some(0) {
                    return Err(validation("A listener port 1-65535 must be specified"));
                }
                let new_port = port.filter(|p| *p != l.port);
                if let Some(p) = new_port {
                    if st
                        .listeners
                        .values()
                        .any(|o| o.load_balancer_arn == l.load_balancer_arn && o.port == p)
                    {
                        return Err(ElbError::DuplicateListener(p));
                    }
                }
                if !default_actions.is_empty() {
                    check_actions(st, &default_actions)?;
                    l.default_actions = default_actions;
                }
                let lb = alb
                    .load_balancer(&l.load_balancer_arn)
                    .ok_or_else(|| ElbError::LoadBalancerNotFound(l.load_balancer_arn.clone()))?;
                let rules = st.listener_rules(&arn);
                if let Some(p) = new_port {
                    // A new port is a new socket: bind it with the rules,
                    // then let the old one go.
                    let old = st.listeners[&arn].clone();
                    l.port = p;
                    lb.delete_listener(&arn).await.map_err(listener_err)?;
                    let bound = match self.bind_listener(&lb, &l).await {
                        Ok(lh) => add_rules(&lh, &rules),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = bound {
                        // Back on the old port, as it was.
                        let _ = lb.delete_listener(&arn).await;
                        if let Ok(lh) = self.bind_listener(&lb, &old).await {
                            let _ = add_rules(&lh, &rules);
                        }
                        return Err(e);
                    }
                } else {
                    let action = ActionSpec::to_alb(&l.default_actions).map_err(validation)?;
                    self.listener_of(st, &arn)?
                        .set_default_action(action)
                        .map_err(listener_err)?;
                }
                st.listeners.insert(arn, l.clone());
                Ok(ElbReply::Listeners(vec![l]))
            }
            ElbCommand::DescribeListeners {
                load_balancer_arn,
                arns: want,
            } => {
                let mut out = Vec::new();
                if let Some(lb) = &load_balancer_arn {
                    if !st.load_balancers.contains_key(lb) {
                        return Err(ElbError::LoadBalancerNotFound(lb.clone()));
                    }
                    out.extend(
                        st.listeners
                            .values()
                            .filter(|l| l.load_balancer_arn == *lb)
                            .cloned(),
                    );
                } else if want.is_empty() {
                    return Err(validation(
                        "You must specify either listener ARNs or a load balancer ARN",
                    ));
                }
                for a in &want {
                    out.push(
                        st.listeners
                            .get(a)
                            .cloned()
                            .ok_or_else(|| ElbError::ListenerNotFound(a.clone()))?,
                    );
                }
                Ok(ElbReply::Listeners(out))
            }
            ElbCommand::DeleteListener { arn } => {
                let l = st
                    .listeners
                    .remove(&arn)
                    .ok_or_else(|| ElbError::ListenerNotFound(arn.clone()))?;
                st.rules.retain(|_, r| r.listener_arn != arn);
                if let Some(lb) = alb.load_balancer(&l.load_balancer_arn) {
                    let _ = lb.delete_listener(&arn).await;
                }
                Ok(ElbReply::Empty)
            }
            ElbCommand::CreateRule {
                listener_arn,
                priority,
                conditions,
                actions,
            } => {
                let h = self.listener_of(st, &listener_arn)?;
                if st
                    .rules
                    .values()
                    .any(|r| r.listener_arn == listener_arn && r.priority == priority)
                {
                    return Err(ElbError::PriorityInUse(priority));
                }
                check_actions(st, &actions)?;
                let arn = arns.rule(&listener_arn, &new_id());
                h.create_rule(&arn, alb_rule(priority, &conditions, &actions)?)
                    .map_err(listener_err)?;
                let rule = Rule {
                    arn: arn.clone(),
                    listener_arn,
                    priority,
                    conditions,
                    actions,
                };
                st.rules.insert(arn, rule.clone());
                Ok(ElbReply::Rules(vec![rule_view(&rule)]))
            }
            ElbCommand::DescribeRules {
                listener_arn,
                arns: want,
            } => {
                let mut out = Vec::new();
                if let Some(la) = &listener_arn {
                    let l = st
                        .listeners
                        .get(la)
                        .ok_or_else(|| ElbError::ListenerNotFound(la.clone()))?;
                    let mut rules: Vec<&Rule> = st
                        .rules
                        .values()
                        .filter(|r| r.listener_arn == *la)
                        .collect();
                    rules.sort_by_key(|r| r.priority);
                    out.extend(rules.into_iter().map(rule_view));
                    out.push(default_view(l));
                } else if want.is_empty() {
                    return Err(validation(
                        "You must specify either rule ARNs or a listener ARN",
                    ));
                }
                for a in &want {
                    if let Some(r) = st.rules.get(a) {
                        out.push(rule_view(r));
                    } else if let Some(l) = st
                        .listeners
                        .values()
                        .find(|l| default_rule_arn(&l.arn) == *a)
                    {
                        out.push(default_view(l));
                    } else {
                        return Err(ElbError::RuleNotFound(a.clone()));
                    }
                }
                Ok(ElbReply::Rules(out))
            }
            ElbCommand::ModifyRule {
                arn,
                conditions,
                actions,
            } => {
                if let Some(l) = st
                    .listeners
                    .values_mut()
                    .find(|l| default_rule_arn(&l.arn) == arn)
                {
                    // The default rule: only its actions can change.
                    if conditions.is_some() {
                        return Err(ElbError::OperationNotPermitted(
                            "The default rule cannot have conditions".into(),
                        ));
                    }
                    let Some(actions) = actions else {
                        return Ok(ElbReply::Rules(vec![default_view(l)]));
                    };
                    let l_arn = l.arn.clone();
                    let lb_arn = l.load_balancer_arn.clone();
                    check_actions(st, &actions)?;
                    let action = ActionSpec::to_alb(&actions).map_err(validation)?;
                    alb.load_balancer(&lb_arn)
                        .and_then(|lb| lb.listener(&l_arn))
                        .ok_or_else(|| ElbError::ListenerNotFound(l_arn.clone()))?
                        .set_default_action(action)
                        .map_err(listener_err)?;
                    let l = st.listeners.get_mut(&l_arn).expect("listener exists");
                    l.default_actions = actions;
                    return Ok(ElbReply::Rules(vec![default_view(l)]));
                }
                let rule = st
                    .rules
                    .get(&arn)
                    .cloned()
                    .ok_or_else(|| ElbError::RuleNotFound(arn.clone()))?;
                if let Some(a) = &actions {
                    check_actions(st, a)?;
                }
                let mut next = rule.clone();
                if let Some(c) = conditions {
                    next.conditions = c;
                }
                if let Some(a) = actions {
                    next.actions = a;
                }
                // Validate the whole result before touching the balancer.
                let cfg = alb_rule(next.priority, &next.conditions, &next.actions)?;
                self.listener_of(st, &rule.listener_arn)?
                    .modify_rule(&arn, Some(cfg.conditions), Some(cfg.action))
                    .map_err(listener_err)?;
                st.rules.insert(arn, next.clone());
                Ok(ElbReply::Rules(vec![rule_view(&next)]))
            }
            ElbCommand::DeleteRule { arn } => {
                if st
                    .listeners
                    .values()
                    .any(|l| default_rule_arn(&l.arn) == arn)
                {
                    return Err(ElbError::OperationNotPermitted(
                        "The default rule cannot be deleted".into(),
                    ));
                }
                let rule = st
                    .rules
                    .get(&arn)
                    .cloned()
                    .ok_or_else(|| ElbError::RuleNotFound(arn.clone()))?;
                self.listener_of(st, &rule.listener_arn)?
                    .delete_rule(&arn)
                    .map_err(listener_err)?;
                st.rules.remove(&arn);
                Ok(ElbReply::Empty)
            }
            ElbCommand::SetRulePriorities { priorities } => {
                if priorities.is_empty() {
                    return Err(validation("At least one rule priority must be specified"));
                }
                let mut by_listener: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
                for (arn, p) in &priorities {
                    if !alb::rule::PRIORITY_RANGE.contains(p) {
                        return Err(validation(format!("Priority {p} must be 1-50000")));
                    }
                    let r = st.rules.get(arn).ok_or_else(|| {
                        if st
                            .listeners
                            .values()
                            .any(|l| default_rule_arn(&l.arn) == *arn)
                        {
                            ElbError::OperationNotPermitted(
                                "The default rule's priority cannot be set".into(),
                            )
                        } else {
                            ElbError::RuleNotFound(arn.clone())
                        }
                    })?;
                    by_listener
                        .entry(r.listener_arn.clone())
                        .or_default()
                        .push((arn.clone(), *p));
                }
                // Check every listener first so the change is all or nothing.
                for (l, ps) in &by_listener {
                    let mut after: BTreeMap<String, u32> = st
                        .rules
                        .values()
                        .filter(|r| r.listener_arn == *l)
                        .map(|r| (r.arn.clone(), r.priority))
                        .collect();
                    after.extend(ps.iter().cloned());
                    let mut seen = std::collections::BTreeSet::new();
                    if let Some(p) = after.values().find(|p| !seen.insert(**p)) {
                        return Err(ElbError::PriorityInUse(*p));
                    }
                }
                for (l, ps) in &by_listener {
                    self.listener_of(st, l)?
                        .set_rule_priorities(ps)
                        .map_err(listener_err)?;
                }
                for (arn, p) in &priorities {
                    if let Some(r) = st.rules.get_mut(arn) {
                        r.priority = *p;
                    }
                }
                let out = priorities
                    .iter()
                    .filter_map(|(a, _)| st.rules.get(a).map(rule_view))
                    .collect();
                Ok(ElbReply::Rules(out))
            }
        }
    }

    /// Brings the ELBv2 desired state up to the stack's target groups and
    /// load balancers, idempotently by name: what exists is kept (a restart
    /// adds nothing), what is missing is created through [`Elb::handle`].
    pub async fn apply_stack(
        &self,
        target_groups: &[StackTargetGroup],
        load_balancers: &[StackLoadBalancer],
    ) -> Result<(), ElbError> {
        let find_tg = |st: &ElbState, name: &str| {
            st.target_groups
                .values()
                .find(|t| t.name == name)
                .map(|t| t.arn.clone())
        };
        for t in target_groups {
            if find_tg(&self.state().await, &t.name).is_some() {
                continue;
            }
            let reply = self
                .handle(ElbCommand::CreateTargetGroup(CreateTargetGroup {
                    name: t.name.clone(),
                    port: Some(t.port),
                    target_type: t.target_type.clone(),
                    health_check: HealthCheckChange {
                        path: t.health_check_path.clone(),
                        interval_seconds: t.health_check_interval_seconds,
                        timeout_seconds: t.health_check_timeout_seconds,
                        healthy_threshold: t.healthy_threshold_count,
                        unhealthy_threshold: t.unhealthy_threshold_count,
                        matcher: t.matcher.clone(),
                        ..Default::default()
                    },
                    ..Default::default()
                }))
                .await?;
            if let (ElbReply::TargetGroups(tgs), false) = (reply, t.attributes.is_empty()) {
                self.handle(ElbCommand::ModifyTargetGroupAttributes {
                    arn: tgs[0].0.arn.clone(),
                    attributes: t.attributes.clone().into_iter().collect(),
                })
                .await?;
            }
        }
        for lb in load_balancers {
            let st = self.state().await;
            let lb_arn = match st.load_balancers.values().find(|l| l.name == lb.name) {
                Some(l) => l.arn.clone(),
                None => match self
                    .handle(ElbCommand::CreateLoadBalancer {
                        name: lb.name.clone(),
                        scheme: None,
                        kind: None,
                    })
                    .await?
                {
                    ElbReply::LoadBalancers(v) => v[0].0.arn.clone(),
                    _ => return Err(internal("CreateLoadBalancer answered no load balancer")),
                },
            };
            for l in &lb.listeners {
                let st = self.state().await;
                if st
                    .listeners
                    .values()
                    .any(|x| x.load_balancer_arn == lb_arn && x.port == l.port)
                {
                    continue;
                }
                let tg = |name: &str| {
                    find_tg(&st, name)
                        .ok_or_else(|| ElbError::TargetGroupNotFound(name.to_string()))
                };
                let reply = self
                    .handle(ElbCommand::CreateListener {
                        load_balancer_arn: lb_arn.clone(),
                        protocol: None,
                        port: Some(l.port),
                        default_actions: vec![ActionSpec::forward(&tg(&l.default_target_group)?)],
                    })
                    .await?;
                let ElbReply::Listeners(ls) = reply else {
                    return Err(internal("CreateListener answered no listener"));
                };
                for r in &l.rules {
                    let paths: Vec<&str> = r.path_patterns.iter().map(String::as_str).collect();
                    self.handle(ElbCommand::CreateRule {
                        listener_arn: ls[0].arn.clone(),
                        priority: r.priority,
                        conditions: vec![ConditionSpec::path_pattern(&paths)],
                        actions: vec![ActionSpec::forward(&tg(&r.target_group)?)],
                    })
                    .await?;
                }
            }
        }
        Ok(())
    }

    fn with_dns(&self, lb: LoadBalancer) -> (LoadBalancer, String) {
        let dns = crate::model::elb::dns_name(&lb.name, &lb.arn, &self.inner.config.arns.region);
        (lb, dns)
    }

    fn handle_of(&self, arn: &str) -> Result<alb::TargetGroupHandle, ElbError> {
        self.inner
            .alb
            .target_group(arn)
            .ok_or_else(|| ElbError::TargetGroupNotFound(arn.to_string()))
    }

    fn listener_of(&self, st: &ElbState, arn: &str) -> Result<alb::ListenerHandle, ElbError> {
        let l = st
            .listeners
            .get(arn)
            .ok_or_else(|| ElbError::ListenerNotFound(arn.to_string()))?;
        self.inner
            .alb
            .load_balancer(&l.load_balancer_arn)
            .and_then(|lb| lb.listener(arn))
            .ok_or_else(|| ElbError::ListenerNotFound(arn.to_string()))
    }
}

/// Puts a listener's rules (from the desired state) on its binding.
fn add_rules(lh: &alb::ListenerHandle, rules: &[Rule]) -> Result<(), ElbError> {
    for rule in rules {
        lh.create_rule(
            &rule.arn,
            alb_rule(rule.priority, &rule.conditions, &rule.actions)?,
        )
        .map_err(listener_err)?;
    }
    Ok(())
}

fn tg_ref<'a>(st: &'a ElbState, arn: &str) -> Result<&'a TargetGroup, ElbError> {
    st.target_groups
        .get(arn)
        .ok_or_else(|| ElbError::TargetGroupNotFound(arn.to_string()))
}

fn tg_mut<'a>(st: &'a mut ElbState, arn: &str) -> Result<&'a mut TargetGroup, ElbError> {
    st.target_groups
        .get_mut(arn)
        .ok_or_else(|| ElbError::TargetGroupNotFound(arn.to_string()))
}

/// Load balancers whose listeners or rules forward to the group.
fn tg_load_balancers(st: &ElbState, tg: &str) -> Vec<String> {
    let mut out: Vec<String> = st
        .listeners
        .values()
        .filter(|l| {
            l.default_actions
                .iter()
                .chain(
                    st.rules
                        .values()
                        .filter(|r| r.listener_arn == l.arn)
                        .flat_map(|r| &r.actions),
                )
                .any(|a| a.target_group_arns().any(|t| t == tg))
        })
        .map(|l| l.load_balancer_arn.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Forward targets must exist.
fn check_actions(st: &ElbState, actions: &[ActionSpec]) -> Result<(), ElbError> {
    ActionSpec::to_alb(actions).map_err(validation)?;
    for a in actions {
        for t in a.target_group_arns() {
            tg_ref(st, t)?;
        }
    }
    Ok(())
}

fn alb_rule(
    priority: u32,
    conditions: &[ConditionSpec],
    actions: &[ActionSpec],
) -> Result<alb::RuleConfig, ElbError> {
    if !alb::rule::PRIORITY_RANGE.contains(&priority) {
        return Err(validation(format!("Priority {priority} must be 1-50000")));
    }
    if conditions.is_empty() {
        return Err(validation("A rule must have at least one condition"));
    }
    let conditions = conditions
        .iter()
        .map(ConditionSpec::to_alb)
        .collect::<Result<Vec<_>, _>>()
        .map_err(validation)?;
    Ok(alb::RuleConfig {
        priority,
        conditions,
        action: ActionSpec::to_alb(actions).map_err(validation)?,
    })
}

fn rule_view(r: &Rule) -> RuleView {
    RuleView {
        arn: r.arn.clone(),
        priority: Some(r.priority),
        conditions: r.conditions.clone(),
        actions: r.actions.clone(),
    }
}

fn default_view(l: &Listener) -> RuleView {
    RuleView {
        arn: default_rule_arn(&l.arn),
        priority: None,
        conditions: Vec::new(),
        actions: l.default_actions.clone(),
    }
}

fn internal(e: impl std::fmt::Display) -> ElbError {
    ElbError::Internal(e.to_string())
}

fn listener_err(e: alb::ListenerError) -> ElbError {
    match e {
        alb::ListenerError::NotFound(a) => ElbError::ListenerNotFound(a),
        alb::ListenerError::Exists(a) => {
            ElbError::InvalidConfiguration(format!("listener {a} exists"))
        }
        alb::ListenerError::Bind { addr, source, .. } => ElbError::InvalidConfiguration(format!(
            "Cannot listen on {addr}: {source} (set --alb-addr or free the port)"
        )),
        alb::ListenerError::Rule { source, .. } => match source {
            alb::RuleError::PriorityInUse { priority, .. } => ElbError::PriorityInUse(priority),
            alb::RuleError::RuleNotFound(a) => ElbError::RuleNotFound(a),
            alb::RuleError::TargetGroupNotFound(a) => ElbError::TargetGroupNotFound(a),
            other => ElbError::Validation(other.to_string()),
        },
    }
}
