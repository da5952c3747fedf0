//! The administration views: API keys (list from the cache; create, disable, enable and revoke
//! online; permission edits through the outbox), the permission tree editor with the IoT
//! document's JSON, the audit log (online, filtered, paged) and the legacy-migration review.
//!
//! An API key's secret exists here only in the `CreatedKeyView` handed back to the caller: it is
//! never written to the cache, logged, or kept in the console's state.

use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_model::catalog::Source;
use steward_model::error::EntityKind;
use steward_model::{
    Change, Grantee, KeyId, ModelError, Module, NodeId, PermSet, Permission, Plant, Principal, ProjectId,
    ProjectRole, UserId, iot_json,
};
use steward_wire::{AuditEntry, CreateKey, CreatedKey, KeyRow, LegacyReviewRow};
use ts_rs::TS;

use crate::console::{Console, now_ms, plant_with_pending};
use crate::error::{CoreError, CoreResult};
use crate::outbox::{OutboxItem, OutboxState};
use crate::views::principal_name;
use crate::{PreviewLine, outbox};

// ----- the permission tree --------------------------------------------------------------------

/// One action of a module in the editor: a catalog permission.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct TreeAction {
    /// `module.action`.
    pub permission: String,
    pub verb: String,
    pub label: String,
    pub description: String,
    /// What checking this also checks (`manage` brings `view`).
    pub implies: Option<String>,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct TreeModule {
    pub module: String,
    pub label: String,
    /// Where the module sits in the IoT document's object (`heirarchy_group`, `commands.rpc`).
    pub iot_path: Option<String>,
    pub actions: Vec<TreeAction>,
}

/// Modules grouped by the source document they come from.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct TreeSection {
    pub source: String,
    pub label: String,
    pub modules: Vec<TreeModule>,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct PermissionTree {
    pub sections: Vec<TreeSection>,
}

fn source_parts(source: Source) -> (&'static str, &'static str) {
    match source {
        Source::Maintenance => ("maintenance", "Maintenance platform"),
        Source::Rbac => ("rbac", "Organization and projects"),
        Source::Iot => ("iot", "Devices and real-time (IoT)"),
    }
}

/// The editor's tree: every catalog module with its actions, in catalog order, grouped by source.
pub fn permission_tree() -> PermissionTree {
    let mut sections: Vec<TreeSection> = Vec::new();
    for source in [Source::Maintenance, Source::Rbac, Source::Iot] {
        let (id, label) = source_parts(source);
        let modules = Module::ALL
            .iter()
            .filter(|m| m.info().source == source)
            .map(|m| TreeModule {
                module: m.name().to_owned(),
                label: m.info().label.to_owned(),
                iot_path: m.info().iot_path.map(|p| p.join(".")),
                actions: m
                    .permissions()
                    .map(|p| TreeAction {
                        permission: p.name().to_owned(),
                        verb: p.verb().name().to_owned(),
                        label: p.info().label.to_owned(),
                        description: p.info().description.to_owned(),
                        implies: p.implied().map(|i| i.name().to_owned()),
                    })
                    .collect(),
            })
            .collect();
        sections.push(TreeSection {
            source: id.to_owned(),
            label: label.to_owned(),
            modules,
        });
    }
    PermissionTree { sections }
}

/// Catalog names to a closed set; an unknown name is the model's `unknown_permission`.
pub fn permission_set(names: &[String]) -> CoreResult<PermSet> {
    Ok(names
        .iter()
        .map(|n| Permission::parse(n.trim()))
        .collect::<Result<PermSet, _>>()?)
}

fn names(set: PermSet) -> Vec<String> {
    set.iter().map(|p| p.name().to_owned()).collect()
}

/// The IoT document's JSON (or the same shape for other modules) to the editor's checked
/// permissions. Errors name the JSON path (`invalid_permission_json`).
pub fn import_permissions(text: &str) -> CoreResult<Vec<String>> {
    Ok(names(iot_json::import(text)?))
}

/// The editor's checked permissions as the IoT document's JSON, pretty-printed.
pub fn export_permissions(permissions: &[String]) -> CoreResult<String> {
    Ok(iot_json::export(permission_set(permissions)?))
}

