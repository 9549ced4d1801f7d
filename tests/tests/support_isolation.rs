//! Tenant isolation of the support desk's cart side (docs/protocol.md
//! section 13): an agent of the `tea` store, with the customer update
//! right, tries every takeover, panel, history and watching endpoint on a
//! `demo` shopper's cart and conversation, and is told each time that there
//! is nothing there; the `demo` agent, as a control, gets through. An agent
//! without the right cannot take over even in their own store.

mod support_desk;

use cartroom_client::http::Method;
use cartroom_client::{Account, ServerError};
use cartroom_e2e::TestServer;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::takeover::{HelpCodeResponse, Takeover, TakeoverStatus};
use serde_json::json;
use support_desk::{TESSA, WADE, agent, call, cart_in, code_of, open_conversation, set_consent};

fn add(sku: &str, quantity: i64) -> cartroom_protocol::Op {
    cartroom_protocol::Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

/// Theo: a new agent of `tea` with the customer update right.
async fn tea_agent(server: &TestServer) -> anyhow::Result<Account> {
    let theo = server.account("Theo").await?;
    let owner = server.owner().await?;
    owner
        .request_json(
            Method::POST,
            "/api/store/staff?store=tea",
            Some(&json!({ "email": theo.email, "role": "agent", "customer_update": true })),
        )
        .await?;
    Ok(theo)
}

#[tokio::test]
async fn an_agent_of_another_store_cannot_see_or_take_over_a_cart() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    set_consent(&server, "waived_for_registered").await?;
    let ana = server.account("Ana").await?;
    let conversation = open_conversation(&ana, "demo").await?;
    let cart = cart_in(&ana, "demo", "Ana's groceries").await?;
    ana.http_op(
        cart,
        &cartroom_protocol::OpId("a1".into()),
        &cartroom_protocol::Op::AddLine {
            sku: "MUG-BLUE".into(),
            quantity: 2,
        },
    )
    .await?;
    let theo = tea_agent(&server).await?;
    // Ana talks to the tea store too: Theo's store has her as a customer,
    // but her demo cart is still not his to see.
    open_conversation(&ana, "tea").await?;

    // Watching over the socket.
    let mut theo_conn = theo.connect().await?;
    let refused = theo_conn.subscribe(cart).await.expect_err("not his cart");
    let refused = refused.downcast_ref::<ServerError>().expect("a refusal");
    assert_eq!(refused.code, ErrorCode::CartNotFound);

    // Every cart endpoint: as if the cart did not exist.
    for (method, path) in [
        (Method::GET, format!("/api/carts/{cart}")),
        (Method::GET, format!("/api/carts/{cart}/activity")),
        (Method::GET, format!("/api/carts/{cart}/document")),
        (Method::GET, format!("/api/carts/{cart}/changes")),
        (Method::GET, format!("/api/carts/{cart}/members")),
        (Method::GET, format!("/api/carts/{cart}/takeover")),
        (
            Method::GET,
            format!("/api/carts/{cart}/history?at=4102444800000"),
        ),
        (Method::POST, format!("/api/carts/{cart}/help-code")),
    ] {
        let code = code_of(theo.request_json(method.clone(), &path, None).await)?;
        assert_eq!(code, "cart_not_found", "{method} {path}");
    }
    let op = code_of(
        theo.request_json(
            Method::POST,
            &format!("/api/carts/{cart}/ops"),
            Some(&json!({ "op_id": "t1", "op": add("MUG-RED", 1) })),
        )
        .await,
    )?;
    assert_eq!(op, "cart_not_found");
    let takeover = code_of(
        theo.request_json(
            Method::POST,
            "/api/support/takeovers",
            Some(&json!({ "cart_id": cart })),
        )
        .await,
    )?;
    assert_eq!(takeover, "cart_not_found");

    // The panel of a conversation with another store does not exist for him.
    let panel = format!("/api/support/conversations/{conversation}/carts");
    for path in [panel.clone(), format!("{panel}/{cart}/lines")] {
        let code = code_of(theo.request_json(Method::GET, &path, None).await)?;
        assert_eq!(code, "not_found", "{path}");
    }

    // A demo shopper's help code is no code for him.
    let code: HelpCodeResponse = call(
        &ana,
        Method::POST,
        &format!("/api/carts/{cart}/help-code"),
        None,
    )
    .await?;
    let with_code = code_of(
        theo.request_json(
            Method::POST,
            "/api/support/takeovers",
            Some(&json!({ "code": code.code })),
        )
        .await,
    )?;
    assert_eq!(with_code, "help_code_invalid");

    // The demo agent (control) gets through; Theo cannot touch the takeover.
    let wade = agent(&server, WADE).await?;
    let mut wade_conn = wade.connect().await?;
    wade_conn.subscribe(cart).await?;
    let started: Takeover = call(
        &wade,
        Method::POST,
        "/api/support/takeovers",
        Some(json!({ "cart_id": cart })),
    )
    .await?;
    assert_eq!(started.status, TakeoverStatus::Active);
    for (path, body) in [
        (format!("/api/takeovers/{}", started.id), None),
        (format!("/api/takeovers/{}/end", started.id), None),
        (
            format!("/api/takeovers/{}/consent", started.id),
            Some(json!({ "accept": true })),
        ),
    ] {
        let method = if path.ends_with(&started.id.to_string()) {
            Method::GET
        } else {
            Method::POST
        };
        let code = code_of(theo.request_json(method, &path, body.as_ref()).await)?;
        assert_eq!(code, "not_found", "{path}");
    }
    let code = code_of(
        theo.request_json(Method::GET, &format!("/api/carts/{cart}"), None)
            .await,
    )?;
    assert_eq!(
        code, "cart_not_found",
        "a takeover opens the cart to its agent only"
    );
    let panel: serde_json::Value = call(&wade, Method::GET, &panel, None).await?;
    assert_eq!(panel["stores"][0]["store_id"], "demo");
    Ok(())
}

