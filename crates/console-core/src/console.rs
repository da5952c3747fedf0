//! The console as one object: sign in or open offline, sync, queue and replay changes, and
//! answer every view from the cache through the shared model. The Tauri app only adapts this.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use steward_model::{Action, Change, Plant, Principal, Resource, UserId};
use steward_wire::{DecisionBody, MAX_BATCH_ITEMS, UserRow};
use ts_rs::TS;

use crate::api::{ApiClient, check_platform_url};
use crate::cache::{Cache, FeedPage};
use crate::devices::{self, DevicesView};
use crate::error::{CoreError, CoreResult};
use crate::live::{LiveEvents, LiveHub, LiveStatus, LiveTask};
use crate::outbox::{self, OutboxItem, OutboxState, Resolution, Sent};
use crate::profiles::{Profile, Profiles};
use crate::secrets::SecretStore;
use crate::vault::{self, CacheKey};
use crate::views::{self, DataAge, EffectiveMatrix, RoleMatrix};

const TOKEN: &str = "session-token";
/// Rows per change-feed page (the platform allows up to 5,000).
const PAGE: u32 = 5000;
/// Pages downloaded ahead of the cache writes.
const PREFETCH: usize = 8;
/// Most pages written in one cache transaction.
const PAGES_PER_COMMIT: usize = 8;
/// Cache meta key: the org's idle timeout in minutes, as of the last sign-in.
const IDLE_MINUTES: &str = "idle_timeout_minutes";
/// Cache meta key: the org's id (its MQTT topics live under `steward/{org}/`).
const ORG_ID: &str = "org_id";

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The signed-in (or offline-opened) profile.
pub(crate) struct Open {
    pub(crate) profile: Profile,
    pub(crate) user_id: Option<i64>,
    pub(crate) cache: Cache,
    pub(crate) api: ApiClient,
    pub(crate) online: bool,
    /// The cache's plant with the pending changes applied, kept from one `submit` to the next;
    /// dropped whenever the cache or the outbox changes otherwise.
    pub(crate) pending_plant: Option<Plant>,
    /// Live presence, once asked for; it stops (and the hub forgets) when this profile closes.
    pub(crate) live: Option<LiveTask>,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct SessionInfo {
    pub profile: Profile,
    #[ts(type = "number | null")]
    pub user_id: Option<i64>,
    pub online: bool,
    pub age: DataAge,
    /// The org's idle timeout as of the last sign-in: the window locks after this long idle.
    #[ts(type = "number | null")]
    pub idle_lock_seconds: Option<u32>,
}

/// How far a sync is: the cursor reached and the platform's newest change when the page came.
#[derive(Clone, Copy, Debug, Serialize, TS)]
#[ts(export)]
pub struct SyncProgress {
    #[ts(type = "number")]
    pub cursor: i64,
    #[ts(type = "number")]
    pub head: i64,
}

/// What an authenticator app needs to enrol: shown once, while enrolling, never stored.
#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct TotpSetup {
    pub otpauth_uri: String,
    /// The base32 secret, for typing into an app that cannot scan.
    pub secret: String,
    /// The URI as a QR code (an SVG document).
    pub qr_svg: String,
}

impl TotpSetup {
    fn new(otpauth_uri: String) -> CoreResult<TotpSetup> {
        let secret = url::Url::parse(&otpauth_uri)
            .ok()
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "secret")
                    .map(|(_, v)| v.into_owned())
            })
            .unwrap_or_default();
        let code = qrcode::QrCode::new(otpauth_uri.as_bytes())
            .map_err(|e| CoreError::Invalid(format!("the enrolment URI does not fit a QR code: {e}")))?;
        let qr_svg = code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build();
        Ok(TotpSetup {
            otpauth_uri,
            secret,
            qr_svg,
        })
    }
}

