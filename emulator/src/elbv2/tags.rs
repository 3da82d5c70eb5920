//! Tags of load balancers, target groups, listeners, rules and trust
//! stores: AddTags, RemoveTags and DescribeTags, kept in the store's
//! `tags` by resource ARN ([`State::tag`], [`State::untag`],
//! [`State::tags_of`]). The `Tags` of the Create calls are put there by
//! [`super::Elb`] once the resource exists; a deleted resource's tags go
//! with it ([`forget_deleted`]).

use super::command::{ElbCommand, ElbReply};
use super::error::{validation, ElbError};
use super::limits::{check_tag_keys, check_tag_room, check_tags, DESCRIBE_TAGS_RESOURCES};
use crate::db::state::{ElbState, State};
use crate::model::elb::default_rule_arn;

/// Checks that an ARN names an existing load balancer, target group,
/// listener or rule (a listener's default rule included); the resource's
/// NotFound error otherwise.
pub fn check_resource(st: &ElbState, arn: &str) -> Result<(), ElbError> {
    let found = if arn.contains(":listener-rule/") {
        st.rules.contains_key(arn) || st.listeners.keys().any(|l| default_rule_arn(l) == arn)
    } else if arn.contains(":listener/") {
        st.listeners.contains_key(arn)
    } else if arn.contains(":loadbalancer/") {
        st.load_balancers.contains_key(arn)
    } else if arn.contains(":targetgroup/") {
        st.target_groups.contains_key(arn)
    } else if arn.contains(":truststore/") {
        st.trust_stores.contains_key(arn)
    } else {
        return Err(validation(format!(
            "'{arn}' is not a valid load balancer, target group, listener, rule or trust store ARN"
        )));
    };
    if found {
        return Ok(());
    }
    let arn = arn.to_string();
    Err(if arn.contains(":listener-rule/") {
        ElbError::RuleNotFound(arn)
    } else if arn.contains(":listener/") {
        ElbError::ListenerNotFound(arn)
    } else if arn.contains(":loadbalancer/") {
        ElbError::LoadBalancerNotFound(arn)
    } else if arn.contains(":truststore/") {
        ElbError::TrustStoreNotFound(arn)
    } else {
        ElbError::TargetGroupNotFound(arn)
    })
}

fn check_arns(arns: &[String]) -> Result<(), ElbError> {
    if arns.is_empty() {
        return Err(validation("At least one resource ARN must be specified"));
    }
    Ok(())
}

/// AddTags, RemoveTags, DescribeTags: all checked before any change.
pub fn handle(st: &mut State, cmd: ElbCommand) -> Result<ElbReply, ElbError> {
    match cmd {
        ElbCommand::AddTags { arns, tags } => {
            check_arns(&arns)?;
            if tags.is_empty() {
                return Err(validation("At least one tag must be specified"));
            }
            check_tags(&tags)?;
            for a in &arns {
                check_resource(&st.elb, a)?;
                check_tag_room(&st.tags_of(a), &tags)?;
            }
            for a in &arns {
                st.tag(a, tags.iter().cloned());
            }
            Ok(ElbReply::Empty)
        }
        ElbCommand::RemoveTags { arns, keys } => {
            check_arns(&arns)?;
            check_tag_keys(&keys)?;
            for a in &arns {
                check_resource(&st.elb, a)?;
            }
            for a in &arns {
                st.untag(a, &keys);
            }
            Ok(ElbReply::Empty)
        }
        ElbCommand::DescribeTags { arns } => {
            check_arns(&arns)?;
            if arns.len() > DESCRIBE_TAGS_RESOURCES {
                return Err(validation(format!(
                    "At most {DESCRIBE_TAGS_RESOURCES} resources can be specified"
                )));
            }
            for a in &arns {
                check_resource(&st.elb, a)?;
            }
            Ok(ElbReply::Tags(
                arns.into_iter()
                    .map(|a| {
                        let t = st.tags_of(&a);
                        (a, t)
                    })
                    .collect(),
            ))
        }
        other => Err(ElbError::Internal(format!(
            "misrouted ELBv2 command {other:?}"
        ))),
    }
}

/// Drops the tags of the resources `before` had and `next` has not (a
/// listener's default rule with it).
pub fn forget_deleted(before: &ElbState, next: &mut State) {
    fn removed<V: Clone + PartialEq>(
        a: &crate::db::state::Map<V>,
        b: &crate::db::state::Map<V>,
    ) -> Vec<String> {
        a.diff(b)
            .filter_map(|d| match d {
                imbl::ordmap::DiffItem::Remove(k, _) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }
    let elb = &next.elb;
    let listeners = removed(&before.listeners, &elb.listeners);
    let mut gone = removed(&before.load_balancers, &elb.load_balancers);
    gone.extend(removed(&before.target_groups, &elb.target_groups));
    gone.extend(removed(&before.rules, &elb.rules));
    gone.extend(removed(&before.trust_stores, &elb.trust_stores));
    gone.extend(listeners.iter().map(|l| default_rule_arn(l)));
    gone.extend(listeners);
    for arn in gone {
        next.tags.remove(&arn);
    }
}
