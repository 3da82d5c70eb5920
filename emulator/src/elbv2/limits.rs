//! AWS's quotas and input rules for ELBv2: the account limits
//! DescribeAccountLimits reports (and the ones enforced), load balancer
//! and listener attributes, tags, subnets and security groups.

use std::collections::BTreeMap;

use super::command::TagList;
use super::error::{validation, ElbError};
use crate::db::state::TagSet;
use crate::model::elb::{
    default_listener_attributes, default_load_balancer_attributes, ConditionSpec,
};

/// Application Load Balancers per region.
pub const LOAD_BALANCERS: usize = 50;
/// Target groups per region.
pub const TARGET_GROUPS: usize = 3000;
/// Listeners per Application Load Balancer.
pub const LISTENERS_PER_LOAD_BALANCER: usize = 50;
/// Rules per Application Load Balancer (default rules not counted).
pub const RULES_PER_LOAD_BALANCER: usize = 100;
/// Condition values per rule (over all its conditions).
pub const CONDITION_VALUES_PER_RULE: usize = 5;
/// Wildcards (`*`, `?`) per rule.
pub const CONDITION_WILDCARDS_PER_RULE: usize = 5;
/// Tags per resource.
pub const TAGS_PER_RESOURCE: usize = 50;
/// Resources per DescribeTags call.
pub const DESCRIBE_TAGS_RESOURCES: usize = 20;
/// Attributes per ModifyLoadBalancerAttributes call.
pub const ATTRIBUTES_PER_CALL: usize = 20;

/// DescribeAccountLimits: AWS's default quotas, by their API names.
pub const ACCOUNT_LIMITS: &[(&str, usize)] = &[
    ("application-load-balancers", LOAD_BALANCERS),
    ("condition-values-per-alb-rule", CONDITION_VALUES_PER_RULE),
    (
        "condition-wildcards-per-alb-rule",
        CONDITION_WILDCARDS_PER_RULE,
    ),
    ("gateway-load-balancers", 100),
    ("gateway-load-balancers-per-vpc", 100),
    ("geneve-target-groups", 100),
    (
        "listeners-per-application-load-balancer",
        LISTENERS_PER_LOAD_BALANCER,
    ),
    ("listeners-per-network-load-balancer", 50),
    ("network-load-balancers", 50),
    (
        "rules-per-application-load-balancer",
        RULES_PER_LOAD_BALANCER,
    ),
    ("target-groups", TARGET_GROUPS),
    ("target-groups-per-action-on-application-load-balancer", 5),
    ("target-groups-per-action-on-network-load-balancer", 1),
    ("target-groups-per-application-load-balancer", 100),
    ("targets-per-application-load-balancer", 1000),
    (
        "targets-per-availability-zone-per-gateway-load-balancer",
        300,
    ),
    (
        "targets-per-availability-zone-per-network-load-balancer",
        500,
    ),
    ("targets-per-network-load-balancer", 3000),
];

fn bad_value(kind: &str, key: &str, value: &str, want: &str) -> ElbError {
    validation(format!(
        "{kind} attribute '{key}' value '{value}' is not valid: {want}"
    ))
}

fn check_bool(kind: &str, key: &str, value: &str) -> Result<(), ElbError> {
    match value {
        "true" | "false" => Ok(()),
        _ => Err(bad_value(kind, key, value, "must be true or false")),
    }
}

fn check_range(kind: &str, key: &str, value: &str, lo: u64, hi: u64) -> Result<(), ElbError> {
    match value.parse::<u64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(()),
        _ => Err(bad_value(
            kind,
            key,
            value,
            &format!("must be an integer from {lo} to {hi}"),
        )),
    }
}

fn check_one_of(kind: &str, key: &str, value: &str, allowed: &[&str]) -> Result<(), ElbError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(bad_value(
            kind,
            key,
            value,
            &format!("must be one of {}", allowed.join(", ")),
        ))
    }
}

fn check_count(attributes: &[(String, String)]) -> Result<(), ElbError> {
    if attributes.is_empty() {
        return Err(validation("At least one attribute must be specified"));
    }
    if attributes.len() > ATTRIBUTES_PER_CALL {
        return Err(validation(format!(
            "At most {ATTRIBUTES_PER_CALL} attributes can be specified at once"
        )));
    }
    Ok(())
}

