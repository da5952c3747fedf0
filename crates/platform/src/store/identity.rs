//! Orgs, users, invites and sessions.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;
use steward_model::OrgRole;

use super::{Journal, SqliteStore, WriteCtx, check_version};
use crate::error::{ApiError, ApiResult};
use steward_wire::*;

/// What login needs; stays inside the server.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: UserRow,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_last_step: i64,
    pub failed_attempts: i64,
    pub locked_until: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub org_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub user_active: bool,
    /// Opened only to enrol TOTP: everything else is refused until enrolment completes.
    pub enrol_only: bool,
}

pub trait IdentityStore: Send + Sync {
    fn create_org(&self, ctx: &WriteCtx, name: &str) -> ApiResult<i64>;
    fn org_name(&self, org: i64) -> ApiResult<Option<String>>;
    fn org_settings(&self, org: i64) -> ApiResult<OrgSettings>;
    fn set_org_settings(&self, ctx: &WriteCtx, settings: &OrgSettings) -> ApiResult<OrgSettings>;
    fn orgs(&self) -> ApiResult<Vec<i64>>;

    fn user(&self, id: i64) -> ApiResult<Option<UserRow>>;
    fn users(&self, org: i64) -> ApiResult<Vec<UserRow>>;
    fn credentials_by_email(&self, email: &str) -> ApiResult<Option<Credentials>>;
    fn credentials(&self, user: i64) -> ApiResult<Option<Credentials>>;
    fn create_user(
        &self,
        ctx: &WriteCtx,
        email: &str,
        name: &str,
        role: OrgRole,
        password_hash: &str,
    ) -> ApiResult<UserRow>;
    /// Changes role and/or status; deactivation ends every session in the same transaction.
    /// Refuses to leave the org without an active owner.
    fn update_user(
        &self,
        ctx: &WriteCtx,
        id: i64,
        role: Option<OrgRole>,
        active: Option<bool>,
        if_match: Option<i64>,
    ) -> ApiResult<UserRow>;
    fn set_password(&self, user: i64, password_hash: &str) -> ApiResult<()>;

    fn create_invite(
        &self,
        ctx: &WriteCtx,
        email: &str,
        role: OrgRole,
        token_hash: &str,
        expires_at: i64,
    ) -> ApiResult<InviteRow>;
    /// Uses an invite once: creates the user, marks the invite used.
    fn accept_invite(
        &self,
        ctx: &WriteCtx,
        token_hash: &str,
        name: &str,
        password_hash: &str,
    ) -> ApiResult<UserRow>;
    fn invite_by_token(&self, token_hash: &str) -> ApiResult<Option<InviteRow>>;

    fn login_failed(&self, user: i64, now: i64, lock_until: Option<i64>) -> ApiResult<()>;
    fn login_succeeded(&self, user: i64) -> ApiResult<()>;
    fn set_totp_secret(&self, user: i64, secret: Option<&str>, enabled: bool) -> ApiResult<()>;
    /// Marks a TOTP time step used; false when it (or a later one) was used already.
    fn use_totp_step(&self, user: i64, step: i64) -> ApiResult<bool>;

    fn create_session(
        &self,
        user: i64,
        token_hash: &str,
        now: i64,
        expires_at: i64,
        enrol_only: bool,
    ) -> ApiResult<i64>;
    /// Lifts a session's enrolment-only restriction once TOTP is enrolled.
    fn complete_enrolment(&self, session: i64) -> ApiResult<()>;
    fn session_by_token(&self, token_hash: &str) -> ApiResult<Option<SessionRow>>;
    fn session(&self, id: i64) -> ApiResult<Option<SessionRow>>;
    fn touch_session(&self, id: i64, now: i64) -> ApiResult<()>;
    fn end_session(&self, id: i64, now: i64) -> ApiResult<()>;
}

const USER_COLUMNS: &str = "id, org_id, email, name, role, active, totp_enabled, created_at, version";

fn user_from(r: &Row) -> rusqlite::Result<UserRow> {
    let role: String = r.get(4)?;
    Ok(UserRow {
        id: r.get(0)?,
        org_id: r.get(1)?,
        email: r.get(2)?,
        name: r.get(3)?,
        role: OrgRole::parse(&role).unwrap_or(OrgRole::Viewer),
        active: r.get(5)?,
        totp_enabled: r.get(6)?,
        created_at: r.get(7)?,
        version: r.get(8)?,
    })
}

pub(super) fn get_user(conn: &Connection, id: i64) -> ApiResult<Option<UserRow>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            [id],
            user_from,
        )
        .optional()?)
}

