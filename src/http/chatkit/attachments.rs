//! Attachments: `attachments.create` (phase one of the two-phase upload), the byte upload
//! itself (phase two, at the URL phase one handed out), `attachments.delete`, and
//! `input.transcribe`.
//!
//! Phase one checks the declared MIME type against the allow-list and the declared size
//! against the limit, then answers with an `upload_descriptor` pointing at this server
//! (`PUT {chatkit_path}/uploads/{id}`) carrying a one-time `X-Upload-Token` header, since
//! the widget's upload request may not carry the integration's bearer token. Phase two
//! stores the bytes under `{data_dir}/attachments/`, checks size and type again, clears the
//! descriptor and, for images, sets a `preview_url` (a capability URL with its own token).

use std::path::PathBuf;

use base64::Engine;
use serde_json::Value;

use super::{Origin, check_id};
use crate::auth::Principal;
use crate::chatkit::TranscriptionResponse;
use crate::chatkit::attachment::{Attachment, AttachmentKind, UploadDescriptor, UploadMethod};
use crate::chatkit::ids::{IdPrefix, new_id};
use crate::chatkit::params::{CreateAttachmentParams, TranscribeParams};
use crate::chatkit::time::now_micros;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{AttachmentRecord, StoreError};

pub const UPLOAD_TOKEN_HEADER: &str = "X-Upload-Token";

fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn allowed_mime(state: &AppState, mime: &str) -> bool {
    let base = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    state
        .settings
        .limits
        .attachment_mime_types
        .iter()
        .any(|m| m.eq_ignore_ascii_case(&base))
}

pub(super) async fn create(
    state: &AppState,
    p: &Principal,
    params: CreateAttachmentParams,
    origin: &Origin,
) -> Result<Attachment, ApiError> {
    let name = params.name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(ApiError::bad_request(
            "attachment name must have 1 to 255 characters",
        ));
    }
    if !allowed_mime(state, &params.mime_type) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "attachments of type {} are not accepted",
            params.mime_type
        )));
    }
    let max = state.settings.limits.max_attachment_bytes;
    if params.size > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "attachments are limited to {max} bytes"
        )));
    }
    let id = new_id(IdPrefix::Attachment);
    let base = format!("{}{}", origin.base_url, state.settings.server.chatkit_path);
    let kind = if params.mime_type.starts_with("image/") {
        AttachmentKind::Image {
            preview_url: format!("{base}/attachments/{id}/content?token={}", token()),
        }
    } else {
        AttachmentKind::File {}
    };
    let attachment = Attachment {
        id: id.clone(),
        name: name.to_owned(),
        mime_type: params.mime_type.clone(),
        upload_descriptor: Some(UploadDescriptor {
            url: format!("{base}/uploads/{id}"),
            method: UploadMethod::Put,
            headers: [(UPLOAD_TOKEN_HEADER.to_owned(), token())]
                .into_iter()
                .collect(),
        }),
        thread_id: None,
        metadata: Default::default(),
        kind,
    };
    let record = AttachmentRecord {
        id,
        user_id: p.user_id.clone(),
        thread_id: None,
        name: attachment.name.clone(),
        mime_type: attachment.mime_type.clone(),
        kind: if attachment.is_image() {
            "image"
        } else {
            "file"
        }
        .to_owned(),
        size_bytes: i64::try_from(params.size).unwrap_or(i64::MAX),
        uploaded: false,
        storage_path: None,
        data: serde_json::to_value(&attachment).map_err(ApiError::internal)?,
        created_at: now_micros(),
    };
    state.stores.attachments.insert(&record).await?;
    Ok(attachment)
}

fn file_path(state: &AppState, id: &str) -> PathBuf {
    state.settings.server.data_dir.join("attachments").join(id)
}

