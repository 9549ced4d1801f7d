//! Property: random concurrent op sequences from three clients leave every
//! replica, the server's view and the document reloaded from the database
//! identical.

use std::sync::LazyLock;
use std::time::Duration;

use automerge::Automerge;
use cartroom::store::LoadLimits;
use cartroom::store::backend::Backend;
use cartroom_client::{Account, OpOutcome, cart_view};
use cartroom_e2e::{TestServer, shared_cart};
use cartroom_protocol::{ErrorCode, LineId, MemberRole, Op};
use proptest::prelude::*;

const SKUS: [&str; 4] = ["MUG-BLUE", "TEA-GREEN", "KETTLE", "CHIPS"];

/// Codes a random script may legitimately run into.
const EXPECTED_REFUSALS: [ErrorCode; 3] = [
    ErrorCode::LineNotFound,
    ErrorCode::QuantityOutOfRange,
    ErrorCode::OutOfStock,
];

struct World {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
    accounts: Vec<Account>,
}

/// One server and three accounts for all cases; each case gets a new cart.
static WORLD: LazyLock<World> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, accounts) = runtime.block_on(async {
        let server = TestServer::start().await.unwrap();
        let mut accounts = Vec::new();
        for name in ["Ana", "Ben", "Cleo"] {
            accounts.push(server.account(name).await.unwrap());
        }
        (server, accounts)
    });
    World {
        runtime,
        server,
        accounts,
    }
});

fn sku() -> impl Strategy<Value = String> {
    proptest::sample::select(SKUS.to_vec()).prop_map(str::to_owned)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (sku(), 1..4i64).prop_map(|(sku, quantity)| Op::AddLine { sku, quantity }),
        2 => (sku(), prop_oneof![-2..0i64, 1..4i64]).prop_map(|(s, delta)| Op::ChangeQuantity { line_id: LineId(s), delta }),
        1 => (sku(), 1..6i64).prop_map(|(s, quantity)| Op::SetQuantity { line_id: LineId(s), quantity }),
        1 => sku().prop_map(|s| Op::RemoveLine { line_id: LineId(s) }),
        1 => (sku(), 0..3u8).prop_map(|(s, n)| Op::SetLineNote { line_id: LineId(s), note: format!("note {n}") }),
        1 => (0..3u8).prop_map(|n| Op::SetCartNote { note: format!("cart note {n}") }),
        1 => (sku(), 1..3i64).prop_map(|(sku, quantity)| Op::Suggest { sku, quantity, note: None }),
        1 => (0..3u8).prop_map(|n| Op::Rename { name: format!("Cart {n}") }),
    ]
}

/// The whole document as JSON (keys sorted), for exact comparison.
fn hydrated(doc: &Automerge) -> serde_json::Value {
    serde_json::to_value(automerge::AutoSerde::from(doc)).expect("documents serialize")
}

async fn check(script: Vec<(usize, Op)>) -> anyhow::Result<()> {
    let world = &*WORLD;
    let [ana, ben, cleo] = &world.accounts[..] else {
        unreachable!()
    };
    let cart = shared_cart(ana, &[]).await?;
    for member in [ben, cleo] {
        ana.add_member(cart, member.email.as_deref().unwrap(), MemberRole::Admin)
            .await?;
    }
    let mut conns = Vec::new();
    for account in &world.accounts {
        let mut conn = account.connect().await?;
        conn.subscribe(cart).await?;
        conns.push(conn);
    }
    // Each client sends its share of the script in order; the three run at once.
    let runs = conns.into_iter().enumerate().map(|(i, mut conn)| {
        let ops: Vec<Op> = script
            .iter()
            .filter(|(c, _)| *c == i)
            .map(|(_, op)| op.clone())
            .collect();
        async move {
            for op in ops {
                if let OpOutcome::Refused { code, message } = conn.op(cart, op.clone()).await? {
                    anyhow::ensure!(
                        EXPECTED_REFUSALS.contains(&code),
                        "{op:?} refused: {code} {message}"
                    );
                }
            }
            anyhow::Ok(conn)
        }
    });
    let mut conns = futures_util::future::try_join_all(runs).await?;

    let server_view = ana.cart(cart).await?.view;
    let server_heads = server_view.heads.sorted();
    for conn in &mut conns {
        while conn.heads_hex(cart) != server_heads {
            conn.next_event().await?;
        }
    }

    // Reload the cart from the database, as a restart would.
    let mut config = cartroom::Config::for_data_dir(&world.server.data_dir);
    cartroom_e2e::backend::configure(&mut config).await?;
    let store = Backend::open(&config, "verifier").await?;
    let limits = LoadLimits {
        op_memory: 10,
        activity_memory: 10,
    };
    let state = store
        .stores()
        .changes
        .load_cart(cart, limits)
        .await?
        .expect("cart in the database");
    store.close().await;
    let mut reloaded = Automerge::load(&state.snapshot)?;
    for change in &state.changes {
        reloaded.load_incremental(change)?;
    }
    let reloaded_heads = cartroom::cart::view::heads_of(&reloaded).sorted();
    anyhow::ensure!(
        reloaded_heads == server_heads,
        "the database has heads {reloaded_heads:?}, the server {server_heads:?}"
    );

    let expected = hydrated(&reloaded);
    let reloaded_view = cartroom::cart::view(&reloaded)?;
    anyhow::ensure!(
        server_view.name == reloaded_view.name,
        "server and database differ on name"
    );
    anyhow::ensure!(
        server_view.note == reloaded_view.note,
        "server and database differ on note"
    );
    anyhow::ensure!(
        server_view.subtotal == reloaded_view.subtotal,
        "server and database differ on subtotal"
    );
    anyhow::ensure!(
        server_view.lines == reloaded_view.lines,
        "server and database differ on lines"
    );
    anyhow::ensure!(
        server_view.suggestions == reloaded_view.suggestions,
        "server and database differ on suggestions"
    );
    for conn in &conns {
        let replica = conn.replica(cart).unwrap();
        anyhow::ensure!(
            hydrated(replica) == expected,
            "a replica differs from the reloaded document"
        );
        let view = cart_view(replica);
        anyhow::ensure!(
            view.lines == server_view.lines,
            "replica lines differ from the server's"
        );
        anyhow::ensure!(
            view.subtotal == server_view.subtotal,
            "replica subtotal differs"
        );
    }
    for conn in conns {
        conn.close().await;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_concurrent_ops_converge_everywhere(script in proptest::collection::vec((0..3usize, op()), 1..45)) {
        let result = WORLD.runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), check(script)).await
        });
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(TestCaseError::fail(format!("{e:#}"))),
            Err(_) => return Err(TestCaseError::fail("timed out")),
        }
    }
}
