//! Avro in the Confluent wire format, with schemas in a Confluent-compatible
//! Schema Registry (Confluent's own, or Apicurio's `/apis/ccompat/v7`).
//!
//! Wire format: byte 0 is the magic byte `0`, bytes 1..5 the schema id
//! (big-endian `u32`), then the Avro binary datum.
//!
//! Registration goes through `schema_registry_converter`; look-ups of a
//! writer schema by id are a plain `GET /schemas/ids/{id}` classified here
//! (only a definite "this id does not exist" is poison, see
//! [`DecodeErrorKind::UnknownSchemaId`]); encoding and decoding use
//! `apache-avro` directly with writers and readers
//! built once per (topic, type) and (schema id, type). So after the first
//! message of a subject the hot path makes no HTTP call and does no schema
//! resolution: one map look-up, the 5-byte header, the datum.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use reqwest_middleware::reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use schema_registry_converter::async_impl::avro::AvroEncoder;
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{
    SchemaType, SubjectNameStrategy, SuppliedSchema,
};

use crate::error::{ClientError, DecodeErrorKind, Result};
use crate::model::TdaMessage;

/// The Confluent wire-format magic byte.
pub const MAGIC_BYTE: u8 = 0;
/// Length of the wire-format header (magic byte + schema id).
pub const HEADER_LEN: usize = 5;

/// Splits a Confluent wire-format frame into schema id and Avro datum.
pub fn split_frame(bytes: &[u8]) -> Result<(u32, &[u8])> {
    match bytes.first() {
        None => Err(ClientError::Decode {
            kind: DecodeErrorKind::Undecodable,
            detail: "empty value".into(),
        }),
        Some(&b) if b != MAGIC_BYTE => Err(ClientError::Decode {
            kind: DecodeErrorKind::WrongMagicByte,
            detail: format!("magic byte is {b}, expected {MAGIC_BYTE}"),
        }),
        Some(_) if bytes.len() < HEADER_LEN => Err(ClientError::Decode {
            kind: DecodeErrorKind::Undecodable,
            detail: format!("frame of {} bytes is shorter than its header", bytes.len()),
        }),
        Some(_) => {
            let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
            Ok((id, &bytes[HEADER_LEN..]))
        }
    }
}

/// Counts the HTTP requests the registry client makes.
struct CountRequests(Arc<AtomicU64>);

#[async_trait::async_trait]
impl Middleware for CountRequests {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        self.0.fetch_add(1, Ordering::Relaxed);
        next.run(req, extensions).await
    }
}

struct WriterEntry {
    id: u32,
    writer: GenericDatumWriter<'static>,
    /// The largest frame written so far: the next buffer starts this big,
    /// so a value is not copied through several growing buffers.
    size_hint: AtomicUsize,
}

struct ReaderEntry {
    reader: GenericDatumReader<'static>,
}

/// A Confluent-compatible Schema Registry client with caches.
pub struct RegistryClient {
    url: String,
    encoder: AvroEncoder,
    http: reqwest_middleware::ClientWithMiddleware,
    requests: Arc<AtomicU64>,
    /// Per value type, per topic: the registered id and a ready writer.
    writers: RwLock<HashMap<TypeId, HashMap<String, Arc<WriterEntry>>>>,
    /// Writer schemas by id, parsed once (leaked: a process sees few ids).
    writer_schemas: RwLock<HashMap<u32, &'static Schema>>,
    /// Per (writer schema id, reader type): a ready resolving reader.
    readers: RwLock<HashMap<(u32, TypeId), Arc<ReaderEntry>>>,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("url", &redact_url(&self.url))
            .field("http_requests", &self.http_requests())
            .finish_non_exhaustive()
    }
}

fn registry_error(subject: impl Into<String>, e: SRCError) -> ClientError {
    ClientError::Registry {
        subject: subject.into(),
        detail: match &e.cause {
            Some(c) => format!("{}: {c}", e.error),
            None => e.error.clone(),
        },
        retriable: e.retriable,
    }
}