pub(super) async fn delete(state: &AppState, p: &Principal, id: &str) -> Result<(), ApiError> {
    check_id(id, "attachment")?;
    let record = state.stores.attachments.load(&p.user_id, id).await?;
    if let Some(path) = &record.storage_path {
        match tokio::fs::remove_file(path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ApiError::internal(e)),
        }
    }
    state.stores.attachments.delete(&p.user_id, id).await?;
    Ok(())
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("unknown attachment")]
    NotFound,
    #[error("missing or wrong upload token")]
    BadToken,
    #[error("this attachment has already been uploaded")]
    AlreadyUploaded,
    #[error("the upload is {0} bytes; the limit is {1}")]
    TooLarge(u64, u64),
    #[error("the upload is empty")]
    Empty,
    #[error("the upload's type {0} does not match the declared type")]
    WrongType(String),
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::NotFound => ApiError::not_found("attachment"),
            UploadError::BadToken => ApiError::Forbidden(e.to_string()),
            UploadError::AlreadyUploaded => ApiError::Conflict(e.to_string()),
            UploadError::TooLarge(..) => ApiError::PayloadTooLarge(e.to_string()),
            UploadError::Empty => ApiError::bad_request(e.to_string()),
            UploadError::WrongType(_) => ApiError::UnsupportedMediaType(e.to_string()),
        }
    }
}

fn descriptor_token(data: &Value) -> Option<&str> {
    data.get("upload_descriptor")?
        .get("headers")?
        .get(UPLOAD_TOKEN_HEADER)?
        .as_str()
}

/// Phase two: stores the bytes of attachment `id`, authorized by its upload token.
pub async fn upload_bytes(
    state: &AppState,
    id: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<Value, ApiError> {
    check_id(id, "attachment")?;
    let mut record = match state.stores.attachments.load_unscoped(id).await {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => return Err(UploadError::NotFound.into()),
        Err(e) => return Err(e.into()),
    };
    if record.uploaded {
        return Err(UploadError::AlreadyUploaded.into());
    }
    let expected = descriptor_token(&record.data).ok_or(UploadError::BadToken)?;
    if token != Some(expected) {
        return Err(UploadError::BadToken.into());
    }
    let max = state.settings.limits.max_attachment_bytes;
    let len = bytes.len() as u64;
    if len > max {
        return Err(UploadError::TooLarge(len, max).into());
    }
    if bytes.is_empty() {
        return Err(UploadError::Empty.into());
    }
    if let Some(ct) = content_type {
        let base = ct.split(';').next().unwrap_or("").trim();
        let generic = base.is_empty() || base == "application/octet-stream";
        if !generic && !base.eq_ignore_ascii_case(&record.mime_type) {
            return Err(UploadError::WrongType(base.to_owned()).into());
        }
    }
    let path = file_path(state, id);
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(ApiError::internal)?;
    }
    tokio::fs::write(&path, bytes)
        .await
        .map_err(ApiError::internal)?;
    if let Value::Object(map) = &mut record.data {
        map.remove("upload_descriptor");
    }
    record.uploaded = true;
    record.size_bytes = i64::try_from(len).unwrap_or(i64::MAX);
    record.storage_path = Some(path.display().to_string());
    state.stores.attachments.save(&record).await?;
    Ok(record.data)
}

/// Reads the bytes of an uploaded attachment for its preview URL, checking the URL's token.
pub async fn read_bytes(
    state: &AppState,
    id: &str,
    token: &str,
) -> Result<(String, Vec<u8>), ApiError> {
    check_id(id, "attachment")?;
    let record = match state.stores.attachments.load_unscoped(id).await {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => return Err(ApiError::not_found("attachment")),
        Err(e) => return Err(e.into()),
    };
    let preview = record
        .data
        .get("preview_url")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ok = !token.is_empty() && preview.ends_with(&format!("token={token}"));
    if !ok {
        return Err(ApiError::not_found("attachment"));
    }
    let path = record
        .storage_path
        .ok_or_else(|| ApiError::not_found("attachment content"))?;
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|_| ApiError::not_found("attachment content"))?;
    Ok((record.mime_type, bytes))
}

pub(super) fn transcribe(params: TranscribeParams) -> Result<TranscriptionResponse, ApiError> {
    let media = params.media_type().to_ascii_lowercase();
    if !matches!(media.as_str(), "audio/webm" | "audio/ogg" | "audio/mp4") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "audio of type {media} is not supported"
        )));
    }
    let audio = base64::engine::general_purpose::STANDARD
        .decode(params.audio_base64.as_bytes())
        .map_err(|_| ApiError::bad_request("audio_base64 is not valid base64"))?;
    tracing::debug!(bytes = audio.len(), media = %media, "transcription requested but not configured");
    Err(ApiError::NotImplemented(
        "transcription is not configured on this server; type your message instead".into(),
    ))
}
