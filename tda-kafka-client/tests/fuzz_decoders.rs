//! Bad input never panics: the message decoders (JSON, the Confluent wire
//! format, Avro datums behind a real registry's schema, keys) given arbitrary
//! bytes return a typed error (issue 9, section 4).

mod common;

use std::sync::{Arc, OnceLock};

use common::*;
use proptest::prelude::*;
use tda_kafka_client::model::{
    samples, ErrorRecord, JobEvent, JobResult, SystemEvent, UploadEvent,
};
use tda_kafka_client::registry::split_frame;
use tda_kafka_client::{ClientError, Codec, MessageKey, RegistryClient};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
}

/// A decode result: a value, or a poison (`Decode`) error; with Avro also a
/// retriable registry error. Anything else is a wrong classification.
fn typed<M: std::fmt::Debug>(r: Result<M, ClientError>, avro: bool) -> Result<(), TestCaseError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.poison_kind().is_some() => Ok(()),
        Err(ClientError::Registry {
            retriable: true, ..
        }) if avro => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("unexpected error kind: {e:?}"))),
    }
}

/// A registry client with `JobEvent` and `JobResult` registered for one
/// topic, and the 5-byte headers of their frames.
fn registry() -> &'static (Arc<RegistryClient>, Vec<u8>, Vec<u8>) {
    static R: OnceLock<(Arc<RegistryClient>, Vec<u8>, Vec<u8>)> = OnceLock::new();
    R.get_or_init(|| {
        let r = Arc::new(RegistryClient::new(registry_url()).unwrap());
        let topic = unique("fuzz");
        let (jobs, results) = runtime().block_on(async {
            let j = r
                .encode(&topic, &samples::job_submitted("j"))
                .await
                .unwrap();
            let res = r
                .encode(&format!("{topic}-r"), &samples::job_result("j"))
                .await
                .unwrap();
            (j, res)
        });
        (r, jobs[..5].to_vec(), results[..5].to_vec())
    })
}

fn json_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    let c = Codec::Json;
    runtime().block_on(async {
        typed(c.decode::<JobEvent>(bytes).await, false)?;
        typed(c.decode::<JobResult>(bytes).await, false)?;
        typed(c.decode::<SystemEvent>(bytes).await, false)?;
        typed(c.decode::<UploadEvent>(bytes).await, false)?;
        typed(c.decode::<ErrorRecord>(bytes).await, false)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn json_and_frames_and_keys_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        json_all(&bytes)?;
        if let Err(e) = split_frame(&bytes) {
            prop_assert!(e.poison_kind().is_some(), "{e:?}");
        }
        if let Err(e) = String::from_key_bytes(&bytes) {
            prop_assert!(e.poison_kind().is_some(), "{e:?}");
        }
    }

    #[test]
    fn json_shaped_text_never_panics(text in r#"[{}\[\]":,0-9a-z_ .-]{0,200}"#) {
        json_all(text.as_bytes())?;
    }

    #[test]
    fn avro_datums_after_a_known_schema_id_never_panic(datum in prop::collection::vec(any::<u8>(), 0..512)) {
        let (r, jobs, results) = registry();
        runtime().block_on(async {
            let frame: Vec<u8> = jobs.iter().chain(&datum).copied().collect();
            typed(r.decode::<JobEvent>(&frame).await, true)?;
            let frame: Vec<u8> = results.iter().chain(&datum).copied().collect();
            typed(r.decode::<JobResult>(&frame).await, true)?;
            // A schema read as another type: resolution fails, typed.
            typed(r.decode::<UploadEvent>(&frame).await, true)
        })?;
    }
}

proptest! {
    // Each case may ask the registry about a new id: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn avro_frames_with_arbitrary_ids_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let (r, _, _) = registry();
        let mut frame = vec![0u8];
        frame.extend_from_slice(&bytes);
        runtime().block_on(async { typed(r.decode::<JobEvent>(&frame).await, true) })?;
    }
}

#[test]
fn the_registry_client_used_above_is_real() {
    // Guard against the Avro properties passing vacuously: a real frame of
    // each schema decodes.
    let (r, jobs, _) = registry();
    let v = samples::job_submitted("j");
    let frame = runtime().block_on(async {
        let probe = RegistryClient::new(registry_url()).unwrap();
        probe.encode(&unique("fuzz-probe"), &v).await.unwrap()
    });
    assert_eq!(frame[0], 0);
    assert_eq!(jobs.len(), 5);
    let decoded = runtime().block_on(r.decode::<JobEvent>(&frame)).unwrap();
    assert_eq!(decoded, v);
}
