//! Reading events: GetLogEvents (one stream, forward and backward tokens)
//! and FilterLogEvents (a group's streams, by pattern, paginated).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::pattern::Pattern;
use super::view::Ev;
use super::{invalid, Logs, LogsError, Query};
use crate::page;

/// A stable number for a stream name (part of FilterLogEvents' event ids).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every event's position (ms, n): the n-th event of its millisecond.
fn positioned(events: Vec<Ev>) -> Vec<((i64, usize), Ev)> {
    let mut out: Vec<((i64, usize), Ev)> = Vec::with_capacity(events.len());
    for e in events {
        let n = match out.last() {
            Some(((ms, n), _)) if *ms == e.timestamp => n + 1,
            _ => 0,
        };
        out.push(((e.timestamp, n), e));
    }
    out
}

impl Logs {
    pub(super) async fn get_log_events(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.group_name()?;
        let name = q
            .log_stream_name
            .clone()
            .ok_or_else(|| invalid("logStreamName is required."))?;
        let limit = q.limit(10_000, 10_000)?;
        let view = self.group(&g).ok_or(LogsError::GroupNotFound)?;
        let s = self
            .streams(&view)
            .remove(&name)
            .ok_or(LogsError::StreamNotFound)?;
        // Every event has a position (ms, n). Tokens are `f/<ms>/<n>` (the
        // next page starts after that event) and `b/<ms>/<n>` (it ends
        // before it); a page with nothing new repeats the token, which ends
        // the CLI's pagination.
        let parse = |t: &str| -> Option<(i64, usize)> {
            let (ms, n) = t.split_once('/')?;
            Some((ms.parse().ok()?, n.parse().ok()?))
        };
        let (after, before) = match q.next_token.as_deref().filter(|t| !t.is_empty()) {
            None => (None, None),
            Some(t) => match (t.strip_prefix("f/"), t.strip_prefix("b/")) {
                (Some(f), _) => (Some(parse(f).ok_or_else(bad_token)?), None),
                (_, Some(b)) => (None, Some(parse(b).ok_or_else(bad_token)?)),
                _ => return Err(bad_token()),
            },
        };
        let from = q.start_time.unwrap_or(0).max(after.map_or(0, |(ms, _)| ms));
        let mut lines = positioned(self.events(&s, from).await);
        lines.retain(|(pos, e)| {
            q.end_time.is_none_or(|end| e.timestamp < end)
                && after.is_none_or(|a| *pos > a)
                && before.is_none_or(|b| *pos < b)
        });
        if lines.len() > limit {
            if q.start_from_head.unwrap_or(false) || after.is_some() {
                lines.truncate(limit);
            } else {
                lines.drain(..lines.len() - limit);
            }
        }
        let forward = lines
            .last()
            .map(|((ms, n), _)| format!("f/{ms}/{n}"))
            .or_else(|| q.next_token.clone().filter(|t| t.starts_with("f/")))
            .unwrap_or_else(|| format!("f/{}/0", from.max(1) - 1));
        let backward = lines
            .first()
            .map(|((ms, n), _)| format!("b/{ms}/{n}"))
            .or_else(|| q.next_token.clone().filter(|t| t.starts_with("b/")))
            .unwrap_or_else(|| "b/0/0".into());
        let events: Vec<Value> = lines
            .iter()
            .map(|(_, e)| {
                json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time})
            })
            .collect();
        Ok(json!({"events": events, "nextForwardToken": forward, "nextBackwardToken": backward}))
    }

    pub(super) async fn filter_log_events(&self, q: &Query) -> Result<Value, LogsError> {
        let g = q.group_name()?;
        if q.log_stream_names.is_some() && q.log_stream_name_prefix.is_some() {
            return Err(invalid(
                "You cannot specify both logStreamNames and logStreamNamePrefix.",
            ));
        }
        let limit = q.limit(10_000, 10_000)?;
        let pattern = q.filter_pattern.as_deref().map(parse_pattern).transpose()?;
        let view = self.group(&g).ok_or(LogsError::GroupNotFound)?;
        let names: Option<BTreeSet<String>> =
            q.log_stream_names.clone().map(|v| v.into_iter().collect());
        let prefix = q.log_stream_name_prefix.clone().unwrap_or_default();
        let start = q.start_time.unwrap_or(0);
        // Ordered by (time, stream, n-th event of that stream's
        // millisecond): a position stays put while pages are read.
        let mut items: Vec<((i64, String, usize), Value)> = Vec::new();
        let mut searched = Vec::new();
        for s in self.streams(&view).into_values() {
            if names.as_ref().is_some_and(|n| !n.contains(&s.name)) || !s.name.starts_with(&prefix)
            {
                continue;
            }
            let id = fnv(&s.name) % 10_000_000_000;
            for ((ms, n), e) in positioned(self.events(&s, start).await) {
                if q.end_time.is_some_and(|end| ms >= end)
                    || pattern
                        .as_ref()
                        .is_some_and(|p| p.matches(&e.message).is_none())
                {
                    continue;
                }
                let v = json!({
                    "logStreamName": s.name,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                    "eventId": format!("{ms:020}{id:010}{n:06}"),
                });
                items.push(((ms, s.name.clone(), n), v));
            }
            searched.push(json!({"logStreamName": s.name, "searchedCompletely": true}));
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (events, next) = page::page(
            "FilterLogEvents",
            items,
            q.next_token.as_deref(),
            limit,
            false,
        )
        .map_err(|()| bad_token())?;
        let mut reply = json!({"events": events, "searchedLogStreams": searched});
        if let Some(t) = next {
            reply["nextToken"] = json!(t);
        }
        Ok(reply)
    }
}

/// A filter pattern, or InvalidParameterException saying what is wrong.
pub(super) fn parse_pattern(p: &str) -> Result<Pattern, LogsError> {
    Pattern::parse(p).map_err(|e| invalid(format!("Invalid filter pattern: {e}")))
}

fn bad_token() -> LogsError {
    invalid("The specified nextToken is invalid.")
}
