//! API-key rules that are about who may grant what: no escalation, no wider scope.

use crate::catalog::PermSet;
use crate::error::ModelError;
use crate::ids::{NodeId, Principal};
use crate::plant::Plant;

impl Plant {
    /// May `creator` give a key these permissions and scopes? The creator must hold every
    /// permission granted, and a scoped creator cannot grant a wider scope than its own.
    /// (Whether the creator may manage keys at all is `api_keys.manage`, checked by `decide`.)
    pub fn check_key_grant(
        &self,
        creator: Principal,
        permissions: PermSet,
        scopes: &[NodeId],
    ) -> Result<(), ModelError> {
        // A scoped key may pass on its per-node permissions within its scope (checked below).
        let held = match creator {
            Principal::Key(id) => self
                .key(id)
                .filter(|k| k.enabled)
                .map_or(PermSet::EMPTY, |k| k.permissions),
            Principal::User(_) => self.org_permissions(creator),
        };
        let missing: Vec<_> = permissions.difference(held).iter().collect();
        if !missing.is_empty() {
            return Err(ModelError::Escalation { creator, missing });
        }
        for scope in scopes {
            if self.node(*scope).is_none() {
                return Err(ModelError::UnknownEntity {
                    kind: crate::error::EntityKind::HierarchyNode,
                    id: scope.0,
                });
            }
        }
        if let Principal::Key(id) = creator {
            let creator_scopes = self.key(id).map(|k| k.scopes.as_slice()).unwrap_or_default();
            if !creator_scopes.is_empty() {
                let within = !scopes.is_empty()
                    && scopes
                        .iter()
                        .all(|s| creator_scopes.iter().any(|c| self.node_within(*s, *c)));
                if !within {
                    return Err(ModelError::ScopeEscalation { creator });
                }
            }
        }
        Ok(())
    }
}
