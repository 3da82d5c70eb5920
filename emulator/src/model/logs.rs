//! CloudWatch Logs groups as the store keeps them. Groups that task
//! definitions name exist without a record; a record holds what the API
//! added to a group: its retention, the streams made by `CreateLogStream`
//! with the events `PutLogEvents` wrote (bounded, see
//! [`LogGroup::MAX_EVENTS`]), container streams deleted by
//! `DeleteLogStream`, and whether `DeleteLogGroup` deleted a group task
//! definitions still name.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogGroup {
    pub log_group_name: String,
    /// Milliseconds since the epoch.
    pub creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<u32>,
    /// Streams made by `CreateLogStream` (or written to by `PutLogEvents`
    /// beside a container's output), by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub streams: BTreeMap<String, LogStream>,
    /// Container streams deleted by `DeleteLogStream` (they stay gone), with
    /// when (ms).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub deleted_streams: BTreeMap<String, i64>,
    /// `DeleteLogGroup` deleted this group while a task definition still
    /// names it: it is gone until created again or named by a task
    /// definition registered later.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// When the group was last deleted (ms): container output before it is
    /// gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_since: Option<i64>,
    /// Metric filters (PutMetricFilter), by filter name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metric_filters: BTreeMap<String, MetricFilter>,
    /// Subscription filters (PutSubscriptionFilter), by filter name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub subscription_filters: BTreeMap<String, SubscriptionFilter>,
}

/// A metric filter, with what it counted of the events PutLogEvents wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricFilter {
    pub filter_pattern: String,
    pub metric_transformations: Vec<MetricTransformation>,
    pub creation_time: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub apply_on_transformed_logs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_selection_criteria: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emit_system_field_dimensions: Vec<String>,
    /// Events written since the filter was put that matched it (not an
    /// AWS field: the emulator's stand-in for the CloudWatch metric).
    pub matched_events: u64,
    /// The sum of the metric values those events gave.
    pub metric_value_sum: f64,
}

/// A metric filter's `metricTransformations` item, in AWS's shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTransformation {
    pub metric_name: String,
    pub metric_namespace: String,
    pub metric_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A subscription filter (kept and listed; nothing is delivered).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionFilter {
    pub filter_pattern: String,
    pub destination_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub distribution: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub apply_on_transformed_logs: bool,
    pub creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_selection_criteria: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emit_system_fields: Vec<String>,
}

/// A CloudWatch Logs resource policy (PutResourcePolicy), in AWS's shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogResourcePolicy {
    pub policy_name: String,
    pub policy_document: String,
    pub last_updated_time: i64,
    pub policy_scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
    pub revision_id: String,
}

/// A stream the API made, with the events written to it, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogStream {
    pub creation_time: i64,
    #[serde(skip_serializing_if = "VecDeque::is_empty")]
    pub events: VecDeque<LogEvent>,
    /// When `PutLogEvents` last wrote to it (ms), 0 if never.
    #[serde(skip_serializing_if = "is_zero")]
    pub last_ingestion_time: i64,
    /// Counts the batches written (the sequence token AWS still returns).
    #[serde(skip_serializing_if = "is_zero")]
    pub batches: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One event written by `PutLogEvents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogEvent {
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
}

impl LogEvent {
    /// Its size as PutLogEvents counts it.
    pub fn size(&self) -> usize {
        self.message.len() + 26
    }
}

impl LogGroup {
    /// Events a group keeps at most (the oldest go first)...
    pub const MAX_EVENTS: usize = 10_000;
    /// ... and the bytes of events (the group is one record of the store,
    /// written whole on every change).
    pub const MAX_BYTES: usize = 1 << 20;

    /// Adds a chronological batch to stream `name` (which must exist),
    /// keeping the stream in timestamp order and the group within its
    /// bounds.
    pub fn append(&mut self, name: &str, batch: Vec<LogEvent>, now_ms: i64) {
        let Some(stream) = self.streams.get_mut(name) else {
            return;
        };
        let in_order = match (stream.events.back(), batch.first()) {
            (Some(last), Some(first)) => last.timestamp <= first.timestamp,
            _ => true,
        };
        if in_order {
            stream.events.extend(batch);
        } else {
            // An earlier batch: merge, each batch keeping its own order.
            let mut all: Vec<LogEvent> = stream.events.drain(..).chain(batch).collect();
            all.sort_by_key(|e| e.timestamp);
            stream.events = all.into();
        }
        stream.last_ingestion_time = now_ms;
        stream.batches += 1;
        self.trim();
    }

    /// Drops the oldest events of the group until it is within its bounds.
    fn trim(&mut self) {
        let mut count: usize = self.streams.values().map(|s| s.events.len()).sum();
        let mut bytes: usize = self
            .streams
            .values()
            .flat_map(|s| s.events.iter())
            .map(LogEvent::size)
            .sum();
        while count > Self::MAX_EVENTS || bytes > Self::MAX_BYTES {
            let oldest = self
                .streams
                .values_mut()
                .filter(|s| !s.events.is_empty())
                .min_by_key(|s| s.events.front().map_or(i64::MAX, |e| e.timestamp));
            match oldest.and_then(|s| s.events.pop_front()) {
                Some(e) => {
                    count -= 1;
                    bytes -= e.size();
                }
                None => break,
            }
        }
    }

    /// Forgets events older than `cutoff_ms` (retention).
    pub fn expire(&mut self, cutoff_ms: i64) {
        for s in self.streams.values_mut() {
            while s.events.front().is_some_and(|e| e.timestamp < cutoff_ms) {
                s.events.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, msg: &str) -> LogEvent {
        LogEvent {
            timestamp: ts,
            ingestion_time: ts,
            message: msg.into(),
        }
    }

    #[test]
    fn batches_merge_in_timestamp_order_and_the_group_stays_bounded() {
        let mut g = LogGroup::default();
        g.streams.insert("a".into(), LogStream::default());
        g.streams.insert("b".into(), LogStream::default());
        g.append("a", vec![ev(10, "x"), ev(20, "y")], 1);
        g.append("a", vec![ev(5, "w"), ev(15, "z")], 2);
        let ts: Vec<i64> = g.streams["a"].events.iter().map(|e| e.timestamp).collect();
        assert_eq!(ts, vec![5, 10, 15, 20]);
        assert_eq!(g.streams["a"].batches, 2);
        // Past the bound the oldest events of the group go, whichever stream.
        let many: Vec<LogEvent> = (100..100 + LogGroup::MAX_EVENTS as i64)
            .map(|t| ev(t, "m"))
            .collect();
        g.append("b", many, 3);
        assert!(g.streams["a"].events.is_empty());
        assert_eq!(g.streams["b"].events.len(), LogGroup::MAX_EVENTS);
        let big = "x".repeat(600 << 10);
        g.append("a", vec![ev(1 << 40, &big), ev((1 << 40) + 1, &big)], 4);
        let bytes: usize = g
            .streams
            .values()
            .flat_map(|s| s.events.iter())
            .map(LogEvent::size)
            .sum();
        assert!(bytes <= LogGroup::MAX_BYTES, "{bytes}");
        assert_eq!(g.streams["a"].events.len(), 1);
    }
}
