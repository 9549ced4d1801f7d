//! The server's side of the shopper's web app (issue 13): adding someone who
//! is already a member says so and changes nothing; a password of only
//! spaces is refused; money in activity sentences is grouped by thousands
//! as the page writes it; a member added, moved or removed is told on their
//! open connections (`carts_changed`), so their list of carts follows.

use cartroom_client::{Account, api_error};
use cartroom_e2e::{PASSWORD, TestServer, admin_and_member, next_carts_changed};
use cartroom_protocol::{ErrorCode, MemberRole, Op, OpId};

#[tokio::test]
async fn adding_an_existing_member_says_so_and_keeps_their_role() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (admin, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let email = ben.email.clone().expect("Ben has an e-mail");

    let err = admin
        .add_member(cart, &email, MemberRole::Viewer)
        .await
        .expect_err("adding Ben again is refused");
    let refusal = api_error(&err).expect("a refusal");
    assert_eq!(refusal.status, 409);
    assert_eq!(refusal.error_code(), Some(ErrorCode::AlreadyMember));

    let members = admin.members(cart).await?;
    let ben_now = members
        .iter()
        .find(|m| m.user_id == ben.user_id)
        .expect("Ben is still a member");
    assert_eq!(ben_now.role, MemberRole::Editor, "Ben was not demoted");
    assert_eq!(members.len(), 2);
    // Changing the role is still what PATCH is for.
    admin
        .set_role(cart, ben.user_id, MemberRole::Viewer)
        .await?;
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_password_of_only_spaces_is_refused() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    for password in ["        ", " \t  \t   "] {
        let err = Account::sign_up(&server.base_url, "blank@example.com", password, "Blank")
            .await
            .expect_err("a blank password is refused");
        let refusal = api_error(&err).expect("a refusal");
        assert_eq!(refusal.status, 400);
        assert_eq!(refusal.error_code(), Some(ErrorCode::InvalidField));
    }
    // Spaces inside a real password are fine.
    Account::sign_up(
        &server.base_url,
        "spaces@example.com",
        "  correct horse  ",
        "Spaces",
    )
    .await?;
    Account::sign_up(&server.base_url, "plain@example.com", PASSWORD, "Plain").await?;
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn activity_money_is_grouped_by_thousands() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Office kettles").await?;
    // 40 × $39.00 = $1,560.00 (the kettle has no group price).
    let op = Op::AddLine {
        sku: "KETTLE".into(),
        quantity: 40,
    };
    ana.http_op(cart, &OpId("bulk-1".into()), &op).await?;
    let texts: Vec<String> = ana
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert!(
        texts.iter().any(|t| t.ends_with("Subtotal $1,560.00")),
        "{texts:?}"
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn suggestions_merge_and_can_be_turned_down_or_withdrawn() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, kid, cart) = admin_and_member(&server, "Kid", MemberRole::Viewer).await?;
    let suggest = |quantity, note: Option<&str>| Op::Suggest {
        sku: "LEMONADE".into(),
        quantity,
        note: note.map(Into::into),
    };

    // The same product suggested twice by Kid is one suggestion of three.
    let first = kid
        .http_op(cart, &OpId("k-1".into()), &suggest(2, Some("for the kids")))
        .await?;
    let again = kid
        .http_op(cart, &OpId("k-2".into()), &suggest(1, None))
        .await?;
    assert!(first.created.is_some());
    assert_eq!(again.created, first.created, "the ack names the grown one");
    let view = ana.cart(cart).await?;
    assert_eq!(view.view.suggestions.len(), 1);
    assert_eq!(view.view.suggestions[0].quantity, 3);
    assert_eq!(view.view.suggestions[0].note, "for the kids");
    let lemonade = cartroom_protocol::SuggestionId(first.created.clone().unwrap());

    // A viewer may not turn it down; Ana may not withdraw Kid's.
    let reject = Op::RejectSuggestion {
        suggestion_id: lemonade.clone(),
    };
    let err = kid
        .http_op(cart, &OpId("k-3".into()), &reject)
        .await
        .expect_err("a viewer cannot turn a suggestion down");
    assert_eq!(
        api_error(&err).unwrap().error_code(),
        Some(ErrorCode::Forbidden)
    );
    let withdraw = Op::WithdrawSuggestion {
        suggestion_id: lemonade.clone(),
    };
    let err = ana
        .http_op(cart, &OpId("a-1".into()), &withdraw)
        .await
        .expect_err("only the author withdraws");
    assert_eq!(
        api_error(&err).unwrap().error_code(),
        Some(ErrorCode::Forbidden)
    );

    // Ana turns it down: it goes, nothing is added, the feed says so.
    ana.http_op(cart, &OpId("a-2".into()), &reject).await?;
    let view = ana.cart(cart).await?;
    assert!(view.view.suggestions.is_empty());
    assert!(view.view.lines.is_empty());
    let texts: Vec<String> = ana
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Ana turned down Kid's suggestion Lemonade 1 l.")),
        "{texts:?}"
    );

    // Kid withdraws one of their own.
    let chips = kid
        .http_op(
            cart,
            &OpId("k-4".into()),
            &Op::Suggest {
                sku: "CHIPS".into(),
                quantity: 1,
                note: None,
            },
        )
        .await?;
    let chips = cartroom_protocol::SuggestionId(chips.created.unwrap());
    kid.http_op(
        cart,
        &OpId("k-5".into()),
        &Op::WithdrawSuggestion {
            suggestion_id: chips,
        },
    )
    .await?;
    assert!(ana.cart(cart).await?.view.suggestions.is_empty());
    server.stop().await?;
    Ok(())
}

/// The `cart_id` of the next `carts_changed` on `conn`, skipping anything else.
#[tokio::test]
async fn a_membership_change_is_pushed_to_the_members_connections() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cleo = server.account("Cleo").await?;
    let ben_email = ben.email.clone().expect("Ben has an e-mail");
    let cart = ana.create_cart("Shared later").await?;
    // Two of Ben's connections, neither subscribed to anything; one of Cleo's.
    let mut phone = ben.connect().await?;
    let mut laptop = ben.connect().await?;
    let mut cleo_conn = cleo.connect().await?;

    ana.add_member(cart, &ben_email, MemberRole::Viewer).await?;
    assert_eq!(next_carts_changed(&mut phone).await?, cart);
    assert_eq!(next_carts_changed(&mut laptop).await?, cart);
    ana.set_role(cart, ben.user_id, MemberRole::Editor).await?;
    assert_eq!(next_carts_changed(&mut phone).await?, cart);
    ana.remove_member(cart, ben.user_id).await?;
    assert_eq!(next_carts_changed(&mut phone).await?, cart);

    // Nobody else hears of it: Cleo's connection gets only her pong.
    cleo_conn.ping().await?;
    assert_eq!(
        cleo_conn.buffered_events(),
        0,
        "nothing but the pong for Cleo"
    );
    server.stop().await?;
    Ok(())
}
