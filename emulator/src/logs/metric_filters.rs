//! Metric filters: PutMetricFilter, DescribeMetricFilters,
//! DeleteMetricFilter, TestMetricFilter. Events PutLogEvents writes are
//! matched against a group's filters as they are stored; each filter
//! counts its matches and sums its metric values, shown on `/metrics`
//! (there is no CloudWatch metrics service to send them to).

use serde_json::{json, Value};

use super::events::parse_pattern;
use super::pattern::{Extracted, Pattern};
use super::view::{group_in, record_mut};
use super::{invalid, now_ms, paged, Logs, LogsError, Query};
use crate::model::logs::{LogEvent, LogGroup, MetricFilter, MetricTransformation};

/// Metric filters a group may have.
pub(super) const MAX_METRIC_FILTERS: usize = 100;
/// Messages TestMetricFilter takes at most.
const MAX_TEST_MESSAGES: usize = 50;

const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// A required parameter, or InvalidParameterException naming it.
pub(super) fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, LogsError> {
    v.as_deref().ok_or_else(|| {
        invalid(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: \
             Member must not be null"
        ))
    })
}

/// A filter name: 1 to 512 characters, no `:` or `*`.
pub(super) fn valid_filter_name(name: &str) -> Result<(), LogsError> {
    if name.is_empty() || name.chars().count() > 512 || name.contains([':', '*']) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'filterName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [^:*]* and have length \
             between 1 and 512"
        )));
    }
    Ok(())
}

/// A filter pattern within 1024 characters that parses.
pub(super) fn checked_pattern(p: &str) -> Result<Pattern, LogsError> {
    if p.chars().count() > 1024 {
        return Err(invalid(
            "1 validation error detected: Value at 'filterPattern' failed to satisfy \
             constraint: Member must have length less than or equal to 1024",
        ));
    }
    parse_pattern(p)
}

fn metric_name_ok(field: &str, v: &str) -> Result<(), LogsError> {
    if v.is_empty() || v.chars().count() > 255 || v.contains([':', '*', '$']) {
        return Err(invalid(format!(
            "Invalid {field} '{v}': 1 to 255 characters, no ':', '*' or '$'."
        )));
    }
    Ok(())
}

/// Does `value` (`$name` or `$.path`) refer to something `pattern` gives?
fn refers_to_pattern(pattern: &Pattern, value: &str) -> bool {
    match pattern {
        Pattern::Fields(specs) => specs.iter().any(
            |s| matches!(s, super::pattern::FieldSpec::Named(n, _) if value == format!("${n}")),
        ),
        Pattern::Json(_) => value.starts_with("$."),
        _ => false,
    }
}

fn transformation(v: &Value, pattern: &Pattern) -> Result<MetricTransformation, LogsError> {
    let t: MetricTransformation = serde_json::from_value(v.clone()).map_err(|e| {
        invalid(format!(
            "Invalid metricTransformations: {}",
            crate::api::aws_words(&e.to_string())
        ))
    })?;
    metric_name_ok("metricName", &t.metric_name)?;
    metric_name_ok("metricNamespace", &t.metric_namespace)?;
    let value = t.metric_value.trim();
    if value.is_empty() || value.chars().count() > 100 {
        return Err(invalid("metricValue must have 1 to 100 characters."));
    }
    if value.parse::<f64>().is_err() && !refers_to_pattern(pattern, value) {
        return Err(invalid(format!(
            "Invalid metric value '{value}': a number, or a field ($name) or JSON selector \
             ($.path) of the filter pattern."
        )));
    }
    if t.unit.as_deref().is_some_and(|u| !UNITS.contains(&u)) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{}' at 'metricTransformations.1.member.unit' \
             failed to satisfy constraint: Member must satisfy enum value set: {UNITS:?}",
            t.unit.as_deref().unwrap_or_default()
        )));
    }
    if t.dimensions.len() > 3 {
        return Err(LogsError::LimitExceeded(
            "A metric filter can have at most 3 dimensions.".into(),
        ));
    }
    if !t.dimensions.is_empty() && t.default_value.is_some() {
        return Err(invalid(
            "A metric filter with dimensions cannot have a default value.",
        ));
    }
    if let Some((k, v)) = t
        .dimensions
        .iter()
        .find(|(_, v)| !refers_to_pattern(pattern, v))
    {
        return Err(invalid(format!(
            "Invalid dimension '{k}': its value '{v}' must be a field or JSON selector of the \
             filter pattern."
        )));
    }
    Ok(t)
}

