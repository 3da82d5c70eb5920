//! Load balancers: Create/Describe/DeleteLoadBalancer, their attributes
//! (Describe/ModifyLoadBalancerAttributes), SetSubnets, SetSecurityGroups
//! and SetIpAddressType.
//!
//! CreateLoadBalancer is idempotent as AWS's: the same name with the same
//! settings answers the existing load balancer, different settings are
//! `DuplicateLoadBalancerName`. Of the attributes, the idle timeout and
//! the access logs (`access_logs.s3.*`, see [`super::access_logs`]) are
//! applied to the balancer and deletion protection to DeleteLoadBalancer;
//! the others are stored and reported.

use super::command::{CreateLoadBalancer, ElbCommand, ElbReply};
use super::error::{validation, ElbError};
use super::limits::{
    check_ip_address_type, check_security_groups, check_subnets, modify_load_balancer_attributes,
    LOAD_BALANCERS,
};
use super::page::{paged, position_key};
use super::*;
use crate::db::state::ElbState;

fn lb_ref<'a>(st: &'a ElbState, arn: &str) -> Result<&'a LoadBalancer, ElbError> {
    st.load_balancers
        .get(arn)
        .ok_or_else(|| ElbError::LoadBalancerNotFound(arn.to_string()))
}

fn lb_mut<'a>(st: &'a mut ElbState, arn: &str) -> Result<&'a mut LoadBalancer, ElbError> {
    st.load_balancers
        .get_mut(arn)
        .ok_or_else(|| ElbError::LoadBalancerNotFound(arn.to_string()))
}

fn sorted(v: &[String]) -> Vec<&String> {
    let mut v: Vec<&String> = v.iter().collect();
    v.sort();
    v
}

impl Elb {
    pub(super) async fn load_balancers(
        &self,
        st: &mut ElbState,
        cmd: ElbCommand,
    ) -> Result<ElbReply, ElbError> {
        let alb = self.inner.balancer.alb();
        let arns = &self.inner.config.arns;
        match cmd {
            ElbCommand::CreateLoadBalancer(req) => self.create_load_balancer(st, req),
            ElbCommand::DescribeLoadBalancers {
                arns: want,
                names,
                page,
            } => {
                let mut out: Vec<(String, LoadBalancer)> = Vec::new();
                if want.is_empty() && names.is_empty() {
                    out.extend(
                        st.load_balancers
                            .iter()
                            .map(|(a, l)| (a.clone(), l.clone())),
                    );
                }
                for a in &want {
                    let l = lb_ref(st, a)?.clone();
                    out.push((position_key(out.len()), l));
                }
                for n in &names {
                    let l = st
                        .load_balancers
                        .values()
                        .find(|l| l.name == *n)
                        .cloned()
                        .ok_or_else(|| ElbError::LoadBalancerNotFound(n.clone()))?;
                    out.push((position_key(out.len()), l));
                }
                paged(out, &page, |v| {
                    ElbReply::LoadBalancers(v.into_iter().map(|l| self.view(l)).collect())
                })
            }
            ElbCommand::DeleteLoadBalancer { arn } => {
                // AWS: deleting a missing load balancer succeeds.
                let Some(lb) = st.load_balancers.get(&arn) else {
                    return Ok(ElbReply::Empty);
                };
                if lb.deletion_protected() {
                    return Err(ElbError::OperationNotPermitted(format!(
                        "Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
                    )));
                }
                st.load_balancers.remove(&arn);
                let gone: Vec<String> = st
                    .listeners
                    .values()
                    .filter(|l| l.load_balancer_arn == arn)
                    .map(|l| l.arn.clone())
                    .collect();
                for l in &gone {
                    st.listeners.remove(l);
                    crate::db::state::retain(&mut st.rules, |_, r| r.listener_arn != *l);
                }
                let _ = alb.delete_load_balancer(&arn).await;
                Ok(ElbReply::Empty)
            }
            ElbCommand::DescribeLoadBalancerAttributes { arn } => {
                Ok(ElbReply::Attributes(lb_ref(st, &arn)?.attributes()))
            }
            ElbCommand::ModifyLoadBalancerAttributes { arn, attributes } => {
                let lb = lb_mut(st, &arn)?;
                let changed =
                    modify_load_balancer_attributes(&lb.scheme, &lb.attributes, &attributes)?;
                let mut next = lb.clone();
                next.attributes = changed;
                let h = alb
                    .load_balancer(&arn)
                    .ok_or_else(|| ElbError::LoadBalancerNotFound(arn.clone()))?;
                h.set_attributes(self.lb_attributes(&next, h.attributes()));
                *lb = next;
                Ok(ElbReply::Attributes(lb.attributes()))
            }
            ElbCommand::SetSubnets {
                arn,
                subnets,
                ip_address_type,
            } => {
                let lb = lb_mut(st, &arn)?;
                check_subnets(&subnets, true)?;
                if let Some(t) = &ip_address_type {
                    check_ip_address_type(t)?;
                    lb.ip_address_type = t.clone();
                }
                lb.subnets = subnets;
                Ok(ElbReply::AvailabilityZones {
                    zones: zones_of(&arns.region, &lb.subnets),
                    ip_address_type: lb.ip_address_type.clone(),
                })
            }
            ElbCommand::SetSecurityGroups {
                arn,
                security_groups,
            } => {
                let lb = lb_mut(st, &arn)?;
                if security_groups.is_empty() {
                    return Err(validation(
                        "An Application Load Balancer needs at least one security group",
                    ));
                }
                check_security_groups(&security_groups)?;
                lb.security_groups = security_groups;
                Ok(ElbReply::SecurityGroupIds(lb.security_groups.clone()))
            }
            ElbCommand::SetIpAddressType {
                arn,
                ip_address_type,
            } => {
                let lb = lb_mut(st, &arn)?;
                check_ip_address_type(&ip_address_type)?;
                lb.ip_address_type = ip_address_type;
                Ok(ElbReply::IpAddressType(lb.ip_address_type.clone()))
            }
            other => Err(ElbError::Internal(format!(
                "misrouted ELBv2 command {other:?}"
            ))),
        }
    }

