//! A `subscribe` on a connection: what is checked before the cart's room
//! takes it (heads and stream, access to the cart, the subscription limit
//! across the user's connections).

use automerge::ChangeHash;
use cartroom_protocol::limits::{
    MAX_HEADS, MAX_SUBSCRIPTIONS_PER_SHOPPER, MAX_SUBSCRIPTIONS_PER_STAFF,
};
use cartroom_protocol::{CartId, ErrorCode, Heads, StreamKind};

use super::conn::Reach;
use super::reader::Reader;
use crate::room::RoomCmd;
use crate::services::ServiceError;

impl Reader {
    /// Checks a `subscribe` (its heads and stream, the user's access to the
    /// cart, their subscription limit) and hands it to the cart's room.
    pub(super) async fn subscribe(
        &mut self,
        cart_id: CartId,
        heads: Option<Heads>,
        stream: StreamKind,
    ) {
        let heads = match heads {
            None => None,
            // A view subscriber keeps no replica to resume.
            Some(_) if stream == StreamKind::View => {
                return self.refuse(
                    ErrorCode::InvalidField,
                    "a view subscription takes no heads",
                    Some(cart_id),
                );
            }
            Some(Heads(heads)) if heads.len() > MAX_HEADS => {
                return self.refuse(
                    ErrorCode::InvalidField,
                    format!("at most {MAX_HEADS} heads"),
                    Some(cart_id),
                );
            }
            Some(Heads(heads)) => match heads
                .iter()
                .map(|h| h.parse::<ChangeHash>())
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(heads) => Some(heads),
                Err(_) => {
                    return self.refuse(
                        ErrorCode::InvalidField,
                        "heads are 64-digit hex change hashes",
                        Some(cart_id),
                    );
                }
            },
        };
        let reach = match self
            .state
            .services
            .carts
            .reach(cart_id, &self.conn.actor)
            .await
        {
            Ok(reach) => reach,
            Err(ServiceError::Refused(refusal)) => {
                return self.refuse(refusal.code, refusal.message, Some(cart_id));
            }
            Err(ServiceError::Store(e)) => {
                tracing::error!(error = %e, "membership lookup failed");
                return self.refuse(
                    ErrorCode::Unavailable,
                    "try again in a moment",
                    Some(cart_id),
                );
            }
        };
        let max = match self.max_subscriptions {
            Some(max) => max,
            None => {
                let staff = reach.staff
                    || self
                        .state
                        .services
                        .takeovers
                        .is_staff(self.conn.actor.user_id)
                        .await
                        .unwrap_or(false);
                let max = if staff {
                    MAX_SUBSCRIPTIONS_PER_STAFF
                } else {
                    MAX_SUBSCRIPTIONS_PER_SHOPPER
                };
                *self.max_subscriptions.insert(max)
            }
        };
        let way = if reach.staff {
            Reach::Support
        } else {
            Reach::Member
        };
        if !self.conn.add_subscription(cart_id, way, max) {
            return self.refuse(
                ErrorCode::TooManySubscriptions,
                format!("at most {max} carts at once across your connections"),
                Some(cart_id),
            );
        }
        let conn = self.conn.clone();
        let role = reach.role;
        self.to_room(
            cart_id,
            RoomCmd::Subscribe {
                conn,
                role,
                staff: reach.staff,
                heads,
                stream,
            },
        )
        .await;
    }
}
