//! Many nodes on one Postgres and one NATS: a client may connect to any
//! node; whatever concerns a cart goes to the node whose room runs it (its
//! owner), and the owner's frames come back. Three real `cartroom`
//! processes ([`Cluster`]) show what clients see: co-editing from three
//! nodes converges, an op retried on another node is applied once, no
//! acknowledged edit is lost when the owner is killed, a partitioned owner
//! cannot commit, role changes and sign-outs reach every node at once, an
//! unsubscribe through another node is answered in order, a catalog change
//! is in force everywhere, and a dead node's members leave presence.
//! Skipped without Postgres and NATS (CI has both).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use automerge::{Automerge, ChangeHash, ReadDoc};
use cartroom_client::chunks::change_infos;
use cartroom_client::{Account, Connection, Event, OpOutcome, api_error, cart_view};
use cartroom_e2e::cluster::Cluster;
use cartroom_e2e::{
    DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, admin_and_member_at, shared_cart, sign_in_again, sign_up,
};
use cartroom_protocol::http::CartView;
use cartroom_protocol::{CartId, ClientMsg, ErrorCode, Heads, MemberRole, Op, OpId, ServerMsg};
use tokio::time::Instant;

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

/// How long a cart may take to change owner: the lease (3 s) and then
/// some, generously for a busy CI machine.
const FAILOVER: Duration = Duration::from_secs(30);
/// How long any other awaited event may take.
const WAIT: Duration = Duration::from_secs(15);

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

/// Reads events until one matches `pred`.
async fn expect_event(
    conn: &mut Connection,
    what: &str,
    mut pred: impl FnMut(&Event) -> bool,
) -> anyhow::Result<Event> {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match conn.next_event_timeout(left).await? {
            Some(ev) if pred(&ev) => return Ok(ev),
            Some(Event::Closed { code, reason }) => {
                bail!("closed ({code:?} {reason}) while waiting for {what}")
            }
            Some(_) => continue,
            None => bail!("timed out waiting for {what}"),
        }
    }
}

/// The answer to an op sent earlier with [`Connection::send`].
async fn answer_to(conn: &mut Connection, op_id: &OpId) -> anyhow::Result<OpOutcome> {
    let what = format!("the answer to op {op_id}");
    let answer = expect_event(conn, &what, |ev| match ev {
        Event::Msg(
            ServerMsg::Ack { op_id: id, .. }
            | ServerMsg::Error {
                op_id: Some(id), ..
            },
        ) => id == op_id,
        _ => false,
    })
    .await?;
    Ok(match answer {
        Event::Msg(ServerMsg::Ack {
            heads,
            duplicate,
            created,
            ..
        }) => OpOutcome::Acked {
            heads,
            duplicate,
            created,
        },
        Event::Msg(ServerMsg::Error { code, message, .. }) => OpOutcome::Refused { code, message },
        _ => unreachable!("expect_event returns what matched"),
    })
}

/// Sends an op and, while the answer is `unavailable` (the cart is changing
/// owner), sends it again with the same op_id, as a client must. Returns
/// the ack's `duplicate` and how many `unavailable` came first.
async fn op_until_acked(
    conn: &mut Connection,
    cart: CartId,
    op_id: &OpId,
    op: &Op,
) -> anyhow::Result<(bool, usize)> {
    let deadline = Instant::now() + FAILOVER;
    let mut unavailable = 0;
    loop {
        match conn.op_with_id(cart, op_id.clone(), op.clone()).await? {
            OpOutcome::Acked { duplicate, .. } => return Ok((duplicate, unavailable)),
            OpOutcome::Refused {
                code: ErrorCode::Unavailable,
                ..
            } if Instant::now() < deadline => {
                unavailable += 1;
                // Paced: 50 messages a second is the socket's limit.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            OpOutcome::Refused { code, message } => {
                bail!("op {op_id} refused: {code}: {message} (after {unavailable} unavailable)")
            }
        }
    }
}

