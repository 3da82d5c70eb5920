//! Scheduled scaling: PutScheduledAction, DescribeScheduledActions,
//! DeleteScheduledAction, and running the actions that come due.
//!
//! # When an action runs
//!
//! Each evaluation of the loop ([`AutoScaling::run_scheduled`]) asks every
//! action's [`Schedule`] for its latest occurrence in the window
//! `(from, until]`, where `from` is the later of when the action was last
//! put and its last occurrence run, and `until` is now (for `rate` and
//! `cron`: no later than EndTime, and occurrences before StartTime do not
//! count). Only the latest occurrence in a window runs: applying an action
//! twice gives what applying it once does. The occurrence run is stored
//! with the action in the same write as the target's new capacity, so an
//! occurrence runs once, also across restarts; one that fell while the
//! emulator was down runs at the first evaluation after it comes back.
//!
//! Running an action sets the target's MinCapacity and/or MaxCapacity
//! (activity "Setting min capacity to X and max capacity to Y", cause
//! "scheduled action name N was triggered"), then brings the service's
//! desired count within them. While the target's scheduled scaling is
//! suspended, occurrences are passed over, not kept for later (as AWS).

use serde_json::{json, Value};

use super::schedule::{parse_timezone, Schedule};
use super::{activity, no_target, paging, push_activity, reply, validation};
use super::{AutoScaling, AutoScalingError};
use crate::model::autoscaling::{
    scheduled_action_key, DeleteScheduledAction, DescribeScheduledActions, PutScheduledAction,
    ScheduledAction, ScheduledActionRecord,
};
use crate::model::now_epoch;

/// Scheduled actions a scalable target may have (AWS quota).
pub const MAX_SCHEDULED_ACTIONS: usize = 200;

fn check_name(name: &str) -> Result<(), AutoScalingError> {
    let len = name.chars().count();
    let bad = !(1..=256).contains(&len)
        || name.starts_with(' ')
        || name.ends_with(' ')
        || name
            .chars()
            .any(|c| c.is_control() || matches!(c, ':' | '/' | '|'));
    if bad {
        return Err(validation(format!(
            "Invalid ScheduledActionName '{name}': 1 to 256 characters, none of : / | or control characters, no leading or trailing space."
        )));
    }
    Ok(())
}

/// "min capacity to 1 and max capacity to 5", as much as the action sets.
fn capacities(min: Option<u32>, max: Option<u32>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("min capacity to {a} and max capacity to {b}"),
        (Some(a), None) => format!("min capacity to {a}"),
        (None, Some(b)) => format!("max capacity to {b}"),
        (None, None) => "no capacity".into(),
    }
}

impl AutoScaling {
    pub(super) async fn put_scheduled(
        &self,
        r: PutScheduledAction,
    ) -> Result<Value, AutoScalingError> {
        Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
        check_name(&r.scheduled_action_name)?;
        let st = self.state();
        if !st.targets.contains_key(&r.resource_id) {
            return Err(no_target(&r.resource_id, &r.scalable_dimension));
        }
        let key = scheduled_action_key(&r.resource_id, &r.scheduled_action_name);
        let existing = st.scheduled_actions.get(&key).map(|x| x.action.clone());
        // An update changes what it names; StartTime and EndTime not named
        // are cleared (as AWS documents).
        let schedule = r
            .schedule
            .clone()
            .or_else(|| existing.as_ref().map(|e| e.schedule.clone()))
            .ok_or_else(|| validation("Schedule is required to create a scheduled action."))?;
        Schedule::parse(&schedule).map_err(validation)?;
        let timezone = r
            .timezone
            .clone()
            .or_else(|| existing.as_ref().and_then(|e| e.timezone.clone()));
        parse_timezone(timezone.as_deref()).map_err(validation)?;
        if let (Some(s), Some(e)) = (r.start_time, r.end_time) {
            if s >= e {
                return Err(validation("EndTime must be later than StartTime."));
            }
        }
        let action = r
            .scalable_target_action
            .clone()
            .or_else(|| {
                existing
                    .as_ref()
                    .and_then(|e| e.scalable_target_action.clone())
            })
            .filter(|a| a.min_capacity.is_some() || a.max_capacity.is_some())
            .ok_or_else(|| {
                validation("ScalableTargetAction must set MinCapacity, MaxCapacity or both.")
            })?;
        if let (Some(min), Some(max)) = (action.min_capacity, action.max_capacity) {
            if min > max {
                return Err(validation(
                    "MinCapacity must not be greater than MaxCapacity.",
                ));
            }
        }
        let count = st
            .scheduled_actions
            .values()
            .filter(|a| a.action.resource_id == r.resource_id)
            .count();
        if existing.is_none() && count >= MAX_SCHEDULED_ACTIONS {
            return Err(AutoScalingError::LimitExceeded(format!(
                "A scalable target can have at most {MAX_SCHEDULED_ACTIONS} scheduled actions: {}",
                r.resource_id
            )));
        }
        let p = self.inner.scheduler.engine().config().partition.clone();
        let now = now_epoch();
        let record = ScheduledActionRecord {
            action: ScheduledAction {
                scheduled_action_arn: existing
                    .as_ref()
                    .map(|e| e.scheduled_action_arn.clone())
                    .unwrap_or_else(|| {
                        p.arn(
                            "autoscaling",
                            &format!(
                                "scheduledAction:{}:resource/ecs/{}:scheduledActionName/{}",
                                uuid::Uuid::new_v4(),
                                r.resource_id,
                                r.scheduled_action_name
                            ),
                        )
                    }),
                scheduled_action_name: r.scheduled_action_name.clone(),
                service_namespace: "ecs".into(),
                schedule,
                timezone,
                resource_id: r.resource_id.clone(),
                scalable_dimension: super::ECS_DESIRED_COUNT.into(),
                start_time: r.start_time,
                end_time: r.end_time,
                scalable_target_action: Some(action),
                creation_time: existing.as_ref().map_or(now, |e| e.creation_time),
            },
            put_time: now,
            last_occurrence: None,
        };
        let stored = self
            .update(|s| {
                if !s.targets.contains_key(&r.resource_id) {
                    return false;
                }
                s.scheduled_actions.insert(key, record);
                true
            })
            .await?;
        if !stored {
            return Err(no_target(&r.resource_id, &r.scalable_dimension));
        }
        Ok(json!({}))
    }

