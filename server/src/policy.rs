//! Who may do what in a cart: the one place role rules live. The room
//! checks ops against it, the HTTP edge checks requests against it, and
//! clients receive the resulting capabilities with `subscribed` instead of
//! keeping a role table of their own.

use cartroom_protocol::checkout::CartPhase;
use cartroom_protocol::{Capability, ErrorCode, MemberRole, Op};

use crate::refusal::Refusal;

/// Every capability, in the order they are listed to clients.
const ALL: [Capability; 11] = [
    Capability::View,
    Capability::Suggest,
    Capability::Vote,
    Capability::Chat,
    Capability::EditLines,
    Capability::AcceptSuggestion,
    Capability::Rename,
    Capability::ManageMembers,
    Capability::DeleteCart,
    Capability::Checkout,
    Capability::Approve,
];

/// The lowest role that has `capability`.
fn min_role(capability: Capability) -> MemberRole {
    use Capability::*;
    match capability {
        View | Suggest | Vote | Chat => MemberRole::Viewer,
        EditLines | AcceptSuggestion => MemberRole::Editor,
        Rename | ManageMembers | DeleteCart | Checkout | Approve => MemberRole::Admin,
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
        // Withdrawing takes being the author too (checked with the document).
        Op::Suggest { .. } | Op::WithdrawSuggestion { .. } => Capability::Suggest,
        Op::Vote { .. } => Capability::Vote,
        Op::AcceptSuggestion { .. } | Op::RejectSuggestion { .. } => Capability::AcceptSuggestion,
        Op::Rename { .. } => Capability::Rename,
        Op::Approve { .. } | Op::Reject { .. } => Capability::Approve,
        Op::Lock
        | Op::Unlock
        | Op::SetDeadline { .. }
        | Op::SetBudget { .. }
        | Op::AssignLine { .. }
        | Op::SetApprovalThreshold { .. }
        | Op::SetApprover { .. }
        | Op::RequestApproval
        | Op::SetSplit { .. }
        | Op::AddAddress { .. }
        | Op::RemoveAddress { .. }
        | Op::SetAllocation { .. } => Capability::Checkout,
    }
}

/// `Ok` when a member with `role` may send `op`: the role's capability
/// ([`check`]), except that the cart's named approver may approve and
/// reject whatever their role (viewer, editor or admin). `named_approver`
/// is true only for the member the document names (`checkout.approver`)
/// while they are a member: a removed approver is nobody's, and approving
/// falls back to the admins. (`docs/protocol.md` section 5,
/// "Capabilities", and section 12, "Approval".)
pub fn check_op(role: MemberRole, op: &Op, named_approver: bool) -> Result<(), Refusal> {
    let capability = needed_for(op);
    if capability == Capability::Approve && named_approver {
        return Ok(());
    }
    check(role, capability).map_err(|refusal| {
        if capability == Capability::Approve {
            Refusal::new(
                ErrorCode::Forbidden,
                format!(
                    "{} may not approve orders; this needs the admin role or being the cart's named approver",
                    with_article(role)
                ),
            )
        } else {
            refusal
        }
    })
}

/// `Ok` when the cart's phase takes `op` (whoever sends it; the role is
/// [`check`]'s business). While the cart is not open its lines are frozen
/// (`cart_locked`); checkout settings change while it is open or locked;
/// once it waits for approval or is approved only unlocking, approving and
/// rejecting remain; an ordered cart takes nothing. A checkout step out of
/// turn is `wrong_phase`. (`docs/protocol.md` section 12, "Phases".)
pub fn check_phase(phase: CartPhase, op: &Op) -> Result<(), Refusal> {
    use CartPhase::*;
    if phase == Ordered {
        return Err(Refusal::new(
            ErrorCode::CartLocked,
            "the order is placed: the cart is read-only",
        ));
    }
    let allowed = match op {
        // Steps: each from its own phase.
        Op::Lock => return step(phase, &[Open], "lock"),
        Op::Unlock => return step(phase, &[Locked, PendingApproval, Approved], "unlock"),
        Op::RequestApproval => return step(phase, &[Locked], "ask for approval of"),
        Op::Approve { .. } | Op::Reject { .. } => {
            return step(phase, &[PendingApproval], "decide on");
        }
        Op::Suggest { .. } | Op::Vote { .. } | Op::Rename { .. } => true,
        Op::SetDeadline { .. } => phase == Open,
        Op::SetBudget { .. }
        | Op::AssignLine { .. }
        | Op::SetApprovalThreshold { .. }
        | Op::SetApprover { .. }
        | Op::SetSplit { .. }
        | Op::AddAddress { .. }
        | Op::RemoveAddress { .. }
        | Op::SetAllocation { .. } => matches!(phase, Open | Locked),
        _ => match needed_for(op) {
            Capability::EditLines | Capability::AcceptSuggestion => phase == Open,
            _ => true,
        },
    };
    if allowed {
        return Ok(());
    }
    let why = match phase {
        Locked => "the cart is locked for checkout; an admin can unlock it",
        PendingApproval => "the cart is waiting for approval; an admin can unlock it",
        _ => "the cart is approved for ordering; an admin can unlock it",
    };
    Err(Refusal::new(ErrorCode::CartLocked, why))
}

