//! `connect`, `schemas`, and `backup`/`restore` with schemas and connectors,
//! through the real binary against the shared test stack's brokers
//! (TDA_KAFKA_TEST_BOOTSTRAP), registry (TDA_KAFKA_TEST_REGISTRY_URL) and
//! Kafka Connect worker with the FileStream plugins
//! (TDA_KAFKA_TEST_CONNECT_URL). Each test uses its own names; the stack is
//! shared, so nothing here lists or wipes what others own.

mod cli_support;

use std::path::Path;
use std::time::{Duration, Instant};

use cli_support::{env, run, Run};
use serde_json::{json, Value};

fn unique(prefix: &str) -> String {
    cli_support::unique_in("svc", prefix)
}

/// `tda-kafka ARGS... -b B --registry R --connect C` (the services' URLs
/// through their environment variables, as a user may set them).
fn tk(args: &[&str]) -> Run {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if matches!(
        args.first(),
        Some(&"topics" | &"groups" | &"backup" | &"restore")
    ) {
        all.push("--bootstrap-server".into());
        all.push(env("TDA_KAFKA_TEST_BOOTSTRAP"));
    }
    let envs = [
        (
            "TDA_SCHEMA_REGISTRY_URL",
            env("TDA_KAFKA_TEST_REGISTRY_URL"),
        ),
        ("TDA_CONNECT_URL", env("TDA_KAFKA_TEST_CONNECT_URL")),
    ];
    let run = run(all, &envs, None);
    eprintln!("{}", run.dump());
    run
}

/// Polls `probe` until it returns `Some`, at most `bound` (a readiness
/// wait, not a timing assertion).
fn wait_for<T>(what: &str, bound: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn connector_state(name: &str) -> (String, Vec<String>) {
    let v = tk(&["connect", "status", name, "-o", "json"]).ok().json();
    let tasks = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap().to_owned())
        .collect();
    (v["connector"]["state"].as_str().unwrap().to_owned(), tasks)
}

fn wait_state(name: &str, want: &str) {
    wait_for(
        &format!("{name} and its task {want}"),
        Duration::from_secs(120),
        || {
            let (c, t) = connector_state(name);
            (c == want && !t.is_empty() && t.iter().all(|s| s == want)).then_some(())
        },
    )
}

fn source_yaml(name: &str, file: &Path, topic: &str, extra: &str) -> String {
    format!(
        "name: {name}\nconfig:\n  connector.class: org.apache.kafka.connect.file.FileStreamSourceConnector\n  tasks.max: 1\n  file: {}\n  topic: {topic}\n  key.converter: org.apache.kafka.connect.storage.StringConverter\n  value.converter: org.apache.kafka.connect.storage.StringConverter\n{extra}",
        file.display()
    )
}

