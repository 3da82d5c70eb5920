//! Subscription filters: PutSubscriptionFilter,
//! DescribeSubscriptionFilters, DeleteSubscriptionFilter. They are
//! validated, kept with the group and listed as AWS lists them; the
//! emulator has no Kinesis, Firehose or Lambda to deliver events to.

use serde_json::{json, Value};

use super::metric_filters::{checked_pattern, required, valid_filter_name};
use super::view::group_in;
use super::{invalid, now_ms, paged, Logs, LogsError, Query};
use crate::model::logs::SubscriptionFilter;

/// Subscription filters a group may have.
pub(super) const MAX_SUBSCRIPTION_FILTERS: usize = 2;

/// The kind of destination an ARN names, if it is one CloudWatch Logs
/// delivers to: (service, needs a role).
fn destination_kind(arn: &str) -> Option<(&'static str, bool)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[1].is_empty() || parts[3].is_empty() {
        return None;
    }
    let account_ok = parts[4].len() == 12 && parts[4].chars().all(|c| c.is_ascii_digit());
    let resource = parts[5];
    let kind = match parts[2] {
        "kinesis" if resource.starts_with("stream/") && resource.len() > 7 => ("kinesis", true),
        "firehose" if resource.starts_with("deliverystream/") && resource.len() > 15 => {
            ("firehose", true)
        }
        "lambda" if resource.starts_with("function:") && resource.len() > 9 => ("lambda", false),
        "logs" if resource.starts_with("destination:") && resource.len() > 12 => ("logs", false),
        _ => return None,
    };
    account_ok.then_some(kind)
}

fn role_ok(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[5].starts_with("role/")
        && parts[5].len() > 5
}

fn render(group: &str, name: &str, f: &SubscriptionFilter) -> Value {
    let mut v = json!({
        "filterName": name,
        "logGroupName": group,
        "filterPattern": f.filter_pattern,
        "destinationArn": f.destination_arn,
        "distribution": f.distribution,
        "applyOnTransformedLogs": f.apply_on_transformed_logs,
        "creationTime": f.creation_time,
    });
    if let Some(r) = &f.role_arn {
        v["roleArn"] = json!(r);
    }
    if let Some(c) = &f.field_selection_criteria {
        v["fieldSelectionCriteria"] = json!(c);
    }
    if !f.emit_system_fields.is_empty() {
        v["emitSystemFields"] = json!(f.emit_system_fields);
    }
    v
}

impl Logs {
    pub(super) async fn put_subscription_filter(&self, q: &Query) -> Result<Value, LogsError> {
        let g = required(&q.log_group_name, "logGroupName")?.to_string();
        let name = required(&q.filter_name, "filterName")?.to_string();
        valid_filter_name(&name)?;
        let pattern = required(&q.filter_pattern, "filterPattern")?.to_string();
        checked_pattern(&pattern)?;
        let dest = required(&q.destination_arn, "destinationArn")?.to_string();
        let (_, needs_role) = destination_kind(&dest).ok_or_else(|| {
            invalid(format!(
                "Invalid destinationArn '{dest}': expected the ARN of a Kinesis stream, a \
                 Firehose delivery stream, a Lambda function or a CloudWatch Logs destination."
            ))
        })?;
        if let Some(role) = &q.role_arn {
            if !role_ok(role) {
                return Err(invalid(format!("Invalid roleArn '{role}'.")));
            }
        } else if needs_role {
            return Err(invalid(
                "A roleArn is required to deliver to a Kinesis or Firehose destination.",
            ));
        }
        let distribution = q
            .distribution
            .clone()
            .unwrap_or_else(|| "ByLogStream".into());
        if !["Random", "ByLogStream"].contains(&distribution.as_str()) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{distribution}' at 'distribution' failed to \
                 satisfy constraint: Member must satisfy enum value set: [Random, ByLogStream]"
            )));
        }
        let filter = SubscriptionFilter {
            filter_pattern: pattern,
            destination_arn: dest,
            role_arn: q.role_arn.clone(),
            distribution,
            apply_on_transformed_logs: q.apply_on_transformed_logs.unwrap_or(false),
            creation_time: now_ms(),
            field_selection_criteria: q.field_selection_criteria.clone(),
            emit_system_fields: q.emit_system_fields.clone().unwrap_or_default(),
        };
        self.store_filter(&g, name, filter, MAX_SUBSCRIPTION_FILTERS, |r| {
            &mut r.subscription_filters
        })
        .await
    }

    pub(super) fn describe_subscription_filters(&self, q: &Query) -> Result<Value, LogsError> {
        let g = required(&q.log_group_name, "logGroupName")?.to_string();
        let limit = q.limit(50, 50)?;
        let prefix = q.filter_name_prefix.clone().unwrap_or_default();
        let items: Vec<(String, Value)> = self.engine.read(|st| {
            group_in(st, &g).ok_or(LogsError::GroupNotFound)?;
            Ok::<_, LogsError>(
                st.log_groups
                    .get(&g)
                    .map(|r| {
                        r.subscription_filters
                            .iter()
                            .filter(|(n, _)| n.starts_with(&prefix))
                            .map(|(n, f)| (n.clone(), render(&g, n, f)))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })?;
        paged(
            "DescribeSubscriptionFilters",
            "subscriptionFilters",
            items,
            q,
            limit,
            false,
        )
    }

    pub(super) async fn delete_subscription_filter(&self, q: &Query) -> Result<Value, LogsError> {
        self.remove_filter(
            q,
            "The specified subscription filter does not exist.",
            |r, name| r.subscription_filters.remove(name).is_some(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_the_services_logs_delivers_to() {
        let ok = |a| destination_kind(a).is_some();
        assert!(ok("arn:aws:kinesis:us-east-1:123456789012:stream/s"));
        assert!(ok(
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/d"
        ));
        assert!(ok("arn:aws:lambda:us-east-1:123456789012:function:f"));
        assert!(ok("arn:aws:logs:us-east-1:123456789012:destination:d"));
        assert!(!ok("arn:aws:s3:::bucket"));
        assert!(!ok("arn:aws:lambda:us-east-1:1234:function:f"));
        assert!(!ok("not-an-arn"));
        assert!(role_ok("arn:aws:iam::123456789012:role/r"));
        assert!(!role_ok("arn:aws:iam::123456789012:user/u"));
    }
}
