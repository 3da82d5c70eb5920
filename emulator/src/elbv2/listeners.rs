//! Listeners and their rules: Create/Modify/Describe/DeleteListener,
//! Describe/ModifyListenerAttributes, Create/Describe/Modify/DeleteRule,
//! SetRulePriorities.

use std::collections::BTreeMap;

use super::certificates::{listener_tls, split_https_attributes};
use super::command::{ElbCommand, ElbReply};
use super::error::{validation, ElbError};
use super::limits::{
    check_condition_limits, modify_listener_attributes, LISTENERS_PER_LOAD_BALANCER,
    RULES_PER_LOAD_BALANCER,
};
use super::page::{paged, position_key};
use super::*;
use crate::db::state::ElbState;
use crate::model::elb::tls::https_listener_attributes;

impl Elb {
    pub(super) async fn listeners(
        &self,
        st: &mut ElbState,
        cmd: ElbCommand,
    ) -> Result<ElbReply, ElbError> {
        let alb = self.inner.balancer.alb();
        let arns = &self.inner.config.arns;
        let _ = (alb, arns);
        match cmd {
            ElbCommand::CreateListener {
                load_balancer_arn,
                protocol,
                port,
                default_actions,
                tls,
                tags: _,
            } => {
                if !st.load_balancers.contains_key(&load_balancer_arn) {
                    return Err(ElbError::LoadBalancerNotFound(load_balancer_arn));
                }
                let protocol = protocol.unwrap_or_else(|| "HTTP".into());
                let tls = listener_tls(st, &protocol, tls, None)?;
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
                let on_lb = st
                    .listeners
                    .values()
                    .filter(|l| l.load_balancer_arn == load_balancer_arn)
                    .count();
                if on_lb >= LISTENERS_PER_LOAD_BALANCER {
                    return Err(ElbError::TooManyListeners(format!(
                        "A load balancer can have at most {LISTENERS_PER_LOAD_BALANCER} listeners"
                    )));
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
                    attributes: Default::default(),
                    tls,
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
                tls,
            } => {
                let mut l = st
                    .listeners
                    .get(&arn)
                    .cloned()
                    .ok_or_else(|| ElbError::ListenerNotFound(arn.clone()))?;
                let protocol = protocol.unwrap_or_else(|| l.protocol.clone());
                l.tls = listener_tls(st, &protocol, tls, l.tls.as_ref())?;
                if l.tls.is_none() {
                    let https = https_listener_attributes();
                    l.attributes.retain(|k, _| !https.contains_key(k));
                }
                l.protocol = protocol;
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
                page,
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
                            .map(|l| (l.arn.clone(), l.clone())),
                    );
                } else if want.is_empty() {
                    return Err(validation(
                        "You must specify either listener ARNs or a load balancer ARN",
                    ));
                }
                for a in &want {
                    let l = st
                        .listeners
                        .get(a)
                        .cloned()
                        .ok_or_else(|| ElbError::ListenerNotFound(a.clone()))?;
                    out.push((position_key(out.len()), l));
                }
                paged(out, &page, ElbReply::Listeners)
            }
            ElbCommand::DescribeListenerAttributes { arn } => Ok(ElbReply::Attributes(
                st.listeners
                    .get(&arn)
                    .ok_or_else(|| ElbError::ListenerNotFound(arn.clone()))?
                    .attributes(),
            )),
            ElbCommand::ModifyListenerAttributes { arn, attributes } => {
                let l = st
                    .listeners
                    .get_mut(&arn)
                    .ok_or_else(|| ElbError::ListenerNotFound(arn.clone()))?;
                let (https, rest) = split_https_attributes(l, attributes)?;
                let mut next = if rest.is_empty() && !https.is_empty() {
                    l.attributes.clone()
                } else {
                    modify_listener_attributes(&l.attributes, &rest)?
                };
                next.extend(https);
                l.attributes = next;
                Ok(ElbReply::Attributes(l.attributes()))
            }
            ElbCommand::DeleteListener { arn } => {
                let l = st
                    .listeners
                    .remove(&arn)
                    .ok_or_else(|| ElbError::ListenerNotFound(arn.clone()))?;
                crate::db::state::retain(&mut st.rules, |_, r| r.listener_arn != arn);
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
                tags: _,
            } => {
                let h = self.listener_of(st, &listener_arn)?;
                check_condition_limits(&conditions)?;
                let lb_arn = &st.listeners[&listener_arn].load_balancer_arn;
                let on_lb = st
                    .rules
                    .values()
                    .filter(|r| {
                        st.listeners
                            .get(&r.listener_arn)
                            .is_some_and(|l| l.load_balancer_arn == *lb_arn)
                    })
                    .count();
                if on_lb >= RULES_PER_LOAD_BALANCER {
                    return Err(ElbError::TooManyRules(format!(
                        "A load balancer can have at most {RULES_PER_LOAD_BALANCER} rules besides its listeners' default rules"
                    )));
                }
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
                page,
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
                    // Keys in priority order, the default rule last.
                    out.extend(
                        rules
                            .into_iter()
                            .map(|r| (format!("{:05}/{}", r.priority, r.arn), rule_view(r))),
                    );
                    out.push(("default".into(), default_view(l)));
                } else if want.is_empty() {
                    return Err(validation(
                        "You must specify either rule ARNs or a listener ARN",
                    ));
                }
                for a in &want {
                    let view = if let Some(r) = st.rules.get(a) {
                        rule_view(r)
                    } else if let Some(l) = st
                        .listeners
                        .values()
                        .find(|l| default_rule_arn(&l.arn) == *a)
                    {
                        default_view(l)
                    } else {
                        return Err(ElbError::RuleNotFound(a.clone()));
                    };
                    out.push((position_key(out.len()), view));
                }
                paged(out, &page, ElbReply::Rules)
            }
            ElbCommand::ModifyRule {
                arn,
                conditions,
                actions,
            } => {
                let default_of = st
                    .listeners
                    .values()
                    .find(|l| default_rule_arn(&l.arn) == arn)
                    .map(|l| l.arn.clone());
                if let Some(l) = default_of.and_then(|a| st.listeners.get(&a)) {
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
                    check_condition_limits(&c)?;
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
            other => Err(ElbError::Internal(format!(
                "misrouted ELBv2 command {other:?}"
            ))),
        }
    }
}
