//! Log groups: create, delete, describe, retention and tags.

use serde_json::{json, Value};

use super::view::{group_in, named_by_definition, record_mut};
use super::{group_from_arn, invalid, now_ms, paged, Logs, LogsError, Query};
use crate::model::logs::LogGroup;

/// The retention periods CloudWatch Logs accepts, in days.
pub(super) const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Tags a resource may have at most.
const MAX_TAGS: usize = 50;

fn valid_group_name(g: &str) -> Result<(), LogsError> {
    if g.is_empty()
        || g.len() > 512
        || !g
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c))
    {
        return Err(invalid(format!(
            "Invalid log group name '{g}': 1 to 512 letters, digits and _-/.#"
        )));
    }
    Ok(())
}

/// A tag key or value within AWS's pattern: letters, digits, spaces and
/// `_.:/=+-@`.
fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// A `tags` map, checked as CloudWatch Logs checks it.
fn parse_tags(v: Option<&Value>) -> Result<Vec<(String, String)>, LogsError> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let map = v
        .as_object()
        .ok_or_else(|| invalid("tags must be a map of key to value."))?;
    if map.is_empty() || map.len() > MAX_TAGS {
        return Err(invalid(format!("tags must have 1 to {MAX_TAGS} entries.")));
    }
    let mut out = Vec::new();
    for (k, v) in map {
        let v = v
            .as_str()
            .ok_or_else(|| invalid(format!("The value of tag '{k}' must be a string.")))?;
        if k.is_empty() || k.chars().count() > 128 || !tag_chars_ok(k) {
            return Err(invalid(format!(
                "Invalid tag key '{k}': 1 to 128 letters, digits, spaces and _.:/=+-@"
            )));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid("Tag keys beginning with 'aws:' are reserved."));
        }
        if v.chars().count() > 256 || !tag_chars_ok(v) {
            return Err(invalid(format!(
                "Invalid value for tag '{k}': at most 256 letters, digits, spaces and _.:/=+-@"
            )));
        }
        out.push((k.clone(), v.to_string()));
    }
    Ok(out)
}

/// ListLogGroups' `logGroupNamePattern`: up to 5 `|`-separated names of 3
/// to 24 characters, each a substring, or a prefix with `^` (case-sensitive).
fn list_pattern(p: &str) -> Result<super::regex::Regex, LogsError> {
    let ok = (3..=129).contains(&p.len())
        && p.split('|').count() <= 5
        && p.split('|').all(|alt| {
            let name = alt.strip_prefix('^').unwrap_or(alt);
            (3..=24).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c))
        });
    if !ok {
        return Err(invalid(format!(
            "1 validation error detected: Value '{p}' at 'logGroupNamePattern' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: \
             (\\^?[\\.\\-_\\/#A-Za-z0-9]{{3,24}})(\\|\\^?[\\.\\-_\\/#A-Za-z0-9]{{3,24}}){{0,4}}"
        )));
    }
    let escaped: Vec<String> = p
        .split('|')
        .map(|alt| {
            let (anchor, name) = match alt.strip_prefix('^') {
                Some(n) => ("^", n),
                None => ("", alt),
            };
            let name: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_string()
                    } else {
                        format!("\\{c}")
                    }
                })
                .collect();
            format!("{anchor}{name}")
        })
        .collect();
    super::regex::Regex::new(&escaped.join("|")).map_err(invalid)
}

impl Logs {
    /// The ARN tags are kept under: the group's ARN without the `:*`
    /// (what TagResource takes).
    pub(super) fn tag_arn(&self, g: &str) -> String {
        let arn = self.group_arn(g);
        arn.strip_suffix(":*").unwrap_or(&arn).to_string()
    }

