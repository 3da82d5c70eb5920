//! ELBv2 TLS over the Query API, in memory: DescribeSSLPolicies (AWS's
//! predefined policies, filters, paging) and HTTPS listeners with their
//! default certificate and certificate list.

mod common;
mod elb_query;

use elb_query::*;

#[tokio::test(flavor = "multi_thread")]
async fn ssl_policies_are_aws_predefined_ones_filtered_and_paged() {
    let dir = tempfile::tempdir().unwrap();
    let elb = Elb::start(dir.path()).await;
    let all = elb.ok("DescribeSSLPolicies", &[]).await;
    let names = values(&all, "Name");
    let policies: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("ELBSecurityPolicy-"))
        .collect();
    assert_eq!(policies.len(), 18, "{all}");
    for p in [
        "ELBSecurityPolicy-2016-08",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS-1-2-2017-01",
        "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
    ] {
        assert!(policies.iter().any(|n| *n == p), "{p}");
    }

    let one = elb
        .ok(
            "DescribeSSLPolicies",
            &[("Names.member.1", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06")],
        )
        .await;
    assert_eq!(
        values(&one, "member")
            .iter()
            .filter(|m| m.starts_with("TLSv"))
            .collect::<Vec<_>>(),
        ["TLSv1.2", "TLSv1.3"]
    );
    assert!(
        one.contains(
            "<Ciphers><member><Name>TLS_AES_128_GCM_SHA256</Name><Priority>1</Priority></member>"
        ),
        "{one}"
    );
    assert!(one.contains("<member><Name>ECDHE-RSA-AES256-GCM-SHA384</Name><Priority>7</Priority></member></Ciphers>"), "{one}");
    assert!(one.contains("<SupportedLoadBalancerTypes><member>application</member><member>network</member></SupportedLoadBalancerTypes>"), "{one}");
    let default = elb
        .ok(
            "DescribeSSLPolicies",
            &[("Names.member.1", "ELBSecurityPolicy-2016-08")],
        )
        .await;
    assert_eq!(values(&default, "Priority").len(), 18);
    assert!(default.contains("<SslProtocols><member>TLSv1</member><member>TLSv1.1</member><member>TLSv1.2</member></SslProtocols>"), "{default}");

    elb.err(
        "DescribeSSLPolicies",
        &[
            ("Names.member.1", "ELBSecurityPolicy-2016-08"),
            ("Names.member.2", "ELBSecurityPolicy-Nope"),
        ],
        "SSLPolicyNotFound",
    )
    .await;
    let gateway = elb
        .ok("DescribeSSLPolicies", &[("LoadBalancerType", "gateway")])
        .await;
    assert!(values(&gateway, "Name").is_empty(), "{gateway}");
    elb.err(
        "DescribeSSLPolicies",
        &[("LoadBalancerType", "classic")],
        "ValidationError",
    )
    .await;

    // Pages of 5 cover the 18 once, in order; a bad marker is refused.
    let pages = elb
        .pages(
            "DescribeSSLPolicies",
            &[("LoadBalancerType", "application")],
            "5",
            "SslProtocols",
        )
        .await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 5, 3]);
    elb.err(
        "DescribeSSLPolicies",
        &[("Marker", "garbage")],
        "ValidationError",
    )
    .await;
    elb.err(
        "DescribeSSLPolicies",
        &[("PageSize", "401")],
        "ValidationError",
    )
    .await;
    elb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn https_listeners_keep_a_default_certificate_and_a_certificate_list() {
    let dir = tempfile::tempdir().unwrap();
    let elb = Elb::start(dir.path()).await;
    let (lb, tg, http) = elb.world().await;
    let https = [("Protocol", "HTTPS")];
    let cert = |c: &'static str| {
        [
            ("Protocol", "HTTPS"),
            ("Certificates.member.1.CertificateArn", c),
        ]
    };

    // What CreateListener refuses.
    assert_eq!(
        elb.listener(&lb, &tg, "443", &https).await,
        Err("ValidationError".into())
    );
    assert_eq!(
        elb.listener(&lb, &tg, "443", &cert("not-an-arn")).await,
        Err("CertificateNotFound".into())
    );
    let mut bad_policy = cert(CERT_A).to_vec();
    bad_policy.push(("SslPolicy", "ELBSecurityPolicy-1999-01"));
    assert_eq!(
        elb.listener(&lb, &tg, "443", &bad_policy).await,
        Err("SSLPolicyNotFound".into())
    );
    assert_eq!(
        elb.listener(
            &lb,
            &tg,
            "8443",
            &[
                ("Protocol", "TLS"),
                ("Certificates.member.1.CertificateArn", CERT_A)
            ]
        )
        .await,
        Err("ValidationError".into())
    );

    // No SslPolicy: AWS's default for the API.
    let l = elb.listener(&lb, &tg, "443", &cert(CERT_A)).await.unwrap();
    let described = elb
        .ok("DescribeListeners", &[("ListenerArns.member.1", &l)])
        .await;
    assert_eq!(value(&described, "Protocol"), "HTTPS");
    assert_eq!(value(&described, "SslPolicy"), "ELBSecurityPolicy-2016-08");
    assert!(described.contains(&format!("<Certificates><member><CertificateArn>{CERT_A}</CertificateArn></member></Certificates>")), "{described}");
    let plain = elb
        .ok("DescribeListeners", &[("ListenerArns.member.1", &http)])
        .await;
    assert!(
        !plain.contains("SslPolicy") && !plain.contains("Certificates"),
        "{plain}"
    );

    // The default certificate is listed, and cannot be removed.
    let listed = elb
        .ok("DescribeListenerCertificates", &[("ListenerArn", &l)])
        .await;
    assert_eq!(
        certificates(&listed),
        [(CERT_A.to_string(), "true".to_string())]
    );
    elb.err(
        "RemoveListenerCertificates",
        &[
            ("ListenerArn", &l),
            ("Certificates.member.1.CertificateArn", CERT_A),
        ],
        "OperationNotPermitted",
    )
    .await;

    // Added certificates show up (once), page, and go away.
    let added = elb
        .ok(
            "AddListenerCertificates",
            &[
                ("ListenerArn", &l),
                ("Certificates.member.1.CertificateArn", CERT_B),
                ("Certificates.member.2.CertificateArn", CERT_C),
            ],
        )
        .await;
    assert_eq!(
        certificates(&added),
        [
            (CERT_B.into(), "false".into()),
            (CERT_C.into(), "false".into())
        ]
    );
    elb.ok(
        "AddListenerCertificates",
        &[
            ("ListenerArn", &l),
            ("Certificates.member.1.CertificateArn", CERT_B),
        ],
    )
    .await;
    let pages = elb
        .pages(
            "DescribeListenerCertificates",
            &[("ListenerArn", &l)],
            "2",
            "CertificateArn",
        )
        .await;
    assert_eq!(
        pages,
        [vec![CERT_A.to_string(), CERT_B.into()], vec![CERT_C.into()]]
    );
    elb.ok(
        "RemoveListenerCertificates",
        &[
            ("ListenerArn", &l),
            ("Certificates.member.1.CertificateArn", CERT_B),
        ],
    )
    .await;
    let listed = elb
        .ok("DescribeListenerCertificates", &[("ListenerArn", &l)])
        .await;
    assert_eq!(
        certificates(&listed),
        [
            (CERT_A.into(), "true".into()),
            (CERT_C.into(), "false".into())
        ]
    );

    // Errors: malformed ARNs, HTTP listeners, unknown listeners, limits.
    elb.err(
        "AddListenerCertificates",
        &[
            ("ListenerArn", &l),
            ("Certificates.member.1.CertificateArn", "arn:aws:s3:::b"),
        ],
        "CertificateNotFound",
    )
    .await;
    elb.err(
        "AddListenerCertificates",
        &[
            ("ListenerArn", &http),
            ("Certificates.member.1.CertificateArn", CERT_B),
        ],
        "ValidationError",
    )
    .await;
    let gone = format!("{http}0");
    elb.err(
        "AddListenerCertificates",
        &[
            ("ListenerArn", &gone),
            ("Certificates.member.1.CertificateArn", CERT_B),
        ],
        "ListenerNotFound",
    )
    .await;
    elb.err(
        "DescribeListenerCertificates",
        &[("ListenerArn", &gone)],
        "ListenerNotFound",
    )
    .await;
    let many: Vec<String> = (0..25)
        .map(|i| format!("arn:aws:acm:us-east-1:123456789012:certificate/many-{i}"))
        .collect();
    let keys: Vec<String> = (1..=25)
        .map(|i| format!("Certificates.member.{i}.CertificateArn"))
        .collect();
    let mut p: Vec<(&str, &str)> = vec![("ListenerArn", &l)];
    p.extend(
        keys.iter()
            .map(String::as_str)
            .zip(many.iter().map(String::as_str)),
    );
    elb.err("AddListenerCertificates", &p, "TooManyCertificates")
        .await;
    assert_eq!(
        certificates(
            &elb.ok("DescribeListenerCertificates", &[("ListenerArn", &l)])
                .await
        )
        .len(),
        2
    );

    // HTTPS listeners have the mTLS/TLS header-name attributes; HTTP ones do not.
    let tls_version = "routing.http.request.x_amzn_tls_version.header_name";
    let attrs = elb
        .ok("DescribeListenerAttributes", &[("ListenerArn", &l)])
        .await;
    assert!(
        attrs.contains(&format!(
            "<Key>{tls_version}</Key><Value>X-Amzn-Tls-Version</Value>"
        )),
        "{attrs}"
    );
    let set = [
        ("ListenerArn", l.as_str()),
        ("Attributes.member.1.Key", tls_version),
        ("Attributes.member.1.Value", "X-Tls"),
    ];
    let attrs = elb.ok("ModifyListenerAttributes", &set).await;
    assert!(
        attrs.contains(&format!("<Key>{tls_version}</Key><Value>X-Tls</Value>")),
        "{attrs}"
    );
    let mut bad = set;
    bad[2].1 = "not a header";
    elb.err("ModifyListenerAttributes", &bad, "ValidationError")
        .await;
    let mut on_http = set;
    on_http[0].1 = &http;
    elb.err(
        "ModifyListenerAttributes",
        &on_http,
        "InvalidConfigurationRequest",
    )
    .await;

    // ModifyListener: the policy is checked and kept; back to HTTP drops TLS.
    elb.err(
        "ModifyListener",
        &[("ListenerArn", &l), ("SslPolicy", "nope")],
        "SSLPolicyNotFound",
    )
    .await;
    let m = elb
        .ok(
            "ModifyListener",
            &[
                ("ListenerArn", &l),
                ("SslPolicy", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
                ("Certificates.member.1.CertificateArn", CERT_B),
            ],
        )
        .await;
    assert_eq!(
        value(&m, "SslPolicy"),
        "ELBSecurityPolicy-TLS13-1-2-2021-06"
    );
    let listed = elb
        .ok("DescribeListenerCertificates", &[("ListenerArn", &l)])
        .await;
    assert_eq!(
        certificates(&listed),
        [
            (CERT_B.into(), "true".into()),
            (CERT_C.into(), "false".into())
        ]
    );
    elb.ok(
        "ModifyListener",
        &[("ListenerArn", &l), ("Protocol", "HTTP")],
    )
    .await;
    let listed = elb
        .ok("DescribeListenerCertificates", &[("ListenerArn", &l)])
        .await;
    assert!(certificates(&listed).is_empty(), "{listed}");
    let described = elb
        .ok("DescribeListeners", &[("ListenerArns.member.1", &l)])
        .await;
    assert!(!described.contains("SslPolicy"), "{described}");
    let attrs = elb
        .ok("DescribeListenerAttributes", &[("ListenerArn", &l)])
        .await;
    assert!(!attrs.contains(tls_version), "{attrs}");
    elb.err(
        "ModifyListener",
        &[("ListenerArn", &http), ("Protocol", "HTTPS")],
        "ValidationError",
    )
    .await;
    elb.stop().await;
}
