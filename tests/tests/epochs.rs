//! Epochs: every `--epoch-every` changes a cart's document restarts from
//! its current state. Clients subscribed across the change, and a client
//! coming back with heads of an old epoch, end up with the server's
//! document; the restarted document is what a restarted server loads, and
//! history still reads the moments of archived epochs.

use std::sync::Arc;
use std::time::Duration;

use automerge::Automerge;
use cartroom::clock::{Clock, ManualClock};
use cartroom_client::{Account, Connection, Event, OpOutcome, api_error, cart_view};
use cartroom_e2e::{TestServer, shared_cart};
use cartroom_protocol::http::CartView;
use cartroom_protocol::takeover::HistoryResponse;
use cartroom_protocol::{
    CartId, ClientMsg, Heads, LineId, MemberRole, Op, OpId, ServerMsg, SyncPayload,
};
use reqwest::Method;

const EPOCH_EVERY: u64 = 5;

/// The i-th op of a script that keeps the cart busy without running out
/// of stock: lines come and go, quantities go up and down.
fn op(i: usize) -> Op {
    let sku = ["MUG-BLUE", "TEA-GREEN", "CHIPS"][i % 3];
    match (i / 3) % 3 {
        0 => Op::AddLine {
            sku: sku.into(),
            quantity: 1,
        },
        1 => Op::ChangeQuantity {
            line_id: LineId(sku.into()),
            delta: 2,
        },
        _ => Op::SetLineNote {
            line_id: LineId(sku.into()),
            note: format!("note {i}"),
        },
    }
}

/// Reads `conn`'s events until its replica has `heads`, then what is
/// buffered; returns the epochs announced meanwhile.
async fn catch_up(conn: &mut Connection, cart: CartId, heads: &Heads) -> anyhow::Result<Vec<i64>> {
    let mut epochs = Vec::new();
    let mut seen = |event: Event| match event {
        Event::Msg(ServerMsg::Epoch { cart_id, epoch, .. }) if cart_id == cart => {
            epochs.push(epoch);
            Ok(())
        }
        Event::Closed { code, reason } => Err(anyhow::anyhow!("closed: {code:?} {reason}")),
        _ => Ok(()),
    };
    while conn.heads_hex(cart).sorted() != heads.sorted() {
        seen(conn.next_event().await?)?;
    }
    for _ in 0..conn.buffered_events() {
        seen(conn.next_event().await?)?;
    }
    Ok(epochs)
}

/// The server's view and the replica's agree, heads included.
async fn assert_converged(
    account: &Account,
    conn: &Connection,
    cart: CartId,
) -> anyhow::Result<CartView> {
    let server = account.cart(cart).await?.view;
    let replica = conn.replica(cart).expect("a replica");
    assert_eq!(conn.heads_hex(cart).sorted(), server.heads.sorted());
    let mine = cart_view(replica);
    assert_eq!(mine.lines, server.lines);
    assert_eq!(mine.subtotal, server.subtotal);
    assert_eq!(mine.name, server.name);
    Ok(server)
}

/// Changes in a replica: an epoch's document carries at most its own.
fn history_len(doc: &Automerge) -> usize {
    doc.get_changes(&[]).len()
}

