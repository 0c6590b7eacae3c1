//! The registry admin client against the test stack's real registry
//! (TDA_KAFKA_TEST_REGISTRY_URL, started by scripts/test.sh).

mod common;

use std::time::Duration;

use futures::{stream, StreamExt, TryStreamExt};
use tda_kafka_admin::{NewSchema, RegistryClient};

fn registry() -> RegistryClient {
    let url = std::env::var("TDA_KAFKA_TEST_REGISTRY_URL").unwrap_or_else(|_| {
        panic!("TDA_KAFKA_TEST_REGISTRY_URL is not set: run the tests through scripts/test.sh")
    });
    RegistryClient::new(&url, None, Duration::from_secs(30)).expect("registry client")
}

/// Apicurio's Confluent API stops `GET /subjects` at 1000 subjects unless
/// told otherwise; the stack's registry lists every one.
#[tokio::test]
async fn subjects_lists_more_than_a_thousand_subjects() {
    const COUNT: usize = 1_005;
    let reg = registry();
    let prefix = common::unique("many");
    let names: Vec<String> = (0..COUNT)
        .map(|i| format!("{prefix}-{i:04}-value"))
        .collect();
    let schema =
        NewSchema::avro(r#"{"type":"record","name":"Many","fields":[{"name":"a","type":"int"}]}"#);
    stream::iter(names.iter())
        .map(|s| reg.register(s, &schema))
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .expect("register");

    let listed = reg.subjects().await.expect("list subjects");
    let mine = listed.iter().filter(|s| s.starts_with(&prefix)).count();

    stream::iter(names.iter())
        .map(|s| reg.delete_subject(s, true))
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .expect("delete");
    assert_eq!(mine, COUNT, "{} subjects listed in all", listed.len());
}
