//! Every change the console can make, as the UI sends it: plain ids and role names. It becomes the
//! model's `Change` only after validation against the cached plant, so a typo or a stale id is
//! `invalid_input` before anything is previewed or queued.

use serde::{Deserialize, Serialize};
use steward_model::{
    AssetId, AssetRole, Change, Grantee, GroupId, KeyId, OrgRole, PermSet, Permission, Plant, ProjectId,
    ProjectRole, UserId,
};
use ts_rs::TS;

use crate::console::{Console, PreviewLine};
use crate::error::{CoreError, CoreResult};
use crate::outbox::OutboxItem;

/// A person or a group a project or asset role is granted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[ts(export)]
pub enum GranteeRef {
    User(u32),
    Group(u32),
}

impl From<Grantee> for GranteeRef {
    fn from(g: Grantee) -> GranteeRef {
        match g {
            Grantee::User(u) => GranteeRef::User(u.0),
            Grantee::Group(g) => GranteeRef::Group(g.0),
        }
    }
}

/// A change as the UI asks for it; mirrors the model's `Change`. A `role` of `null` removes the
/// grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "change", rename_all = "snake_case")]
#[ts(export)]
pub enum ChangeRequest {
    SetOrgRole {
        user: u32,
        role: String,
    },
    SetUserActive {
        user: u32,
        active: bool,
    },
    SetGroupMember {
        group: u32,
        user: u32,
        member: bool,
    },
    SetProjectRole {
        grantee: GranteeRef,
        project: u32,
        role: Option<String>,
    },
    SetAssetRole {
        grantee: GranteeRef,
        asset: u32,
        role: Option<String>,
    },
    SetKeyPermissions {
        key: u32,
        permissions: Vec<String>,
    },
}

fn invalid(message: String) -> CoreError {
    CoreError::Invalid(message)
}

fn user(plant: &Plant, id: u32) -> CoreResult<UserId> {
    let id = UserId(id);
    plant
        .user(id)
        .map(|_| id)
        .ok_or_else(|| invalid(format!("there is no user {}", id.0)))
}

fn group(plant: &Plant, id: u32) -> CoreResult<GroupId> {
    let id = GroupId(id);
    plant
        .group(id)
        .map(|_| id)
        .ok_or_else(|| invalid(format!("there is no group {}", id.0)))
}

fn grantee(plant: &Plant, g: GranteeRef) -> CoreResult<Grantee> {
    match g {
        GranteeRef::User(u) => user(plant, u).map(Grantee::User),
        GranteeRef::Group(id) => group(plant, id).map(Grantee::Group),
    }
}

fn named<T>(kind: &str, name: Option<&str>, parse: impl Fn(&str) -> Option<T>) -> CoreResult<Option<T>> {
    name.map(|n| parse(n).ok_or_else(|| invalid(format!("`{n}` is not a {kind} role"))))
        .transpose()
}

impl ChangeRequest {
    /// The model's change, with every id checked against `plant` and every name against the
    /// catalog.
    pub fn to_change(&self, plant: &Plant) -> CoreResult<Change> {
        Ok(match self {
            ChangeRequest::SetOrgRole { user: u, role } => Change::SetOrgRole {
                user: user(plant, *u)?,
                role: OrgRole::parse(role).ok_or_else(|| invalid(format!("`{role}` is not an org role")))?,
            },
            ChangeRequest::SetUserActive { user: u, active } => Change::SetUserActive {
                user: user(plant, *u)?,
                active: *active,
            },
            ChangeRequest::SetGroupMember {
                group: g,
                user: u,
                member,
            } => Change::SetGroupMember {
                group: group(plant, *g)?,
                user: user(plant, *u)?,
                member: *member,
            },
            ChangeRequest::SetProjectRole {
                grantee: g,
                project,
                role,
            } => {
                let id = ProjectId(*project);
                if plant.project(id).is_none() {
                    return Err(invalid(format!("there is no project {project}")));
                }
                Change::SetProjectRole {
                    grantee: grantee(plant, *g)?,
                    project: id,
                    role: named("project", role.as_deref(), ProjectRole::parse)?,
                }
            }
            ChangeRequest::SetAssetRole {
                grantee: g,
                asset,
                role,
            } => {
                let id = AssetId(*asset);
                if plant.asset(id).is_none() {
                    return Err(invalid(format!("there is no asset {asset}")));
                }
                Change::SetAssetRole {
                    grantee: grantee(plant, *g)?,
                    asset: id,
                    role: named("asset", role.as_deref(), AssetRole::parse)?,
                }
            }
            ChangeRequest::SetKeyPermissions { key, permissions } => {
                let id = KeyId(*key);
                if plant.key(id).is_none() {
                    return Err(invalid(format!("there is no API key {key}")));
                }
                let parsed = permissions
                    .iter()
                    .map(|p| {
                        Permission::parse(p).map_err(|_| invalid(format!("`{p}` is not in the catalog")))
                    })
                    .collect::<CoreResult<Vec<_>>>()?;
                Change::SetKeyPermissions {
                    key: id,
                    permissions: PermSet::of(parsed),
                }
            }
        })
    }
}

