//! Property tests of the parse/render round trips: kafka.env render -> parse,
//! server.properties invariants, and Java-properties escaping checked against
//! an independent parser written here.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tda_kafka_config::keys::{all_keys, lookup};
use tda_kafka_config::{
    is_secret_property, parse_env, validate, CleanupPolicy, ClusterConfig, ConfigLoader,
    Environment, HostnameVerification, Properties, SaslMechanism, SecretString, SecurityProtocol,
    TDA_TOPICS,
};

// ---------------------------------------------------------------------------
// A small Java `Properties.load` parser (java.util.Properties#load0 semantics).

fn java_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // One logical line: skip leading whitespace of the natural line.
        while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\u{c}') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        if matches!(chars[i], '\n' | '\r') {
            i += 1;
            continue;
        }
        if matches!(chars[i], '#' | '!') {
            while i < chars.len() && !matches!(chars[i], '\n' | '\r') {
                i += 1;
            }
            continue;
        }
        // Collect the logical line, joining continuations.
        let mut line = Vec::new();
        loop {
            while i < chars.len() && !matches!(chars[i], '\n' | '\r') {
                line.push(chars[i]);
                i += 1;
            }
            let trailing = line.iter().rev().take_while(|c| **c == '\\').count();
            if trailing % 2 == 1 && i < chars.len() {
                line.pop();
                if chars[i] == '\r' && chars.get(i + 1) == Some(&'\n') {
                    i += 1;
                }
                i += 1;
                while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\u{c}') {
                    i += 1;
                }
                continue;
            }
            if trailing % 2 == 1 {
                line.pop();
            }
            break;
        }
        // Split key and value.
        let mut k = 0;
        let mut escaped = false;
        while k < line.len() {
            let c = line[k];
            if !escaped && matches!(c, '=' | ':' | ' ' | '\t' | '\u{c}') {
                break;
            }
            escaped = !escaped && c == '\\';
            k += 1;
        }
        let key_end = k;
        let mut v = k;
        let mut has_sep = false;
        while v < line.len() {
            let c = line[v];
            if matches!(c, ' ' | '\t' | '\u{c}') {
                v += 1;
            } else if !has_sep && matches!(c, '=' | ':') {
                has_sep = true;
                v += 1;
            } else {
                break;
            }
        }
        out.insert(unescape(&line[..key_end]), unescape(&line[v..]));
    }
    out
}

fn unescape(s: &[char]) -> String {
    let mut units: Vec<u16> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != '\\' || i >= s.len() {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
            continue;
        }
        let e = s[i];
        i += 1;
        match e {
            't' => units.push(u16::from(b'\t')),
            'n' => units.push(u16::from(b'\n')),
            'r' => units.push(u16::from(b'\r')),
            'f' => units.push(0x0c),
            'u' => {
                let hex: String = s[i..i + 4].iter().collect();
                units.push(u16::from_str_radix(&hex, 16).expect("4 hex digits"));
                i += 4;
            }
            other => {
                let mut buf = [0u16; 2];
                units.extend_from_slice(other.encode_utf16(&mut buf));
            }
        }
    }
    String::from_utf16(&units).expect("valid UTF-16")
}

#[test]
fn the_java_parser_follows_java() {
    let text = "# comment\n  ! also\nkey1 = value 1\nkey\\ 2:v2\nkey3 v3 \ncont = a\\\n    b\nu=\\u00e9\\n\nempty\n";
    let p = java_properties(text);
    let expect: BTreeMap<String, String> = [
        ("key1", "value 1"),
        ("key 2", "v2"),
        ("key3", "v3 "),
        ("cont", "ab"),
        ("u", "é\n"),
        ("empty", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(p, expect);
}

// ---------------------------------------------------------------------------
// Generators.

fn trimmed_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]([ -~]{0,24}[!-~])?",
        "[!-~\u{e9}\u{4e2d}\u{1f600}]{1,8}",
    ]
}

fn secret() -> impl Strategy<Value = Option<SecretString>> {
    proptest::option::of("[ -~\n\u{e9}]{1,16}".prop_map(SecretString::new))
}

fn mechanism() -> impl Strategy<Value = SaslMechanism> {
    prop::sample::select(vec![
        SaslMechanism::Plain,
        SaslMechanism::ScramSha256,
        SaslMechanism::ScramSha512,
    ])
}

