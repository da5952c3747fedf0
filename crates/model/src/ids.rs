//! Identifiers. They are small dense integers (the platform's row ids), so the plant can keep
//! its entities in vectors and a lookup is one bounds-checked load, not a hash.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! ids {
    ($($name:ident => $prefix:literal),* $(,)?) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            #[inline]
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "#{}"), self.0)
            }
        }
    )*};
}

ids! {
    UserId => "user",
    GroupId => "group",
    ProjectId => "project",
    AssetId => "asset",
    KeyId => "key",
    NodeId => "node",
}

/// Who is asking: a person or an API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Principal {
    User(UserId),
    Key(KeyId),
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(u) => u.fmt(f),
            Principal::Key(k) => k.fmt(f),
        }
    }
}

/// Who a project or asset role is granted to: a person or a group of people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Grantee {
    User(UserId),
    Group(GroupId),
}

/// What a check is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Resource {
    /// The organization as a whole (org-level module permissions).
    Org,
    /// Something located in the device hierarchy (API keys may be scoped to subtrees).
    Node(NodeId),
    Project(ProjectId),
    Asset(AssetId),
}
