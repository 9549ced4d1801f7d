//! How someone reaches a cart: as a member, or as the store's staff
//! (watching a customer's cart, or changing it during their takeover).

use cartroom_protocol::{Capability, ErrorCode, MemberRole};

use crate::cart::Actor;
use crate::policy;
use crate::refusal::Refusal;

/// The name an agent's edits carry during a takeover.
pub fn support_name(name: &str) -> String {
    format!("{name} (support)")
}

/// How someone reaches a cart: their role in it, who their edits are made
/// as, and whether as the store's staff rather than as a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartReach {
    pub role: MemberRole,
    /// The person, or for staff `"<name> (support)"`.
    pub actor: Actor,
    pub staff: bool,
}

impl CartReach {
    /// What the caller may do, as `subscribed` and the HTTP cart list it.
    pub fn capabilities(&self) -> Vec<Capability> {
        policy::capabilities_of(self.role, self.staff)
    }

    /// Refuses a change (an op, a suggestion, a vote, a chat) by staff who
    /// only watch: they change a customer's cart during their takeover
    /// alone, where a viewer member may still suggest and vote.
    pub fn check_change(&self) -> Result<(), Refusal> {
        if self.staff && self.role == MemberRole::Viewer {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "staff watching a customer's cart do not change it; take it over first",
            ));
        }
        Ok(())
    }
}
