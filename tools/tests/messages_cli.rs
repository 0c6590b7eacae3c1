//! CLI tests of `consume` and `produce` against the real test cluster
//! (TDA_KAFKA_TEST_BOOTSTRAP): follow mode stopped by Ctrl-C, group commits,
//! usage errors.

mod cli_support;

use std::process::{Command, Stdio};

use cli_support::{bootstrap, committed_p0, tk, unique};

#[test]
fn consume_follow_stops_cleanly_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    let t = unique("follow");
    tk(&["topics", "create", &t, "partitions=1,replication-factor=3"]).ok();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
        .args([
            "topics",
            "consume",
            &t,
            "--from-end",
            "--follow",
            "-b",
            &bootstrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // Produce until the follower has printed two messages (it may start after
    // the first sends, since it begins at the log end).
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while seen.len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "follower printed only {seen:?}"
        );
        tk(&["topics", "produce", &t, "tick"]).ok();
        while let Ok(l) = rx.recv_timeout(std::time::Duration::from_millis(1500)) {
            seen.push(l);
        }
    }
    assert!(seen.iter().all(|l| l.contains("value=tick")), "{seen:?}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("message(s) consumed"), "{stderr}");
    tk(&["topics", "delete", &t, "--yes"]).ok();
}

#[test]
fn consume_with_a_group_commits_only_what_was_written_out() {
    use std::io::{BufRead, BufReader};
    let t = unique("pipe");
    let g = unique("pipe-g");
    tk(&["topics", "create", &t, "partitions=1,replication-factor=3"]).ok();
    tk(&["topics", "produce", &t, "m", "--partition", "0", "-c", "3"]).ok();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tda-kafka"))
        .args([
            "topics",
            "consume",
            &t,
            "--group",
            &g,
            "--follow",
            "-b",
            &bootstrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader (like `| head -3`) reads three lines, then closes the pipe.
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .take(3)
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    });
    let read = reader.join().unwrap();
    assert_eq!(read.len(), 3, "{read:?}");
    // Two more messages: the consumer cannot write the first of them.
    tk(&["topics", "produce", &t, "m", "--partition", "0", "-c", "2"]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    // Exactly the three messages the reader saw are committed; the other two
    // are left for the group's next reader.
    assert_eq!(committed_p0(&g, &t), Some(3), "stderr: {stderr}");
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(141),
        "a closed stdout ends consume like SIGPIPE; stderr: {stderr}"
    );
    let next = tk(&["topics", "consume", &t, "2", "--group", &g]).ok();
    assert_eq!(next.stdout().lines().count(), 2, "{}", next.dump());
    assert!(next.stdout().contains("offset=3"), "{}", next.dump());
    assert_eq!(committed_p0(&g, &t), Some(5));
    tk(&["groups", "delete", &g, "--yes"]).ok();
    tk(&["topics", "delete", &t, "--yes"]).ok();
}

#[test]
fn produce_count_zero_is_a_usage_error_and_sends_nothing() {
    let t = unique("count0");
    tk(&["topics", "create", &t, "partitions=1,replication-factor=3"]).ok();
    let r = tk(&["topics", "produce", &t, "m", "-c", "0"]).fails(2);
    assert!(r.stderr().contains("--count"), "{}", r.dump());
    let m = tk(&["topics", "metrics", &t, "-o", "json"]).ok().json();
    assert_eq!(m["topics"][0]["messages"], 0, "nothing was sent");
    tk(&["topics", "delete", &t, "--yes"]).ok();
}
