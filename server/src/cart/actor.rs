//! Who makes a change.

use automerge::ActorId;
use cartroom_protocol::UserId;

/// The server node a change was made on; part of every Automerge actor id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeId(pub u16);

/// Who performs an operation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    pub user_id: UserId,
    pub name: String,
}

impl Actor {
    /// The Automerge actor id of this user on this node: the user's 16 bytes
    /// then the node id, so every change says who made it and two nodes never
    /// reuse one actor's sequence numbers.
    pub fn automerge_actor(&self, node: NodeId) -> ActorId {
        let mut bytes = self.user_id.0.as_bytes().to_vec();
        bytes.extend_from_slice(&node.0.to_be_bytes());
        ActorId::from(bytes)
    }
}
