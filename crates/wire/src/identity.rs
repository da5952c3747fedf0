//! Identity: users, invites, sign-in and the caller's own session.

#![allow(unused_imports)] // each module uses a different part of the model

use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_model::*;

/// A user as clients see it: never a password hash or TOTP secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub org_id: i64,
    pub email: String,
    pub name: String,
    pub role: OrgRole,
    pub active: bool,
    pub totp_enabled: bool,
    pub created_at: i64,
    pub version: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InviteRow {
    pub id: i64,
    pub org_id: i64,
    pub email: String,
    pub role: OrgRole,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Org settings that the server enforces.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OrgSettings {
    /// Sessions end after this long without a request.
    pub idle_timeout_minutes: i64,
    /// Every user must have TOTP enrolled to sign in.
    pub require_totp: bool,
}
impl Default for OrgSettings {
    fn default() -> OrgSettings {
        OrgSettings {
            idle_timeout_minutes: 30,
            require_totp: false,
        }
    }
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: i64,
    pub user: UserRow,
    /// The org requires TOTP and this user has none yet: the session can only enrol one
    /// (`POST /session/totp`, then `/session/totp/confirm`).
    #[serde(default)]
    pub must_enrol_totp: bool,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct WhoAmI {
    pub principal: Principal,
    pub org: i64,
    pub org_name: String,
    pub user: Option<UserRow>,
    /// Org-level catalog permissions the caller holds.
    pub permissions: PermSet,
    pub idle_timeout_minutes: i64,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct TotpEnrolment {
    /// For the authenticator app; shown once, while enrolling.
    pub otpauth_uri: String,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    pub code: String,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Option<OrgRole>,
    pub active: Option<bool>,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub email: String,
    /// Viewer when not given.
    pub role: Option<OrgRole>,
}

#[derive(Serialize, Debug, Clone, Deserialize)]
pub struct Invited {
    pub invite: InviteRow,
    /// The single-use token for the invite link; shown once, stored only as a hash.
    pub token: String,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    pub token: String,
    pub name: String,
    pub password: String,
}

/// `POST /session/broker`: a broker credential for this console session, holding its user's
/// listen rights only. It ends with the session (sign-out, deactivation, idle or absolute
/// timeout) or at `expires_at`, whichever comes first; the console asks again before then.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BrokerCredential {
    /// `mqtt://host:port`.
    pub url: String,
    pub username: String,
    pub password: String,
    pub expires_at: i64,
}
