//! ELBv2 mutual TLS and capacity over the Query API, in memory: trust
//! stores and their associations with verifying listeners, LCU
//! reservations, GetResourcePolicy, and what is kept across a restart.

mod common;
mod elb_query;

use elb_query::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_trust_store_in_use_cannot_be_deleted_until_no_listener_verifies_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let elb = Elb::start(dir.path()).await;
    let (lb, tg, _) = elb.world().await;
    let bundle = [
        ("CaCertificatesBundleS3Bucket", "certs"),
        ("CaCertificatesBundleS3Key", "ca.pem"),
    ];
    let with = |name: &'static str| {
        let mut p = vec![("Name", name)];
        p.extend_from_slice(&bundle);
        p
    };

    let mut tagged = with("my-store");
    tagged.extend([
        ("Tags.member.1.Key", "team"),
        ("Tags.member.1.Value", "web"),
    ]);
    let created = elb.ok("CreateTrustStore", &tagged).await;
    let ts = value(&created, "TrustStoreArn");
    assert!(
        ts.starts_with("arn:aws:elasticloadbalancing:us-east-1:000000000000:truststore/my-store/"),
        "{ts}"
    );
    assert_eq!(value(&created, "Status"), "ACTIVE");
    assert_eq!(value(&created, "NumberOfCaCertificates"), "1");
    assert_eq!(value(&created, "TotalRevokedEntries"), "0");
    elb.err(
        "CreateTrustStore",
        &with("my-store"),
        "DuplicateTrustStoreName",
    )
    .await;
    elb.err("CreateTrustStore", &with("bad_name"), "ValidationError")
        .await;
    elb.err("CreateTrustStore", &[("Name", "x")], "ValidationError")
        .await;
    let tags = elb
        .ok("DescribeTags", &[("ResourceArns.member.1", &ts)])
        .await;
    assert_eq!(
        (value(&tags, "Key"), value(&tags, "Value")),
        ("team".into(), "web".into())
    );
    elb.ok(
        "AddTags",
        &[
            ("ResourceArns.member.1", &ts),
            ("Tags.member.1.Key", "env"),
            ("Tags.member.1.Value", "dev"),
        ],
    )
    .await;
    assert_eq!(
        values(
            &elb.ok("DescribeTags", &[("ResourceArns.member.1", &ts)])
                .await,
            "Key"
        ),
        ["env", "team"]
    );

    let by_name = elb
        .ok("DescribeTrustStores", &[("Names.member.1", "my-store")])
        .await;
    assert_eq!(value(&by_name, "TrustStoreArn"), ts);
    elb.err(
        "DescribeTrustStores",
        &[("Names.member.1", "other")],
        "TrustStoreNotFound",
    )
    .await;
    let modified = elb
        .ok(
            "ModifyTrustStore",
            &[
                ("TrustStoreArn", &ts),
                ("CaCertificatesBundleS3Bucket", "b2"),
                ("CaCertificatesBundleS3Key", "k2"),
            ],
        )
        .await;
    assert_eq!(value(&modified, "Name"), "my-store");

    // A verifying listener associates the store with its load balancer.
    let mtls = |store: &str| {
        vec![
            ("Protocol".to_string(), "HTTPS".to_string()),
            ("Certificates.member.1.CertificateArn".into(), CERT_A.into()),
            ("MutualAuthentication.Mode".into(), "verify".into()),
            (
                "MutualAuthentication.TrustStoreArn".into(),
                store.to_string(),
            ),
        ]
    };
    let missing = ts.replace("my-store", "nope");
    let p = mtls(&missing);
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        elb.listener(&lb, &tg, "443", &p).await,
        Err("TrustStoreNotFound".into())
    );
    let p = mtls(&ts);
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let l = elb.listener(&lb, &tg, "443", &p).await.unwrap();
    let described = elb
        .ok("DescribeListeners", &[("ListenerArns.member.1", &l)])
        .await;
    assert!(described.contains(&format!("<MutualAuthentication><Mode>verify</Mode><TrustStoreArn>{ts}</TrustStoreArn></MutualAuthentication>")), "{described}");
    let assoc = elb
        .ok("DescribeTrustStoreAssociations", &[("TrustStoreArn", &ts)])
        .await;
    assert_eq!(values(&assoc, "ResourceArn"), [lb.as_str()]);
    elb.err(
        "DeleteTrustStore",
        &[("TrustStoreArn", &ts)],
        "TrustStoreInUse",
    )
    .await;

    // Verification off: no association, the store can go.
    elb.ok(
        "ModifyListener",
        &[("ListenerArn", &l), ("MutualAuthentication.Mode", "off")],
    )
    .await;
    let assoc = elb
        .ok("DescribeTrustStoreAssociations", &[("TrustStoreArn", &ts)])
        .await;
    assert!(values(&assoc, "ResourceArn").is_empty(), "{assoc}");
    elb.ok("DeleteTrustStore", &[("TrustStoreArn", &ts)]).await;
    elb.err(
        "DescribeTrustStores",
        &[("TrustStoreArns.member.1", &ts)],
        "TrustStoreNotFound",
    )
    .await;
    elb.err(
        "DeleteTrustStore",
        &[("TrustStoreArn", &ts)],
        "TrustStoreNotFound",
    )
    .await;
    elb.err(
        "DescribeTrustStoreAssociations",
        &[("TrustStoreArn", &ts)],
        "TrustStoreNotFound",
    )
    .await;
    elb.err(
        "DescribeTags",
        &[("ResourceArns.member.1", &ts)],
        "TrustStoreNotFound",
    )
    .await;

    // Deleting the listener also frees a store.
    let second = value(
        &elb.ok("CreateTrustStore", &with("second")).await,
        "TrustStoreArn",
    );
    let p = mtls(&second);
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    elb.ok("ModifyListener", &[("ListenerArn", &l), p[2], p[3]])
        .await;
    elb.err(
        "DeleteTrustStore",
        &[("TrustStoreArn", &second)],
        "TrustStoreInUse",
    )
    .await;
    elb.ok("DeleteListener", &[("ListenerArn", &l)]).await;
    elb.ok("DeleteTrustStore", &[("TrustStoreArn", &second)])
        .await;

    // Paging the stores.
    for i in 0..5 {
        elb.ok("CreateTrustStore", &with(["s0", "s1", "s2", "s3", "s4"][i]))
            .await;
    }
    let pages = elb
        .pages("DescribeTrustStores", &[], "2", "TrustStoreArn")
        .await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    elb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn capacity_reservations_are_kept_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let elb = Elb::start(dir.path()).await;
    let (lb, _, _) = elb.world().await;
    let lb_p = ("LoadBalancerArn", lb.as_str());
    let none = elb.ok("DescribeCapacityReservation", &[lb_p]).await;
    assert_eq!(value(&none, "DecreaseRequestsRemaining"), "2");
    assert!(!none.contains("MinimumLoadBalancerCapacity"), "{none}");

    let units = |u: &'static str| [lb_p, ("MinimumLoadBalancerCapacity.CapacityUnits", u)];
    elb.err("ModifyCapacityReservation", &[lb_p], "ValidationError")
        .await;
    elb.err(
        "ModifyCapacityReservation",
        &units("50"),
        "InvalidConfigurationRequest",
    )
    .await;
    elb.err(
        "ModifyCapacityReservation",
        &units("5000"),
        "CapacityUnitsLimitExceeded",
    )
    .await;
    let set = elb.ok("ModifyCapacityReservation", &units("200")).await;
    assert_eq!(value(&set, "CapacityUnits"), "200");
    assert_eq!(values(&set, "Code"), ["provisioned", "provisioned"]);
    assert_eq!(
        values(&set, "AvailabilityZone"),
        ["us-east-1a", "us-east-1b"]
    );
    assert_eq!(values(&set, "EffectiveCapacityUnits"), ["100", "100"]);
    let read = elb.ok("DescribeCapacityReservation", &[lb_p]).await;
    assert_eq!(value(&read, "CapacityUnits"), "200");
    assert!(read.contains("<LastModifiedTime>"), "{read}");

    // Two decreases a day; increases are not counted.
    elb.ok("ModifyCapacityReservation", &units("150")).await;
    let reset = elb
        .ok(
            "ModifyCapacityReservation",
            &[lb_p, ("ResetCapacityReservation", "true")],
        )
        .await;
    assert!(!reset.contains("CapacityUnits"), "{reset}");
    assert_eq!(value(&reset, "DecreaseRequestsRemaining"), "0");
    elb.ok("ModifyCapacityReservation", &units("300")).await;
    elb.err(
        "ModifyCapacityReservation",
        &units("100"),
        "CapacityDecreaseRequestLimitExceeded",
    )
    .await;
    assert_eq!(
        value(
            &elb.ok("DescribeCapacityReservation", &[lb_p]).await,
            "CapacityUnits"
        ),
        "300"
    );

    let gone = lb.replace("/web/", "/nope/");
    elb.err(
        "DescribeCapacityReservation",
        &[("LoadBalancerArn", &gone)],
        "LoadBalancerNotFound",
    )
    .await;
    elb.err(
        "GetResourcePolicy",
        &[("ResourceArn", &lb)],
        "ResourceNotFound",
    )
    .await;
    elb.err("GetResourcePolicy", &[], "ValidationError").await;
    elb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_settings_trust_stores_and_reservations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let elb = Elb::start(dir.path()).await;
    let (lb, tg, _) = elb.world().await;
    let ts = value(
        &elb.ok(
            "CreateTrustStore",
            &[
                ("Name", "kept"),
                ("CaCertificatesBundleS3Bucket", "b"),
                ("CaCertificatesBundleS3Key", "k"),
            ],
        )
        .await,
        "TrustStoreArn",
    );
    let l = elb
        .listener(
            &lb,
            &tg,
            "443",
            &[
                ("Protocol", "HTTPS"),
                ("SslPolicy", "ELBSecurityPolicy-TLS13-1-3-2021-06"),
                ("Certificates.member.1.CertificateArn", CERT_A),
                ("MutualAuthentication.Mode", "verify"),
                ("MutualAuthentication.TrustStoreArn", &ts),
            ],
        )
        .await
        .unwrap();
    elb.ok(
        "AddListenerCertificates",
        &[
            ("ListenerArn", &l),
            ("Certificates.member.1.CertificateArn", CERT_B),
        ],
    )
    .await;
    elb.ok(
        "ModifyCapacityReservation",
        &[
            ("LoadBalancerArn", &lb),
            ("MinimumLoadBalancerCapacity.CapacityUnits", "400"),
        ],
    )
    .await;
    elb.stop().await;

    let elb = Elb::start(dir.path()).await;
    let listed = elb
        .ok("DescribeListenerCertificates", &[("ListenerArn", &l)])
        .await;
    assert_eq!(
        certificates(&listed),
        [
            (CERT_A.into(), "true".into()),
            (CERT_B.into(), "false".into())
        ]
    );
    let described = elb
        .ok("DescribeListeners", &[("ListenerArns.member.1", &l)])
        .await;
    assert_eq!(
        value(&described, "SslPolicy"),
        "ELBSecurityPolicy-TLS13-1-3-2021-06"
    );
    let assoc = elb
        .ok("DescribeTrustStoreAssociations", &[("TrustStoreArn", &ts)])
        .await;
    assert_eq!(values(&assoc, "ResourceArn"), [lb.as_str()]);
    let cap = elb
        .ok("DescribeCapacityReservation", &[("LoadBalancerArn", &lb)])
        .await;
    assert_eq!(value(&cap, "CapacityUnits"), "400");
    elb.stop().await;
}
