//! Log streams: create, delete, describe, and PutLogEvents.

use serde_json::{json, Value};

use super::view::{group_in, record_mut, streams_in, StreamView};
use super::{invalid, now_ms, Logs, LogsError, Query};
use crate::model::logs::{LogEvent, LogStream};
use crate::page;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The largest PutLogEvents batch: messages' bytes plus 26 per event.
const MAX_BATCH_BYTES: usize = 1_048_576;
const MAX_BATCH_EVENTS: usize = 10_000;
/// Deleted container streams remembered per group, at most.
const MAX_DELETED_STREAMS: usize = 10_000;

fn valid_stream_name(name: &str) -> Result<(), LogsError> {
    if name.is_empty() || name.len() > 512 || name.contains([':', '*']) {
        return Err(invalid(format!(
            "Invalid log stream name '{name}': 1 to 512 characters, no ':' or '*'"
        )));
    }
    Ok(())
}

fn stream_name(q: &Query) -> Result<String, LogsError> {
    q.log_stream_name
        .clone()
        .ok_or_else(|| invalid("logStreamName is required."))
}

/// What PutLogEvents does with a chronological batch: the events it keeps
/// and `rejectedLogEventsInfo` for the others.
fn accept(batch: &[LogEvent], now: i64, retention_floor: i64) -> (Vec<LogEvent>, Option<Value>) {
    let too_old = batch
        .iter()
        .take_while(|e| e.timestamp < now - 14 * DAY_MS)
        .count();
    let expired = batch
        .iter()
        .take_while(|e| e.timestamp < retention_floor)
        .count();
    let too_new = batch
        .iter()
        .position(|e| e.timestamp > now + 2 * HOUR_MS)
        .unwrap_or(batch.len());
    let start = too_old.max(expired).min(too_new);
    let kept = batch[start..too_new].to_vec();
    let mut info = serde_json::Map::new();
    if too_old > 0 {
        info.insert("tooOldLogEventEndIndex".into(), json!(too_old));
    }
    if expired > 0 {
        info.insert("expiredLogEventEndIndex".into(), json!(expired));
    }
    if too_new < batch.len() {
        info.insert("tooNewLogEventStartIndex".into(), json!(too_new));
    }
    (kept, (!info.is_empty()).then_some(Value::Object(info)))
}

/// The sequence token AWS still returns (and no longer checks).
fn sequence_token(batches: i64) -> String {
    format!("{:056}", batches.max(0))
}