// ----- keys -----------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum KeyStatus {
    Enabled,
    Disabled,
    Revoked,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct ScopeOption {
    pub id: u32,
    /// `North site › Line 2`.
    pub path: String,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct KeyView {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub status: KeyStatus,
    pub permissions: Vec<String>,
    /// "3 permissions in 2 modules: Events, Equipment (assets)".
    pub summary: String,
    pub scopes: Vec<ScopeOption>,
    pub created_by: String,
    #[ts(type = "number")]
    pub created_at: i64,
    #[ts(type = "number | null")]
    pub last_used_at: Option<i64>,
    #[ts(type = "number | null")]
    pub revoked_at: Option<i64>,
    #[ts(type = "number")]
    pub version: i64,
    /// A permission edit is waiting in the outbox.
    pub pending: bool,
}

/// The one answer that carries a key's secret. Not `Debug`-printable, so it cannot reach a log.
#[derive(Clone, Serialize, TS)]
#[ts(export)]
pub struct CreatedKeyView {
    pub key: KeyView,
    pub secret: String,
}

impl fmt::Debug for CreatedKeyView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedKeyView")
            .field("key", &self.key)
            .field("secret", &"<shown once>")
            .finish()
    }
}

/// What the create dialog sends.
#[derive(Clone, Debug, Deserialize, TS)]
#[ts(export)]
pub struct KeyDraft {
    pub name: String,
    pub permissions: Vec<String>,
    /// Hierarchy nodes; empty: the whole org.
    pub scopes: Vec<u32>,
}

/// `North site › Line 2` for a hierarchy node.
fn node_path(plant: &Plant, id: NodeId) -> String {
    let mut parts = Vec::new();
    let mut at = Some(id);
    // A cycle cannot exist in the model; the bound only keeps a damaged cache from looping.
    while let Some(n) = at.filter(|_| parts.len() < 64) {
        match plant.node(n) {
            Some(node) => {
                parts.push(node.name.clone());
                at = node.parent;
            }
            None => {
                parts.push(format!("node {}", n.0));
                at = None;
            }
        }
    }
    parts.reverse();
    parts.join(" › ")
}

pub fn scope_options(plant: &Plant) -> Vec<ScopeOption> {
    let mut options: Vec<ScopeOption> = plant
        .nodes()
        .map(|(id, _)| ScopeOption {
            id: id.0,
            path: node_path(plant, id),
        })
        .collect();
    options.sort_by(|a, b| a.path.cmp(&b.path));
    options
}

/// A short summary from the catalog's labels.
pub fn summary(set: PermSet) -> String {
    if set.is_empty() {
        return "No permissions".to_owned();
    }
    let mut modules: Vec<&'static str> = Vec::new();
    for p in set.iter() {
        let label = p.module().info().label;
        if !modules.contains(&label) {
            modules.push(label);
        }
    }
    let count = set.len();
    let noun = if count == 1 { "permission" } else { "permissions" };
    let module_noun = if modules.len() == 1 { "module" } else { "modules" };
    format!(
        "{count} {noun} in {} {module_noun}: {}",
        modules.len(),
        modules.join(", ")
    )
}

fn key_view(plant: &Plant, row: KeyRow, pending: bool) -> KeyView {
    let status = if row.revoked_at.is_some() {
        KeyStatus::Revoked
    } else if row.enabled {
        KeyStatus::Enabled
    } else {
        KeyStatus::Disabled
    };
    KeyView {
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        status,
        permissions: names(row.permissions),
        summary: summary(row.permissions),
        scopes: row
            .scopes
            .iter()
            .map(|s| ScopeOption {
                id: s.0,
                path: node_path(plant, *s),
            })
            .collect(),
        created_by: creator_name(plant, &row.created_by),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
        version: row.version,
        pending,
    }
}

/// `user:2` or `key:3` as a name, when the cache knows it.
fn creator_name(plant: &Plant, label: &str) -> String {
    let principal = label.split_once(':').and_then(|(kind, id)| {
        let id = id.parse::<u32>().ok()?;
        match kind {
            "user" => Some(Principal::User(UserId(id))),
            "key" => Some(Principal::Key(KeyId(id))),
            _ => None,
        }
    });
    match principal {
        Some(p @ Principal::User(u)) if plant.user(u).is_some() => principal_name(plant, p),
        Some(p @ Principal::Key(k)) if plant.key(k).is_some() => principal_name(plant, p),
        _ => label.to_owned(),
    }
}

