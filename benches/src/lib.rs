//! TDA Kafka benches.

/// Shared pieces of the tda-kafka-client benches.
pub mod client {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use tda_kafka_client::model::{EventSeverity, SystemEvent};

    /// A system event whose JSON and Avro encodings are about 1 KB.
    pub fn one_kb_event(i: u64) -> SystemEvent {
        SystemEvent {
            event_id: format!("evt-{i:012}"),
            event_type: "bench.payload".into(),
            source: "bench".into(),
            severity: EventSeverity::Info,
            message: "x".repeat(880),
            attributes: HashMap::from([("seq".to_string(), i.to_string())]),
            occurred_at_ms: 1_700_000_000_000 + i as i64,
        }
    }

    /// Registry URL: `TDA_KAFKA_BENCH_REGISTRY_URL` or `TDA_KAFKA_TEST_REGISTRY_URL`.
    pub fn registry_url() -> String {
        std::env::var("TDA_KAFKA_BENCH_REGISTRY_URL")
            .or_else(|_| std::env::var("TDA_KAFKA_TEST_REGISTRY_URL"))
            .expect(
                "set TDA_KAFKA_BENCH_REGISTRY_URL (e.g. http://127.0.0.1:38081/apis/ccompat/v7)",
            )
    }

    /// Brokers: `TDA_KAFKA_BENCH_BOOTSTRAP` or `TDA_KAFKA_TEST_BOOTSTRAP`.
    pub fn bootstrap() -> String {
        std::env::var("TDA_KAFKA_BENCH_BOOTSTRAP")
            .or_else(|_| std::env::var("TDA_KAFKA_TEST_BOOTSTRAP"))
            .expect("set TDA_KAFKA_BENCH_BOOTSTRAP (e.g. 127.0.0.1:39092,127.0.0.1:39093,127.0.0.1:39094)")
    }

    /// A name unique to this moment (topics, groups).
    pub fn unique_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock before 1970")
            .as_nanos()
    }

    /// Creates `name` with `partitions` partitions, replication factor `rf`
    /// and `min.insync.replicas` = `min_isr`.
    pub async fn create_topic(name: &str, partitions: i32, rf: i32, min_isr: i32) {
        let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", bootstrap())
            .create()
            .expect("admin client");
        let isr = min_isr.to_string();
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(rf))
            .set("min.insync.replicas", &isr);
        for r in admin
            .create_topics(
                [&topic],
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
            )
            .await
            .expect("create topics")
        {
            r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
    }

    /// CPU time (user + system) of this whole process so far: every thread,
    /// including librdkafka's and tokio's (`getrusage(RUSAGE_SELF)`).
    pub fn process_cpu() -> Duration {
        use nix::sys::resource::{getrusage, UsageWho};
        let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
        let tv = |t: nix::sys::time::TimeVal| {
            Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
        };
        tv(u.user_time()) + tv(u.system_time())
    }

    /// Wall time and process CPU time at one instant.
    #[derive(Debug, Clone, Copy)]
    pub struct Mark {
        wall: Instant,
        cpu: Duration,
    }

    impl Mark {
        /// Now.
        pub fn now() -> Self {
            Self {
                wall: Instant::now(),
                cpu: process_cpu(),
            }
        }
    }

    /// What one phase of `messages` records cost between two marks.
    #[derive(Debug, Clone, Copy)]
    pub struct Phase {
        /// Records per second of wall time.
        pub rate: f64,
        /// Process CPU microseconds per record.
        pub cpu_us: f64,
    }

    impl Phase {
        /// The phase from `start` to `end` (wall) and `cpu_start` to `end` (CPU).
        pub fn between(start: Mark, cpu_start: Mark, end: Mark, messages: usize) -> Self {
            let wall = end.wall.duration_since(start.wall).as_secs_f64();
            let cpu = end.cpu.saturating_sub(cpu_start.cpu).as_secs_f64();
            Self {
                rate: messages as f64 / wall,
                cpu_us: cpu * 1e6 / messages as f64,
            }
        }
    }

    /// The median (upper median for even lengths).
    pub fn median(v: &[f64]) -> f64 {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    /// The `q`-quantile (0..=1) of sorted `v`, nearest rank.
    pub fn quantile(sorted: &[u64], q: f64) -> u64 {
        if sorted.is_empty() {
            return 0;
        }
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    /// The 1-minute load average (`/proc/loadavg`), for the report.
    pub fn load_average() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into())
    }
}
