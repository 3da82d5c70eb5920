//! The emulator through the official AWS SDKs for Rust, a second strict
//! client beside the AWS CLI: every answer must parse into the SDK's typed
//! output, errors must arrive as the SDK's typed errors, and the SDK's own
//! paginators and waiters must work as they do against AWS. The in-process
//! emulator on the fake runtime serves the API-level checks; one test runs
//! real containers on Docker for the ECS task waiters.

mod common;
#[path = "common/sdk.rs"]
#[macro_use]
mod sdk;

use std::time::Duration;

use sdk::{backend, cluster, must, now_ms, register_web, start, Clients, WAIT};

#[tokio::test(flavor = "multi_thread")]
async fn ecs_and_application_auto_scaling_through_the_sdk() {
    use aws_sdk_ecs::client::Waiters;
    use aws_sdk_ecs::types::Tag;

    let (_running, aws, _dir) = start().await;
    let ecs = &aws.ecs;
    let (c, family, svc) = ("sdk-cluster", "sdk-web", "sdk-web-service");
    cluster(ecs, c).await;

    // Five revisions, listed two at a time by the SDK's paginator.
    for want in 1..=5 {
        assert_eq!(register_web(ecs, family).await, want);
    }
    let pages = pages!(
        "ListTaskDefinitions page",
        ecs.list_task_definitions()
            .family_prefix(family)
            .max_results(2)
    );
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.task_definition_arns().len())
        .collect();
    assert_eq!(sizes, [2, 2, 1]);
    let arns: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.task_definition_arns())
        .map(String::as_str)
        .collect();
    let want: Vec<String> = (1..=5)
        .map(|r| format!("arn:aws:ecs:us-east-1:000000000000:task-definition/{family}:{r}"))
        .collect();
    assert_eq!(arns, want);

    // A service, and the SDK's ServicesStable waiter.
    let out = call!(
        "CreateService",
        ecs.create_service()
            .cluster(c)
            .service_name(svc)
            .task_definition(family)
            .desired_count(2)
    );
    let service_arn = out.service().unwrap().service_arn().unwrap().to_string();
    let stable = must(
        "ServicesStable",
        ecs.wait_until_services_stable()
            .cluster(c)
            .services(svc)
            .wait(WAIT)
            .await,
    );
    let out = stable.as_result().expect("the final poll is a success");
    let s = &out.services()[0];
    assert_eq!((s.running_count(), s.desired_count()), (2, 2));
    assert_eq!(s.deployments().len(), 1);

    // Tags round-trip on the service's ARN.
    call!(
        "TagResource",
        ecs.tag_resource()
            .resource_arn(&service_arn)
            .tags(Tag::builder().key("team").value("core").build())
            .tags(Tag::builder().key("env").value("dev").build())
    );
    call!(
        "UntagResource",
        ecs.untag_resource()
            .resource_arn(&service_arn)
            .tag_keys("env")
    );
    let tags = call!(
        "ListTagsForResource",
        ecs.list_tags_for_resource().resource_arn(&service_arn)
    );
    let tags: Vec<(&str, &str)> = tags
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags, [("team", "core")]);

    // The big read shapes parse: a task definition, container instances,
    // the cluster with its counts.
    let out = call!(
        "DescribeTaskDefinition",
        ecs.describe_task_definition()
            .task_definition(format!("{family}:5"))
    );
    let td = out.task_definition().unwrap();
    assert_eq!(td.container_definitions()[0].name(), Some("app"));
    let arns = call!(
        "ListContainerInstances",
        ecs.list_container_instances().cluster(c)
    );
    let out = call!(
        "DescribeContainerInstances",
        ecs.describe_container_instances()
            .cluster(c)
            .set_container_instances(Some(arns.container_instance_arns().to_vec()))
    );
    assert_eq!(out.container_instances().len(), 2);
    assert!(out.container_instances()[0].agent_connected());
    let out = call!("DescribeClusters", ecs.describe_clusters().clusters(c));
    let cl = &out.clusters()[0];
    assert_eq!(cl.registered_container_instances_count(), 2);
    assert_eq!(
        (cl.active_services_count(), cl.running_tasks_count()),
        (1, 2)
    );

    // Typed errors: an unknown cluster's service.
    fails!(
        ecs.describe_services()
            .cluster("sdk-no-such-cluster")
            .services(svc),
        is_cluster_not_found_exception
    );

    // RunTask, then the SDK's TasksRunning waiter.
    let out = call!(
        "RunTask",
        ecs.run_task()
            .cluster(c)
            .task_definition(format!("{family}:1"))
    );
    let task = out.tasks()[0].task_arn().unwrap().to_string();
    let running = must(
        "TasksRunning",
        ecs.wait_until_tasks_running()
            .cluster(c)
            .tasks(&task)
            .wait(WAIT)
            .await,
    );
    let out = running.as_result().expect("the final poll is a success");
    assert_eq!(out.tasks()[0].last_status(), Some("RUNNING"));

    let out = call!("ListServices", ecs.list_services().cluster(c));
    assert_eq!(out.service_arns(), [service_arn.as_str()]);

    // Application Auto Scaling on that service: a target-tracking policy.
    {
        use aws_sdk_applicationautoscaling::types::{
            MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension,
            ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
        };
        let aas = &aws.aas;
        let resource = format!("service/{c}/{svc}");
        call!(
            "RegisterScalableTarget",
            aas.register_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&resource)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .min_capacity(1)
                .max_capacity(4)
        );
        let targets = call!(
            "DescribeScalableTargets",
            aas.describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_ids(&resource)
        );
        let t = &targets.scalable_targets()[0];
        assert_eq!((t.min_capacity(), t.max_capacity()), (1, 4));
        assert_eq!(
            t.scalable_dimension(),
            &ScalableDimension::EcsServiceDesiredCount
        );
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(50.0)
            .predefined_metric_specification(
                PredefinedMetricSpecification::builder()
                    .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
                    .build()
                    .unwrap(),
            )
            .scale_in_cooldown(60)
            .build()
            .unwrap();
        let put = call!(
            "PutScalingPolicy",
            aas.put_scaling_policy()
                .policy_name("sdk-cpu50")
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&resource)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(config)
        );
        assert!(
            put.policy_arn().contains(":scalingPolicy:"),
            "{}",
            put.policy_arn()
        );
        let policies = call!(
            "DescribeScalingPolicies",
            aas.describe_scaling_policies()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&resource)
        );
        let p = &policies.scaling_policies()[0];
        assert_eq!(p.policy_name(), "sdk-cpu50");
        assert_eq!(p.policy_arn(), put.policy_arn());
        assert_eq!(p.policy_type(), &PolicyType::TargetTrackingScaling);
        let tt = p.target_tracking_scaling_policy_configuration().unwrap();
        assert_eq!(tt.target_value(), 50.0);
        assert_eq!(tt.scale_in_cooldown(), Some(60));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn elbv2_through_the_sdk() {
    use aws_sdk_elasticloadbalancingv2::client::Waiters;
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, LoadBalancerStateEnum, LoadBalancerTypeEnum, ProtocolEnum, Tag,
        TargetDescription, TargetGroupAttribute, TargetHealthStateEnum, TargetTypeEnum,
    };

    let (_running, aws, _dir) = start().await;
    let elb = &aws.elb;
    let create_tg = |name: &'static str, port: i32| {
        elb.create_target_group()
            .name(name)
            .protocol(ProtocolEnum::Http)
            .port(port)
            .vpc_id("vpc-0sdk")
            .target_type(TargetTypeEnum::Ip)
            .health_check_path("/health")
            .health_check_interval_seconds(5)
            .health_check_timeout_seconds(2)
            .healthy_threshold_count(2)
    };
    let mut tgs = Vec::new();
    for name in ["sdk-tg-a", "sdk-tg-b", "sdk-tg-c"] {
        let out = call!("CreateTargetGroup", create_tg(name, 80));
        let tg = &out.target_groups()[0];
        assert_eq!(tg.target_group_name(), Some(name));
        assert_eq!(tg.target_type(), Some(&TargetTypeEnum::Ip));
        tgs.push(tg.target_group_arn().unwrap().to_string());
    }

    // Typed errors: a taken name, an unknown group.
    fails!(
        create_tg("sdk-tg-a", 81),
        is_duplicate_target_group_name_exception
    );
    let missing = tgs[0].replace("/sdk-tg-a/", "/sdk-tg-zz/");
    fails!(
        elb.describe_target_groups().target_group_arns(&missing),
        is_target_group_not_found_exception
    );

    // The SDK's paginator, one group a page.
    let pages = pages!(
        "DescribeTargetGroups page",
        elb.describe_target_groups().page_size(1)
    );
    let names: Vec<Vec<&str>> = pages
        .iter()
        .map(|p| {
            p.target_groups()
                .iter()
                .map(|t| t.target_group_name().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(names, [["sdk-tg-a"], ["sdk-tg-b"], ["sdk-tg-c"]]);

    // Tags.
    call!(
        "AddTags",
        elb.add_tags()
            .resource_arns(&tgs[1])
            .tags(Tag::builder().key("team").value("core").build())
    );
    let out = call!("DescribeTags", elb.describe_tags().resource_arns(&tgs[1]));
    let d = &out.tag_descriptions()[0];
    assert_eq!(d.resource_arn(), Some(tgs[1].as_str()));
    let tags: Vec<_> = d.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [(Some("team"), Some("core"))]);

    // A load balancer and its listener; the LoadBalancerAvailable waiter.
    let out = call!(
        "CreateLoadBalancer",
        elb.create_load_balancer()
            .name("sdk-alb")
            .r#type(LoadBalancerTypeEnum::Application)
            .subnets("subnet-0sdka")
            .subnets("subnet-0sdkb")
    );
    let lb = out.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let available = must(
        "LoadBalancerAvailable",
        elb.wait_until_load_balancer_available()
            .load_balancer_arns(&lb)
            .wait(WAIT)
            .await,
    );
    let out = available.as_result().expect("the final poll is a success");
    assert_eq!(
        out.load_balancers()[0].state().and_then(|s| s.code()),
        Some(&LoadBalancerStateEnum::Active)
    );
    call!(
        "CreateListener",
        elb.create_listener()
            .load_balancer_arn(&lb)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&tgs[0])
                    .build(),
            )
    );

    // The listener, its default rule, the attributes.
    let out = call!(
        "DescribeListeners",
        elb.describe_listeners().load_balancer_arn(&lb)
    );
    let l = &out.listeners()[0];
    assert_eq!(l.port(), Some(80));
    let listener = l.listener_arn().unwrap();
    let out = call!("DescribeRules", elb.describe_rules().listener_arn(listener));
    assert_eq!(out.rules()[0].is_default(), Some(true));
    let out = call!(
        "DescribeLoadBalancerAttributes",
        elb.describe_load_balancer_attributes()
            .load_balancer_arn(&lb)
    );
    assert!(!out.attributes().is_empty());

    // A target that answers its health check: TargetInService; then
    // deregistered without delay: TargetDeregistered.
    let port = backend().await;
    let target = TargetDescription::builder()
        .id("127.0.0.1")
        .port(i32::from(port))
        .build();
    call!(
        "ModifyTargetGroupAttributes",
        elb.modify_target_group_attributes()
            .target_group_arn(&tgs[0])
            .attributes(
                TargetGroupAttribute::builder()
                    .key("deregistration_delay.timeout_seconds")
                    .value("0")
                    .build(),
            )
    );
    call!(
        "RegisterTargets",
        elb.register_targets()
            .target_group_arn(&tgs[0])
            .targets(target.clone())
    );
    let in_service = must(
        "TargetInService",
        elb.wait_until_target_in_service()
            .target_group_arn(&tgs[0])
            .targets(target.clone())
            .wait(WAIT)
            .await,
    );
    let out = in_service.as_result().expect("the final poll is a success");
    let h = &out.target_health_descriptions()[0];
    assert_eq!(h.target().and_then(|t| t.port()), Some(i32::from(port)));
    assert_eq!(
        h.target_health().and_then(|t| t.state()),
        Some(&TargetHealthStateEnum::Healthy)
    );
    call!(
        "DeregisterTargets",
        elb.deregister_targets()
            .target_group_arn(&tgs[0])
            .targets(target.clone())
    );
    must(
        "TargetDeregistered",
        elb.wait_until_target_deregistered()
            .target_group_arn(&tgs[0])
            .targets(target)
            .wait(WAIT)
            .await,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_logs_through_the_sdk() {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;

    let (_running, aws, _dir) = start().await;
    let logs = &aws.logs;
    let (g, s) = ("/sdk/app", "sdk-stream");
    call!("CreateLogGroup", logs.create_log_group().log_group_name(g));
    call!(
        "CreateLogStream",
        logs.create_log_stream()
            .log_group_name(g)
            .log_stream_name(s)
    );
    let t0 = now_ms() - 60_000;
    let events: Vec<InputLogEvent> = (0..25)
        .map(|i| {
            let level = if i % 5 == 0 { "ERROR" } else { "INFO" };
            InputLogEvent::builder()
                .timestamp(t0 + i)
                .message(format!("{level} line {i}"))
                .build()
                .unwrap()
        })
        .collect();
    let out = call!(
        "PutLogEvents",
        logs.put_log_events()
            .log_group_name(g)
            .log_stream_name(s)
            .set_log_events(Some(events))
    );
    assert!(out.rejected_log_events_info().is_none());

    // GetLogEvents, ten at a time from the head, until the SDK's paginator
    // sees the same forward token twice.
    let pages = pages!(
        "GetLogEvents page",
        logs.get_log_events()
            .log_group_name(g)
            .log_stream_name(s)
            .start_from_head(true)
            .limit(10)
    );
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert_eq!(pages[0].events().len(), 10);
    let got: Vec<String> = pages
        .iter()
        .flat_map(|p| p.events())
        .map(|e| e.message().unwrap().to_string())
        .collect();
    let want: Vec<String> = (0..25)
        .map(|i| {
            let level = if i % 5 == 0 { "ERROR" } else { "INFO" };
            format!("{level} line {i}")
        })
        .collect();
    assert_eq!(got, want);

    // FilterLogEvents with a pattern, two at a time.
    let pages = pages!(
        "FilterLogEvents page",
        logs.filter_log_events()
            .log_group_name(g)
            .filter_pattern("ERROR")
            .limit(2)
    );
    assert!(pages.len() >= 3, "{} pages", pages.len());
    let got: Vec<(&str, &str)> = pages
        .iter()
        .flat_map(|p| p.events())
        .map(|e| (e.log_stream_name().unwrap(), e.message().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (s, "ERROR line 0"),
            (s, "ERROR line 5"),
            (s, "ERROR line 10"),
            (s, "ERROR line 15"),
            (s, "ERROR line 20"),
        ]
    );

    let out = call!(
        "DescribeLogStreams",
        logs.describe_log_streams().log_group_name(g)
    );
    let st = &out.log_streams()[0];
    assert_eq!(st.log_stream_name(), Some(s));
    assert_eq!(st.first_event_timestamp(), Some(t0));
    let out = call!(
        "DescribeLogGroups",
        logs.describe_log_groups().log_group_name_prefix("/sdk/")
    );
    assert_eq!(out.log_groups()[0].log_group_name(), Some(g));

    // Typed errors.
    fails!(
        logs.get_log_events()
            .log_group_name(g)
            .log_stream_name("sdk-no-such-stream"),
        is_resource_not_found_exception
    );
    fails!(
        logs.create_log_group().log_group_name(g),
        is_resource_already_exists_exception
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ssm_parameters_through_the_sdk() {
    use aws_sdk_ssm::types::ParameterType;

    let (_running, aws, _dir) = start().await;
    let ssm = &aws.ssm;
    let out = call!(
        "PutParameter",
        ssm.put_parameter()
            .name("/sdk/db/password")
            .value("hunter2")
            .r#type(ParameterType::SecureString)
    );
    assert_eq!(out.version(), 1);
    let out = call!(
        "GetParameter",
        ssm.get_parameter()
            .name("/sdk/db/password")
            .with_decryption(true)
    );
    let p = out.parameter().unwrap();
    assert_eq!(p.value(), Some("hunter2"));
    assert_eq!(p.r#type(), Some(&ParameterType::SecureString));
    assert_eq!(p.version(), 1);
    let out = call!("GetParameter", ssm.get_parameter().name("/sdk/db/password"));
    assert_ne!(out.parameter().unwrap().value(), Some("hunter2"));

    let out = call!(
        "GetParameterHistory",
        ssm.get_parameter_history().name("/sdk/db/password")
    );
    assert_eq!(out.parameters()[0].version(), 1);
    let out = call!("DescribeParameters", ssm.describe_parameters());
    assert_eq!(out.parameters()[0].name(), Some("/sdk/db/password"));

    // Five under a path, two a page, through the SDK's paginator.
    for i in 0..5 {
        call!(
            "PutParameter",
            ssm.put_parameter()
                .name(format!("/sdk/app/key{i}"))
                .value(format!("v{i}"))
                .r#type(ParameterType::String)
        );
    }
    let pages = pages!(
        "GetParametersByPath page",
        ssm.get_parameters_by_path()
            .path("/sdk/app")
            .recursive(true)
            .max_results(2)
    );
    assert!(pages.len() >= 3, "{} pages", pages.len());
    let mut got: Vec<(String, String)> = pages
        .iter()
        .flat_map(|p| p.parameters())
        .map(|p| (p.name().unwrap().into(), p.value().unwrap().into()))
        .collect();
    got.sort();
    let want: Vec<(String, String)> = (0..5)
        .map(|i| (format!("/sdk/app/key{i}"), format!("v{i}")))
        .collect();
    assert_eq!(got, want);

    fails!(
        ssm.get_parameter().name("/sdk/no/such"),
        is_parameter_not_found
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_manager_through_the_sdk() {
    let (_running, aws, _dir) = start().await;
    let sm = &aws.sm;
    let created = call!(
        "CreateSecret",
        sm.create_secret().name("sdk/db").secret_string("one")
    );
    let arn = created.arn().unwrap().to_string();
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:"),
        "{arn}"
    );
    let out = call!("GetSecretValue", sm.get_secret_value().secret_id("sdk/db"));
    assert_eq!(out.secret_string(), Some("one"));
    assert_eq!(out.arn(), Some(arn.as_str()));
    assert_eq!(out.version_id(), created.version_id());
    assert_eq!(out.version_stages(), ["AWSCURRENT"]);

    let put = call!(
        "PutSecretValue",
        sm.put_secret_value().secret_id(&arn).secret_string("two")
    );
    assert_ne!(put.version_id(), created.version_id());
    assert_eq!(put.version_stages(), ["AWSCURRENT"]);
    let out = call!("GetSecretValue", sm.get_secret_value().secret_id("sdk/db"));
    assert_eq!(out.secret_string(), Some("two"));
    let out = call!(
        "GetSecretValue AWSPREVIOUS",
        sm.get_secret_value()
            .secret_id("sdk/db")
            .version_stage("AWSPREVIOUS")
    );
    assert_eq!(out.secret_string(), Some("one"));

    let out = call!("DescribeSecret", sm.describe_secret().secret_id(&arn));
    assert_eq!(out.name(), Some("sdk/db"));
    assert_eq!(out.version_ids_to_stages().map(|v| v.len()), Some(2));
    let out = call!(
        "ListSecretVersionIds",
        sm.list_secret_version_ids().secret_id(&arn)
    );
    assert_eq!(out.versions().len(), 2);

    // Five secrets, two a page, through the SDK's paginator.
    for i in 1..5 {
        call!(
            "CreateSecret",
            sm.create_secret()
                .name(format!("sdk/s{i}"))
                .secret_string("x")
        );
    }
    let pages = pages!("ListSecrets page", sm.list_secrets().max_results(2));
    assert!(pages.len() >= 3, "{} pages", pages.len());
    let mut names: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.secret_list())
        .map(|s| s.name().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["sdk/db", "sdk/s1", "sdk/s2", "sdk/s3", "sdk/s4"]);

    fails!(
        sm.get_secret_value().secret_id("sdk/no-such"),
        is_resource_not_found_exception
    );
}

/// The ECS task waiters against real containers on Docker.
#[tokio::test(flavor = "multi_thread")]
async fn ecs_task_waiters_on_docker() {
    use aws_sdk_ecs::client::Waiters;
    use aws_sdk_ecs::types::DesiredStatus;

    if !common::docker_or_skip("ecs_task_waiters_on_docker") {
        return;
    }
    let emu = common::Emulator::up(&["--no-stack"]).await;
    let aws = Clients::new(&emu.endpoint);
    let ecs = &aws.ecs;
    let c = "sdk-docker";
    cluster(ecs, c).await;
    emu.ok(
        "RegisterTaskDefinition",
        common::node_task_definition("sdk-node"),
    )
    .await;
    let out = call!(
        "RunTask",
        ecs.run_task().cluster(c).task_definition("sdk-node")
    );
    let task = out.tasks()[0].task_arn().unwrap().to_string();
    // Generous: the first task may have to build the project's images.
    let running = must(
        "TasksRunning",
        ecs.wait_until_tasks_running()
            .cluster(c)
            .tasks(&task)
            .wait(Duration::from_secs(600))
            .await,
    );
    let out = running.as_result().expect("the final poll is a success");
    let t = &out.tasks()[0];
    assert_eq!(t.last_status(), Some("RUNNING"));
    let port = t.containers()[0].network_bindings()[0].host_port().unwrap();
    // The container really serves, on the port DescribeTasks gave.
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/start")).await;
    assert_eq!(resp.unwrap().text().await.unwrap(), common::START_BODY);

    call!(
        "StopTask",
        ecs.stop_task().cluster(c).task(&task).reason("sdk test")
    );
    let stopped = must(
        "TasksStopped",
        ecs.wait_until_tasks_stopped()
            .cluster(c)
            .tasks(&task)
            .wait(Duration::from_secs(120))
            .await,
    );
    let out = stopped.as_result().expect("the final poll is a success");
    let t = &out.tasks()[0];
    assert_eq!(t.desired_status(), Some(DesiredStatus::Stopped.as_str()));
    assert_eq!(t.stopped_reason(), Some("sdk test"));
}