    pub(super) fn describe_scheduled(
        &self,
        r: DescribeScheduledActions,
    ) -> Result<Value, AutoScalingError> {
        Self::check(&r.service_namespace, r.scalable_dimension.as_deref())?;
        if r.scheduled_action_names.len() > 50 {
            return Err(validation(
                "ScheduledActionNames can name at most 50 scheduled actions.",
            ));
        }
        let st = self.state();
        let actions = st
            .scheduled_actions
            .iter()
            .map(|(k, a)| (k, &a.action))
            .filter(|(_, a)| {
                r.resource_id
                    .as_deref()
                    .is_none_or(|id| a.resource_id == id)
            })
            .filter(|(_, a)| {
                r.scheduled_action_names.is_empty()
                    || r.scheduled_action_names.contains(&a.scheduled_action_name)
            })
            .map(|(k, a)| (k.clone(), a.clone()));
        let (page, next) = paging::page(actions, &r.paging, false)?;
        Ok(reply("ScheduledActions", page, next))
    }

    pub(super) async fn delete_scheduled(
        &self,
        r: DeleteScheduledAction,
    ) -> Result<Value, AutoScalingError> {
        Self::check(&r.service_namespace, Some(&r.scalable_dimension))?;
        let key = scheduled_action_key(&r.resource_id, &r.scheduled_action_name);
        let removed = self
            .update(|s| s.scheduled_actions.remove(&key).is_some())
            .await?;
        if !removed {
            return Err(AutoScalingError::ObjectNotFound(format!(
                "No scheduled action found for service namespace: ecs, resource ID: {}, scalable dimension: {}: scheduled action name: {}",
                r.resource_id, r.scalable_dimension, r.scheduled_action_name
            )));
        }
        Ok(json!({}))
    }

    /// Runs the scheduled actions with an occurrence due at `now` (epoch
    /// seconds; the loop passes the wall clock, tests any time).
    pub async fn run_scheduled(&self, now: f64) {
        let st = self.state();
        for (key, rec) in st.scheduled_actions.iter() {
            let a = &rec.action;
            if !st.targets.contains_key(&a.resource_id) {
                continue;
            }
            let (Ok(schedule), Ok(offset)) = (
                Schedule::parse(&a.schedule),
                parse_timezone(a.timezone.as_deref()),
            ) else {
                continue;
            };
            let recurring = !matches!(schedule, Schedule::At(_));
            let from = rec
                .last_occurrence
                .map_or(rec.put_time, |l| l.max(rec.put_time));
            let until = match a.end_time.filter(|_| recurring) {
                Some(end) => now.min(end),
                None => now,
            };
            let anchor = a.start_time.unwrap_or(rec.put_time);
            let Some(t) = schedule.latest_in(offset, from, until, anchor, a.start_time) else {
                continue;
            };
            if let Err(e) = self.run_action(key, rec, t).await {
                tracing::error!(action = %a.scheduled_action_name, "cannot run scheduled action: {e}");
            }
        }
    }

    /// Runs one occurrence `t` of an action: the target's capacity as it
    /// is at the time of the write (another action may just have run).
    async fn run_action(
        &self,
        key: &str,
        rec: &ScheduledActionRecord,
        t: f64,
    ) -> Result<(), AutoScalingError> {
        let a = &rec.action;
        let set = a.scalable_target_action.clone().unwrap_or_default();
        let what = capacities(set.min_capacity, set.max_capacity);
        let cause = format!(
            "scheduled action name {} was triggered",
            a.scheduled_action_name
        );
        let resource_id = a.resource_id.clone();
        let applied = self
            .update(|s| {
                // Deleted or put again meanwhile: not this occurrence's.
                if s.scheduled_actions.get(key).map(|r| r.put_time) != Some(rec.put_time) {
                    return None;
                }
                if let Some(r) = s.scheduled_actions.get_mut(key) {
                    r.last_occurrence = Some(t);
                }
                let target = s.targets.get_mut(&resource_id)?;
                if target.suspended_state.scheduled_scaling_suspended {
                    return None;
                }
                let min = set.min_capacity.unwrap_or(target.min_capacity);
                let max = set.max_capacity.unwrap_or(target.max_capacity);
                let mut act = activity(
                    &resource_id,
                    format!("Setting {what}"),
                    cause,
                    format!("Successfully set {what}"),
                );
                let ok = min <= max;
                if ok {
                    target.min_capacity = min;
                    target.max_capacity = max;
                } else {
                    act.status_code = "Failed".into();
                    act.status_message = Some(format!(
                        "Failed to set {what}: the minimum capacity {min} would be greater than the maximum capacity {max}."
                    ));
                }
                push_activity(s, act);
                ok.then_some((min, max))
            })
            .await?;
        let Some((min, max)) = applied else {
            return Ok(());
        };
        self.clamp_desired(&resource_id, min, max, |n| {
            if n == min {
                format!("minimum capacity was set to {min}")
            } else {
                format!("maximum capacity was set to {max}")
            }
        })
        .await
    }
}
