//! Pagination of the Describe calls, as AWS: `PageSize` (1-400, checked
//! by the wire; 400 when not given) items from after `Marker`, and a
//! `NextMarker` while more remain.
//!
//! Every list is built as `(key, item)` (the ARN for the whole collection,
//! the position for the ARNs or names asked for, the priority for rules);
//! the marker is [`crate::page`]'s token. An empty marker is refused.

use super::command::{ElbReply, Page};
use super::error::{validation, ElbError};

/// Items per page when `PageSize` is not given (AWS's maximum).
pub const DEFAULT_PAGE_SIZE: u32 = 400;

/// The key of the i-th item of a list kept in request order.
pub fn position_key(i: usize) -> String {
    format!("{i:08}")
}

/// One page of `items` and the marker of the next (see [`crate::page`]).
pub fn paginate<T>(
    mut items: Vec<(String, T)>,
    page: &Page,
) -> Result<(Vec<T>, Option<String>), ElbError> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let size = page.size.unwrap_or(DEFAULT_PAGE_SIZE).max(1) as usize;
    let invalid = page.marker.as_deref() == Some("");
    crate::page::page("elbv2", items, page.marker.as_deref(), size, false)
        .ok()
        .filter(|_| !invalid)
        .ok_or_else(|| {
            validation(format!(
                "Invalid Marker: '{}'",
                page.marker.as_deref().unwrap_or_default()
            ))
        })
}

/// A page wrapped as the reply `wrap` makes of its items.
pub fn paged<T>(
    items: Vec<(String, T)>,
    page: &Page,
    wrap: impl FnOnce(Vec<T>) -> ElbReply,
) -> Result<ElbReply, ElbError> {
    let (items, next_marker) = paginate(items, page)?;
    Ok(ElbReply::Paged {
        reply: Box::new(wrap(items)),
        next_marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(n: usize) -> Vec<(String, usize)> {
        (0..n).map(|i| (position_key(i), i)).collect()
    }

    #[test]
    fn pages_cover_everything_once_and_markers_are_checked() {
        let mut seen = Vec::new();
        let mut page = Page {
            size: Some(3),
            marker: None,
        };
        let mut pages = 0;
        loop {
            let (items, next) = paginate(keyed(7), &page).unwrap();
            pages += 1;
            seen.extend(items);
            match next {
                Some(m) => page.marker = Some(m),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
        let (all, next) = paginate(keyed(7), &Page::default()).unwrap();
        assert_eq!((all.len(), next), (7, None));
        for bad in ["!!!", "aGVsbG8", ""] {
            let p = Page {
                size: None,
                marker: Some(bad.into()),
            };
            assert!(matches!(
                paginate(keyed(2), &p),
                Err(ElbError::Validation(_))
            ));
        }
    }
}
