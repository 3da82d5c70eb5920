use super::*;

fn rec(ms: i64, msg: &str) -> Record {
    let mut r = Record::new();
    json_fields(msg, &mut r);
    r.insert("@timestamp".into(), Val::Time(ms));
    r.insert("@message".into(), Val::Str(msg.into()));
    r.insert("@ptr".into(), Val::Str(format!("p{ms}")));
    r
}

fn run(q: &str, recs: Vec<Record>) -> Outcome {
    Query::parse(q).unwrap().run(recs, 10_000)
}

fn sample() -> Vec<Record> {
    vec![
        rec(1000, r#"{"level":"info","ms":10,"msg":"ok"}"#),
        rec(2000, r#"{"level":"error","ms":30,"msg":"boom"}"#),
        rec(3000, r#"{"level":"error","ms":50,"msg":"bang"}"#),
        rec(4000, "plain text line with error inside"),
    ]
}

#[test]
fn filter_sort_and_limit_pick_the_newest_matches() {
    let out = run(
        "fields @timestamp, @message | filter @message like /error/ | sort @timestamp desc | limit 2",
        sample(),
    );
    assert_eq!(out.rows.len(), 2);
    assert_eq!(
        out.rows[0][0],
        ("@timestamp".into(), "1970-01-01 00:00:04.000".into())
    );
    assert_eq!(out.rows[0][2], ("@ptr".into(), "p4000".into()));
    assert!(out.rows[1][1].1.contains("bang"));
    assert_eq!(out.matched, 3);
    let out = run("filter level = 'error' and ms > 40 | fields msg", sample());
    assert_eq!(
        out.rows,
        vec![vec![
            ("msg".into(), "bang".into()),
            ("@ptr".into(), "p3000".into())
        ]]
    );
    let out = run(
        "filter @message not like \"error\" or level in ['x', 'info'] | display msg",
        sample(),
    );
    assert_eq!(out.rows.len(), 1);
}

#[test]
fn stats_group_and_aggregate() {
    let out = run(
        "stats count(*), avg(ms) as mean, max(ms) by level",
        sample(),
    );
    assert_eq!(
        out.rows[0],
        vec![
            ("level".to_string(), "error".to_string()),
            ("count(*)".into(), "2".into()),
            ("mean".into(), "40".into()),
            ("max(ms)".into(), "50".into()),
        ]
    );
    assert_eq!(out.rows[1][1], ("count(*)".into(), "1".into()));
    // The text line has no level: its group has no level field.
    assert_eq!(out.rows.len(), 3);
    let out = run("stats count(*) as n by bin(1h) | sort n desc", sample());
    assert_eq!(
        out.rows[0],
        vec![
            ("bin(1h)".to_string(), "1970-01-01 00:00:00.000".to_string()),
            ("n".into(), "4".into())
        ]
    );
}

#[test]
fn parse_extracts_fields_by_glob_and_regex() {
    let recs = vec![rec(1, "GET /a 200 12ms"), rec(2, "POST /b 500 80ms")];
    let out = run("parse @message '* * * *ms' as method, path, status, took | filter status >= 500 | fields path, took", recs.clone());
    assert_eq!(
        out.rows[0][..2],
        [("path".into(), "/b".into()), ("took".into(), "80".into())]
    );
    let out = run(
        r"parse @message /(?<verb>[A-Z]+) (?<p>\S+)/ | stats count(*) by verb",
        recs,
    );
    assert_eq!(out.rows.len(), 2);
}

#[test]
fn what_is_not_understood_is_malformed() {
    for q in [
        "",
        "fields",
        "filter @message like",
        "sort",
        "limit 0",
        "stats median(x)",
        "frobnicate x",
        "fields a | | fields b",
        "filter x = 'unterminated",
        "filter @message like /(/",
        "parse @message '* *' as a",
    ] {
        assert!(Query::parse(q).is_err(), "{q}");
    }
    let e = Query::parse("fields @message | frobnicate").unwrap_err();
    assert!(e.0.contains("frobnicate"), "{}", e.0);
}
