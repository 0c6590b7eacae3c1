//! CLI tests of `topics`, `groups`, `backup`, `restore`, `completions` against
//! the real test cluster (TDA_KAFKA_TEST_BOOTSTRAP); `consume` and `produce`
//! are in messages_cli.rs.

mod cli_support;

use std::process::Command;

use cli_support::{committed_p0, tk, tk_stdin, unique, Run};

#[test]
fn topic_lifecycle_through_the_cli() {
    let t = unique("topic");
    let c = unique("compact");
    tk(&["topics", "create", &t, "partitions=5,replication-factor=3"]).ok();
    tk(&["topics", "create", &c, "cleanup.policy=compact"]).ok();
    let list = tk(&["topics", "list", "-o", "json"]).ok().json();
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == t.as_str())
        .unwrap_or_else(|| panic!("{t} not listed"));
    assert_eq!(row["partitions"], 5);
    assert_eq!(row["replication_factor"], 3);
    assert!(!list
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "__consumer_offsets"));
    let all = tk(&["topics", "list", "--all"]).ok();
    assert!(
        all.stdout().contains("__consumer_offsets"),
        "{}",
        all.dump()
    );

    tk(&["topics", "update", &t, "retention.ms=1209600000"]).ok();
    let d = tk(&["topics", "describe", &t]).ok();
    assert!(
        d.stdout().contains("Partitions: 5  ReplicationFactor: 3"),
        "{}",
        d.dump()
    );
    assert!(
        d.stdout()
            .lines()
            .any(|l| l.starts_with('*') && l.contains("retention.ms") && l.contains("1209600000")),
        "{}",
        d.dump()
    );
    let y = tk(&["topics", "describe", &c, "-o", "yaml"]).ok();
    assert!(y.stdout().contains("name: cleanup.policy"), "{}", y.dump());
    assert!(y.stdout().contains("value: compact"), "{}", y.dump());

    tk(&["topics", "add-partitions", &t, "6"]).ok();
    let j = tk(&["topics", "describe", &t, "-o", "json"]).ok().json();
    assert_eq!(j["partitions"].as_array().unwrap().len(), 6);

    // Produce from the argument, stdin and a file; consume with everything printed.
    tk(&[
        "topics",
        "produce",
        &t,
        "hello",
        "-k",
        "k1",
        "-H",
        "h=v",
        "--partition",
        "2",
        "-c",
        "2",
    ])
    .ok();
    tk_stdin(
        &["topics", "produce", &t, "--partition", "2"],
        Some("from-stdin\n"),
    )
    .ok();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("msg.txt");
    std::fs::write(&f, "from-file").unwrap();
    tk(&[
        "topics",
        "produce",
        &t,
        "--file",
        f.to_str().unwrap(),
        "--partition",
        "2",
    ])
    .ok();
    let out = tk(&["topics", "consume", &t, "4"]).ok();
    let s = out.stdout();
    assert_eq!(s.lines().count(), 4, "{}", out.dump());
    assert!(
        s.contains("partition=2 offset=0 timestamp="),
        "{}",
        out.dump()
    );
    assert!(
        s.contains("key=k1 headers=h=v value=hello"),
        "{}",
        out.dump()
    );
    assert!(s.contains("value=from-stdin"), "{}", out.dump());
    assert!(s.contains("value=from-file"), "{}", out.dump());
    let from = tk(&["topics", "consume", &t, "--offset", "3", "-o", "json"]).ok();
    let msgs: Vec<serde_json::Value> = from
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(msgs.len(), 1, "{}", from.dump());
    assert_eq!(msgs[0]["value"], "from-file");

    let m = tk(&["topics", "metrics", &t, "-o", "json"]).ok().json();
    assert_eq!(m["topics"][0]["messages"], 4);
    let p2 = &m["topics"][0]["partitions"][2];
    assert_eq!(
        (p2["earliest"].clone(), p2["latest"].clone()),
        (0.into(), 4.into())
    );
    assert!(p2["size_bytes"].as_i64().unwrap() > 0);
    let mt = tk(&["topics", "metrics", &t]).ok();
    assert!(mt.stdout().contains("4 messages"), "{}", mt.dump());

    // Deletion needs --yes without a terminal; internal topics never.
    let refused = tk(&["topics", "delete", &t]).fails(1);
    assert!(refused.stderr().contains("--yes"), "{}", refused.dump());
    let internal = tk(&["topics", "delete", "__consumer_offsets", "--yes"]).fails(1);
    assert!(
        internal.stderr().contains("internal"),
        "{}",
        internal.dump()
    );
    // KAFKA_DELETE_TOPIC_ENABLE=false (production's setting) refuses deletion.
    let dir = tempfile::tempdir().unwrap();
    let no_delete = dir.path().join("no-delete.env");
    std::fs::write(&no_delete, "KAFKA_DELETE_TOPIC_ENABLE=false\n").unwrap();
    let no_delete = no_delete.to_str().unwrap();
    let refused = tk(&["topics", "delete", &t, "--yes", "--env-file", no_delete]).fails(1);
    assert!(refused.stderr().contains("disabled"), "{}", refused.dump());
    tk(&["topics", "delete", &t, "--yes"]).ok();
    tk(&["topics", "delete", &c, "-y"]).ok();
    let gone = tk(&["topics", "describe", &t]).fails(1);
    assert!(gone.stderr().contains("does not exist"), "{}", gone.dump());
}

