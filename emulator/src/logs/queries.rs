//! Logs Insights queries: StartQuery runs the query (see [`super::insights`])
//! over the events of its groups in its time range at once, so a query is
//! `Complete` when GetQueryResults first asks; StopQuery, DescribeQueries.
//! The newest queries are kept in memory, bounded ([`MAX_QUERIES`]).

use std::collections::VecDeque;

use base64::Engine as _;
use serde_json::{json, Value};

use super::insights::{json_fields, Query as Insights, Record, Val};
use super::{group_from_arn, invalid, now_ms, paged, Logs, LogsError, Query};

/// Queries kept for GetQueryResults and DescribeQueries.
pub(super) const MAX_QUERIES: usize = 100;
/// Groups one query may read.
const MAX_GROUPS: usize = 50;
/// Rows a query returns at most (StartQuery's default `limit`).
const MAX_ROWS: usize = 10_000;

/// One query and what it gave.
#[derive(Debug, Clone)]
pub(super) struct QueryRun {
    seq: u64,
    id: String,
    query_string: String,
    groups: Vec<String>,
    create_time: i64,
    duration_ms: i64,
    status: &'static str,
    rows: Vec<Vec<(String, String)>>,
    matched: usize,
    scanned: usize,
    bytes: usize,
}

/// The queries kept, oldest first.
#[derive(Debug, Default)]
pub struct QueryLog {
    runs: VecDeque<QueryRun>,
    seq: u64,
}

fn ptr(group: &str, stream: &str, ms: i64, n: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{group}\n{stream}\n{ms}\n{n}"))
}

impl Logs {
    fn query_groups(&self, q: &Query) -> Result<Vec<String>, LogsError> {
        let given = [
            q.log_group_name.is_some(),
            q.log_group_names.is_some(),
            q.log_group_identifiers.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(invalid(
                "Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be \
                 specified.",
            ));
        }
        let names: Vec<String> = if let Some(g) = &q.log_group_name {
            vec![g.clone()]
        } else if let Some(list) = &q.log_group_names {
            list.clone()
        } else {
            q.log_group_identifiers
                .iter()
                .flatten()
                .map(|id| group_from_arn(id).unwrap_or(id).to_string())
                .collect()
        };
        if names.is_empty() || names.len() > MAX_GROUPS {
            return Err(invalid(format!(
                "A query reads 1 to {MAX_GROUPS} log groups."
            )));
        }
        for g in &names {
            if self.group(g).is_none() {
                return Err(LogsError::NotFound(format!(
                    "Log group '{g}' does not exist"
                )));
            }
        }
        Ok(names)
    }

    /// Every event of `groups` in `[from_ms, to_ms)`, as query records.
    async fn records(&self, groups: &[String], from_ms: i64, to_ms: i64) -> (Vec<Record>, usize) {
        let account = self.engine.config().partition.account.clone();
        let mut out = Vec::new();
        let mut bytes = 0;
        for g in groups {
            let Some(view) = self.group(g) else {
                continue;
            };
            for s in self.streams(&view).into_values() {
                let mut last = (i64::MIN, 0usize);
                for e in self.events(&s, from_ms).await {
                    let n = if e.timestamp == last.0 { last.1 + 1 } else { 0 };
                    last = (e.timestamp, n);
                    if e.timestamp >= to_ms {
                        continue;
                    }
                    bytes += e.message.len();
                    let mut r = Record::new();
                    json_fields(&e.message, &mut r);
                    r.insert("@timestamp".into(), Val::Time(e.timestamp));
                    r.insert("@ingestionTime".into(), Val::Time(e.ingestion_time));
                    r.insert("@logStream".into(), Val::Str(s.name.clone()));
                    r.insert("@log".into(), Val::Str(format!("{account}:{g}")));
                    r.insert("@ptr".into(), Val::Str(ptr(g, &s.name, e.timestamp, n)));
                    r.insert("@message".into(), Val::Str(e.message));
                    out.push(r);
                }
            }
        }
        // Oldest first, as events arrive.
        out.sort_by(|a, b| {
            let t = |r: &Record| match r.get("@timestamp") {
                Some(Val::Time(ms)) => *ms,
                _ => 0,
            };
            t(a).cmp(&t(b))
        });
        (out, bytes)
    }

