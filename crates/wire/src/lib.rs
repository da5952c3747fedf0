//! Bodies that cross the wire between stewardd and its clients. Both sides use these types, so
//! a field renamed on one side is a compile error on the other.

pub mod batch;
pub mod devices;
pub mod directory;
pub mod feed;
pub mod identity;
pub mod keys;
pub mod records;

pub use batch::*;
pub use devices::*;
pub use directory::*;
pub use feed::*;
pub use identity::*;
pub use keys::*;
pub use records::*;

use serde::{Deserialize, Serialize};
use steward_model::{Action, Decision, Plant, Principal, Reason, Resource};

/// `GET /catalog`: the permission catalog and role matrices, derived from the model.
pub use steward_model::docs::{CatalogDocument as CatalogBody, CatalogEntry};

/// Every error body: a stable machine-readable `code` to branch on and a message for people.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl From<&steward_model::ModelError> for ErrorBody {
    fn from(e: &steward_model::ModelError) -> ErrorBody {
        ErrorBody {
            code: e.code().to_owned(),
            message: e.to_string(),
            details: None,
        }
    }
}

/// One reason of a decision: the structured reason and the sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonBody {
    #[serde(flatten)]
    pub reason: Reason,
    pub message: String,
}

/// `GET /explain`: a decision with its reasons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionBody {
    pub principal: Principal,
    pub action: Action,
    pub resource: Resource,
    pub allowed: bool,
    pub reasons: Vec<ReasonBody>,
}

impl DecisionBody {
    pub fn new(
        plant: &Plant,
        principal: Principal,
        action: Action,
        resource: Resource,
        decision: &Decision,
    ) -> Self {
        DecisionBody {
            principal,
            action,
            resource,
            allowed: decision.allowed,
            reasons: decision
                .reasons
                .iter()
                .map(|r| ReasonBody {
                    reason: *r,
                    message: plant.describe(r),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_model::demo::{self, ids};
    use steward_model::{AssetAction, Permission};

    #[test]
    fn decision_body_round_trips_through_json_with_readable_reasons() {
        let plant = demo::plant().unwrap();
        let principal = Principal::User(ids::COORDINATORS[1]);
        let action = Action::Asset(AssetAction::Run);
        let resource = Resource::Asset(ids::HANDOVER_WORKFORCE);
        let decision = plant.decide(principal, action, resource);
        let body = DecisionBody::new(&plant, principal, action, resource, &decision);
        let json = serde_json::to_string(&body).unwrap();
        assert!(json.contains("\"reason\":\"cannot_run_agent\""), "{json}");
        assert!(json.contains("cannot run agent Thermal Inspector"), "{json}");
        let back: DecisionBody = serde_json::from_str(&json).unwrap();
        assert_eq!(back, body);
        assert!(!back.allowed);
    }

    #[test]
    fn error_body_carries_the_model_code() {
        let err = Permission::parse("events.fly").unwrap_err();
        let body = ErrorBody::from(&err);
        assert_eq!(body.code, "unknown_permission");
        assert!(body.message.contains("events.fly"));
    }
}
