//! ARNs in the AWS form, and resolving the short names the API also accepts.

/// The region and account the emulator pretends to be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub region: String,
    pub account: String,
}

impl Default for Partition {
    fn default() -> Self {
        Partition {
            region: "us-east-1".into(),
            account: "000000000000".into(),
        }
    }
}

impl Partition {
    fn prefix(&self) -> String {
        format!("arn:aws:ecs:{}:{}", self.region, self.account)
    }
    pub fn cluster(&self, name: &str) -> String {
        format!("{}:cluster/{name}", self.prefix())
    }
    pub fn task_definition(&self, family: &str, revision: u32) -> String {
        format!("{}:task-definition/{family}:{revision}", self.prefix())
    }
    pub fn task(&self, cluster: &str, id: &str) -> String {
        format!("{}:task/{cluster}/{id}", self.prefix())
    }
    pub fn container_instance(&self, cluster: &str, id: &str) -> String {
        format!("{}:container-instance/{cluster}/{id}", self.prefix())
    }
    pub fn container(&self, cluster: &str, task_id: &str, name: &str) -> String {
        format!("{}:container/{cluster}/{task_id}/{name}", self.prefix())
    }
}

/// The last path segment of an ARN, or the input when it is not an ARN
/// (`arn:...:cluster/foo` and `foo` both name cluster `foo`).
pub fn short_name(arn_or_name: &str) -> &str {
    if arn_or_name.starts_with("arn:") {
        arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
    } else {
        arn_or_name
    }
}

/// Splits a task definition reference (`family`, `family:rev` or an ARN)
/// into family and optional revision.
pub fn task_definition_ref(r: &str) -> (String, Option<u32>) {
    let tail = if r.starts_with("arn:") {
        r.split_once("task-definition/")
            .map(|(_, t)| t)
            .unwrap_or(r)
    } else {
        r
    };
    match tail.rsplit_once(':') {
        Some((family, rev)) => match rev.parse() {
            Ok(n) => (family.to_string(), Some(n)),
            Err(_) => (tail.to_string(), None),
        },
        None => (tail.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_have_the_aws_form() {
        let p = Partition::default();
        assert_eq!(
            p.task_definition("web", 3),
            "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3"
        );
        assert_eq!(
            p.task("c", "abc"),
            "arn:aws:ecs:us-east-1:000000000000:task/c/abc"
        );
    }

    #[test]
    fn references_resolve() {
        assert_eq!(short_name("arn:aws:ecs:r:a:cluster/foo"), "foo");
        assert_eq!(short_name("foo"), "foo");
        assert_eq!(task_definition_ref("web"), ("web".into(), None));
        assert_eq!(task_definition_ref("web:2"), ("web".into(), Some(2)));
        assert_eq!(
            task_definition_ref("arn:aws:ecs:us-east-1:0:task-definition/web:7"),
            ("web".into(), Some(7))
        );
    }
}
