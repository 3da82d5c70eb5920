//! AWS's predefined security policies (DescribeSSLPolicies) and the check
//! CreateListener / ModifyListener make of `SslPolicy`.
//!
//! The table is AWS's for Application and Network Load Balancers: every
//! policy's protocols and its ciphers in priority order (the FIPS and
//! post-quantum variants are not listed). AWS orders every policy's
//! ciphers by one global priority list, so each policy is a selection of
//! [`CIPHERS`], in that order.

use super::command::{ElbReply, Page};
use super::error::{validation, ElbError};
use super::page::{paged, position_key};

/// The policy an HTTPS listener gets when CreateListener names none (the
/// API's default; the console picks a TLS 1.3 policy).
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

/// One predefined policy.
#[derive(Debug, PartialEq, Eq)]
pub struct SslPolicy {
    pub name: &'static str,
    pub protocols: &'static [&'static str],
    /// Its ciphers in priority order (priority = position + 1).
    pub ciphers: Vec<&'static str>,
    pub load_balancer_types: &'static [&'static str],
}

/// Every cipher, in AWS's global priority order, with its group: `13`
/// TLS 1.3, `fs` forward-secret ECDHE (`fs-gcm` AES-GCM, `fs-sha2` CBC
/// with SHA-2, `fs-sha1` CBC with SHA-1), `rsa-*` the same without
/// forward secrecy, `3des` the legacy one.
const CIPHERS: &[(&str, &str)] = &[
    ("TLS_AES_128_GCM_SHA256", "13"),
    ("TLS_AES_256_GCM_SHA384", "13"),
    ("TLS_CHACHA20_POLY1305_SHA256", "13"),
    ("ECDHE-ECDSA-AES128-GCM-SHA256", "fs-gcm"),
    ("ECDHE-RSA-AES128-GCM-SHA256", "fs-gcm"),
    ("ECDHE-ECDSA-AES128-SHA256", "fs-sha2"),
    ("ECDHE-RSA-AES128-SHA256", "fs-sha2"),
    ("ECDHE-ECDSA-AES128-SHA", "fs-sha1"),
    ("ECDHE-RSA-AES128-SHA", "fs-sha1"),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", "fs-gcm"),
    ("ECDHE-RSA-AES256-GCM-SHA384", "fs-gcm"),
    ("ECDHE-ECDSA-AES256-SHA384", "fs-sha2"),
    ("ECDHE-RSA-AES256-SHA384", "fs-sha2"),
    ("ECDHE-RSA-AES256-SHA", "fs-sha1"),
    ("ECDHE-ECDSA-AES256-SHA", "fs-sha1"),
    ("AES128-GCM-SHA256", "rsa-sha2"),
    ("AES128-SHA256", "rsa-sha2"),
    ("AES128-SHA", "rsa-sha1"),
    ("AES256-GCM-SHA384", "rsa-sha2"),
    ("AES256-SHA256", "rsa-sha2"),
    ("AES256-SHA", "rsa-sha1"),
    ("DES-CBC3-SHA", "3des"),
];

