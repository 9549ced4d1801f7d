//! The change log is compacted into snapshots, rooms unload when idle, and a
//! restarted server serves exactly what was acknowledged.

use std::time::Duration;

use cartroom_client::cart_view;
use cartroom_e2e::TestServer;
use cartroom_protocol::{LineId, Op};
use sqlx::Row;

#[tokio::test]
async fn snapshots_compact_the_change_log_and_reload_identically() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.epoch_every = 5).await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Compact").await?;
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    for i in 0..12 {
        let op = if i % 2 == 0 {
            Op::AddLine {
                sku: "CHIPS".into(),
                quantity: 2,
            }
        } else {
            Op::ChangeQuantity {
                line_id: LineId("CHIPS".into()),
                delta: -1,
            }
        };
        conn.op(cart, op).await?.acked()?;
    }
    let before = ana.cart(cart).await?;
    conn.close().await;
    let data_dir = server.data_dir.clone();
    let dir = server.stop().await?;

    let db = cartroom_e2e::backend::pool(&data_dir).await?;
    let row = sqlx::query(
        "SELECT epoch, base_seq FROM epochs WHERE cart_id = $1 ORDER BY epoch DESC LIMIT 1",
    )
    .bind(cart.to_string())
    .fetch_one(&db)
    .await?;
    let (epoch, base_seq): (i64, i64) = (row.get("epoch"), row.get("base_seq"));
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM changes WHERE cart_id = $1")
        .bind(cart.to_string())
        .fetch_one(&db)
        .await?;
    db.close().await;
    assert!(
        epoch >= 2 && base_seq >= 10,
        "the current base (epoch {epoch}) covers changes up to {base_seq}"
    );
    assert_eq!(logged, 12, "every change is kept, for history");

    let server = TestServer::start_in(dir.as_ref().unwrap().path(), None).await?;
    let ana = cartroom_e2e::sign_in_again(&server.base_url, &ana).await?;
    let after = ana.cart(cart).await?;
    assert_eq!(before, after);
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    assert_eq!(
        cart_view(conn.replica(cart).unwrap()).lines,
        after.view.lines
    );
    assert_eq!(after.view.lines[0].quantity, 6);
    conn.close().await;
    server.stop().await?;
    Ok(())
}

async fn rooms_loaded(server: &TestServer) -> anyhow::Result<u64> {
    let text = reqwest::get(format!("{}/metrics", server.base_url))
        .await?
        .text()
        .await?;
    let line = text
        .lines()
        .find(|l| l.starts_with("cartroom_rooms "))
        .ok_or_else(|| anyhow::anyhow!("no cartroom_rooms in /metrics"))?;
    Ok(line["cartroom_rooms ".len()..].trim().parse::<f64>()? as u64)
}

#[tokio::test]
async fn an_idle_room_unloads_and_comes_back_on_demand() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.room_idle_secs = 0).await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Idle").await?;
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    conn.op(
        cart,
        Op::AddLine {
            sku: "FRISBEE".into(),
            quantity: 1,
        },
    )
    .await?
    .acked()?;
    assert_eq!(rooms_loaded(&server).await?, 1);
    conn.close().await;
    // Poll until the room has noticed it is alone (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while rooms_loaded(&server).await? != 0 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the room never unloaded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The next request loads it again, with everything in it.
    assert_eq!(ana.cart(cart).await?.view.lines[0].quantity, 1);
    Ok(())
}
