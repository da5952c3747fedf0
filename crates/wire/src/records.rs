//! The maintenance modules' records: tasks, events, equipment.

#![allow(unused_imports)] // each module uses a different part of the model

use serde::{Deserialize, Serialize};
use serde_json::Value;
use steward_model::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordModule {
    Tasks,
    Events,
    Equipment,
}
impl RecordModule {
    pub const ALL: [RecordModule; 3] = [RecordModule::Tasks, RecordModule::Events, RecordModule::Equipment];

    pub fn name(self) -> &'static str {
        match self {
            RecordModule::Tasks => "tasks",
            RecordModule::Events => "events",
            RecordModule::Equipment => "equipment",
        }
    }

    pub fn view(self) -> Permission {
        match self {
            RecordModule::Tasks => Permission::TasksView,
            RecordModule::Events => Permission::EventsView,
            RecordModule::Equipment => Permission::EquipmentView,
        }
    }

    pub fn manage(self) -> Permission {
        match self {
            RecordModule::Tasks => Permission::TasksManage,
            RecordModule::Events => Permission::EventsManage,
            RecordModule::Equipment => Permission::EquipmentManage,
        }
    }

    /// Statuses a record of this module may have; the first is the initial one.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            RecordModule::Tasks => &["open", "in_progress", "done", "cancelled"],
            RecordModule::Events => &["open", "acknowledged", "closed"],
            RecordModule::Equipment => &["in_service", "maintenance", "retired"],
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecordRow {
    pub id: i64,
    pub module: RecordModule,
    pub asset_id: Option<i64>,
    pub title: String,
    pub status: String,
    pub body: Value,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[serde(default)]
    pub after: i64,
    #[serde(default = "default_limit")]
    pub limit: u32,
}

#[derive(Deserialize, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    pub title: Option<String>,
    pub status: Option<String>,
    pub body: Option<Value>,
}

#[derive(Deserialize, Default, Debug, Clone, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    pub title: Option<String>,
    pub input: Option<Value>,
}

pub fn default_limit() -> u32 {
    100
}
