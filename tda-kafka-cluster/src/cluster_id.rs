//! KRaft cluster ids: 16 bytes in Kafka's `Uuid` text form (URL-safe base64
//! without padding, 22 characters), never starting with `-`.

use sha2::{Digest, Sha256};

/// A random cluster id (a new local cluster).
pub(crate) fn random() -> String {
    loop {
        let mut bytes = [0u8; 16];
        let filled = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
            .is_ok();
        if !filled {
            // Fall back to time and pid; uniqueness per machine is all that matters.
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
                ^ u128::from(std::process::id()) << 64;
            bytes = seed.to_le_bytes();
        }
        let id = base64url(&bytes);
        if !id.starts_with('-') && id.chars().any(|c| c != 'A') {
            return id;
        }
    }
}

/// A deterministic cluster id derived from `seed` (a Docker stack's name).
pub(crate) fn derived(seed: &str) -> String {
    let digest = Sha256::digest(format!("tda-kafka-stack:{seed}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // Kafka rejects ids whose text starts with '-': clear the top bit pattern.
    let id = base64url(&bytes);
    if id.starts_with('-') {
        bytes[0] &= 0x7f;
        return base64url(&bytes);
    }
    id
}

/// URL-safe base64 without padding.
fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_kafka_uuids() {
        for _ in 0..100 {
            let id = random();
            assert_eq!(id.len(), 22, "{id}");
            assert!(!id.starts_with('-'));
            assert!(id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        }
        assert_ne!(random(), random());
    }

    #[test]
    fn derived_ids_are_stable_and_per_seed() {
        assert_eq!(derived("tda"), derived("tda"));
        assert_ne!(derived("tda"), derived("other"));
        assert_eq!(derived("tda").len(), 22);
    }

    #[test]
    fn base64url_matches_the_rfc_4648_vectors() {
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
