//! The token realm: `GET /token?service=...&scope=...`, answered as Docker Hub's
//! `auth.docker.io` does, and the OAuth2 `POST /token` that exchanges an
//! identity token (`grant_type=refresh_token`) for an access token.

use super::{Call, Reply, query};
use crate::api_error::{ApiError, Code};
use crate::auth::{self, Auth, TokenAnswer, TokenAuth};
use axum::Json;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

pub async fn issue(call: &Call<'_>, body: Body) -> Reply {
    if call.method != Method::GET && call.method != Method::POST {
        return Err(super::method_not_allowed(&call.method));
    }
    let Auth::Token(settings) = call.app.auth.read().unwrap().clone() else {
        return Err(ApiError::new(
            Code::Unsupported,
            "this registry does not use tokens: it was started without token auth",
        ));
    };
    if call.method == Method::POST {
        return refresh(call, &settings, body).await;
    }
    let basic = auth::basic_credentials(call.header(header::AUTHORIZATION));
    let scopes: Vec<String> = query::all(&call.query, "scope")
        .into_iter()
        .map(str::to_string)
        .collect();
    match call.app.tokens.issue(&settings, basic, &scopes) {
        // Both names, as Docker Hub sends: older clients read `token`, OAuth2 ones `access_token`.
        TokenAnswer::Issued { token, expires_in } => Ok(Json(json!({
            "token": token,
            "access_token": token,
            "expires_in": expires_in,
        }))
        .into_response()),
        TokenAnswer::BadCredentials => Err(ApiError::new(
            Code::Unauthorized,
            "incorrect username or password",
        )),
    }
}

/// The OAuth2 form: `grant_type=refresh_token&refresh_token=..&scope=..`
/// (scopes separated by spaces), as Docker sends it with an identity token.
async fn refresh(call: &Call<'_>, settings: &TokenAuth, body: Body) -> Reply {
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.map_err(|_| {
        ApiError::new(
            Code::Unsupported,
            "the form is larger than 64 KiB or was cut off",
        )
    })?;
    let form = query::params(Some(&String::from_utf8_lossy(&bytes)));
    if query::get(&form, "grant_type") != Some("refresh_token") {
        return Err(ApiError::new(
            Code::Unsupported,
            "only grant_type=refresh_token is supported",
        )
        .status(StatusCode::BAD_REQUEST));
    }
    let token = query::get(&form, "refresh_token").unwrap_or_default();
    let scopes: Vec<String> = query::all(&form, "scope")
        .into_iter()
        .map(str::to_string)
        .collect();
    match call.app.tokens.issue_for_identity(settings, token, &scopes) {
        TokenAnswer::Issued { token, expires_in } => Ok(Json(json!({
            "access_token": token,
            "expires_in": expires_in,
        }))
        .into_response()),
        TokenAnswer::BadCredentials => Err(ApiError::new(
            Code::Unauthorized,
            "the identity token is not valid",
        )),
    }
}