    fn create_load_balancer(
        &self,
        st: &mut ElbState,
        req: CreateLoadBalancer,
    ) -> Result<ElbReply, ElbError> {
        let CreateLoadBalancer {
            name,
            scheme,
            kind,
            subnets,
            security_groups,
            ip_address_type,
            tags: _,
        } = req;
        validate_name("Load balancer", &name).map_err(validation)?;
        if let Some(k) = kind.filter(|k| k != "application") {
            return Err(validation(format!(
                "Load balancer type '{k}' is not supported; only 'application'"
            )));
        }
        let scheme = scheme.unwrap_or_else(|| "internet-facing".into());
        if scheme != "internet-facing" && scheme != "internal" {
            return Err(validation(format!("Scheme '{scheme}' is not valid")));
        }
        let ip_address_type = ip_address_type.unwrap_or_else(|| "ipv4".into());
        check_ip_address_type(&ip_address_type)?;
        check_subnets(&subnets, false)?;
        check_security_groups(&security_groups)?;
        if let Some(existing) = st.load_balancers.values().find(|l| l.name == name) {
            // AWS: the same settings again answer the same load balancer.
            let same = existing.scheme == scheme
                && existing.ip_address_type == ip_address_type
                && sorted(&existing.subnets) == sorted(&subnets)
                && sorted(&existing.security_groups) == sorted(&security_groups);
            if same {
                return Ok(ElbReply::LoadBalancers(vec![self.view(existing.clone())]));
            }
            return Err(ElbError::DuplicateLoadBalancerName(name));
        }
        if st.load_balancers.len() >= LOAD_BALANCERS {
            return Err(ElbError::TooManyLoadBalancers(format!(
                "The quota of {LOAD_BALANCERS} load balancers is reached"
            )));
        }
        let arn = self.inner.config.arns.load_balancer(&name, &new_id());
        let lb = LoadBalancer {
            arn: arn.clone(),
            name,
            scheme,
            created_time: crate::model::now_epoch(),
            subnets,
            security_groups,
            ip_address_type,
            attributes: Default::default(),
            capacity: Default::default(),
        };
        self.inner
            .balancer
            .alb()
            .create_load_balancer(
                &arn,
                self.lb_attributes(&lb, alb::LoadBalancerAttributes::default()),
            )
            .map_err(internal)?;
        st.load_balancers.insert(arn, lb.clone());
        Ok(ElbReply::LoadBalancers(vec![self.view(lb)]))
    }
}
