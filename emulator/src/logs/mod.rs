//! Container logs, as the `awslogs` driver would ship them to CloudWatch
//! Logs: the CloudWatch Logs API (`X-Amz-Target: Logs_20140328.<Op>`) over
//! the output Docker keeps for each container, and the lines a container
//! wrote before its task stopped (the engine archives them when it removes
//! the container, so a crashed task's last words stay readable).
//!
//! A container definition with `logConfiguration.logDriver` `awslogs`
//! writes to the group in `awslogs-group`, stream
//! `<awslogs-stream-prefix>/<container>/<task id>`, or without a prefix the
//! Docker container id, as ECS names them. Groups named by a registered task
//! definition exist (the emulator stands in for the console step of
//! creating them); CreateLogGroup adds others.

pub mod wire;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::ecs::Engine;
use crate::model::logs::LogGroup;
use crate::model::task::Task;
use crate::model::TaskDefinition;
use crate::runtime::LogLine;

/// The `X-Amz-Target` prefix of CloudWatch Logs.
pub const LOGS_PREFIX: &str = "Logs_20140328";

/// Lines kept per container (Docker's own files are capped too).
pub const TAIL: usize = 10_000;
/// Containers whose output is kept after they are removed...
const ARCHIVED_CONTAINERS: usize = 200;
/// ... and the bytes of output kept, at most.
const ARCHIVED_BYTES: usize = 32 << 20;

/// The output of removed containers, newest last, bounded.
#[derive(Debug, Default)]
pub struct LogArchive {
    entries: VecDeque<Archived>,
    bytes: usize,
}

fn size(lines: &[LogLine]) -> usize {
    lines.iter().map(|l| l.message.len() + 8).sum()
}

#[derive(Debug, Clone)]
struct Archived {
    task_arn: String,
    container: String,
    lines: Vec<LogLine>,
    bytes: usize,
}

impl LogArchive {
    pub fn push(&mut self, task_arn: &str, container: &str, mut lines: Vec<LogLine>) {
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.task_arn == task_arn && e.container == container)
        {
            if let Some(old) = self.entries.remove(i) {
                self.bytes -= old.bytes;
            }
        }
        // One container alone keeps at most the newest lines that fit.
        while size(&lines) > ARCHIVED_BYTES && !lines.is_empty() {
            let half = lines.len().div_ceil(2);
            lines.drain(..half);
        }
        let bytes = size(&lines);
        while self.entries.len() >= ARCHIVED_CONTAINERS || self.bytes + bytes > ARCHIVED_BYTES {
            match self.entries.pop_front() {
                Some(old) => self.bytes -= old.bytes,
                None => break,
            }
        }
        self.bytes += bytes;
        self.entries.push_back(Archived {
            task_arn: task_arn.to_string(),
            container: container.to_string(),
            lines,
            bytes,
        });
    }

    /// Bytes of output kept.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.bytes
    }

    fn get(&self, task_arn: &str, container: &str) -> Option<&[LogLine]> {
        self.entries
            .iter()
            .find(|e| e.task_arn == task_arn && e.container == container)
            .map(|e| e.lines.as_slice())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LogsError {
    #[error("The specified log group does not exist.")]
    GroupNotFound,
    #[error("The specified log stream does not exist.")]
    StreamNotFound,
    #[error("The specified log group already exists")]
    GroupExists,
    #[error("{0}")]
    InvalidParameter(String),
    #[error("Operation '{0}' is not supported by this emulator.")]
    UnknownOperation(String),
    #[error("the change could not be stored: {0}")]
    Store(String),
}

impl From<crate::db::DbError> for LogsError {
    fn from(e: crate::db::DbError) -> LogsError {
        LogsError::Store(e.to_string())
    }
}

impl LogsError {
    pub fn aws_type(&self) -> &'static str {
        match self {
            LogsError::GroupNotFound | LogsError::StreamNotFound => "ResourceNotFoundException",
            LogsError::GroupExists => "ResourceAlreadyExistsException",
            LogsError::InvalidParameter(_) => "InvalidParameterException",
            LogsError::UnknownOperation(_) => "UnknownOperationException",
            LogsError::Store(_) => "ServiceUnavailableException",
        }
    }

    /// A fault of the service, not of the request (HTTP 500).
    pub fn is_server(&self) -> bool {
        matches!(self, LogsError::Store(_))
    }
}

