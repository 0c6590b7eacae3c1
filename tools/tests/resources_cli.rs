//! `tda-kafka start --environment production` (the seed's 32 GiB heaps,
//! three JVMs) on a machine without that memory is refused before anything
//! starts, saying what it needs, what the machine has and what to change.
//! No cluster is needed: nothing may be launched.

use std::process::{Command, Stdio};

/// `MemAvailable` in bytes.
fn mem_available() -> u64 {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

#[test]
fn production_start_is_refused_when_the_heaps_do_not_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("cluster");
    // This helper's ports, so nothing of a user's cluster could be touched;
    // the seed's production heap (32G) unless this machine could hold three.
    let mut env = String::from(
        "TDA_KAFKA_PORT_BASE=23092\nTDA_KAFKA_CONTROLLER_PORT_BASE=23192\nTDA_KAFKA_JMX_PORT_BASE=0\n\
         TDA_SCHEMA_REGISTRY_PORT=23081\nTDA_SCHEMA_REGISTRY_INTERNAL_PORT=23082\nTDA_CONNECT_PORT=23083\n\
         TDA_REDIS_PORT=23379\nTDA_KAFKA_UI_PORT=23080\n\
         KAFKA_SECURITY_PROTOCOL=SSL\nKAFKA_SSL_KEYSTORE_LOCATION=/nonexistent/k.jks\n\
         KAFKA_SSL_KEYSTORE_PASSWORD=changeit\nKAFKA_SSL_TRUSTSTORE_LOCATION=/nonexistent/t.jks\n\
         KAFKA_SSL_CA_LOCATION=/nonexistent/ca.pem\n",
    );
    // (Production refuses PLAINTEXT at validation, before this check: the
    // file names TLS keystores so the configuration itself is valid.)
    let seed_heaps = 3 * (32u64 << 30);
    if mem_available() >= seed_heaps {
        let gib = mem_available() / (1 << 30) + 1;
        env.push_str(&format!("KAFKA_HEAP_OPTS=\"-Xmx{gib}g -Xms{gib}g\"\n"));
    }
    let env_file = tmp.path().join("prod.env");
    std::fs::write(&env_file, env).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
        .args([
            "start",
            "--environment",
            "production",
            "--provider",
            "local",
        ])
        .arg("--env-file")
        .arg(&env_file)
        .arg("--data-dir")
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert_eq!(out.status.code(), Some(1), "refused with exit 1");
    for needle in [
        "refusing to start the production cluster",
        "3 Kafka JVMs",
        "MemAvailable",
        "KAFKA_HEAP_OPTS=",
        "KAFKA_BROKER_COUNT",
    ] {
        assert!(stderr.contains(needle), "missing `{needle}` in: {stderr}");
    }
    // Nothing was started: no data directory, no node files, no pid files.
    assert!(
        !data.exists(),
        "the refused start created {}",
        data.display()
    );
}
