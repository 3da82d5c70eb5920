//! The TLS side of ELBv2 as the emulator stores it: an HTTPS listener's
//! certificates, security policy and mutual authentication, trust stores,
//! and a load balancer's LCU reservation.
//!
//! What is kept is what AWS reports; nothing here terminates TLS. The
//! local balancer serves an HTTPS listener's port in plain HTTP: the
//! certificates are ACM/IAM ARNs, not key material the emulator could use.

use serde::{Deserialize, Serialize};

/// The TLS settings of an HTTPS listener (`None` on HTTP listeners).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListenerTls {
    /// A predefined policy of [`crate::elbv2`]'s `ssl_policies` table.
    pub ssl_policy: String,
    /// The default certificate (CreateListener/ModifyListener).
    pub default_certificate: String,
    /// The certificate list (AddListenerCertificates), in the order added;
    /// it may hold the default certificate too, as AWS's may.
    pub certificates: Vec<String>,
    pub mutual_authentication: Option<MutualAuthentication>,
}

/// `MutualAuthentication` of an HTTPS listener.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MutualAuthentication {
    /// `off`, `passthrough` or `verify`.
    pub mode: String,
    /// Kept only in `verify` mode: the store that listener uses.
    pub trust_store_arn: Option<String>,
    pub ignore_client_certificate_expiry: Option<bool>,
    /// `on` or `off`.
    pub advertise_trust_store_ca_names: Option<String>,
}

impl MutualAuthentication {
    /// The trust store a `verify` listener is associated with.
    pub fn verified_by(&self) -> Option<&str> {
        (self.mode == "verify")
            .then_some(self.trust_store_arn.as_deref())
            .flatten()
    }
}

/// The attributes only HTTPS listeners have: the names of the headers
/// that carry the client certificate and TLS details to targets, and
/// AWS's default names (reported; the local balancer adds no such
/// header, as it terminates no TLS).
pub const HTTPS_LISTENER_HEADERS: &[(&str, &str)] = &[
    (
        "x_amzn_mtls_clientcert_serial_number",
        "X-Amzn-Mtls-Clientcert-Serial-Number",
    ),
    (
        "x_amzn_mtls_clientcert_issuer",
        "X-Amzn-Mtls-Clientcert-Issuer",
    ),
    (
        "x_amzn_mtls_clientcert_subject",
        "X-Amzn-Mtls-Clientcert-Subject",
    ),
    (
        "x_amzn_mtls_clientcert_validity",
        "X-Amzn-Mtls-Clientcert-Validity",
    ),
    ("x_amzn_mtls_clientcert_leaf", "X-Amzn-Mtls-Clientcert-Leaf"),
    ("x_amzn_mtls_clientcert", "X-Amzn-Mtls-Clientcert"),
    ("x_amzn_tls_version", "X-Amzn-Tls-Version"),
    ("x_amzn_tls_cipher_suite", "X-Amzn-Tls-Cipher-Suite"),
];

/// The attribute key of one of [`HTTPS_LISTENER_HEADERS`].
pub fn https_header_attribute(header: &str) -> String {
    format!("routing.http.request.{header}.header_name")
}

/// AWS's defaults of the HTTPS-only listener attributes.
pub fn https_listener_attributes() -> std::collections::BTreeMap<String, String> {
    HTTPS_LISTENER_HEADERS
        .iter()
        .map(|(h, name)| (https_header_attribute(h), name.to_string()))
        .collect()
}

/// A trust store (mTLS CA bundle).
///
/// The emulator cannot read S3, so the bundle is its location only
/// (bucket, key, version), never its certificates. AWS refuses a bundle
/// without a CA certificate (`InvalidCaCertificatesBundle`), so every
/// store AWS accepts holds at least one: [`TrustStore::ca_certificates`]
/// reports that minimum, 1. No revocation lists can be added, so
/// `TotalRevokedEntries` is 0. A store is `ACTIVE` at once (AWS passes
/// through `CREATING` while it reads the bundle).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrustStore {
    pub arn: String,
    pub name: String,
    pub bucket: String,
    pub key: String,
    pub object_version: Option<String>,
    pub created_time: f64,
}

impl TrustStore {
    /// `NumberOfCaCertificates` (see the type's documentation).
    pub fn ca_certificates(&self) -> u32 {
        1
    }
}

/// A load balancer's LCU reservation (ModifyCapacityReservation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CapacityReservation {
    /// `MinimumLoadBalancerCapacity.CapacityUnits`; `None`: no reservation.
    pub capacity_units: Option<u32>,
    /// Epoch seconds of the last change.
    pub last_modified_time: f64,
    /// Epoch seconds of this window's decreases (a day's window).
    pub decreases: Vec<f64>,
}

/// Whether `arn` has the form of an ACM certificate or IAM server
/// certificate ARN (what AWS accepts as a listener certificate).
pub fn is_certificate_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[1].is_empty() {
        return false;
    }
    let (service, region, account, resource) = (parts[2], parts[3], parts[4], parts[5]);
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    match service {
        "acm" => {
            !region.is_empty()
                && account_ok
                && resource
                    .strip_prefix("certificate/")
                    .is_some_and(|id| !id.is_empty())
        }
        "iam" => {
            region.is_empty()
                && account_ok
                && resource
                    .strip_prefix("server-certificate/")
                    .is_some_and(|n| !n.is_empty())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_arns_are_acm_or_iam() {
        for ok in [
            "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
            "arn:aws:iam::123456789012:server-certificate/my-cert",
            "arn:aws:iam::123456789012:server-certificate/path/my-cert",
        ] {
            assert!(is_certificate_arn(ok), "{ok}");
        }
        for bad in [
            "",
            "cert",
            "arn:aws:acm:us-east-1:123:certificate/x",
            "arn:aws:acm::123456789012:certificate/x",
            "arn:aws:iam:us-east-1:123456789012:server-certificate/x",
            "arn:aws:acm:us-east-1:123456789012:certificate/",
            "arn:aws:s3:::bucket",
        ] {
            assert!(!is_certificate_arn(bad), "{bad}");
        }
    }
}
