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

/// `count` new subjects named after `prefix`, each with one version.
async fn registered(reg: &RegistryClient, prefix: &str, count: usize) -> Vec<String> {
    let names: Vec<String> = (0..count)
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
    names
}

/// Deletes `names` permanently, `concurrency` at a time.
async fn delete_all(
    reg: &RegistryClient,
    names: &[String],
    concurrency: usize,
) -> tda_kafka_admin::Result<()> {
    stream::iter(names.iter())
        .map(|s| reg.delete_subject(s, true))
        .buffer_unordered(concurrency)
        .try_collect::<Vec<_>>()
        .await
        .map(drop)
}

/// Apicurio's Confluent API stops `GET /subjects` at 1000 subjects unless
/// told otherwise; the stack's registry lists every one.
#[tokio::test]
async fn subjects_lists_more_than_a_thousand_subjects() {
    const COUNT: usize = 1_005;
    let reg = registry();
    let prefix = common::unique("many");
    let names = registered(&reg, &prefix, COUNT).await;

    let listed = reg.subjects().await.expect("list subjects");
    let mine = listed.iter().filter(|s| s.starts_with(&prefix)).count();

    delete_all(&reg, &names, 8).await.expect("delete");
    assert_eq!(mine, COUNT, "{} subjects listed in all", listed.len());
}

/// Listing subjects with their versions while another client deletes them
/// never fails: a subject gone between the two reads is simply not listed.
#[tokio::test]
async fn listing_while_subjects_are_deleted_leaves_the_deleted_out() {
    const COUNT: usize = 200;
    let reg = registry();
    let prefix = common::unique("vanishing");
    let names = registered(&reg, &prefix, COUNT).await;
    let done = std::sync::atomic::AtomicBool::new(false);
    let deleter = async {
        let r = delete_all(&reg, &names, 4).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        r
    };
    let lister = async {
        let mut listings = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let listed = reg
                .subjects_with_versions()
                .await
                .expect("a listing during deletes");
            assert!(listed.iter().all(|(_, v)| !v.is_empty()));
            listings += 1;
        }
        listings
    };
    let (deleted, listings) = tokio::join!(deleter, lister);
    deleted.expect("delete");
    assert!(listings > 0);
    let left = reg.subjects_with_versions().await.unwrap();
    assert!(
        left.iter().all(|(s, _)| !s.starts_with(&prefix)),
        "all deleted"
    );
}
