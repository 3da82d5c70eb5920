//! Regular expressions as CloudWatch Logs users write them in `%regex%`
//! filter patterns and Logs Insights `like /re/`, `=~ /re/` and
//! `parse ... /re/`: the `regex` crate (linear time, so no pattern can hang
//! a request), with named groups in both spellings (`(?<name>...)`,
//! `(?P<name>...)`) and `(?i)` for case-insensitive matching.

/// Patterns larger than this once compiled are refused (the `regex`
/// crate's guard against huge repetitions like `a{1000}{1000}`).
const SIZE_LIMIT: usize = 1 << 20;

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Regex(regex::Regex);

impl Regex {
    /// Compiles `pattern`; the error says what is wrong with it.
    pub fn new(pattern: &str) -> Result<Regex, String> {
        regex::RegexBuilder::new(pattern)
            .size_limit(SIZE_LIMIT)
            .build()
            .map(Regex)
            .map_err(|e| match e {
                regex::Error::Syntax(m) => m.lines().last().unwrap_or_default().trim().to_string(),
                regex::Error::CompiledTooBig(_) => "the expression is too large".into(),
                other => other.to_string(),
            })
    }

    /// Does `text` contain a match?
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }

    /// The named groups of the first match, by name (an unmatched group
    /// is empty).
    pub fn named_captures(&self, text: &str) -> Option<Vec<(String, String)>> {
        let caps = self.0.captures(text)?;
        Some(
            self.group_names()
                .into_iter()
                .map(|name| {
                    let value = caps.name(&name).map_or("", |m| m.as_str()).to_string();
                    (name, value)
                })
                .collect(),
        )
    }

    /// The names of the named groups, in order.
    pub fn group_names(&self) -> Vec<String> {
        self.0
            .capture_names()
            .flatten()
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).unwrap().is_match(t)
    }

    #[test]
    fn matches_what_log_searches_use() {
        assert!(m("error", "an error here"));
        assert!(!m("error", "an ERROR here"));
        assert!(m("(?i)error", "an ERROR here"));
        assert!(m("^GET /api/\\d+ (200|404)$", "GET /api/42 404"));
        assert!(!m("^GET /api/\\d+ (200|404)$", "GET /api/42 500"));
        assert!(m("status=[45]\\d\\d", "x status=503 y"));
        assert!(m("a.*b.*c", "xxaYYbZZc"));
        assert!(!m("a.*b.*c", "xxaYYcZZb"));
        assert!(m("colou?r", "color") && m("colou?r", "colour"));
        assert!(m("^x{2,3}$", "xxx") && !m("^x{2,3}$", "xxxx"));
        assert!(m("\\bid\\b", "the id is") && !m("\\bid\\b", "the idea"));
        assert!(m("^(ab)+$", "ababab") && !m("^(ab)+$", "ababa"));
        assert!(m("[^a-z ]", "abc 1"));
        assert!(Regex::new("(unclosed").is_err());
        assert!(Regex::new("*x").is_err());
        assert!(Regex::new("[z-a]").is_err());
    }

    #[test]
    fn named_groups_capture_and_lazy_quantifiers_stop_early() {
        let re = Regex::new("user=(?<user>\\w+) took (?<ms>\\d+)ms").unwrap();
        assert_eq!(
            re.named_captures("GET / user=ann took 35ms").unwrap(),
            vec![("user".into(), "ann".into()), ("ms".into(), "35".into())]
        );
        let lazy = Regex::new("<(?<tag>.+?)>").unwrap();
        assert_eq!(lazy.named_captures("<a><b>").unwrap()[0].1, "a");
    }

    #[test]
    fn catastrophic_patterns_cannot_hang_a_request() {
        let text = format!("{}!", "a".repeat(40));
        assert!(!m("^(a|aa)+$", &text));
    }

    #[test]
    fn long_lines_do_not_recurse_per_character() {
        let line = "x".repeat(200_000) + "needle";
        assert!(m(".*needle", &line));
    }
}
