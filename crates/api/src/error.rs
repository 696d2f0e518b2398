//! API errors: an HTTP status and the JSON body `{code, name, message}`.

use accord_types::Reject;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// An error answer.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: u16,
    pub name: String,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: u16, name: &str, message: impl Into<String>) -> Self {
        Self { status, code, name: name.into(), message: message.into() }
    }
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 900, "invalid_json", message)
    }
    pub fn body_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, 901, "body_too_large", message)
    }
    pub fn batch_too_large(len: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            902,
            "batch_too_large",
            format!("a batch holds at most {} transactions, got {len}", crate::BATCH_TXS_MAX),
        )
    }
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 903, "invalid_parameter", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, 904, "not_found", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, 905, "internal", message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, 906, "unavailable", message)
    }
    pub fn invalid_cursor(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 907, "invalid_cursor", message)
    }
    pub fn cursor_ahead(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 908, "cursor_ahead", message)
    }
    pub fn reject(reject: Reject) -> Self {
        let status = match reject {
            Reject::MempoolFull => StatusCode::SERVICE_UNAVAILABLE,
            Reject::DuplicateTransaction => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, reject.code(), &reject.snake_name(), reject.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::body_too_large(e.body_text());
        }
        Self::invalid_json(e.body_text())
    }
}
