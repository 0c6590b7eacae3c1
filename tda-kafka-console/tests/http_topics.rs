//! HTTP-level tests of the overview, topic and message pages and actions against the real test
//! cluster and registry (`TDA_KAFKA_TEST_BOOTSTRAP`, `TDA_KAFKA_TEST_REGISTRY_URL`).

mod common;

use std::time::Duration;

use common::*;
use tda_kafka_client::model::*;
use tda_kafka_client::{ClientSettings, Jobs, TdaProducer, Topic};

#[tokio::test]
async fn overview_lists_brokers_services_and_topics() {
    let admin = admin().await;
    let topic = unique("overview");
    create_topic(&admin, &topic, 2).await;
    let c = start(options()).await;
    let body = get_ok(&c, "/").await;
    let health = admin.health().await.expect("health");
    assert!(body.contains(&topic), "overview lacks {topic}");
    for b in &health.brokers {
        assert!(
            body.contains(&format!("{}:{}", b.host, b.port)),
            "broker {b:?} missing"
        );
    }
    assert!(body.contains(&format!(
        "<div class=\"v\" id=\"brokers\">{}</div>",
        health.brokers.len()
    )));
    // The registry is up (a count of subjects), Connect is not configured.
    let services = after(&body, "id=\"services\"");
    assert!(services.contains("subjects"), "{services}");
    assert!(services.contains("not configured"));
    assert_eq!(get_ok(&c, "/healthz").await, "ok");
    assert_eq!(get(&c, "/no/such/page").await.0, 404);
    c.stop().await;
}

#[tokio::test]
async fn topic_list_and_detail_match_the_admin_library() {
    let admin = admin().await;
    let topic = unique("detail");
    create_topic(&admin, &topic, 3).await;
    produce(&admin, &topic, 1, "k", b"v", &[]).await;
    let c = start(options()).await;
    let list = get_ok(&c, "/topics").await;
    assert!(list.contains(&format!("/topics/{topic}")));
    assert!(!list.contains("__consumer_offsets"));
    assert!(get_ok(&c, "/topics?all=1")
        .await
        .contains("__consumer_offsets"));
    let detail = get_ok(&c, &format!("/topics/{topic}")).await;
    let d = admin.describe_topic(&topic).await.expect("describe");
    let rows = after(&detail, "id=\"partitions\"");
    let rows = &rows[..rows.find("</table>").expect("table end")];
    assert_eq!(rows.matches("<tr").count() - 1, d.partitions.len());
    assert!(detail.contains("retention.ms"), "configs are listed");
    assert_eq!(get(&c, "/topics/it-console-does-not-exist").await.0, 404);
    c.stop().await;
}

