//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, built from the route table so it lists
//! every route with the permission its guard enforces.

use axum::Json;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, PathsBuilder,
    Required, Type,
};

use crate::routes::{self, Need};

fn method(m: &axum::http::Method) -> HttpMethod {
    match *m {
        axum::http::Method::POST => HttpMethod::Post,
        axum::http::Method::PUT => HttpMethod::Put,
        axum::http::Method::PATCH => HttpMethod::Patch,
        axum::http::Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

fn need_text(need: Need) -> String {
    match need {
        Need::Public => "No authentication.".to_owned(),
        Need::Caller => {
            "Any signed-in user or API key; the answer holds only what the caller may see.".to_owned()
        }
        Need::User => "Signed-in users only (not API keys).".to_owned(),
        Need::Org(p) => format!("Needs `{}`.", p.name()),
        Need::Project(a) => format!("Needs `{}` on the project.", a.name()),
        Need::Asset(a) => format!("Needs `{}` on the asset.", a.name()),
    }
}

fn permission_name(need: Need) -> Option<&'static str> {
    match need {
        Need::Org(p) => Some(p.name()),
        Need::Project(a) => Some(a.name()),
        Need::Asset(a) => Some(a.name()),
        _ => None,
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Error")))
                .build(),
        )
        .build()
}

/// The document.
pub fn build() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for r in routes::table() {
        let mut op = OperationBuilder::new()
            .operation_id(Some(format!(
                "{}_{}",
                r.method.as_str().to_lowercase(),
                r.path
                    .trim_start_matches("/api/v1/")
                    .replace(['/', '{', '}', '-', '.'], "_")
            )))
            .description(Some(need_text(r.need)))
            .response("200", ResponseBuilder::new().description("Success").build())
            .response("400", error_response("Malformed request"))
            .response(
                "401",
                error_response("Not signed in, or the session or key is no longer valid"),
            )
            .response(
                "403",
                error_response("The resolver denied it; `details.decision` has the reasons"),
            )
            .response(
                "404",
                error_response("No such resource in the caller's organization"),
            )
            .response("422", error_response("Well-formed but invalid input"));
        if let Some(p) = permission_name(r.need) {
            op = op.tag(p.split('.').next().unwrap_or("api"));
        }
        if r.need != Need::Public {
            op = op.security(SecurityRequirement::new::<_, [&str; 0], &str>("bearer", []));
        }
        for segment in r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(segment)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer))),
            );
        }
        if matches!(
            r.method,
            axum::http::Method::POST | axum::http::Method::PUT | axum::http::Method::PATCH
        ) {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", ContentBuilder::new().build())
                    .build(),
            ));
        }
        paths = paths.path(r.path, PathItem::new(method(&r.method), op.build()));
    }
    let error = ObjectBuilder::new()
        .property("code", ObjectBuilder::new().schema_type(Type::String))
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .property("details", ObjectBuilder::new())
        .required("code")
        .required("message");
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Steward platform API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Every route is decided by the shared resolver; errors are `{code, message, details?}`.",
                )),
        )
        .paths(paths.build())
        .components(Some(
            ComponentsBuilder::new()
                .schema("Error", error)
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .build()
}

pub async fn document() -> Json<OpenApi> {
    Json(build())
}