/// Applies ModifyLoadBalancerAttributes changes to a load balancer's
/// changed attributes (`changed`), after checking each.
pub fn modify_load_balancer_attributes(
    scheme: &str,
    changed: &BTreeMap<String, String>,
    attributes: &[(String, String)],
) -> Result<BTreeMap<String, String>, ElbError> {
    check_count(attributes)?;
    const KIND: &str = "Load balancer";
    let defaults = default_load_balancer_attributes(scheme);
    let mut next = changed.clone();
    for (k, v) in attributes {
        if !defaults.contains_key(k) {
            return Err(validation(format!(
                "Load balancer attribute key '{k}' is not recognized"
            )));
        }
        match k.as_str() {
            "idle_timeout.timeout_seconds" => check_range(KIND, k, v, 1, 4000)?,
            "client_keep_alive.seconds" => check_range(KIND, k, v, 60, 604_800)?,
            "routing.http.desync_mitigation_mode" => {
                check_one_of(KIND, k, v, &["monitor", "defensive", "strictest"])?
            }
            "routing.http.xff_header_processing.mode" => {
                check_one_of(KIND, k, v, &["append", "preserve", "remove"])?
            }
            "load_balancing.cross_zone.enabled" => {
                check_bool(KIND, k, v)?;
                if v != "true" {
                    return Err(ElbError::InvalidConfiguration(
                        "Cross-zone load balancing cannot be disabled for Application Load Balancers"
                            .into(),
                    ));
                }
            }
            key if key.ends_with(".enabled") || key == "ipv6.deny_all_igw_traffic" => {
                check_bool(KIND, k, v)?
            }
            _ => {}
        }
        next.insert(k.clone(), v.clone());
    }
    let mut all = defaults;
    all.extend(next.clone());
    for logs in ["access_logs", "connection_logs", "health_check_logs"] {
        let on = all.get(&format!("{logs}.s3.enabled")).map(String::as_str) == Some("true");
        let bucket = all
            .get(&format!("{logs}.s3.bucket"))
            .map(String::as_str)
            .unwrap_or("");
        // AWS: `ValidationError: The value of 'access_logs.s3.bucket'
        // cannot be empty`.
        if on && bucket.is_empty() {
            return Err(validation(format!(
                "The value of '{logs}.s3.bucket' cannot be empty"
            )));
        }
    }
    check_access_log_location(&all)?;
    Ok(next)
}

/// Where enabled access logs go must be a bucket the balancer could
/// write to (no S3 here: a valid bucket name is one) and a prefix that
/// stays below it.
fn check_access_log_location(all: &BTreeMap<String, String>) -> Result<(), ElbError> {
    use super::access_logs::{valid_bucket, valid_prefix, BUCKET, ENABLED, PREFIX};
    if all.get(ENABLED).map(String::as_str) != Some("true") {
        return Ok(());
    }
    let bucket = all.get(BUCKET).map_or("", String::as_str);
    if !valid_bucket(bucket) {
        // What AWS answers for a bucket it cannot write to.
        return Err(ElbError::InvalidConfiguration(format!(
            "Access Denied for bucket: {bucket}. Please check S3bucket permission"
        )));
    }
    let prefix = all.get(PREFIX).map_or("", String::as_str);
    if !valid_prefix(prefix) {
        return Err(validation(format!(
            "The value of '{PREFIX}' is not valid: '{prefix}' must not start or end with '/', \
             contain 'AWSLogs', or have empty, '.' or '..' parts"
        )));
    }
    Ok(())
}