/// A sign-in waiting for TOTP enrolment: its enrolment-only session, in memory only.
struct Enrolling {
    api: ApiClient,
    base: url::Url,
    email: String,
    token: String,
    user: UserRow,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct SyncReport {
    pub applied: u32,
    #[ts(type = "number")]
    pub cursor: i64,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct ReplayReport {
    pub accepted: u32,
    pub conflicts: u32,
    pub failed: u32,
    pub still_pending: u32,
}

#[derive(Clone, Debug, Serialize, TS)]
#[ts(export)]
pub struct PreviewLine {
    pub principal: String,
    pub gained: bool,
    pub text: String,
}

pub struct Console {
    profiles: Profiles,
    secrets: Arc<dyn SecretStore>,
    open: Mutex<Option<Open>>,
    enrolling: Mutex<Option<Enrolling>>,
    pub(crate) live: Arc<LiveHub>,
}

impl Console {
    pub fn new(data_dir: impl Into<std::path::PathBuf>, secrets: Arc<dyn SecretStore>) -> Console {
        Console {
            profiles: Profiles::new(data_dir),
            secrets,
            open: Mutex::new(None),
            enrolling: Mutex::new(None),
            live: Arc::new(LiveHub::default()),
        }
    }

    fn lock(&self) -> CoreResult<MutexGuard<'_, Option<Open>>> {
        self.open
            .lock()
            .map_err(|_| CoreError::Cache("console state poisoned".into()))
    }

    pub(crate) fn with_open<T>(&self, f: impl FnOnce(&mut Open) -> CoreResult<T>) -> CoreResult<T> {
        let mut guard = self.lock()?;
        let open = guard.as_mut().ok_or(CoreError::Locked)?;
        f(open)
    }

    pub fn profiles(&self) -> CoreResult<Vec<Profile>> {
        self.profiles.list()
    }

    /// Signs in online: the token goes to the keyring, the cache is created or unlocked with the
    /// password, and a sync runs.
    pub async fn sign_in(
        &self,
        url: &str,
        email: &str,
        password: &str,
        totp: Option<String>,
    ) -> CoreResult<SessionInfo> {
        self.sign_in_with_progress(url, email, password, totp, |_| {})
            .await
    }

    /// `sign_in`, with `progress` following the first sync. When the org requires TOTP and the
    /// person has none yet, this fails with `totp_enrolment_required` and keeps the
    /// enrolment-only session in memory for `begin_totp_enrolment`/`confirm_totp_enrolment`.
    pub async fn sign_in_with_progress(
        &self,
        url: &str,
        email: &str,
        password: &str,
        totp: Option<String>,
        progress: impl FnMut(SyncProgress),
    ) -> CoreResult<SessionInfo> {
        let base = check_platform_url(url)?;
        let api = ApiClient::new(base.clone())?;
        let signed = api.sign_in(email, password, totp).await?;
        let api = api.with_token(signed.token.clone());
        if signed.must_enrol_totp {
            *self.enrolling()? = Some(Enrolling {
                api,
                base,
                email: email.trim().to_owned(),
                token: signed.token,
                user: signed.user,
            });
            return Err(CoreError::TotpEnrolmentRequired);
        }
        self.finish_sign_in(api, &base, email, password, &signed.token, &signed.user, progress)
            .await
    }

    fn enrolling(&self) -> CoreResult<MutexGuard<'_, Option<Enrolling>>> {
        self.enrolling
            .lock()
            .map_err(|_| CoreError::Cache("console state poisoned".into()))
    }

    /// The authenticator set-up for the person whose sign-in asked for enrolment.
    pub async fn begin_totp_enrolment(&self) -> CoreResult<TotpSetup> {
        let api = self
            .enrolling()?
            .as_ref()
            .map(|e| e.api.clone())
            .ok_or(CoreError::NotSignedIn)?;
        let enrolment = api.totp_enrol().await?;
        TotpSetup::new(enrolment.otpauth_uri)
    }