#[tokio::test]
async fn an_agent_without_the_customer_update_right_only_watches() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    open_conversation(&ana, "tea").await?;
    let cart = cart_in(&ana, "tea", "Tea for two").await?;
    let tessa = agent(&server, TESSA).await?;
    let mut conn = tessa.connect().await?;
    let watching = conn.subscribe(cart).await?;
    assert_eq!(watching.role, cartroom_protocol::MemberRole::Viewer);
    assert_eq!(watching.capabilities, [cartroom_protocol::Capability::View]);
    // The HTTP cart says the same.
    let read = tessa
        .request_json(Method::GET, &format!("/api/carts/{cart}"), None)
        .await?;
    assert_eq!(read["capabilities"], json!(["view"]));
    // Watching is read-only.
    let op = conn.op(cart, add("EARL-GREY", 1)).await?;
    assert!(
        matches!(
            op,
            cartroom_client::OpOutcome::Refused {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "{op:?}"
    );
    // Over HTTP too, suggestions and votes included (a viewer member may
    // suggest; staff who watch may not).
    let suggest =
        json!({"op_id": "w-1", "op": {"kind": "suggest", "sku": "EARL-GREY", "quantity": 1}});
    let code = code_of(
        tessa
            .request_json(
                Method::POST,
                &format!("/api/carts/{cart}/ops"),
                Some(&suggest),
            )
            .await,
    )?;
    assert_eq!(code, "forbidden");
    let code = code_of(
        tessa
            .request_json(
                Method::POST,
                "/api/support/takeovers",
                Some(&json!({ "cart_id": cart })),
            )
            .await,
    )?;
    assert_eq!(code, "forbidden");
    let code = code_of(
        tessa
            .request_json(
                Method::POST,
                "/api/support/takeovers",
                Some(&json!({ "code": "123456" })),
            )
            .await,
    )?;
    assert_eq!(code, "forbidden");
    // A cart whose members have no conversation with the store is not watched.
    let bo = server.account("Bo").await?;
    let private = cart_in(&bo, "tea", "Bo's").await?;
    let refused = conn
        .subscribe(private)
        .await
        .expect_err("no customer there");
    assert_eq!(
        refused
            .downcast_ref::<ServerError>()
            .expect("a refusal")
            .code,
        ErrorCode::CartNotFound
    );
    Ok(())
}
