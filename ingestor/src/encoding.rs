//! `Content-Encoding` of request bodies: identity or gzip, with a cap on the decompressed size
//! so a small body cannot expand without bound (a "gzip bomb").

use flate2::read::MultiGzDecoder;
use std::io::Read;

/// The encodings `POST /v1/logs` and the webhooks accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    Identity,
    Gzip,
}

impl ContentEncoding {
    /// From a `Content-Encoding` header; `None` for unsupported encodings (415).
    pub fn from_header(value: Option<&str>) -> Option<ContentEncoding> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("identity") => Some(ContentEncoding::Identity),
            Some("gzip") | Some("x-gzip") => Some(ContentEncoding::Gzip),
            Some(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GunzipError {
    /// The body expands beyond the cap.
    TooLarge { max: usize },
    /// Not gzip, or corrupt / truncated.
    Invalid(String),
}

impl std::fmt::Display for GunzipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GunzipError::TooLarge { max } => write!(
                f,
                "gzip body expands to more than {max} bytes: split it into smaller requests"
            ),
            GunzipError::Invalid(e) => write!(
                f,
                "body is not valid gzip ({e}): compress it with gzip or drop `Content-Encoding: gzip`"
            ),
        }
    }
}

/// Decompresses a gzip body (all members, as `gzip -c a b` writes them), reading at most
/// `max` decompressed bytes.
pub fn gunzip_limited(body: &[u8], max: usize) -> Result<Vec<u8>, GunzipError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    MultiGzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| GunzipError::Invalid(e.to_string()))?;
    if out.len() > max {
        return Err(GunzipError::TooLarge { max });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use proptest::prelude::*;
    use std::io::Write;

    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn round_trips_and_concatenated_members() {
        assert_eq!(gunzip_limited(&gzip(b"a\nb\n"), 100).unwrap(), b"a\nb\n");
        let mut two = gzip(b"a\n");
        two.extend(gzip(b"b\n"));
        assert_eq!(gunzip_limited(&two, 100).unwrap(), b"a\nb\n");
    }

    #[test]
    fn bombs_stop_at_the_cap() {
        let bomb = gzip(&vec![b'x'; 10 << 20]);
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        assert_eq!(
            gunzip_limited(&bomb, 1 << 20),
            Err(GunzipError::TooLarge { max: 1 << 20 })
        );
        assert_eq!(gunzip_limited(&gzip(b"12345"), 5).unwrap(), b"12345");
        assert!(gunzip_limited(&gzip(b"123456"), 5).is_err());
    }

    #[test]
    fn garbage_and_truncation_are_invalid() {
        assert!(matches!(
            gunzip_limited(b"plain text", 100),
            Err(GunzipError::Invalid(_))
        ));
        let g = gzip(b"hello world, hello world");
        assert!(matches!(
            gunzip_limited(&g[..g.len() - 6], 100),
            Err(GunzipError::Invalid(_))
        ));
    }

    #[test]
    fn encodings() {
        assert_eq!(
            ContentEncoding::from_header(None),
            Some(ContentEncoding::Identity)
        );
        assert_eq!(
            ContentEncoding::from_header(Some("GZIP")),
            Some(ContentEncoding::Gzip)
        );
        assert_eq!(ContentEncoding::from_header(Some("br")), None);
    }

    proptest! {
        #[test]
        fn gunzip_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = gunzip_limited(&bytes, 4096);
            let mut g = gzip(&bytes);
            let cut = bytes.len() % g.len().max(1);
            g.truncate(cut);
            let _ = gunzip_limited(&g, 4096);
        }
    }
}
