//! Target tracking decisions.

use super::*;
use crate::model::autoscaling::TargetTracking;

fn tt(out: u32, inn: u32) -> TargetTracking {
    TargetTracking {
        target_value: 50.0,
        scale_out_cooldown: Some(out),
        scale_in_cooldown: Some(inn),
        ..Default::default()
    }
}

#[test]
fn scales_out_proportionally_within_max() {
    let t = tt(10, 10);
    assert_eq!(
        decide(2, 100.0, 50.0, 1, 10, None, None, &t),
        Decision::ScaleTo(4)
    );
    assert_eq!(
        decide(2, 500.0, 50.0, 1, 5, None, None, &t),
        Decision::ScaleTo(5)
    );
    assert_eq!(decide(2, 50.0, 50.0, 1, 5, None, None, &t), Decision::Keep);
    assert_eq!(
        decide(2, 51.0, 50.0, 1, 5, None, None, &t),
        Decision::ScaleTo(3)
    );
}

#[test]
fn scales_in_within_min_and_after_cooldown() {
    let t = tt(10, 10);
    assert_eq!(
        decide(4, 0.0, 50.0, 1, 10, None, None, &t),
        Decision::ScaleTo(1)
    );
    assert_eq!(
        decide(4, 0.0, 50.0, 1, 10, None, Some(Duration::from_secs(3)), &t),
        Decision::Keep
    );
    assert_eq!(
        decide(4, 0.0, 50.0, 1, 10, None, Some(Duration::from_secs(11)), &t),
        Decision::ScaleTo(1)
    );
    let mut off = t.clone();
    off.disable_scale_in = true;
    assert_eq!(
        decide(4, 0.0, 50.0, 1, 10, None, None, &off),
        Decision::Keep
    );
}

#[test]
fn scale_out_cooldown_only_delays_scale_out() {
    let t = tt(10, 100);
    assert_eq!(
        decide(
            2,
            100.0,
            50.0,
            1,
            10,
            Some(Duration::from_secs(5)),
            None,
            &t
        ),
        Decision::Keep
    );
    assert_eq!(
        decide(
            2,
            100.0,
            50.0,
            1,
            10,
            Some(Duration::from_secs(11)),
            Some(Duration::from_secs(1)),
            &t
        ),
        Decision::ScaleTo(4)
    );
}

#[test]
fn capacity_below_min_is_raised() {
    let t = tt(10, 10);
    assert_eq!(
        decide(1, 0.0, 50.0, 2, 10, None, None, &t),
        Decision::ScaleTo(2)
    );
}
