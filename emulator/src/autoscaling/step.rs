//! Step scaling, pure: which step an alarm's breach picks, the capacity it
//! asks for, and the rules a policy's steps must follow.

use crate::model::autoscaling::{StepAdjustment, StepScaling};

pub const CHANGE_IN_CAPACITY: &str = "ChangeInCapacity";
pub const PERCENT_CHANGE_IN_CAPACITY: &str = "PercentChangeInCapacity";
pub const EXACT_CAPACITY: &str = "ExactCapacity";
/// The cooldown when a policy names none (AWS: 300 s).
pub const DEFAULT_COOLDOWN: i64 = 300;

/// The step whose interval holds `delta` (metric minus breach threshold):
/// at or above the threshold a step's lower bound is inclusive and its
/// upper bound exclusive, below it the other way round; a missing bound
/// is infinite.
pub fn matching_step(steps: &[StepAdjustment], delta: f64) -> Option<&StepAdjustment> {
    steps.iter().find(|s| {
        let lo = s.metric_interval_lower_bound.unwrap_or(f64::NEG_INFINITY);
        let hi = s.metric_interval_upper_bound.unwrap_or(f64::INFINITY);
        if delta >= 0.0 {
            lo <= delta && delta < hi
        } else {
            lo < delta && delta <= hi
        }
    })
}

/// The capacity the policy asks for at `current` when the metric is
/// `delta` from the breach threshold, before min/max; `None` when no step
/// matches. Percent changes round as AWS does: toward zero, but at least
/// one task, and at least `MinAdjustmentMagnitude` when set.
pub fn wanted_capacity(current: u32, delta: f64, config: &StepScaling) -> Option<i64> {
    let step = matching_step(&config.step_adjustments, delta)?;
    let current = i64::from(current);
    let adj = step.scaling_adjustment;
    Some(
        match config.adjustment_type.as_deref() {
            Some(EXACT_CAPACITY) => adj,
            Some(PERCENT_CHANGE_IN_CAPACITY) => {
                let raw = current as f64 * adj as f64 / 100.0;
                let mut change = if raw > 0.0 && raw < 1.0 {
                    1
                } else if raw < 0.0 && raw > -1.0 {
                    -1
                } else {
                    raw.trunc() as i64
                };
                if let Some(m) = config.min_adjustment_magnitude.filter(|m| *m > 0) {
                    if change != 0 && change.abs() < m {
                        change = m * change.signum();
                    }
                }
                current + change
            }
            _ => current + adj,
        }
        .max(0),
    )
}

