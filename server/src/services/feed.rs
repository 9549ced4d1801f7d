//! What a service says after it has changed a cart outside the room (an
//! invitation sent, an offer taken, someone joined by a token): an event of
//! the cart's feed, told to its room; and, when someone joined, their own
//! connections, so that an open list of carts shows the new one.

use std::sync::Arc;

use cartroom_protocol::{CartId, MemberRole, UserId};

use super::live::LiveConnections;
use crate::cart::Actor;
use crate::room::{RoomCmd, Rooms};

/// The cart's feed and the joiner's connections.
#[derive(Clone)]
pub struct Feed {
    rooms: Arc<Rooms>,
    live: Arc<LiveConnections>,
}

impl Feed {
    pub fn new(rooms: Arc<Rooms>, live: Arc<LiveConnections>) -> Self {
        Self { rooms, live }
    }

    /// An event of the cart's feed, `kind` as in `docs/protocol.md`.
    pub async fn note(&self, cart: CartId, by: &Actor, kind: &'static str, text: String) {
        self.send(cart, by, kind, text, None).await;
    }

    /// `member` joined the cart (or got a new role) with `member.1`: the
    /// room lets their live sockets in and says so, and their other
    /// connections hear that their carts changed.
    pub async fn joined(
        &self,
        cart: CartId,
        by: &Actor,
        text: String,
        member: (UserId, MemberRole),
    ) {
        self.send(cart, by, "member_joined", text, Some(member))
            .await;
        self.live.carts_changed(member.0, cart);
    }

    async fn send(
        &self,
        cart: CartId,
        by: &Actor,
        kind: &'static str,
        text: String,
        member: Option<(UserId, MemberRole)>,
    ) {
        let cmd = RoomCmd::Note {
            by: by.clone(),
            kind: kind.to_owned(),
            text,
            member,
        };
        // The change is made and durable; a room that cannot take the note
        // now misses only the feed entry.
        let _ = self.rooms.send(cart, cmd).await;
    }
}
