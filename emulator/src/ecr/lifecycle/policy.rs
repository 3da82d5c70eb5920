//! A lifecycle policy's text, checked as ECR checks it, and the pure
//! choice of what it expires: [`parse`] turns the JSON into [`Rule`]s (or
//! the reason it is refused), [`expire`] takes the images, the rules and
//! the time and names the images to expire. Nothing here touches the
//! registry; the caller deletes what [`expire`] names.
//!
//! Evaluation follows ECR's documented rules: rules run from the lowest
//! `rulePriority` up; an image matching a rule's tag selection is that
//! rule's, whether the rule expires it or keeps it, so a later rule never
//! sees it (an image is expired by at most one rule); `imageCountMoreThan`
//! keeps the newest `countNumber` images it matched; `sinceImagePushed`
//! expires those pushed more than `countNumber` days ago.

use serde_json::{Map, Value};

// Tag patterns are globs as CloudWatch Logs' filter patterns are.
use crate::logs::pattern::glob;

/// Which images a rule selects by their tags.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Images with tags: every prefix is the start of one of its tags.
    TaggedPrefixes(Vec<String>),
    /// Images with tags: every pattern (`*` wildcards) matches one of its tags.
    TaggedPatterns(Vec<String>),
    Untagged,
    Any,
}

/// What a rule keeps of the images it selects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Count {
    /// `imageCountMoreThan`: the newest N stay.
    MoreThan(u64),
    /// `sinceImagePushed` in days: those pushed longer ago go.
    DaysSincePushed(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub priority: u64,
    pub selection: Selection,
    pub count: Count,
}

/// An image as the evaluation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub digest: String,
    pub tags: Vec<String>,
    /// Seconds since the epoch (`imagePushedAt`).
    pub pushed_at: f64,
}

/// An image a rule expires.
#[derive(Debug, Clone, PartialEq)]
pub struct Expiry {
    pub digest: String,
    pub rule_priority: u64,
}

/// ECR's bounds on `lifecyclePolicyText` (botocore: min 100, max 30720).
const MIN_LEN: usize = 100;
const MAX_LEN: usize = 30720;
/// ECR allows at most four wildcards in one tag pattern.
const MAX_WILDCARDS: usize = 4;

fn failure(detail: impl std::fmt::Display) -> String {
    format!(
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: {detail}'"
    )
}

/// Refuses keys other than `allowed` in `obj` (named `what`).
fn only(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    let extra: Vec<&String> = obj
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    if extra.is_empty() {
        Ok(())
    } else {
        Err(failure(format!(
            "{what} has properties which are not allowed: {extra:?} (allowed: {allowed:?})"
        )))
    }
}

fn positive(v: Option<&Value>, field: &str, rule: usize) -> Result<u64, String> {
    match v {
        None => Err(failure(format!(
            "rules[{rule}] is missing the required property \"{field}\""
        ))),
        Some(v) => v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
            failure(format!(
                "rules[{rule}].{field} must be an integer of at least 1 (got {v})"
            ))
        }),
    }
}

fn strings(v: &Value, field: &str, rule: usize) -> Result<Vec<String>, String> {
    let list: Option<Vec<String>> = v
        .as_array()
        .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect());
    match list {
        Some(l) if !l.is_empty() => Ok(l),
        _ => Err(failure(format!(
            "rules[{rule}].selection.{field} must be a non-empty list of strings (got {v})"
        ))),
    }
}

/// The rules of a policy text, in priority order, or why ECR refuses it
/// (the message of an `InvalidParameterException`).
pub fn parse(text: &str) -> Result<Vec<Rule>, String> {
    if text.len() < MIN_LEN || text.len() > MAX_LEN {
        return Err(format!(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Member must have length between {MIN_LEN} and {MAX_LEN}' (got {})",
            text.len()
        ));
    }
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| failure(format!("the text is not valid JSON: {e}")))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| failure("the policy must be a JSON object with \"rules\""))?;
    only(obj, &["rules"], "the policy")?;
    let rules = obj
        .get("rules")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| failure("\"rules\" must be a non-empty list"))?;
    let mut out: Vec<Rule> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let rule = rule(r, i)?;
        if out.iter().any(|o| o.priority == rule.priority) {
            return Err(failure(format!(
                "rulePriority {} is used by more than one rule; rule priorities must be unique",
                rule.priority
            )));
        }
        out.push(rule);
    }
    out.sort_by_key(|r| r.priority);
    if let Some(any) = out.iter().position(|r| r.selection == Selection::Any) {
        if any != out.len() - 1 {
            return Err(failure(format!(
                "the rule with tagStatus \"any\" (rulePriority {}) must have the highest rulePriority",
                out[any].priority
            )));
        }
    }
    Ok(out)
}

