//! `GET /api/v1/openapi.json`: the OpenAPI 3 document of `/api/v1`, generated from the
//! handlers' `#[utoipa::path]` attributes and the DTOs' `ToSchema` derives (see
//! [`super::ApiDoc`]), with the bearer security scheme every data route requires. The
//! document itself is public.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The name of the security scheme in the document.
pub const BEARER: &str = "bearer";

/// Every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, ...
    pub code: String,
    /// For people; says what is wrong.
    pub message: String,
}

/// Adds the bearer (JWT) security scheme.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "getOpenApi", tag = "meta", security(()),
    responses((status = 200, description = "This OpenAPI document", content_type = "application/json")))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(super::ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::BTreeSet;

    use super::*;

    /// (method, path) of every operation of the document.
    fn documented() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(super::super::ApiDoc::openapi()).unwrap();
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert((method.clone(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn the_document_lists_exactly_the_registered_routes() {
        let registered: BTreeSet<(String, String)> = super::super::ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(documented(), registered);
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = serde_json::to_value(super::super::ApiDoc::openapi()).unwrap();
        let mut seen = BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(seen.insert(id.clone()), "duplicate operationId {id}");
            }
        }
        assert_eq!(seen.len(), super::super::ROUTES.len());
    }

    #[test]
    fn data_routes_need_the_bearer_scheme_and_the_document_does_not() {
        let doc = serde_json::to_value(super::super::ApiDoc::openapi()).unwrap();
        assert_eq!(doc["openapi"].as_str().unwrap().chars().next(), Some('3'));
        let scheme = &doc["components"]["securitySchemes"][BEARER];
        assert_eq!(scheme["scheme"], "bearer", "{scheme}");
        assert_eq!(doc["security"][0][BEARER], serde_json::json!([]));
        let own = &doc["paths"]["/api/v1/openapi.json"]["get"]["security"];
        assert_eq!(own, &serde_json::json!([{}]), "{own}");
    }
}