#[test]
fn connect_lifecycle_from_yaml_and_json_files() {
    let dir = tempfile::tempdir().unwrap();
    let name = unique("src");
    let topic = unique("src-topic");
    tk(&["topics", "create", &topic, "partitions=1"]).ok();
    let input = dir.path().join("input.txt");
    let lines: Vec<String> = (0..3).map(|i| format!("{name} line {i}")).collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let yaml = dir.path().join("source.yaml");
    std::fs::write(&yaml, source_yaml(&name, &input, &topic, "")).unwrap();

    tk(&["connect", "create", yaml.to_str().unwrap()]).ok();
    wait_state(&name, "RUNNING");
    // It really runs: the file's lines are in the topic, in order.
    let got = tk(&["topics", "consume", &topic, "3", "-o", "json"]).ok();
    let values: Vec<String> = got
        .stdout()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .flat_map(|v| match v {
            Value::Array(a) => a,
            one => vec![one],
        })
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(values, lines, "{}", got.dump());

    let list = tk(&["connect", "list", "-o", "json"]).ok().json();
    assert_eq!(list[&name]["info"]["type"], "source", "{list}");
    assert_eq!(list[&name]["status"]["connector"]["state"], "RUNNING");
    let table = tk(&["connect", "list"]).ok();
    assert!(table.stdout().contains(&name), "{}", table.dump());

    tk(&["connect", "pause", &name]).ok();
    wait_state(&name, "PAUSED");
    tk(&["connect", "resume", &name]).ok();
    wait_state(&name, "RUNNING");
    tk(&["connect", "restart", &name, "--include-tasks"]).ok();
    wait_state(&name, "RUNNING");
    tk(&[
        "connect",
        "restart",
        &name,
        "--include-tasks",
        "--only-failed",
    ])
    .ok();
    wait_state(&name, "RUNNING");

    // update from a JSON file in the flat form; read back through list.
    let json_file = dir.path().join("source.json");
    let flat = json!({
        "name": name,
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "tasks.max": "1",
        "file": input.display().to_string(),
        "topic": topic,
        "batch.size": 7,
    });
    std::fs::write(&json_file, flat.to_string()).unwrap();
    tk(&["connect", "update", &name, json_file.to_str().unwrap()]).ok();
    let list = tk(&["connect", "list", "-o", "json"]).ok().json();
    assert_eq!(list[&name]["info"]["config"]["batch.size"], "7", "{list}");
    wait_state(&name, "RUNNING");

    // create of an existing connector: the worker's 409 with its message.
    let again = tk(&["connect", "create", yaml.to_str().unwrap()]).fails(1);
    assert!(
        again.stderr().contains("HTTP 409") && again.stderr().contains(&name),
        "{}",
        again.dump()
    );

    let plugins = tk(&["connect", "plugins", "-o", "json"]).ok().json();
    assert!(
        plugins.as_array().unwrap().iter().any(|p| p["class"]
            == "org.apache.kafka.connect.file.FileStreamSourceConnector"
            && p["type"] == "source"),
        "{plugins}"
    );
    assert!(tk(&["connect", "plugins"])
        .ok()
        .stdout()
        .contains("FileStreamSource"));

    tk(&["connect", "delete", &name]).ok();
    let list = tk(&["connect", "list", "-o", "json"]).ok().json();
    assert!(list.get(&name).is_none(), "{list}");
    tk(&["topics", "delete", &topic, "--yes"]).ok();
}

#[test]
fn validate_reports_the_workers_errors_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: bad-one\nconnector.class: org.apache.kafka.connect.file.FileStreamSourceConnector\ntasks.max: many\nfile: /tmp/x\n",
    )
    .unwrap();
    let r = tk(&["connect", "validate", bad.to_str().unwrap()]).fails(1);
    let out = r.stdout();
    assert!(out.contains("tasks.max: "), "{}", r.dump());
    assert!(
        out.contains("topic: "),
        "missing topic reported: {}",
        r.dump()
    );
    assert!(r.stderr().contains("error(s)"), "{}", r.dump());
    let j = tk(&["connect", "validate", bad.to_str().unwrap(), "-o", "json"]).fails(1);
    let v = j.json();
    assert!(v["error_count"].as_u64().unwrap() >= 2, "{v}");

    let good = dir.path().join("good.yaml");
    std::fs::write(&good, source_yaml("good-one", Path::new("/tmp/x"), "t", "")).unwrap();
    let ok = tk(&["connect", "validate", good.to_str().unwrap()]).ok();
    assert!(ok.stdout().contains("0 error(s)"), "{}", ok.dump());

    // A file without connector.class never reaches the worker.
    let nameless = dir.path().join("nameless.yaml");
    std::fs::write(&nameless, "config:\n  file: /tmp/x\n").unwrap();
    let r = tk(&["connect", "validate", nameless.to_str().unwrap()]).fails(1);
    assert!(
        r.stderr().contains("config.connector.class"),
        "{}",
        r.dump()
    );
}

