//! Who may do what in a cart: the one place role rules live. The room
//! checks ops against it, the HTTP edge checks requests against it, and
//! clients receive the resulting capabilities with `subscribed` instead of
//! keeping a role table of their own.

use cartroom_protocol::{Capability, ErrorCode, MemberRole, Op};

use crate::refusal::Refusal;

/// Every capability, in the order they are listed to clients.
const ALL: [Capability; 9] = [
    Capability::View,
    Capability::Suggest,
    Capability::Vote,
    Capability::Chat,
    Capability::EditLines,
    Capability::AcceptSuggestion,
    Capability::Rename,
    Capability::ManageMembers,
    Capability::DeleteCart,
];

/// The lowest role that has `capability`.
fn min_role(capability: Capability) -> MemberRole {
    use Capability::*;
    match capability {
        View | Suggest | Vote | Chat => MemberRole::Viewer,
        EditLines | AcceptSuggestion => MemberRole::Editor,
        Rename | ManageMembers | DeleteCart => MemberRole::Admin,
    }
}

/// What performing `op` takes.
pub fn needed_for(op: &Op) -> Capability {
    match op {
        Op::AddLine { .. }
        | Op::ChangeQuantity { .. }
        | Op::SetQuantity { .. }
        | Op::RemoveLine { .. }
        | Op::SetLineNote { .. }
        | Op::SetCartNote { .. } => Capability::EditLines,
        Op::Suggest { .. } => Capability::Suggest,
        Op::Vote { .. } => Capability::Vote,
        Op::AcceptSuggestion { .. } => Capability::AcceptSuggestion,
        Op::Rename { .. } => Capability::Rename,
    }
}

/// Whether `role` has `capability`.
pub fn allows(role: MemberRole, capability: Capability) -> bool {
    role >= min_role(capability)
}

/// Everything `role` may do.
pub fn capabilities(role: MemberRole) -> Vec<Capability> {
    ALL.into_iter().filter(|c| allows(role, *c)).collect()
}

/// `Ok` when `role` has `capability`, else a `forbidden` refusal naming the
/// role it takes.
pub fn check(role: MemberRole, capability: Capability) -> Result<(), Refusal> {
    if allows(role, capability) {
        return Ok(());
    }
    let needed = min_role(capability);
    Err(Refusal::new(
        ErrorCode::Forbidden,
        format!(
            "{} may not {}; this needs the {} role",
            with_article(role),
            describe(capability),
            needed.as_str()
        ),
    ))
}

/// "a viewer", "an editor", "an admin".
pub fn with_article(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Viewer => "a viewer",
        MemberRole::Editor => "an editor",
        MemberRole::Admin => "an admin",
    }
}

fn describe(capability: Capability) -> &'static str {
    use Capability::*;
    match capability {
        View => "see this cart",
        Suggest => "suggest products",
        Vote => "vote",
        Chat => "chat",
        EditLines => "change the lines or notes",
        AcceptSuggestion => "accept suggestions",
        Rename => "rename the cart",
        ManageMembers => "manage members",
        DeleteCart => "delete the cart",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_design_table() {
        use Capability::*;
        assert_eq!(
            capabilities(MemberRole::Viewer),
            [View, Suggest, Vote, Chat]
        );
        assert_eq!(
            capabilities(MemberRole::Editor),
            [View, Suggest, Vote, Chat, EditLines, AcceptSuggestion]
        );
        assert_eq!(capabilities(MemberRole::Admin), ALL);
    }

    #[test]
    fn a_refusal_names_the_role_it_takes() {
        let refusal = check(MemberRole::Viewer, Capability::EditLines).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::Forbidden);
        assert_eq!(
            refusal.message,
            "a viewer may not change the lines or notes; this needs the editor role"
        );
        assert!(check(MemberRole::Editor, Capability::EditLines).is_ok());
    }
}
