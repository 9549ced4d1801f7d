//! What a relay learns from the owner's frames on their way to a
//! connection: which of its ops are answered, its role, and heads its
//! replica has (to resubscribe with them on the cart's next owner).

use cartroom_protocol::{MemberRole, OpId, StreamKind};
use serde::Deserialize;

use super::Follower;

/// The `op_id` of an `ack` or `error`, the `role` of a `role_changed`
/// or `subscribed`, the `heads` of a `subscribed`, `ack` or `epoch`.
#[derive(Deserialize)]
struct Peek {
    op_id: Option<OpId>,
    role: Option<MemberRole>,
    heads: Option<Vec<String>>,
}

/// Keeps a subscriber's record in step with what the owner tells it: an
/// answered op is no longer in flight; a new role is its role; the heads
/// of its replica at that point of the stream are heads it has. Those may
/// fall behind later changes (which are not parsed here): resubscribing
/// with them only sends some changes the replica has again, which
/// Automerge ignores.
pub(super) fn follow(sub: &mut Follower, text: &[u8]) {
    const ANSWERS: [&[u8]; 5] = [
        br#"{"type":"ack""#,
        br#"{"type":"error""#,
        br#"{"type":"role_changed""#,
        br#"{"type":"subscribed""#,
        br#"{"type":"epoch""#,
    ];
    if !ANSWERS.iter().any(|prefix| text.starts_with(prefix)) {
        return;
    }
    if let Ok(peek) = serde_json::from_slice::<Peek>(text) {
        if let Some(op_id) = peek.op_id {
            sub.in_flight.remove(&op_id);
        }
        if let Some(role) = peek.role {
            sub.role = role;
        }
        if let Some(heads) = peek.heads
            && sub.stream != StreamKind::View
        {
            sub.heads = Some(heads);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cartroom_protocol::{
        CartId, ConnId, ErrorCode, Heads, MemberRole, OpId, ServerMsg, StreamKind, UserId,
    };
    use tokio::time::Instant;

    use super::follow;
    use crate::cart::Actor;
    use crate::cluster::relay::Follower;
    use crate::room::{Frame, Subscriber};

    #[derive(Debug)]
    struct Nobody(Actor);

    impl Subscriber for Nobody {
        fn conn_id(&self) -> ConnId {
            ConnId(1)
        }
        fn actor(&self) -> &Actor {
            &self.0
        }
        fn deliver(&self, _: Frame) -> bool {
            true
        }
        fn unsubscribed(&self, _: CartId) {}
    }

    fn text(msg: &ServerMsg) -> Vec<u8> {
        match Frame::msg(msg) {
            Frame::Text(text) => text.to_vec(),
            Frame::Binary(_) => unreachable!(),
        }
    }

    #[test]
    fn a_relay_follows_answers_and_roles_from_the_owners_frames() {
        let actor = Actor {
            user_id: UserId::new_random(),
            name: "Ana".into(),
        };
        let mut sub = Follower {
            conn: Arc::new(Nobody(actor)),
            role: MemberRole::Editor,
            staff: false,
            stream: StreamKind::Changes,
            in_flight: [OpId("k-1".into()), OpId("k-2".into())]
                .map(|op_id| (op_id, Instant::now()))
                .into(),
            heads: None,
        };
        let cart = CartId::new_random();
        follow(
            &mut sub,
            &text(&ServerMsg::Ack {
                cart_id: cart,
                op_id: OpId("k-1".into()),
                heads: Heads(vec!["ab".repeat(32)]),
                duplicate: false,
                created: None,
            }),
        );
        assert_eq!(
            sub.in_flight.keys().collect::<Vec<_>>(),
            [&OpId("k-2".into())]
        );
        assert_eq!(sub.heads, Some(vec!["ab".repeat(32)]));
        follow(
            &mut sub,
            &text(&ServerMsg::Error {
                code: ErrorCode::Forbidden,
                message: "viewers cannot edit".into(),
                cart_id: Some(cart),
                op_id: Some(OpId("k-2".into())),
            }),
        );
        assert!(sub.in_flight.is_empty());
        follow(
            &mut sub,
            &text(&ServerMsg::RoleChanged {
                cart_id: cart,
                role: MemberRole::Viewer,
                capabilities: vec![],
            }),
        );
        assert_eq!(sub.role, MemberRole::Viewer);
    }
}