#[test]
fn missing_connectors_and_unreachable_workers_are_clear_errors() {
    let name = unique("nope");
    for args in [
        vec!["connect", "status", name.as_str()],
        vec!["connect", "pause", name.as_str()],
        vec!["connect", "delete", name.as_str()],
    ] {
        let r = tk(&args).fails(1);
        let e = r.stderr();
        assert!(
            e.contains("Kafka Connect at http://")
                && e.contains("HTTP 404")
                && e.contains(&name)
                && e.contains("hint: "),
            "{}",
            r.dump()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.yaml");
    std::fs::write(&f, source_yaml(&name, Path::new("/tmp/x"), "t", "")).unwrap();
    let r = tk(&["connect", "update", &name, f.to_str().unwrap()]).fails(1);
    assert!(r.stderr().contains("HTTP 404"), "{}", r.dump());
    let list = tk(&["connect", "list", "-o", "json"]).ok().json();
    assert!(list.get(&name).is_none(), "update created nothing: {list}");

    // Nothing listens on the port: not reachable, with the flag to fix it;
    // credentials in the URL are sent but never shown.
    let r = tk(&[
        "connect",
        "list",
        "--connect",
        "http://ops:SENTINEL-pw@127.0.0.1:31999",
        "--timeout",
        "3",
    ])
    .fails(1);
    let e = r.stderr();
    assert!(
        e.contains("not reachable") && e.contains("--connect URL"),
        "{}",
        r.dump()
    );
    assert!(!e.contains("SENTINEL"), "{}", r.dump());
}

fn record(name: &str, fields: Value) -> String {
    json!({"type": "record", "name": name, "namespace": "tda.test", "fields": fields}).to_string()
}

#[test]
fn schemas_register_show_compat_set_compat_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let subject = unique("subj") + "-value";
    let write = |file: &str, text: String| {
        let p = dir.path().join(file);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let v1 = write(
        "v1.avsc",
        record("Job", json!([{"name": "id", "type": "string"}])),
    );
    let v2 = write(
        "v2.avsc",
        record(
            "Job",
            json!([{"name": "id", "type": "string"}, {"name": "note", "type": ["null", "string"], "default": null}]),
        ),
    );
    let bad = write(
        "bad.avsc",
        record("Job", json!([{"name": "id", "type": "int"}])),
    );

    let r = tk(&["schemas", "register", &subject, &v1, "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["version"], 1, "{r}");
    let id1 = r["id"].as_i64().unwrap();
    tk(&["schemas", "set-compat", &subject, "backward"]).ok();

    let list = tk(&["schemas", "list", "-o", "json"]).ok().json();
    let mine = list["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subject"] == subject.as_str())
        .unwrap_or_else(|| panic!("{subject} listed: {list}"));
    assert_eq!(mine["versions"], json!([1]));
    assert_eq!(mine["compatibility"], "BACKWARD");

    let c = tk(&["schemas", "compat", &subject, &v2, "-o", "json"])
        .ok()
        .json();
    assert_eq!(c["is_compatible"], true, "{c}");
    let r = tk(&["schemas", "compat", &subject, &bad]).fails(3);
    assert!(
        r.stdout().contains("NOT compatible") && r.stderr().contains("not compatible"),
        "{}",
        r.dump()
    );
    // register refuses it, with the registry's reasons, and adds nothing.
    let r = tk(&["schemas", "register", &subject, &bad]).fails(1);
    assert!(
        r.stderr().contains("not compatible") && r.stderr().contains(&subject),
        "{}",
        r.dump()
    );
    let r = tk(&["schemas", "register", &subject, &v2, "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["version"], 2, "{r}");

    let shown = tk(&["schemas", "show", &subject, "--version", "1", "-o", "json"])
        .ok()
        .json();
    assert_eq!(shown["id"].as_i64(), Some(id1));
    let schema: Value = serde_json::from_str(shown["schema"].as_str().unwrap()).unwrap();
    assert_eq!(schema["fields"][0]["type"], "string", "{shown}");
    assert_eq!(shown["compatibility"], "BACKWARD");
    let latest = tk(&["schemas", "show", &subject]).ok();
    assert!(latest.stdout().contains("version 2"), "{}", latest.dump());

    let r = tk(&["schemas", "set-compat", &subject, "sideways"]).fails(1);
    assert!(r.stderr().contains("FULL_TRANSITIVE"), "{}", r.dump());

    // delete asks first; without a terminal it refuses.
    let r = tk(&["schemas", "delete", &subject]).fails(1);
    assert!(r.stderr().contains("--yes"), "{}", r.dump());
    tk(&["schemas", "delete", &subject, "--permanent", "--yes"]).ok();
    let list = tk(&["schemas", "list", "-o", "json"]).ok().json();
    assert!(
        !list["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["subject"] == subject.as_str()),
        "{list}"
    );
    let r = tk(&["schemas", "show", &subject]).fails(1);
    assert!(
        r.stderr().contains("HTTP 404") && r.stderr().contains("schema registry at http://"),
        "{}",
        r.dump()
    );
}

fn keep(v: &mut Value, key: &str, field: &str, names: &[&str]) {
    let kept: Vec<Value> = v[key]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| names.contains(&x[field].as_str().unwrap_or_default()))
        .cloned()
        .collect();
    v[key] = Value::Array(kept);
}

#[test]
fn backup_wipe_restore_brings_back_topics_offsets_schemas_and_connectors() {
    use std::os::unix::fs::PermissionsExt;
    const SECRET: &str = "SENTINEL-connector-s3cret";
    let dir = tempfile::tempdir().unwrap();
    let kept = unique("bk-kept");
    let gone = unique("bk-gone");
    let group = unique("bk-group");
    let subject = unique("bk-subj") + "-value";
    let connector = unique("bk-conn");
    let src_topic = unique("bk-src");

    // Kafka: a topic whose group offsets are wiped, a topic that is deleted.
    tk(&["topics", "create", &kept, "partitions=2"]).ok();
    tk(&[
        "topics",
        "create",
        &gone,
        "partitions=3,retention.ms=3600000",
    ])
    .ok();
    tk(&["topics", "create", &src_topic, "partitions=1"]).ok();
    for p in ["0", "1"] {
        tk(&["topics", "produce", &kept, "m", "--partition", p, "-c", "5"]).ok();
    }
    tk(&["topics", "consume", &kept, "10", "--group", &group]).ok();
    tk(&["groups", "reset", &group, "--to", "shift:-2", "--execute"]).ok();

    // Registry: two versions and a subject level.
    let v1 = dir.path().join("v1.avsc");
    let v2 = dir.path().join("v2.avsc");
    std::fs::write(&v1, record("Up", json!([{"name": "id", "type": "string"}]))).unwrap();
    std::fs::write(
        &v2,
        record(
            "Up",
            json!([{"name": "id", "type": "string"}, {"name": "n", "type": "long", "default": 0}]),
        ),
    )
    .unwrap();
    tk(&["schemas", "register", &subject, v1.to_str().unwrap()]).ok();
    tk(&["schemas", "register", &subject, v2.to_str().unwrap()]).ok();
    tk(&["schemas", "set-compat", &subject, "FULL"]).ok();
    let before_v1 = tk(&["schemas", "show", &subject, "--version", "1", "-o", "json"])
        .ok()
        .json();

    // Connect: a source with a secret-looking key (kept, never printed).
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\nb\n").unwrap();
    let cf = dir.path().join("c.yaml");
    std::fs::write(
        &cf,
        source_yaml(
            &connector,
            &input,
            &src_topic,
            &format!("  tda.test.password: {SECRET}\n"),
        ),
    )
    .unwrap();
    tk(&["connect", "create", cf.to_str().unwrap()]).ok();
    wait_state(&connector, "RUNNING");

    let file = dir.path().join("backup.json");
    let fp = file.to_str().unwrap();
    let b = tk(&["backup", fp]).ok();
    assert!(!b.stdout().contains(SECRET) && !b.stderr().contains(SECRET));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup holds connector secrets");
    let mut full: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(full["version"], 2);
    // Keep this test's items only (the stack is shared).
    keep(&mut full, "topics", "name", &[&kept, &gone, &src_topic]);
    keep(&mut full, "groups", "group", &[&group]);
    keep(&mut full["schemas"], "subjects", "subject", &[&subject]);
    keep(&mut full, "connectors", "name", &[&connector]);
    let subj = &full["schemas"]["subjects"][0];
    assert_eq!(subj["compatibility"], "FULL", "{full}");
    assert_eq!(subj["versions"].as_array().unwrap().len(), 2, "{full}");
    assert_eq!(full["connectors"][0]["config"]["tda.test.password"], SECRET);
    assert_eq!(full["groups"][0]["offsets"].as_array().unwrap().len(), 2);
    std::fs::write(&file, serde_json::to_string_pretty(&full).unwrap()).unwrap();

    // Wipe.
    tk(&["connect", "delete", &connector]).ok();
    tk(&["schemas", "delete", &subject, "--permanent", "--yes"]).ok();
    tk(&["groups", "delete", &group, "--yes"]).ok();
    tk(&["topics", "delete", &gone, "--yes"]).ok();
    assert!(tk(&["connect", "list", "-o", "json"])
        .ok()
        .json()
        .get(&connector)
        .is_none());
    tk(&["schemas", "show", &subject]).fails(1);
    tk(&["groups", "describe", &group]).fails(1);

    let r = tk(&["restore", fp, "-o", "json"]).ok();
    assert!(!r.stdout().contains(SECRET) && !r.stderr().contains(SECRET));
    let rep = r.json();
    let status = |part: &str, item: &str| -> String {
        rep[part]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x[0] == item)
            .map(|x| x[1].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{part} {item} in {rep}"))
    };
    assert_eq!(status("topics", &gone), "created");
    assert_eq!(status("topics", &kept), "already_exists");
    assert_eq!(status("groups", &group), "ok");
    assert!(status("schemas", &subject).starts_with("created"), "{rep}");
    assert_eq!(status("connectors", &connector), "created");

    // Everything is back as it was.
    let g = tk(&["groups", "describe", &group, "-o", "json"])
        .ok()
        .json();
    let committed: Vec<i64> = g["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["committed"].as_i64().unwrap())
        .collect();
    assert_eq!(committed, vec![3, 3], "{g}");
    let t = tk(&["topics", "describe", &gone, "-o", "json"]).ok().json();
    assert_eq!(t["partitions"].as_array().unwrap().len(), 3, "{t}");
    assert!(t.to_string().contains("3600000"), "retention restored: {t}");
    let list = tk(&["schemas", "list", "-o", "json"]).ok().json();
    let s = list["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subject"] == subject.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(s["versions"], json!([1, 2]));
    assert_eq!(s["compatibility"], "FULL");
    let after_v1 = tk(&["schemas", "show", &subject, "--version", "1", "-o", "json"])
        .ok()
        .json();
    assert_eq!(after_v1["schema"], before_v1["schema"]);
    wait_state(&connector, "RUNNING");
    let listed = tk(&["connect", "list", "-o", "json"]).ok().json();
    assert_eq!(
        listed[&connector]["info"]["config"]["topic"],
        src_topic.as_str()
    );

    // A second restore changes nothing and says so.
    let again = tk(&["restore", fp, "-o", "json"]).ok().json();
    for (part, item) in [("schemas", &subject), ("connectors", &connector)] {
        let s = again[part]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x[0] == item.as_str())
            .map(|x| x[1].clone());
        assert_eq!(s, Some(json!("already_exists")), "{part} {item}: {again}");
    }

    tk(&["connect", "delete", &connector]).ok();
    tk(&["schemas", "delete", &subject, "--permanent", "--yes"]).ok();
    tk(&["groups", "delete", &group, "--yes"]).ok();
    for t in [&kept, &gone, &src_topic] {
        tk(&["topics", "delete", t, "--yes"]).ok();
    }
}