impl Logs {
    pub(super) async fn create_log_stream(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.group_name()?;
        let name = stream_name(q)?;
        valid_stream_name(&name)?;
        let now = now_ms();
        self.engine
            .update_state(|s| {
                let view = group_in(s, &g).ok_or(LogsError::GroupNotFound)?;
                if streams_in(s, &view, now).contains_key(&name) {
                    return Err(LogsError::StreamExists);
                }
                record_mut(s, &view).streams.insert(
                    name.clone(),
                    LogStream {
                        creation_time: now,
                        ..Default::default()
                    },
                );
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }

    pub(super) async fn delete_log_stream(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.group_name()?;
        let name = stream_name(q)?;
        let now = now_ms();
        self.engine
            .update_state(|s| {
                let view = group_in(s, &g).ok_or(LogsError::GroupNotFound)?;
                let stream = streams_in(s, &view, now)
                    .remove(&name)
                    .ok_or(LogsError::StreamNotFound)?;
                let r = record_mut(s, &view);
                r.streams.remove(&name);
                if stream.container.is_some() {
                    r.deleted_streams.insert(name.clone(), now);
                    while r.deleted_streams.len() > MAX_DELETED_STREAMS {
                        let oldest = r
                            .deleted_streams
                            .iter()
                            .min_by_key(|(_, at)| **at)
                            .map(|(k, _)| k.clone());
                        match oldest {
                            Some(k) => r.deleted_streams.remove(&k),
                            None => break,
                        };
                    }
                }
                Ok::<(), LogsError>(())
            })
            .await??;
        Ok(json!({}))
    }

    pub(super) async fn describe_log_streams(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.group_name()?;
        let by_time = match q.order_by.as_deref().unwrap_or("LogStreamName") {
            "LogStreamName" => false,
            "LastEventTime" => true,
            other => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy \
                     constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
                )))
            }
        };
        if by_time && q.log_stream_name_prefix.is_some() {
            return Err(invalid(
                "Cannot order by LastEventTime with a logStreamNamePrefix.",
            ));
        }
        let limit = q.limit(50, 50)?;
        let descending = q.descending.unwrap_or(false);
        let view = self.group(&g).ok_or(LogsError::GroupNotFound)?;
        let prefix = q.log_stream_name_prefix.clone().unwrap_or_default();
        let p = self.engine.config().partition.clone();
        let mut items: Vec<((i64, String), Value)> = Vec::new();
        for s in self.streams(&view).into_values() {
            if !s.name.starts_with(&prefix) {
                continue;
            }
            let (v, last) = self.stream_json(&p, &view.name, &s).await;
            let key = if by_time { last.unwrap_or(0) } else { 0 };
            items.push(((key, s.name), v));
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        if descending {
            items.reverse();
        }
        let kind = format!("DescribeLogStreams/{by_time}/{descending}");
        let (streams, next) = page::page(&kind, items, q.next_token.as_deref(), limit, descending)
            .map_err(|()| invalid("The specified nextToken is invalid."))?;
        let mut reply = json!({ "logStreams": streams });
        if let Some(t) = next {
            reply["nextToken"] = json!(t);
        }
        Ok(reply)
    }

    /// A stream as DescribeLogStreams shows it, and its last event's time.
    async fn stream_json(
        &self,
        p: &crate::model::arn::Partition,
        group: &str,
        s: &StreamView,
    ) -> (Value, Option<i64>) {
        let events = self.events(s, 0).await;
        let batches = s.stored.as_ref().map_or(0, |st| st.batches);
        let mut v = json!({
            "logStreamName": s.name,
            "creationTime": s.creation_time,
            "arn": p.log_stream(group, &s.name),
            "uploadSequenceToken": sequence_token(batches + 1),
            "storedBytes": 0,
        });
        let first = events.first().map(|e| e.timestamp);
        let last = events.last().map(|e| e.timestamp);
        if let (Some(first), Some(last)) = (first, last) {
            v["firstEventTimestamp"] = json!(first);
            v["lastEventTimestamp"] = json!(last);
            let ingested = events
                .iter()
                .map(|e| e.ingestion_time)
                .max()
                .unwrap_or(last);
            v["lastIngestionTime"] = json!(ingested);
        }
        (v, last)
    }

    pub(super) async fn put_log_events(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.group_name()?;
        let name = stream_name(q)?;
        let input = q.log_events.clone().unwrap_or_default();
        if input.is_empty() || input.len() > MAX_BATCH_EVENTS {
            return Err(invalid(format!(
                "logEvents must hold 1 to {MAX_BATCH_EVENTS} events."
            )));
        }
        let now = now_ms();
        let batch: Vec<LogEvent> = input
            .into_iter()
            .map(|e| LogEvent {
                timestamp: e.timestamp,
                ingestion_time: now,
                message: e.message,
            })
            .collect();
        if batch.iter().any(|e| e.message.is_empty()) {
            return Err(invalid("A log event's message must not be empty."));
        }
        let bytes: usize = batch.iter().map(LogEvent::size).sum();
        if bytes > MAX_BATCH_BYTES {
            return Err(invalid(format!(
                "The batch is {bytes} bytes; at most {MAX_BATCH_BYTES} are allowed \
                 (messages plus 26 bytes per event)."
            )));
        }
        if batch.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
            return Err(invalid(
                "Log events in a single PutLogEvents request must be in chronological order.",
            ));
        }
        let (token, rejected) = self
            .engine
            .update_state(|s| {
                let view = group_in(s, &g).ok_or(LogsError::GroupNotFound)?;
                let stream = streams_in(s, &view, now)
                    .remove(&name)
                    .ok_or(LogsError::StreamNotFound)?;
                let (kept, rejected) = accept(&batch, now, view.retention_floor(now));
                if let (Some(first), Some(last)) = (kept.first(), kept.last()) {
                    if last.timestamp - first.timestamp > DAY_MS {
                        return Err(invalid(
                            "The batch of log events in a single PutLogEvents request cannot \
                             span more than 24 hours.",
                        ));
                    }
                }
                let r = record_mut(s, &view);
                r.streams.entry(name.clone()).or_insert_with(|| LogStream {
                    creation_time: stream.creation_time,
                    ..Default::default()
                });
                if view.retention_in_days.is_some() {
                    r.expire(view.retention_floor(now));
                }
                super::metric_filters::count_matches(r, &kept);
                r.append(&name, kept, now);
                let batches = r.streams.get(&name).map_or(0, |st| st.batches);
                Ok((sequence_token(batches + 1), rejected))
            })
            .await??;
        let mut reply = json!({ "nextSequenceToken": token });
        if let Some(info) = rejected {
            reply["rejectedLogEventsInfo"] = info;
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64) -> LogEvent {
        LogEvent {
            timestamp: ts,
            ingestion_time: 0,
            message: "m".into(),
        }
    }

    #[test]
    fn too_old_expired_and_too_new_events_are_rejected_by_index() {
        let now = 100 * DAY_MS;
        let batch = vec![
            ev(now - 15 * DAY_MS),
            ev(now - 2 * DAY_MS),
            ev(now - 1000),
            ev(now),
            ev(now + 3 * HOUR_MS),
        ];
        let (kept, info) = accept(&batch, now, 0);
        assert_eq!(kept.len(), 3);
        let info = info.unwrap();
        assert_eq!(info["tooOldLogEventEndIndex"], 1);
        assert_eq!(info["tooNewLogEventStartIndex"], 4);
        assert!(info.get("expiredLogEventEndIndex").is_none());
        // A one-day retention: the two-day-old event has expired too.
        let (kept, info) = accept(&batch, now, now - DAY_MS);
        assert_eq!(kept.len(), 2);
        assert_eq!(info.unwrap()["expiredLogEventEndIndex"], 2);
        let (kept, info) = accept(&batch[2..4], now, 0);
        assert_eq!((kept.len(), info), (2, None));
    }

    #[test]
    fn stream_names_follow_the_cloudwatch_rules() {
        assert!(valid_stream_name("app/web/1").is_ok());
        assert!(valid_stream_name("a:b").is_err());
        assert!(valid_stream_name("a*").is_err());
        assert!(valid_stream_name("").is_err());
    }
}
