//! [`Alb::apply_desired`]: bring the live balancer to a [`Desired`] state.
//!
//! The reconcile compares, resource by resource, what is live with what is
//! desired and changes only the difference, in an order that keeps every
//! reference valid:
//!
//! 1. target groups: create the missing ones, replace a changed
//!    configuration (health check, attributes), register the targets that
//!    are not registered (`healthy` ones start healthy) and deregister the
//!    ones no longer desired (they drain, as `DeregisterTargets` does);
//! 2. listeners and load balancers no longer desired are deleted (their
//!    ports are free when this step ends), as are listeners whose address
//!    changed;
//! 3. load balancers are created or get their new attributes; listeners
//!    are bound with their whole rule set from the first connection, or
//!    get a changed rule set swapped in atomically (one route table
//!    switch, so priorities can be exchanged freely);
//! 4. target groups no longer desired are deleted (nothing routes to them
//!    any more).
//!
//! A resource that fails (a port in use, an invalid rule, a rule naming a
//! missing target group) is reported in [`ApplyReport::errors`] and the
//! rest is applied regardless. An invalid rule leaves the live version of
//! that rule (if any) in place, and an invalid default action the live
//! default action: the data plane keeps doing what it did until it is told
//! something it can do.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use tracing::{info, warn};

use crate::balancer::Alb;
use crate::desired::{ApplyError, ApplyReport, Desired, DesiredListener, DesiredTargetGroup};
use crate::load_balancer::{ListenerHandle, LoadBalancerHandle};
use crate::rule::{Action, RuleConfig};
use crate::target::Target;
use crate::target_group::TargetGroupHandle;

impl Alb {
    /// Reconcile the live balancer to `desired` (see the `reconcile` module
    /// docs for the order and the rules): create what is missing, change
    /// what differs, delete what is no longer desired. Idempotent:
    /// applying the same state again changes nothing (no listener is
    /// re-bound, no target's health reset). Calls are serialized. One
    /// resource failing does not stop the others; see the report.
    pub async fn apply_desired(&self, desired: &Desired) -> ApplyReport {
        let mut last = self.desired.lock().await;
        let mut errors = Vec::new();
        for (arn, tg) in &desired.target_groups {
            self.apply_target_group(arn, tg, &mut errors);
        }
        self.remove_listeners(desired, &mut errors).await;
        let mut listeners = BTreeMap::new();
        for (lb_arn, want) in &desired.load_balancers {
            let lb = match self.load_balancer(lb_arn) {
                Some(lb) => {
                    if lb.attributes() != want.attributes {
                        lb.set_attributes(want.attributes.clone());
                        info!(load_balancer = %lb_arn, "attributes changed");
                    }
                    lb
                }
                None => match self.create_load_balancer(lb_arn.clone(), want.attributes.clone()) {
                    Ok(lb) => lb,
                    Err(e) => {
                        errors.push(ApplyError::new(lb_arn, e));
                        continue;
                    }
                },
            };
            for (l_arn, l) in &want.listeners {
                if let Some(bound) = self.apply_listener(&lb, l_arn, l, &mut errors).await {
                    listeners.insert(l_arn.clone(), bound);
                }
            }
        }
        let unwanted: Vec<String> = self
            .target_groups()
            .iter()
            .map(|tg| tg.arn().to_owned())
            .filter(|arn| !desired.target_groups.contains_key(arn))
            .collect();
        for arn in unwanted {
            if let Err(e) = self.delete_target_group(&arn) {
                errors.push(ApplyError::new(&arn, e));
            }
        }
        for e in &errors {
            warn!(arn = %e.arn, error = %e.message, "desired state not applied");
        }
        *last = Some(desired.clone());
        ApplyReport { listeners, errors }
    }

    /// The last desired state applied (whatever errors it had), if any.
    pub async fn desired(&self) -> Option<Desired> {
        self.desired.lock().await.clone()
    }

    fn apply_target_group(
        &self,
        arn: &str,
        want: &DesiredTargetGroup,
        errors: &mut Vec<ApplyError>,
    ) {
        let tg = match self.target_group(arn) {
            Some(tg) => {
                if tg.config() != want.config {
                    match tg.inner.modify(|c| *c = want.config.clone()) {
                        Ok(()) => info!(target_group = %arn, "configuration changed"),
                        Err(e) => errors.push(ApplyError::new(arn, e)),
                    }
                }
                tg
            }
            None => match self.create_target_group(arn, want.config.clone()) {
                Ok(tg) => tg,
                Err(e) => {
                    errors.push(ApplyError::new(arn, e));
                    return;
                }
            },
        };
        apply_targets(&tg, want, errors);
    }

    /// Delete the load balancers that are not desired, and the listeners
    /// that are not desired or must move to another address.
    async fn remove_listeners(&self, desired: &Desired, errors: &mut Vec<ApplyError>) {
        for lb in self.load_balancers() {
            let Some(want) = desired.load_balancers.get(lb.arn()) else {
                if let Err(e) = self.delete_load_balancer(lb.arn()).await {
                    errors.push(ApplyError::new(lb.arn(), e));
                }
                continue;
            };
            for l in lb.listeners() {
                let keep = want
                    .listeners
                    .get(l.arn())
                    .is_some_and(|w| same_address(l.local_addr(), w.addr));
                if !keep {
                    if let Err(e) = lb.delete_listener(l.arn()).await {
                        errors.push(ApplyError::new(l.arn(), e));
                    }
                }
            }
        }
    }