/// One container's place in CloudWatch Logs.
#[derive(Debug, Clone, PartialEq)]
struct Stream {
    group: String,
    name: String,
    task: Task,
    container: String,
    runtime_name: String,
}

/// A container definition's `awslogs` group and stream prefix, if it uses
/// that driver.
fn awslogs_options(c: &crate::model::ContainerDefinition) -> Option<(&str, Option<&str>)> {
    let cfg = c.log_configuration.as_ref()?;
    if cfg.get("logDriver").and_then(Value::as_str) != Some("awslogs") {
        return None;
    }
    let options = cfg.get("options")?;
    let group = options.get("awslogs-group")?.as_str()?;
    let prefix = options.get("awslogs-stream-prefix").and_then(Value::as_str);
    Some((group, prefix))
}

/// The definition a task runs, found in `state` (no lock taken).
fn definition_in<'a>(state: &'a crate::db::State, task: &Task) -> Option<&'a TaskDefinition> {
    let (family, revision) = crate::model::arn::task_definition_ref(&task.task_definition_arn);
    state.task_definition(&family, revision?)
}

/// The `awslogs` group and stream of container `name` of `task`, if it
/// logs there.
fn awslogs_stream(task: &Task, def: &TaskDefinition, name: &str) -> Option<(String, String)> {
    let (group, prefix) = awslogs_options(def.container(name)?)?;
    let group = group.to_string();
    let stream = match prefix {
        Some(prefix) => format!("{prefix}/{name}/{}", task.id()),
        None => task
            .containers
            .iter()
            .find(|c| c.name == name)?
            .runtime_id
            .clone()?,
    };
    Some((group, stream))
}

/// A line with where it came from, as FilterLogEvents and the CLI show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub stream: String,
    pub line: LogLine,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Query {
    log_group_name: Option<String>,
    log_group_name_prefix: Option<String>,
    log_stream_name: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    limit: Option<usize>,
    start_from_head: Option<bool>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
}

/// Does `message` match a CloudWatch filter pattern? Supported: terms that
/// must all appear, `"quoted phrases"`, and `-term` exclusions
/// (case-sensitive, as CloudWatch matches).
fn matches_pattern(pattern: &str, message: &str) -> bool {
    let mut rest = pattern.trim();
    while !rest.is_empty() {
        let (term, tail) = if let Some(q) = rest.strip_prefix('"') {
            match q.split_once('"') {
                Some((phrase, tail)) => (phrase.to_string(), tail),
                None => (q.to_string(), ""),
            }
        } else {
            match rest.split_once(char::is_whitespace) {
                Some((t, tail)) => (t.to_string(), tail),
                None => (rest.to_string(), ""),
            }
        };
        rest = tail.trim_start();
        if let Some(excluded) = term.strip_prefix('-').filter(|t| !t.is_empty()) {
            if message.contains(excluded) {
                return false;
            }
        } else if !term.is_empty() && !message.contains(term.as_str()) {
            return false;
        }
    }
    true
}

