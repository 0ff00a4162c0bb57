//! The token realm: `GET /token?service=...&scope=...`, answered as Docker Hub's
//! `auth.docker.io` does.

use super::{Call, Reply, query};
use crate::api_error::{ApiError, Code};
use crate::auth::{self, Auth, TokenAnswer};
use axum::Json;
use axum::http::{Method, header};
use axum::response::IntoResponse;
use serde_json::json;

pub fn issue(call: &Call) -> Reply {
    if call.method != Method::GET {
        return Err(super::method_not_allowed(&call.method));
    }
    let Auth::Token(settings) = call.app.auth.read().unwrap().clone() else {
        return Err(ApiError::new(
            Code::Unsupported,
            "this registry does not use tokens: it was started without token auth",
        ));
    };
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
