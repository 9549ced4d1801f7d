//! Store shares and the store's settings on Postgres.

use cartroom_protocol::MemberRole;
use cartroom_protocol::store::{StoreSettings, StoreShareId, TakeoverConsent};

use super::super::join::testing::{cart, member_count, shop, user};
use crate::store::sharing::{JoinError, MailPurpose, NewMail};
use crate::store::store_shares::{NewStoreShare, StoreShares};

fn mail(to: &str, ref_id: &str) -> NewMail {
    NewMail {
        purpose: MailPurpose::StoreShare,
        ref_id: ref_id.to_owned(),
        recipient: to.to_owned(),
        subject: "A cart for you".to_owned(),
        text: "text".to_owned(),
        html: "html".to_owned(),
        now_ms: 1,
    }
}

#[tokio::test]
async fn settings_default_and_change() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let unset = store.settings("nowhere").await.unwrap();
    assert_eq!(
        unset,
        StoreSettings {
            customer_shares: false,
            takeover_consent: TakeoverConsent::Required
        }
    );
    // The demo store takes shares from the start, as on SQLite.
    shop(&store, "demo").await;
    assert!(store.settings("demo").await.unwrap().customer_shares);
    shop(&store, "alpha").await;
    assert_eq!(store.settings("alpha").await.unwrap(), unset);
    let on = StoreSettings {
        customer_shares: true,
        takeover_consent: TakeoverConsent::WaivedForRegistered,
    };
    store.set_settings("alpha", &on).await.unwrap();
    assert_eq!(store.settings("alpha").await.unwrap(), on);
    let off = StoreSettings {
        customer_shares: false,
        ..on
    };
    store.set_settings("alpha", &off).await.unwrap();
    assert_eq!(store.settings("alpha").await.unwrap(), off);
}

#[tokio::test]
async fn shares_are_listed_and_opened() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let (ann, agent) = (user(&store, "Ann").await, user(&store, "Agent").await);
    let c = cart(&store, ann).await;
    let mut ids = Vec::new();
    for now_ms in [10, 20] {
        let id = StoreShareId::new_random();
        let share = NewStoreShare {
            id,
            store: "demo".to_owned(),
            cart: c,
            shared_by: ann,
            name: "Ann".to_owned(),
            email: "ann@example.com".to_owned(),
            message: "help".to_owned(),
            now_ms,
        };
        let mails = [
            mail("a@example.com", &id.to_string()),
            mail("b@example.com", &id.to_string()),
        ];
        store.create_store_share(&share, &mails).await.unwrap();
        ids.push(id);
    }
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE purpose = 'store_share'")
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!(queued, 4);
    let listed = store.store_shares("demo").await.unwrap();
    let order: Vec<_> = listed.iter().map(|s| s.id).collect();
    assert_eq!(order, [ids[1], ids[0]], "newest first");
    assert_eq!(
        (
            listed[0].cart,
            listed[0].cart_name.as_str(),
            listed[0].line_count
        ),
        (c, "Picnic", 0)
    );
    assert!(store.store_shares("other").await.unwrap().is_empty());

    assert!(matches!(
        store.open_store_share("other", ids[0], agent, 30, 20).await,
        Err(JoinError::NotFound)
    ));
    let opened = store
        .open_store_share("demo", ids[0], agent, 30, 20)
        .await
        .unwrap();
    assert_eq!(opened, (c, None, MemberRole::Editor));
    let again = store
        .open_store_share("demo", ids[1], agent, 31, 20)
        .await
        .unwrap();
    assert_eq!(again, (c, Some(MemberRole::Editor), MemberRole::Editor));
    let admin = store
        .open_store_share("demo", ids[1], ann, 32, 20)
        .await
        .unwrap();
    assert_eq!(
        admin,
        (c, Some(MemberRole::Admin), MemberRole::Admin),
        "never lowered"
    );
    let full = user(&store, "Late").await;
    assert!(matches!(
        store.open_store_share("demo", ids[0], full, 33, 2).await,
        Err(JoinError::TooMany(2))
    ));
    assert_eq!(member_count(&store, c).await, 2);
}