/// Changes a user's role or active flag: `update_user`, also run as one item of a batch.
pub(super) fn update_user(
    tx: &Connection,
    journal: &mut Journal,
    ctx: &WriteCtx,
    id: i64,
    role: Option<OrgRole>,
    active: Option<bool>,
    if_match: Option<i64>,
) -> ApiResult<UserRow> {
    let before = get_user(tx, id)?
        .filter(|u| u.org_id == ctx.org)
        .ok_or_else(|| ApiError::not_found("user"))?;
    check_version(before.version, if_match, || user_json(&before))?;
    let new_role = role.unwrap_or(before.role);
    let new_active = active.unwrap_or(before.active);
    let was_owner = before.active && before.role == OrgRole::Owner;
    let stays_owner = new_active && new_role == OrgRole::Owner;
    if was_owner && !stays_owner {
        let others: i64 = tx.query_row(
            "SELECT COUNT(*) FROM users WHERE org_id = ?1 AND role = 'owner' AND active = 1 AND id != ?2",
            params![ctx.org, id],
            |r| r.get(0),
        )?;
        if others == 0 {
            return Err(steward_model::ModelError::LastOwner {
                user: steward_model::UserId(u32::try_from(id).unwrap_or(u32::MAX)),
            }
            .into());
        }
    }
    tx.execute(
        "UPDATE users SET role = ?1, active = ?2, version = version + 1 WHERE id = ?3",
        params![new_role.name(), new_active, id],
    )?;
    if !new_active {
        tx.execute(
            "UPDATE sessions SET ended_at = ?1 WHERE user_id = ?2 AND ended_at IS NULL",
            params![ctx.now, id],
        )?;
    }
    let after = get_user(tx, id)?.ok_or_else(|| ApiError::Internal("user vanished".into()))?;
    let action = match (before.active, after.active) {
        (true, false) => "user.deactivate",
        (false, true) => "user.reactivate",
        _ => "user.update",
    };
    journal.audit(
        action,
        format!("user:{id}"),
        Some(user_json(&before)),
        Some(user_json(&after)),
    );
    journal.change("user", id, "put", after.version, Some(user_json(&after)));
    Ok(after)
}

fn get_credentials(
    conn: &Connection,
    clause: &str,
    arg: &dyn rusqlite::ToSql,
) -> ApiResult<Option<Credentials>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {USER_COLUMNS}, password_hash, totp_secret, totp_last_step, failed_attempts, locked_until
                 FROM users WHERE {clause}"
            ),
            [arg],
            |r| {
                Ok(Credentials {
                    user: user_from(r)?,
                    password_hash: r.get(9)?,
                    totp_secret: r.get(10)?,
                    totp_last_step: r.get(11)?,
                    failed_attempts: r.get(12)?,
                    locked_until: r.get(13)?,
                })
            },
        )
        .optional()?)
}

const INVITE_COLUMNS: &str = "id, org_id, email, role, created_at, expires_at, used_at";

/// One session with its user's org and status, found by `filter` (a condition on `s.`).
fn session_where(c: &Connection, filter: &str, value: impl rusqlite::ToSql) -> ApiResult<Option<SessionRow>> {
    Ok(c.query_row(
        &format!(
            "SELECT s.id, s.user_id, u.org_id, s.created_at, s.last_seen_at, s.expires_at, s.ended_at, u.active,
                    s.enrol_only
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE {filter}"
        ),
        [value],
        |r| {
            Ok(SessionRow {
                id: r.get(0)?,
                user_id: r.get(1)?,
                org_id: r.get(2)?,
                created_at: r.get(3)?,
                last_seen_at: r.get(4)?,
                expires_at: r.get(5)?,
                ended_at: r.get(6)?,
                user_active: r.get(7)?,
                enrol_only: r.get(8)?,
            })
        },
    )
    .optional()?)
}

fn invite_from(r: &Row) -> rusqlite::Result<InviteRow> {
    let role: String = r.get(3)?;
    Ok(InviteRow {
        id: r.get(0)?,
        org_id: r.get(1)?,
        email: r.get(2)?,
        role: OrgRole::parse(&role).unwrap_or(OrgRole::Viewer),
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        used_at: r.get(6)?,
    })
}

fn user_json(u: &UserRow) -> serde_json::Value {
    serde_json::to_value(u).unwrap_or_default()
}

fn insert_user(
    tx: &Connection,
    journal: &mut Journal,
    ctx: &WriteCtx,
    email: &str,
    name: &str,
    role: OrgRole,
    password_hash: &str,
) -> ApiResult<UserRow> {
    let taken: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE email = ?1)",
        [email],
        |r| r.get(0),
    )?;
    if taken {
        return Err(ApiError::conflict(
            "email_taken",
            format!("a user with email {email} exists"),
        ));
    }
    tx.execute(
        "INSERT INTO users (org_id, email, name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![ctx.org, email, name, role.name(), password_hash, ctx.now],
    )?;
    let id = tx.last_insert_rowid();
    let user = get_user(tx, id)?.ok_or_else(|| ApiError::Internal("user vanished".into()))?;
    journal.audit("user.create", format!("user:{id}"), None, Some(user_json(&user)));
    journal.change("user", id, "put", user.version, Some(user_json(&user)));
    Ok(user)
}

