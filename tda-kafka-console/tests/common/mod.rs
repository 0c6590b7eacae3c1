//! Shared helpers of the console tests: the real test cluster (never
//! skipped: a missing cluster fails the test), a console on an OS-picked
//! port, and an HTTP client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tda_kafka_admin::Admin;
use tda_kafka_config::ClientProperties;
use tda_kafka_console::{Console, ConsoleOptions};
use tokio::sync::oneshot;

/// The test cluster's bootstrap servers; panics (never skips) when unset.
pub fn bootstrap() -> String {
    std::env::var("TDA_KAFKA_TEST_BOOTSTRAP").unwrap_or_else(|_| {
        panic!(
            "TDA_KAFKA_TEST_BOOTSTRAP is not set: run the tests through scripts/test.sh, \
             which starts a 3-broker test cluster and exports it"
        )
    })
}

/// The test registry's Confluent-compatible URL; panics when unset.
pub fn registry_url() -> String {
    std::env::var("TDA_KAFKA_TEST_REGISTRY_URL").unwrap_or_else(|_| {
        panic!("TDA_KAFKA_TEST_REGISTRY_URL is not set: run the tests through scripts/test.sh")
    })
}

/// Client properties for the test cluster.
pub fn props() -> ClientProperties {
    let mut p = ClientProperties::default();
    p.set("bootstrap.servers", bootstrap());
    p
}

/// A connected admin client (the independent check of what the console shows).
pub async fn admin() -> Admin {
    Admin::connect(&props(), Duration::from_secs(15))
        .await
        .expect("connect to the test cluster")
}

/// A name unique to this test run.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("it-console-{prefix}-{}-{nanos}", std::process::id())
}

/// Options for the test cluster and registry on 127.0.0.1, port 0.
pub fn options() -> ConsoleOptions {
    ConsoleOptions::new(props())
        .with_registry(registry_url())
        .with_listen("127.0.0.1:0".parse().expect("address"))
        .with_timeout(Duration::from_secs(15))
        .with_lag_sample_interval(Duration::from_millis(500))
}

/// A running console; stops when dropped.
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The address.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<tda_kafka_console::Result<()>>>,
}

impl Running {
    /// Stops the console and waits until it has finished.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await
                .expect("console task")
                .expect("console ended cleanly");
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Starts a console with `opts`.
pub async fn start(opts: ConsoleOptions) -> Running {
    let console = Console::bind(opts).await.expect("bind the console");
    let addr = console.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(console.run(async {
        let _ = rx.await;
    }));
    Running {
        base: format!("http://{addr}"),
        addr,
        stop: Some(tx),
        task: Some(task),
    }
}

/// An HTTP client that does not follow redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

/// GETs `path`; returns status and body.
pub async fn get(c: &Running, path: &str) -> (u16, String) {
    let r = http().get(c.url(path)).send().await.expect("GET");
    let s = r.status().as_u16();
    (s, r.text().await.expect("body"))
}

/// GETs `path` and asserts 200.
pub async fn get_ok(c: &Running, path: &str) -> String {
    let (s, body) = get(c, path).await;
    assert_eq!(s, 200, "GET {path} answered {s}:\n{body}");
    body
}

/// POSTs a form; returns status and body.
pub async fn post(c: &Running, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = with_form(http().post(c.url(path)), form)
        .send()
        .await
        .expect("POST");
    let s = r.status().as_u16();
    (s, r.text().await.expect("body"))
}

/// The CSRF token embedded in a page's change forms.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no CSRF field in the page:\n{html}"));
    let rest = &html[at + marker.len()..];
    rest[..rest.find('"').expect("end of the token")].to_owned()
}

/// The console's CSRF token (read from the create-topic form).
pub async fn csrf(c: &Running) -> String {
    csrf_of(&get_ok(c, "/topics/new").await)
}

/// Creates a topic with RF 3.
pub async fn create_topic(admin: &Admin, name: &str, partitions: i32) {
    let t = tda_kafka_admin::CreateTopic {
        name: name.into(),
        partitions: Some(partitions),
        replication_factor: Some(3),
        configs: Default::default(),
    };
    admin.create_topic(&t).await.expect("create topic");
}

/// Produces one record; returns (partition, offset).
pub async fn produce(
    admin: &Admin,
    topic: &str,
    partition: i32,
    key: &str,
    value: &[u8],
    headers: &[(&str, &str)],
) -> (i32, i64) {
    let req = tda_kafka_admin::ProduceRequest {
        topic: topic.into(),
        key: Some(key.as_bytes().to_vec()),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        value: value.to_vec(),
        count: 1,
        partition: Some(partition),
    };
    let d = admin.produce(&req).await.expect("produce");
    (d[0].partition, d[0].offset)
}

/// Text of the first element with `class="{class}"`-ish marker after `anchor`.
pub fn after<'a>(html: &'a str, anchor: &str) -> &'a str {
    let at = html
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor:?} not in the page:\n{html}"));
    &html[at + anchor.len()..]
}

/// Sets an urlencoded form body.
pub fn with_form(req: reqwest::RequestBuilder, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
    req.header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).expect("encode form"))
}