fn rule(r: &Value, i: usize) -> Result<Rule, String> {
    let obj = r
        .as_object()
        .ok_or_else(|| failure(format!("rules[{i}] must be an object")))?;
    only(
        obj,
        &["rulePriority", "description", "selection", "action"],
        &format!("rules[{i}]"),
    )?;
    let priority = positive(obj.get("rulePriority"), "rulePriority", i)?;
    let action = obj
        .get("action")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            failure(format!(
                "rules[{i}] is missing the required object \"action\""
            ))
        })?;
    only(action, &["type"], &format!("rules[{i}].action"))?;
    if action.get("type").and_then(Value::as_str) != Some("expire") {
        return Err(failure(format!(
            "rules[{i}].action.type must be \"expire\" (got {})",
            action.get("type").unwrap_or(&Value::Null)
        )));
    }
    let sel = obj
        .get("selection")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            failure(format!(
                "rules[{i}] is missing the required object \"selection\""
            ))
        })?;
    only(
        sel,
        &[
            "tagStatus",
            "tagPrefixList",
            "tagPatternList",
            "countType",
            "countUnit",
            "countNumber",
        ],
        &format!("rules[{i}].selection"),
    )?;
    let prefixes = sel.get("tagPrefixList");
    let patterns = sel.get("tagPatternList");
    let status = sel.get("tagStatus").and_then(Value::as_str);
    let selection = match (status, prefixes, patterns) {
        (Some("tagged"), Some(_), Some(_)) => {
            return Err(failure(format!(
                "rules[{i}].selection cannot have both tagPrefixList and tagPatternList"
            )))
        }
        (Some("tagged"), Some(p), None) => {
            Selection::TaggedPrefixes(strings(p, "tagPrefixList", i)?)
        }
        (Some("tagged"), None, Some(p)) => {
            let list = strings(p, "tagPatternList", i)?;
            if let Some(p) = list
                .iter()
                .find(|p| p.matches('*').count() > MAX_WILDCARDS)
            {
                return Err(failure(format!(
                    "rules[{i}].selection.tagPatternList: '{p}' has more than {MAX_WILDCARDS} wildcards"
                )));
            }
            Selection::TaggedPatterns(list)
        }
        (Some("tagged"), None, None) => {
            return Err(failure(format!(
                "rules[{i}].selection: tagStatus \"tagged\" requires a tagPrefixList or a tagPatternList"
            )))
        }
        (Some(s @ ("untagged" | "any")), p, q) => {
            if p.is_some() || q.is_some() {
                return Err(failure(format!(
                    "rules[{i}].selection: tagPrefixList and tagPatternList are only allowed with tagStatus \"tagged\" (got \"{s}\")"
                )));
            }
            if s == "untagged" {
                Selection::Untagged
            } else {
                Selection::Any
            }
        }
        (other, ..) => {
            return Err(failure(format!(
                "rules[{i}].selection.tagStatus must be one of [\"tagged\", \"untagged\", \"any\"] (got {})",
                other.map_or("nothing".to_string(), |s| format!("\"{s}\""))
            )))
        }
    };
    let number = positive(sel.get("countNumber"), "selection.countNumber", i)?;
    let unit = sel.get("countUnit");
    let count = match sel.get("countType").and_then(Value::as_str) {
        Some("imageCountMoreThan") => {
            if unit.is_some() {
                return Err(failure(format!(
                    "rules[{i}].selection: countUnit is not allowed with countType \"imageCountMoreThan\""
                )));
            }
            Count::MoreThan(number)
        }
        Some("sinceImagePushed") => {
            if unit.and_then(Value::as_str) != Some("days") {
                return Err(failure(format!(
                    "rules[{i}].selection: countType \"sinceImagePushed\" requires countUnit \"days\" (got {})",
                    unit.unwrap_or(&Value::Null)
                )));
            }
            Count::DaysSincePushed(number)
        }
        _ => {
            return Err(failure(format!(
                "rules[{i}].selection.countType must be one of [\"imageCountMoreThan\", \"sinceImagePushed\"] (got {})",
                sel.get("countType").unwrap_or(&Value::Null)
            )))
        }
    };
    Ok(Rule {
        priority,
        selection,
        count,
    })
}

impl Selection {
    fn matches(&self, tags: &[String]) -> bool {
        match self {
            Selection::Any => true,
            Selection::Untagged => tags.is_empty(),
            Selection::TaggedPrefixes(ps) => {
                !tags.is_empty() && ps.iter().all(|p| tags.iter().any(|t| t.starts_with(p)))
            }
            Selection::TaggedPatterns(ps) => {
                !tags.is_empty() && ps.iter().all(|p| tags.iter().any(|t| glob(p, t)))
            }
        }
    }
}

/// The images `rules` (in priority order) expire at `now` (seconds since
/// the epoch), each with the rule that expires it.
pub fn expire(images: &[Candidate], rules: &[Rule], now: f64) -> Vec<Expiry> {
    let mut claimed = vec![false; images.len()];
    let mut out = Vec::new();
    for rule in rules {
        let mut matched: Vec<usize> = (0..images.len())
            .filter(|&i| !claimed[i] && rule.selection.matches(&images[i].tags))
            .collect();
        for &i in &matched {
            claimed[i] = true;
        }
        let expired: Vec<usize> = match rule.count {
            Count::MoreThan(n) => {
                // Newest first; equal times by digest so the choice is stable.
                matched.sort_by(|&a, &b| {
                    images[b]
                        .pushed_at
                        .total_cmp(&images[a].pushed_at)
                        .then_with(|| images[a].digest.cmp(&images[b].digest))
                });
                matched.into_iter().skip(n as usize).collect()
            }
            Count::DaysSincePushed(days) => {
                let cutoff = now - days as f64 * 86_400.0;
                matched
                    .into_iter()
                    .filter(|&i| images[i].pushed_at < cutoff)
                    .collect()
            }
        };
        out.extend(expired.into_iter().map(|i| Expiry {
            digest: images[i].digest.clone(),
            rule_priority: rule.priority,
        }));
    }
    out
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
