//! Trust stores for mutual TLS: Create/Describe/Modify/DeleteTrustStore,
//! DescribeTrustStoreAssociations, and GetResourcePolicy.
//!
//! A store keeps its CA bundle's S3 location only: the emulator cannot
//! read S3, so it is `ACTIVE` at once and reports the one CA certificate
//! every bundle AWS accepts has at least (see
//! [`crate::model::elb::tls::TrustStore`]). An HTTPS listener whose
//! `MutualAuthentication` is `verify` with a store associates the store
//! with the listener's load balancer: DescribeTrustStoreAssociations lists
//! it, and DeleteTrustStore is refused (`TrustStoreInUse`) until no
//! listener uses the store any more.

use super::command::{ElbCommand, ElbReply};
use super::error::{validation, ElbError};
use super::page::{paged, position_key};
use crate::db::state::ElbState;
use crate::model::arn::ElbArns;
use crate::model::elb::new_id;
use crate::model::elb::tls::TrustStore;

/// Trust stores per account and region.
pub const TRUST_STORES: usize = 20;

/// `^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$`, 1-32 characters.
fn check_name(name: &str) -> Result<(), ElbError> {
    let ok = (1..=32).contains(&name.len())
        && name
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "Trust store name '{name}' is not valid: it must be 1-32 alphanumeric characters or hyphens, and must not begin or end with a hyphen or hold two in a row"
        )))
    }
}

fn check_bundle(bucket: &str, key: &str) -> Result<(), ElbError> {
    if bucket.is_empty() || key.is_empty() {
        return Err(validation(
            "The CA certificates bundle's S3 bucket and key must be specified",
        ));
    }
    Ok(())
}

fn store<'a>(st: &'a ElbState, arn: &str) -> Result<&'a TrustStore, ElbError> {
    st.trust_stores
        .get(arn)
        .ok_or_else(|| ElbError::TrustStoreNotFound(arn.to_string()))
}

/// The load balancers whose listeners verify clients with the store.
pub fn associations(st: &ElbState, arn: &str) -> Vec<String> {
    let mut out: Vec<String> = st
        .listeners
        .values()
        .filter(|l| {
            l.tls
                .as_ref()
                .and_then(|t| t.mutual_authentication.as_ref())
                .and_then(|m| m.verified_by())
                == Some(arn)
        })
        .map(|l| l.load_balancer_arn.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The trust store operations and GetResourcePolicy.
pub fn handle(st: &mut ElbState, arns: &ElbArns, cmd: ElbCommand) -> Result<ElbReply, ElbError> {
    match cmd {
        ElbCommand::CreateTrustStore {
            name,
            bucket,
            key,
            object_version,
            tags: _,
        } => {
            check_name(&name)?;
            check_bundle(&bucket, &key)?;
            if st.trust_stores.values().any(|t| t.name == name) {
                return Err(ElbError::DuplicateTrustStoreName(name));
            }
            if st.trust_stores.len() >= TRUST_STORES {
                return Err(ElbError::TooManyTrustStores(format!(
                    "An account can have at most {TRUST_STORES} trust stores"
                )));
            }
            let t = TrustStore {
                arn: format!(
                    "arn:aws:elasticloadbalancing:{}:{}:truststore/{name}/{}",
                    arns.region,
                    arns.account,
                    new_id()
                ),
                name,
                bucket,
                key,
                object_version,
                created_time: crate::model::now_epoch(),
            };
            st.trust_stores.insert(t.arn.clone(), t.clone());
            Ok(ElbReply::TrustStores(vec![t]))
        }
        ElbCommand::DescribeTrustStores {
            arns: want,
            names,
            page,
        } => {
            if !want.is_empty() && !names.is_empty() {
                return Err(validation(
                    "Trust store ARNs and names cannot be specified together",
                ));
            }
            let items: Vec<(String, TrustStore)> = if !want.is_empty() {
                want.iter()
                    .enumerate()
                    .map(|(i, a)| Ok((position_key(i), store(st, a)?.clone())))
                    .collect::<Result<_, ElbError>>()?
            } else if !names.is_empty() {
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        st.trust_stores
                            .values()
                            .find(|t| t.name == *n)
                            .map(|t| (position_key(i), t.clone()))
                            .ok_or_else(|| ElbError::TrustStoreNotFound(n.clone()))
                    })
                    .collect::<Result<_, ElbError>>()?
            } else {
                st.trust_stores
                    .values()
                    .map(|t| (t.arn.clone(), t.clone()))
                    .collect()
            };
            paged(items, &page, ElbReply::TrustStores)
        }
        ElbCommand::ModifyTrustStore {
            arn,
            bucket,
            key,
            object_version,
        } => {
            check_bundle(&bucket, &key)?;
            let mut t = store(st, &arn)?.clone();
            t.bucket = bucket;
            t.key = key;
            t.object_version = object_version;
            st.trust_stores.insert(arn, t.clone());
            Ok(ElbReply::TrustStores(vec![t]))
        }
        ElbCommand::DeleteTrustStore { arn } => {
            store(st, &arn)?;
            let users = associations(st, &arn);
            if !users.is_empty() {
                return Err(ElbError::TrustStoreInUse(format!(
                    "Trust store '{arn}' is in use by load balancer '{}'",
                    users.join("', '")
                )));
            }
            st.trust_stores.remove(&arn);
            Ok(ElbReply::Empty)
        }
        ElbCommand::DescribeTrustStoreAssociations { arn, page } => {
            store(st, &arn)?;
            let items = associations(st, &arn)
                .into_iter()
                .map(|a| (a.clone(), a))
                .collect();
            paged(items, &page, ElbReply::TrustStoreAssociations)
        }
        ElbCommand::GetResourcePolicy { arn } => {
            // No ELBv2 resource here carries a resource policy (AWS's come
            // from sharing a trust store through RAM).
            let exists =
                st.trust_stores.contains_key(&arn) || super::tags::check_resource(st, &arn).is_ok();
            Err(ElbError::ResourceNotFound(if exists {
                format!("The resource '{arn}' has no resource policy")
            } else {
                format!("The resource '{arn}' was not found")
            }))
        }
        other => Err(ElbError::Internal(format!(
            "misrouted ELBv2 command {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_model_pattern() {
        for ok in ["a", "my-store", "A1-b2-C3", &"x".repeat(32)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "a_b", "a.b", &"x".repeat(33)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