#[test]
fn bad_input_exits_1_with_a_clear_message() {
    let bad = tk(&["topics", "create", "bad name"]).fails(1);
    assert!(
        bad.stderr().contains("invalid topic name"),
        "{}",
        bad.dump()
    );
    let t = unique("badcfg");
    let cfg = tk(&["topics", "create", &t, "retention.ms=soon"]).fails(1);
    assert!(cfg.stderr().contains("retention.ms=soon"), "{}", cfg.dump());
    let g = tk(&["groups", "describe", &unique("nogroup")]).fails(1);
    assert!(g.stderr().contains("does not exist"), "{}", g.dump());
    let r = tk(&["groups", "reset", "x", "--to", "sideways"]).fails(1);
    assert!(r.stderr().contains("earliest, latest"), "{}", r.dump());

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("arch.yaml");
    std::fs::write(&f, "version: 1\ntopics:\n  - name: x\n    partitions: -\n").unwrap();
    let m = tk(&["topics", "plan", "-f", f.to_str().unwrap()]).fails(1);
    assert!(
        m.stderr().contains("arch.yaml") && m.stderr().contains("topics[0]"),
        "{}",
        m.dump()
    );
    let m = tk(&["restore", f.to_str().unwrap()]).fails(1);
    assert!(m.stderr().contains("arch.yaml"), "{}", m.dump());

    // Unreachable: bounded, names the address.
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
        .args(["topics", "list", "-b", "127.0.0.1:1", "--timeout", "2"])
        .output()
        .unwrap();
    let run = Run {
        out,
        args: vec!["topics list -b 127.0.0.1:1".into()],
    };
    let run = run.fails(1);
    assert!(run.stderr().contains("127.0.0.1:1"), "{}", run.dump());
    assert!(started.elapsed().as_secs() < 15);
}