/// The platform's escalation refusal, with the missing permissions by their catalog labels.
fn explain_refusal(e: CoreError) -> CoreError {
    let CoreError::Api {
        status,
        code,
        message,
        details,
    } = e
    else {
        return e;
    };
    let message = match code.as_str() {
        "escalation" => {
            let missing: Vec<String> = details
                .as_ref()
                .and_then(|d| d.get("missing"))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(|n| {
                            Permission::parse(n).map_or_else(|_| n.to_owned(), |p| p.info().label.to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            if missing.is_empty() {
                "You cannot give a key permissions you do not hold yourself.".to_owned()
            } else {
                format!(
                    "You cannot give a key permissions you do not hold yourself. Not yours: {}.",
                    missing.join(", ")
                )
            }
        }
        "scope_escalation" => "You cannot give a key a wider hierarchy scope than your own.".to_owned(),
        "key_enabled" => {
            "This key is enabled. Disable it first, edit its permissions, then enable it again.".to_owned()
        }
        _ => message,
    };
    CoreError::Api {
        status,
        code,
        message,
        details,
    }
}

// ----- audit ----------------------------------------------------------------------------------

/// The audit viewer's filters; empty strings mean "any".
#[derive(Clone, Debug, Default, Deserialize, TS)]
#[ts(export)]
pub struct AuditFilter {
    /// `user:3`, `key:2` or `system`.
    pub actor: Option<String>,
    /// `api_key.create`, `user.update`, `access.denied`, ...
    pub action: Option<String>,
    /// `key:3`, `project:1`, ...
    pub target: Option<String>,
    /// `ok` or `denied`.
    pub outcome: Option<String>,
    /// Only records at or after this moment (ms since the epoch).
    #[ts(type = "number | null")]
    pub from: Option<i64>,
    /// Only records at or before this moment.
    #[ts(type = "number | null")]
    pub to: Option<i64>,
    /// Continue below this record id (the previous page's `next_before_id`).
    #[ts(type = "number | null")]
    pub before_id: Option<i64>,
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct AuditRow {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub at: i64,
    pub actor: String,
    /// The actor's name when the cache knows it.
    pub actor_name: String,
    pub source: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    #[ts(type = "unknown")]
    pub before: Option<Value>,
    #[ts(type = "unknown")]
    pub after: Option<Value>,
    pub hash: String,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
    /// Where the next page starts; `None` at the beginning of the trail (or of the time range).
    #[ts(type = "number | null")]
    pub next_before_id: Option<i64>,
}

const AUDIT_PAGE: u32 = 100;
/// A time range is filtered here (the platform pages by id), so a page may scan several of the
/// platform's; this bounds one call.
const AUDIT_SCAN_PAGES: usize = 20;

fn query_string(pairs: &[(&str, String)]) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        url.append_pair(k, v);
    }
    url.finish()
}

fn clean(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

// ----- legacy review --------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct LegacyItem {
    pub user_id: u32,
    pub user_name: String,
    pub project_id: u32,
    pub project_name: String,
    pub migrated_to: String,
    /// The project role held now (pending changes included).
    pub current: Option<String>,
    /// What the administrator chose since the import (`none`: removed), if anything.
    pub resolved_to: Option<String>,
    pub options: Vec<String>,
    pub why: String,
    /// A role change for this person on this project waits in the outbox.
    pub pending: bool,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct LegacyReview {
    pub items: Vec<LegacyItem>,
    /// When the list was read from the platform (ms since the epoch).
    #[ts(type = "number | null")]
    pub fetched_at: Option<i64>,
    /// The platform did not answer; this is the list as last read.
    pub cached: bool,
}

const LEGACY_META: &str = "legacy_review";
const LEGACY_META_AT: &str = "legacy_review_at";

fn legacy_change(user: u32, project: u32, role: &str) -> CoreResult<Change> {
    let role = ProjectRole::parse(role)
        .ok_or_else(|| CoreError::Invalid(format!("`{role}` is not a project role")))?;
    Ok(Change::SetProjectRole {
        grantee: Grantee::User(UserId(user)),
        project: ProjectId(project),
        role: Some(role),
    })
}

fn u32_of(id: i64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

// ----- the console's calls --------------------------------------------------------------------

impl Console {
    fn api_client(&self) -> CoreResult<crate::api::ApiClient> {
        self.with_open(|open| Ok(open.api.clone()))
    }

    /// Marks the session offline (or online) after a network call, as every view shows it.
    pub(crate) fn note<T>(&self, result: CoreResult<T>) -> CoreResult<T> {
        let online = !matches!(result, Err(CoreError::Offline(_)));
        self.with_open(|open| {
            open.online = online;
            Ok(())
        })?;
        result
    }

    /// Pulls the feed so the cached keys show the platform's new state; offline is not an error
    /// here (the write already landed).
    async fn refresh(&self) {
        if let Err(e) = self.sync(|_| {}).await {
            tracing::warn!(code = %e.code(), "sync after an API-key change failed");
        }
    }

    /// Every API key of the org from the cache, revoked ones included, newest first.
    pub fn keys(&self) -> CoreResult<Vec<KeyView>> {
        self.with_open(|open| {
            let plant = plant_with_pending(open)?;
            let pending: Vec<u32> = outbox::items(&open.cache)?
                .into_iter()
                .filter(|i| i.state != OutboxState::Failed)
                .filter_map(|i| match i.change {
                    Change::SetKeyPermissions { key, .. } => Some(key.0),
                    _ => None,
                })
                .collect();
            let mut rows = open.cache.all::<KeyRow>("api_key")?;
            rows.sort_by_key(|r| std::cmp::Reverse(r.id));
            Ok(rows
                .into_iter()
                .map(|mut row| {
                    let id = u32_of(row.id);
                    // A queued edit shows as it will be.
                    if let Some(k) = plant.key(KeyId(id)) {
                        row.permissions = k.permissions;
                    }
                    key_view(&plant, row, pending.contains(&id))
                })
                .collect())
        })
    }

    pub fn scope_options(&self) -> CoreResult<Vec<ScopeOption>> {
        Ok(scope_options(&self.plant()?))
    }

    /// Creates a key on the platform (online only). The answer is the only place its secret
    /// ever appears; nothing of it is cached.
    pub async fn create_key(&self, draft: &KeyDraft) -> CoreResult<CreatedKeyView> {
        let permissions = permission_set(&draft.permissions)?;
        let body = CreateKey {
            name: draft.name.trim().to_owned(),
            permissions: Some(names(permissions)),
            permissions_json: None,
            scopes: draft.scopes.iter().map(|s| NodeId(*s)).collect(),
        };
        let api = self.api_client()?;
        // No idempotency key: a replayed creation would come back without its secret.
        let created = self.note(api.create_key(&body).await).map_err(explain_refusal)?;
        let CreatedKey { key, secret } = created;
        self.refresh().await;
        let plant = self.plant()?;
        Ok(CreatedKeyView {
            key: key_view(&plant, key.key, false),
            secret,
        })
    }

    async fn key_write(&self, id: i64, method: Method, path: String, versioned: bool) -> CoreResult<KeyView> {
        let (api, version) =
            self.with_open(|open| Ok((open.api.clone(), open.cache.version("api_key", id)?)))?;
        let mut headers = Vec::new();
        if versioned {
            if let Some(v) = version {
                headers.push(("if-match", format!("\"{v}\"")));
            }
        }
        let reply = self.note(api.send(method, &path, None, &headers).await)?;
        let body: steward_wire::KeyBody = crate::api::into_result(reply).map_err(explain_refusal)?;
        self.refresh().await;
        let plant = self.plant()?;
        Ok(key_view(&plant, body.key, false))
    }

    /// Disables a key (online): its next request fails; its permissions can then be edited.
    pub async fn disable_key(&self, id: i64) -> CoreResult<KeyView> {
        self.key_write(id, Method::POST, format!("/api-keys/{id}/disable"), true)
            .await
    }

    /// Enables a key again (online); the platform checks the caller holds all its permissions.
    pub async fn enable_key(&self, id: i64) -> CoreResult<KeyView> {
        self.key_write(id, Method::POST, format!("/api-keys/{id}/enable"), true)
            .await
    }

    /// Revokes a key for good (online).
    pub async fn revoke_key(&self, id: i64) -> CoreResult<KeyView> {
        self.key_write(id, Method::DELETE, format!("/api-keys/{id}"), false)
            .await
    }

    fn key_change(&self, id: i64, permissions: &[String]) -> CoreResult<Change> {
        let key = KeyId(u32_of(id));
        let row = self
            .with_open(|open| open.cache.one::<KeyRow>("api_key", id))?
            .ok_or(CoreError::Model(ModelError::UnknownEntity {
                kind: EntityKind::ApiKey,
                id: key.0,
            }))?;
        if row.revoked_at.is_some() {
            return Err(CoreError::Api {
                status: 410,
                code: "key_revoked".into(),
                message: "This key was revoked; its permissions cannot change.".into(),
                details: None,
            });
        }
        if row.enabled {
            // The platform refuses the same way (409); saying so first saves a queued failure.
            return Err(explain_refusal(CoreError::Api {
                status: 409,
                code: "key_enabled".into(),
                message: String::new(),
                details: None,
            }));
        }
        Ok(Change::SetKeyPermissions {
            key,
            permissions: permission_set(permissions)?,
        })
    }

    /// Edits a disabled key's permissions through the outbox (queued when offline).
    pub async fn set_key_permissions(&self, id: i64, permissions: &[String]) -> CoreResult<OutboxItem> {
        let change = self.key_change(id, permissions)?;
        let item = self.submit(change).await?;
        if item.state == OutboxState::Failed {
            // Refused at once (escalation, say): the outbox keeps it for the Changes view, and
            // the caller hears the platform's reason.
            let message = item.error.clone().unwrap_or_default();
            let code = message.split(':').next().unwrap_or("refused").to_owned();
            return Err(explain_refusal(CoreError::Api {
                status: 403,
                code,
                message,
                details: None,
            }));
        }
        Ok(item)
    }

    /// One page of the audit trail, newest first (online only).
    pub async fn audit(&self, filter: &AuditFilter) -> CoreResult<AuditPage> {
        let limit = filter.limit.unwrap_or(AUDIT_PAGE).clamp(1, 500);
        let mut base: Vec<(&str, String)> = vec![("limit", limit.to_string())];
        for (name, value) in [
            ("actor", &filter.actor),
            ("action", &filter.action),
            ("target", &filter.target),
            ("outcome", &filter.outcome),
        ] {
            if let Some(v) = clean(value) {
                base.push((name, v));
            }
        }
        let api = self.api_client()?;
        let mut entries: Vec<AuditEntry> = Vec::new();
        let mut before = filter.before_id;
        let mut next = None;
        for _ in 0..AUDIT_SCAN_PAGES {
            let mut pairs = base.clone();
            if let Some(b) = before {
                pairs.push(("before_id", b.to_string()));
            }
            let page = self.note(api.audit(&query_string(&pairs)).await)?;
            let full = u32::try_from(page.len()).unwrap_or(u32::MAX) >= limit;
            let last = page.last().map(|e| (e.id, e.at));
            let past_range = last.is_some_and(|(_, at)| filter.from.is_some_and(|from| at < from));
            entries.extend(page.into_iter().filter(|e| {
                filter.from.is_none_or(|from| e.at >= from) && filter.to.is_none_or(|to| e.at <= to)
            }));
            before = last.map(|(id, _)| id);
            next = if full && !past_range { before } else { None };
            if next.is_none() || u32::try_from(entries.len()).unwrap_or(u32::MAX) >= limit {
                break;
            }
        }
        let plant = self.plant()?;
        let rows = entries
            .into_iter()
            .map(|e| AuditRow {
                actor_name: creator_name(&plant, &e.actor),
                id: e.id,
                at: e.at,
                actor: e.actor,
                source: e.source,
                action: e.action,
                target: e.target,
                outcome: e.outcome,
                before: e.before,
                after: e.after,
                hash: e.hash,
            })
            .collect();
        Ok(AuditPage {
            entries: rows,
            next_before_id: next,
        })
    }

    /// The migrated legacy viewers to review: from the platform, or as last read when offline.
    pub async fn legacy_review(&self) -> CoreResult<LegacyReview> {
        let api = self.api_client()?;
        let (rows, fetched_at, cached): (Vec<LegacyReviewRow>, Option<i64>, bool) =
            match self.note(api.legacy_review().await) {
                Ok(rows) => {
                    let at = now_ms();
                    self.with_open(|open| {
                        open.cache.set_meta(LEGACY_META, &serde_json::to_string(&rows)?)?;
                        open.cache.set_meta(LEGACY_META_AT, &at.to_string())
                    })?;
                    (rows, Some(at), false)
                }
                Err(CoreError::Offline(reason)) => {
                    let cached = self.with_open(|open| {
                        Ok((open.cache.meta(LEGACY_META)?, open.cache.meta(LEGACY_META_AT)?))
                    })?;
                    match cached {
                        (Some(json), at) => (
                            serde_json::from_str(&json)?,
                            at.and_then(|a| a.parse().ok()),
                            true,
                        ),
                        (None, _) => return Err(CoreError::Offline(reason)),
                    }
                }
                Err(e) => return Err(e),
            };
        self.with_open(|open| {
            let plant = plant_with_pending(open)?;
            let pending: Vec<(Grantee, ProjectId)> = outbox::items(&open.cache)?
                .into_iter()
                .filter(|i| i.state != OutboxState::Failed)
                .filter_map(|i| match i.change {
                    Change::SetProjectRole { grantee, project, .. } => Some((grantee, project)),
                    _ => None,
                })
                .collect();
            let items = rows
                .into_iter()
                .map(|r| {
                    let user = UserId(u32_of(r.entry.user));
                    let project = ProjectId(u32_of(r.entry.project));
                    let current = plant.project(project).and_then(|p| {
                        p.grants()
                            .iter()
                            .find(|(g, _)| *g == Grantee::User(user))
                            .map(|(_, role)| role.name().to_owned())
                    });
                    LegacyItem {
                        user_id: user.0,
                        user_name: principal_name(&plant, Principal::User(user)),
                        project_id: project.0,
                        project_name: plant
                            .project(project)
                            .map_or_else(|| format!("project {}", project.0), |p| p.name.clone()),
                        migrated_to: r.entry.migrated_to.name().to_owned(),
                        current,
                        resolved_to: r.entry.resolved_to,
                        options: r.options.iter().map(|o| o.name().to_owned()).collect(),
                        why: r.why,
                        pending: pending.contains(&(Grantee::User(user), project)),
                    }
                })
                .collect();
            Ok(LegacyReview {
                items,
                fetched_at,
                cached,
            })
        })
    }

    /// Who gains and loses what if this migrated viewer gets `role` on the project.
    pub fn preview_legacy_choice(&self, user: u32, project: u32, role: &str) -> CoreResult<Vec<PreviewLine>> {
        self.preview(&legacy_change(user, project, role)?)
    }

    /// Sets the project role through the outbox (queued when offline), like any role change.
    pub async fn apply_legacy_choice(&self, user: u32, project: u32, role: &str) -> CoreResult<OutboxItem> {
        self.submit(legacy_change(user, project, role)?).await
    }
}

#[cfg(test)]
mod tests {
    // Tests: a failed step is a failed test.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn the_tree_is_the_catalog_grouped_by_source() {
        let tree = permission_tree();
        let total: usize = tree
            .sections
            .iter()
            .flat_map(|s| &s.modules)
            .map(|m| m.actions.len())
            .sum();
        assert_eq!(total, Permission::ALL.len());
        let iot = tree.sections.iter().find(|s| s.source == "iot").unwrap();
        let hierarchy = iot
            .modules
            .iter()
            .find(|m| m.module == "hierarchy_group")
            .unwrap();
        assert_eq!(hierarchy.iot_path.as_deref(), Some("heirarchy_group"));
        let events = tree.sections[0]
            .modules
            .iter()
            .find(|m| m.module == "events")
            .unwrap();
        let manage = events.actions.iter().find(|a| a.verb == "manage").unwrap();
        assert_eq!(manage.implies.as_deref(), Some("events.view"));
    }

    #[test]
    fn summaries_use_catalog_labels() {
        let set = PermSet::of([Permission::EventsManage, Permission::EquipmentView]);
        assert_eq!(
            summary(set),
            "3 permissions in 2 modules: Equipment (assets), Events"
        );
        assert_eq!(summary(PermSet::EMPTY), "No permissions");
    }

    #[test]
    fn the_secret_never_prints() {
        let created = CreatedKeyView {
            key: key_view(
                &Plant::default(),
                KeyRow {
                    id: 1,
                    org_id: 1,
                    name: "k".into(),
                    prefix: "stw_abc".into(),
                    permissions: PermSet::EMPTY,
                    scopes: vec![],
                    enabled: true,
                    revoked_at: None,
                    created_by: "user:1".into(),
                    created_at: 0,
                    last_used_at: None,
                    version: 1,
                },
                false,
            ),
            secret: "stw_abc_topsecret".into(),
        };
        assert!(!format!("{created:?}").contains("topsecret"));
    }

    #[test]
    fn escalation_names_the_missing_permissions_by_label() {
        let e = explain_refusal(CoreError::Api {
            status: 403,
            code: "escalation".into(),
            message: "user:6 cannot grant".into(),
            details: Some(serde_json::json!({"missing": ["billing.manage"]})),
        });
        assert_eq!(e.code(), "escalation");
        assert!(e.to_string().contains("Manage billing"), "{e}");
    }
}