impl RegistryClient {
    /// A client for the registry at `url` (e.g. `http://127.0.0.1:8081` or
    /// `http://127.0.0.1:8081/apis/ccompat/v7`).
    pub fn new(url: impl Into<String>) -> Result<Self> {
        let url = url.into().trim_end_matches('/').to_owned();
        let requests = Arc::new(AtomicU64::new(0));
        let build = || {
            SrSettings::new_builder(url.clone())
                .set_timeout(Duration::from_secs(10))
                .no_proxy()
                .with_middleware(CountRequests(requests.clone()))
                .build()
                .map_err(|e| ClientError::Config {
                    detail: format!("schema registry settings for {url}: {e}"),
                })
        };
        let http = reqwest_middleware::reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .map_err(|e| ClientError::Config {
                detail: format!("schema registry HTTP client for {}: {e}", redact_url(&url)),
            })?;
        let http = reqwest_middleware::ClientBuilder::new(http)
            .with(CountRequests(requests.clone()))
            .build();
        Ok(Self {
            encoder: AvroEncoder::new(build()?),
            http,
            url,
            requests,
            writers: RwLock::default(),
            writer_schemas: RwLock::default(),
            readers: RwLock::default(),
        })
    }

    /// The registry URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// HTTP requests made to the registry so far by this client.
    pub fn http_requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Registers `M`'s schema under `<topic>-value` (TopicNameStrategy) if this
    /// process has not yet, and returns its id.
    pub async fn register_value_schema<M: TdaMessage>(&self, topic: &str) -> Result<u32> {
        Ok(self.writer::<M>(topic).await?.id)
    }

    async fn writer<M: TdaMessage>(&self, topic: &str) -> Result<Arc<WriterEntry>> {
        let ty = TypeId::of::<M>();
        if let Some(e) = self
            .writers
            .read()
            .expect("writer cache poisoned")
            .get(&ty)
            .and_then(|m| m.get(topic))
        {
            return Ok(e.clone());
        }
        let schema = M::avro_schema();
        let json = serde_json::to_string(schema).map_err(|e| ClientError::Encode {
            topic: topic.into(),
            detail: format!("schema to JSON: {e}"),
        })?;
        let name = match schema {
            Schema::Record(r) => Some(r.name.fullname(None)),
            _ => None,
        };
        let strategy = SubjectNameStrategy::TopicNameStrategyWithSchema(
            topic.to_owned(),
            false,
            SuppliedSchema::new(name, SchemaType::Avro, json),
        );
        let subject = format!("{topic}-value");
        let registered = self
            .encoder
            .get_schema_and_id(&subject, strategy)
            .await
            .map_err(|e| registry_error(&subject, e))?;
        let writer =
            GenericDatumWriter::builder(schema)
                .build()
                .map_err(|e| ClientError::Encode {
                    topic: topic.into(),
                    detail: format!("avro writer: {e}"),
                })?;
        let entry = Arc::new(WriterEntry {
            id: registered.id,
            writer,
            size_hint: AtomicUsize::new(256),
        });
        // Our own records decode without fetching the schema we registered.
        self.writer_schemas
            .write()
            .expect("schema cache poisoned")
            .entry(registered.id)
            .or_insert(schema);
        self.writers
            .write()
            .expect("writer cache poisoned")
            .entry(ty)
            .or_default()
            .insert(topic.to_owned(), entry.clone());
        Ok(entry)
    }

    /// Encodes `value` for `topic` in the Confluent wire format.
    pub async fn encode<M: TdaMessage>(&self, topic: &str, value: &M) -> Result<Vec<u8>> {
        // Hot path: encode under the read lock, no Arc clone, no await.
        {
            let writers = self.writers.read().expect("writer cache poisoned");
            if let Some(entry) = writers.get(&TypeId::of::<M>()).and_then(|m| m.get(topic)) {
                return Self::encode_with(entry, topic, value);
            }
        }
        let entry = self.writer::<M>(topic).await?;
        Self::encode_with(&entry, topic, value)
    }

    fn encode_with<M: TdaMessage>(entry: &WriterEntry, topic: &str, value: &M) -> Result<Vec<u8>> {
        let hint = entry.size_hint.load(Ordering::Relaxed);
        let mut buf = Vec::with_capacity(hint);
        buf.push(MAGIC_BYTE);
        buf.extend_from_slice(&entry.id.to_be_bytes());
        entry
            .writer
            .write_ser(&mut buf, value)
            .map_err(|e| ClientError::Encode {
                topic: topic.into(),
                detail: e.to_string(),
            })?;
        if buf.len() > hint {
            entry.size_hint.store(buf.len(), Ordering::Relaxed);
        }
        Ok(buf)
    }

