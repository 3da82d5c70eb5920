//! Pagination of the Describe calls, as AWS: `PageSize` (1-400, checked
//! by the wire; 400 when not given) items from after `Marker`, and a
//! `NextMarker` while more remain.
//!
//! Every list is built as `(key, item)` in ascending key order (the ARN
//! for the whole collection, the position for the ARNs or names asked
//! for, the priority for rules); a marker is the opaque (base64) key of
//! the last item of its page, so the next page starts after it even when
//! that item was deleted meanwhile.

use base64::Engine as _;

use super::command::{ElbReply, Page};
use super::error::{validation, ElbError};

/// Items per page when `PageSize` is not given (AWS's maximum).
pub const DEFAULT_PAGE_SIZE: u32 = 400;

const PREFIX: &str = "elbv2-marker:";

fn encode(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{PREFIX}{key}"))
}

fn decode(marker: &str) -> Result<String, ElbError> {
    let invalid = || validation(format!("Invalid Marker: '{marker}'"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(marker)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(PREFIX)
        .map(str::to_string)
        .ok_or_else(invalid)
}

/// The key of the i-th item of a list kept in request order.
pub fn position_key(i: usize) -> String {
    format!("{i:08}")
}

/// One page of `items` (ascending keys) and the marker of the next.
pub fn paginate<T>(
    mut items: Vec<(String, T)>,
    page: &Page,
) -> Result<(Vec<T>, Option<String>), ElbError> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let start = match &page.marker {
        None => 0,
        Some(m) => {
            let after = decode(m)?;
            items.partition_point(|(k, _)| *k <= after)
        }
    };
    let size = page.size.unwrap_or(DEFAULT_PAGE_SIZE).max(1) as usize;
    let more = items.len() > start + size;
    let out: Vec<(String, T)> = items.into_iter().skip(start).take(size).collect();
    let next = if more {
        out.last().map(|(k, _)| encode(k))
    } else {
        None
    };
    Ok((out.into_iter().map(|(_, v)| v).collect(), next))
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
