//! A Query-parameter client of an in-memory emulator (fake container
//! runtime) for the ELBv2 tests of `elb_more` and `elb_trust`, and
//! readers of the XML answers.

#![allow(dead_code)]

use super::common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use emulator::app::{start_with_runtime, Config};
use emulator::runtime::testing::FakeRuntime;

pub const CERT_A: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/aaaaaaaa-1111-2222-3333-444444444444";
pub const CERT_B: &str = "arn:aws:acm:us-east-1:123456789012:certificate/bbbbbbbb-1111";
pub const CERT_C: &str = "arn:aws:iam::123456789012:server-certificate/c";

/// One emulator, spoken to in Query parameters.
pub struct Elb {
    running: emulator::Running,
    ep: String,
}

impl Elb {
    pub async fn start(dir: &Path) -> Elb {
        let mut config = Config::new(dir.to_path_buf());
        config.api_addr = "127.0.0.1:0".parse().unwrap();
        config.alb_addr = "127.0.0.1:0".parse().unwrap();
        config.ephemeral_listeners = true;
        let running = start_with_runtime(config, Arc::new(FakeRuntime::new()))
            .await
            .unwrap();
        let ep = format!("http://{}/", running.api_addr);
        Elb { running, ep }
    }

    /// Status and body of `action` with `params`.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> (u16, String) {
        let mut pairs = vec![("Action", action), ("Version", "2015-12-01")];
        pairs.extend_from_slice(params);
        let resp = reqwest::Client::new()
            .post(&self.ep)
            .header("authorization", common::AUTH)
            .form(&pairs)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub async fn ok(&self, action: &str, params: &[(&str, &str)]) -> String {
        let (status, body) = self.call(action, params).await;
        assert_eq!(status, 200, "{action} {params:?}: {body}");
        assert!(
            body.contains(&format!("<{action}Result>")),
            "{action}: {body}"
        );
        body
    }

    /// Asserts the ELBv2 XML error envelope with `code`.
    pub async fn err(&self, action: &str, params: &[(&str, &str)], code: &str) -> String {
        let (status, body) = self.call(action, params).await;
        assert_eq!(status, 400, "{action} {params:?}: {body}");
        let want = format!(
            "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>"
        );
        assert!(body.starts_with(&want), "{action}: wanted {code}: {body}");
        assert!(body.contains("<RequestId>"), "{body}");
        body
    }

    pub async fn stop(self) {
        self.running.stop(Duration::from_secs(5)).await;
    }

    /// A load balancer on two subnets, a target group, and an HTTP
    /// listener on port 80: (load balancer, target group, listener).
    pub async fn world(&self) -> (String, String, String) {
        let lb = self
            .ok(
                "CreateLoadBalancer",
                &[
                    ("Name", "web"),
                    ("Subnets.member.1", "subnet-1"),
                    ("Subnets.member.2", "subnet-2"),
                ],
            )
            .await;
        let lb = value(&lb, "LoadBalancerArn");
        let tg = self
            .ok("CreateTargetGroup", &[("Name", "tg"), ("Port", "80")])
            .await;
        let tg = value(&tg, "TargetGroupArn");
        let http = self.listener(&lb, &tg, "80", &[]).await.unwrap();
        (lb, tg, http)
    }

    /// CreateListener forwarding to `tg`: the listener ARN, or the error
    /// code.
    pub async fn listener(
        &self,
        lb: &str,
        tg: &str,
        port: &str,
        extra: &[(&str, &str)],
    ) -> Result<String, String> {
        let mut p = vec![
            ("LoadBalancerArn", lb),
            ("Port", port),
            ("DefaultActions.member.1.Type", "forward"),
            ("DefaultActions.member.1.TargetGroupArn", tg),
        ];
        p.extend_from_slice(extra);
        let (status, body) = self.call("CreateListener", &p).await;
        if status == 200 {
            Ok(value(&body, "ListenerArn"))
        } else {
            Err(value(&body, "Code"))
        }
    }

    /// Every page of a paged call, `PageSize` `size`, by `tag` values.
    pub async fn pages(
        &self,
        action: &str,
        params: &[(&str, &str)],
        size: &str,
        tag: &str,
    ) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut p = params.to_vec();
            p.push(("PageSize", size));
            if let Some(m) = &marker {
                p.push(("Marker", m));
            }
            let body = self.ok(action, &p).await;
            out.push(values(&body, tag));
            match values(&body, "NextMarker").pop() {
                Some(m) => marker = Some(m),
                None => return out,
            }
        }
    }
}

/// Every text of `<tag>` in `body`, in order (of a nested tag, the
/// innermost).
pub fn values(body: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    body.split(&open)
        .skip(1)
        .filter_map(|s| s.find(&close).map(|end| s[..end].to_string()))
        .collect()
}

pub fn value(body: &str, tag: &str) -> String {
    values(body, tag)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {tag} in {body}"))
}

/// (CertificateArn, IsDefault) of a certificates answer.
pub fn certificates(body: &str) -> Vec<(String, String)> {
    values(body, "CertificateArn")
        .into_iter()
        .zip(values(body, "IsDefault"))
        .collect()
}