fn render(group: &str, name: &str, f: &MetricFilter) -> Value {
    let mut v = json!({
        "filterName": name,
        "filterPattern": f.filter_pattern,
        "metricTransformations": f.metric_transformations,
        "creationTime": f.creation_time,
        "logGroupName": group,
        "applyOnTransformedLogs": f.apply_on_transformed_logs,
    });
    if let Some(c) = &f.field_selection_criteria {
        v["fieldSelectionCriteria"] = json!(c);
    }
    if !f.emit_system_field_dimensions.is_empty() {
        v["emitSystemFieldDimensions"] = json!(f.emit_system_field_dimensions);
    }
    v
}

/// Counts the events of a batch PutLogEvents stores against the group's
/// metric filters.
pub(super) fn count_matches(group: &mut LogGroup, events: &[LogEvent]) {
    for f in group.metric_filters.values_mut() {
        let Ok(pattern) = Pattern::parse(&f.filter_pattern) else {
            continue;
        };
        let value = f
            .metric_transformations
            .first()
            .map(|t| t.metric_value.clone())
            .unwrap_or_default();
        for e in events {
            if let Some(ex) = pattern.matches(&e.message) {
                f.matched_events += 1;
                f.metric_value_sum += Pattern::metric_value(&value, &ex, &e.message).unwrap_or(0.0);
            }
        }
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Logs {
    pub(super) async fn put_metric_filter(&self, q: &Query) -> Result<Value, LogsError> {
        let g = required(&q.log_group_name, "logGroupName")?.to_string();
        let name = required(&q.filter_name, "filterName")?.to_string();
        valid_filter_name(&name)?;
        let pattern_text = required(&q.filter_pattern, "filterPattern")?.to_string();
        let pattern = checked_pattern(&pattern_text)?;
        let list = q
            .metric_transformations
            .as_ref()
            .and_then(Value::as_array)
            .filter(|l| l.len() == 1)
            .ok_or_else(|| invalid("metricTransformations must hold exactly 1 item."))?;
        let t = transformation(&list[0], &pattern)?;
        let now = now_ms();
        let filter = MetricFilter {
            filter_pattern: pattern_text,
            metric_transformations: vec![t],
            creation_time: now,
            apply_on_transformed_logs: q.apply_on_transformed_logs.unwrap_or(false),
            field_selection_criteria: q.field_selection_criteria.clone(),
            emit_system_field_dimensions: q
                .emit_system_field_dimensions
                .clone()
                .unwrap_or_default(),
            ..Default::default()
        };
        self.store_filter(&g, name, filter, MAX_METRIC_FILTERS, |r| {
            &mut r.metric_filters
        })
        .await
    }

    /// Puts `filter` as filter `name` of group `g` into the map `pick`
    /// chooses, which may hold `max` filters (LimitExceededException).
    pub(super) async fn store_filter<F>(
        &self,
        g: &str,
        name: String,
        filter: F,
        max: usize,
        pick: impl FnOnce(&mut LogGroup) -> &mut std::collections::BTreeMap<String, F>,
    ) -> Result<Value, LogsError> {
        self.engine
            .update_state(|s| {
                let view = group_in(s, g).ok_or(LogsError::GroupNotFound)?;
                let filters = pick(record_mut(s, &view));
                if !filters.contains_key(&name) && filters.len() >= max {
                    return Err(LogsError::LimitExceeded("Resource limit exceeded.".into()));
                }
                filters.insert(name, filter);
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }

    pub(super) fn describe_metric_filters(&self, q: &Query) -> Result<Value, LogsError> {
        let limit = q.limit(50, 50)?;
        if q.filter_name_prefix.is_some() && q.log_group_name.is_none() {
            return Err(invalid(
                "If you specify filterNamePrefix, you must also specify logGroupName.",
            ));
        }
        if q.metric_name.is_some() != q.metric_namespace.is_some() {
            return Err(invalid(
                "metricName and metricNamespace must be specified together.",
            ));
        }
        let prefix = q.filter_name_prefix.clone().unwrap_or_default();
        let items = self.engine.read(|st| {
            let groups: Vec<(String, &LogGroup)> = match &q.log_group_name {
                Some(g) => {
                    group_in(st, g).ok_or(LogsError::GroupNotFound)?;
                    st.log_groups
                        .get(g)
                        .map(|r| (g.clone(), r))
                        .into_iter()
                        .collect()
                }
                None => super::view::groups_in(st)
                    .into_keys()
                    .filter_map(|g| Some((g.clone(), st.log_groups.get(&g)?)))
                    .collect(),
            };
            let mut items: Vec<((String, String), Value)> = Vec::new();
            for (g, r) in groups {
                for (name, f) in &r.metric_filters {
                    let metric_ok = match (&q.metric_name, &q.metric_namespace) {
                        (Some(m), Some(ns)) => f
                            .metric_transformations
                            .iter()
                            .any(|t| &t.metric_name == m && &t.metric_namespace == ns),
                        _ => true,
                    };
                    if name.starts_with(&prefix) && metric_ok {
                        items.push(((g.clone(), name.clone()), render(&g, name, f)));
                    }
                }
            }
            Ok::<_, LogsError>(items)
        })?;
        paged(
            "DescribeMetricFilters",
            "metricFilters",
            items,
            q,
            limit,
            false,
        )
    }

    pub(super) async fn delete_metric_filter(&self, q: &Query) -> Result<Value, LogsError> {
        self.remove_filter(q, "The specified filter does not exist.", |r, name| {
            r.metric_filters.remove(name).is_some()
        })
        .await
    }

    /// Deletes filter `filterName` of group `logGroupName` with `take`
    /// (false: it has none such, ResourceNotFoundException `missing`).
    pub(super) async fn remove_filter(
        &self,
        q: &Query,
        missing: &str,
        take: impl FnOnce(&mut LogGroup, &str) -> bool,
    ) -> Result<Value, LogsError> {
        let g = required(&q.log_group_name, "logGroupName")?.to_string();
        let name = required(&q.filter_name, "filterName")?.to_string();
        self.engine
            .update_state(|s| {
                group_in(s, &g).ok_or(LogsError::GroupNotFound)?;
                let found = s.log_groups.get_mut(&g).is_some_and(|r| take(r, &name));
                if found {
                    Ok(())
                } else {
                    Err(LogsError::NotFound(missing.to_string()))
                }
            })
            .await??;
        Ok(json!({}))
    }

    pub(super) fn test_metric_filter(&self, q: &Query) -> Result<Value, LogsError> {
        let pattern = checked_pattern(required(&q.filter_pattern, "filterPattern")?)?;
        let messages = q
            .log_event_messages
            .as_ref()
            .filter(|m| (1..=MAX_TEST_MESSAGES).contains(&m.len()))
            .ok_or_else(|| {
                invalid(format!(
                    "logEventMessages must hold 1 to {MAX_TEST_MESSAGES} messages."
                ))
            })?;
        if messages.iter().any(String::is_empty) {
            return Err(invalid("A log event message must not be empty."));
        }
        let matches: Vec<Value> = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let ex: Extracted = pattern.matches(m)?;
                Some(json!({"eventNumber": i + 1, "eventMessage": m, "extractedValues": ex}))
            })
            .collect();
        Ok(json!({ "matches": matches }))
    }

    /// Every metric filter's counts as Prometheus text: events matched and
    /// the sum of their metric values, by group, filter and metric.
    pub fn metric_filter_metrics(&self) -> String {
        let mut matched = String::new();
        let mut sums = String::new();
        self.engine.read(|st| {
            for (g, r) in st.log_groups.iter().filter(|(_, r)| !r.deleted) {
                for (name, f) in &r.metric_filters {
                    let Some(t) = f.metric_transformations.first() else {
                        continue;
                    };
                    let labels = format!(
                        "log_group=\"{}\",filter_name=\"{}\",metric_namespace=\"{}\",metric_name=\"{}\"",
                        label(g),
                        label(name),
                        label(&t.metric_namespace),
                        label(&t.metric_name)
                    );
                    matched.push_str(&format!(
                        "cloudwatch_logs_metric_filter_matched_events_total{{{labels}}} {}\n",
                        f.matched_events
                    ));
                    sums.push_str(&format!(
                        "cloudwatch_logs_metric_filter_value_sum{{{labels}}} {}\n",
                        f.metric_value_sum
                    ));
                }
            }
        });
        if matched.is_empty() {
            return String::new();
        }
        format!(
            "# HELP cloudwatch_logs_metric_filter_matched_events_total Events written by \
             PutLogEvents that matched a metric filter.\n\
             # TYPE cloudwatch_logs_metric_filter_matched_events_total counter\n{matched}\
             # HELP cloudwatch_logs_metric_filter_value_sum The sum of the metric values of \
             those events.\n\
             # TYPE cloudwatch_logs_metric_filter_value_sum counter\n{sums}"
        )
    }
}
