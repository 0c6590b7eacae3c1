//! Bad input never panics: the kafka.env parser, the loader over arbitrary
//! env-file text, topics files and topic specs, given arbitrary text and
//! values (issue 9, section 4). Each returns a typed result or error.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use tda_kafka_config::{
    parse_env, topic_name_error, validate, CleanupPolicy, ClusterConfig, ConfigLoader, TopicSpec,
    TopicsFile,
};

/// Text that looks like an env file often enough to reach deep branches:
/// keys, `=`, quotes, escapes, `export`, comments, `$`, continuations.
fn env_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("KAFKA_BROKER_COUNT".to_owned()),
        Just("TDA_KAFKA_PORT_BASE".to_owned()),
        Just("export ".to_owned()),
        Just("=".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just("$".to_owned()),
        Just("${".to_owned()),
        Just("}".to_owned()),
        Just("#".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\u{feff}".to_owned()),
        "[a-zA-Z0-9_]{0,8}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_env_parser_never_panics_on_arbitrary_text(text in any::<String>()) {
        let parsed = parse_env(&text);
        let lines = text.split('\n').count();
        for e in &parsed.errors {
            prop_assert!(e.line >= 1 && e.line <= lines, "{e:?} in {lines} line(s)");
        }
    }

    #[test]
    fn the_env_parser_never_panics_on_env_like_text(text in env_like()) {
        let parsed = parse_env(&text);
        for e in &parsed.entries {
            prop_assert!(!e.key.is_empty());
        }
    }

    #[test]
    fn loading_an_arbitrary_env_file_returns_a_result(text in env_like()) {
        // Either a configuration or errors that say something, never a panic.
        if let Err(e) = ConfigLoader::new().env_text("fuzz.env", text).load() {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn topics_files_never_panic_on_arbitrary_text(text in any::<String>()) {
        for r in [
            TopicsFile::from_yaml_str(&text, Path::new("t.yaml")),
            TopicsFile::from_json_str(&text, Path::new("t.json")),
        ] {
            if let Err(issue) = r {
                prop_assert!(!issue.to_string().is_empty());
            }
        }
    }

    #[test]
    fn topics_files_never_panic_on_topic_shaped_yaml(
        name in any::<String>(),
        partitions in "[-0-9a-z.]{0,12}",
        rf in "[-0-9a-z]{0,8}",
        policy in "[a-z,]{0,16}",
        retention in "[-0-9e.]{0,24}",
        key in "[a-z._]{0,16}",
        value in any::<String>(),
    ) {
        let text = format!(
            "version: 1\ntopics:\n  - name: {name:?}\n    partitions: {partitions}\n    \
             replication_factor: {rf}\n    cleanup_policy: {policy}\n    retention_ms: {retention}\n    \
             configs:\n      {key:?}: {value:?}\n"
        );
        let _ = TopicsFile::from_yaml_str(&text, Path::new("t.yaml"));
    }

    #[test]
    fn topic_specs_with_arbitrary_values_validate_without_panicking(
        name in any::<String>(),
        partitions in any::<i32>(),
        rf in proptest::option::of(any::<i16>()),
        retention in proptest::option::of(any::<i64>()),
        min_isr in proptest::option::of(any::<i16>()),
        compact in any::<bool>(),
        configs in prop::collection::btree_map(any::<String>(), any::<String>(), 0..4),
        policy in any::<String>(),
    ) {
        let _ = topic_name_error(&name);
        let _ = policy.parse::<CleanupPolicy>();
        let mut spec = TopicSpec::new(name, partitions);
        spec.replication_factor = rf;
        spec.retention_ms = retention;
        spec.min_insync_replicas = min_isr;
        spec.configs = configs;
        if compact {
            spec = spec.with_cleanup_policy(CleanupPolicy::Compact);
        }
        let rendered: BTreeMap<String, String> = spec.topic_configs();
        prop_assert!(rendered.contains_key("cleanup.policy"));
        let mut cfg = ClusterConfig::default();
        cfg.topics.push(spec.clone());
        let _ = validate(&cfg);
        let _ = cfg.effective_topic(&spec);
        let _ = TopicsFile::new(vec![spec]).to_yaml_string();
    }
}
