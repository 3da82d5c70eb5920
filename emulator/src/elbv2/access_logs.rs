//! Access logs (`access_logs.s3.enabled`, `.bucket`, `.prefix`): where
//! the balancer writes them and how CloudWatch Logs finds them.
//!
//! There is no S3: a load balancer with access logs enabled writes (itself,
//! see `alb::access_log`) below the data directory, laid out like AWS's
//! S3 keys: `<data dir>/access-logs/<bucket>/<prefix>/AWSLogs/<account>/
//! elasticloadbalancing/<region>/YYYY/MM/DD/<account>_elasticloadbalancing_
//! <region>_app.<name>.<id>_<end YYYYMMDDTHHMMZ>_127.0.0.1_<random>.log`
//! (plain text, one file per 5 minutes). CloudWatch Logs shows each such
//! load balancer's log as the group [`group_name`], one stream per file.

use std::path::{Path, PathBuf};

use crate::model::elb::LoadBalancer;

pub const ENABLED: &str = "access_logs.s3.enabled";
pub const BUCKET: &str = "access_logs.s3.bucket";
pub const PREFIX: &str = "access_logs.s3.prefix";

/// The folder of the data directory that stands for S3.
pub fn root(data_dir: &Path) -> PathBuf {
    data_dir.join("access-logs")
}

/// The CloudWatch Logs group of a load balancer's access log.
pub fn group_name(load_balancer_name: &str) -> String {
    format!("/aws/elasticloadbalancing/app/{load_balancer_name}/access-logs")
}

/// Where a load balancer with access logs enabled writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogSource {
    pub load_balancer_arn: String,
    pub bucket: String,
    pub prefix: String,
}

/// Region, account and resource id (`app/<name>/<id>`) of a load balancer
/// ARN.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut p = arn.splitn(6, ':');
    let (_, _, _, region, account, resource) = (
        p.next()?,
        p.next()?,
        p.next()?,
        p.next()?,
        p.next()?,
        p.next()?,
    );
    Some((region, account, resource.strip_prefix("loadbalancer/")?))
}

impl AccessLogSource {
    /// The load balancer's access log, if enabled.
    pub fn of(lb: &LoadBalancer) -> Option<AccessLogSource> {
        let attrs = lb.attributes();
        if attrs.get(ENABLED).map(String::as_str) != Some("true") {
            return None;
        }
        Some(AccessLogSource {
            load_balancer_arn: lb.arn.clone(),
            bucket: attrs.get(BUCKET).cloned().unwrap_or_default(),
            prefix: attrs.get(PREFIX).cloned().unwrap_or_default(),
        })
    }

    /// The folder the dated folders go in:
    /// `<root>/<bucket>/<prefix>/AWSLogs/<account>/elasticloadbalancing/<region>`.
    pub fn dir(&self, root: &Path) -> Option<PathBuf> {
        let (region, account, _) = arn_parts(&self.load_balancer_arn)?;
        let mut d = root.join(&self.bucket);
        if !self.prefix.is_empty() {
            d = d.join(&self.prefix);
        }
        Some(
            d.join("AWSLogs")
                .join(account)
                .join("elasticloadbalancing")
                .join(region),
        )
    }

    /// The balancer's setting: the folder, the `elb` field, file names.
    pub fn config(&self, root: &Path) -> Option<alb::AccessLogConfig> {
        let (region, account, resource) = arn_parts(&self.load_balancer_arn)?;
        let file_prefix = format!(
            "{account}_elasticloadbalancing_{region}_{}",
            resource.replace('/', ".")
        );
        Some(alb::AccessLogConfig::new(
            self.dir(root)?,
            resource,
            file_prefix,
        ))
    }
}

/// The balancer's access log setting for `lb` (none without a root: no
/// data directory to write to).
pub fn config(root: Option<&Path>, lb: &LoadBalancer) -> Option<alb::AccessLogConfig> {
    AccessLogSource::of(lb)?.config(root?)
}

/// Whether a bucket name follows S3's rules (3-63 lowercase letters,
/// digits, dots and hyphens, starting and ending with a letter or digit),
/// which also keeps it one folder.
pub fn valid_bucket(b: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(b.chars().next())
        && edge(b.chars().last())
        && !b.contains("..")
}

/// Whether a prefix is usable: no leading or trailing `/`, no `AWSLogs`
/// (AWS adds it), no `.` or `..` segment (it stays below the bucket).
pub fn valid_prefix(p: &str) -> bool {
    p.is_empty()
        || (!p.starts_with('/')
            && !p.ends_with('/')
            && !p.contains("AWSLogs")
            && p.split('/').all(|s| !s.is_empty() && s != "." && s != ".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb(attrs: &[(&str, &str)]) -> LoadBalancer {
        LoadBalancer {
            arn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188".into(),
            name: "web".into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..LoadBalancer::default()
        }
    }

    #[test]
    fn the_setting_follows_aws_key_layout() {
        let root = Path::new("/data/access-logs");
        assert_eq!(config(Some(root), &lb(&[])), None);
        let on = lb(&[(ENABLED, "true"), (BUCKET, "logs"), (PREFIX, "team/web")]);
        let c = config(Some(root), &on).expect("enabled");
        assert_eq!(
            c.dir,
            Path::new("/data/access-logs/logs/team/web/AWSLogs/123456789012/elasticloadbalancing/eu-west-1")
        );
        assert_eq!(c.elb, "app/web/50dc6c495c0c9188");
        assert_eq!(
            c.file_prefix,
            "123456789012_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188"
        );
        let no_prefix = lb(&[(ENABLED, "true"), (BUCKET, "logs")]);
        assert_eq!(
            config(Some(root), &no_prefix).expect("enabled").dir,
            Path::new("/data/access-logs/logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1")
        );
        assert_eq!(config(None, &on), None);
    }

    #[test]
    fn names_that_would_leave_the_bucket_are_refused() {
        assert!(valid_bucket("my-logs.example"));
        for b in ["ab", "Logs", "../x", "a/b", "-ab", "a..b"] {
            assert!(!valid_bucket(b), "{b}");
        }
        assert!(valid_prefix("") && valid_prefix("a/b-c"));
        for p in ["/a", "a/", "../x", "a/../b", "x/AWSLogs", "a//b"] {
            assert!(!valid_prefix(p), "{p}");
        }
    }
}
