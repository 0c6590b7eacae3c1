//! HTTP-level tests of the group, schema, connector and TDA pages, and of
//! the refusals (read-only, CSRF, auth), against the real test
//! cluster and registry (`TDA_KAFKA_TEST_BOOTSTRAP`, `TDA_KAFKA_TEST_REGISTRY_URL`).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use tda_kafka_client::model::*;
use tda_kafka_client::{ClientSettings, Jobs, Results, TdaProducer, Topic};
use tda_kafka_config::SecretString;
use tda_kafka_console::{Auth, Console, ConsoleError};

#[tokio::test]
async fn group_lag_matches_the_admin_library_and_reset_previews_first() {
    let admin = admin().await;
    let topic = unique("lag");
    let group = unique("group");
    create_topic(&admin, &topic, 2).await;
    for _ in 0..7 {
        produce(&admin, &topic, 0, "k", b"v", &[]).await;
    }
    for _ in 0..3 {
        produce(&admin, &topic, 1, "k", b"v", &[]).await;
    }
    let mut offsets = BTreeMap::new();
    offsets.insert((topic.clone(), 0), 2);
    offsets.insert((topic.clone(), 1), 1);
    admin
        .set_offsets(&group, &offsets)
        .await
        .expect("commit offsets");
    let c = start(options()).await;
    let list = get_ok(&c, "/groups").await;
    assert!(list.contains(&group));
    let expected = admin
        .describe_group(&group)
        .await
        .expect("describe")
        .total_lag;
    assert_eq!(expected, 7);
    let page = get_ok(&c, &format!("/groups/{group}")).await;
    assert!(
        page.contains(&format!(
            "<div class=\"v\" id=\"total-lag\">{expected}</div>"
        )),
        "{page}"
    );
    assert!(page.contains("id=\"lag-chart\""));
    // The sampler (every 500 ms here) adds samples while the console runs;
    // on a loaded machine a round can take longer, so wait (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (n, svg) = loop {
        let svg = get_ok(&c, &format!("/groups/{group}/lag.svg")).await;
        let n: usize = after(&svg, "data-samples=\"")
            .split('"')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("sample count");
        if n >= 2 || std::time::Instant::now() >= deadline {
            break (n, svg);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(n >= 2, "only {n} samples after 60 s: {svg}");

    let token = csrf(&c).await;
    let path = format!("/groups/{group}/reset");
    let (s, body) = post(
        &c,
        &path,
        &[("csrf", &token), ("to", "latest"), ("topics", &topic)],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("Preview") && body.contains("id=\"confirm\""));
    assert_eq!(
        admin
            .describe_group(&group)
            .await
            .expect("describe")
            .total_lag,
        7,
        "preview changed offsets"
    );
    let (s, body) = post(
        &c,
        &path,
        &[
            ("csrf", &token),
            ("to", "latest"),
            ("topics", &topic),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        admin
            .describe_group(&group)
            .await
            .expect("describe")
            .total_lag,
        0
    );
    assert_eq!(
        post(&c, &path, &[("csrf", &token), ("to", "sideways")])
            .await
            .0,
        400
    );
    c.stop().await;
}

#[tokio::test]
async fn read_only_csrf_and_auth_refuse_what_they_must() {
    let admin = admin().await;
    let topic = unique("guard");
    create_topic(&admin, &topic, 1).await;
    let open = start(options()).await;
    let token = csrf(&open).await;
    let form = [
        ("name", topic.as_str()),
        ("options", "partitions=1"),
        ("confirm", "yes"),
    ];
    // No token, a wrong token, a foreign origin: 403, and nothing happens.
    assert_eq!(post(&open, "/topics/create", &form).await.0, 403);
    let mut wrong = form.to_vec();
    wrong.push(("csrf", "0000"));
    assert_eq!(post(&open, "/topics/create", &wrong).await.0, 403);
    let del = [("csrf", token.as_str()), ("confirm", "yes")];
    let r = with_form(
        http()
            .post(open.url(&format!("/topics/{topic}/delete")))
            .header("origin", "http://evil.example"),
        &del,
    )
    .send()
    .await
    .expect("post");
    assert_eq!(r.status().as_u16(), 403);
    assert!(admin.topic_metadata(&topic).await.is_ok());
    open.stop().await;

    let ro = start(options().with_read_only(true)).await;
    let page = get_ok(&ro, &format!("/topics/{topic}")).await;
    assert!(
        page.contains("read-only") && !page.contains("name=\"csrf\""),
        "no change forms in read-only mode"
    );
    let (s, body) = post(
        &ro,
        &format!("/topics/{topic}/delete"),
        &[("csrf", &token), ("confirm", "yes")],
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("read-only"));
    for path in [
        "/topics/create",
        "/schemas/register",
        "/groups/g/reset",
        "/connectors/c/pause",
        &format!("/topics/{topic}/produce"),
    ] {
        assert_eq!(post(&ro, path, &[]).await.0, 403, "{path}");
    }
    assert!(admin.topic_metadata(&topic).await.is_ok());
    ro.stop().await;

    let secured = start(options().with_auth(Auth::Token(SecretString::new("t0ken")))).await;
    assert_eq!(get(&secured, "/").await.0, 401);
    let r = http()
        .get(secured.url("/topics"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    let r = http()
        .get(secured.url("/topics"))
        .basic_auth("me", Some("t0ken"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    let r = http()
        .get(secured.url("/topics"))
        .bearer_auth("wrong")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 401);
    secured.stop().await;

    let basic = start(options().with_auth(Auth::Basic {
        user: "ops".into(),
        password: SecretString::new("pw"),
    }))
    .await;
    let r = http()
        .get(basic.url("/"))
        .basic_auth("ops", Some("pw"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    let r = http()
        .get(basic.url("/"))
        .basic_auth("ops", Some("nope"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 401);
    basic.stop().await;

    // Not loopback and no auth: refused before binding.
    let err = Console::bind(options().with_listen("0.0.0.0:0".parse().expect("addr")))
        .await
        .expect_err("must refuse");
    assert!(matches!(err, ConsoleError::Options { .. }), "{err}");
}

#[tokio::test]
async fn schemas_register_with_a_check_list_versions_and_diff() {
    let c = start(options()).await;
    let token = csrf(&c).await;
    let subject = unique("subject");
    let v1 = r#"{"type":"record","name":"Shape","namespace":"it.console","fields":[{"name":"id","type":"string"}]}"#;
    let v2 = r#"{"type":"record","name":"Shape","namespace":"it.console","fields":[{"name":"id","type":"string"},{"name":"sides","type":"int","default":3}]}"#;
    let (s, body) = post(
        &c,
        "/schemas/register",
        &[("csrf", &token), ("subject", &subject), ("schema", v1)],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("a new subject"), "{body}");
    let (s, body) = post(
        &c,
        "/schemas/register",
        &[
            ("csrf", &token),
            ("subject", &subject),
            ("schema", v1),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = post(
        &c,
        "/schemas/register",
        &[("csrf", &token), ("subject", &subject), ("schema", v2)],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(
        body.contains("compatible with the latest version"),
        "{body}"
    );
    let (s, body) = post(
        &c,
        "/schemas/register",
        &[
            ("csrf", &token),
            ("subject", &subject),
            ("schema", v2),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let list = get_ok(&c, "/schemas").await;
    assert!(
        list.contains(&subject) && list.contains("id=\"global-compat\""),
        "{list}"
    );
    let page = get_ok(&c, &format!("/schemas/{subject}")).await;
    assert!(
        page.contains("sides") && page.contains("compatibility"),
        "{page}"
    );
    let diff = get_ok(&c, &format!("/schemas/{subject}/diff?a=1&b=2")).await;
    assert!(
        diff.contains("class=\"add\"") && diff.contains("sides"),
        "{diff}"
    );
    assert_eq!(
        post(
            &c,
            "/schemas/register",
            &[("csrf", &token), ("subject", &subject), ("schema", "{oops")]
        )
        .await
        .0,
        400
    );
    c.stop().await;
}

#[tokio::test]
async fn connectors_page_shows_a_missing_connect_clearly() {
    let c = start(options()).await;
    let body = get_ok(&c, "/connectors").await;
    assert!(
        body.contains("connect-unavailable") && body.contains("not configured"),
        "{body}"
    );
    c.stop().await;
    // Nothing listens on this loopback port: shown as not reachable, page still 200.
    let down = start(options().with_connect("http://127.0.0.1:23999")).await;
    let body = get_ok(&down, "/connectors").await;
    assert!(body.contains("not reachable"), "{body}");
    let body = get_ok(&down, "/connectors/anything").await;
    assert!(body.contains("not reachable"), "{body}");
    let overview = get_ok(&down, "/").await;
    assert!(after(&overview, "id=\"services\"").contains("down"));
    down.stop().await;
}

#[tokio::test]
async fn overview_pings_the_stacks_redis() {
    let addr = std::env::var("TDA_KAFKA_TEST_REDIS").unwrap_or_else(|_| {
        panic!("TDA_KAFKA_TEST_REDIS is not set: run the tests through scripts/test.sh")
    });
    let (host, port) = addr.rsplit_once(':').expect("HOST:PORT");
    let port: u16 = port.parse().expect("port");
    // The Redis row of the overview's services table.
    let redis_row = |body: String| {
        let row = after(after(&body, "id=\"services\""), ">Redis<");
        row[..row.find("</tr>").expect("end of row")].to_owned()
    };
    let c = start(options().with_redis(host, port, None)).await;
    let row = redis_row(get_ok(&c, "/").await);
    assert!(
        row.contains(&addr) && row.contains("answered +PONG"),
        "{row}"
    );
    c.stop().await;
    // A wrong password is a problem shown on the row, never the password.
    let secret = "not-the-redis-password";
    let wrong = Some(SecretString::new(secret));
    let c = start(options().with_redis(host, port, wrong)).await;
    let body = get_ok(&c, "/").await;
    assert!(!body.contains(secret));
    let row = redis_row(body);
    assert!(
        row.contains("down") && row.contains("AUTH answered"),
        "{row}"
    );
    c.stop().await;
    // Nothing listens there: down, the page still 200.
    let c = start(options().with_redis("127.0.0.1", 23998, None)).await;
    let row = redis_row(get_ok(&c, "/").await);
    assert!(row.contains("down"), "{row}");
    c.stop().await;
}

/// The test stack's Kafka Connect worker; panics when unset.
fn connect_url() -> String {
    std::env::var("TDA_KAFKA_TEST_CONNECT_URL").unwrap_or_else(|_| {
        panic!("TDA_KAFKA_TEST_CONNECT_URL is not set: run the tests through scripts/test.sh")
    })
}

#[tokio::test]
async fn connector_pages_show_a_real_worker_and_pause_it() {
    let url = connect_url();
    let worker =
        tda_kafka_admin::ConnectClient::new(&url, None, Duration::from_secs(15)).expect("client");
    let name = unique("conn");
    let topic = unique("conn-topic");
    let admin = admin().await;
    create_topic(&admin, &topic, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.txt");
    std::fs::write(&file, "x\n").unwrap();
    let config: BTreeMap<String, String> = [
        (
            "connector.class",
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
        ),
        ("tasks.max", "1"),
        ("file", file.to_str().unwrap()),
        ("topic", topic.as_str()),
        ("tda.test.password", "SENTINEL-page-s3cret"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    worker.create(&name, &config).await.expect("create");
    let c = start(options().with_connect(url)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let list = get_ok(&c, "/connectors").await;
        if list.contains(&name) && after(&list, &name).contains("badge ok") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{list}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let page = get_ok(&c, &format!("/connectors/{name}")).await;
    assert!(page.contains("FileStreamSourceConnector"), "{page}");
    assert!(
        !page.contains("SENTINEL-page-s3cret"),
        "secrets are masked: {page}"
    );
    let token = csrf(&c).await;
    let (s, body) = post(
        &c,
        &format!("/connectors/{name}/pause"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    loop {
        let st = worker.status(&name).await.expect("status");
        if st.connector.state == tda_kafka_admin::ConnectorState::Paused {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{st:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (s, _) = get(&c, "/connectors/no-such-connector").await;
    assert_eq!(s, 404);
    worker.delete(&name).await.expect("delete");
    c.stop().await;
}

#[tokio::test]
async fn tda_views_show_lifecycles_betti_numbers_and_the_diagram() {
    let settings = ClientSettings::new(bootstrap())
        .with_avro(registry_url())
        .expect("avro settings");
    let producer = TdaProducer::new(&settings).expect("producer");
    let job = unique("tda-job");
    let steps = [
        JobLifecycle::Started(JobStarted {
            worker_id: "w-1".into(),
        }),
        JobLifecycle::Completed(JobCompleted {
            duration_ms: 1234,
            result_uri: None,
        }),
    ];
    for s in steps {
        producer
            .send(&Topic::<Jobs>::new(), &job, &JobEvent::now(&job, s))
            .await
            .expect("send job event");
    }
    let result = JobResult {
        job_id: job.clone(),
        dataset_id: "ds-1".into(),
        algorithm: Algorithm::VietorisRips,
        diagram: vec![
            PersistencePair {
                dimension: 0,
                birth: 0.0,
                death: Some(0.4),
            },
            PersistencePair {
                dimension: 0,
                birth: 0.0,
                death: None,
            },
            PersistencePair {
                dimension: 1,
                birth: 0.3,
                death: Some(0.9),
            },
        ],
        betti_numbers: vec![1, 1],
        timings: Timings {
            queued_ms: 1,
            compute_ms: 20,
            total_ms: 21,
        },
        storage_uri: None,
        computed_at_ms: 1_700_000_000_000,
    };
    producer
        .send(&Topic::<Results>::new(), &job, &result)
        .await
        .expect("send result");
    let c = start(options()).await;
    let jobs = get_ok(&c, "/tda/jobs").await;
    let row = after(&jobs, &format!("data-job=\"{job}\""));
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(
        row.contains("Completed")
            && row.contains("started on w-1")
            && row.contains("completed in 1234 ms"),
        "{row}"
    );
    let list = get_ok(&c, "/tda/results").await;
    assert!(list.contains(&job) && list.contains("[1, 1]"), "{list}");
    let page = get_ok(&c, &format!("/tda/results/{job}")).await;
    assert!(page.contains("id=\"persistence-diagram\""));
    assert_eq!(page.matches("class=\"pair\"").count(), 2);
    assert_eq!(page.matches("class=\"essential\"").count(), 1);
    c.stop().await;
}

#[tokio::test]
async fn secrets_in_the_client_properties_are_never_rendered() {
    let admin = admin().await;
    let topic = unique("secret");
    create_topic(&admin, &topic, 1).await;
    let mut opts = options();
    // Unused on a PLAINTEXT cluster, but part of the console's configuration.
    opts.client.set("sasl.username", "console-user");
    opts.client.set("sasl.password", "sup3r-s3cret-pw");
    let c = start(opts).await;
    for path in [
        "/".to_owned(),
        "/topics?all=1".to_owned(),
        format!("/topics/{topic}"),
        format!("/topics/{topic}/messages"),
        "/groups".to_owned(),
        "/schemas".to_owned(),
    ] {
        let body = get_ok(&c, &path).await;
        assert!(
            !body.contains("sup3r-s3cret-pw"),
            "{path} shows the SASL password"
        );
    }
    c.stop().await;
}