    pub(super) async fn start_query(&self, q: &Query) -> Result<Value, LogsError> {
        if let Some(lang) = q.query_language.as_deref().filter(|l| *l != "CWLI") {
            return Err(invalid(format!(
                "queryLanguage {lang} is not supported by this emulator; use CWLI."
            )));
        }
        let text = q
            .query_string
            .clone()
            .ok_or_else(|| invalid("queryString is required."))?;
        if text.chars().count() > 10_000 {
            return Err(invalid("queryString must have at most 10000 characters."));
        }
        let (start, end) = match (q.start_time, q.end_time) {
            (Some(s), Some(e)) => (s, e),
            _ => return Err(invalid("startTime and endTime are required.")),
        };
        if start < 0 || end < start {
            return Err(invalid(
                "endTime must be at or after startTime, both 0 or more.",
            ));
        }
        let limit = match q.limit {
            None => MAX_ROWS,
            Some(n) if (1..=100_000).contains(&n) => (n as usize).min(MAX_ROWS),
            Some(n) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{n}' at 'limit' failed to satisfy \
                     constraint: Member must have value between 1 and 100000"
                )))
            }
        };
        let parsed = Insights::parse(&text).map_err(|m| LogsError::MalformedQuery(m.0))?;
        let groups = self.query_groups(q)?;
        let began = std::time::Instant::now();
        let create_time = now_ms();
        // Seconds, both ends included.
        let (records, bytes) = self
            .records(
                &groups,
                start.saturating_mul(1000),
                end.saturating_add(1).saturating_mul(1000),
            )
            .await;
        let scanned = records.len();
        let outcome = parsed.run(records, limit);
        let id = uuid::Uuid::new_v4().to_string();
        let mut log = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        log.seq += 1;
        let run = QueryRun {
            seq: log.seq,
            id: id.clone(),
            query_string: text,
            groups,
            create_time,
            duration_ms: began.elapsed().as_millis() as i64,
            status: "Complete",
            rows: outcome.rows,
            matched: outcome.matched,
            scanned,
            bytes,
        };
        log.runs.push_back(run);
        while log.runs.len() > MAX_QUERIES {
            log.runs.pop_front();
        }
        Ok(json!({ "queryId": id }))
    }

    fn query_run(&self, q: &Query) -> Result<QueryRun, LogsError> {
        let id = q
            .query_id
            .as_deref()
            .ok_or_else(|| invalid("queryId is required."))?;
        let log = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        log.runs
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(|| LogsError::NotFound(format!("Query {id} does not exist.")))
    }

    pub(super) fn get_query_results(&self, q: &Query) -> Result<Value, LogsError> {
        let run = self.query_run(q)?;
        let max = match q.max_items {
            None => MAX_ROWS,
            Some(n) if (1..=MAX_ROWS as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(invalid(format!(
                    "maxItems must be between 1 and {MAX_ROWS}, not {n}."
                )))
            }
        };
        let items: Vec<(usize, Value)> = run
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let row: Vec<Value> = row
                    .iter()
                    .map(|(f, v)| json!({"field": f, "value": v}))
                    .collect();
                (i, Value::Array(row))
            })
            .collect();
        let mut reply = paged("GetQueryResults", "results", items, q, max, false)?;
        reply["queryLanguage"] = json!("CWLI");
        reply["statistics"] = json!({
            "recordsMatched": run.matched as f64,
            "recordsScanned": run.scanned as f64,
            "estimatedRecordsSkipped": 0.0,
            "bytesScanned": run.bytes as f64,
            "estimatedBytesSkipped": 0.0,
            "logGroupsScanned": run.groups.len() as f64,
        });
        reply["status"] = json!(run.status);
        Ok(reply)
    }

    pub(super) fn stop_query(&self, q: &Query) -> Result<Value, LogsError> {
        let run = self.query_run(q)?;
        if !["Scheduled", "Running"].contains(&run.status) {
            return Err(invalid(format!(
                "Query {} is not running: its status is {}.",
                run.id, run.status
            )));
        }
        let mut log = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = log.runs.iter_mut().find(|r| r.id == run.id) {
            r.status = "Cancelled";
        }
        Ok(json!({ "success": true }))
    }

    pub(super) fn describe_queries(&self, q: &Query) -> Result<Value, LogsError> {
        let max = match q.max_results {
            None => 1000,
            Some(n) if (1..=1000).contains(&n) => n as usize,
            Some(n) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy \
                     constraint: Member must have value between 1 and 1000"
                )))
            }
        };
        const STATUSES: &[&str] = &[
            "Scheduled",
            "Running",
            "Complete",
            "Failed",
            "Cancelled",
            "Timeout",
            "Unknown",
        ];
        if let Some(s) = q.status.as_deref().filter(|s| !STATUSES.contains(s)) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{s}' at 'status' failed to satisfy \
                 constraint: Member must satisfy enum value set: {STATUSES:?}"
            )));
        }
        if let Some(g) = &q.log_group_name {
            if self.group(g).is_none() {
                return Err(LogsError::GroupNotFound);
            }
        }
        let log = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        // Newest first.
        let items: Vec<(u64, Value)> = log
            .runs
            .iter()
            .rev()
            .filter(|r| q.status.as_deref().is_none_or(|s| s == r.status))
            .filter(|r| {
                q.log_group_name
                    .as_ref()
                    .is_none_or(|g| r.groups.contains(g))
            })
            .filter(|_| q.query_language.as_deref().is_none_or(|l| l == "CWLI"))
            .map(|r| {
                let v = json!({
                    "queryLanguage": "CWLI",
                    "queryId": r.id,
                    "queryString": r.query_string,
                    "status": r.status,
                    "createTime": r.create_time,
                    "logGroupName": r.groups.first(),
                    "queryDuration": r.duration_ms,
                    "bytesScanned": r.bytes as f64,
                });
                (r.seq, v)
            })
            .collect();
        drop(log);
        paged("DescribeQueries", "queries", items, q, max, true)
    }
}