#[tokio::test]
async fn clients_subscribed_across_epoch_changes_converge() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.epoch_every = EPOCH_EVERY).await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cart = shared_cart(&ana, &[(&ben, MemberRole::Editor)]).await?;
    let mut ana_conn = ana.connect().await?;
    let mut ben_conn = ben.connect().await?;
    ana_conn.subscribe(cart).await?;
    ben_conn.subscribe(cart).await?;

    // Both edit, one op at a time: every fifth change starts an epoch.
    let first = OpId("before-the-epochs".into());
    let mut last = ana_conn
        .op_with_id(cart, first.clone(), op(0))
        .await?
        .acked()?;
    for i in 1..17 {
        let conn = if i % 2 == 0 {
            &mut ana_conn
        } else {
            &mut ben_conn
        };
        last = conn.op(cart, op(i)).await?.acked()?;
    }
    // Each saw every epoch start, in order (most while waiting for an ack):
    // changes 5, 10 and 15 ended epochs 0, 1 and 2.
    assert_eq!(catch_up(&mut ana_conn, cart, &last).await?, [1, 2, 3]);
    assert_eq!(catch_up(&mut ben_conn, cart, &last).await?, [1, 2, 3]);
    assert_converged(&ana, &ana_conn, cart).await?;
    let view = assert_converged(&ben, &ben_conn, cart).await?;
    for conn in [&ana_conn, &ben_conn] {
        let changes = history_len(conn.replica(cart).unwrap());
        assert!(
            changes <= EPOCH_EVERY as usize + 1,
            "the replica holds {changes} changes: the history did not restart"
        );
    }
    assert_eq!(view.lines.len(), 3);

    // Edits go on in the new epoch, and an op id from before it is still
    // known (a retry is a duplicate, not a second change).
    let retried = ana_conn.op_with_id(cart, first, op(0)).await?;
    assert!(
        matches!(
            retried,
            OpOutcome::Acked {
                duplicate: true,
                ..
            }
        ),
        "{retried:?}"
    );
    let heads = ben_conn
        .op(
            cart,
            Op::ChangeQuantity {
                line_id: LineId("MUG-BLUE".into()),
                delta: 1,
            },
        )
        .await?
        .acked()?;
    catch_up(&mut ana_conn, cart, &heads).await?;
    assert_converged(&ana, &ana_conn, cart).await?;
    assert_converged(&ben, &ben_conn, cart).await?;
    ana_conn.close().await;
    ben_conn.close().await;
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_client_back_with_old_heads_gets_the_new_epoch_and_a_restart_loads_it()
-> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.epoch_every = EPOCH_EVERY).await?;
    let ana = server.account("Ana").await?;
    let cleo = server.account("Cleo").await?;
    let cart = shared_cart(&ana, &[(&cleo, MemberRole::Editor)]).await?;
    let mut ana_conn = ana.connect().await?;
    ana_conn.subscribe(cart).await?;
    let first = OpId("two-epochs-ago".into());
    ana_conn
        .op_with_id(cart, first.clone(), op(0))
        .await?
        .acked()?;

    // Cleo takes the document of epoch 0 and goes away with it.
    let mut cleo_conn = cleo.connect().await?;
    cleo_conn.subscribe(cart).await?;
    let old = cleo_conn.take_replica(cart).expect("a replica");
    cleo_conn.close().await;

    // Meanwhile two epochs go by.
    let mut last = Heads::default();
    for i in 1..12 {
        last = ana_conn.op(cart, op(i)).await?.acked()?;
    }
    let mut cleo_conn = cleo.connect().await?;
    cleo_conn.insert_replica(cart, old);
    let subscribed = cleo_conn.subscribe(cart).await?;
    // Heads of an old epoch are unknown: the whole document replaces the replica.
    assert_eq!(subscribed.payload, SyncPayload::Document);
    assert_eq!(subscribed.heads.sorted(), last.sorted());
    assert_converged(&cleo, &cleo_conn, cart).await?;
    let replica = cleo_conn.take_replica(cart).expect("a replica");
    cleo_conn.close().await;
    ana_conn.close().await;

    // A restarted server loads the epoch's base and the changes after it:
    // the very same document, so heads from before the restart still count.
    let dir = server.stop().await?;
    let server = TestServer::start_in(dir.as_ref().unwrap().path(), None).await?;
    let cleo = cartroom_e2e::sign_in_again(&server.base_url, &cleo).await?;
    let mut cleo_conn = cleo.connect().await?;
    cleo_conn.insert_replica(cart, replica);
    let subscribed = cleo_conn.subscribe(cart).await?;
    assert_eq!(subscribed.payload, SyncPayload::Changes);
    assert_eq!(subscribed.heads.sorted(), last.sorted());
    let heads = cleo_conn
        .op(
            cart,
            Op::SetCartNote {
                note: "After the restart".into(),
            },
        )
        .await?
        .acked()?;
    catch_up(&mut cleo_conn, cart, &heads).await?;
    let view = assert_converged(&cleo, &cleo_conn, cart).await?;
    assert_eq!(view.note, "After the restart");
    // An op id from two epochs before the restart is still known.
    let ana = cartroom_e2e::sign_in_again(&server.base_url, &ana).await?;
    let mut ana_conn = ana.connect().await?;
    ana_conn.subscribe(cart).await?;
    let retried = ana_conn.op_with_id(cart, first, op(0)).await?;
    assert!(
        matches!(
            retried,
            OpOutcome::Acked {
                duplicate: true,
                ..
            }
        ),
        "{retried:?}"
    );
    ana_conn.close().await;
    cleo_conn.close().await;
    tokio::time::timeout(Duration::from_secs(10), server.stop()).await??;
    Ok(())
}

async fn history(account: &Account, cart: CartId, query: &str) -> anyhow::Result<HistoryResponse> {
    let path = format!("/api/carts/{cart}/history?{query}");
    Ok(serde_json::from_value(
        account.request_json(Method::GET, &path, None).await?,
    )?)
}

