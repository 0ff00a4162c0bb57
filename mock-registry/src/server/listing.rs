//! `/v2/`, the tag list and the catalog, with the spec's `n`/`last` pagination.

use super::{Call, Reply};
use crate::api_error::{ApiError, Code};
use axum::Json;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `GET /v2/`: says "this is a v2 registry" (after auth, when auth is on).
pub fn ping(call: &Call) -> Reply {
    match call.method {
        Method::GET | Method::HEAD => Ok(Json(json!({})).into_response()),
        _ => Err(super::method_not_allowed(&call.method)),
    }
}

pub fn tags(call: &Call, name: &str) -> Reply {
    if call.method != Method::GET {
        return Err(super::method_not_allowed(&call.method));
    }
    let tags = call.app.store.tags(name).ok_or_else(|| {
        ApiError::new(
            Code::NameUnknown,
            format!("repository {name:?} is not known to this registry"),
        )
    })?;
    let (page, next) = paginate(call, tags)?;
    let body = json!({ "name": name, "tags": page });
    Ok(with_link(
        Json(body).into_response(),
        next.map(|last| format!("/v2/{name}/tags/list?{last}")),
    ))
}

pub fn catalog(call: &Call) -> Reply {
    if call.method != Method::GET {
        return Err(super::method_not_allowed(&call.method));
    }
    let (page, next) = paginate(call, call.app.store.catalog())?;
    Ok(with_link(
        Json(json!({ "repositories": page })).into_response(),
        next.map(|last| format!("/v2/_catalog?{last}")),
    ))
}

/// The entries after `last`, at most `n` of them, and the query of the next page if any.
fn paginate(call: &Call, sorted: Vec<String>) -> Result<(Vec<String>, Option<String>), ApiError> {
    let n = match call.param("n") {
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            ApiError::new(
                Code::Unsupported,
                format!("invalid n={n:?}: n is the number of entries to return"),
            )
            .status(axum::http::StatusCode::BAD_REQUEST)
        })?),
        None => None,
    };
    let after: Vec<String> = match call.param("last") {
        Some(last) => sorted.into_iter().filter(|t| t.as_str() > last).collect(),
        None => sorted,
    };
    let Some(n) = n else {
        return Ok((after, None));
    };
    let more = after.len() > n;
    let page: Vec<String> = after.into_iter().take(n).collect();
    let next = match (more, page.last()) {
        (true, Some(last)) => Some(format!("n={n}&last={last}")),
        _ => None,
    };
    Ok((page, next))
}

fn with_link(mut response: Response, next: Option<String>) -> Response {
    if let Some(next) = next
        && let Ok(value) = HeaderValue::try_from(format!("<{next}>; rel=\"next\""))
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}
