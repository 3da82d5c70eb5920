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
//!
//! Tags (AddTags, the Create calls' `Tags`) live in the store's `tags`
//! beside [`ElbState`], recorded with it; a change writes only the tags
//! it touched, as other services tag their resources there too.
//!
//! Layout: [`wire`] parses the Query protocol into [`ElbCommand`]s and
//! renders [`ElbReply`]s; `load_balancers`, `target_groups`,
//! `listeners`, `certificates` (HTTPS listeners' TLS), `ssl_policies`,
//! `trust_stores`, `capacity` and `tags` hold the operations;
//! [`access_logs`] says where access logs are written and read; `page` the
//! pagination of Describe calls; `limits` AWS's quotas and input rules;
//! `error` the ELBv2 error codes.

pub mod access_logs;
pub mod balancer;
mod capacity;
mod certificates;
mod command;
mod error;
mod limits;
mod listeners;
mod load_balancers;
mod page;
pub mod remote;
pub mod ssl_policies;
mod tags;
mod target_groups;
mod trust_stores;
pub mod wire;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::db::state::State;
use crate::ecs::Engine;
use crate::model::elb::{
    default_rule_arn, default_target_group_attributes, new_id, validate_attribute, validate_name,
    ActionSpec, ConditionSpec, ElbArns, ElbState, HealthCheck, Listener, LoadBalancer, Rule,
    StackLoadBalancer, StackTargetGroup, TargetGroup, TargetSpec,
};

pub use command::*;
use error::validation;
pub use error::ElbError;

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
    /// Where load balancers write their access logs (the data directory's
    /// `access-logs`, see [`access_logs`]); `None`: nowhere, the attributes
    /// are kept but nothing is written.
    pub access_logs: Option<std::path::PathBuf>,
}

