//! Durable before visible: `kill -9` during a burst loses no acknowledged
//! edit, and SIGTERM closes sockets with 1001 after flushing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use automerge::{Automerge, ChangeHash, ReadDoc};
use cartroom_client::{Event, OpOutcome};
use cartroom_e2e::{ServerProcess, sign_in_again, sign_up};
use cartroom_protocol::{Heads, MemberRole, Op, OpId};
use tokio::sync::Notify;

const SKUS: [&str; 4] = ["LEMONADE", "CHIPS", "BURGER-BUNS", "WATER-6"];
/// Acks to collect before pulling the plug.
const KILL_AFTER_ACKS: usize = 150;

/// An acknowledged op: its id, what it added, and the heads right after it.
struct Acked {
    op_id: OpId,
    sku: &'static str,
    heads: Heads,
}

#[tokio::test]
async fn kill_9_during_a_burst_loses_no_acknowledged_edit() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path()).await?;
    let mut accounts = Vec::new();
    for name in ["Ana", "Ben", "Cleo"] {
        accounts.push(sign_up(&server.base_url, name).await?);
    }
    let cart = accounts[0].create_cart("Burst").await?;
    for member in &accounts[1..] {
        accounts[0]
            .add_member(cart, member.email.as_deref().unwrap(), MemberRole::Editor)
            .await?;
    }

    let acked_count = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let mut writers = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let mut conn = account.connect().await?;
        conn.subscribe(cart).await?;
        let (acked_count, enough) = (acked_count.clone(), enough.clone());
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            // Ends when the server dies under it.
            for n in 0.. {
                let sku = SKUS[(i + n) % SKUS.len()];
                let op_id = OpId(format!("c{i}-{n}"));
                let op = Op::AddLine {
                    sku: sku.into(),
                    quantity: 1,
                };
                match conn.op_with_id(cart, op_id.clone(), op).await {
                    Ok(OpOutcome::Acked { heads, .. }) => {
                        acked.push(Acked { op_id, sku, heads });
                        if acked_count.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER_ACKS {
                            enough.notify_one();
                        }
                    }
                    Ok(OpOutcome::Refused { code, message }) => panic!("refused: {code} {message}"),
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    enough.notified().await;
    server.kill_9().await?;
    let mut acked = Vec::new();
    for writer in writers {
        acked.extend(writer.await?);
    }
    assert!(acked.len() >= KILL_AFTER_ACKS);

    let server = ServerProcess::start(dir.path()).await?;
    let ana = sign_in_again(&server.base_url, &accounts[0]).await?;
    let view = ana.cart(cart).await?.view;
    let doc = Automerge::load(&ana.document(cart).await?)?;
    for ack in &acked {
        for head in &ack.heads {
            let hash: ChangeHash = head.parse()?;
            assert!(
                doc.get_change_by_hash(&hash).is_some(),
                "acked change {head} of {} is gone",
                ack.op_id
            );
        }
    }
    for sku in SKUS {
        let acked_here = acked.iter().filter(|a| a.sku == sku).count() as i64;
        let line = view.lines.iter().find(|l| l.sku == sku);
        let quantity = line.map_or(0, |l| l.quantity);
        // Ops in flight at the kill may or may not have landed; acked ones must have.
        assert!(
            quantity >= acked_here,
            "{sku}: {quantity} in the cart, {acked_here} acked"
        );
    }
    // A retry of every client's last acked op is recognised after the restart.
    for (i, account) in accounts.iter().enumerate() {
        let Some(last) = acked
            .iter()
            .rfind(|a| a.op_id.0.starts_with(&format!("c{i}-")))
        else {
            continue;
        };
        let again = sign_in_again(&server.base_url, account).await?;
        let answer = again
            .http_op(
                cart,
                &last.op_id,
                &Op::AddLine {
                    sku: last.sku.into(),
                    quantity: 1,
                },
            )
            .await?;
        assert!(answer.duplicate, "{} was applied again", last.op_id);
    }
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_and_keeps_every_acked_edit() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path()).await?;
    let ana = sign_up(&server.base_url, "Ana").await?;
    let cart = ana.create_cart("Graceful").await?;
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    let heads = conn
        .op(
            cart,
            Op::AddLine {
                sku: "KETTLE".into(),
                quantity: 2,
            },
        )
        .await?
        .acked()?;
    let status = server.terminate().await?;
    let close = loop {
        if let Event::Closed { code, .. } = conn.next_event().await? {
            break code;
        }
    };
    assert_eq!(close, Some(1001));
    assert!(status.success(), "exit status {status}");

    let server = ServerProcess::start(dir.path()).await?;
    let ana = sign_in_again(&server.base_url, &ana).await?;
    let view = ana.cart(cart).await?.view;
    assert_eq!(view.heads, heads);
    assert_eq!(view.lines[0].quantity, 2);
    server.terminate().await?;
    Ok(())
}