    /// Confirms enrolment with the first code, then finishes signing in with the password.
    pub async fn confirm_totp_enrolment(
        &self,
        code: &str,
        password: &str,
        progress: impl FnMut(SyncProgress),
    ) -> CoreResult<SessionInfo> {
        let pending = self.enrolling()?.take().ok_or(CoreError::NotSignedIn)?;
        match pending.api.totp_confirm(code.trim()).await {
            Ok(_) => {}
            Err(e) => {
                // A wrong code can be typed again.
                *self.enrolling()? = Some(pending);
                return Err(e);
            }
        }
        self.finish_sign_in(
            pending.api,
            &pending.base,
            &pending.email,
            password,
            &pending.token,
            &pending.user,
            progress,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)] // Each is one fact of the sign-in; a struct would only rename them.
    async fn finish_sign_in(
        &self,
        api: ApiClient,
        base: &url::Url,
        email: &str,
        password: &str,
        token: &str,
        user: &UserRow,
        progress: impl FnMut(SyncProgress),
    ) -> CoreResult<SessionInfo> {
        let me = api.whoami().await?;
        let platform_url = base.as_str().trim_end_matches('/').to_owned();
        let id = Profile::id_for(&platform_url, email);
        let profile = Profile {
            id: id.clone(),
            platform_url,
            email: email.trim().to_owned(),
            display_name: user.name.clone(),
            org_name: me.org_name.clone(),
        };
        let key = match self.profiles.wrapped_key(&id)? {
            Some(wrapped) => match vault::unwrap(&wrapped, password) {
                Ok(key) => key,
                // The password changed on the platform: the old cache cannot be opened, and
                // it is disposable, so start a new one.
                Err(CoreError::WrongPassword) => {
                    self.profiles.remove(&id)?;
                    CacheKey::random()?
                }
                Err(e) => return Err(e),
            },
            None => CacheKey::random()?,
        };
        self.profiles.save(&profile, &vault::wrap(&key, password)?)?;
        self.secrets.set(&id, TOKEN, token)?;
        let cache = Cache::open(&self.profiles.cache_path(&id), &key)?;
        cache.set_meta("user_id", &user.id.to_string())?;
        cache.set_meta(IDLE_MINUTES, &me.idle_timeout_minutes.to_string())?;
        cache.set_meta(ORG_ID, &me.org.to_string())?;
        *self.lock()? = Some(Open {
            profile,
            user_id: Some(user.id),
            cache,
            api,
            online: true,
            pending_plant: None,
            live: None,
        });
        self.sync(progress).await?;
        self.session()
    }

    /// Opens a profile from its cache with the password, without the network.
    pub fn open_offline(&self, profile_id: &str, password: &str) -> CoreResult<SessionInfo> {
        let profile = self.profiles.get(profile_id)?;
        let wrapped = self
            .profiles
            .wrapped_key(profile_id)?
            .ok_or(CoreError::UnknownProfile)?;
        let key = vault::unwrap(&wrapped, password)?;
        let cache = Cache::open(&self.profiles.cache_path(profile_id), &key)?;
        let base = check_platform_url(&profile.platform_url)?;
        let mut api = ApiClient::new(base)?;
        // A keyring that cannot be read still lets the user review offline.
        if let Ok(Some(token)) = self.secrets.get(profile_id, TOKEN) {
            api = api.with_token(token);
        }
        let user_id = cache.meta("user_id")?.and_then(|v| v.parse().ok());
        *self.lock()? = Some(Open {
            profile,
            user_id,
            cache,
            api,
            online: false,
            pending_plant: None,
            live: None,
        });
        self.session()
    }

    pub fn session(&self) -> CoreResult<SessionInfo> {
        self.with_open(|open| {
            Ok(SessionInfo {
                profile: open.profile.clone(),
                user_id: open.user_id,
                online: open.online,
                age: age(open)?,
                idle_lock_seconds: open
                    .cache
                    .meta(IDLE_MINUTES)?
                    .and_then(|m| m.parse::<u32>().ok())
                    .map(|m| m.saturating_mul(60)),
            })
        })
    }

