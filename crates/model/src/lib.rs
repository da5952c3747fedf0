//! Steward's permission model: the catalog, roles at three levels, the plant they apply to,
//! and the resolver that decides with reasons. Pure: no IO, no async, no panics.

pub mod acl;
pub mod catalog;
pub mod demo;
pub mod docs;
pub mod error;
mod explain;
pub mod ids;
mod index;
pub mod iot_json;
mod keys;
pub mod legacy;
pub mod plant;
pub mod resolver;
pub mod roles;
pub mod topics;

pub use catalog::{Module, PermSet, Permission, Verb};
pub use error::ModelError;
pub use ids::{AssetId, Grantee, GroupId, KeyId, NodeId, Principal, ProjectId, Resource, UserId};
pub use plant::{ApiKey, AssetSpec, Change, Plant};
pub use resolver::{AccessDelta, Action, Decision, EffectiveAccess, Reason, Target, Via, WorkforceCheck};
pub use roles::{ActionSet, AssetAction, AssetKind, AssetRole, OrgRole, ProjectAction, ProjectRole};
