//! HTTPS listeners' TLS settings: the checks CreateListener and
//! ModifyListener make of `Protocol`, `SslPolicy`, `Certificates` and
//! `MutualAuthentication` ([`listener_tls`]), and the certificate list:
//! Add/Remove/DescribeListenerCertificates.
//!
//! A listener's default certificate is the one CreateListener or
//! ModifyListener gave; it is listed first by DescribeListenerCertificates
//! (`IsDefault` true) and cannot be removed. Certificates are ARNs of
//! ACM or IAM server certificates; an ARN of any other form is answered
//! `CertificateNotFound`, as AWS answers it. The local balancer serves
//! HTTPS listeners in plain HTTP (see [`crate::model::elb::tls`]).

use super::command::{CertificateList, ElbCommand, ElbReply, ListenerTlsChange, Page};
use super::error::{validation, ElbError};
use super::page::{paged, position_key};
use super::ssl_policies::{policy, DEFAULT_SSL_POLICY};
use crate::db::state::ElbState;
use crate::model::elb::tls::{
    https_listener_attributes, is_certificate_arn, ListenerTls, MutualAuthentication,
};
use crate::model::elb::Listener;

/// Certificates per Application Load Balancer, default certificates not
/// counted (`certificates-per-application-load-balancer`).
pub const CERTIFICATES_PER_LOAD_BALANCER: usize = 25;

/// The protocols of an Application Load Balancer's listeners.
const PROTOCOLS: &[&str] = &["HTTP", "HTTPS"];

fn check_certificate(arn: &str) -> Result<(), ElbError> {
    if is_certificate_arn(arn) {
        Ok(())
    } else {
        Err(ElbError::CertificateNotFound(arn.to_string()))
    }
}

fn check_mutual_authentication(st: &ElbState, m: &MutualAuthentication) -> Result<(), ElbError> {
    if !["off", "passthrough", "verify"].contains(&m.mode.as_str()) {
        return Err(validation(format!(
            "Mutual authentication mode '{}' is not valid; use off, passthrough or verify",
            m.mode
        )));
    }
    if let Some(a) = m
        .advertise_trust_store_ca_names
        .as_deref()
        .filter(|a| !["on", "off"].contains(a))
    {
        return Err(validation(format!(
            "AdvertiseTrustStoreCaNames '{a}' is not valid; use on or off"
        )));
    }
    if m.mode == "verify" {
        let arn = m.trust_store_arn.as_deref().ok_or_else(|| {
            validation(
                "A trust store ARN must be specified when the mutual authentication mode is verify",
            )
        })?;
        if !st.trust_stores.contains_key(arn) {
            return Err(ElbError::TrustStoreNotFound(arn.to_string()));
        }
    }
    Ok(())
}

/// The TLS settings a listener has after CreateListener (`current`
/// `None`) or ModifyListener, with protocol `protocol`: `None` for HTTP;
/// for HTTPS the certificate given or kept, the policy given, kept or
/// [`DEFAULT_SSL_POLICY`], and the certificate list kept.
pub fn listener_tls(
    st: &ElbState,
    protocol: &str,
    change: ListenerTlsChange,
    current: Option<&ListenerTls>,
) -> Result<Option<ListenerTls>, ElbError> {
    if !PROTOCOLS.contains(&protocol) {
        return Err(validation(format!(
            "Listener protocol '{protocol}' is not supported; use HTTP or HTTPS"
        )));
    }
    if change.certificates.len() > 1 {
        return Err(validation(
            "A listener can have only one default certificate; add more with AddListenerCertificates",
        ));
    }
    for (arn, _) in &change.certificates {
        check_certificate(arn)?;
    }
    if let Some(p) = &change.ssl_policy {
        policy(p)?;
    }
    if let Some(m) = &change.mutual_authentication {
        check_mutual_authentication(st, m)?;
    }
    if protocol == "HTTP" {
        if change.ssl_policy.is_some() || !change.certificates.is_empty() {
            return Err(validation(
                "An SSL policy and certificates can only be specified for HTTPS listeners",
            ));
        }
        if change
            .mutual_authentication
            .as_ref()
            .is_some_and(|m| m.mode != "off")
        {
            return Err(validation(
                "Mutual authentication is only supported by HTTPS listeners",
            ));
        }
        return Ok(None);
    }
    let default_certificate = change
        .certificates
        .into_iter()
        .next()
        .map(|(a, _)| a)
        .or_else(|| current.map(|c| c.default_certificate.clone()))
        .ok_or_else(|| validation("A certificate must be specified for HTTPS listeners"))?;
    let mut mutual_authentication = change
        .mutual_authentication
        .or_else(|| current.and_then(|c| c.mutual_authentication.clone()));
    if let Some(m) = mutual_authentication
        .as_mut()
        .filter(|m| m.mode != "verify")
    {
        m.trust_store_arn = None;
    }
    Ok(Some(ListenerTls {
        ssl_policy: change
            .ssl_policy
            .or_else(|| current.map(|c| c.ssl_policy.clone()))
            .unwrap_or_else(|| DEFAULT_SSL_POLICY.to_string()),
        default_certificate,
        certificates: current.map(|c| c.certificates.clone()).unwrap_or_default(),
        mutual_authentication,
    }))
}

/// `Attributes.member.N`: key, value.
type Attributes = Vec<(String, String)>;

