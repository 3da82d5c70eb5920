//! The policy checks and the evaluation, without a registry.

use serde_json::{json, Value};

use super::*;

const DAY: f64 = 86_400.0;
const NOW: f64 = 1_800_000_000.0;

/// A policy of `rules`, padded to ECR's minimum length.
fn text(rules: Value) -> String {
    let t = serde_json::to_string_pretty(&json!({ "rules": rules })).unwrap();
    format!("{t:<100}")
}

fn rule(priority: u64, selection: Value) -> Value {
    json!({
        "rulePriority": priority,
        "description": "a rule of the tests",
        "selection": selection,
        "action": {"type": "expire"}
    })
}

fn rules(list: Value) -> Vec<Rule> {
    parse(&text(list)).unwrap()
}

/// An image pushed `age_days` ago.
fn image(digest: &str, tags: &[&str], age_days: f64) -> Candidate {
    Candidate {
        digest: digest.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        pushed_at: NOW - age_days * DAY,
    }
}

fn expired(images: &[Candidate], rules: &[Rule]) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = expire(images, rules, NOW)
        .into_iter()
        .map(|e| (e.digest, e.rule_priority))
        .collect();
    out.sort();
    out
}

fn pairs(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(d, p)| (d.to_string(), *p)).collect()
}

#[test]
fn count_keeps_the_newest_images_of_the_prefix() {
    let r = rules(json!([rule(
        1,
        json!({
            "tagStatus": "tagged", "tagPrefixList": ["v"],
            "countType": "imageCountMoreThan", "countNumber": 1
        })
    )]));
    let images = [
        image("a", &["v1"], 3.0),
        image("b", &["v2"], 2.0),
        image("c", &["v3"], 1.0),
        image("d", &["prod"], 9.0),
        image("e", &[], 9.0),
    ];
    assert_eq!(expired(&images, &r), pairs(&[("a", 1), ("b", 1)]));
}

#[test]
fn age_expires_only_images_older_than_the_days() {
    let r = rules(json!([rule(
        1,
        json!({
            "tagStatus": "untagged",
            "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14
        })
    )]));
    let images = [
        image("old", &[], 15.0),
        image("young", &[], 13.0),
        image("old-tagged", &["v1"], 30.0),
    ];
    assert_eq!(expired(&images, &r), pairs(&[("old", 1)]));
}

#[test]
fn an_image_kept_by_an_earlier_rule_is_not_expired_by_a_later_one() {
    // prod images belong to rule 1 (keep 2); rule 2 (any, keep 1) sees the rest.
    let r = rules(json!([
        rule(
            10,
            json!({
                "tagStatus": "any",
                "countType": "imageCountMoreThan", "countNumber": 1
            })
        ),
        rule(
            1,
            json!({
                "tagStatus": "tagged", "tagPrefixList": ["prod"],
                "countType": "imageCountMoreThan", "countNumber": 2
            })
        ),
    ]));
    assert_eq!(
        r.iter().map(|r| r.priority).collect::<Vec<_>>(),
        [1, 10],
        "rules run in priority order"
    );
    let images = [
        image("p1", &["prod-1"], 5.0),
        image("p2", &["prod-2"], 4.0),
        image("p3", &["prod-3"], 3.0),
        image("x", &["test"], 2.0),
        image("y", &[], 1.0),
    ];
    assert_eq!(
        expired(&images, &r),
        pairs(&[("p1", 1), ("x", 10)]),
        "p2/p3 are rule 1's to keep, y is the newest of the rest"
    );
}

#[test]
fn every_prefix_of_the_list_must_match_a_tag() {
    let r = rules(json!([rule(
        1,
        json!({
            "tagStatus": "tagged", "tagPrefixList": ["prod", "beta"],
            "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1
        })
    )]));
    let images = [
        image("both", &["prod-1", "beta-1"], 5.0),
        image("prod-only", &["prod-2"], 5.0),
    ];
    assert_eq!(expired(&images, &r), pairs(&[("both", 1)]));
}

