//! Container logs, as the `awslogs` driver would ship them to CloudWatch
//! Logs: the CloudWatch Logs API (`X-Amz-Target: Logs_20140328.<Op>`) over
//! the output Docker keeps for each container, the lines a container
//! wrote before its task stopped (the engine archives them when it removes
//! the container, so a crashed task's last words stay readable), and the
//! streams and events the API itself writes (`CreateLogStream`,
//! `PutLogEvents`), kept in the group's record.
//!
//! A container definition with `logConfiguration.logDriver` `awslogs`
//! writes to the group in `awslogs-group`, stream
//! `<awslogs-stream-prefix>/<container>/<task id>`, or without a prefix the
//! Docker container id, as ECS names them. Groups named by a registered task
//! definition exist (the emulator stands in for the console step of
//! creating them); CreateLogGroup adds others. DeleteLogGroup deletes
//! either kind with its events; a group a task definition names comes back
//! when a task definition naming it is registered again.
//!
//! A load balancer with access logs enabled (`access_logs.s3.enabled`)
//! has the group `/aws/elasticloadbalancing/app/<name>/access-logs`, one
//! stream per file the balancer wrote (named as the file), one event per
//! line at its `time` field (see [`crate::elbv2::access_logs`]); the group
//! is there while access logs are enabled.
//!
//! Layout: `view` reads groups, streams and events from the store;
//! `groups` (groups, retention, tags), `streams` (streams, PutLogEvents)
//! and `events` (GetLogEvents, FilterLogEvents) are the operations;
//! `page` makes the pagination tokens.

mod events;
mod groups;
mod insights;
mod metric_filters;
pub(crate) mod pattern;
mod policies;
mod queries;
pub(crate) mod regex;
mod streams;
mod subscriptions;
pub(crate) mod view;
pub mod wire;

use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::Value;

use crate::ecs::Engine;
use crate::model::task::Task;
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
    #[error("The specified log stream already exists")]
    StreamExists,
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    MalformedQuery(String),
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
            LogsError::GroupNotFound | LogsError::StreamNotFound | LogsError::NotFound(_) => {
                "ResourceNotFoundException"
            }
            LogsError::LimitExceeded(_) => "LimitExceededException",
            LogsError::MalformedQuery(_) => "MalformedQueryException",
            LogsError::GroupExists | LogsError::StreamExists => "ResourceAlreadyExistsException",
            LogsError::InvalidParameter(_) => "InvalidParameterException",
            LogsError::TooManyTags(_) => "TooManyTagsException",
            LogsError::UnknownOperation(_) => "UnknownOperationException",
            LogsError::Store(_) => "ServiceUnavailableException",
        }
    }

    /// A fault of the service, not of the request (HTTP 500).
    pub fn is_server(&self) -> bool {
        matches!(self, LogsError::Store(_))
    }
}

fn invalid(msg: impl Into<String>) -> LogsError {
    LogsError::InvalidParameter(msg.into())
}

/// A line with where it came from, as FilterLogEvents and the CLI show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub stream: String,
    pub line: LogLine,
}

/// One event of a PutLogEvents batch.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
struct InputEvent {
    timestamp: i64,
    message: String,
}

/// Every operation's parameters (each takes the ones it needs).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Query {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    log_stream_name: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    retention_in_days: Option<i64>,
    log_events: Option<Vec<InputEvent>>,
    /// A map (TagLogGroup, TagResource, CreateLogGroup) or a list of keys
    /// (UntagLogGroup).
    tags: Option<Value>,
    tag_keys: Option<Vec<String>>,
    resource_arn: Option<String>,
    filter_name: Option<String>,
    filter_name_prefix: Option<String>,
    metric_transformations: Option<Value>,
    metric_name: Option<String>,
    metric_namespace: Option<String>,
    log_event_messages: Option<Vec<String>>,
    destination_arn: Option<String>,
    role_arn: Option<String>,
    distribution: Option<String>,
    apply_on_transformed_logs: Option<bool>,
    field_selection_criteria: Option<String>,
    emit_system_fields: Option<Vec<String>>,
    emit_system_field_dimensions: Option<Vec<String>>,
    query_string: Option<String>,
    query_id: Option<String>,
    query_language: Option<String>,
    log_group_names: Option<Vec<String>>,
    log_group_identifiers: Option<Vec<String>>,
    max_items: Option<i64>,
    max_results: Option<i64>,
    status: Option<String>,
    log_group_class: Option<String>,
    policy_name: Option<String>,
    policy_document: Option<String>,
    policy_scope: Option<String>,
    expected_revision_id: Option<String>,
}