fn cleanup() -> impl Strategy<Value = CleanupPolicy> {
    prop::sample::select(vec![
        CleanupPolicy::Delete,
        CleanupPolicy::Compact,
        CleanupPolicy::CompactDelete,
    ])
}

prop_compose! {
    fn any_config()(
        environment in prop::sample::select(Environment::ALL.to_vec()),
        (recovery_mode, broker_count, default_partitions, num_partitions) in
            (any::<bool>(), 1u16..=9, 1i32..5000, 1i32..5000),
        (default_replication_factor, min_insync_replicas) in (1i16..=6, 1i16..=6),
        heap_size in "[1-9][0-9]{0,4}[kKmMgG]?",
        heap_opts in proptest::option::of(trimmed_text()),
        jvm_performance_opts in prop_oneof![Just(String::new()), trimmed_text()],
        (num_network_threads, num_io_threads, delay) in (1u32..256, 1u32..256, 0u32..600_000),
        (auto_create_topics_enable, delete_topic_enable) in (any::<bool>(), any::<bool>()),
        protocol in prop::sample::select(vec![
            SecurityProtocol::Plaintext, SecurityProtocol::Ssl,
            SecurityProtocol::SaslPlaintext, SecurityProtocol::SaslSsl,
        ]),
        (keystore, truststore, ca, user) in (
            proptest::option::of(trimmed_text()), proptest::option::of(trimmed_text()),
            proptest::option::of(trimmed_text()), proptest::option::of(trimmed_text()),
        ),
        (ks_pw, key_pw, ts_pw, sasl_pw) in (secret(), secret(), secret(), secret()),
        mechanisms in prop::collection::vec(mechanism(), 0..3),
        inter_broker in proptest::option::of(mechanism()),
        host in "[a-z0-9][a-z0-9.-]{0,20}",
        ports in prop::array::uniform8(1u16..=65535),
        jmx in 0u16..=65535,
        topics in prop::collection::vec((1i32..200, proptest::option::of(-1i64..1_000_000_000_000), cleanup()), 5),
    ) -> ClusterConfig {
        let mut c = ClusterConfig::for_environment(environment);
        c.recovery_mode = recovery_mode;
        c.broker_count = broker_count;
        c.default_partitions = default_partitions;
        c.num_partitions = num_partitions;
        c.default_replication_factor = default_replication_factor;
        c.min_insync_replicas = min_insync_replicas;
        c.heap_size = heap_size;
        c.heap_opts = heap_opts;
        c.jvm_performance_opts = jvm_performance_opts;
        c.num_network_threads = num_network_threads;
        c.num_io_threads = num_io_threads;
        c.group_initial_rebalance_delay_ms = delay;
        c.auto_create_topics_enable = auto_create_topics_enable;
        c.delete_topic_enable = delete_topic_enable;
        let s = &mut c.security;
        s.protocol = protocol;
        s.ssl_keystore_location = keystore;
        s.ssl_truststore_location = truststore;
        s.ssl_ca_location = ca;
        s.sasl_username = user;
        s.ssl_keystore_password = ks_pw;
        s.ssl_key_password = key_pw;
        s.ssl_truststore_password = ts_pw;
        s.sasl_password = sasl_pw;
        s.sasl_enabled_mechanisms = mechanisms;
        s.sasl_mechanism_inter_broker_protocol = inter_broker;
        let n = &mut c.network;
        n.host = host;
        n.kafka_base_port = ports[0];
        n.controller_base_port = ports[1];
        n.schema_registry_port = ports[2];
        n.connect_port = ports[3];
        n.ui_port = ports[4];
        n.ksqldb_port = ports[5];
        n.redis_port = ports[6];
        n.jmx_base_port = jmx;
        for (name, (p, r, cp)) in TDA_TOPICS.iter().zip(topics) {
            let t = c.topics.iter_mut().find(|t| t.name == *name).unwrap();
            t.partitions = p;
            t.retention_ms = r;
            t.cleanup_policy = cp;
        }
        c
    }
}

