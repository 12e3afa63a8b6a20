//! Which inboxes an actor may see. The store limits its queries by it and the realtime hub its
//! fan-out, so both live on the same definition.

use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboxVisibility {
    All,
    Only(Arc<[i64]>),
}

impl InboxVisibility {
    pub fn includes(&self, inbox_id: i64) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.contains(&inbox_id),
        }
    }
}
