//! `MaxResults` / `NextToken` of the Describe calls: a page holds 1 to 50
//! items (50 when not asked).

use super::{validation, AutoScalingError};
use crate::model::autoscaling::{Paging, MAX_PAGE};

/// One page of `items` (each with its store key, in the order listed;
/// `newest_first`: keys descending) and the token of the next page (see
/// [`crate::page`]).
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
    let items: Vec<(String, T)> = items.into_iter().collect();
    crate::page::page(
        "application-autoscaling",
        items,
        paging.next_token.as_deref(),
        max,
        newest_first,
    )
    .map_err(|()| AutoScalingError::InvalidNextToken("Invalid NextToken.".into()))
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
        // A token of another service's list is not one of ours.
        let foreign = crate::page::encode("elbv2", &"k001");
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
