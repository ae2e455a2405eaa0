//! What happens to actions, as it happens: every audit entry about an action is also an event on a
//! broadcast channel. Hooks waiting on a hold, the approval page's live list and the notifiers
//! subscribe; nobody who is slow or gone can hold a decision back (a lagging subscriber misses
//! events and re-reads the state instead).

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// One thing that happened to one action (the audit entry's kind: `action.decided`,
/// `action.approved`, `action.released`, `action.rejected`, `action.expired`, `action.consumed`…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionEvent {
    pub kind: String,
    pub action_id: String,
    /// The audit entry's sequence number.
    pub seq: i64,
    pub at: i64,
}

impl ActionEvent {
    /// Whether the action's hold is over: approved, refused, expired or gone.
    pub fn settles_hold(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "action.released" | "action.rejected" | "action.expired" | "action.consumed"
        )
    }
}

/// The channel's sending side, kept by the instance.
pub(crate) struct Events {
    tx: broadcast::Sender<ActionEvent>,
}

impl Events {
    pub(crate) fn new() -> Events {
        Events {
            tx: broadcast::channel(4096).0,
        }
    }

    pub(crate) fn send(&self, e: ActionEvent) {
        // No subscriber is fine: nothing waits.
        let _ = self.tx.send(e);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ActionEvent> {
        self.tx.subscribe()
    }
}