/// Applies ModifyListenerAttributes changes to a listener's changed
/// attributes, after checking each.
pub fn modify_listener_attributes(
    changed: &BTreeMap<String, String>,
    attributes: &[(String, String)],
) -> Result<BTreeMap<String, String>, ElbError> {
    check_count(attributes)?;
    const KIND: &str = "Listener";
    let known = default_listener_attributes();
    let mut next = changed.clone();
    for (k, v) in attributes {
        if k.starts_with("routing.http.request.x_amzn_") && k.ends_with(".header_name") {
            return Err(ElbError::InvalidConfiguration(format!(
                "Listener attribute '{k}' is only supported by HTTPS listeners"
            )));
        }
        if k == "tcp.idle_timeout.seconds" {
            return Err(ElbError::InvalidConfiguration(format!(
                "Listener attribute '{k}' is not supported by Application Load Balancer listeners"
            )));
        }
        if !known.contains_key(k) {
            return Err(validation(format!(
                "Listener attribute key '{k}' is not recognized"
            )));
        }
        let header = k
            .strip_prefix("routing.http.response.")
            .and_then(|h| h.strip_suffix(".header_value"));
        match (k.as_str(), header) {
            ("routing.http.response.server.enabled", _) => check_bool(KIND, k, v)?,
            (_, Some(_)) if v.is_empty() => {}
            (_, Some("access_control_allow_credentials")) => check_one_of(KIND, k, v, &["true"])?,
            (_, Some("access_control_max_age")) => check_range(KIND, k, v, 0, 86_400)?,
            (_, Some("x_content_type_options")) => check_one_of(KIND, k, v, &["nosniff"])?,
            (_, Some("x_frame_options"))
                if !(v == "DENY" || v == "SAMEORIGIN" || v.starts_with("ALLOW-FROM ")) =>
            {
                return Err(bad_value(
                    KIND,
                    k,
                    v,
                    "must be DENY, SAMEORIGIN or ALLOW-FROM <uri>",
                ));
            }
            (_, Some("access_control_allow_methods")) => {
                const METHODS: &[&str] = &[
                    "GET", "HEAD", "POST", "DELETE", "PUT", "CONNECT", "OPTIONS", "TRACE", "PATCH",
                ];
                if !v.split(',').all(|m| METHODS.contains(&m.trim())) {
                    return Err(bad_value(
                        KIND,
                        k,
                        v,
                        &format!("must be a comma-separated list of {}", METHODS.join(", ")),
                    ));
                }
            }
            _ => {}
        }
        next.insert(k.clone(), v.clone());
    }
    Ok(next)
}

/// A tag key or value: AWS's lengths and characters
/// (`[\p{L}\p{Z}\p{N}_.:/=+\-@]*`).
fn check_tag_text(what: &str, text: &str, min: usize, max: usize) -> Result<(), ElbError> {
    let n = text.chars().count();
    if n < min || n > max {
        return Err(validation(format!(
            "Tag {what} '{text}' must be {min}-{max} characters long"
        )));
    }
    let ok = text.chars().all(|c| {
        c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
    });
    if !ok {
        return Err(validation(format!(
            "Tag {what} '{text}' may contain only letters, numbers, spaces and _ . : / = + - @"
        )));
    }
    Ok(())
}

/// Checks tag keys (for RemoveTags).
pub fn check_tag_keys(keys: &[String]) -> Result<(), ElbError> {
    if keys.is_empty() {
        return Err(validation("At least one tag key must be specified"));
    }
    keys.iter()
        .try_for_each(|k| check_tag_text("key", k, 1, 128))
}

/// Checks the tags of one request: lengths, characters, no reserved
/// `aws:` keys, no key twice, at most [`TAGS_PER_RESOURCE`].
pub fn check_tags(tags: &TagList) -> Result<(), ElbError> {
    let mut seen = std::collections::BTreeSet::new();
    for (k, v) in tags {
        check_tag_text("key", k, 1, 128)?;
        check_tag_text("value", v, 0, 256)?;
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(validation(format!(
                "Tag key '{k}' is reserved: keys beginning with 'aws:' are for AWS use"
            )));
        }
        if !seen.insert(k.as_str()) {
            return Err(ElbError::DuplicateTagKeys(format!(
                "Tag key '{k}' is specified more than once"
            )));
        }
    }
    if tags.len() > TAGS_PER_RESOURCE {
        return Err(too_many_tags());
    }
    Ok(())
}

fn too_many_tags() -> ElbError {
    ElbError::TooManyTags(format!(
        "A resource can have at most {TAGS_PER_RESOURCE} tags"
    ))
}

/// Whether a resource with `existing` tags can take `adding` as well.
pub fn check_tag_room(existing: &TagSet, adding: &TagList) -> Result<(), ElbError> {
    let new_keys = adding
        .iter()
        .filter(|(k, _)| !existing.contains_key(k))
        .map(|(k, _)| k)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if existing.len() + new_keys > TAGS_PER_RESOURCE {
        return Err(too_many_tags());
    }
    Ok(())
}