/// A checkout step is taken only from the phases it leaves.
fn step(phase: CartPhase, from: &[CartPhase], what: &str) -> Result<(), Refusal> {
    if from.contains(&phase) {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::WrongPhase,
        format!("cannot {what} a cart that is {}", phase_words(phase)),
    ))
}

/// "open", "locked", "waiting for approval", "approved", "ordered".
pub fn phase_words(phase: CartPhase) -> &'static str {
    match phase {
        CartPhase::Open => "open",
        CartPhase::Locked => "locked",
        CartPhase::PendingApproval => "waiting for approval",
        CartPhase::Approved => "approved",
        CartPhase::Ordered => "ordered",
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

/// Everything a member with `role` may do or, for the store's `staff` in a
/// customer's cart: watching (`viewer`), look; taking it over (`editor`),
/// what an editor may, but never the cart's chat (they talk in the support
/// conversation).
pub fn capabilities_of(role: MemberRole, staff: bool) -> Vec<Capability> {
    match (staff, role) {
        (false, _) => capabilities(role),
        (true, MemberRole::Viewer) => vec![Capability::View],
        (true, _) => (capabilities(role).into_iter())
            .filter(|c| *c != Capability::Chat)
            .collect(),
    }
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
        Checkout => "run the checkout",
        Approve => "approve orders",
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
        assert!(check(MemberRole::Editor, needed_for(&Op::Lock)).is_err());
        assert!(check(MemberRole::Admin, needed_for(&Op::RequestApproval)).is_ok());
    }

    #[test]
    fn a_locked_cart_takes_suggestions_but_not_line_edits() {
        let add = Op::AddLine {
            sku: "MUG-BLUE".into(),
            quantity: 1,
        };
        let suggest = Op::Suggest {
            sku: "MUG-BLUE".into(),
            quantity: 1,
            note: None,
        };
        assert!(check_phase(CartPhase::Open, &add).is_ok());
        for phase in [
            CartPhase::Locked,
            CartPhase::PendingApproval,
            CartPhase::Approved,
            CartPhase::Ordered,
        ] {
            assert_eq!(
                check_phase(phase, &add).unwrap_err().code,
                ErrorCode::CartLocked
            );
        }
        assert!(check_phase(CartPhase::Locked, &suggest).is_ok());
        assert_eq!(
            check_phase(CartPhase::Ordered, &suggest).unwrap_err().code,
            ErrorCode::CartLocked
        );
        assert_eq!(
            check_phase(CartPhase::Open, &Op::Unlock).unwrap_err().code,
            ErrorCode::WrongPhase
        );
        assert!(check_phase(CartPhase::Approved, &Op::Unlock).is_ok());
    }

    #[test]
    fn the_named_approver_approves_whatever_their_role() {
        let approve = Op::Approve { comment: None };
        let reject = Op::Reject {
            comment: "no".into(),
        };
        for op in [&approve, &reject] {
            assert!(check_op(MemberRole::Viewer, op, true).is_ok());
            assert!(check_op(MemberRole::Editor, op, true).is_ok());
            assert!(check_op(MemberRole::Admin, op, false).is_ok());
            let refusal = check_op(MemberRole::Editor, op, false).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::Forbidden);
            assert_eq!(
                refusal.message,
                "an editor may not approve orders; this needs the admin role or being the cart's named approver"
            );
        }
        // Being the approver gives nothing else of the checkout.
        for op in [
            Op::RequestApproval,
            Op::Unlock,
            Op::SetApprover { user_id: None },
        ] {
            assert_eq!(
                check_op(MemberRole::Editor, &op, true).unwrap_err().code,
                ErrorCode::Forbidden
            );
        }
        assert_eq!(
            check_phase(
                CartPhase::PendingApproval,
                &Op::SetApprover { user_id: None }
            )
            .unwrap_err()
            .code,
            ErrorCode::CartLocked
        );
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
