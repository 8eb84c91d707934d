//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the handlers'
//! annotations (utoipa). It describes the routes and holds no data, so it needs no token.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{actions, batches, problem};

/// The API's document.
#[derive(OpenApi)]
#[openapi(
    info(title = "passdrop API", description = "Batches, their users' states, and the actions of a write token. Errors are application/problem+json (RFC 9457); the types are listed in the README."),
    paths(
        batches::list, batches::show, batches::create,
        actions::revoke, actions::reissue, actions::send, actions::purge,
    ),
    components(schemas(problem::ProblemBody)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The document as JSON.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