/// The rules AWS holds a step scaling configuration to.
pub fn validate(config: &StepScaling) -> Result<(), String> {
    let kind = config.adjustment_type.as_deref().ok_or(
        "AdjustmentType is required (ChangeInCapacity, PercentChangeInCapacity or ExactCapacity).",
    )?;
    if ![
        CHANGE_IN_CAPACITY,
        PERCENT_CHANGE_IN_CAPACITY,
        EXACT_CAPACITY,
    ]
    .contains(&kind)
    {
        return Err(format!(
            "Invalid AdjustmentType '{kind}' (ChangeInCapacity, PercentChangeInCapacity or ExactCapacity)."
        ));
    }
    if let Some(m) = &config.metric_aggregation_type {
        if !["Average", "Minimum", "Maximum"].contains(&m.as_str()) {
            return Err(format!(
                "Invalid MetricAggregationType '{m}' (Average, Minimum or Maximum)."
            ));
        }
    }
    if config.cooldown.is_some_and(|c| c < 0) {
        return Err("Cooldown must not be negative.".into());
    }
    if let Some(m) = config.min_adjustment_magnitude {
        if kind != PERCENT_CHANGE_IN_CAPACITY {
            return Err(
                "MinAdjustmentMagnitude is only valid with AdjustmentType PercentChangeInCapacity."
                    .into(),
            );
        }
        if m < 0 {
            return Err("MinAdjustmentMagnitude must not be negative.".into());
        }
    }
    let steps = &config.step_adjustments;
    if steps.is_empty() {
        return Err("StepAdjustments must hold at least one step adjustment.".into());
    }
    if kind == EXACT_CAPACITY && steps.iter().any(|s| s.scaling_adjustment < 0) {
        return Err(
            "ScalingAdjustment must not be negative with AdjustmentType ExactCapacity.".into(),
        );
    }
    for s in steps {
        match (s.metric_interval_lower_bound, s.metric_interval_upper_bound) {
            (None, None) => {
                return Err(
                    "The upper and lower bound can't be null in the same step adjustment.".into(),
                )
            }
            (Some(lo), Some(hi)) if lo >= hi => {
                return Err(format!(
                    "Step adjustment lower bound {lo} must be less than its upper bound {hi}."
                ))
            }
            (lo, hi)
                if lo.is_some_and(|v| !v.is_finite()) || hi.is_some_and(|v| !v.is_finite()) =>
            {
                return Err("Step adjustment bounds must be finite numbers.".into())
            }
            _ => {}
        }
    }
    let open_lo = steps
        .iter()
        .filter(|s| s.metric_interval_lower_bound.is_none())
        .count();
    let open_hi = steps
        .iter()
        .filter(|s| s.metric_interval_upper_bound.is_none())
        .count();
    if open_lo > 1 || open_hi > 1 {
        return Err(
            "At most one step adjustment can have a null lower bound, and one a null upper bound."
                .into(),
        );
    }
    if open_lo == 0
        && steps
            .iter()
            .any(|s| s.metric_interval_lower_bound.is_some_and(|v| v < 0.0))
    {
        return Err("A step adjustment has a negative lower bound: one step adjustment must have a null lower bound.".into());
    }
    if open_hi == 0
        && steps
            .iter()
            .any(|s| s.metric_interval_upper_bound.is_some_and(|v| v > 0.0))
    {
        return Err("A step adjustment has a positive upper bound: one step adjustment must have a null upper bound.".into());
    }
    let mut sorted: Vec<&StepAdjustment> = steps.iter().collect();
    sorted.sort_by(|a, b| {
        let key = |s: &StepAdjustment| s.metric_interval_lower_bound.unwrap_or(f64::NEG_INFINITY);
        key(a).total_cmp(&key(b))
    });
    for w in sorted.windows(2) {
        if w[0].metric_interval_upper_bound != w[1].metric_interval_lower_bound {
            return Err("The ranges of the step adjustments can't overlap or have a gap.".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(lo: Option<f64>, hi: Option<f64>, adj: i64) -> StepAdjustment {
        StepAdjustment {
            metric_interval_lower_bound: lo,
            metric_interval_upper_bound: hi,
            scaling_adjustment: adj,
        }
    }

    fn config(kind: &str, steps: Vec<StepAdjustment>) -> StepScaling {
        StepScaling {
            adjustment_type: Some(kind.into()),
            step_adjustments: steps,
            ..Default::default()
        }
    }

    #[test]
    fn the_breach_picks_the_step_with_aws_bound_rules() {
        let c = config(
            CHANGE_IN_CAPACITY,
            vec![
                step(None, Some(-10.0), -2),
                step(Some(-10.0), Some(0.0), -1),
                step(Some(0.0), Some(10.0), 1),
                step(Some(10.0), None, 3),
            ],
        );
        assert!(validate(&c).is_ok());
        assert_eq!(wanted_capacity(4, 0.0, &c), Some(5));
        assert_eq!(wanted_capacity(4, 9.9, &c), Some(5));
        assert_eq!(wanted_capacity(4, 10.0, &c), Some(7));
        // Below the threshold the upper bound is the inclusive one.
        assert_eq!(wanted_capacity(4, -9.9, &c), Some(3));
        assert_eq!(wanted_capacity(4, -10.0, &c), Some(2));
        assert_eq!(wanted_capacity(1, -50.0, &c), Some(0));
        let only_up = config(CHANGE_IN_CAPACITY, vec![step(Some(0.0), None, 1)]);
        assert_eq!(wanted_capacity(4, -1.0, &only_up), None);
    }

    #[test]
    fn percent_and_exact_capacity() {
        let mut c = config(PERCENT_CHANGE_IN_CAPACITY, vec![step(Some(0.0), None, 25)]);
        assert_eq!(wanted_capacity(10, 1.0, &c), Some(12));
        assert_eq!(wanted_capacity(2, 1.0, &c), Some(3));
        c.min_adjustment_magnitude = Some(2);
        assert_eq!(wanted_capacity(4, 1.0, &c), Some(6));
        let down = config(PERCENT_CHANGE_IN_CAPACITY, vec![step(None, Some(0.0), -30)]);
        assert_eq!(wanted_capacity(10, -1.0, &down), Some(7));
        assert_eq!(wanted_capacity(2, -1.0, &down), Some(1));
        let exact = config(EXACT_CAPACITY, vec![step(Some(0.0), None, 6)]);
        assert_eq!(wanted_capacity(2, 5.0, &exact), Some(6));
    }

    #[test]
    fn step_rules_are_enforced() {
        let bad = [
            config(CHANGE_IN_CAPACITY, vec![]),
            config("Double", vec![step(Some(0.0), None, 1)]),
            config(CHANGE_IN_CAPACITY, vec![step(None, None, 1)]),
            config(
                CHANGE_IN_CAPACITY,
                vec![step(Some(0.0), Some(10.0), 1), step(Some(20.0), None, 2)],
            ),
            config(
                CHANGE_IN_CAPACITY,
                vec![step(Some(0.0), Some(10.0), 1), step(Some(5.0), None, 2)],
            ),
            config(CHANGE_IN_CAPACITY, vec![step(Some(0.0), Some(10.0), 1)]),
            config(CHANGE_IN_CAPACITY, vec![step(Some(-5.0), None, 1)]),
            config(
                CHANGE_IN_CAPACITY,
                vec![step(Some(0.0), None, 1), step(Some(10.0), None, 1)],
            ),
            config(EXACT_CAPACITY, vec![step(Some(0.0), None, -1)]),
        ];
        for c in &bad {
            assert!(validate(c).is_err(), "{c:?}");
        }
        let mut c = config(CHANGE_IN_CAPACITY, vec![step(Some(0.0), None, 1)]);
        c.min_adjustment_magnitude = Some(1);
        assert!(validate(&c).is_err());
        c.min_adjustment_magnitude = None;
        c.cooldown = Some(-1);
        assert!(validate(&c).is_err());
    }
}
