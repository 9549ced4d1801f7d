//! Many nodes on Postgres: a node runs a cart's room only while it holds
//! the cart's lease. When another node takes the cart over (this node was
//! cut off from the database for longer than a lease, say), the room here
//! stops at once: its subscribers are told `unavailable`, and ops are
//! refused until the lease comes back. Runs on Postgres only (the e2e
//! suite's second pass); the store's own tests cover the fencing.

use std::time::Duration;

use cartroom_client::{Event, OpOutcome};
use cartroom_e2e::TestServer;
use cartroom_e2e::backend::{on_postgres, pool};
use cartroom_protocol::{Op, OpId, ServerMsg};

fn add(sku: &str) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity: 1,
    }
}

#[tokio::test]
async fn a_room_whose_lease_another_node_took_stops_at_once() -> anyhow::Result<()> {
    if !on_postgres() {
        eprintln!("SKIPPED on SQLite: leases exist on Postgres only");
        return Ok(());
    }
    // Renewed every 300 ms: the loss is heard within one renewal.
    let server = TestServer::start_with(|c| c.lease_ttl_ms = 900).await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Picnic").await?;
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    conn.op(cart, add("CHIPS")).await?.acked()?;

    // Another node takes the cart over, as after a partition.
    let db = pool(&server.data_dir).await?;
    sqlx::query(
        "UPDATE cart_leases SET node = 'node-elsewhere', term = term + 1,
                expires_at = now() + interval '1 hour'
         WHERE cart_id = $1",
    )
    .bind(cart.to_string())
    .execute(&db)
    .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match conn.next_event_timeout(left).await? {
            Some(Event::Msg(ServerMsg::Unsubscribed { cart_id, reason })) if cart_id == cart => {
                assert_eq!(reason, "unavailable");
                break;
            }
            Some(_) => continue,
            None => anyhow::bail!("the room did not stop after losing its lease"),
        }
    }
    // Nothing here answers for the cart now.
    let refused = ana
        .http_op(cart, &OpId("after-loss".into()), &add("KETTLE"))
        .await
        .expect_err("an op on a cart owned elsewhere is refused");
    assert!(refused.to_string().contains("503"), "{refused}");

    // The other node lets go: this node takes the cart back, with every
    // acknowledged edit.
    sqlx::query("UPDATE cart_leases SET expires_at = now() WHERE cart_id = $1")
        .bind(cart.to_string())
        .execute(&db)
        .await?;
    db.close().await;
    conn.subscribe(cart).await?;
    let outcome = conn.op(cart, add("KETTLE")).await?;
    assert!(matches!(outcome, OpOutcome::Acked { .. }), "{outcome:?}");
    let view = ana.cart(cart).await?.view;
    let skus: Vec<&str> = view.lines.iter().map(|l| l.sku.as_str()).collect();
    assert_eq!(skus, ["CHIPS", "KETTLE"]);
    conn.close().await;
    server.stop().await?;
    Ok(())
}