impl Query {
    /// The group named by `logGroupName` or `logGroupIdentifier` (a name
    /// or an ARN), exactly one of them.
    fn group_name(&self) -> Result<String, LogsError> {
        match (&self.log_group_name, &self.log_group_identifier) {
            (Some(_), Some(_)) => Err(invalid(
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            )),
            (Some(n), None) => Ok(n.clone()),
            (None, Some(id)) => Ok(group_from_arn(id).unwrap_or(id).to_string()),
            (None, None) => Err(invalid(
                "Either logGroupName or logGroupIdentifier must be specified.",
            )),
        }
    }

    /// `limit` within `1..=max` (AWS's constraint), else `default`.
    fn limit(&self, max: usize, default: usize) -> Result<usize, LogsError> {
        match self.limit {
            None => Ok(default),
            Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
            Some(n) => Err(invalid(format!(
                "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: \
                 Member must have value {}",
                if n < 1 {
                    "greater than or equal to 1".to_string()
                } else {
                    format!("less than or equal to {max}")
                }
            ))),
        }
    }
}

/// One page of `items` (in list order by key) as
/// `{"<field>": [...], "nextToken": ".."}`, the token only while more are
/// left; a token that is not one of this operation's is refused.
fn paged<K>(
    kind: &str,
    field: &str,
    items: Vec<(K, Value)>,
    q: &Query,
    limit: usize,
    descending: bool,
) -> Result<Value, LogsError>
where
    K: Ord + serde::Serialize + serde::de::DeserializeOwned,
{
    let (list, next) = crate::page::page(kind, items, q.next_token.as_deref(), limit, descending)
        .map_err(|()| invalid("The specified nextToken is invalid."))?;
    let mut reply = serde_json::json!({ field: list });
    if let Some(t) = next {
        reply["nextToken"] = serde_json::json!(t);
    }
    Ok(reply)
}

/// The group name in a log group ARN (`...:log-group:NAME` or
/// `...:log-group:NAME:*`).
fn group_from_arn(arn: &str) -> Option<&str> {
    if !arn.starts_with("arn:") {
        return None;
    }
    let (_, rest) = arn.split_once(":log-group:")?;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    (!name.is_empty() && !name.contains(':')).then_some(name)
}

