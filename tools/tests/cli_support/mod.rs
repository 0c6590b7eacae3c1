//! Running the `tda-kafka` binary in the CLI tests against the shared test
//! stack, and reading what it printed.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// Environment variable `name`, set by scripts/test.sh.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests through scripts/test.sh, which starts \
             the test stack (brokers, registry, Connect) and exports it"
        )
    })
}

/// A name no other test uses: `{namespace}-{prefix}-{pid}-{nanos}`.
pub fn unique_in(namespace: &str, prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{namespace}-{prefix}-{}-{nanos}", std::process::id())
}

/// One finished `tda-kafka` run.
pub struct Run {
    pub out: Output,
    pub args: Vec<String>,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    /// Arguments, exit code and both outputs, for assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "tda-kafka {:?} exited {}\n--- stdout\n{}--- stderr\n{}",
            self.args,
            self.code(),
            self.stdout(),
            self.stderr()
        )
    }
    pub fn ok(self) -> Self {
        assert_eq!(self.code(), 0, "{}", self.dump());
        self
    }
    pub fn fails(self, code: i32) -> Self {
        assert_eq!(self.code(), code, "{}", self.dump());
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout()).unwrap_or_else(|e| panic!("{e}\n{}", self.dump()))
    }
}

/// Runs `tda-kafka ARGS` with extra environment variables and, if given,
/// `stdin` piped in; waits for it to exit.
pub fn run(args: Vec<String>, envs: &[(&str, String)], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tda-kafka"));
    cmd.args(&args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn tda-kafka");
    if let Some(s) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run { out, args }
}

/// The test cluster's brokers.
pub fn bootstrap() -> String {
    env("TDA_KAFKA_TEST_BOOTSTRAP")
}

/// A name for the cluster CLI tests' topics and groups.
pub fn unique(prefix: &str) -> String {
    unique_in("cli", prefix)
}

/// Runs `tda-kafka GROUP ARGS... --bootstrap-server BOOTSTRAP` (the group
/// is args[0]; `completions` gets no bootstrap).
pub fn tk(args: &[&str]) -> Run {
    tk_stdin(args, None)
}

/// Like [`tk`], with `stdin` piped in.
pub fn tk_stdin(args: &[&str], stdin: Option<&str>) -> Run {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if !matches!(args.first(), Some(&"completions")) {
        all.push("--bootstrap-server".into());
        all.push(bootstrap());
    }
    run(all, &[], stdin)
}

/// The committed offset of `group` on partition 0 of `topic` (`None` without one).
pub fn committed_p0(group: &str, topic: &str) -> Option<i64> {
    let d = tk(&["groups", "describe", group, "-o", "json"]).ok().json();
    d["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["topic"] == topic && p["partition"] == 0)
        .and_then(|p| p["committed"].as_i64())
}