#[tokio::test]
async fn topic_changes_need_a_confirmation_and_happen_after_it() {
    let admin = admin().await;
    let c = start(options()).await;
    let token = csrf(&c).await;
    let topic = unique("create");
    let options = "partitions=2,replication-factor=3,retention.ms=3600000";
    // Step 1: a confirmation page, nothing created.
    let (s, body) = post(
        &c,
        "/topics/create",
        &[("csrf", &token), ("name", &topic), ("options", options)],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("id=\"confirm-form\""), "{body}");
    assert!(
        admin.topic_metadata(&topic).await.is_err(),
        "created before confirmation"
    );
    // Step 2: confirmed.
    let (s, body) = post(
        &c,
        "/topics/create",
        &[
            ("csrf", &token),
            ("name", &topic),
            ("options", options),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        admin
            .topic_metadata(&topic)
            .await
            .expect("created")
            .partitions
            .len(),
        2
    );

    let path = format!("/topics/{topic}/configs");
    let (s, body) = post(
        &c,
        &path,
        &[("csrf", &token), ("changes", "retention.ms=7200000")],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("7200000") && body.contains("confirm-form"));
    let before = admin
        .topic_overrides(std::slice::from_ref(&topic))
        .await
        .expect("overrides");
    assert_eq!(
        before[&topic].get("retention.ms").map(String::as_str),
        Some("3600000")
    );
    let (s, body) = post(
        &c,
        &path,
        &[
            ("csrf", &token),
            ("changes", "retention.ms=7200000"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let after_ = admin
        .topic_overrides(std::slice::from_ref(&topic))
        .await
        .expect("overrides");
    assert_eq!(
        after_[&topic].get("retention.ms").map(String::as_str),
        Some("7200000")
    );

    let path = format!("/topics/{topic}/partitions");
    let (s, _) = post(&c, &path, &[("csrf", &token), ("total", "4")]).await;
    assert_eq!(s, 200);
    assert_eq!(
        admin
            .topic_metadata(&topic)
            .await
            .expect("md")
            .partitions
            .len(),
        2
    );
    let (s, body) = post(&c, &path, &[("csrf", &token), ("total", "1")]).await;
    assert_eq!(s, 400, "a decrease is refused: {body}");
    let (s, body) = post(
        &c,
        &path,
        &[("csrf", &token), ("total", "4"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        admin
            .topic_metadata(&topic)
            .await
            .expect("md")
            .partitions
            .len(),
        4
    );

    let path = format!("/topics/{topic}/delete");
    let (s, body) = post(&c, &path, &[("csrf", &token)]).await;
    assert_eq!(s, 200);
    assert!(body.contains("cannot be undone"));
    assert!(
        admin.topic_metadata(&topic).await.is_ok(),
        "deleted before confirmation"
    );
    let (s, body) = post(&c, &path, &[("csrf", &token), ("confirm", "yes")]).await;
    assert_eq!(s, 200, "{body}");
    let mut gone = false;
    for _ in 0..50 {
        if admin.topic_metadata(&topic).await.is_err() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(gone, "{topic} still exists after the confirmed delete");
    c.stop().await;
}

#[tokio::test]
async fn message_browser_positions_filters_and_decodes() {
    let admin = admin().await;
    let topic = unique("browse");
    create_topic(&admin, &topic, 2).await;
    for i in 0..5 {
        produce(
            &admin,
            &topic,
            0,
            &format!("key-{i}"),
            format!("{{\"n\":{i},\"word\":\"w{i}\"}}").as_bytes(),
            &[("trace", &format!("t{i}"))],
        )
        .await;
    }
    produce(
        &admin,
        &topic,
        1,
        "bin",
        &[0xde, 0xad, 0xbe, 0xef, 0x01],
        &[],
    )
    .await;
    let c = start(options()).await;
    let base = format!("/topics/{topic}/messages");
    let all = get_ok(&c, &format!("{base}?from=beginning")).await;
    assert_eq!(all.matches("<tr class=\"message\"").count(), 6, "{all}");
    assert!(
        all.contains("&quot;word&quot;: &quot;w3&quot;"),
        "JSON is pretty-printed"
    );
    assert!(all.contains("deadbeef 01"), "bytes as hex");
    assert!(all.contains("trace"), "headers shown");
    let p1 = get_ok(&c, &format!("{base}?from=beginning&partition=1")).await;
    assert_eq!(p1.matches("<tr class=\"message\"").count(), 1);
    let from3 = get_ok(&c, &format!("{base}?from=offset&at=3&partition=0")).await;
    assert_eq!(from3.matches("<tr class=\"message\"").count(), 2);
    let last2 = get_ok(&c, &format!("{base}?from=end&partition=0&limit=2")).await;
    assert!(last2.contains("key-4") && last2.contains("key-3") && !last2.contains("key-2"));
    let newest = get_ok(&c, &format!("{base}?from=end&limit=2")).await;
    assert_eq!(
        newest.matches("<tr class=\"message\"").count(),
        2,
        "{newest}"
    );
    assert!(
        newest.contains("deadbeef") && newest.contains("key-4"),
        "the newest two across partitions"
    );
    let future = get_ok(&c, &format!("{base}?from=timestamp&at=4102444800000")).await;
    assert_eq!(future.matches("<tr class=\"message\"").count(), 0);
    let past = get_ok(&c, &format!("{base}?from=timestamp&at=2000-01-01T00:00")).await;
    assert_eq!(past.matches("<tr class=\"message\"").count(), 6);
    let by_key = get_ok(&c, &format!("{base}?from=beginning&q=key-2&field=key")).await;
    assert_eq!(by_key.matches("<tr class=\"message\"").count(), 1);
    let by_value = get_ok(&c, &format!("{base}?from=beginning&q=w4&field=value")).await;
    assert_eq!(by_value.matches("<tr class=\"message\"").count(), 1);
    let by_header = get_ok(&c, &format!("{base}?from=beginning&q=t1&field=header")).await;
    assert_eq!(by_header.matches("<tr class=\"message\"").count(), 1);
    assert_eq!(
        get(&c, &format!("{base}?from=offset&at=minus")).await.0,
        400
    );
    assert_eq!(get(&c, &format!("{base}?partition=9")).await.0, 400);
    c.stop().await;
}

#[tokio::test]
async fn avro_values_are_decoded_through_the_registry() {
    let topic = unique("avro");
    let admin = admin().await;
    create_topic(&admin, &topic, 1).await;
    let settings = ClientSettings::new(bootstrap())
        .with_avro(registry_url())
        .expect("avro settings");
    let producer = TdaProducer::new(&settings).expect("producer");
    let job = unique("job");
    let event = JobEvent::now(
        &job,
        JobLifecycle::Started(JobStarted {
            worker_id: "worker-7".into(),
        }),
    );
    producer
        .send(&Topic::<Jobs>::named(&topic), &job, &event)
        .await
        .expect("send avro");
    let c = start(options()).await;
    let body = get_ok(&c, &format!("/topics/{topic}/messages?from=beginning")).await;
    assert!(body.contains("avro (schema "), "{body}");
    assert!(
        body.contains(&format!("&quot;job_id&quot;: &quot;{job}&quot;")),
        "{body}"
    );
    assert!(body.contains("worker-7"));
    // Without a registry the same bytes are shown as hex, not decoded.
    let mut plain = options();
    plain.registry_url = None;
    let c2 = start(plain).await;
    let body = get_ok(&c2, &format!("/topics/{topic}/messages?from=beginning")).await;
    assert!(
        body.contains("bytes (hex)") && !body.contains("worker-7"),
        "{body}"
    );
    c.stop().await;
    c2.stop().await;
}

#[tokio::test]
async fn produce_form_writes_json_and_avro_and_dead_letters_link_their_origin() {
    let admin = admin().await;
    let topic = unique("produce");
    create_topic(&admin, &topic, 1).await;
    let c = start(options()).await;
    let token = csrf(&c).await;
    let path = format!("/topics/{topic}/produce");
    let (s, body) = post(
        &c,
        &path,
        &[
            ("csrf", &token),
            ("key", "k1"),
            ("format", "json"),
            ("headers", "h1=v1"),
            ("value", "{\"a\": [1, 2]}"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        post(
            &c,
            &path,
            &[("csrf", &token), ("format", "json"), ("value", "{not json")]
        )
        .await
        .0,
        400
    );
    // Avro by subject: register a schema for the topic, then produce JSON that fits it.
    let schema = r#"{"type":"record","name":"Point","fields":[{"name":"x","type":"double"},{"name":"label","type":"string"}]}"#;
    let subject = format!("{topic}-value");
    let (s, body) = post(
        &c,
        "/schemas/register",
        &[
            ("csrf", &token),
            ("subject", &subject),
            ("schema", schema),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = post(
        &c,
        &path,
        &[
            ("csrf", &token),
            ("key", "k2"),
            ("format", "avro"),
            ("value", "{\"x\": 1.5, \"label\": \"p\"}"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = post(
        &c,
        &path,
        &[
            ("csrf", &token),
            ("format", "avro"),
            ("value", "{\"x\": \"no\"}"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    let page = get_ok(&c, &format!("/topics/{topic}/messages?from=beginning")).await;
    assert!(
        page.contains("&quot;a&quot;: [") && page.contains("h1"),
        "{page}"
    );
    assert!(
        page.contains("&quot;label&quot;: &quot;p&quot;") && page.contains("avro (schema"),
        "{page}"
    );
    // An independent read of the first record.
    let req = tda_kafka_admin::BrowseRequest {
        topic: topic.clone(),
        partitions: vec![],
        from: tda_kafka_admin::BrowseFrom::Beginning,
        limit: 10,
        scan_limit: 10,
    };
    let recs = admin.browse(&req, |_| true).await.expect("browse").records;
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(recs[0].value.as_deref(), Some(&br#"{"a":[1,2]}"#[..]));
    assert_eq!(
        recs[1].value.as_ref().map(|v| v[0]),
        Some(0),
        "wire-format magic byte"
    );

    let dlq = unique("dlq");
    create_topic(&admin, &dlq, 1).await;
    produce(
        &admin,
        &dlq,
        0,
        "k1",
        b"{}",
        &[
            ("tda-origin-topic", &topic),
            ("tda-origin-partition", "0"),
            ("tda-origin-offset", "0"),
            ("tda-error", "boom"),
        ],
    )
    .await;
    let page = get_ok(&c, &format!("/topics/{dlq}/messages?from=beginning")).await;
    let link = format!("/topics/{topic}/messages?from=offset&amp;at=0&amp;partition=0&amp;limit=1");
    assert!(page.contains(&link), "no origin link {link} in:\n{page}");
    let origin = get_ok(&c, &link.replace("&amp;", "&")).await;
    assert_eq!(origin.matches("<tr class=\"message\"").count(), 1);
    c.stop().await;
}
