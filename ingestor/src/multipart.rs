//! `multipart/form-data` uploads of a log file: field `file` (each line a record, as a
//! `text/plain` body), optional field `service`.

use crate::error::ApiError;
use bytes::Bytes;

/// What an upload holds.
#[derive(Debug, Default, PartialEq)]
pub struct Upload {
    pub file: Bytes,
    pub service: Option<String>,
}

/// Is this `Content-Type` a multipart form?
pub fn is_multipart(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Reads the form from an already size-capped body.
pub async fn read_upload(content_type: &str, body: Bytes) -> Result<Upload, ApiError> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| {
        ApiError::bad_request(format!(
            "multipart body without a usable boundary ({e}): send `Content-Type: multipart/form-data; boundary=...` (curl -F does this)"
        ))
    })?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut upload = Upload::default();
    let mut has_file = false;
    let malformed =
        |e: multer::Error| ApiError::bad_request(format!("malformed multipart body: {e}"));
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("file") => {
                if has_file {
                    return Err(ApiError::bad_request(
                        "more than one `file` field: upload one file per request",
                    ));
                }
                upload.file = field.bytes().await.map_err(malformed)?;
                has_file = true;
            }
            Some("service") => {
                let service = field.text().await.map_err(malformed)?;
                let service = service.trim();
                if !service.is_empty() {
                    upload.service = Some(service.to_string());
                }
            }
            // Other fields (e.g. a form's submit button) are ignored.
            _ => {}
        }
    }
    if !has_file {
        return Err(ApiError::bad_request(
            "multipart body has no `file` field: upload with `-F file=@app.log` (and optionally `-F service=checkout`)",
        ));
    }
    Ok(upload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn form(parts: &[(&str, &str)]) -> Bytes {
        let mut b = String::new();
        for (name, value) in parts {
            let filename = if *name == "file" {
                "; filename=\"app.log\""
            } else {
                ""
            };
            b.push_str(&format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n{value}\r\n"
            ));
        }
        b.push_str("--XyZ--\r\n");
        Bytes::from(b)
    }

    #[tokio::test]
    async fn file_and_service() {
        let u = read_upload(CT, form(&[("service", "web"), ("file", "a\nb\n")]))
            .await
            .unwrap();
        assert_eq!(u.file, Bytes::from_static(b"a\nb\n"));
        assert_eq!(u.service.as_deref(), Some("web"));
    }

    #[tokio::test]
    async fn missing_or_duplicate_file_and_bad_boundaries_are_400() {
        for (ct, body) in [
            (CT, form(&[("service", "web")])),
            (CT, form(&[("file", "a"), ("file", "b")])),
            ("multipart/form-data", form(&[("file", "a")])),
            (CT, Bytes::from_static(b"--XyZ\r\nnot a header\r\n")),
        ] {
            let e = read_upload(ct, body).await.unwrap_err();
            assert_eq!(e.status, 400, "{e:?}");
        }
    }

    #[test]
    fn multipart_content_types() {
        assert!(is_multipart(Some("Multipart/Form-Data; boundary=x")));
        assert!(!is_multipart(Some("text/plain")));
        assert!(!is_multipart(None));
    }

    proptest! {
        #[test]
        fn read_upload_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let _ = rt.block_on(read_upload(CT, Bytes::from(bytes)));
        }
    }
}