/// CloudWatch Logs over the engine's tasks.
#[derive(Clone)]
pub struct Logs {
    engine: Engine,
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl Logs {
    pub fn new(engine: Engine) -> Logs {
        Logs { engine }
    }

    /// Every group: created ones and those task definitions name.
    fn groups(&self) -> BTreeMap<String, i64> {
        self.engine.read(|st| {
            let mut groups: BTreeMap<String, i64> = st
                .log_groups
                .values()
                .map(|g| (g.log_group_name.clone(), g.creation_time))
                .collect();
            for def in st.task_definitions.values() {
                for c in &def.container_definitions {
                    if let Some((g, _)) = awslogs_options(c) {
                        let at = def.registered_at.map_or(0, |t| (t * 1000.0) as i64);
                        groups.entry(g.to_string()).or_insert(at);
                    }
                }
            }
            groups
        })
    }

    fn streams(&self, group: &str) -> Vec<Stream> {
        let mut out = Vec::new();
        self.engine.read(|st| {
            for task in st.tasks.values() {
                let Some(def) = definition_in(st, task) else {
                    continue;
                };
                for c in &def.container_definitions {
                    if let Some((g, name)) = awslogs_stream(task, def, &c.name) {
                        if g == group {
                            out.push(Stream {
                                group: g,
                                name,
                                runtime_name: Engine::runtime_name(task, def, &c.name),
                                container: c.name.clone(),
                                task: task.clone(),
                            });
                        }
                    }
                }
            }
        });
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// A container's lines since `since_ms`: from Docker while the
    /// container exists, else from the archive.
    async fn lines(
        &self,
        task: &Task,
        container: &str,
        runtime_name: &str,
        since_ms: i64,
    ) -> Vec<LogLine> {
        // A removed container's lines are in the archive: no Docker call
        // for it (`logs -f` asks about every past task each second).
        let archived = |since_ms: i64| {
            self.engine
                .log_archive()
                .get(&task.task_arn, container)
                .map(|l| {
                    l.iter()
                        .filter(|l| l.timestamp_ms >= since_ms)
                        .cloned()
                        .collect::<Vec<_>>()
                })
        };
        if let Some(lines) = archived(since_ms) {
            return lines;
        }
        if task.status() == crate::model::TaskStatus::Stopped {
            return Vec::new();
        }
        self.engine
            .runtime()
            .logs(runtime_name, since_ms, TAIL)
            .await
            .unwrap_or_default()
    }

    /// Every line of the tasks' containers since `since_ms`, oldest first,
    /// each named `<container>/<task id>` (the CLI's `emulator logs`).
    pub async fn task_events(&self, tasks: &[Task], since_ms: i64) -> Vec<Event> {
        // (task, container, runtime name), read in one go.
        let containers: Vec<(&Task, String, String)> = self.engine.read(|st| {
            tasks
                .iter()
                .filter_map(|t| Some((t, definition_in(st, t)?)))
                .flat_map(|(t, def)| {
                    def.container_definitions
                        .iter()
                        .map(move |c| (t, c.name.clone(), Engine::runtime_name(t, def, &c.name)))
                })
                .collect()
        });
        let mut events = Vec::new();
        for (task, container, runtime_name) in containers {
            let stream = format!("{container}/{}", task.id());
            for line in self.lines(task, &container, &runtime_name, since_ms).await {
                events.push(Event {
                    stream: stream.clone(),
                    line,
                });
            }
        }
        events.sort_by_key(|e| e.line.timestamp_ms);
        events
    }

    fn group_or_err(&self, q: &Query) -> Result<String, LogsError> {
        let g = q
            .log_group_name
            .clone()
            .ok_or_else(|| LogsError::InvalidParameter("logGroupName is required.".into()))?;
        if self.groups().contains_key(&g) {
            Ok(g)
        } else {
            Err(LogsError::GroupNotFound)
        }
    }

    fn group_arn(&self, g: &str) -> String {
        self.engine.config().partition.log_group(g)
    }

    /// One CloudWatch Logs operation.
    pub async fn handle(&self, operation: &str, body: &Value) -> Result<Value, LogsError> {
        let q: Query = serde_json::from_value(body.clone())
            .map_err(|e| LogsError::InvalidParameter(format!("Invalid request: {e}")))?;
        match operation {
            "CreateLogGroup" => {
                let g = q.log_group_name.clone().unwrap_or_default();
                if g.is_empty()
                    || g.len() > 512
                    || !g
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c))
                {
                    return Err(LogsError::InvalidParameter(format!(
                        "Invalid log group name '{g}': 1 to 512 letters, digits and _-/.#"
                    )));
                }
                if self.groups().contains_key(&g) {
                    return Err(LogsError::GroupExists);
                }
                let group = LogGroup {
                    log_group_name: g.clone(),
                    creation_time: now_ms(),
                    retention_in_days: None,
                };
                // Durable before the answer, like every other resource.
                self.engine
                    .update_state(|s| s.log_groups.insert(g, group))
                    .await?;
                Ok(json!({}))
            }
            "DeleteLogGroup" => {
                let g = q.log_group_name.clone().unwrap_or_default();
                // Released before `groups()` takes the lock again.
                let removed = self
                    .engine
                    .update_state(|s| s.log_groups.remove(&g))
                    .await?;
                match removed {
                    Some(_) => Ok(json!({})),
                    None if self.groups().contains_key(&g) => Err(LogsError::InvalidParameter(
                        format!("Log group {g} is named by a registered task definition; deregister it first."),
                    )),
                    None => Err(LogsError::GroupNotFound),
                }
            }
            "DescribeLogGroups" => {
                let prefix = q.log_group_name_prefix.clone().unwrap_or_default();
                let groups: Vec<Value> = self
                    .groups()
                    .into_iter()
                    .filter(|(g, _)| g.starts_with(&prefix))
                    .map(|(g, at)| {
                        json!({"logGroupName": g, "arn": self.group_arn(&g), "creationTime": at, "storedBytes": 0})
                    })
                    .collect();
                Ok(json!({"logGroups": groups}))
            }
            "DescribeLogStreams" => {
                let g = self.group_or_err(&q)?;
                let prefix = q.log_stream_name_prefix.clone().unwrap_or_default();
                let p = &self.engine.config().partition;
                let streams: Vec<Value> = self
                    .streams(&g)
                    .into_iter()
                    .filter(|s| s.name.starts_with(&prefix))
                    .map(|s| {
                        let created = (s.task.created_at * 1000.0) as i64;
                        json!({
                            "logStreamName": s.name,
                            "creationTime": created,
                            "arn": p.log_stream(&s.group, &s.name),
                            "storedBytes": 0,
                        })
                    })
                    .collect();
                Ok(json!({"logStreams": streams}))
            }
            "GetLogEvents" => {
                let g = self.group_or_err(&q)?;
                let name = q.log_stream_name.clone().ok_or_else(|| {
                    LogsError::InvalidParameter("logStreamName is required.".into())
                })?;
                let s = self
                    .streams(&g)
                    .into_iter()
                    .find(|s| s.name == name)
                    .ok_or(LogsError::StreamNotFound)?;
                // Every line has a position (ms, n): the n-th line of its
                // millisecond. Tokens are `f/<ms>/<n>` (the next page starts
                // after that line) and `b/<ms>/<n>` (it ends before it); a
                // page with nothing new repeats the token, which ends the
                // CLI's pagination.
                let token = |prefix: &str| -> Option<(i64, usize)> {
                    let t = q.next_token.as_deref()?.strip_prefix(prefix)?;
                    let (ms, n) = t.split_once('/').unwrap_or((t, "0"));
                    Some((ms.parse().ok()?, n.parse().ok()?))
                };
                let (after, before) = (token("f/"), token("b/"));
                let from = q.start_time.unwrap_or(0).max(after.map_or(0, |(ms, _)| ms));
                let mut lines: Vec<((i64, usize), LogLine)> = Vec::new();
                for l in self
                    .lines(&s.task, &s.container, &s.runtime_name, from)
                    .await
                {
                    let n = match lines.last() {
                        Some(((ms, n), _)) if *ms == l.timestamp_ms => n + 1,
                        _ => 0,
                    };
                    lines.push(((l.timestamp_ms, n), l));
                }
                lines.retain(|(pos, l)| {
                    q.end_time.is_none_or(|e| l.timestamp_ms < e)
                        && after.is_none_or(|a| *pos > a)
                        && before.is_none_or(|b| *pos < b)
                });
                let limit = q.limit.unwrap_or(10_000).clamp(1, 10_000);
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
                let lines: Vec<LogLine> = lines.into_iter().map(|(_, l)| l).collect();
                let events: Vec<Value> = lines
                    .iter()
                    .map(|l| json!({"timestamp": l.timestamp_ms, "message": l.message, "ingestionTime": l.timestamp_ms}))
                    .collect();
                Ok(
                    json!({"events": events, "nextForwardToken": forward, "nextBackwardToken": backward}),
                )
            }
            "FilterLogEvents" => {
                let g = self.group_or_err(&q)?;
                let names: Option<BTreeSet<String>> =
                    q.log_stream_names.clone().map(|v| v.into_iter().collect());
                let prefix = q.log_stream_name_prefix.clone().unwrap_or_default();
                let start = q.start_time.unwrap_or(0);
                let mut events = Vec::new();
                let mut searched = Vec::new();
                for s in self.streams(&g) {
                    if names.as_ref().is_some_and(|n| !n.contains(&s.name))
                        || !s.name.starts_with(&prefix)
                    {
                        continue;
                    }
                    for l in self
                        .lines(&s.task, &s.container, &s.runtime_name, start)
                        .await
                    {
                        if q.end_time.is_some_and(|e| l.timestamp_ms >= e) {
                            continue;
                        }
                        if let Some(p) = &q.filter_pattern {
                            if !matches_pattern(p, &l.message) {
                                continue;
                            }
                        }
                        events.push(Event {
                            stream: s.name.clone(),
                            line: l,
                        });
                    }
                    searched.push(json!({"logStreamName": s.name, "searchedCompletely": true}));
                }
                events.sort_by_key(|e| e.line.timestamp_ms);
                events.truncate(q.limit.unwrap_or(10_000).clamp(1, 10_000));
                let events: Vec<Value> = events
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        json!({
                            "logStreamName": e.stream,
                            "timestamp": e.line.timestamp_ms,
                            "message": e.line.message,
                            "ingestionTime": e.line.timestamp_ms,
                            "eventId": format!("{}{:010}", e.line.timestamp_ms, i),
                        })
                    })
                    .collect();
                Ok(json!({"events": events, "searchedLogStreams": searched}))
            }
            other => Err(LogsError::UnknownOperation(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_patterns_match_terms_phrases_and_exclusions() {
        let m = "INFO request method=GET path=\"/start\" status=502";
        assert!(matches_pattern("", m));
        assert!(matches_pattern("status=502", m));
        assert!(matches_pattern("GET status=502", m));
        assert!(!matches_pattern("GET status=200", m));
        assert!(matches_pattern("\"method=GET path\"", m));
        assert!(!matches_pattern("\"GET method\"", m));
        assert!(!matches_pattern("GET -502", m));
        assert!(matches_pattern("GET -ERROR", m));
    }

    #[test]
    fn the_archive_keeps_the_newest_containers() {
        let mut a = LogArchive::default();
        for i in 0..(ARCHIVED_CONTAINERS + 5) {
            a.push(&format!("t{i}"), "c", vec![]);
        }
        assert!(a.get("t0", "c").is_none());
        assert!(a
            .get(&format!("t{}", ARCHIVED_CONTAINERS + 4), "c")
            .is_some());
        assert_eq!(a.entries.len(), ARCHIVED_CONTAINERS);
    }

    #[test]
    fn the_archive_is_bounded_in_bytes() {
        let line = |i: i64| LogLine {
            timestamp_ms: i,
            message: "x".repeat(1 << 20),
        };
        let mut a = LogArchive::default();
        for t in 0..40 {
            a.push(&format!("t{t}"), "c", vec![line(t)]);
            assert!(a.bytes() <= ARCHIVED_BYTES, "{}", a.bytes());
        }
        assert!(a.get("t39", "c").is_some() && a.get("t0", "c").is_none());
        // A single huge output keeps its newest lines.
        a.push("big", "c", (0..64).map(line).collect());
        let kept = a.get("big", "c").unwrap();
        assert!(!kept.is_empty() && kept.last().unwrap().timestamp_ms == 63);
        assert!(a.bytes() <= ARCHIVED_BYTES);
    }
}