/// Subscribes, again while the answer is `unavailable`.
async fn subscribe_until_served(conn: &mut Connection, cart: CartId) -> anyhow::Result<()> {
    let deadline = Instant::now() + FAILOVER;
    loop {
        match conn.subscribe(cart).await {
            Ok(_) => return Ok(()),
            Err(e) if e.to_string().contains("unavailable") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Reads events until the connection's replica has `heads`; the
/// subscription must stay live (a relay re-subscribes its clients itself
/// when the cart changes owner).
async fn converge(conn: &mut Connection, cart: CartId, heads: &Heads) -> anyhow::Result<()> {
    let want = heads.sorted();
    let deadline = Instant::now() + FAILOVER;
    while conn.heads_hex(cart).sorted() != want {
        let left = deadline.saturating_duration_since(Instant::now());
        match conn.next_event_timeout(left).await? {
            Some(Event::Msg(ServerMsg::Unsubscribed { cart_id, reason })) if cart_id == cart => {
                bail!(
                    "{} was unsubscribed ({reason}) before converging",
                    conn.name
                )
            }
            Some(Event::Closed { code, reason }) => {
                bail!("{}'s socket closed ({code:?} {reason})", conn.name)
            }
            Some(_) => {}
            None => bail!(
                "{}'s replica stays at {:?}; the cart is at {want:?}",
                conn.name,
                conn.heads_hex(cart)
            ),
        }
    }
    Ok(())
}

/// `GET /api/carts/{id}` on every node (one session per node), once they
/// all answer the same; asked again for up to `patience` (a cart changing
/// owner may be `unavailable` a moment).
async fn agreed_view(
    readers: &[Account],
    cart: CartId,
    patience: Duration,
) -> anyhow::Result<CartView> {
    let deadline = Instant::now() + patience;
    loop {
        let mut views = Vec::new();
        for reader in readers {
            views.push(reader.cart(cart).await.map(|r| r.view));
        }
        let agreed = match views.as_slice() {
            [Ok(first), rest @ ..] if rest.iter().all(|v| v.as_ref().ok() == Some(first)) => {
                Some(first.clone())
            }
            _ => None,
        };
        if let Some(view) = agreed {
            return Ok(view);
        }
        if Instant::now() >= deadline {
            let summary: Vec<String> = views
                .iter()
                .zip(readers)
                .map(|(v, r)| match v {
                    Ok(v) => format!("{}: heads {:?} lines {:?}", r.base_url, v.heads, v.lines),
                    Err(e) => format!("{}: {e:#}", r.base_url),
                })
                .collect();
            bail!("the nodes disagree on the cart: {summary:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many changes of the cart each op id made, as `reader`'s node has it.
async fn op_counts(reader: &Account, cart: CartId) -> anyhow::Result<HashMap<String, usize>> {
    let mut counts = HashMap::new();
    for info in change_infos(&reader.changes(cart).await?)? {
        if let Some(op_id) = info.op_id {
            *counts.entry(op_id).or_default() += 1;
        }
    }
    Ok(counts)
}

fn quantity(view: &CartView, sku: &str) -> i64 {
    view.lines
        .iter()
        .find(|l| l.sku == sku)
        .map_or(0, |l| l.quantity)
}

#[tokio::test]
async fn clients_on_three_nodes_co_edit_one_cart_and_converge() -> anyhow::Result<()> {
    let Some(cluster) = Cluster::start(3).await? else {
        return Ok(());
    };
    let ana = sign_up(cluster.url(A), "Ana").await?;
    let ben = sign_up(cluster.url(A), "Ben").await?;
    let cleo = sign_up(cluster.url(A), "Cleo").await?;
    let cart = shared_cart(
        &ana,
        &[(&ben, MemberRole::Editor), (&cleo, MemberRole::Editor)],
    )
    .await?;
    let editors = [
        (ana.clone(), MemberRole::Admin, "TEA-GREEN"),
        (cluster.on(B, &ben), MemberRole::Editor, "KETTLE"),
        (cluster.on(C, &cleo), MemberRole::Editor, "CHIPS"),
    ];
    let mut conns = Vec::new();
    for (account, role, _) in &editors {
        let mut conn = account.connect().await?;
        assert_eq!(conn.subscribe(cart).await?.role, *role, "{}", account.name);
        conns.push(conn);
    }

    // All at once: each adds its own product twice and the shared one twice.
    let edits = conns
        .iter_mut()
        .zip(&editors)
        .map(|(conn, (_, _, sku))| async move {
            for op in [
                add("MUG-BLUE", 1),
                add(sku, 1),
                add("MUG-BLUE", 1),
                add(sku, 1),
            ] {
                conn.op(cart, op).await?.acked()?;
            }
            anyhow::Ok(())
        });
    for edited in futures_util::future::join_all(edits).await {
        edited?;
    }

    // Every node answers the same cart, with every edit once...
    let readers: Vec<Account> = (A..=C).map(|i| cluster.on(i, &ana)).collect();
    let view = agreed_view(&readers, cart, Duration::ZERO).await?;
    assert_eq!(quantity(&view, "MUG-BLUE"), 6);
    for (_, _, sku) in &editors {
        assert_eq!(quantity(&view, sku), 2, "{sku}");
    }
    // ...and every client's replica reaches it.
    for conn in &mut conns {
        converge(conn, cart, &view.heads).await?;
        assert_eq!(
            cart_view(conn.replica(cart).unwrap()),
            view,
            "{}",
            conn.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_op_sent_to_another_node_is_applied_once_and_a_retry_elsewhere_is_a_duplicate()
-> anyhow::Result<()> {
    let Some(cluster) = Cluster::start(3).await? else {
        return Ok(());
    };
    let (ana, ben, cart) = admin_and_member_at(cluster.url(A), "Ben", MemberRole::Editor).await?;
    // Node A runs the cart's room.
    let mut on_a = ana.connect().await?;
    on_a.subscribe(cart).await?;
    on_a.op(cart, add("MUG-BLUE", 1)).await?.acked()?;
    let (ben_b, ben_c) = (cluster.on(B, &ben), cluster.on(C, &ben));

    // Over the WebSocket on node B, retried over HTTP on node C.
    let mut on_b = ben_b.connect().await?;
    on_b.subscribe(cart).await?;
    let ws_op = OpId("ws-on-b".into());
    let first = on_b
        .op_with_id(cart, ws_op.clone(), add("KETTLE", 1))
        .await?;
    assert!(
        matches!(
            first,
            OpOutcome::Acked {
                duplicate: false,
                ..
            }
        ),
        "{first:?}"
    );
    let retry = ben_c.http_op(cart, &ws_op, &add("KETTLE", 1)).await?;
    assert!(retry.duplicate, "{ws_op} was applied again on node C");

    // Over HTTP on node B, retried over the WebSocket on node C.
    let http_op = OpId("http-on-b".into());
    let first = ben_b.http_op(cart, &http_op, &add("CHIPS", 1)).await?;
    assert!(!first.duplicate);
    let mut on_c = ben_c.connect().await?;
    on_c.subscribe(cart).await?;
    let retry = on_c
        .op_with_id(cart, http_op.clone(), add("CHIPS", 1))
        .await?;
    assert!(
        matches!(
            retry,
            OpOutcome::Acked {
                duplicate: true,
                ..
            }
        ),
        "{http_op} retried on node C: {retry:?}"
    );

    let readers: Vec<Account> = (A..=C).map(|i| cluster.on(i, &ana)).collect();
    let view = agreed_view(&readers, cart, Duration::ZERO).await?;
    assert_eq!(quantity(&view, "KETTLE"), 1);
    assert_eq!(quantity(&view, "CHIPS"), 1);
    let counts = op_counts(&ana, cart).await?;
    for op_id in [&ws_op, &http_op] {
        assert_eq!(counts.get(&op_id.0), Some(&1), "changes of {op_id}");
    }
    for conn in [&mut on_a, &mut on_b, &mut on_c] {
        converge(conn, cart, &view.heads).await?;
    }
    Ok(())
}

/// Ops of the burst; the owner is killed after the first `KILL_AFTER` are acked.
const BURST: usize = 60;
const KILL_AFTER: usize = 20;

#[tokio::test]
async fn killing_the_owner_during_a_burst_loses_no_acknowledged_edit() -> anyhow::Result<()> {
    let Some(mut cluster) = Cluster::start(3).await? else {
        return Ok(());
    };
    let ana = sign_up(cluster.url(A), "Ana").await?;
    let ben = sign_up(cluster.url(A), "Ben").await?;
    let cleo = sign_up(cluster.url(A), "Cleo").await?;
    let cart = shared_cart(
        &ana,
        &[(&ben, MemberRole::Editor), (&cleo, MemberRole::Viewer)],
    )
    .await?;
    // Node A loads the cart first: it is the owner.
    let mut on_a = ana.connect().await?;
    on_a.subscribe(cart).await?;
    let before = OpId("before-the-kill".into());
    on_a.op_with_id(cart, before.clone(), add("MUG-BLUE", 1))
        .await?
        .acked()?;
    // Ben writes from node B; Cleo watches from node C.
    let mut ben_b = cluster.on(B, &ben).connect().await?;
    ben_b.subscribe(cart).await?;
    let mut cleo_c = cluster.on(C, &cleo).connect().await?;
    cleo_c.subscribe(cart).await?;

    let (enough_tx, enough_rx) = tokio::sync::oneshot::channel();
    let burst = async {
        let mut enough = Some(enough_tx);
        let mut unavailable = 0;
        let mut duplicates = 0;
        for n in 0..BURST {
            let op_id = OpId(format!("ben-{n}"));
            let (duplicate, refused) =
                op_until_acked(&mut ben_b, cart, &op_id, &add("CHIPS", 1)).await?;
            unavailable += refused;
            duplicates += usize::from(duplicate);
            if n + 1 == KILL_AFTER
                && let Some(tx) = enough.take()
            {
                let _ = tx.send(());
            }
        }
        anyhow::Ok((unavailable, duplicates))
    };
    let kill = async {
        enough_rx.await.context("the burst stopped early")?;
        cluster.kill_9(A).await
    };
    let (burst, killed) = tokio::join!(burst, kill);
    let (unavailable, duplicates) = burst?;
    killed?;
    eprintln!("{unavailable} answers unavailable, {duplicates} retries answered duplicate");

    // Every op was acked in the end, each applied once; the survivors agree.
    let readers = [cluster.on(B, &ana), cluster.on(C, &ana)];
    let view = agreed_view(&readers, cart, FAILOVER).await?;
    assert_eq!(
        quantity(&view, "MUG-BLUE"),
        1,
        "the op acked before the kill"
    );
    assert_eq!(quantity(&view, "CHIPS"), BURST as i64);
    let counts = op_counts(&readers[0], cart).await?;
    assert_eq!(counts.get(&before.0), Some(&1), "changes of {before}");
    for n in 0..BURST {
        assert_eq!(
            counts.get(&format!("ben-{n}")),
            Some(&1),
            "changes of ben-{n}"
        );
    }
    converge(&mut ben_b, cart, &view.heads).await?;
    converge(&mut cleo_c, cart, &view.heads).await?;
    Ok(())
}

#[tokio::test]
async fn a_partitioned_owner_cannot_commit_and_rejoins_the_new_owners_state() -> anyhow::Result<()>
{
    let Some(cluster) = Cluster::start(3).await? else {
        return Ok(());
    };
    let (ana, ben, cart) = admin_and_member_at(cluster.url(A), "Ben", MemberRole::Editor).await?;
    // Node A owns the cart; Ana is on it, Ben on node B.
    let mut ana_a = ana.connect().await?;
    ana_a.subscribe(cart).await?;
    let before = OpId("ana-before".into());
    ana_a
        .op_with_id(cart, before.clone(), add("MUG-BLUE", 1))
        .await?
        .acked()?;
    let mut ben_b = cluster.on(B, &ben).connect().await?;
    ben_b.subscribe(cart).await?;
    op_until_acked(&mut ben_b, cart, &OpId("ben-0".into()), &add("CHIPS", 1)).await?;

    // Node A stops, sockets open: Ana's op waits in its socket.
    cluster.freeze(A)?;
    let frozen = OpId("ana-frozen".into());
    ana_a
        .send(&ClientMsg::Op {
            cart_id: cart,
            op_id: frozen.clone(),
            op: add("KETTLE", 1),
        })
        .await?;
    // Ben goes on; his ops are acked again once another node took the cart,
    // so A's lease has lapsed.
    const BEN_OPS: usize = 5;
    for n in 1..=BEN_OPS {
        let op_id = OpId(format!("ben-{n}"));
        let (duplicate, _) = op_until_acked(&mut ben_b, cart, &op_id, &add("CHIPS", 1)).await?;
        assert!(
            !duplicate,
            "{op_id} answered duplicate, though only the frozen owner had seen it before"
        );
    }
    cluster.thaw(A)?;

    // Whatever A answers Ana, the cart agrees with it.
    let outcome = answer_to(&mut ana_a, &frozen).await?;
    eprintln!("the op sent to the frozen owner: {outcome:?}");
    let readers: Vec<Account> = (A..=C).map(|i| cluster.on(i, &ana)).collect();
    let view = agreed_view(&readers, cart, FAILOVER).await?;
    let counts = op_counts(&readers[B], cart).await?;
    let expected = usize::from(matches!(outcome, OpOutcome::Acked { .. }));
    assert_eq!(
        counts.get(&frozen.0).copied().unwrap_or(0),
        expected,
        "changes of {frozen}, answered {outcome:?}"
    );
    assert_eq!(quantity(&view, "KETTLE"), expected as i64);
    // Edits made meanwhile on node B stay, with those from before.
    assert_eq!(quantity(&view, "MUG-BLUE"), 1);
    assert_eq!(quantity(&view, "CHIPS"), BEN_OPS as i64 + 1);
    assert_eq!(counts.get(&before.0), Some(&1), "changes of {before}");
    for n in 0..=BEN_OPS {
        assert_eq!(
            counts.get(&format!("ben-{n}")),
            Some(&1),
            "changes of ben-{n}"
        );
    }
    // Node A never showed Ana a change the cart does not have.
    let doc = Automerge::load(&readers[B].document(cart).await?)?;
    for head in &ana_a.heads_hex(cart) {
        let hash: ChangeHash = head.parse()?;
        assert!(
            doc.get_change_by_hash(&hash).is_some(),
            "Ana's socket on node A got change {head}, which the cart does not have"
        );
    }
    // Everyone converges on the new owner's state, on node A too.
    ana_a.close().await;
    let mut ana_again = ana.connect().await?;
    subscribe_until_served(&mut ana_again, cart).await?;
    converge(&mut ana_again, cart, &view.heads).await?;
    converge(&mut ben_b, cart, &view.heads).await?;
    Ok(())
}

#[tokio::test]
async fn a_role_change_on_one_node_reaches_a_member_on_another_at_once() -> anyhow::Result<()> {
    let Some(cluster) = Cluster::start(3).await? else {
        return Ok(());
    };
    // Node B owns the cart; Ana changes roles on node A; Ben is on node C.
    let (ana_b, ben, cart) = admin_and_member_at(cluster.url(B), "Ben", MemberRole::Editor).await?;
    let mut watcher = ana_b.connect().await?;
    watcher.subscribe(cart).await?;
    let ana_a = cluster.on(A, &ana_b);
    let mut ben_c = cluster.on(C, &ben).connect().await?;
    assert_eq!(ben_c.subscribe(cart).await?.role, MemberRole::Editor);
    ben_c.op(cart, add("KETTLE", 1)).await?.acked()?;

    ana_a
        .set_role(cart, ben.user_id, MemberRole::Viewer)
        .await?;
    let outcome = ben_c.op(cart, add("KETTLE", 1)).await?;
    assert!(
        matches!(
            outcome,
            OpOutcome::Refused {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "Ben's first op after the demotion: {outcome:?}"
    );
    expect_event(&mut ben_c, "role_changed", |ev| {
        matches!(
            ev,
            Event::Msg(ServerMsg::RoleChanged { cart_id, role: MemberRole::Viewer, .. })
                if *cart_id == cart
        )
    })
    .await?;

    // A removal made on node A ends his subscription on node C.
    ana_a.remove_member(cart, ben.user_id).await?;
    expect_event(&mut ben_c, "unsubscribed (removed)", |ev| {
        matches!(
            ev,
            Event::Msg(ServerMsg::Unsubscribed { cart_id, reason })
                if *cart_id == cart && reason == "removed"
        )
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn signing_out_on_one_node_closes_the_sessions_sockets_on_another() -> anyhow::Result<()> {
    let Some(cluster) = Cluster::start(3).await? else {
        return Ok(());
    };
    let ana = sign_up(cluster.url(A), "Ana").await?;
    let cart = ana.create_cart("Signed out").await?;
    let mut on_c = cluster.on(C, &ana).connect().await?;
    on_c.subscribe(cart).await?;
    // Her other session (another device) is not signed out.
    let other = sign_in_again(cluster.url(C), &ana).await?;
    let mut other_c = other.connect().await?;

    ana.sign_out().await?;
    let closed = expect_event(&mut on_c, "the close", |ev| {
        matches!(ev, Event::Closed { .. })
    })
    .await?;
    assert!(
        matches!(
            closed,
            Event::Closed {
                code: Some(4001),
                ..
            }
        ),
        "{closed:?}"
    );
    let refused = cluster.on(C, &ana).me().await.unwrap_err();
    assert_eq!(
        api_error(&refused).map(|e| e.status),
        Some(401),
        "{refused:#}"
    );
    other_c.ping().await?;
    other.me().await?;
    Ok(())
}

#[tokio::test]
async fn unsubscribing_on_another_node_is_answered_after_what_came_before() -> anyhow::Result<()> {
    let Some(cluster) = Cluster::start(2).await? else {
        return Ok(());
    };
    let (ana, ben, cart) = admin_and_member_at(cluster.url(A), "Ben", MemberRole::Editor).await?;
    // Node A owns the cart; Ben uses node B.
    let mut on_a = ana.connect().await?;
    on_a.subscribe(cart).await?;
    let mut ben_b = cluster.on(B, &ben).connect().await?;
    ben_b.subscribe(cart).await?;
    ben_b.op(cart, add("KETTLE", 1)).await?.acked()?;
    ben_b.unsubscribe(cart).await?;
    // He is no longer in the room: his next op is refused, Ana's goes on.
    let refused = ben_b.op(cart, add("KETTLE", 1)).await?;
    assert!(
        matches!(
            refused,
            OpOutcome::Refused {
                code: ErrorCode::NotSubscribed,
                ..
            }
        ),
        "{refused:?}"
    );
    on_a.op(cart, add("CHIPS", 1)).await?.acked()?;
    // And he may come back.
    ben_b.subscribe(cart).await?;
    ben_b.op(cart, add("KETTLE", 1)).await?.acked()?;
    let view = ana.cart(cart).await?.view;
    assert_eq!(quantity(&view, "KETTLE"), 2);
    Ok(())
}

#[tokio::test]
async fn a_catalog_change_on_one_node_is_in_force_on_the_others() -> anyhow::Result<()> {
    let Some(cluster) = Cluster::start(2).await? else {
        return Ok(());
    };
    let ana = sign_up(cluster.url(A), "Ana").await?;
    let cart = ana.create_cart("Mugs").await?;
    let mut on_a = ana.connect().await?;
    on_a.subscribe(cart).await?;
    on_a.op(cart, add("MUG-RED", 2)).await?.acked()?;

    // The shop's back office reprices the mug through node B.
    let owner = Account::sign_in(cluster.url(B), DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD).await?;
    let key = owner
        .request_json(
            reqwest::Method::POST,
            "/api/store/keys?store=demo",
            Some(&serde_json::json!({ "name": "ERP" })),
        )
        .await?;
    let secret = key["secret"].as_str().context("the key's secret")?;
    let patched = reqwest::Client::new()
        .patch(format!("{}/api/v1/store/products/MUG-RED", cluster.url(B)))
        .bearer_auth(secret)
        .json(&serde_json::json!({ "price": 1100 }))
        .send()
        .await?;
    assert!(patched.status().is_success(), "{}", patched.status());

    // Node A, which runs the cart, prices new ops and the cart's line with it.
    let deadline = Instant::now() + WAIT;
    loop {
        let line = ana.cart(cart).await?.view.lines;
        if line
            .iter()
            .any(|l| l.sku == "MUG-RED" && l.unit_price == 1100)
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("node A still prices MUG-RED as {line:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    on_a.op(cart, add("MUG-RED", 1)).await?.acked()?;
    let view = ana.cart(cart).await?.view;
    assert_eq!(quantity(&view, "MUG-RED"), 3);
    assert!(
        view.lines.iter().all(|l| l.line_total == 3 * 1100),
        "{view:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_dead_nodes_members_leave_the_owners_presence() -> anyhow::Result<()> {
    let Some(mut cluster) = Cluster::start(3).await? else {
        return Ok(());
    };
    let (ana, ben, cart) = admin_and_member_at(cluster.url(A), "Ben", MemberRole::Editor).await?;
    // Node A owns the cart; Ben watches it from node C.
    let mut on_a = ana.connect().await?;
    on_a.subscribe(cart).await?;
    let mut ben_c = cluster.on(C, &ben).connect().await?;
    ben_c.subscribe(cart).await?;
    let here = |ev: &Event, connections: u32| {
        matches!(ev, Event::Msg(ServerMsg::Presence { cart_id, members })
            if *cart_id == cart
                && members.iter().any(|m| m.user_id == ben.user_id && m.connections == connections))
    };
    expect_event(&mut on_a, "Ben present", |ev| here(ev, 1)).await?;

    // Node C dies: nobody there can tell the owner Ben left.
    cluster.kill_9(C).await?;
    expect_event(&mut on_a, "Ben gone from presence", |ev| here(ev, 0)).await?;
    Ok(())
}
