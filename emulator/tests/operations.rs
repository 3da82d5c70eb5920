//! README's list of the operations each service answers is the code's:
//! the names are read from each service's wire dispatch, so the list
//! cannot drift. On a mismatch the expected block is printed, ready to
//! paste between the markers.

use std::collections::BTreeSet;

/// Each service and the source files whose `"Operation" =>` match arms
/// dispatch its operations.
const SERVICES: &[(&str, &[&str])] = &[
    ("ECS", &["src/ecs/wire/mod.rs", "src/ecs/wire/services.rs"]),
    ("ELBv2", &["src/elbv2/wire/parse.rs"]),
    ("Application Auto Scaling", &["src/autoscaling/wire.rs"]),
    ("CloudWatch Logs", &["src/logs/mod.rs"]),
    ("SSM", &["src/secrets/ssm.rs"]),
    ("Secrets Manager", &["src/secrets/secretsmanager.rs"]),
    ("ECR", &["src/ecr/wire.rs"]),
    ("EC2 (reads for set-up scripts)", &["src/ec2/wire.rs"]),
];

/// `"Name" =>` and `"A" | "B" =>` at the start of a line.
fn operations(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in source.lines() {
        let t = line.trim_start();
        if !t.starts_with('"') {
            continue;
        }
        let Some((arms, _)) = t.split_once("=>") else {
            continue;
        };
        for arm in arms.split('|') {
            let name = arm.trim().trim_matches('"');
            if !name.is_empty()
                && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && name.chars().all(|c| c.is_ascii_alphanumeric())
            {
                out.insert(name.to_string());
            }
        }
    }
    out
}

#[test]
fn readme_lists_every_operation_the_code_answers() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut block = String::new();
    for (service, files) in SERVICES {
        let mut ops = BTreeSet::new();
        for f in *files {
            let src = std::fs::read_to_string(format!("{root}/{f}")).unwrap();
            ops.extend(operations(&src));
        }
        assert!(
            !ops.is_empty(),
            "{service}: no operations found in {files:?}"
        );
        let list: Vec<String> = ops.into_iter().collect();
        block.push_str(&format!(
            "- {service} ({}): {}.\n",
            list.len(),
            list.join(", ")
        ));
    }
    let readme = std::fs::read_to_string(format!("{root}/../README.md")).unwrap();
    let start = "<!-- operations: generated";
    let end = "<!-- /operations -->";
    let s = readme
        .find(start)
        .expect("README has the operations markers");
    let body_start = readme[s..].find('\n').unwrap() + s + 1;
    let e = readme.find(end).expect("README has the closing marker");
    let current = &readme[body_start..e];
    assert_eq!(
        current, block,
        "README's operation list is stale; between the markers put:\n{block}"
    );
}