#[test]
fn plan_apply_check_with_drift_exit_code() {
    let p = unique("arch");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("topics.yaml");
    std::fs::write(
        &f,
        format!(
            "version: 1\ntopics:\n  - name: {p}-a\n    partitions: 2\n    replication_factor: 3\n    \
             cleanup_policy: delete\n    retention_ms: 604800000\n  - name: {p}-b\n    partitions: 1\n    \
             replication_factor: 3\n    cleanup_policy: compact\n"
        ),
    )
    .unwrap();
    let fp = f.to_str().unwrap();
    let plan = tk(&["topics", "plan", "-f", fp]).ok();
    assert!(
        plan.stdout().contains(&format!("+ create {p}-a")),
        "{}",
        plan.dump()
    );
    let check = tk(&["topics", "check", "-f", fp]).fails(3);
    assert!(check.stderr().contains("drift"), "{}", check.dump());
    let dry = tk(&["topics", "apply", "-f", fp, "--dry-run"]).ok();
    assert!(dry.stdout().contains("dry run"), "{}", dry.dump());
    tk(&["topics", "check", "-f", fp]).fails(3);
    let applied = tk(&["topics", "apply", "-f", fp]).ok();
    assert!(applied.stdout().contains("verified"), "{}", applied.dump());
    tk(&["topics", "check", "-f", fp]).ok();

    // Hand change through the CLI's update, then check fails and apply repairs.
    tk(&["topics", "update", &format!("{p}-a"), "retention.ms=1000"]).ok();
    let drift = tk(&["topics", "check", "-f", fp, "-o", "json"]).fails(3);
    let j = drift.json();
    assert_eq!(
        j["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "alter_configs")
            .count(),
        1
    );
    tk(&["topics", "apply", "-f", fp]).ok();
    tk(&["topics", "check", "-f", fp]).ok();

    // create-all dry run prints the TDA architecture plan: the TDA topics to
    // create, or zero changes where they exist already (the test cluster that
    // `tda-kafka start` made has them; other test topics show as unmanaged).
    let all = tk(&["topics", "create-all", "--dry-run"]).ok();
    let out = all.stdout();
    assert!(
        out.contains("+ create tda_jobs")
            || out.contains("no changes")
            || out
                .lines()
                .any(|l| l.starts_with("0 change(s), 0 not applicable")),
        "{}",
        all.dump()
    );
    assert!(out.contains("dry run"), "{}", all.dump());

    for t in ["a", "b"] {
        tk(&["topics", "delete", &format!("{p}-{t}"), "--yes"]).ok();
    }
}

#[test]
fn groups_backup_restore_and_completions() {
    let t = unique("grp");
    let g = unique("grp-g");
    tk(&["topics", "create", &t, "partitions=2,replication-factor=3"]).ok();
    tk(&["topics", "produce", &t, "m", "--partition", "0", "-c", "5"]).ok();
    tk(&["topics", "produce", &t, "m", "--partition", "1", "-c", "5"]).ok();
    tk(&["topics", "consume", &t, "10", "--group", &g]).ok();
    let list = tk(&["groups", "list", "-o", "json"]).ok().json();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["group"] == g.as_str()));
    let lag = || tk(&["groups", "describe", &g, "-o", "json"]).ok().json()["total_lag"].clone();
    assert_eq!(lag(), 0);
    let table = tk(&["groups", "describe", &g]).ok();
    assert!(table.stdout().contains("Total lag: 0"), "{}", table.dump());

    let dry = tk(&["groups", "reset", &g, "--to", "earliest"]).ok();
    assert!(dry.stdout().contains("dry run"), "{}", dry.dump());
    assert_eq!(lag(), 0);
    tk(&["groups", "reset", &g, "--to", "earliest", "--execute"]).ok();
    assert_eq!(lag(), 10);
    tk(&[
        "groups",
        "reset",
        &g,
        "--to",
        "shift:2",
        "--execute",
        "-t",
        &t,
    ])
    .ok();
    assert_eq!(lag(), 6);

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("backup.json");
    let fp = f.to_str().unwrap();
    // Kafka's part only (tools/tests/services_cli.rs covers schemas and connectors).
    tk(&["backup", fp, "--without", "schemas,connectors"]).ok();
    let full: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    assert_eq!(full["version"], 2);
    assert!(full.get("schemas").is_none() && full.get("connectors").is_none());
    // Keep this test's topic and group only (the cluster is shared).
    let mut mine = full.clone();
    mine["topics"] = serde_json::Value::Array(
        full["topics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["name"] == t.as_str())
            .cloned()
            .collect(),
    );
    mine["groups"] = serde_json::Value::Array(
        full["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["group"] == g.as_str())
            .cloned()
            .collect(),
    );
    std::fs::write(&f, serde_json::to_string_pretty(&mine).unwrap()).unwrap();
    let before = tk(&["topics", "describe", &t, "-o", "json"]).ok().json();
    tk(&["topics", "check", "-f", fp]).ok();

    tk(&["topics", "delete", &t, "--yes"]).ok();
    tk(&["groups", "delete", &g, "--yes"]).ok();
    let r = tk(&["restore", fp]).ok();
    assert!(r.stdout().contains("created"), "{}", r.dump());
    // The topic came back empty: offsets 2 lie beyond its log end (0), so
    // they are clamped to it (and listed) rather than skipping the first new
    // messages.
    assert!(
        r.stdout().contains(&format!(
            "group {g}: offsets ok (clamped to the log: {t}-0 2->0, {t}-1 2->0)"
        )),
        "{}",
        r.dump()
    );
    let after = tk(&["topics", "describe", &t, "-o", "json"]).ok().json();
    assert_eq!(
        after["partitions"].as_array().unwrap().len(),
        before["partitions"].as_array().unwrap().len()
    );
    assert_eq!(after["replication_factor"], before["replication_factor"]);
    let d = tk(&["groups", "describe", &g, "-o", "json"]).ok().json();
    let committed: Vec<i64> = d["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["committed"].as_i64().unwrap())
        .collect();
    assert_eq!(committed, [0, 0]);

    tk(&["groups", "delete", &g, "--yes"]).ok();
    tk(&["topics", "delete", &t, "--yes"]).ok();

    let c = tk(&["completions", "bash"]).ok();
    assert!(
        c.stdout().contains("tda-kafka") && c.stdout().contains("topics"),
        "{}",
        c.dump()
    );
}

#[test]
fn groups_reset_on_an_unknown_or_internal_topic_fails_and_changes_nothing() {
    let t = unique("reset-unknown");
    let g = unique("reset-unknown-g");
    tk(&["topics", "create", &t, "partitions=1,replication-factor=3"]).ok();
    tk(&["topics", "produce", &t, "m", "--partition", "0", "-c", "3"]).ok();
    tk(&["topics", "consume", &t, "3", "--group", &g]).ok();
    assert_eq!(committed_p0(&g, &t), Some(3));
    let missing = unique("no-such-topic");
    let r = tk(&[
        "groups",
        "reset",
        &g,
        "--to",
        "earliest",
        "-t",
        &missing,
        "--execute",
    ])
    .fails(1);
    assert!(
        r.stderr()
            .contains(&format!("topic {missing} does not exist")),
        "{}",
        r.dump()
    );
    // A known topic next to the unknown one is not reset either.
    let r = tk(&[
        "groups",
        "reset",
        &g,
        "--to",
        "earliest",
        "-t",
        &t,
        "-t",
        &missing,
        "--execute",
    ])
    .fails(1);
    assert!(r.stderr().contains("does not exist"), "{}", r.dump());
    let r = tk(&[
        "groups",
        "reset",
        &g,
        "--to",
        "earliest",
        "-t",
        "__consumer_offsets",
        "--execute",
    ])
    .fails(1);
    assert!(r.stderr().contains("internal"), "{}", r.dump());
    assert_eq!(committed_p0(&g, &t), Some(3), "nothing was reset");
    tk(&["groups", "delete", &g, "--yes"]).ok();
    tk(&["topics", "delete", &t, "--yes"]).ok();
}

#[test]
fn restore_validates_group_offsets_and_never_echoes_the_file() {
    let t = unique("restore-check");
    let g_ok = unique("restore-ok");
    let g_bad = unique("restore-bad");
    tk(&["topics", "create", &t, "partitions=2,replication-factor=3"]).ok();
    tk(&["topics", "produce", &t, "m", "--partition", "0", "-c", "4"]).ok();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("offsets.yaml");
    // g_ok: partition 0 within [0, 4], partition 1 beyond its log end (0):
    // clamped and said so. g_bad: a partition that does not exist.
    std::fs::write(
        &f,
        format!(
            "version: 1\ngroups:\n  - group: {g_ok}\n    offsets:\n      - topic: {t}\n        partition: 0\n        offset: 3\n      \
             - topic: {t}\n        partition: 1\n        offset: 7\n  - group: {g_bad}\n    offsets:\n      - topic: {t}\n        \
             partition: 0\n        offset: 1\n      - topic: {t}\n        partition: 9\n        offset: 1\n"
        ),
    )
    .unwrap();
    let r = tk(&["restore", f.to_str().unwrap()]).fails(1);
    let out = r.stdout();
    assert!(
        out.contains(&format!(
            "group {g_ok}: offsets ok (clamped to the log: {t}-1 7->0)"
        )),
        "{}",
        r.dump()
    );
    assert!(
        out.contains(&format!("group {g_bad}: offsets not restored"))
            && out.contains("partition 9 does not exist"),
        "{}",
        r.dump()
    );
    let d = tk(&["groups", "describe", &g_ok, "-o", "json"]).ok().json();
    let committed: Vec<(i64, i64)> = d["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partition"].as_i64().unwrap(),
                p["committed"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(committed, [(0, 3), (1, 0)]);
    let none = tk(&["groups", "describe", &g_bad]).fails(1);
    assert!(
        none.stderr().contains("does not exist"),
        "nothing of {g_bad} was set: {}",
        none.dump()
    );

    // A file that is not a backup: the error names file, field and line, and
    // never shows the content (it can hold secrets).
    const SENTINEL: &str = "SENTINEL-restore-s3cr3t";
    for (name, text) in [
        (
            "whole.yaml",
            format!("password={SENTINEL}\nmore={SENTINEL}\n"),
        ),
        (
            "field.yaml",
            format!("version: 1\ngroups:\n  - group: g\n    offsets: \"{SENTINEL}\"\n"),
        ),
        ("whole.json", format!("\"{SENTINEL}\"")),
    ] {
        let bad = dir.path().join(name);
        std::fs::write(&bad, text).unwrap();
        let r = tk(&["restore", bad.to_str().unwrap()]).fails(1);
        assert!(!r.stderr().contains(SENTINEL), "{}", r.dump());
        assert!(r.stderr().contains(name), "{}", r.dump());
    }
    let r = tk(&["restore", dir.path().join("field.yaml").to_str().unwrap()]).fails(1);
    assert!(
        r.stderr().contains("groups[0].offsets") && r.stderr().contains("line 4"),
        "{}",
        r.dump()
    );
    tk(&["groups", "delete", &g_ok, "--yes"]).ok();
    tk(&["topics", "delete", &t, "--yes"]).ok();
}