/// ModifyListenerAttributes of an HTTPS listener: the HTTPS-only
/// attributes (header names: 1-40 letters, digits or hyphens), checked,
/// and the rest, left to the common checks. On an HTTP listener they are
/// left too, and refused there.
pub fn split_https_attributes(
    l: &Listener,
    attributes: Attributes,
) -> Result<(Attributes, Attributes), ElbError> {
    if l.tls.is_none() {
        return Ok((Vec::new(), attributes));
    }
    let known = https_listener_attributes();
    let (https, rest): (Vec<_>, Vec<_>) = attributes
        .into_iter()
        .partition(|(k, _)| known.contains_key(k));
    for (k, v) in &https {
        let ok = (1..=40).contains(&v.len())
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(validation(format!(
                "Listener attribute '{k}' value '{v}' is not valid: must be a header name of 1-40 letters, digits or hyphens"
            )));
        }
    }
    Ok((https, rest))
}

fn listener<'a>(st: &'a ElbState, arn: &str) -> Result<&'a Listener, ElbError> {
    st.listeners
        .get(arn)
        .ok_or_else(|| ElbError::ListenerNotFound(arn.to_string()))
}

/// A listener with a certificate list: an HTTPS one.
fn https_listener<'a>(
    st: &'a ElbState,
    arn: &str,
) -> Result<(&'a Listener, &'a ListenerTls), ElbError> {
    let l = listener(st, arn)?;
    let tls = l.tls.as_ref().ok_or_else(|| {
        validation(format!(
            "Listener '{arn}' is {}: only HTTPS listeners have a certificate list",
            l.protocol
        ))
    })?;
    Ok((l, tls))
}

/// The certificate ARNs of an Add/Remove call: at least one, none marked
/// default.
fn certificate_arns(certificates: CertificateList) -> Result<Vec<String>, ElbError> {
    if certificates.is_empty() {
        return Err(validation("At least one certificate must be specified"));
    }
    certificates
        .into_iter()
        .map(|(arn, default)| {
            if default == Some(true) {
                return Err(validation(
                    "The default certificate cannot be changed here; use ModifyListener",
                ));
            }
            Ok(arn)
        })
        .collect()
}

/// AddListenerCertificates, RemoveListenerCertificates,
/// DescribeListenerCertificates.
pub fn handle(st: &mut ElbState, cmd: ElbCommand) -> Result<ElbReply, ElbError> {
    match cmd {
        ElbCommand::AddListenerCertificates { arn, certificates } => {
            let arns = certificate_arns(certificates)?;
            let (l, tls) = https_listener(st, &arn)?;
            for a in &arns {
                check_certificate(a)?;
            }
            let mut asked: Vec<(String, bool)> = Vec::new();
            let mut added: Vec<String> = Vec::new();
            for a in arns {
                if !asked.iter().any(|(c, _)| *c == a) {
                    asked.push((a.clone(), false));
                }
                if !tls.certificates.contains(&a) && !added.contains(&a) {
                    added.push(a);
                }
            }
            let on_lb: usize = st
                .listeners
                .values()
                .filter(|o| o.load_balancer_arn == l.load_balancer_arn)
                .filter_map(|o| o.tls.as_ref())
                .map(|t| t.certificates.len())
                .sum();
            if on_lb + added.len() > CERTIFICATES_PER_LOAD_BALANCER {
                return Err(ElbError::TooManyCertificates(format!(
                    "A load balancer can have at most {CERTIFICATES_PER_LOAD_BALANCER} certificates besides its listeners' default certificates"
                )));
            }
            let mut l = l.clone();
            let tls = l.tls.as_mut().expect("an HTTPS listener");
            tls.certificates.extend(added);
            st.listeners.insert(arn, l);
            // AWS answers with the certificates asked for (one already
            // in the list is not added again).
            Ok(ElbReply::Certificates(asked))
        }
        ElbCommand::RemoveListenerCertificates { arn, certificates } => {
            let arns = certificate_arns(certificates)?;
            let (l, tls) = https_listener(st, &arn)?;
            if arns
                .iter()
                .any(|a| *a == tls.default_certificate && !tls.certificates.contains(a))
            {
                return Err(ElbError::OperationNotPermitted(format!(
                    "The default certificate '{}' of a listener cannot be removed; change it with ModifyListener",
                    tls.default_certificate
                )));
            }
            let mut l = l.clone();
            if let Some(tls) = l.tls.as_mut() {
                tls.certificates.retain(|c| !arns.contains(c));
            }
            st.listeners.insert(arn, l);
            Ok(ElbReply::Empty)
        }
        ElbCommand::DescribeListenerCertificates { arn, page } => describe(st, &arn, &page),
        other => Err(ElbError::Internal(format!(
            "misrouted ELBv2 command {other:?}"
        ))),
    }
}

/// The default certificate first (`IsDefault` true), then the list; an
/// HTTP listener has none.
fn describe(st: &ElbState, arn: &str, page: &Page) -> Result<ElbReply, ElbError> {
    let l = listener(st, arn)?;
    let items: Vec<(String, bool)> = l
        .tls
        .iter()
        .flat_map(|t| {
            std::iter::once((t.default_certificate.clone(), true))
                .chain(t.certificates.iter().map(|c| (c.clone(), false)))
        })
        .collect();
    let keyed = items
        .into_iter()
        .enumerate()
        .map(|(i, c)| (position_key(i), c))
        .collect();
    paged(keyed, page, ElbReply::Certificates)
}