    pub(super) async fn create_log_group(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.log_group_name.clone().unwrap_or_default();
        valid_group_name(&g)?;
        let tags = parse_tags(q.tags.as_ref())?;
        let arn = self.tag_arn(&g);
        let now = now_ms();
        // Durable before the answer, like every other resource.
        self.engine
            .update_state(|s| {
                if group_in(s, &g).is_some() {
                    return Err(LogsError::GroupExists);
                }
                // Recreating a deleted group: what was in it stays gone.
                let data_since = s.log_groups.get(&g).and_then(|r| r.data_since);
                s.log_groups.insert(
                    g.clone(),
                    LogGroup {
                        log_group_name: g.clone(),
                        creation_time: now,
                        data_since,
                        ..Default::default()
                    },
                );
                s.tags.remove(&arn);
                s.tag(&arn, tags);
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }

    pub(super) async fn delete_log_group(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.group_name()?;
        let arn = self.tag_arn(&g);
        let now = now_ms();
        self.engine
            .update_state(|s| {
                if group_in(s, &g).is_none() {
                    return Err(LogsError::GroupNotFound);
                }
                if named_by_definition(s, &g) {
                    // Gone, with its events, until created again or named
                    // by a task definition registered later.
                    s.log_groups.insert(
                        g.clone(),
                        LogGroup {
                            log_group_name: g.clone(),
                            deleted: true,
                            data_since: Some(now),
                            ..Default::default()
                        },
                    );
                } else {
                    s.log_groups.remove(&g);
                }
                s.tags.remove(&arn);
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }

    pub(super) fn describe_log_groups(&self, q: &Query) -> Result<Value, LogsError> {
        if q.log_group_name_prefix.is_some() && q.log_group_name_pattern.is_some() {
            return Err(invalid(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
            ));
        }
        let limit = q.limit(50, 50)?;
        let prefix = q.log_group_name_prefix.clone().unwrap_or_default();
        let pattern = q
            .log_group_name_pattern
            .clone()
            .unwrap_or_default()
            .to_lowercase();
        let items: Vec<(String, Value)> = self
            .groups()
            .into_values()
            .filter(|g| g.name.starts_with(&prefix) && g.name.to_lowercase().contains(&pattern))
            .map(|g| {
                let mut v = json!({
                    "logGroupName": g.name,
                    "creationTime": g.creation_time,
                    "metricFilterCount": g.record.as_ref().map_or(0, |r| r.metric_filters.len()),
                    "arn": self.group_arn(&g.name),
                    "logGroupArn": self.tag_arn(&g.name),
                    "storedBytes": 0,
                    "logGroupClass": "STANDARD",
                });
                if let Some(d) = g.retention_in_days {
                    v["retentionInDays"] = json!(d);
                }
                (g.name, v)
            })
            .collect();
        paged("DescribeLogGroups", "logGroups", items, q, limit, false)
    }

    pub(super) fn list_log_groups(&self, q: &Query) -> Result<Value, LogsError> {
        let limit = q.limit(1000, 50)?;
        let pattern = match q.log_group_name_pattern.as_deref() {
            None => None,
            Some(p) => Some(list_pattern(p)?),
        };
        if let Some(c) = q
            .log_group_class
            .as_deref()
            .filter(|c| !["STANDARD", "INFREQUENT_ACCESS", "DELIVERY"].contains(c))
        {
            return Err(invalid(format!(
                "1 validation error detected: Value '{c}' at 'logGroupClass' failed to satisfy \
                 constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, \
                 DELIVERY]"
            )));
        }
        // Every group is STANDARD.
        let class_ok = q.log_group_class.as_deref().is_none_or(|c| c == "STANDARD");
        let items: Vec<(String, Value)> = self
            .groups()
            .into_keys()
            .filter(|g| class_ok && pattern.as_ref().is_none_or(|p| p.is_match(g)))
            .map(|g| {
                let v = json!({
                    "logGroupName": g,
                    "logGroupArn": self.tag_arn(&g),
                    "logGroupClass": "STANDARD",
                });
                (g, v)
            })
            .collect();
        paged("ListLogGroups", "logGroups", items, q, limit, false)
    }

    pub(super) async fn put_retention_policy(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.group_name()?;
        let days = q
            .retention_in_days
            .ok_or_else(|| invalid("retentionInDays is required."))?;
        let days = u32::try_from(days)
            .ok()
            .filter(|d| RETENTION_DAYS.contains(d))
            .ok_or_else(|| {
                invalid(format!(
                    "1 validation error detected: Value '{days}' at 'retentionInDays' failed to \
                     satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
                ))
            })?;
        let now = now_ms();
        self.engine
            .update_state(|s| {
                let view = group_in(s, &g).ok_or(LogsError::GroupNotFound)?;
                let r = record_mut(s, &view);
                r.retention_in_days = Some(days);
                r.expire(now - i64::from(days) * 86_400_000);
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }

    pub(super) async fn delete_retention_policy(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.group_name()?;
        self.engine
            .update_state(|s| {
                group_in(s, &g).ok_or(LogsError::GroupNotFound)?;
                if let Some(r) = s.log_groups.get_mut(&g) {
                    r.retention_in_days = None;
                }
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }

    /// The group a tagging operation names: `logGroupName` (the
    /// `*LogGroup` operations) or a log group `resourceArn`.
    fn tagged_group(&self, operation: &str, q: &Query) -> Result<String, LogsError> {
        if operation.ends_with("LogGroup") {
            return q
                .log_group_name
                .clone()
                .ok_or_else(|| invalid("logGroupName is required."));
        }
        let arn = q
            .resource_arn
            .as_deref()
            .ok_or_else(|| invalid("resourceArn is required."))?;
        match group_from_arn(arn) {
            Some(g) => Ok(g.to_string()),
            None if arn.starts_with("arn:") && arn.contains(":logs:") => {
                Err(LogsError::GroupNotFound)
            }
            None => Err(invalid(format!("Invalid resource ARN: {arn}"))),
        }
    }

    pub(super) async fn tag(&self, operation: &str, q: &Query) -> Result<Value, LogsError> {
        let g = self.tagged_group(operation, q)?;
        if q.tags.is_none() {
            return Err(invalid("tags is required."));
        }
        let tags = parse_tags(q.tags.as_ref())?;
        let arn = self.tag_arn(&g);
        let by_resource = operation == "TagResource";
        self.engine
            .update_state(|s| {
                group_in(s, &g).ok_or(LogsError::GroupNotFound)?;
                let mut all = s.tags_of(&arn);
                all.extend(tags.iter().cloned());
                if all.len() > MAX_TAGS {
                    let msg = format!("A resource can have at most {MAX_TAGS} tags.");
                    return Err(if by_resource {
                        LogsError::TooManyTags(msg)
                    } else {
                        invalid(msg)
                    });
                }
                s.tag(&arn, tags);
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }

    pub(super) async fn untag(&self, operation: &str, q: &Query) -> Result<Value, LogsError> {
        let g = self.tagged_group(operation, q)?;
        let keys: Vec<String> = if operation == "UntagLogGroup" {
            serde_json::from_value(q.tags.clone().unwrap_or(Value::Null))
                .map_err(|_| invalid("tags must be a list of tag keys."))?
        } else {
            q.tag_keys
                .clone()
                .ok_or_else(|| invalid("tagKeys is required."))?
        };
        let arn = self.tag_arn(&g);
        self.engine
            .update_state(|s| {
                group_in(s, &g).ok_or(LogsError::GroupNotFound)?;
                s.untag(&arn, &keys);
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }

    pub(super) fn list_tags(&self, operation: &str, q: &Query) -> Result<Value, LogsError> {
        let g = self.tagged_group(operation, q)?;
        let arn = self.tag_arn(&g);
        self.engine.read(|s| {
            group_in(s, &g).ok_or(LogsError::GroupNotFound)?;
            Ok(json!({ "tags": s.tags_of(&arn) }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_cloudwatch_rules() {
        assert_eq!(
            parse_tags(Some(&json!({"team": "a b", "x:y": ""})))
                .unwrap()
                .len(),
            2
        );
        assert!(parse_tags(Some(&json!({"aws:x": "1"}))).is_err());
        assert!(parse_tags(Some(&json!({"bad*": "1"}))).is_err());
        assert!(parse_tags(Some(&json!({}))).is_err());
        assert!(parse_tags(Some(&json!(["k"]))).is_err());
        let many: serde_json::Map<String, Value> =
            (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(parse_tags(Some(&Value::Object(many))).is_err());
    }

    #[test]
    fn a_deleted_group_stays_gone_until_created_again() {
        let mut st = crate::db::State::default();
        st.log_groups.insert(
            "/gone".into(),
            LogGroup {
                log_group_name: "/gone".into(),
                deleted: true,
                data_since: Some(5),
                ..Default::default()
            },
        );
        st.log_groups.insert(
            "/here".into(),
            LogGroup {
                log_group_name: "/here".into(),
                ..Default::default()
            },
        );
        let names: Vec<String> = super::super::view::groups_in(&st).into_keys().collect();
        assert_eq!(names, vec!["/here".to_string()]);
        assert!(group_in(&st, "/gone").is_none());
    }
}
