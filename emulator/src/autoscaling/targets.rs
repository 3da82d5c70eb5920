//! Scalable targets: RegisterScalableTarget, DescribeScalableTargets,
//! DeregisterScalableTarget, and their tags (TagResource, UntagResource,
//! ListTagsForResource: only scalable targets take tags in Application
//! Auto Scaling).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{no_target, paging, reply, validation, AutoScaling, AutoScalingError};
use crate::db::state::retain;
use crate::model::autoscaling::{
    DeregisterScalableTarget, DescribeScalableTargets, ListTagsForResource, RegisterScalableTarget,
    ScalableTarget, TagResource, UntagResource, MAX_TAGS,
};
use crate::model::now_epoch;
use crate::model::ServiceStatus;

/// AWS's rules for user tags: keys of 1 to 128 characters not starting
/// with `aws:`, values of at most 256, letters, digits, spaces and
/// `_ . : / = + - @`.
fn check_tag(key: &str, value: Option<&str>) -> Result<(), AutoScalingError> {
    let allowed = |s: &str| {
        s.chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
    };
    let len = key.chars().count();
    if !(1..=128).contains(&len) || !allowed(key) {
        return Err(validation(format!(
            "Invalid tag key '{key}': 1 to 128 letters, digits, spaces or _.:/=+-@."
        )));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(validation(format!(
            "Invalid tag key '{key}': the aws: prefix is reserved for AWS use."
        )));
    }
    if let Some(v) = value {
        if v.chars().count() > 256 || !allowed(v) {
            return Err(validation(format!(
                "Invalid value for tag '{key}': at most 256 letters, digits, spaces or _.:/=+-@."
            )));
        }
    }
    Ok(())
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), AutoScalingError> {
    for (k, v) in tags {
        check_tag(k, Some(v))?;
    }
    Ok(())
}

fn too_many(arn: &str) -> AutoScalingError {
    AutoScalingError::TooManyTags(format!(
        "A scalable target can have at most {MAX_TAGS} tags: {arn}"
    ))
}

impl AutoScaling {
    pub(super) async fn register_target(
        &self,
        r: RegisterScalableTarget,
    ) -> Result<Value, AutoScalingError> {
        Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
        let arn = self.service_arn(&r.resource_id).ok_or_else(|| {
            validation(format!(
                "Invalid ResourceId '{}' (expected service/<cluster>/<service>).",
                r.resource_id
            ))
        })?;
        let active = self
            .inner
            .scheduler
            .engine()
            .snapshot()
            .services
            .get(&arn)
            .is_some_and(|s| s.status == ServiceStatus::Active);
        if !active {
            return Err(validation(format!(
                "ECS service doesn't exist: {}",
                r.resource_id
            )));
        }
        if let Some(tags) = &r.tags {
            check_tags(tags)?;
            if tags.len() > MAX_TAGS {
                return Err(too_many(&r.resource_id));
            }
        }
        let existing = self.state().targets.get(&r.resource_id).cloned();
        let min = r.min_capacity.or(existing.as_ref().map(|t| t.min_capacity));
        let max = r.max_capacity.or(existing.as_ref().map(|t| t.max_capacity));
        let (Some(min), Some(max)) = (min, max) else {
            return Err(validation(
                "MinCapacity and MaxCapacity are required for a new scalable target.",
            ));
        };
        if min > max {
            return Err(validation(
                "MinCapacity must not be greater than MaxCapacity.",
            ));
        }
        let p = self.inner.scheduler.engine().config().partition.clone();
        let target = ScalableTarget {
            service_namespace: "ecs".into(),
            resource_id: r.resource_id.clone(),
            scalable_dimension: super::ECS_DESIRED_COUNT.into(),
            min_capacity: min,
            max_capacity: max,
            role_arn: r
                .role_arn
                .clone()
                .unwrap_or_else(|| p.ecs_autoscaling_role()),
            creation_time: existing
                .as_ref()
                .map(|t| t.creation_time)
                .unwrap_or_else(now_epoch),
            scalable_target_arn: existing
                .as_ref()
                .map(|t| t.scalable_target_arn.clone())
                .unwrap_or_else(|| p.scalable_target(&uuid::Uuid::new_v4().simple().to_string())),
            suspended_state: r
                .suspended_state
                .clone()
                .or(existing.map(|t| t.suspended_state))
                .unwrap_or_default(),
        };
        let target_arn = target.scalable_target_arn.clone();
        let tags = r.tags.clone().unwrap_or_default();
        let fits = self
            .update_all(|s| {
                let mut all = s.tags_of(&target_arn);
                all.extend(tags.clone());
                if all.len() > MAX_TAGS {
                    return false;
                }
                s.autoscaling.targets.insert(r.resource_id.clone(), target);
                s.tag(&target_arn, tags);
                true
            })
            .await?;
        if !fits {
            return Err(too_many(&target_arn));
        }
        // The desired count follows the new bounds at once.
        self.clamp_desired(&r.resource_id, min, max, |_| {
            format!("minimum/maximum capacity was set to {min}/{max}")
        })
        .await?;
        Ok(json!({ "ScalableTargetARN": target_arn }))
    }

