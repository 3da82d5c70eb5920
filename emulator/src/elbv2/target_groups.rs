//! Target groups and their targets: Create/Describe/Modify/DeleteTargetGroup,
//! target group attributes, Register/DeregisterTargets, DescribeTargetHealth.
//!
//! CreateTargetGroup is idempotent as AWS's: the same name with the same
//! settings answers the existing group, different settings are
//! `DuplicateTargetGroupName`.

use super::command::{ElbCommand, ElbReply, TargetHealthView};
use super::error::{validation, ElbError};
use super::limits::TARGET_GROUPS;
use super::page::{paged, position_key};
use super::*;
use crate::db::state::ElbState;

impl Elb {
    pub(super) async fn target_groups(
        &self,
        st: &mut ElbState,
        cmd: ElbCommand,
    ) -> Result<ElbReply, ElbError> {
        let alb = self.inner.balancer.alb();
        let arns = &self.inner.config.arns;
        let _ = (alb, arns);
        match cmd {
            ElbCommand::CreateTargetGroup(req) => {
                validate_name("Target group", &req.name).map_err(validation)?;
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
                hc.to_alb().map_err(validation)?;
                if let Some(existing) = st.target_groups.values().find(|t| t.name == req.name) {
                    // AWS: the same settings again answer the same group.
                    let same = existing.protocol == protocol
                        && existing.port == port
                        && existing.vpc_id == req.vpc_id
                        && existing.target_type == target_type
                        && existing.health_check == hc;
                    if !same {
                        return Err(ElbError::DuplicateTargetGroupName(req.name));
                    }
                    let lbs = tg_load_balancers(st, &existing.arn);
                    return Ok(ElbReply::TargetGroups(vec![(existing.clone(), lbs)]));
                }
                if st.target_groups.len() >= TARGET_GROUPS {
                    return Err(ElbError::TooManyTargetGroups(format!(
                        "The quota of {TARGET_GROUPS} target groups is reached"
                    )));
                }
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
                page,
            } => {
                let mut out: Vec<(String, TargetGroup)> = Vec::new();
                if let Some(lb) = &load_balancer_arn {
                    if !st.load_balancers.contains_key(lb) {
                        return Err(ElbError::LoadBalancerNotFound(lb.clone()));
                    }
                    out.extend(
                        st.target_groups
                            .values()
                            .filter(|t| tg_load_balancers(st, &t.arn).contains(lb))
                            .map(|t| (t.arn.clone(), t.clone())),
                    );
                } else if want.is_empty() && names.is_empty() {
                    out.extend(st.target_groups.iter().map(|(a, t)| (a.clone(), t.clone())));
                }
                for a in &want {
                    let t = tg_ref(st, a)?.clone();
                    out.push((position_key(out.len()), t));
                }
                for n in &names {
                    let t = st
                        .target_groups
                        .values()
                        .find(|t| t.name == *n)
                        .cloned()
                        .ok_or_else(|| ElbError::TargetGroupNotFound(n.clone()))?;
                    out.push((position_key(out.len()), t));
                }
                paged(out, &page, |v| {
                    ElbReply::TargetGroups(
                        v.into_iter()
                            .map(|t| {
                                let lbs = tg_load_balancers(st, &t.arn);
                                (t, lbs)
                            })
                            .collect(),
                    )
                })
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
                self.handle_of(&arn)?;
                let rows = self
                    .inner
                    .balancer
                    .describe_target_health(&arn, (!keys.is_empty()).then_some(&keys[..]))
                    .unwrap_or_default();
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
            other => Err(ElbError::Internal(format!(
                "misrouted ELBv2 command {other:?}"
            ))),
        }
    }
}