impl Default for ElbConfig {
    fn default() -> Self {
        ElbConfig {
            arns: ElbArns::default(),
            listener_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_overrides: BTreeMap::new(),
            ephemeral_listeners: false,
            access_logs: None,
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

/// The ELBv2 controller. Cheap to clone.
#[derive(Clone)]
pub struct Elb {
    inner: Arc<Inner>,
}

struct Inner {
    balancer: balancer::Balancer,
    engine: Engine,
    config: ElbConfig,
    /// Serialises changes (held across listener binds); readers never
    /// take it, they read the store's snapshot.
    writer: tokio::sync::Mutex<()>,
}

impl Elb {
    /// A controller over `alb`, starting from the state the engine loaded.
    /// Call [`Elb::restore`] to re-create what that state describes.
    pub fn new(balancer: balancer::Balancer, engine: Engine, config: ElbConfig) -> Elb {
        Elb {
            inner: Arc::new(Inner {
                balancer,
                engine,
                config,
                writer: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The balancer's attributes of `lb` over `base`: the idle timeout
    /// and where its access log goes.
    fn lb_attributes(
        &self,
        lb: &crate::model::elb::LoadBalancer,
        base: alb::LoadBalancerAttributes,
    ) -> alb::LoadBalancerAttributes {
        alb::LoadBalancerAttributes {
            access_log: access_logs::config(self.inner.config.access_logs.as_deref(), lb),
            ..lb.alb_attributes(base)
        }
    }

    /// The desired state (an O(1) snapshot; never waits).
    pub fn state(&self) -> ElbState {
        self.inner.engine.read(|s| s.elb.clone())
    }

    /// The whole store (an O(1) snapshot): the ELBv2 state and the tags.
    fn store(&self) -> State {
        self.inner.engine.read(|s| s.clone())
    }

    /// Bound listener addresses by listener ARN.
    pub fn listener_addrs(&self) -> BTreeMap<String, SocketAddr> {
        self.inner.balancer.listener_addrs()
    }

    /// Where the listeners run.
    pub fn balancer(&self) -> &balancer::Balancer {
        &self.inner.balancer
    }

    /// Re-creates target groups (with their API-registered targets), load
    /// balancers, listeners and rules from the recorded state. Resources the
    /// balancer already has are left alone; failures are logged and the
    /// rest is still restored.
    pub async fn restore(&self) -> Result<(), ElbError> {
        let state = self.state();
        let alb = self.inner.balancer.alb();
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
                    .create_load_balancer(
                        &lb.arn,
                        self.lb_attributes(lb, alb::LoadBalancerAttributes::default()),
                    )
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

    /// Resolves target ids: container instance ids (`i-...`) are their
    /// host's address (127.0.0.1 for the local engine's); `ip` targets are
    /// used as they are.
    fn resolve_targets(
        &self,
        tg: &TargetGroup,
        targets: &[TargetSpec],
    ) -> Result<Vec<alb::Target>, ElbError> {
        let instances: std::collections::HashMap<String, String> = self.inner.engine.read(|st| {
            st.container_instances
                .values()
                .map(|i| {
                    let host = i.address().unwrap_or_else(|| "127.0.0.1".into());
                    (i.ec2_instance_id.clone(), host)
                })
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
                } else if let Some(host) = instances.get(&t.id) {
                    Ok(alb::Target::with_host(&t.id, host, t.port))
                } else {
                    Err(ElbError::InvalidTarget(format!(
                        "The following targets are not valid instances: '{}' (register a container instance's ec2InstanceId)",
                        t.id
                    )))
                }
            })
            .collect()
    }

    /// Takes out of the model the listeners that `next` has and the
    /// recorded state does not (those just created), after the balancer
    /// process refused them, and puts the model again.
    async fn undo_listeners(&self, next: &ElbState) {
        let recorded = self.state();
        let alb = self.inner.balancer.alb();
        for l in next.listeners.values() {
            if recorded.listeners.contains_key(&l.arn) {
                continue;
            }
            if let Some(lb) = alb.load_balancer(&l.load_balancer_arn) {
                let _ = lb.delete_listener(&l.arn).await;
            }
        }
        let _ = self.inner.balancer.sync().await;
    }

    /// Handles one command: the single `match` every ELBv2 request goes
    /// through.
    pub async fn handle(&self, cmd: ElbCommand) -> Result<ElbReply, ElbError> {
        if cmd.is_read_only() {
            // Describe calls work on a snapshot: no lock, no wait.
            let mut st = self.store();
            return self.apply(&mut st, cmd).await;
        }
        let _writer = self.inner.writer.lock().await;
        let before = self.store();
        let mut next = before.clone();
        let reply = self.apply(&mut next, cmd).await?;
        tags::forget_deleted(&before.elb, &mut next);
        // A balancer process applies the change now: what it refuses
        // (a port in use) fails the call, and leaves the model as before.
        let refused = self.inner.balancer.sync().await;
        if let Some((arn, message)) = refused.into_iter().next() {
            self.undo_listeners(&next.elb).await;
            return Err(ElbError::InvalidConfiguration(format!(
                "the load balancer could not apply {arn}: {message}"
            )));
        }
        // The tags this change touched (others' tags may change meanwhile).
        let tag_changes: Vec<(String, Option<crate::db::state::TagSet>)> = before
            .tags
            .diff(&next.tags)
            .map(|d| match d {
                imbl::ordmap::DiffItem::Add(k, v) => (k.clone(), Some(v.clone())),
                imbl::ordmap::DiffItem::Update { new: (k, v), .. } => (k.clone(), Some(v.clone())),
                imbl::ordmap::DiffItem::Remove(k, _) => (k.clone(), None),
            })
            .collect();
        // Only the records that changed are written (none: no write).
        self.inner
            .engine
            .update_state(|s| {
                s.elb = next.elb;
                for (arn, tags) in tag_changes {
                    match tags {
                        Some(t) => {
                            s.tags.insert(arn, t);
                        }
                        None => {
                            s.tags.remove(&arn);
                        }
                    }
                }
            })
            .await
            .map_err(|e| ElbError::Internal(format!("the change could not be stored: {e}")))?;
        Ok(reply)
    }

    async fn apply(&self, st: &mut State, mut cmd: ElbCommand) -> Result<ElbReply, ElbError> {
        use ElbCommand as C;
        // The Create calls' tags, checked before anything is created and
        // put on the resource (new, or the same one again) after.
        let create_tags = cmd.take_create_tags();
        if let Some(t) = &create_tags {
            limits::check_tags(t).map_err(|e| match e {
                // Only CreateLoadBalancer and CreateTrustStore declare
                // DuplicateTagKeys; the other Create calls answer a
                // repeated key as a validation error.
                ElbError::DuplicateTagKeys(m)
                    if !matches!(cmd, C::CreateLoadBalancer(_) | C::CreateTrustStore { .. }) =>
                {
                    validation(m)
                }
                e => e,
            })?;
        }
        let reply = match cmd {
            c @ (C::AddTags { .. } | C::RemoveTags { .. } | C::DescribeTags { .. }) => {
                return tags::handle(st, c)
            }
            C::DescribeAccountLimits { page } => {
                let items = limits::ACCOUNT_LIMITS
                    .iter()
                    .enumerate()
                    .map(|(i, (n, max))| (page::position_key(i), (n.to_string(), max.to_string())))
                    .collect();
                return page::paged(items, &page, ElbReply::Limits);
            }
            C::DescribeSslPolicies {
                names,
                load_balancer_type,
                page,
            } => return ssl_policies::describe(&names, load_balancer_type.as_deref(), &page),
            c @ (C::AddListenerCertificates { .. }
            | C::RemoveListenerCertificates { .. }
            | C::DescribeListenerCertificates { .. }) => certificates::handle(&mut st.elb, c)?,
            c @ (C::CreateTrustStore { .. }
            | C::DescribeTrustStores { .. }
            | C::ModifyTrustStore { .. }
            | C::DeleteTrustStore { .. }
            | C::DescribeTrustStoreAssociations { .. }
            | C::GetResourcePolicy { .. }) => {
                trust_stores::handle(&mut st.elb, &self.inner.config.arns, c)?
            }
            c @ (C::DescribeCapacityReservation { .. } | C::ModifyCapacityReservation { .. }) => {
                capacity::handle(&mut st.elb, &self.inner.config.arns.region, c)?
            }
            c @ (C::CreateLoadBalancer { .. }
            | C::DescribeLoadBalancers { .. }
            | C::DeleteLoadBalancer { .. }
            | C::DescribeLoadBalancerAttributes { .. }
            | C::ModifyLoadBalancerAttributes { .. }
            | C::SetSubnets { .. }
            | C::SetSecurityGroups { .. }
            | C::SetIpAddressType { .. }) => self.load_balancers(&mut st.elb, c).await?,
            c @ (C::CreateListener { .. }
            | C::ModifyListener { .. }
            | C::DescribeListeners { .. }
            | C::DeleteListener { .. }
            | C::DescribeListenerAttributes { .. }
            | C::ModifyListenerAttributes { .. }
            | C::CreateRule { .. }
            | C::DescribeRules { .. }
            | C::ModifyRule { .. }
            | C::DeleteRule { .. }
            | C::SetRulePriorities { .. }) => self.listeners(&mut st.elb, c).await?,
            c => self.target_groups(&mut st.elb, c).await?,
        };
        if let Some(t) = create_tags.filter(|t| !t.is_empty()) {
            let arn = reply
                .created_arn()
                .ok_or_else(|| internal("a Create call answered no resource"))?
                .to_string();
            // Only a repeated (idempotent) create can hit the limit here,
            // and it changed nothing.
            limits::check_tag_room(&st.tags_of(&arn), &t)?;
            st.tag(&arn, t);
        }
        Ok(reply)
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
            if find_tg(&self.state(), &t.name).is_some() {
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
            let st = self.state();
            let lb_arn = match st.load_balancers.values().find(|l| l.name == lb.name) {
                Some(l) => l.arn.clone(),
                None => match self
                    .handle(ElbCommand::CreateLoadBalancer(CreateLoadBalancer {
                        name: lb.name.clone(),
                        ..Default::default()
                    }))
                    .await?
                {
                    ElbReply::LoadBalancers(v) => v[0].lb.arn.clone(),
                    _ => return Err(internal("CreateLoadBalancer answered no load balancer")),
                },
            };
            for l in &lb.listeners {
                let st = self.state();
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
                        tls: Default::default(),
                        tags: Vec::new(),
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
                        tags: Vec::new(),
                    })
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// A load balancer as Describe reports it: its DNS name, and a zone
    /// per subnet.
    fn view(&self, lb: LoadBalancer) -> LoadBalancerView {
        let region = &self.inner.config.arns.region;
        let dns_name = crate::model::elb::dns_name(&lb.name, &lb.arn, region);
        let zones = zones_of(region, &lb.subnets);
        LoadBalancerView {
            lb,
            dns_name,
            zones,
        }
    }

    fn handle_of(&self, arn: &str) -> Result<alb::TargetGroupHandle, ElbError> {
        self.inner
            .balancer
            .alb()
            .target_group(arn)
            .ok_or_else(|| ElbError::TargetGroupNotFound(arn.to_string()))
    }

    fn listener_of(&self, st: &ElbState, arn: &str) -> Result<alb::ListenerHandle, ElbError> {
        let l = st
            .listeners
            .get(arn)
            .ok_or_else(|| ElbError::ListenerNotFound(arn.to_string()))?;
        self.inner
            .balancer
            .alb()
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

/// (zone, subnet) for each subnet of a load balancer.
fn zones_of(region: &str, subnets: &[String]) -> Vec<(String, String)> {
    crate::model::elb::availability_zones(region, subnets)
        .into_iter()
        .zip(subnets.iter().cloned())
        .collect()
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
pub fn tg_load_balancers(st: &ElbState, tg: &str) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, State};
    use crate::ecs::EngineConfig;
    use alb::Alb;

    /// Describe calls read the store's snapshot: a change in progress
    /// (holding the writer lock across a listener bind, say) never makes
    /// them wait.
    #[tokio::test]
    async fn describe_answers_while_a_change_holds_the_writer_lock() {
        let engine = Engine::new(
            EngineConfig::default(),
            std::sync::Arc::new(crate::runtime::testing::FakeRuntime::new()),
            Db::in_memory(State::default()),
        );
        let elb = Elb::new(
            balancer::Balancer::local(Alb::new()),
            engine,
            ElbConfig::default(),
        );
        elb.handle(ElbCommand::CreateLoadBalancer(CreateLoadBalancer {
            name: "lb".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
        let held = elb.inner.writer.lock().await;
        let described = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            elb.handle(ElbCommand::DescribeLoadBalancers {
                arns: vec![],
                names: vec![],
                page: Page::default(),
            }),
        )
        .await
        .expect("Describe does not wait for the writer");
        match described.unwrap() {
            ElbReply::Paged { reply, .. } => match *reply {
                ElbReply::LoadBalancers(lbs) => assert_eq!(lbs.len(), 1),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        drop(held);
    }

    /// A Create call's tags are kept with the resource and go with it;
    /// other services' tags in the same store stay as they are.
    #[tokio::test]
    async fn tags_go_with_their_resource_and_leave_other_tags_alone() {
        let engine = Engine::new(
            EngineConfig::default(),
            std::sync::Arc::new(crate::runtime::testing::FakeRuntime::new()),
            Db::in_memory(State::default()),
        );
        let elb = Elb::new(
            balancer::Balancer::local(Alb::new()),
            engine.clone(),
            ElbConfig::default(),
        );
        let cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/c";
        engine
            .update_state(|s| s.tag(cluster, [("k".to_string(), "v".to_string())]))
            .await
            .unwrap();
        let reply = elb
            .handle(ElbCommand::CreateTargetGroup(CreateTargetGroup {
                name: "t".into(),
                port: Some(80),
                tags: vec![("a".into(), "1".into())],
                ..Default::default()
            }))
            .await
            .unwrap();
        let arn = reply.created_arn().unwrap().to_string();
        assert_eq!(engine.read(|s| s.tags_of(&arn)).len(), 1);
        elb.handle(ElbCommand::DeleteTargetGroup { arn: arn.clone() })
            .await
            .unwrap();
        assert!(engine.read(|s| s.tags_of(&arn)).is_empty());
        assert_eq!(engine.read(|s| s.tags_of(cluster)).len(), 1);
    }
}
