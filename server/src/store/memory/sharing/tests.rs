//! The in-memory sharing store on its own: links and invitation tokens.

use cartroom_protocol::MemberRole;
use cartroom_protocol::http::User;
use cartroom_protocol::sharing::DeliveryStatus;

use super::*;
use crate::auth::purpose::{Purpose, new_token, purpose_hash};
use crate::store::sharing::Outbox;
use crate::store::{Accounts, Carts, NewCart};

async fn user(store: &MemoryStore, name: &str) -> UserId {
    let user = User {
        id: UserId::new_random(),
        email: Some(format!("{name}@example.com")),
        name: name.into(),
        guest: false,
    };
    store.insert_user(&user, Some("hash"), 0).await.unwrap();
    user.id
}

async fn cart(store: &MemoryStore, admin: UserId) -> CartId {
    let id = CartId::new_random();
    store
        .create_cart(NewCart {
            id,
            store_id: "demo",
            name: "BBQ",
            creator: admin,
            snapshot: &[],
            now_ms: 0,
        })
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn a_single_use_link_joins_one_member_and_never_lowers_a_role() {
    let store = MemoryStore::new();
    let ana = user(&store, "ana").await;
    let (ben, kim) = (user(&store, "ben").await, user(&store, "kim").await);
    let cart = cart(&store, ana).await;
    let token = new_token();
    let hash = purpose_hash(Purpose::Join, &token);
    store
        .create_link(&NewLink {
            id: LinkId::new_random(),
            cart,
            role: MemberRole::Editor,
            created_by: ana,
            now_ms: 0,
            expires_at: 1000,
            token_hash: hash.clone(),
            max_uses: Some(1),
        })
        .await
        .unwrap();
    // The admin opening her own link takes no use and stays admin.
    let own = store.accept_link(&hash, ana, 1, 100).await.unwrap();
    assert!(own.already_member);
    assert_eq!(own.role, MemberRole::Admin);
    let joined = store.accept_link(&hash, ben, 1, 100).await.unwrap();
    assert_eq!((joined.previous, joined.role), (None, MemberRole::Editor));
    assert!(!joined.already_member);
    // Ben again: the same answer; Kim: no use left.
    assert!(
        store
            .accept_link(&hash, ben, 2, 100)
            .await
            .unwrap()
            .already_member
    );
    assert!(matches!(
        store.accept_link(&hash, kim, 2, 100).await,
        Err(JoinError::UsedUp)
    ));
    assert_eq!(store.links(cart).await.unwrap()[0].uses, 1);
}

#[tokio::test]
async fn an_invitation_mail_mints_its_token_only_while_it_is_open() {
    let store = MemoryStore::new();
    let ana = user(&store, "ana").await;
    let cart = cart(&store, ana).await;
    let id = InvitationId::new_random();
    let mail = NewMail {
        purpose: MailPurpose::Invitation,
        ref_id: id.to_string(),
        recipient: "grandma@example.com".into(),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
        now_ms: 0,
    };
    let inv = NewInvitation {
        id,
        cart,
        email: "grandma@example.com".into(),
        message: String::new(),
        role: MemberRole::Viewer,
        invited_by: ana,
        now_ms: 0,
        expires_at: 100,
    };
    store.create_invitation(&inv, &mail).await.unwrap();
    let due = store.due_mail(0, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(!store.mint_mail_token(&due[0], "h1", 100).await.unwrap());
    assert!(store.mint_mail_token(&due[0], "h1", 99).await.unwrap());
    store.revoke_invitation(cart, id, 50).await.unwrap();
    assert!(!store.mint_mail_token(&due[0], "h2", 60).await.unwrap());
    let record = store.invitation(cart, id).await.unwrap().unwrap();
    assert_eq!(record.delivery.unwrap().status, DeliveryStatus::Cancelled);
    assert!(matches!(
        store.accept_invitation("h1", ana, 60, 100).await,
        Err(JoinError::Revoked)
    ));
}