    async fn writer_schema(&self, id: u32) -> Result<&'static Schema> {
        if let Some(s) = self
            .writer_schemas
            .read()
            .expect("schema cache poisoned")
            .get(&id)
        {
            return Ok(s);
        }
        let fetched = self.fetch_schema(id).await?;
        let mut cache = self.writer_schemas.write().expect("schema cache poisoned");
        let s: &'static Schema = cache
            .entry(id)
            .or_insert_with(|| Box::leak(Box::new(fetched)));
        Ok(s)
    }

    /// `GET /schemas/ids/{id}`, classified: the schema, a definite
    /// [`DecodeErrorKind::UnknownSchemaId`], or a retriable
    /// [`ClientError::Registry`] for everything that may be the registry's
    /// fault (unreachable, timeout, 5xx, a 404 that is not Confluent's
    /// 40403 — a wrong URL —, or a 40403 from a registry that holds no
    /// subjects at all, i.e. one that lost its schemas).
    async fn fetch_schema(&self, id: u32) -> Result<Schema> {
        let url = format!("{}/schemas/ids/{id}", self.url);
        let (status, body) = self.get(&url, id).await?;
        match classify_lookup(status, &body) {
            Lookup::Found(text) => Schema::parse_str(&text).map_err(|e| ClientError::Decode {
                kind: DecodeErrorKind::Undecodable,
                detail: format!("schema id {id} is not a valid Avro schema: {e}"),
            }),
            Lookup::Unavailable(reason) => Err(unavailable(id, reason)),
            Lookup::NoSuchId => {
                // Definite only if the registry is the one that holds our
                // schemas: an empty one (reset, wrong storage) says nothing.
                let subjects = format!("{}/subjects", self.url);
                let (status, body) = self.get(&subjects, id).await?;
                match serde_json::from_str::<Vec<serde_json::Value>>(&body) {
                    Ok(list) if status == 200 && !list.is_empty() => Err(ClientError::Decode {
                        kind: DecodeErrorKind::UnknownSchemaId,
                        detail: format!(
                            "schema id {id}: the registry answered 40403 (no such schema id)"
                        ),
                    }),
                    Ok(list) if status == 200 && list.is_empty() => Err(unavailable(
                        id,
                        "the registry answered 40403 but holds no subjects at all: \
                         it may have lost its schemas (restarted without storage?)"
                            .into(),
                    )),
                    _ => Err(unavailable(
                        id,
                        format!("the registry answered 40403, then HTTP {status} listing subjects"),
                    )),
                }
            }
        }
    }

    async fn get(&self, url: &str, id: u32) -> Result<(u16, String)> {
        let shown = redact_url(url);
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(id, format!("GET {shown}: {e}")))?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| unavailable(id, format!("GET {shown}: reading the body: {e}")))?;
        Ok((status, body))
    }

    /// Decodes a Confluent wire-format frame into `M`, resolving the writer's
    /// schema (from the registry, by id) against `M`'s schema.
    pub async fn decode<M: TdaMessage>(&self, bytes: &[u8]) -> Result<M> {
        let (id, datum) = split_frame(bytes)?;
        let key = (id, TypeId::of::<M>());
        // Hot path: decode under the read lock, no Arc clone, no await.
        {
            let readers = self.readers.read().expect("reader cache poisoned");
            if let Some(entry) = readers.get(&key) {
                return Self::decode_with::<M>(entry, id, datum);
            }
        }
        let entry = {
            let writer = self.writer_schema(id).await?;
            let reader = GenericDatumReader::builder(writer)
                .reader_schema(M::avro_schema())
                .build()
                .map_err(|e| ClientError::Decode {
                    kind: DecodeErrorKind::Undecodable,
                    detail: format!(
                        "schema {id} cannot be read as {}: {e}",
                        std::any::type_name::<M>()
                    ),
                })?;
            let e = Arc::new(ReaderEntry { reader });
            self.readers
                .write()
                .expect("reader cache poisoned")
                .insert(key, e.clone());
            e
        };
        Self::decode_with::<M>(&entry, id, datum)
    }

    fn decode_with<M: TdaMessage>(entry: &ReaderEntry, id: u32, datum: &[u8]) -> Result<M> {
        let mut cursor = datum;
        let value = entry
            .reader
            .read_value(&mut cursor)
            .map_err(|e| ClientError::Decode {
                kind: DecodeErrorKind::Undecodable,
                detail: format!("avro datum (schema {id}): {e}"),
            })?;
        apache_avro::from_value::<M>(&value).map_err(|e| ClientError::Decode {
            kind: DecodeErrorKind::Undecodable,
            detail: format!("avro value to {}: {e}", std::any::type_name::<M>()),
        })
    }
}

