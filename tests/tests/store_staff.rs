//! The store's staff over real sockets: the demo store's owner (the
//! README's credentials) manages the staff by e-mail; staff see the store's
//! orders and lose them when removed; the store keeps an owner; roles
//! survive a restart and the owner is seeded once.

use cartroom_client::{Account, api_error};
use cartroom_e2e::{DEMO_AGENT_EMAIL, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, TestServer};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::store::StoreRole;
use reqwest::Method;
use serde_json::json;

/// The stable code and the HTTP status of a refused call.
fn refusal<T: std::fmt::Debug>(result: anyhow::Result<T>) -> (ErrorCode, u16) {
    let e = result.expect_err("the call was refused");
    let api = api_error(&e).unwrap_or_else(|| panic!("not a refusal: {e:#}"));
    let code = api
        .error_code()
        .unwrap_or_else(|| panic!("no stable code: {e:#}"));
    (code, api.status)
}

#[tokio::test]
async fn the_owner_adds_and_removes_staff_who_then_see_and_lose_the_orders() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let owner = Account::sign_in(&server.base_url, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD).await?;
    assert_eq!(owner.store_role().await?, Some(StoreRole::Owner));
    // Seeded: the owner, and an agent who may update customers' carts.
    let staff = owner.store_staff().await?;
    let seeded: Vec<_> = staff
        .iter()
        .map(|s| (s.email.as_str(), s.role, s.customer_update))
        .collect();
    assert_eq!(
        seeded,
        [
            (DEMO_OWNER_EMAIL, StoreRole::Owner, true),
            (DEMO_AGENT_EMAIL, StoreRole::Agent, true)
        ]
    );

    // A shopper is nobody in the store and cannot see its orders or staff.
    let sam = server.account("Sam").await?;
    let sam_email = sam.email.clone().unwrap_or_default();
    assert_eq!(sam.store_role().await?, None);
    assert_eq!(
        refusal(sam.store_orders().await),
        (ErrorCode::Forbidden, 403)
    );
    assert_eq!(
        refusal(sam.store_staff().await),
        (ErrorCode::Forbidden, 403)
    );
    assert_eq!(
        refusal(sam.add_staff(&sam_email, None).await),
        (ErrorCode::Forbidden, 403)
    );

    // The owner adds Sam by e-mail (any case): an agent without the
    // customer update right by default.
    let added = owner.add_staff(&sam_email.to_uppercase(), None).await?;
    assert_eq!(added.user_id, sam.user_id);
    assert_eq!(added.role, StoreRole::Agent);
    assert!(!added.customer_update);
    assert_eq!(added.name, "Sam");
    assert_eq!(sam.store_role().await?, Some(StoreRole::Agent));
    assert!(sam.store_orders().await?.is_empty());
    // Staff do not manage staff.
    assert_eq!(
        refusal(sam.store_staff().await),
        (ErrorCode::Forbidden, 403)
    );
    let listed = owner.store_staff().await?;
    assert_eq!(
        listed.iter().map(|s| s.role).collect::<Vec<_>>(),
        [StoreRole::Owner, StoreRole::Agent, StoreRole::Agent]
    );

    // Refusals, each with its code.
    assert_eq!(
        refusal(owner.add_staff(&sam_email, Some(StoreRole::Owner)).await),
        (ErrorCode::AlreadyStaff, 409)
    );
    assert_eq!(
        refusal(owner.add_staff("nobody@example.com", None).await),
        (ErrorCode::UserNotFound, 404)
    );
    let bad_role = owner
        .request_json(
            Method::POST,
            "/api/store/staff",
            Some(&json!({"email": sam_email, "role": "admin"})),
        )
        .await;
    assert_eq!(refusal(bad_role), (ErrorCode::BadMessage, 400));
    let stranger = server.account("Stranger").await?;
    assert_eq!(
        refusal(owner.remove_staff(stranger.user_id).await),
        (ErrorCode::NotFound, 404)
    );
    let not_an_id = owner
        .request_json(Method::DELETE, "/api/store/staff/not-an-id", None)
        .await;
    assert_eq!(refusal(not_an_id), (ErrorCode::NotFound, 404));

    // Removed, Sam sees no orders any more.
    owner.remove_staff(sam.user_id).await?;
    assert_eq!(sam.store_role().await?, None);
    assert_eq!(
        refusal(sam.store_orders().await),
        (ErrorCode::Forbidden, 403)
    );
    assert_eq!(owner.store_staff().await?.len(), 2);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_store_keeps_an_owner_and_roles_survive_a_restart() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let owner = server.owner().await?;
    // The only owner cannot leave.
    assert_eq!(
        refusal(owner.remove_staff(owner.user_id).await),
        (ErrorCode::LastOwner, 409)
    );
    // With a second owner, the first may go; the second manages the staff.
    let olga = server.account("Olga").await?;
    let olga_email = olga.email.clone().unwrap_or_default();
    owner.add_staff(&olga_email, Some(StoreRole::Owner)).await?;
    let tom = server.account("Tom").await?;
    olga.add_staff(tom.email.as_deref().unwrap_or_default(), None)
        .await?;
    owner.remove_staff(owner.user_id).await?;
    assert_eq!(owner.store_role().await?, None);
    assert_eq!(
        refusal(owner.store_staff().await),
        (ErrorCode::Forbidden, 403)
    );
    assert_eq!(
        refusal(olga.remove_staff(olga.user_id).await),
        (ErrorCode::LastOwner, 409)
    );

    // After a restart the roles are as they were, and the seed does not
    // bring the demo owner back: the store has an owner.
    let dir = server.stop().await?;
    let data_dir = dir
        .as_ref()
        .map(|d| d.path().to_owned())
        .unwrap_or_default();
    let server = TestServer::start_in(&data_dir, dir).await?;
    let olga = cartroom_e2e::sign_in_again(&server.base_url, &olga).await?;
    let staff = olga.store_staff().await?;
    let roles: Vec<_> = staff
        .iter()
        .filter(|s| s.email != DEMO_AGENT_EMAIL)
        .map(|s| (s.user_id, s.role))
        .collect();
    assert_eq!(
        roles,
        [
            (olga.user_id, StoreRole::Owner),
            (tom.user_id, StoreRole::Agent)
        ]
    );
    server.stop().await?;
    Ok(())
}
