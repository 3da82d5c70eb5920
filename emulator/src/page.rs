//! Pagination of every List/Describe operation of every service (ECS,
//! ELBv2, CloudWatch Logs, SSM, Secrets Manager, Application Auto
//! Scaling): an opaque token naming the key of the last item a page
//! returned, so the next page starts after it even when items were added
//! or removed in between. A token from another operation, or one that was
//! not ours, is refused; each service answers that in its own error.

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A token for operation `kind` resuming after `key`.
pub(crate) fn encode<K: Serialize>(kind: &str, key: &K) -> String {
    let body = serde_json::json!({"k": kind, "a": key});
    B64.encode(body.to_string())
}

/// The key a token of operation `kind` resumes after; `None` if it is not
/// such a token.
pub(crate) fn decode<K: DeserializeOwned>(kind: &str, token: &str) -> Option<K> {
    let bytes = B64.decode(token.trim()).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if v.get("k")?.as_str()? != kind {
        return None;
    }
    serde_json::from_value(v.get("a")?.clone()).ok()
}

/// One page of `items` (already in list order, by key, ascending or
/// `descending`), starting after the token's key, and the token of the
/// next page if any is left. `Err(())`: the token is not valid.
#[allow(clippy::result_unit_err)]
pub(crate) fn page<K, V>(
    kind: &str,
    items: Vec<(K, V)>,
    token: Option<&str>,
    limit: usize,
    descending: bool,
) -> Result<(Vec<V>, Option<String>), ()>
where
    K: Ord + Serialize + DeserializeOwned,
{
    let after: Option<K> = match token.filter(|t| !t.is_empty()) {
        Some(t) => Some(decode(kind, t).ok_or(())?),
        None => None,
    };
    let mut rest = items.into_iter().filter(|(k, _)| match &after {
        Some(a) if descending => k < a,
        Some(a) => k > a,
        None => true,
    });
    let mut out: Vec<(K, V)> = rest.by_ref().take(limit.max(1)).collect();
    let next = match (rest.next(), out.last()) {
        (Some(_), Some((k, _))) => Some(encode(kind, k)),
        _ => None,
    };
    Ok((out.drain(..).map(|(_, v)| v).collect(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_resume_after_the_last_key_and_refuse_foreign_tokens() {
        let items = || (1..=5).map(|i| (i, i * 10)).collect::<Vec<(i32, i32)>>();
        let (p1, t1) = page("x", items(), None, 2, false).unwrap();
        assert_eq!(p1, vec![10, 20]);
        let (p2, t2) = page("x", items(), t1.as_deref(), 2, false).unwrap();
        assert_eq!(p2, vec![30, 40]);
        let (p3, t3) = page("x", items(), t2.as_deref(), 2, false).unwrap();
        assert_eq!((p3, t3), (vec![50], None));
        assert!(page("y", items(), t1.as_deref(), 2, false).is_err());
        assert!(page("x", items(), Some("garbage!"), 2, false).is_err());
        let desc: Vec<(i32, i32)> = items().into_iter().rev().collect();
        let (d1, dt) = page("x", desc.clone(), None, 3, true).unwrap();
        assert_eq!(d1, vec![50, 40, 30]);
        let (d2, _) = page("x", desc, dt.as_deref(), 3, true).unwrap();
        assert_eq!(d2, vec![20, 10]);
    }
}
