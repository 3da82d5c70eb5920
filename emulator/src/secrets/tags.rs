//! Tags, as SSM and Secrets Manager take them (`[{"Key", "Value"}]`),
//! kept in the store's `tags` by resource ARN.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::db::state::TagSet;

/// Tags a resource may have at most (both services).
pub(super) const MAX_TAGS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    #[serde(default)]
    value: String,
}

/// A key or value within AWS's pattern: letters, digits, spaces and
/// `_.:/=+-@`.
fn chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// A `Tags` list, checked; the error is the message (each service names
/// the error its way).
pub(super) fn parse(v: Option<&Value>) -> Result<Vec<(String, String)>, String> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let tags: Vec<Tag> = serde_json::from_value(v.clone())
        .map_err(|_| "Tags must be a list of {\"Key\": .., \"Value\": ..}.".to_string())?;
    if tags.len() > MAX_TAGS {
        return Err(format!("A resource can have at most {MAX_TAGS} tags."));
    }
    let mut out = Vec::new();
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 || !chars_ok(&t.key) {
            return Err(format!(
                "Invalid tag key '{}': 1 to 128 letters, digits, spaces and _.:/=+-@",
                t.key
            ));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err("Tag keys beginning with 'aws:' are reserved for AWS use.".into());
        }
        if t.value.chars().count() > 256 || !chars_ok(&t.value) {
            return Err(format!(
                "Invalid value for tag '{}': at most 256 letters, digits, spaces and _.:/=+-@",
                t.key
            ));
        }
        out.push((t.key, t.value));
    }
    Ok(out)
}

/// Would adding `new` to `old` pass the bound?
pub(super) fn fits(old: &TagSet, new: &[(String, String)]) -> bool {
    let mut all = old.clone();
    all.extend(new.iter().cloned());
    all.len() <= MAX_TAGS
}

/// Tags as both services list them.
pub(super) fn list(set: &TagSet) -> Value {
    Value::Array(
        set.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked_as_aws_checks_them() {
        let ok = parse(Some(
            &json!([{"Key": "team", "Value": "a b"}, {"Key": "x", "Value": ""}]),
        ));
        assert_eq!(ok.unwrap().len(), 2);
        assert!(parse(Some(&json!([{"Key": "aws:x", "Value": "1"}]))).is_err());
        assert!(parse(Some(&json!([{"Key": "", "Value": "1"}]))).is_err());
        assert!(parse(Some(&json!([{"Key": "a*", "Value": "1"}]))).is_err());
        assert!(parse(Some(&json!({"Key": "a"}))).is_err());
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
            .collect();
        assert!(parse(Some(&Value::Array(many))).is_err());
        let mut set = TagSet::new();
        set.insert("a".into(), "1".into());
        assert_eq!(list(&set), json!([{"Key": "a", "Value": "1"}]));
        assert!(fits(&set, &[("a".into(), "2".into())]));
    }
}