/// CloudWatch Logs over the engine's tasks and the store.
#[derive(Clone)]
pub struct Logs {
    engine: Engine,
    /// Where load balancers write their access logs (see
    /// [`crate::elbv2::access_logs`]).
    access_logs: Option<std::path::PathBuf>,
    /// Logs Insights queries run, newest last (bounded).
    queries: std::sync::Arc<std::sync::Mutex<queries::QueryLog>>,
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl Logs {
    pub fn new(engine: Engine) -> Logs {
        Logs {
            engine,
            access_logs: None,
            queries: Default::default(),
        }
    }

    /// Shows the access logs written below `root` as log groups.
    pub fn with_access_logs(mut self, root: std::path::PathBuf) -> Logs {
        self.access_logs = Some(root);
        self
    }

    /// Every line of the tasks' containers since `since_ms`, oldest first,
    /// each named `<container>/<task id>` (the CLI's `emulator logs`).
    pub async fn task_events(&self, tasks: &[Task], since_ms: i64) -> Vec<Event> {
        // (task, container, runtime name), read in one go.
        let containers: Vec<view::Container> = self.engine.read(|st| {
            tasks
                .iter()
                .filter_map(|t| Some((t, view::definition_in(st, t)?)))
                .flat_map(|(t, def)| {
                    def.container_definitions
                        .iter()
                        .map(move |c| view::Container {
                            task: t.clone(),
                            container: c.name.clone(),
                            runtime_name: Engine::runtime_name(t, def, &c.name),
                        })
                })
                .collect()
        });
        let mut events = Vec::new();
        for c in containers {
            let stream = format!("{}/{}", c.container, c.task.id());
            for line in self.lines(&c, since_ms).await {
                events.push(Event {
                    stream: stream.clone(),
                    line,
                });
            }
        }
        events.sort_by_key(|e| e.line.timestamp_ms);
        events
    }

    /// Every event of group `name` since `since_ms`, oldest first, each
    /// named by its stream; `None`: no such group.
    pub async fn group_events(&self, name: &str, since_ms: i64) -> Option<Vec<Event>> {
        let view = self.group(name)?;
        let mut out = Vec::new();
        for s in self.streams(&view).into_values() {
            for e in self.events(&s, since_ms).await {
                out.push(Event {
                    stream: s.name.clone(),
                    line: LogLine {
                        timestamp_ms: e.timestamp,
                        message: e.message,
                    },
                });
            }
        }
        out.sort_by_key(|e| e.line.timestamp_ms);
        Some(out)
    }

    fn group_arn(&self, g: &str) -> String {
        self.engine.config().partition.log_group(g)
    }

    /// One CloudWatch Logs operation.
    pub async fn handle(&self, operation: &str, body: &Value) -> Result<Value, LogsError> {
        let q: Query = serde_json::from_value(body.clone()).map_err(|e| {
            invalid(format!(
                "Invalid request: {}",
                crate::api::aws_words(&e.to_string())
            ))
        })?;
        match operation {
            "CreateLogGroup" => self.create_log_group(&q).await,
            "DeleteLogGroup" => self.delete_log_group(&q).await,
            "DescribeLogGroups" => self.describe_log_groups(&q),
            "PutRetentionPolicy" => self.put_retention_policy(&q).await,
            "DeleteRetentionPolicy" => self.delete_retention_policy(&q).await,
            "TagLogGroup" | "TagResource" => self.tag(operation, &q).await,
            "UntagLogGroup" | "UntagResource" => self.untag(operation, &q).await,
            "ListTagsLogGroup" | "ListTagsForResource" => self.list_tags(operation, &q),
            "CreateLogStream" => self.create_log_stream(&q).await,
            "DeleteLogStream" => self.delete_log_stream(&q).await,
            "DescribeLogStreams" => self.describe_log_streams(&q).await,
            "PutLogEvents" => self.put_log_events(&q).await,
            "GetLogEvents" => self.get_log_events(&q).await,
            "FilterLogEvents" => self.filter_log_events(&q).await,
            "ListLogGroups" => self.list_log_groups(&q),
            "PutMetricFilter" => self.put_metric_filter(&q).await,
            "DescribeMetricFilters" => self.describe_metric_filters(&q),
            "DeleteMetricFilter" => self.delete_metric_filter(&q).await,
            "TestMetricFilter" => self.test_metric_filter(&q),
            "PutSubscriptionFilter" => self.put_subscription_filter(&q).await,
            "DescribeSubscriptionFilters" => self.describe_subscription_filters(&q),
            "DeleteSubscriptionFilter" => self.delete_subscription_filter(&q).await,
            "StartQuery" => self.start_query(&q).await,
            "GetQueryResults" => self.get_query_results(&q),
            "StopQuery" => self.stop_query(&q),
            "DescribeQueries" => self.describe_queries(&q),
            "PutResourcePolicy" => self.put_resource_policy(&q).await,
            "DescribeResourcePolicies" => self.describe_resource_policies(&q),
            "DeleteResourcePolicy" => self.delete_resource_policy(&q).await,
            other => Err(LogsError::UnknownOperation(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