    /// Bind or update one listener; its bound address if it is live.
    async fn apply_listener(
        &self,
        lb: &LoadBalancerHandle,
        arn: &str,
        want: &DesiredListener,
        errors: &mut Vec<ApplyError>,
    ) -> Option<SocketAddr> {
        let live = lb.listener(arn);
        let current = live.as_ref().map(ListenerHandle::rules);
        let (default_action, rules) = self.plan_rules(arn, want, current.as_ref(), errors)?;
        match live {
            Some(l) => {
                // Kept where it is (`same_address`): it now serves this
                // configured address, as `Alb::export` reports.
                if l.addr() != want.addr {
                    l.set_addr(want.addr);
                }
                if current.as_ref() != Some(&(default_action.clone(), rules.clone())) {
                    match l.replace_rules(default_action, rules) {
                        Ok(()) => info!(listener = %arn, "rules changed"),
                        Err(e) => errors.push(ApplyError::new(arn, e)),
                    }
                }
                Some(l.local_addr())
            }
            None => match lb
                .create_listener_with_rules(arn, want.addr, default_action, rules)
                .await
            {
                Ok(l) => Some(l.local_addr()),
                Err(e) => {
                    errors.push(ApplyError::new(arn, e));
                    None
                }
            },
        }
    }

    /// The default action and rules a listener can actually serve: the
    /// desired ones that are valid, else the live version of each. `None`
    /// when there is no usable default action.
    fn plan_rules(
        &self,
        listener_arn: &str,
        want: &DesiredListener,
        live: Option<&(Action, BTreeMap<String, RuleConfig>)>,
        errors: &mut Vec<ApplyError>,
    ) -> Option<(Action, BTreeMap<String, RuleConfig>)> {
        let default_action = match self.check_action(&want.default_action) {
            Ok(()) => want.default_action.clone(),
            Err(why) => {
                errors.push(ApplyError::new(
                    listener_arn,
                    format!("default action: {why}"),
                ));
                live?.0.clone()
            }
        };
        let mut rules: BTreeMap<String, RuleConfig> = BTreeMap::new();
        let mut priorities = BTreeSet::new();
        let mut fallback = Vec::new();
        for (arn, rule) in &want.rules {
            let checked = rule
                .validate()
                .map_err(|e| e.to_string())
                .and_then(|()| self.check_action(&rule.action))
                .and_then(|()| {
                    if priorities.contains(&rule.priority) {
                        Err(format!(
                            "priority {} is used by another rule",
                            rule.priority
                        ))
                    } else {
                        Ok(())
                    }
                });
            match checked {
                Ok(()) => {
                    priorities.insert(rule.priority);
                    rules.insert(arn.clone(), rule.clone());
                }
                Err(why) => {
                    errors.push(ApplyError::new(arn, why));
                    if let Some(old) = live.and_then(|(_, r)| r.get(arn)) {
                        fallback.push((arn, old));
                    }
                }
            }
        }
        for (arn, old) in fallback {
            if priorities.insert(old.priority) {
                rules.insert(arn.clone(), old.clone());
            } else {
                errors.push(ApplyError::new(
                    arn,
                    format!(
                        "its live version was removed too: priority {} is taken",
                        old.priority
                    ),
                ));
            }
        }
        Some((default_action, rules))
    }

    /// Whether an action is valid and every target group it names exists.
    fn check_action(&self, action: &Action) -> Result<(), String> {
        action.validate().map_err(|e| e.to_string())?;
        match action
            .target_group_arns()
            .find(|arn| self.target_group(arn).is_none())
        {
            Some(missing) => Err(format!("target group {missing} not found")),
            None => Ok(()),
        }
    }
}

/// Whether a listener bound to `bound` serves the desired `addr` (port 0:
/// any port).
fn same_address(bound: SocketAddr, want: SocketAddr) -> bool {
    bound.ip() == want.ip() && (want.port() == 0 || want.port() == bound.port())
}

/// Register the desired targets that are not registered, deregister
/// (drain) the registered ones no longer desired. A target whose host
/// changed is registered anew (the old registration drains).
fn apply_targets(tg: &TargetGroupHandle, want: &DesiredTargetGroup, errors: &mut Vec<ApplyError>) {
    let live = tg.inner.registered();
    let wanted = |t: &Target| want.targets.iter().any(|w| w.target == *t);
    let gone: Vec<(String, u16)> = live
        .iter()
        .filter(|t| !wanted(t))
        .map(|t| (t.id.clone(), t.port))
        .collect();
    if !gone.is_empty() {
        tg.deregister_targets(&gone);
    }
    for w in &want.targets {
        if live.contains(&w.target) {
            continue;
        }
        let t = std::slice::from_ref(&w.target);
        let registered = if w.healthy {
            tg.register_targets_healthy(t)
        } else {
            tg.register_targets(t)
        };
        if let Err(e) = registered {
            errors.push(ApplyError::new(tg.arn(), e));
        }
    }
}