const TLS10_12: &[&str] = &["TLSv1", "TLSv1.1", "TLSv1.2"];
const TLS11_12: &[&str] = &["TLSv1.1", "TLSv1.2"];
const TLS12: &[&str] = &["TLSv1.2"];
const TLS10_13: &[&str] = &["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
const TLS11_13: &[&str] = &["TLSv1.1", "TLSv1.2", "TLSv1.3"];
const TLS12_13: &[&str] = &["TLSv1.2", "TLSv1.3"];
const TLS13: &[&str] = &["TLSv1.3"];

/// Cipher groups of the policies.
const ALL_CBC: &[&str] = &["fs-gcm", "fs-sha2", "fs-sha1", "rsa-sha2", "rsa-sha1"];
const SHA2: &[&str] = &["fs-gcm", "fs-sha2", "rsa-sha2"];
const FS: &[&str] = &["fs-gcm", "fs-sha2", "fs-sha1"];
const FS_SHA2: &[&str] = &["fs-gcm", "fs-sha2"];

/// (name, protocols, cipher groups), in the order AWS lists them.
const POLICIES: &[(&str, &[&str], &[&str])] = &[
    ("ELBSecurityPolicy-2016-08", TLS10_12, ALL_CBC),
    (
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        TLS12_13,
        &["13", "fs-gcm", "fs-sha2"],
    ),
    (
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        TLS12_13,
        &["13", "fs-gcm"],
    ),
    (
        "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
        TLS12_13,
        &["13", "fs-gcm", "fs-sha2", "rsa-sha2"],
    ),
    (
        "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
        TLS12_13,
        &["13", "fs-gcm", "fs-sha2", "fs-sha1", "rsa-sha2", "rsa-sha1"],
    ),
    (
        "ELBSecurityPolicy-TLS13-1-1-2021-06",
        TLS11_13,
        &["13", "fs-gcm", "fs-sha2", "fs-sha1", "rsa-sha2", "rsa-sha1"],
    ),
    (
        "ELBSecurityPolicy-TLS13-1-0-2021-06",
        TLS10_13,
        &["13", "fs-gcm", "fs-sha2", "fs-sha1", "rsa-sha2", "rsa-sha1"],
    ),
    ("ELBSecurityPolicy-TLS13-1-3-2021-06", TLS13, &["13"]),
    ("ELBSecurityPolicy-TLS-1-2-2017-01", TLS12, SHA2),
    ("ELBSecurityPolicy-TLS-1-1-2017-01", TLS11_12, ALL_CBC),
    ("ELBSecurityPolicy-TLS-1-2-Ext-2018-06", TLS12, ALL_CBC),
    ("ELBSecurityPolicy-FS-2018-06", TLS10_12, FS),
    ("ELBSecurityPolicy-2015-05", TLS10_12, ALL_CBC),
    (
        "ELBSecurityPolicy-TLS-1-0-2015-04",
        TLS10_12,
        &[
            "fs-gcm", "fs-sha2", "fs-sha1", "rsa-sha2", "rsa-sha1", "3des",
        ],
    ),
    ("ELBSecurityPolicy-FS-1-2-Res-2019-08", TLS12, FS_SHA2),
    ("ELBSecurityPolicy-FS-1-1-2019-08", TLS11_12, FS),
    ("ELBSecurityPolicy-FS-1-2-2019-08", TLS12, FS),
    ("ELBSecurityPolicy-FS-1-2-Res-2020-10", TLS12, &["fs-gcm"]),
];

/// Every predefined policy works on both kinds of TLS-terminating load
/// balancer; none on a Gateway Load Balancer.
const TYPES: &[&str] = &["application", "network"];

/// The table, built once.
pub fn policies() -> &'static [SslPolicy] {
    static TABLE: std::sync::OnceLock<Vec<SslPolicy>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        POLICIES
            .iter()
            .map(|(name, protocols, groups)| SslPolicy {
                name,
                protocols,
                ciphers: CIPHERS
                    .iter()
                    .filter(|(_, g)| groups.contains(g))
                    .map(|(c, _)| *c)
                    .collect(),
                load_balancer_types: TYPES,
            })
            .collect()
    })
}

/// The policy named `name`, or `SSLPolicyNotFound`.
pub fn policy(name: &str) -> Result<&'static SslPolicy, ElbError> {
    policies()
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ElbError::SslPolicyNotFound(name.to_string()))
}

/// DescribeSSLPolicies: the policies named (each must exist), or all of
/// them, of one load balancer type when it is given; paged.
pub fn describe(
    names: &[String],
    load_balancer_type: Option<&str>,
    page: &Page,
) -> Result<ElbReply, ElbError> {
    if let Some(t) = load_balancer_type {
        if !["application", "network", "gateway"].contains(&t) {
            return Err(validation(format!(
                "1 validation error detected: Value '{t}' at 'loadBalancerType' failed to satisfy constraint: Member must satisfy enum value set: [application, network, gateway]"
            )));
        }
    }
    let chosen: Vec<&'static SslPolicy> = if names.is_empty() {
        policies().iter().collect()
    } else {
        names.iter().map(|n| policy(n)).collect::<Result<_, _>>()?
    };
    let items = chosen
        .into_iter()
        .filter(|p| load_balancer_type.is_none_or(|t| p.load_balancer_types.contains(&t)))
        .enumerate()
        .map(|(i, p)| (position_key(i), p))
        .collect();
    paged(items, page, ElbReply::SslPolicies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_have_aws_ciphers_in_priority_order() {
        let p = policy("ELBSecurityPolicy-TLS13-1-2-2021-06").unwrap();
        assert_eq!(
            p.ciphers,
            [
                "TLS_AES_128_GCM_SHA256",
                "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256",
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES128-SHA256",
                "ECDHE-RSA-AES128-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-AES256-SHA384",
                "ECDHE-RSA-AES256-SHA384",
            ]
        );
        let default = policy(DEFAULT_SSL_POLICY).unwrap();
        assert_eq!(default.ciphers.len(), 18);
        assert_eq!(default.protocols, ["TLSv1", "TLSv1.1", "TLSv1.2"]);
        assert_eq!(
            policy("ELBSecurityPolicy-TLS13-1-3-2021-06")
                .unwrap()
                .ciphers
                .len(),
            3
        );
        assert_eq!(
            policy("ELBSecurityPolicy-FS-1-2-Res-2020-10")
                .unwrap()
                .ciphers
                .len(),
            4
        );
        assert_eq!(policies().len(), 18);
        assert!(matches!(
            policy("nope"),
            Err(ElbError::SslPolicyNotFound(_))
        ));
    }
}