/// What a schema look-up by id answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The schema text.
    Found(String),
    /// Confluent error 40403: the registry has no schema with this id.
    NoSuchId,
    /// Anything else: the registry (or the URL) is at fault, try again later.
    Unavailable(String),
}

/// Classifies the answer to `GET /schemas/ids/{id}`.
pub(crate) fn classify_lookup(status: u16, body: &str) -> Lookup {
    #[derive(serde::Deserialize)]
    struct Found {
        schema: String,
        #[serde(rename = "schemaType")]
        schema_type: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Error {
        error_code: u32,
    }
    let snippet: String = body.chars().take(120).collect();
    match status {
        200 => match serde_json::from_str::<Found>(body) {
            Ok(f)
                if f.schema_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case("AVRO")) =>
            {
                Lookup::Found(f.schema)
            }
            Ok(f) => Lookup::Unavailable(format!(
                "the id is a {} schema, not Avro",
                f.schema_type.unwrap_or_default()
            )),
            Err(_) => Lookup::Unavailable(format!(
                "HTTP 200 without a schema (is the URL the registry's Confluent API?): {snippet}"
            )),
        },
        404 => match serde_json::from_str::<Error>(body) {
            Ok(e) if e.error_code == 40403 => Lookup::NoSuchId,
            _ => Lookup::Unavailable(format!(
                "HTTP 404 without Confluent error 40403 (a wrong registry URL? \
                 Apicurio serves the Confluent API under /apis/ccompat/v7): {snippet}"
            )),
        },
        s => Lookup::Unavailable(format!("HTTP {s}: {snippet}")),
    }
}

fn unavailable(id: u32, detail: String) -> ClientError {
    ClientError::Registry {
        subject: format!("schema id {id}"),
        detail,
        retriable: true,
    }
}

/// `url` without a password in its user info (`http://user:***@host/...`).
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***{}", &rest[at..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_confluent_40403_counts_as_a_missing_id() {
        assert_eq!(
            classify_lookup(404, r#"{"error_code":40403,"message":"Schema not found"}"#),
            Lookup::NoSuchId
        );
        for (status, body) in [
            (404, "<html>Not Found</html>"),
            (404, r#"{"error_code":40401,"message":"Subject not found"}"#),
            (500, r#"{"error_code":50001,"message":"store error"}"#),
            (503, ""),
            (401, r#"{"error_code":401,"message":"Unauthorized"}"#),
            (200, "<html>a proxy page</html>"),
        ] {
            assert!(
                matches!(classify_lookup(status, body), Lookup::Unavailable(_)),
                "{status} {body}"
            );
        }
        assert_eq!(
            classify_lookup(200, r#"{"schema":"\"string\""}"#),
            Lookup::Found("\"string\"".into())
        );
    }

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("http://svc:s3cret@127.0.0.1:8081/apis/ccompat/v7"),
            "http://svc:***@127.0.0.1:8081/apis/ccompat/v7"
        );
        assert_eq!(redact_url("http://127.0.0.1:8081"), "http://127.0.0.1:8081");
    }

    #[test]
    fn frames_are_classified() {
        assert_eq!(
            split_frame(&[]).unwrap_err().poison_kind(),
            Some(DecodeErrorKind::Undecodable)
        );
        assert_eq!(
            split_frame(b"{\"a\":1}").unwrap_err().poison_kind(),
            Some(DecodeErrorKind::WrongMagicByte)
        );
        assert_eq!(
            split_frame(&[0, 0, 1]).unwrap_err().poison_kind(),
            Some(DecodeErrorKind::Undecodable)
        );
        let (id, rest) = split_frame(&[0, 0, 0, 1, 2, 42]).unwrap();
        assert_eq!((id, rest), (258, &[42u8][..]));
    }
}