/// Subnet ids: `subnet-...`, each once, at least two for an Application
/// Load Balancer (none: a local load balancer in no zone).
pub fn check_subnets(subnets: &[String], required: bool) -> Result<(), ElbError> {
    if subnets.is_empty() && !required {
        return Ok(());
    }
    if let Some(s) = subnets.iter().find(|s| !s.starts_with("subnet-")) {
        return Err(ElbError::InvalidSubnet(format!(
            "The subnet ID '{s}' is not valid"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(s) = subnets.iter().find(|s| !seen.insert(s.as_str())) {
        return Err(validation(format!(
            "Subnet '{s}' is specified more than once"
        )));
    }
    if subnets.len() < 2 {
        return Err(validation(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    Ok(())
}

/// Security group ids: `sg-...`.
pub fn check_security_groups(groups: &[String]) -> Result<(), ElbError> {
    if let Some(g) = groups.iter().find(|g| !g.starts_with("sg-")) {
        return Err(ElbError::InvalidSecurityGroup(format!(
            "The security group '{g}' is not valid"
        )));
    }
    Ok(())
}

/// `IpAddressType` of an Application Load Balancer.
pub fn check_ip_address_type(t: &str) -> Result<(), ElbError> {
    match t {
        "ipv4" | "dualstack" | "dualstack-without-public-ipv4" => Ok(()),
        other => Err(validation(format!(
            "IP address type '{other}' is not valid (ipv4, dualstack, dualstack-without-public-ipv4)"
        ))),
    }
}

/// A rule's conditions: at most [`CONDITION_VALUES_PER_RULE`] values and
/// [`CONDITION_WILDCARDS_PER_RULE`] wildcards over all of them.
pub fn check_condition_limits(conditions: &[ConditionSpec]) -> Result<(), ElbError> {
    let values: usize = conditions
        .iter()
        .map(|c| c.values.len() + c.query_string.len())
        .sum();
    if values > CONDITION_VALUES_PER_RULE {
        return Err(validation(format!(
            "A rule can only have '{CONDITION_VALUES_PER_RULE}' condition values"
        )));
    }
    let wildcards: usize = conditions
        .iter()
        .flat_map(|c| {
            c.values
                .iter()
                .chain(c.query_string.iter().flat_map(|(k, v)| k.iter().chain([v])))
        })
        .map(|v| v.chars().filter(|c| *c == '*' || *c == '?').count())
        .sum();
    if wildcards > CONDITION_WILDCARDS_PER_RULE {
        return Err(validation(format!(
            "A rule can only have '{CONDITION_WILDCARDS_PER_RULE}' wildcards"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_checked_with_aws_ranges() {
        let none = BTreeMap::new();
        let set = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert!(modify_load_balancer_attributes(
            "internet-facing",
            &none,
            &set("idle_timeout.timeout_seconds", "4000")
        )
        .is_ok());
        for (k, v) in [
            ("idle_timeout.timeout_seconds", "0"),
            ("idle_timeout.timeout_seconds", "4001"),
            ("routing.http2.enabled", "yes"),
            ("routing.http.desync_mitigation_mode", "lax"),
            ("nope", "1"),
            ("access_logs.s3.enabled", "true"),
            ("load_balancing.cross_zone.enabled", "false"),
        ] {
            assert!(
                modify_load_balancer_attributes("internal", &none, &set(k, v)).is_err(),
                "{k}={v}"
            );
        }
        assert!(modify_listener_attributes(
            &none,
            &set("routing.http.response.x_frame_options.header_value", "DENY")
        )
        .is_ok());
        assert!(modify_listener_attributes(&none, &set("tcp.idle_timeout.seconds", "60")).is_err());
        assert!(modify_listener_attributes(&none, &[]).is_err());
    }

    #[test]
    fn tags_follow_aws_rules() {
        let t = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert!(check_tags(&vec![t("env", "prod"), t("a b:c/d=e+f-g@h_i.j", "")]).is_ok());
        assert!(matches!(
            check_tags(&vec![t("k", "1"), t("k", "2")]),
            Err(ElbError::DuplicateTagKeys(_))
        ));
        assert!(check_tags(&vec![t("", "v")]).is_err());
        assert!(check_tags(&vec![t(&"k".repeat(129), "v")]).is_err());
        assert!(check_tags(&vec![t("k", &"v".repeat(257))]).is_err());
        assert!(check_tags(&vec![t("aws:x", "v")]).is_err());
        assert!(check_tags(&vec![t("k<", "v")]).is_err());
        let many: TagList = (0..51).map(|i| t(&format!("k{i}"), "")).collect();
        assert!(matches!(check_tags(&many), Err(ElbError::TooManyTags(_))));
    }
}