/// Configurations that pass validation (the ones `server.properties` is
/// rendered for).
fn valid_config() -> impl Strategy<Value = ClusterConfig> {
    (any_config(), 0u16..=100, 0u16..=100, 1u16..=100).prop_map(|(mut c, rf, isr, gap)| {
        let n = c.broker_count;
        c.default_replication_factor = (1 + rf % n) as i16;
        c.min_insync_replicas = 1 + (isr as i16 % c.default_replication_factor);
        c.auto_create_topics_enable &= c.environment != Environment::Production;
        // Non-overlapping ports: ranges of `n` ports, `gap` apart.
        let base = 20_000 + gap;
        let step = n + gap;
        let net = &mut c.network;
        net.kafka_base_port = base;
        net.controller_base_port = base + step;
        net.jmx_base_port = base + 2 * step;
        for (i, p) in [
            &mut net.schema_registry_port,
            &mut net.connect_port,
            &mut net.ui_port,
            &mut net.ksqldb_port,
            &mut net.redis_port,
        ]
        .into_iter()
        .enumerate()
        {
            *p = base + 3 * step + i as u16;
        }
        let s = &mut c.security;
        if c.environment == Environment::Production {
            // Production refuses unencrypted listeners and unchecked host names.
            s.protocol = match s.protocol {
                SecurityProtocol::Plaintext => SecurityProtocol::Ssl,
                SecurityProtocol::SaslPlaintext => SecurityProtocol::SaslSsl,
                p => p,
            };
            s.hostname_verification = HostnameVerification::Https;
        }
        if s.protocol.uses_tls() {
            s.ssl_keystore_location
                .get_or_insert_with(|| "/ks.jks".into());
            s.ssl_keystore_password
                .get_or_insert_with(|| SecretString::new("pw"));
            s.ssl_truststore_location
                .get_or_insert_with(|| "/ts.jks".into());
        }
        if s.protocol.uses_sasl() {
            let m = *s
                .sasl_mechanism_inter_broker_protocol
                .get_or_insert(SaslMechanism::ScramSha256);
            if !s.sasl_enabled_mechanisms.contains(&m) {
                s.sasl_enabled_mechanisms.push(m);
            }
            s.sasl_username.get_or_insert_with(|| "tda".into());
            s.sasl_password
                .get_or_insert_with(|| SecretString::new("pw"));
        }
        c
    })
}

// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Rendering a config as kafka.env and reading it back gives the same config,
    /// through the key table directly and through the loader.
    #[test]
    fn env_file_round_trip(c in any_config()) {
        let text = c.to_env_file(true);
        let parsed = parse_env(&text);
        prop_assert!(parsed.errors.is_empty(), "{:?}\n{}", parsed.errors, text);
        prop_assert_eq!(parsed.entries.len(), all_keys().count());
        let other = if c.environment == Environment::Production {
            Environment::Development
        } else {
            Environment::Production
        };
        let mut back = ClusterConfig::for_environment(other);
        for e in &parsed.entries {
            let key = lookup(&e.key).expect("rendered keys are known");
            prop_assert!(key.apply(&mut back, &e.value).is_ok(), "{} = {:?}", e.key, e.value);
        }
        prop_assert_eq!(&back, &c);
        let loaded = ConfigLoader::new().env_text("gen.env", text).check();
        prop_assert_eq!(&loaded.config, &c);
        prop_assert!(
            loaded.report.issues.iter().all(|i| !i.message.starts_with("invalid value")
                && !i.message.starts_with("unknown key")),
            "{}", loaded.report
        );
    }

    /// Without secrets, the rendered file holds no secret value.
    #[test]
    fn env_file_without_secrets_hides_them(c in any_config()) {
        let text = c.to_env_file(false);
        for key in all_keys().filter(|k| k.is_secret()) {
            let prefix = format!("{}=", key.name());
            let masked = format!("# {}=***", key.name());
            for line in text.lines() {
                prop_assert!(!line.starts_with(&prefix), "{}", line);
            }
            prop_assert_eq!(key.value(&c).is_some(), text.lines().any(|l| l == masked));
        }
    }

    /// server.properties of every node of a valid config keeps the invariants
    /// a KRaft quorum needs, and reads back through a Java-properties parser.
    #[test]
    fn server_properties_invariants(c in valid_config()) {
        prop_assert!(!validate(&c).has_errors(), "{}", validate(&c));
        let n = c.broker_count;
        let mut all_ports = std::collections::BTreeSet::new();
        for id in c.node_ids() {
            let props = c.broker_properties(id, &format!("/data/node-{id}"));
            let text = props.to_properties_string();
            let back = java_properties(&text);
            let direct: BTreeMap<String, String> = props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain(props.secrets().map(|(k, v)| (k.to_string(), v.expose().to_string())))
                .collect();
            prop_assert!(props.iter().all(|(k, _)| !is_secret_property(k)));
            prop_assert_eq!(&back, &direct);
            let get = |k: &str| back.get(k).cloned().unwrap_or_default();
            prop_assert_eq!(get("node.id"), id.to_string());
            prop_assert_eq!(get("process.roles"), "broker,controller");
            let voters: Vec<String> = get("controller.quorum.voters")
                .split(',').map(str::to_string).collect();
            prop_assert_eq!(voters.len(), usize::from(n));
            for (i, v) in voters.iter().enumerate() {
                let expected = format!("{}@{}:{}", i + 1, c.network.host, c.network.controller_port(i as u16 + 1));
                prop_assert_eq!(v, &expected);
            }
            let port = c.network.kafka_port(id);
            let listener = format!(":{},", port);
            let advertised = format!(":{}", port);
            prop_assert!(get("listeners").contains(&listener));
            prop_assert!(get("advertised.listeners").ends_with(&advertised));
            prop_assert!(all_ports.insert(port));
            prop_assert!(all_ports.insert(c.network.controller_port(id)));
            let num = |k: &str| get(k).parse::<i64>().unwrap();
            prop_assert!(num("default.replication.factor") <= i64::from(n));
            prop_assert!(num("offsets.topic.replication.factor") <= i64::from(n));
            prop_assert!(num("transaction.state.log.min.isr") <= num("transaction.state.log.replication.factor"));
            prop_assert_eq!(num("min.insync.replicas"), i64::from(c.min_insync_replicas));
            prop_assert!(num("min.insync.replicas") <= num("default.replication.factor"));
            prop_assert_eq!(get("auto.create.topics.enable"), c.auto_create_topics_enable.to_string());
            prop_assert_eq!(
                get("listener.security.protocol.map"),
                format!("EXTERNAL:{},CONTROLLER:PLAINTEXT", c.security.protocol)
            );
            prop_assert_eq!(back.contains_key("ssl.keystore.location"), c.security.protocol.uses_tls());
            prop_assert_eq!(back.contains_key("sasl.enabled.mechanisms"), c.security.protocol.uses_sasl());
        }
    }

    /// Any keys and values survive Java-properties escaping.
    #[test]
    fn properties_escaping_round_trip(
        entries in prop::collection::btree_map("[ -~\t\n\r\u{c}\u{e9}\u{4e2d}\u{1f600}]{0,12}", "[ -~\t\n\r\u{c}\u{e9}\u{4e2d}\u{1f600}]{0,16}", 0..8)
    ) {
        let mut props = Properties::default();
        for (k, v) in &entries {
            props.set(k.clone(), v);
        }
        let text = props.to_properties_string();
        prop_assert!(text.is_ascii(), "{}", text);
        prop_assert_eq!(java_properties(&text), entries);
    }

    /// The env parser never panics and reports errors with real line numbers.
    #[test]
    fn env_parser_is_total(text in "[ -~\n\t'\"#=\u{e9}]{0,200}") {
        let parsed = parse_env(&text);
        let lines = text.lines().count().max(1);
        for e in &parsed.errors {
            prop_assert!(e.line >= 1 && e.line <= lines);
        }
        for e in &parsed.entries {
            prop_assert!(e.line >= 1 && e.line <= lines);
        }
    }
}

/// What `/bin/sh` makes of `KEY=<quoted value>` when it sources the line.
fn sourced_by_sh(assignment: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.env");
    std::fs::write(&file, format!("{assignment}\n")).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(". \"$1\" && printf %s \"$K\"")
        .arg("sh")
        .arg(&file)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Quoted values mean the same to a POSIX shell as to our parser.
    #[test]
    fn quoting_agrees_with_the_shell(v in "[ -~\n\u{e9}]{0,24}") {
        let line = format!("K={}", tda_kafka_config::quote_env_value(&v));
        prop_assert_eq!(&parse_env(&line).entries[0].value, &v);
        prop_assert_eq!(sourced_by_sh(&line), v);
    }
}

#[test]
fn seed_style_quoted_lines_agree_with_the_shell() {
    for line in [
        r#"K="-Xmx32g -Xms32g""#,
        r#"K="-XX:+UseG1GC -XX:MaxGCPauseMillis=20""#,
        "K=plain # comment",
        "export K='single # quoted'",
        r#"K="a \"b\" \\ \$c""#,
    ] {
        assert_eq!(
            parse_env(line).entries[0].value,
            sourced_by_sh(line),
            "{line}"
        );
    }
}