impl IdentityStore for SqliteStore {
    fn create_org(&self, ctx: &WriteCtx, name: &str) -> ApiResult<i64> {
        // The org does not exist yet, so the audit record is written under the new id.
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        tx.execute("INSERT INTO orgs (name) VALUES (?1)", [name])?;
        let id = tx.last_insert_rowid();
        let ctx = WriteCtx {
            org: id,
            ..ctx.clone()
        };
        super::audit::append(
            &tx,
            &ctx,
            "org.create",
            &format!("org:{id}"),
            "ok",
            None,
            Some(json!({"name": name})),
        )?;
        tx.commit()?;
        Ok(id)
    }

    fn org_name(&self, org: i64) -> ApiResult<Option<String>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT name FROM orgs WHERE id = ?1")?
                .query_row([org], |r| r.get(0))
                .optional()?)
        })
    }

    fn org_settings(&self, org: i64) -> ApiResult<OrgSettings> {
        self.read(|c| {
            let text: Option<String> = c
                .query_row("SELECT settings FROM orgs WHERE id = ?1", [org], |r| r.get(0))
                .optional()?;
            Ok(text
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default())
        })
    }

    fn set_org_settings(&self, ctx: &WriteCtx, settings: &OrgSettings) -> ApiResult<OrgSettings> {
        self.write(ctx, |tx, journal| {
            let before: Option<String> = tx
                .query_row("SELECT settings FROM orgs WHERE id = ?1", [ctx.org], |r| r.get(0))
                .optional()?;
            let after = serde_json::to_value(settings).map_err(|e| ApiError::Internal(e.to_string()))?;
            tx.execute(
                "UPDATE orgs SET settings = ?1, version = version + 1 WHERE id = ?2",
                params![after.to_string(), ctx.org],
            )?;
            let version: i64 =
                tx.query_row("SELECT version FROM orgs WHERE id = ?1", [ctx.org], |r| r.get(0))?;
            journal.audit(
                "settings.update",
                format!("org:{}", ctx.org),
                before.and_then(|b| serde_json::from_str(&b).ok()),
                Some(after.clone()),
            );
            journal.change("settings", ctx.org, "put", version, Some(after));
            Ok(settings.clone())
        })
    }

    fn orgs(&self) -> ApiResult<Vec<i64>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT id FROM orgs ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn user(&self, id: i64) -> ApiResult<Option<UserRow>> {
        self.read(|c| get_user(c, id))
    }

    fn users(&self, org: i64) -> ApiResult<Vec<UserRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE org_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([org], user_from)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn credentials_by_email(&self, email: &str) -> ApiResult<Option<Credentials>> {
        self.read(|c| get_credentials(c, "email = ?1", &email))
    }

    fn credentials(&self, user: i64) -> ApiResult<Option<Credentials>> {
        self.read(|c| get_credentials(c, "id = ?1", &user))
    }

    fn create_user(
        &self,
        ctx: &WriteCtx,
        email: &str,
        name: &str,
        role: OrgRole,
        password_hash: &str,
    ) -> ApiResult<UserRow> {
        self.write(ctx, |tx, journal| {
            insert_user(tx, journal, ctx, email, name, role, password_hash)
        })
    }

    fn update_user(
        &self,
        ctx: &WriteCtx,
        id: i64,
        role: Option<OrgRole>,
        active: Option<bool>,
        if_match: Option<i64>,
    ) -> ApiResult<UserRow> {
        self.write(ctx, |tx, journal| {
            update_user(tx, journal, ctx, id, role, active, if_match)
        })
    }

    fn set_password(&self, user: i64, password_hash: &str) -> ApiResult<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE users SET password_hash = ?1 WHERE id = ?2",
            params![password_hash, user],
        )?;
        Ok(())
    }

    fn create_invite(
        &self,
        ctx: &WriteCtx,
        email: &str,
        role: OrgRole,
        token_hash: &str,
        expires_at: i64,
    ) -> ApiResult<InviteRow> {
        self.write(ctx, |tx, journal| {
            let taken: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE email = ?1)",
                [email],
                |r| r.get(0),
            )?;
            if taken {
                return Err(ApiError::conflict(
                    "email_taken",
                    format!("a user with email {email} exists"),
                ));
            }
            let created_by = match ctx.actor {
                super::Actor::User(id) => Some(id),
                _ => None,
            };
            tx.execute(
                "INSERT INTO invites (org_id, email, role, token_hash, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    ctx.org,
                    email,
                    role.name(),
                    token_hash,
                    created_by,
                    ctx.now,
                    expires_at
                ],
            )?;
            let id = tx.last_insert_rowid();
            let invite = tx.query_row(
                &format!("SELECT {INVITE_COLUMNS} FROM invites WHERE id = ?1"),
                [id],
                invite_from,
            )?;
            journal.audit(
                "user.invite",
                format!("invite:{id}"),
                None,
                Some(json!({"email": email, "role": role.name(), "expires_at": expires_at})),
            );
            Ok(invite)
        })
    }

    fn accept_invite(
        &self,
        ctx: &WriteCtx,
        token_hash: &str,
        name: &str,
        password_hash: &str,
    ) -> ApiResult<UserRow> {
        self.write(ctx, |tx, journal| {
            let invite = tx
                .query_row(
                    &format!("SELECT {INVITE_COLUMNS} FROM invites WHERE token_hash = ?1"),
                    [token_hash],
                    invite_from,
                )
                .optional()?
                .ok_or_else(|| ApiError::not_found("invite"))?;
            if invite.used_at.is_some() {
                return Err(ApiError::new(
                    axum::http::StatusCode::GONE,
                    "invite_used",
                    "this invite was used already",
                ));
            }
            if invite.expires_at <= ctx.now {
                return Err(ApiError::new(
                    axum::http::StatusCode::GONE,
                    "invite_expired",
                    "this invite has expired",
                ));
            }
            if invite.org_id != ctx.org {
                return Err(ApiError::not_found("invite"));
            }
            tx.execute(
                "UPDATE invites SET used_at = ?1 WHERE id = ?2",
                params![ctx.now, invite.id],
            )?;
            insert_user(tx, journal, ctx, &invite.email, name, invite.role, password_hash)
        })
    }

    fn invite_by_token(&self, token_hash: &str) -> ApiResult<Option<InviteRow>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {INVITE_COLUMNS} FROM invites WHERE token_hash = ?1"
            ))?
            .query_row([token_hash], invite_from)
            .optional()?)
        })
    }

    fn login_failed(&self, user: i64, _now: i64, lock_until: Option<i64>) -> ApiResult<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE users SET failed_attempts = failed_attempts + 1, locked_until = COALESCE(?1, locked_until) WHERE id = ?2",
            params![lock_until, user],
        )?;
        Ok(())
    }

    fn login_succeeded(&self, user: i64) -> ApiResult<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE users SET failed_attempts = 0, locked_until = 0 WHERE id = ?1",
            [user],
        )?;
        Ok(())
    }

    fn set_totp_secret(&self, user: i64, secret: Option<&str>, enabled: bool) -> ApiResult<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE users SET totp_secret = ?1, totp_enabled = ?2, version = version + 1 WHERE id = ?3",
            params![secret, enabled, user],
        )?;
        Ok(())
    }

    fn use_totp_step(&self, user: i64, step: i64) -> ApiResult<bool> {
        let conn = self.writer()?;
        let changed = conn.execute(
            "UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND totp_last_step < ?1",
            params![step, user],
        )?;
        Ok(changed == 1)
    }

    fn create_session(
        &self,
        user: i64,
        token_hash: &str,
        now: i64,
        expires_at: i64,
        enrol_only: bool,
    ) -> ApiResult<i64> {
        let conn = self.writer()?;
        conn.execute(
            "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at, enrol_only)
             VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
            params![user, token_hash, now, expires_at, enrol_only],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn complete_enrolment(&self, session: i64) -> ApiResult<()> {
        self.writer()?
            .execute("UPDATE sessions SET enrol_only = 0 WHERE id = ?1", [session])?;
        Ok(())
    }

    fn session_by_token(&self, token_hash: &str) -> ApiResult<Option<SessionRow>> {
        self.read(|c| session_where(c, "s.token_hash = ?1", token_hash))
    }

    fn session(&self, id: i64) -> ApiResult<Option<SessionRow>> {
        self.read(|c| session_where(c, "s.id = ?1", id))
    }

    fn touch_session(&self, id: i64, now: i64) -> ApiResult<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE sessions SET last_seen_at = ?1 WHERE id = ?2",
            params![now, id],
        )?;
        Ok(())
    }

    fn end_session(&self, id: i64, now: i64) -> ApiResult<()> {
        let conn = self.writer()?;
        conn.execute(
            "UPDATE sessions SET ended_at = ?1 WHERE id = ?2 AND ended_at IS NULL",
            params![now, id],
        )?;
        Ok(())
    }
}