    pub(super) fn describe_targets(
        &self,
        r: DescribeScalableTargets,
    ) -> Result<Value, AutoScalingError> {
        Self::check(&r.service_namespace, r.scalable_dimension.as_deref())?;
        if r.resource_ids.len() > 50 {
            return Err(validation("ResourceIds can name at most 50 resources."));
        }
        let st = self.state();
        let targets = st
            .targets
            .iter()
            .filter(|(_, t)| r.resource_ids.is_empty() || r.resource_ids.contains(&t.resource_id))
            .map(|(k, t)| (k.clone(), t.clone()));
        let (page, next) = paging::page(targets, &r.paging, false)?;
        Ok(reply("ScalableTargets", page, next))
    }

    pub(super) async fn deregister_target(
        &self,
        r: DeregisterScalableTarget,
    ) -> Result<Value, AutoScalingError> {
        Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
        // Its policies, scheduled actions and tags go with it.
        let removed = self
            .update_all(|s| {
                let Some(gone) = s.autoscaling.targets.remove(&r.resource_id) else {
                    return false;
                };
                retain(&mut s.autoscaling.policies, |_, p| {
                    p.resource_id != r.resource_id
                });
                retain(&mut s.autoscaling.scheduled_actions, |_, a| {
                    a.action.resource_id != r.resource_id
                });
                s.tags.remove(&gone.scalable_target_arn);
                true
            })
            .await?;
        if !removed {
            return Err(no_target(&r.resource_id, &r.scalable_dimension));
        }
        Ok(json!({}))
    }

    /// The resource id of the scalable target with this ARN.
    fn target_by_arn(&self, arn: &str) -> Result<String, AutoScalingError> {
        let well_formed = arn
            .strip_prefix("arn:")
            .and_then(|r| r.split_once(":application-autoscaling:"))
            .and_then(|(_, r)| r.split_once(":scalable-target/"))
            .is_some_and(|(region_account, id)| {
                region_account
                    .rsplit_once(':')
                    .is_some_and(|(region, account)| {
                        !region.is_empty()
                            && !account.is_empty()
                            && account.chars().all(|c| c.is_ascii_digit())
                    })
                    && !id.is_empty()
                    && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !well_formed {
            return Err(validation(format!(
                "Invalid ResourceARN '{arn}': expected the ARN of a scalable target (arn:aws:application-autoscaling:<region>:<account>:scalable-target/<id>)."
            )));
        }
        self.state()
            .targets
            .values()
            .find(|t| t.scalable_target_arn == arn)
            .map(|t| t.resource_id.clone())
            .ok_or_else(|| {
                AutoScalingError::ResourceNotFound(format!(
                    "No scalable target found for ARN: {arn}"
                ))
            })
    }

    pub(super) async fn tag_resource(&self, r: TagResource) -> Result<Value, AutoScalingError> {
        self.target_by_arn(&r.resource_arn)?;
        check_tags(&r.tags)?;
        let fits = self
            .update_all(|s| {
                let mut all = s.tags_of(&r.resource_arn);
                all.extend(r.tags.clone());
                if all.len() > MAX_TAGS {
                    return false;
                }
                s.tag(&r.resource_arn, r.tags);
                true
            })
            .await?;
        if !fits {
            return Err(too_many(&r.resource_arn));
        }
        Ok(json!({}))
    }

    pub(super) async fn untag_resource(&self, r: UntagResource) -> Result<Value, AutoScalingError> {
        self.target_by_arn(&r.resource_arn)?;
        if r.tag_keys.len() > 200 {
            return Err(validation("TagKeys can name at most 200 keys."));
        }
        for k in &r.tag_keys {
            let len = k.chars().count();
            if !(1..=128).contains(&len) {
                return Err(validation(format!(
                    "Invalid tag key '{k}': 1 to 128 characters."
                )));
            }
        }
        self.update_all(|s| s.untag(&r.resource_arn, &r.tag_keys))
            .await?;
        Ok(json!({}))
    }

    pub(super) fn list_tags(&self, r: ListTagsForResource) -> Result<Value, AutoScalingError> {
        self.target_by_arn(&r.resource_arn)?;
        let tags = self
            .inner
            .scheduler
            .engine()
            .read(|s| s.tags_of(&r.resource_arn));
        Ok(json!({ "Tags": tags }))
    }
}
