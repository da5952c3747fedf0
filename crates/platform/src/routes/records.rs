//! Tasks, events and equipment: list, get, create, update, delete, each guarded by its module's
//! `view`/`manage` permission. Running an asset creates a task on it.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::{ApiJson, ApiPath, ApiQuery, Idempotency, if_match};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::{RecordInput, RecordModule, RecordRow};
use steward_wire::*;

const MAX_TITLE: usize = 200;
const MAX_BODY_JSON: usize = 64 * 1024;

fn validate(module: RecordModule, b: RecordBody, creating: bool) -> ApiResult<RecordInput> {
    let title = match b.title {
        Some(t) => {
            let t = t.trim().to_owned();
            if t.is_empty() || t.chars().count() > MAX_TITLE {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_title",
                    format!("title must be 1 to {MAX_TITLE} characters"),
                ));
            }
            Some(t)
        }
        None if creating => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_title",
                "title is required",
            ));
        }
        None => None,
    };
    if let Some(status) = &b.status {
        if !module.statuses().contains(&status.as_str()) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_status",
                format!("status must be one of: {}", module.statuses().join(", ")),
            ));
        }
    }
    if let Some(body) = &b.body {
        if !body.is_object() || body.to_string().len() > MAX_BODY_JSON {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_record_body",
                "body must be a JSON object of at most 64 KiB",
            ));
        }
    }
    Ok(RecordInput {
        title,
        status: b.status,
        body: b.body,
        asset_id: None,
    })
}

async fn list(
    state: SharedState,
    caller: Caller,
    module: RecordModule,
    page: Page,
) -> ApiResult<Json<Vec<RecordRow>>> {
    Ok(Json(
        state.store.records(caller.org, module, page.after, page.limit)?,
    ))
}

async fn get(
    state: SharedState,
    caller: Caller,
    module: RecordModule,
    id: i64,
) -> ApiResult<Json<RecordRow>> {
    state
        .store
        .record(caller.org, module, id)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(module.name()))
}

async fn create(
    state: SharedState,
    caller: Caller,
    idem: Idempotency,
    module: RecordModule,
    body: RecordBody,
) -> ApiResult<(StatusCode, Json<RecordRow>)> {
    let input = validate(module, body, true)?;
    let ctx = caller.write_ctx(&state, 201, idem.0);
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_record(&ctx, module, &input)?),
    ))
}

async fn update(
    state: SharedState,
    caller: Caller,
    idem: Idempotency,
    module: RecordModule,
    id: i64,
    headers: HeaderMap,
    body: RecordBody,
) -> ApiResult<Json<RecordRow>> {
    let input = validate(module, body, false)?;
    let ctx = caller.write_ctx(&state, 200, idem.0);
    Ok(Json(state.store.update_record(
        &ctx,
        module,
        id,
        &input,
        if_match(&headers)?,
    )?))
}

async fn delete(
    state: SharedState,
    caller: Caller,
    idem: Idempotency,
    module: RecordModule,
    id: i64,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let ctx = caller.write_ctx(&state, 204, idem.0);
    state.store.delete_record(&ctx, module, id, if_match(&headers)?)?;
    Ok(StatusCode::NO_CONTENT)
}

macro_rules! module_routes {
    ($module:expr, $list:ident, $get:ident, $create:ident, $update:ident, $delete:ident) => {
        pub async fn $list(
            State(state): State<SharedState>,
            Extension(caller): Extension<Caller>,
            ApiQuery(page): ApiQuery<Page>,
        ) -> ApiResult<Json<Vec<RecordRow>>> {
            list(state, caller, $module, page).await
        }

        pub async fn $get(
            State(state): State<SharedState>,
            Extension(caller): Extension<Caller>,
            ApiPath(id): ApiPath<i64>,
        ) -> ApiResult<Json<RecordRow>> {
            get(state, caller, $module, id).await
        }

        pub async fn $create(
            State(state): State<SharedState>,
            Extension(caller): Extension<Caller>,
            Extension(idem): Extension<Idempotency>,
            ApiJson(body): ApiJson<RecordBody>,
        ) -> ApiResult<(StatusCode, Json<RecordRow>)> {
            create(state, caller, idem, $module, body).await
        }

        pub async fn $update(
            State(state): State<SharedState>,
            Extension(caller): Extension<Caller>,
            Extension(idem): Extension<Idempotency>,
            ApiPath(id): ApiPath<i64>,
            headers: HeaderMap,
            ApiJson(body): ApiJson<RecordBody>,
        ) -> ApiResult<Json<RecordRow>> {
            update(state, caller, idem, $module, id, headers, body).await
        }

        pub async fn $delete(
            State(state): State<SharedState>,
            Extension(caller): Extension<Caller>,
            Extension(idem): Extension<Idempotency>,
            ApiPath(id): ApiPath<i64>,
            headers: HeaderMap,
        ) -> ApiResult<StatusCode> {
            delete(state, caller, idem, $module, id, headers).await
        }
    };
}

module_routes!(
    RecordModule::Tasks,
    list_tasks,
    get_task,
    create_task,
    update_task,
    delete_task
);
module_routes!(
    RecordModule::Events,
    list_events,
    get_event,
    create_event,
    update_event,
    delete_event
);
module_routes!(
    RecordModule::Equipment,
    list_equipment,
    get_equipment,
    create_equipment,
    update_equipment,
    delete_equipment
);

/// `POST /assets/{asset}/run`: creates a task on the asset. The guard has checked run access
/// (for a workforce, on every one of its agents too).
pub async fn run_asset(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Extension(idem): Extension<Idempotency>,
    ApiPath(asset_id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<RecordRow>)> {
    // The body is optional: an empty one runs with no input.
    let body: RunBody = if raw.iter().all(u8::is_ascii_whitespace) {
        RunBody::default()
    } else {
        serde_json::from_slice(&raw)
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", e.to_string()))?
    };
    let asset = state
        .store
        .asset(caller.org, asset_id)?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    let mut input = validate(
        RecordModule::Tasks,
        RecordBody {
            title: Some(body.title.unwrap_or_else(|| format!("Run {}", asset.name))),
            status: None,
            body: Some(serde_json::json!({ "input": body.input.unwrap_or(Value::Null) })),
        },
        true,
    )?;
    input.asset_id = Some(asset_id);
    let ctx = caller.write_ctx(&state, 201, idem.0);
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_record(&ctx, RecordModule::Tasks, &input)?),
    ))
}
