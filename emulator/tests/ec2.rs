//! The EC2 reads the tutorial's set-up and IaC tools make, through the
//! real AWS CLI when installed and as raw Query calls; and a clear answer
//! for services the emulator does not emulate.

mod common;

use std::time::Duration;

async fn query(ep: &str, form: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{ep}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", common::AUTH)
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn default_vpc_subnets_security_groups_and_instances() {
    let (running, ep, _dir) = common::in_process(|_| {}).await;
    let v = "Version=2016-11-15";
    let (s, b) = query(
        &ep,
        &format!("Action=DescribeVpcs&{v}&Filter.1.Name=isDefault&Filter.1.Value.1=true"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b.contains("<isDefault>true</isDefault>") && b.contains("<vpcId>vpc-"),
        "{b}"
    );
    let (_, b) = query(&ep, &format!("Action=DescribeSubnets&{v}")).await;
    assert_eq!(
        b.matches("<subnetId>").count(),
        2,
        "one subnet per zone: {b}"
    );
    assert!(b.contains("us-east-1a") && b.contains("us-east-1b"));
    let (s, b) = query(
        &ep,
        &format!("Action=CreateSecurityGroup&{v}&GroupName=web&GroupDescription=web+tier"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = query(
        &ep,
        &format!("Action=CreateSecurityGroup&{v}&GroupName=web&GroupDescription=again"),
    )
    .await;
    assert_eq!(s, 400);
    assert!(b.contains("InvalidGroup.Duplicate"), "{b}");
    let (_, b) = query(&ep, &format!("Action=AuthorizeSecurityGroupIngress&{v}&GroupName=web&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0")).await;
    assert!(b.contains("<return>true</return>"), "{b}");
    let (_, b) = query(
        &ep,
        &format!("Action=DescribeSecurityGroups&{v}&GroupName.1=web"),
    )
    .await;
    assert!(
        b.contains("<groupName>web</groupName>") && b.contains("<fromPort>80</fromPort>"),
        "{b}"
    );
    let (s, b) = query(&ep, &format!("Action=RunInstances&{v}")).await;
    assert_eq!(s, 400);
    assert!(b.contains("InvalidAction"), "{b}");
    // Another service's Query call: not emulated, said so plainly.
    let (s, b) = query(&ep, "Action=ListRoles&Version=2010-05-08").await;
    assert_eq!(s, 400);
    assert!(
        b.contains("UnsupportedService") && b.contains("ListRoles"),
        "{b}"
    );
    // ELBv2 still answers on the same endpoint.
    let (s, _) = query(&ep, "Action=DescribeLoadBalancers&Version=2015-12-01").await;
    assert_eq!(s, 200);

    if common::have_aws_cli("default_vpc_subnets_security_groups_and_instances") {
        let vpcs = common::aws_cli(
            &ep,
            &[
                "ec2",
                "describe-vpcs",
                "--filters",
                "Name=isDefault,Values=true",
            ],
        );
        assert_eq!(vpcs["Vpcs"][0]["IsDefault"], true, "{vpcs}");
        let subnets = common::aws_cli(&ep, &["ec2", "describe-subnets"]);
        assert_eq!(subnets["Subnets"].as_array().unwrap().len(), 2, "{subnets}");
        let sgs = common::aws_cli(
            &ep,
            &["ec2", "describe-security-groups", "--group-names", "web"],
        );
        assert_eq!(
            sgs["SecurityGroups"][0]["IpPermissions"][0]["FromPort"], 80,
            "{sgs}"
        );
    }
    running.stop(Duration::from_secs(5)).await;
}
