//! The `*` / `?` wildcard matcher shared by every rule condition.
//!
//! AWS condition values use two wildcards: `*` matches zero or more
//! characters and `?` matches exactly one. Nothing else is special. The
//! matcher is the classic linear two-pointer glob with single-star
//! backtracking, so it is O(len(pattern) * len(text)) in the worst case and
//! never allocates for ASCII input (paths, hosts and query strings almost
//! always are). Non-ASCII input falls back to a `char` comparison so that `?`
//! consumes one character, not one byte.

/// Whether `text` matches `pattern`; `case_insensitive` folds ASCII case
/// (host-header, http-header and query-string conditions).
pub fn matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        glob(pattern.as_bytes(), text.as_bytes(), |a, b| {
            if case_insensitive {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        })
    } else {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        glob(&p, &t, |a: &char, b: &char| {
            if case_insensitive {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        })
    }
}

trait Wild {
    fn is_star(&self) -> bool;
    fn is_question(&self) -> bool;
}

impl Wild for u8 {
    fn is_star(&self) -> bool {
        *self == b'*'
    }
    fn is_question(&self) -> bool {
        *self == b'?'
    }
}

impl Wild for char {
    fn is_star(&self) -> bool {
        *self == '*'
    }
    fn is_question(&self) -> bool {
        *self == '?'
    }
}

fn glob<T: Wild>(p: &[T], t: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position of the last `*` seen and the text index it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi].is_star() {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi].is_question() || eq(&p[pi], &t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last star swallow one more character and retry.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(Wild::is_star)
}

#[cfg(test)]
mod tests {
    use super::matches;
    use proptest::prelude::*;

    /// Obviously-correct exponential reference implementation.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && reference(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
        }
    }

    #[test]
    fn documented_examples() {
        let cases = [
            ("/img/*", "/img/a.png", true),
            ("/img/*", "/img/", true),
            ("/img/*", "/img", false),
            ("/js/*", "/js/app.js", true),
            ("/start", "/start", true),
            ("/start", "/start/", false),
            ("/start", "/Start", false),
            ("*.example.com", "www.example.com", true),
            ("*.example.com", "example.com", false),
            ("?", "", false),
            ("?", "a", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("*", "", true),
            ("/é?", "/éa", true),
            ("/?", "/é", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(matches(p, t, false), want, "{p:?} vs {t:?}");
        }
        assert!(matches("*.EXAMPLE.com", "www.example.COM", true));
        assert!(!matches("*.EXAMPLE.com", "www.example.COM", false));
    }

    proptest! {
        #[test]
        fn agrees_with_reference(p in "[ab*?]{0,8}", t in "[ab]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(matches(&p, &t, false), reference(&pc, &tc));
        }

        #[test]
        fn agrees_with_reference_unicode(p in "[aé*?]{0,6}", t in "[aé]{0,8}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(matches(&p, &t, false), reference(&pc, &tc));
        }

        #[test]
        fn literal_pattern_matches_itself(t in "[a-zA-Z0-9/._-]{0,20}") {
            prop_assert!(matches(&t, &t, false));
            prop_assert!(matches(&t.to_uppercase(), &t, true));
        }

        #[test]
        fn star_matches_everything(t in ".{0,20}") {
            prop_assert!(matches("*", &t, false));
        }
    }
}
