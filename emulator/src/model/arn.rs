//! Every ARN the emulator makes, in the AWS form, and the parsing of the
//! short names the APIs also accept: the one place ARNs are built.

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
    pub fn service(&self, cluster: &str, name: &str) -> String {
        format!("{}:service/{cluster}/{name}", self.prefix())
    }

    /// `arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }
    pub fn log_group(&self, group: &str) -> String {
        self.arn("logs", &format!("log-group:{group}:*"))
    }
    pub fn log_stream(&self, group: &str, stream: &str) -> String {
        self.arn("logs", &format!("log-group:{group}:log-stream:{stream}"))
    }
    pub fn parameter(&self, name: &str) -> String {
        self.arn(
            "ssm",
            &format!("parameter/{}", name.trim_start_matches('/')),
        )
    }
    /// Secrets Manager appends six random characters to the name.
    pub fn secret(&self, name: &str, suffix: &str) -> String {
        self.arn("secretsmanager", &format!("secret:{name}-{suffix}"))
    }
    pub fn scalable_target(&self, id: &str) -> String {
        self.arn("application-autoscaling", &format!("scalable-target/{id}"))
    }
    pub fn scaling_policy(&self, id: &str, resource_id: &str, name: &str) -> String {
        self.arn(
            "autoscaling",
            &format!("scalingPolicy:{id}:resource/ecs/{resource_id}:policyName/{name}"),
        )
    }
    pub fn alarm(&self, name: &str) -> String {
        self.arn("cloudwatch", &format!("alarm:{name}"))
    }
    /// The service-linked role Application Auto Scaling uses for ECS.
    pub fn ecs_autoscaling_role(&self) -> String {
        format!(
            "arn:aws:iam::{}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
            self.account
        )
    }
}

/// ELBv2 ARNs in the AWS form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElbArns {
    pub region: String,
    pub account: String,
}

impl Default for ElbArns {
    fn default() -> Self {
        ElbArns {
            region: "us-east-1".into(),
            account: "000000000000".into(),
        }
    }
}

/// 16 lowercase hex digits, like AWS's resource ids.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

impl ElbArns {
    fn prefix(&self) -> String {
        format!(
            "arn:aws:elasticloadbalancing:{}:{}",
            self.region, self.account
        )
    }
    pub fn load_balancer(&self, name: &str, id: &str) -> String {
        format!("{}:loadbalancer/app/{name}/{id}", self.prefix())
    }
    pub fn target_group(&self, name: &str, id: &str) -> String {
        format!("{}:targetgroup/{name}/{id}", self.prefix())
    }
    /// `listener/app/NAME/LBID/ID` under the load balancer's ARN.
    pub fn listener(&self, load_balancer_arn: &str, id: &str) -> String {
        format!(
            "{}/{id}",
            load_balancer_arn.replacen(":loadbalancer/", ":listener/", 1)
        )
    }
    /// `listener-rule/app/NAME/LBID/LID/ID` under the listener's ARN.
    pub fn rule(&self, listener_arn: &str, id: &str) -> String {
        format!(
            "{}/{id}",
            listener_arn.replacen(":listener/", ":listener-rule/", 1)
        )
    }
}

/// The ARN of a listener's default rule (derived, so it is stable).
pub fn default_rule_arn(listener_arn: &str) -> String {
    let id: String = listener_arn
        .rsplit('/')
        .next()
        .unwrap_or("")
        .chars()
        .rev()
        .collect();
    format!(
        "{}/{id}",
        listener_arn.replacen(":listener/", ":listener-rule/", 1)
    )
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