#[test]
fn tag_patterns_match_with_wildcards() {
    let r = rules(json!([rule(
        1,
        json!({
            "tagStatus": "tagged", "tagPatternList": ["prod*-v*"],
            "countType": "imageCountMoreThan", "countNumber": 1
        })
    )]));
    let images = [
        image("a", &["prod-eu-v1"], 3.0),
        image("b", &["prod-v2"], 2.0),
        image("c", &["prod"], 9.0),
        image("d", &["test-prod-v1"], 9.0),
    ];
    assert_eq!(expired(&images, &r), pairs(&[("a", 1)]));
    assert!(glob("*", "anything"));
    assert!(glob("a*b*c", "aXbYc"));
    assert!(!glob("a*b*c", "aXcYb"));
    assert!(!glob("ab*ba", "aba"), "prefix and suffix may not overlap");
    assert!(glob("exact", "exact") && !glob("exact", "exactly"));
}

#[test]
fn nothing_expires_while_within_the_limits() {
    let r = rules(json!([rule(
        1,
        json!({
            "tagStatus": "any",
            "countType": "imageCountMoreThan", "countNumber": 5
        })
    )]));
    let images = [image("a", &["v1"], 100.0), image("b", &[], 1.0)];
    assert!(expire(&images, &r, NOW).is_empty());
}

/// The message a policy is refused with.
fn refused(rules: Value) -> String {
    let msg = parse(&text(rules)).unwrap_err();
    assert!(
        msg.starts_with("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint"),
        "{msg}"
    );
    msg
}

#[test]
fn invalid_policies_are_refused_with_the_reason() {
    let count = |more: Value| {
        let mut s = json!({"countType": "imageCountMoreThan", "countNumber": 1});
        s.as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        s
    };
    let cases = [
        (json!([]), "non-empty"),
        (
            json!([rule(1, count(json!({"tagStatus": "tagged"})))]),
            "requires a tagPrefixList or a tagPatternList",
        ),
        (
            json!([rule(
                1,
                count(json!({"tagStatus": "untagged", "tagPrefixList": ["v"]}))
            )]),
            "only allowed with tagStatus \"tagged\"",
        ),
        (
            json!([rule(1, count(json!({"tagStatus": "sometimes"})))]),
            "tagStatus must be one of",
        ),
        (
            json!([
                rule(1, count(json!({"tagStatus": "untagged"}))),
                rule(
                    1,
                    count(json!({"tagStatus": "tagged", "tagPrefixList": ["v"]}))
                ),
            ]),
            "must be unique",
        ),
        (
            json!([rule(0, count(json!({"tagStatus": "untagged"})))]),
            "rulePriority must be an integer of at least 1",
        ),
        (
            json!([
                rule(1, count(json!({"tagStatus": "any"}))),
                rule(2, count(json!({"tagStatus": "untagged"}))),
            ]),
            "must have the highest rulePriority",
        ),
        (
            json!([rule(
                1,
                json!({"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 3})
            )]),
            "requires countUnit \"days\"",
        ),
        (
            json!([rule(
                1,
                count(json!({"tagStatus": "untagged", "countUnit": "days"}))
            )]),
            "countUnit is not allowed",
        ),
        (
            json!([rule(
                1,
                json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 0})
            )]),
            "countNumber must be an integer of at least 1",
        ),
        (
            json!([rule(
                1,
                json!({"tagStatus": "untagged", "countType": "forever", "countNumber": 1})
            )]),
            "countType must be one of",
        ),
        (
            json!([rule(
                1,
                count(json!({"tagStatus": "tagged", "tagPatternList": ["*a*b*c*d*"]}))
            )]),
            "more than 4 wildcards",
        ),
        (
            json!([rule(
                1,
                count(json!({"tagStatus": "untagged", "tagPrefix": ["v"]}))
            )]),
            "not allowed",
        ),
    ];
    for (rules, words) in cases {
        let msg = refused(rules.clone());
        assert!(msg.contains(words), "{rules}: {msg}");
    }
    let mut r = rule(1, count(json!({"tagStatus": "untagged"})));
    r["action"] = json!({"type": "archive"});
    assert!(refused(json!([r])).contains("action.type must be \"expire\""));
    let short = parse(r#"{"rules": []}"#).unwrap_err();
    assert!(short.contains("length between 100 and 30720"), "{short}");
    let not_json = parse(&format!("{{\"rules\": [{}", " ".repeat(120))).unwrap_err();
    assert!(not_json.contains("not valid JSON"), "{not_json}");
}