impl Console {
    /// Who gains and who loses what if the requested change is saved.
    pub fn preview_change(&self, request: &ChangeRequest) -> CoreResult<Vec<PreviewLine>> {
        let change = request.to_change(&self.plant()?)?;
        self.preview(&change)
    }

    /// Validates, queues and (when the platform answers) sends the requested change.
    pub async fn submit_change(&self, request: &ChangeRequest) -> CoreResult<OutboxItem> {
        let change = request.to_change(&self.plant()?)?;
        self.submit(change).await
    }
}

#[cfg(test)]
mod tests {
    // Tests: a failed step is a failed test.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use steward_model::demo::{self, ids};

    #[test]
    fn requests_become_model_changes_or_invalid_input() {
        let plant = demo::plant().unwrap();
        let share = ChangeRequest::SetAssetRole {
            grantee: GranteeRef::User(ids::COORDINATORS[1].0),
            asset: ids::THERMAL_AGENT.0,
            role: Some("member".into()),
        };
        assert_eq!(
            share.to_change(&plant).unwrap(),
            Change::SetAssetRole {
                grantee: Grantee::User(ids::COORDINATORS[1]),
                asset: ids::THERMAL_AGENT,
                role: Some(AssetRole::Member),
            }
        );
        let remove = ChangeRequest::SetProjectRole {
            grantee: GranteeRef::Group(ids::SHIFT_A.0),
            project: ids::RELIABILITY.0,
            role: None,
        };
        assert!(matches!(
            remove.to_change(&plant).unwrap(),
            Change::SetProjectRole { role: None, .. }
        ));
        let bad = [
            ChangeRequest::SetOrgRole {
                user: 6,
                role: "emperor".into(),
            },
            ChangeRequest::SetUserActive {
                user: 999,
                active: false,
            },
            ChangeRequest::SetGroupMember {
                group: 42,
                user: 6,
                member: true,
            },
            ChangeRequest::SetAssetRole {
                grantee: GranteeRef::User(6),
                asset: 1,
                role: Some("editor".into()),
            },
            ChangeRequest::SetProjectRole {
                grantee: GranteeRef::Group(77),
                project: 1,
                role: Some("member".into()),
            },
            ChangeRequest::SetKeyPermissions {
                key: 1,
                permissions: vec!["events.fly".into()],
            },
        ];
        for request in bad {
            let e = request.to_change(&plant).unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{request:?}: {e}");
        }
    }

    #[test]
    fn requests_arrive_as_the_ui_sends_them() {
        let json = r#"{"change":"set_asset_role","grantee":{"kind":"group","id":1},"asset":2,"role":null}"#;
        let request: ChangeRequest = serde_json::from_str(json).unwrap();
        assert_eq!(
            request,
            ChangeRequest::SetAssetRole {
                grantee: GranteeRef::Group(1),
                asset: 2,
                role: None
            }
        );
    }
}
