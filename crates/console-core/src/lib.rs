//! Steward Console's logic, without Tauri: profiles, the platform client, the encrypted
//! per-profile cache, sync from the change feed, the offline outbox, and every view's data.
//! Testable headless against a real stewardd; the desktop app only adapts it.

pub mod admin;
pub mod alerts;
pub mod api;
pub mod cache;
pub mod changes;
pub mod console;
pub mod csv;
pub mod devices;
pub mod directory;
pub mod error;
pub mod live;
pub mod outbox;
pub mod profiles;
pub mod secrets;
pub mod vault;
pub mod views;

pub use alerts::{AlertHistoryPage, AlertsView, RuleWrite};
pub use changes::{ChangeRequest, GranteeRef};
pub use console::{Console, PreviewLine, ReplayReport, SessionInfo, SyncProgress, SyncReport, TotpSetup};
pub use devices::DevicesView;
pub use error::{CoreError, CoreResult, IpcError};
pub use live::{LiveEvent, LiveEvents, LiveState, LiveStatus, PresenceChange};
pub use outbox::{OutboxItem, OutboxState, Resolution};
pub use profiles::Profile;