#[tokio::test]
async fn history_reads_moments_of_archived_epochs() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::at(1_795_302_600_000));
    let server =
        TestServer::start_with_clock(clock.clone(), |c| c.epoch_every = EPOCH_EVERY).await?;
    let created = clock.now_ms();
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("History").await?;
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    conn.op(cart, op(0)).await?.acked()?;
    clock.advance_ms(5_000);
    let heads = conn.op(cart, op(1)).await?.acked()?;
    let then = ana.cart(cart).await?.view;
    let moment = clock.now_ms();
    // Eleven more changes: epochs 1 and 2 start after changes 5 and 10.
    clock.advance_ms(60_000);
    for i in 2..13 {
        clock.advance_ms(1_000);
        conn.op(cart, op(i)).await?.acked()?;
    }
    let now = ana.cart(cart).await?.view;

    let by_heads = history(&ana, cart, &format!("heads={}", heads.0.join(","))).await?;
    assert_eq!(by_heads.heads.sorted(), heads.sorted());
    assert_eq!(by_heads.lines, then.lines);
    assert_eq!(by_heads.subtotal, then.subtotal);
    assert_eq!(by_heads.current_heads.sorted(), now.heads.sorted());
    // The eleven edits since, across three epochs; the changes that
    // started epochs are not edits.
    assert_eq!(by_heads.changes_total, 11, "{by_heads:?}");
    let kinds: Vec<&str> = by_heads.changes.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds.len(), 11);
    assert!(!kinds.contains(&"epoch"), "{kinds:?}");
    assert!(by_heads.changes.iter().all(|c| c.user_name == "Ana"));
    assert!(by_heads.changes.is_sorted_by_key(|c| c.at));

    // The same moment by time, and a moment in the middle epoch.
    let by_time = history(&ana, cart, &format!("at={moment}")).await?;
    assert_eq!(by_time.heads.sorted(), heads.sorted());
    assert_eq!(by_time.lines, then.lines);
    let middle = history(&ana, cart, &format!("at={}", moment + 60_000 + 6_500)).await?;
    assert_eq!(middle.changes_total, 5, "{middle:?}");
    // The live epoch still answers as before.
    let live = history(&ana, cart, &format!("heads={}", now.heads.0.join(","))).await?;
    assert_eq!(live.changes_total, 0);
    assert_eq!(live.lines, now.lines);

    // Before the cart existed, and heads no epoch has: refused.
    for query in [
        format!("at={}", created - 10_000),
        format!("heads={}", "ab".repeat(32)),
    ] {
        let refused = history(&ana, cart, &query).await.unwrap_err();
        let code = api_error(&refused).map(|e| e.code.as_str());
        assert_eq!(code, Some("invalid_field"), "{query}: {refused}");
    }
    conn.close().await;
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_cart_loaded_with_a_long_history_restarts_at_once() -> anyhow::Result<()> {
    // Written by a server that never restarts documents...
    let server = TestServer::start_with(|c| c.epoch_every = u64::MAX).await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Long").await?;
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    conn.op(cart, op(0)).await?.acked()?;
    // 630 changes, pipelined on seven sockets (each within its burst).
    let mut others = Vec::new();
    for c in 0..7 {
        let mut other = ana.connect().await?;
        other.subscribe(cart).await?;
        for i in 0..90 {
            other
                .send(&ClientMsg::Op {
                    cart_id: cart,
                    op_id: OpId(format!("long-{c}-{i}")),
                    op: Op::SetCartNote {
                        note: format!("note {c}-{i}"),
                    },
                })
                .await?;
        }
        others.push(other);
    }
    for mut other in others {
        let last = other.op(cart, op(1)).await?.acked()?;
        catch_up(&mut other, cart, &last).await?;
        other.close().await;
    }
    let before = ana.cart(cart).await?.view;
    catch_up(&mut conn, cart, &before.heads).await?;
    let old = conn.take_replica(cart).expect("a replica");
    assert!(history_len(&old) > 630, "{}", history_len(&old));
    conn.close().await;
    let dir = server.stop().await?;

    // ...loaded by one that restarts them every 500 (the default).
    let server = TestServer::start_in(dir.as_ref().unwrap().path(), None).await?;
    let ana = cartroom_e2e::sign_in_again(&server.base_url, &ana).await?;
    let mut conn = ana.connect().await?;
    conn.insert_replica(cart, old);
    let subscribed = conn.subscribe(cart).await?;
    assert_eq!(subscribed.payload, SyncPayload::Document);
    let after = assert_converged(&ana, &conn, cart).await?;
    assert_eq!(after.lines, before.lines);
    assert_eq!(after.note, before.note);
    assert_eq!(history_len(conn.replica(cart).unwrap()), 1);
    // The long history is archived, and still read.
    let then = history(&ana, cart, &format!("heads={}", before.heads.0.join(","))).await?;
    assert_eq!(then.lines, before.lines);
    assert_eq!(then.changes_total, 0);
    conn.close().await;
    server.stop().await?;
    Ok(())
}
