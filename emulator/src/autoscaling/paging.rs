//! `MaxResults` / `NextToken` of the Describe calls: a page holds 1 to 50
//! items (50 when not asked); the token is opaque to the caller and names
//! the store key of the first item of the next page, so a page boundary
//! holds when items before it come and go.

use base64::Engine as _;

use super::{validation, AutoScalingError};
use crate::model::autoscaling::{Paging, MAX_PAGE};

const TOKEN_PREFIX: &str = "asg1:";

fn encode(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{key}"))
}

fn decode(token: &str) -> Result<String, AutoScalingError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(TOKEN_PREFIX).map(str::to_string))
        .ok_or_else(|| AutoScalingError::InvalidNextToken("Invalid NextToken.".into()))
}

/// One page of `items` (each with its store key, in the order listed;
/// `newest_first`: keys descending) and the token of the next page.
pub fn page<T>(
    items: impl IntoIterator<Item = (String, T)>,
    paging: &Paging,
    newest_first: bool,
) -> Result<(Vec<T>, Option<String>), AutoScalingError> {
    let max = match paging.max_results {
        None => MAX_PAGE,
        Some(n) if (1..=MAX_PAGE as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(validation(format!(
                "MaxResults must be between 1 and {MAX_PAGE} (got {n})."
            )))
        }
    };
    let start = paging
        .next_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(decode)
        .transpose()?;
    let mut rest = items.into_iter().skip_while(|(k, _)| match &start {
        Some(s) if newest_first => k > s,
        Some(s) => k < s,
        None => false,
    });
    let out: Vec<T> = rest.by_ref().take(max).map(|(_, v)| v).collect();
    let next = rest.next().map(|(k, _)| encode(&k));
    Ok((out, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<(String, usize)> {
        (0..n).map(|i| (format!("k{i:03}"), i)).collect()
    }

    fn paging(max: Option<i64>, token: Option<String>) -> Paging {
        Paging {
            max_results: max,
            next_token: token,
        }
    }

    #[test]
    fn pages_walk_every_item_once() {
        let (a, t) = page(items(5), &paging(Some(2), None), false).unwrap();
        assert_eq!(a, vec![0, 1]);
        let (b, t) = page(items(5), &paging(Some(2), t), false).unwrap();
        assert_eq!(b, vec![2, 3]);
        let (c, t) = page(items(5), &paging(Some(2), t), false).unwrap();
        assert_eq!((c, t), (vec![4], None));
        let rev: Vec<_> = items(5).into_iter().rev().collect();
        let (a, t) = page(rev.clone(), &paging(Some(3), None), true).unwrap();
        assert_eq!(a, vec![4, 3, 2]);
        let (b, t) = page(rev, &paging(Some(3), t), true).unwrap();
        assert_eq!((b, t), (vec![1, 0], None));
        let (all, t) = page(items(60), &paging(None, None), false).unwrap();
        assert_eq!((all.len(), t.is_some()), (50, true));
    }

    #[test]
    fn bad_tokens_and_sizes_are_refused() {
        assert!(matches!(
            page(items(3), &paging(None, Some("nope!".into())), false),
            Err(AutoScalingError::InvalidNextToken(_))
        ));
        let foreign = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("k001");
        assert!(matches!(
            page(items(3), &paging(None, Some(foreign)), false),
            Err(AutoScalingError::InvalidNextToken(_))
        ));
        for n in [0, 51, -1] {
            assert!(matches!(
                page(items(3), &paging(Some(n), None), false),
                Err(AutoScalingError::Validation(_))
            ));
        }
    }
}
