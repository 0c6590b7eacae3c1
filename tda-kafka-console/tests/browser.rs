//! Browser tests: headless Chromium driven through chromedriver (WebDriver,
//! `fantoccini`) against a console on the real test cluster. Each test saves
//! a screenshot under `target/console-screenshots/` (and the overview and lag
//! chart ones also under `docs/screenshots/` when `TDA_CONSOLE_SCREENSHOTS_DIR`
//! points there). A missing chromium/chromedriver fails the test.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use tda_kafka_client::model::*;
use tda_kafka_client::{ClientSettings, TdaProducer, Topic};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn browser() -> (Driver, Client) {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: apt-get install chromium chromium-driver"
        );
    }
    let port = free_port();
    let profile = tempfile::tempdir().expect("profile dir");
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session in headless chromium");
    (driver, client)
}

fn shot_dir() -> PathBuf {
    let d = std::env::var_os("TDA_CONSOLE_SCREENSHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots")
        });
    std::fs::create_dir_all(&d).expect("screenshot dir");
    d
}

async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let path = shot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write screenshot");
    eprintln!("screenshot: {}", path.display());
    path
}

/// Waits (bounded) for an element: a click that submits a form returns before
/// the next page has loaded, and a loaded machine can take seconds. On timeout
/// the panic shows what the page says instead.
async fn wait_for(client: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    match client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(locator)
        .await
    {
        Ok(element) => element,
        Err(e) => {
            let body = match client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!("no {locator:?} after 30 s ({e}); the page says: {body}")
        }
    }
}

async fn text_of(client: &Client, css: &str) -> String {
    wait_for(client, Locator::Css(css))
        .await
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn overview_click_to_topic_and_browse_to_a_decoded_message() {
    let admin = admin().await;
    let topic = unique("ui-topic");
    create_topic(&admin, &topic, 1).await;
    let settings = ClientSettings::new(bootstrap())
        .with_avro(registry_url())
        .expect("avro");
    let producer = TdaProducer::new(&settings).expect("producer");
    let job = unique("ui-job");
    let event = JobEvent::now(
        &job,
        JobLifecycle::Started(JobStarted {
            worker_id: "browser-worker".into(),
        }),
    );
    producer
        .send(
            &Topic::<tda_kafka_client::Jobs>::named(&topic),
            &job,
            &event,
        )
        .await
        .expect("send");
    let console = start(options()).await;
    let (_driver, client) = browser().await;

    client.goto(&console.url("/")).await.expect("open overview");
    let brokers = text_of(&client, "#brokers").await;
    assert_eq!(
        brokers,
        admin
            .health()
            .await
            .expect("health")
            .brokers
            .len()
            .to_string()
    );
    screenshot(&client, "overview").await;

    wait_for(&client, Locator::LinkText(&topic))
        .await
        .click()
        .await
        .expect("click");
    assert_eq!(text_of(&client, "#topic-name").await, topic);
    screenshot(&client, "topic").await;

    wait_for(&client, Locator::Id("browse"))
        .await
        .click()
        .await
        .expect("click");
    let key = text_of(&client, "#messages tr.message td.key").await;
    assert_eq!(key, job);
    let value = text_of(&client, "#messages tr.message pre.value").await;
    let decoded: serde_json::Value = serde_json::from_str(&value).expect("the shown value is JSON");
    assert_eq!(decoded["job_id"], serde_json::json!(job));
    assert!(value.contains("browser-worker"), "{value}");
    screenshot(&client, "message").await;
    client.close().await.expect("close");
    console.stop().await;
}

#[tokio::test]
async fn group_lag_equals_the_admin_library_and_reset_goes_through_the_preview() {
    let admin = admin().await;
    let topic = unique("ui-lag");
    let group = unique("ui-group");
    create_topic(&admin, &topic, 2).await;
    for i in 0..12 {
        produce(&admin, &topic, i % 2, "k", b"{\"n\":1}", &[]).await;
    }
    let mut offsets = BTreeMap::new();
    offsets.insert((topic.clone(), 0), 1);
    offsets.insert((topic.clone(), 1), 2);
    admin.set_offsets(&group, &offsets).await.expect("commit");
    let console = start(options()).await;
    let (_driver, client) = browser().await;

    // Lag grows while the console samples it, so the chart has a shape.
    client
        .goto(&console.url(&format!("/groups/{group}")))
        .await
        .expect("open group");
    for i in 0..6 {
        produce(&admin, &topic, i % 2, "k", b"{\"n\":2}", &[]).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    client.refresh().await.expect("refresh");
    let expected = admin
        .describe_group(&group)
        .await
        .expect("describe")
        .total_lag;
    assert_eq!(text_of(&client, "#total-lag").await, expected.to_string());
    let per_partition = admin
        .describe_group(&group)
        .await
        .expect("describe")
        .partitions;
    for p in &per_partition {
        let css = format!("tr.lag-row[data-partition=\"{}\"] td.lag", p.partition);
        assert_eq!(
            text_of(&client, &css).await,
            p.lag.expect("lag").to_string()
        );
    }
    // The sampler runs every 500 ms; on a loaded machine a round takes
    // longer, so refresh until the chart has its samples (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let samples = loop {
        let samples: usize = client
            .find(Locator::Id("lag-chart"))
            .await
            .expect("chart")
            .attr("data-samples")
            .await
            .expect("attr")
            .and_then(|s| s.parse().ok())
            .expect("sample count");
        if samples >= 3 || std::time::Instant::now() >= deadline {
            break samples;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        client.refresh().await.expect("refresh");
    };
    assert!(samples >= 3, "only {samples} samples after 60 s");
    screenshot(&client, "group-lag").await;

    wait_for(&client, Locator::Id("preview-reset"))
        .await
        .click()
        .await
        .expect("click");
    let preview = text_of(&client, "#reset-preview").await;
    assert!(preview.contains(&topic), "{preview}");
    assert_eq!(
        admin
            .describe_group(&group)
            .await
            .expect("describe")
            .total_lag,
        expected,
        "the preview changed nothing"
    );
    screenshot(&client, "reset-preview").await;
    wait_for(&client, Locator::Id("confirm"))
        .await
        .click()
        .await
        .expect("click");
    wait_for(&client, Locator::Id("back")).await;
    let committed = admin
        .committed_offsets(&group, std::slice::from_ref(&topic))
        .await
        .expect("committed");
    assert!(
        committed.values().all(|o| *o == 0),
        "reset to earliest: {committed:?}"
    );
    screenshot(&client, "reset-done").await;
    client.close().await.expect("close");
    console.stop().await;
}