    /// Locks the console: the cache key leaves memory until the password is given again.
    pub fn lock_now(&self) -> CoreResult<Option<String>> {
        let mut guard = self.lock()?;
        if let Some(open) = guard.as_mut() {
            keep_live_presence(open, &self.live.presence());
        }
        Ok(guard.take().map(|open| open.profile.id))
    }

    /// Signs out on the platform (if reachable), then deletes the profile's cache and keyring
    /// entries.
    pub async fn forget(&self, profile_id: &str) -> CoreResult<()> {
        let api = {
            let mut guard = self.lock()?;
            match guard.as_ref() {
                Some(open) if open.profile.id == profile_id => guard.take().map(|o| o.api),
                _ => None,
            }
        };
        if let Some(api) = api {
            // Best effort: offline, the token simply expires on the server.
            let _ = api.sign_out().await;
        }
        self.secrets.delete(profile_id, TOKEN)?;
        self.profiles.remove(profile_id)
    }

    /// Pulls the change feed into the cache; `progress` follows it page by page. Pages download
    /// ahead (up to `PREFETCH`) while earlier ones are written, and whatever has arrived is
    /// written in one cache transaction (up to `PAGES_PER_COMMIT` pages): each commit persists
    /// the cursor, so an interrupted sync resumes from the last commit.
    pub async fn sync(&self, mut progress: impl FnMut(SyncProgress)) -> CoreResult<SyncReport> {
        let (api, mut cursor) = self.with_open(|open| Ok((open.api.clone(), open.cache.cursor()?)))?;
        let (pages_tx, mut pages) = tokio::sync::mpsc::channel::<CoreResult<FeedPage>>(PREFETCH);
        // Stops by itself after the last page, on an error, or once this receiver is gone.
        tokio::spawn(async move {
            let mut since = cursor;
            loop {
                let page = api.feed_page(since, PAGE).await;
                let next = page.as_ref().ok().filter(|p| p.more).map(|p| p.next);
                if pages_tx.send(page).await.is_err() {
                    break;
                }
                match next {
                    Some(next) => since = next,
                    None => break,
                }
            }
        });
        let mut applied = 0u32;
        let mut failure = None;
        while failure.is_none() {
            let Some(first) = pages.recv().await else { break };
            let mut batch = vec![self.fetched(first)?];
            while batch.len() < PAGES_PER_COMMIT && batch.last().is_some_and(|p| p.more) {
                match pages.try_recv() {
                    Ok(Ok(page)) => batch.push(page),
                    // What arrived before the failure is still written.
                    Ok(Err(e)) => {
                        failure = Some(e);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.with_open(|open| {
                open.pending_plant = None;
                open.cache.apply_pages(&batch, now_ms())?;
                open.online = true;
                Ok(())
            })?;
            for page in &batch {
                applied = applied.saturating_add(u32::try_from(page.changes.len()).unwrap_or(u32::MAX));
                cursor = page.next;
                progress(SyncProgress {
                    cursor,
                    head: page.head.max(cursor),
                });
            }
            if !batch.last().is_some_and(|p| p.more) {
                break;
            }
        }
        if let Some(e) = failure {
            return self.fetched(Err(e));
        }
        Ok(SyncReport { applied, cursor })
    }

    /// A page of the feed, or the error after noting whether the platform answered at all.
    fn fetched<T>(&self, page: CoreResult<T>) -> CoreResult<T> {
        page.or_else(|e| {
            self.with_open(|open| {
                open.online = !matches!(e, CoreError::Offline(_));
                Ok(())
            })?;
            Err(e)
        })
    }

    /// Queues a change (previewable before), then tries to send it at once.
    pub async fn submit(&self, change: Change) -> CoreResult<OutboxItem> {
        let item = self.with_open(|open| {
            // Validate against the model first: a change the model refuses never enters the
            // outbox. The plant with the pending changes is kept between submits and the new
            // change applied to it, so queuing many offline is not a rebuild per change.
            let mut plant = match open.pending_plant.take() {
                Some(plant) => plant,
                None => plant_with_pending(open)?,
            };
            plant.apply(&change)?;
            let item = outbox::queue(&open.cache, &change, now_ms())?;
            open.pending_plant = Some(plant);
            Ok(item)
        })?;
        match self.replay().await {
            Ok(_) | Err(CoreError::Offline(_)) => {}
            Err(e) => return Err(e),
        }
        self.with_open(|open| Ok(outbox::item(&open.cache, item.id)?.unwrap_or(item)))
    }

    /// Sends pending changes in order. Stops quietly when offline; a conflict or refusal is
    /// recorded on its item and the rest go on. Runs of changes go up to `MAX_BATCH_ITEMS` at a
    /// time in one `POST /batch` (one request, one server transaction, one cache transaction);
    /// a change the batch route does not take, or a platform without it, goes alone.
    pub async fn replay(&self) -> CoreResult<ReplayReport> {
        let mut report = ReplayReport {
            accepted: 0,
            conflicts: 0,
            failed: 0,
            still_pending: 0,
        };
        let mut batches = true;
        // Known offline, the first request carries one change: queuing many changes offline
        // tries a replay after each, and should not read and encode a whole batch every time.
        let mut limit = 0;
        loop {
            let (api, mut pending) = self.with_open(|open| {
                if limit == 0 {
                    limit = if open.online { MAX_BATCH_ITEMS } else { 1 };
                }
                Ok((open.api.clone(), outbox::pending(&open.cache, limit)?))
            })?;
            limit = MAX_BATCH_ITEMS;
            let batch_len = match batches {
                true => pending
                    .iter()
                    .take_while(|(i, _)| outbox::batchable(&i.change))
                    .count(),
                false => 0,
            };
            let sent = if batch_len > 0 {
                pending.truncate(batch_len);
                match outbox::send_batch(&api, &pending).await {
                    Ok(Some(outcomes)) => Ok(pending.iter().map(|(i, _)| i.id).zip(outcomes).collect()),
                    Ok(None) => {
                        batches = false;
                        continue;
                    }
                    Err(e) => Err(e),
                }
            } else {
                let Some((item, key)) = pending.into_iter().next() else {
                    break;
                };
                outbox::send(&api, &item, &key).await.map(|s| vec![(item.id, s)])
            };
            match sent {
                Ok(mut outcomes) => {
                    // The session ended: what came before stands, the rest waits for a new
                    // sign-in.
                    let ended = outcomes
                        .iter()
                        .position(|(_, s)| matches!(s, Sent::Refused(CoreError::Api { status: 401, .. })));
                    let rest = ended.map(|at| outcomes.split_off(at));
                    let settled = self.with_open(|open| {
                        open.online = true;
                        open.pending_plant = None;
                        outbox::settle(&open.cache, outcomes)
                    })?;
                    report.accepted += settled.accepted;
                    report.conflicts += settled.conflicts;
                    report.failed += settled.failed;
                    if let Some((_, Sent::Refused(e))) = rest.and_then(|r| r.into_iter().next()) {
                        return Err(e);
                    }
                }
                Err(e @ CoreError::Offline(_)) => {
                    self.with_open(|open| {
                        open.online = false;
                        Ok(())
                    })?;
                    report.still_pending = self.with_open(|open| count(open, OutboxState::Pending))?;
                    if report.accepted == 0 {
                        return Err(e);
                    }
                    return Ok(report);
                }
                Err(e) => return Err(e),
            }
        }
        if report.accepted + report.conflicts > 0 {
            // Bring the cache up to what the server now holds.
            if let Err(e) = self.sync(|_| {}).await {
                tracing::warn!(code = %e.code(), "sync after replay failed");
            }
        }
        Ok(report)
    }

    pub fn outbox(&self) -> CoreResult<Vec<OutboxItem>> {
        self.with_open(|open| outbox::items(&open.cache))
    }

    pub async fn resolve(&self, id: i64, resolution: Resolution) -> CoreResult<ReplayReport> {
        self.with_open(|open| {
            open.pending_plant = None;
            outbox::resolve(&open.cache, id, resolution)
        })?;
        match self.replay().await {
            Err(CoreError::Offline(_)) => Ok(ReplayReport {
                accepted: 0,
                conflicts: 0,
                failed: 0,
                still_pending: 1,
            }),
            other => other,
        }
    }

    // ----- views --------------------------------------------------------------------------

    pub fn role_matrix(&self) -> RoleMatrix {
        views::role_matrix()
    }

    /// The plant as the views show it: the cache with pending changes applied.
    pub fn plant(&self) -> CoreResult<Plant> {
        self.with_open(|open| plant_with_pending(open))
    }

    pub fn effective_matrix(&self, filter: &str) -> CoreResult<EffectiveMatrix> {
        self.with_open(|open| {
            let plant = plant_with_pending(open)?;
            let pending = pending_users(open)?;
            Ok(views::effective_matrix(&plant, filter, &pending))
        })
    }

    pub fn explain(
        &self,
        principal: Principal,
        action: Action,
        resource: Resource,
    ) -> CoreResult<DecisionBody> {
        let plant = self.plant()?;
        let decision = plant.decide(principal, action, resource);
        Ok(DecisionBody::new(&plant, principal, action, resource, &decision))
    }

    pub fn who_can(&self, action: Action, resource: Resource) -> CoreResult<Vec<DecisionBody>> {
        let plant = self.plant()?;
        Ok(plant
            .who_can(action, resource)
            .into_iter()
            .map(|(p, d)| DecisionBody::new(&plant, p, action, resource, &d))
            .collect())
    }

    /// Who gains and who loses what if `change` is saved.
    pub fn preview(&self, change: &Change) -> CoreResult<Vec<PreviewLine>> {
        let plant = self.plant()?;
        let deltas = plant.preview(change)?;
        Ok(deltas
            .into_iter()
            .map(|d| {
                let who = views::principal_name(&plant, d.principal);
                let verb = if d.gained { "gains" } else { "loses" };
                let on = match d.on {
                    Some(steward_model::Target::Project(p)) => {
                        format!(
                            " on project {}",
                            plant.project(p).map(|p| p.name.clone()).unwrap_or_default()
                        )
                    }
                    Some(steward_model::Target::Asset(a)) => {
                        format!(
                            " on {}",
                            plant.asset(a).map(|a| a.name.clone()).unwrap_or_default()
                        )
                    }
                    None => String::new(),
                };
                PreviewLine {
                    principal: who.clone(),
                    gained: d.gained,
                    text: format!("{who} {verb} {}{on}", d.action),
                }
            })
            .collect())
    }

    pub fn people(&self) -> CoreResult<Vec<views::PersonRow>> {
        Ok(views::people(&self.plant()?))
    }

    pub fn assets(&self) -> CoreResult<Vec<views::AssetView>> {
        Ok(views::assets(&self.plant()?))
    }

    pub fn age(&self) -> CoreResult<DataAge> {
        self.with_open(|open| age(open))
    }

    // ----- devices and live presence --------------------------------------------------------

    /// Devices with hierarchy path, logical groups and presence, and each group's roll-up: from
    /// the cache (so offline too), with presence reported live since merged over it.
    ///
    /// Presence learnt live is stored in the cache as it is read, so the last known state
    /// outlives the connection (and this process).
    pub fn devices(&self) -> CoreResult<DevicesView> {
        let live = self.live.presence();
        let status = self.live.status();
        self.with_open(|open| {
            keep_live_presence(open, &live);
            devices::devices_view(&open.cache, &live, age(open)?, status)
        })
    }

    /// Every live event (presence changes and the connection's state), for as long as the
    /// receiver is kept. One hub serves every profile opened in this process.
    pub fn live_events(&self) -> LiveEvents {
        self.live.subscribe()
    }

    pub fn live_status(&self) -> LiveStatus {
        self.live.status()
    }

    /// Whether alerts arrive live (they start with live presence, for holders of alerts.listen).
    pub fn live_alert_status(&self) -> LiveStatus {
        self.live.alert_status()
    }

    /// Names the live connection gives the alerts that arrive.
    pub(crate) fn learn_alert_labels(&self, labels: crate::alerts::AlertLabels) {
        self.live.learn_labels(|known| known.learn(labels));
    }

    /// Starts live presence for the open profile, if not running already (idempotent). It
    /// keeps trying by itself while the platform or broker is away; its state is in
    /// `live_status` and the events. Must be called within a Tokio runtime.
    pub async fn start_live(&self) -> CoreResult<LiveStatus> {
        let (api, org) = self.with_open(|open| {
            let org = open.cache.meta(ORG_ID)?.and_then(|v| v.parse::<i64>().ok());
            Ok((open.api.clone(), org))
        })?;
        let org = match org {
            Some(org) => org,
            // A profile cached before the org id was kept: ask the platform once.
            None => {
                let org = api.whoami().await?.org;
                self.with_open(|open| open.cache.set_meta(ORG_ID, &org.to_string()))?;
                org
            }
        };
        let status = self.live.status();
        self.with_open(|open| {
            let running = open.live.as_ref().is_some_and(LiveTask::is_running);
            if !running {
                // The ended task goes first: dropping it clears the hub.
                open.live = None;
            }
            // Alerts ride on the same connection for holders of alerts.listen (the cached
            // plant's answer, read again at each connection), named from the cache.
            // Neither may keep presence from starting.
            match crate::alerts::may_listen(open) {
                Ok(allowed) => self.live.set_alerts_allowed(allowed),
                Err(e) => tracing::warn!(code = %e.code(), "live: alerts.listen not decided"),
            }
            match crate::alerts::cached_labels(open, status) {
                Ok(labels) => self.live.learn_labels(|known| known.learn(labels)),
                Err(e) => tracing::warn!(code = %e.code(), "live: no cached names for alerts"),
            }
            if !running {
                open.live = Some(LiveTask::start(api, org, self.live.clone())?);
            }
            Ok(())
        })?;
        Ok(self.live.status())
    }
}

/// Stores the live presence the cache does not have yet; a cache that cannot take it only
/// loses a hint (the next sync brings the platform's rows).
fn keep_live_presence(open: &mut Open, live: &std::collections::HashMap<i64, steward_wire::PresenceRow>) {
    let stored = devices::unsaved_presence(&open.cache, live).and_then(|rows| open.cache.put_presence(&rows));
    if let Err(e) = stored {
        tracing::warn!(code = %e.code(), "live presence not kept in the cache");
    }
}

fn count(open: &Open, state: OutboxState) -> CoreResult<u32> {
    outbox::count(&open.cache, state)
}

pub(crate) fn age(open: &Open) -> CoreResult<DataAge> {
    Ok(DataAge {
        synced_at: open.cache.meta("synced_at")?.and_then(|v| v.parse().ok()),
        online: open.online,
        pending: count(open, OutboxState::Pending)?,
        conflicts: count(open, OutboxState::Conflict)?,
    })
}

pub(crate) fn plant_with_pending(open: &Open) -> CoreResult<Plant> {
    let mut plant = open.cache.plant()?;
    for item in outbox::items(&open.cache)? {
        if item.state == OutboxState::Pending {
            // A change that no longer applies (its target went away) shows as failed on replay.
            let _ = plant.apply(&item.change);
        }
    }
    Ok(plant)
}

fn pending_users(open: &Open) -> CoreResult<Vec<UserId>> {
    Ok(outbox::items(&open.cache)?
        .into_iter()
        .filter(|i| i.state != OutboxState::Failed)
        .filter_map(|i| match i.change {
            Change::SetOrgRole { user, .. }
            | Change::SetUserActive { user, .. }
            | Change::SetGroupMember { user, .. } => Some(user),
            _ => None,
        })
        .collect())
}
