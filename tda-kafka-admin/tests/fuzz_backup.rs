//! Bad input never panics: the backup/architecture file reader given
//! arbitrary bytes and text returns a typed error (issue 9, section 4), and
//! its errors never echo the file's content.

use std::path::Path;

use proptest::prelude::*;
use tda_kafka_admin::{AdminError, Backup};

/// YAML/JSON-ish text built from the pieces of a backup file.
fn backup_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("version: 1\n".to_owned()),
        Just("topics:\n".to_owned()),
        Just("groups:\n".to_owned()),
        Just("  - name: ".to_owned()),
        Just("    partitions: ".to_owned()),
        Just("    cleanup_policy: ".to_owned()),
        Just("  - group: ".to_owned()),
        Just("    offsets:\n".to_owned()),
        Just("      - topic: t\n        partition: ".to_owned()),
        Just("{\"version\": 1, \"topics\": [".to_owned()),
        Just("]}".to_owned()),
        Just("\n".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("!!binary ".to_owned()),
        "[-0-9a-z_.\"' :,{}\\[\\]]{0,12}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
}

fn check(result: Result<Backup, AdminError>) -> Result<(), TestCaseError> {
    if let Err(e) = result {
        prop_assert!(
            matches!(e, AdminError::File { .. } | AdminError::Io { .. }),
            "untyped error: {e:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_is_a_typed_error(text in any::<String>()) {
        check(Backup::parse(&text, Path::new("b.yaml")))?;
        check(Backup::parse(&text, Path::new("b.json")))?;
    }

    #[test]
    fn backup_shaped_text_is_a_typed_error(text in backup_like()) {
        check(Backup::parse(&text, Path::new("b.yaml")))?;
        check(Backup::parse(&text, Path::new("b.json")))?;
    }

    #[test]
    fn arbitrary_bytes_on_disk_are_a_typed_error(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("b.yaml");
        std::fs::write(&f, &bytes).unwrap();
        check(Backup::read(&f))?;
    }

    #[test]
    fn errors_do_not_echo_values(secret in "[A-Za-z0-9]{24,40}", at in 0usize..4) {
        let docs = [
            secret.clone(),
            format!("version: 1\ntopics:\n  - name: x\n    partitions: \"{secret}\"\n"),
            format!("version: \"{secret}\"\n"),
            format!("version: 1\ngroups:\n  - group: g\n    offsets: \"{secret}\"\n"),
        ];
        if let Err(e) = Backup::parse(&docs[at], Path::new("b.yaml")) {
            prop_assert!(!e.to_string().contains(&secret), "{e}");
        }
    }
}
