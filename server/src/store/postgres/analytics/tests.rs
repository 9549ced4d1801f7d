//! Analytics on Postgres: the figures of rows written here, checked by
//! hand and against SQLite's answers on the same rows.

use cartroom_protocol::analytics::{Figures, LinkFigures};
use cartroom_protocol::ids::LinkId;

use super::{day_of, period_of};
use crate::config::Config;
use crate::store::analytics::{Analytics, DaySpan, PeriodLinks};
use crate::store::sqlite::SqliteStore;

/// The first day's start: a whole quarter hour (opens are counted by it).
const D: i64 = 1_699_999_200_000;
const H: i64 = 3_600_000;

/// Three days, the middle one 23 hours long (a change to summer time).
const DAYS: [DaySpan; 3] = [
    DaySpan {
        start_ms: D,
        end_ms: D + 24 * H,
    },
    DaySpan {
        start_ms: D + 24 * H,
        end_ms: D + 47 * H,
    },
    DaySpan {
        start_ms: D + 47 * H,
        end_ms: D + 71 * H,
    },
];

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Users 1 (Sam), 2 (Ann), 3 (Bob), 4 (staff); carts 11 (A, day 0,
/// 3 members), 12 (B, day 1), 13 (C, before the period), 14 (E, another
/// store), 15 (F, at the period's end); links 21 (A), 22 and 23 (B, made
/// at once), 24 (C, before the period), 25 (E).
fn fixture() -> String {
    let t = |hours: i64| D + hours * H;
    let (sam, ann, bob, staff) = (id(1), id(2), id(3), id(4));
    let (a, b, c, e, f) = (id(11), id(12), id(13), id(14), id(15));
    let (l1, l2, l3, l4, l5) = (id(21), id(23), id(22), id(24), id(25));
    let cart = |cart: &str, shop: &str, at: i64| {
        format!("INSERT INTO carts (id, store_id, name, created_by, created_at, updated_at) VALUES ('{cart}', '{shop}', 'Cart {cart}', '{sam}', {at}, {at});
         INSERT INTO members (cart_id, user_id, role, added_at) VALUES ('{cart}', '{sam}', 'admin', {at});\n")
    };
    let member = |cart: &str, user: &str| {
        format!(
            "INSERT INTO members (cart_id, user_id, role, added_at) VALUES ('{cart}', '{user}', 'editor', 0);\n"
        )
    };
    let act = |cart: &str, seq: i64, user: &str, kind: &str| {
        format!(
            "INSERT INTO activity (cart_id, seq, at, user_id, user_name, kind, text, subtotal, currency) VALUES ('{cart}', {seq}, 0, '{user}', 'x', '{kind}', '', 0, 'EUR');\n"
        )
    };
    let order = |n: u32, cart: &str, shop: &str, status: &str, total: i64, at: i64| {
        format!(
            "INSERT INTO orders (id, store_id, cart_id, cart_name, placed_by, placed_by_name, status, status_by_name, currency, subtotal, shipping, total, split, addresses, placed_at, updated_at) VALUES ('{}', '{shop}', '{cart}', 'c', '{sam}', 'Sam', '{status}', 'Sam', 'EUR', {total}, 0, {total}, '{{}}', '[]', {at}, {at});\n",
            id(n)
        )
    };
    let invite = |n: u32, cart: &str, at: i64, accepted: Option<i64>| {
        let accepted = accepted.map_or("NULL".to_owned(), |a| a.to_string());
        format!(
            "INSERT INTO invitations (id, cart_id, email, message, role, invited_by, created_at, expires_at, accepted_at) VALUES ('{}', '{cart}', 'x@example.com', '', 'editor', '{sam}', {at}, {at} + 1, {accepted});\n",
            id(n)
        )
    };
    let link = |link: &str, cart: &str, at: i64| {
        format!(
            "INSERT INTO share_links (id, cart_id, role, created_by, created_at, expires_at, token_hash) VALUES ('{link}', '{cart}', 'editor', '{sam}', {at}, {at} + 1, 'tok{link}');\n"
        )
    };
    let used = |link: &str, user: &str, at: i64| {
        format!(
            "INSERT INTO share_link_uses (link_id, user_id, at) VALUES ('{link}', '{user}', {at});\n"
        )
    };
    let mut sql = String::from(
        "INSERT INTO stores (id, name, currency) VALUES ('demo', 'Demo', 'EUR'), ('other', 'Other', 'EUR');\n",
    );
    for (user, name) in [
        (&sam, "Sam"),
        (&ann, "Ann"),
        (&bob, "Bob"),
        (&staff, "Staff"),
    ] {
        sql += &format!(
            "INSERT INTO users (id, name, is_guest, created_at) VALUES ('{user}', '{name}', FALSE, 0);\n"
        );
    }
    sql += &(cart(&a, "demo", t(1)) + &member(&a, &ann) + &member(&a, &bob));
    sql += &cart(&b, "demo", t(30));
    sql += &cart(&c, "demo", t(-5));
    sql += &(cart(&e, "other", t(2)) + &member(&e, &ann));
    sql += &(cart(&f, "demo", t(71)) + &member(&f, &ann));
    // A: edits by Sam and Ann (one in a change); not edits: a chat, the
    // staff's change, a server change; Bob is a member who did not edit.
    sql += &(act(&a, 1, &sam, "add_line") + &act(&a, 2, &sam, "chat") + &act(&a, 3, &ann, "vote"));
    sql += &format!(
        "INSERT INTO epochs (cart_id, epoch, start_seq, base_seq, started_at, saved_at, bytes) VALUES ('{a}', 0, 0, 0, 0, 0, '\\x00');
         INSERT INTO changes (cart_id, seq, bytes, user_id, kind, epoch) VALUES
           ('{a}', 1, '\\x00', '{ann}', 'set_quantity', 0),
           ('{a}', 2, '\\x00', '{staff}', 'add_line', 0),
           ('{a}', 3, '\\x00', NULL, NULL, 0);\n"
    );
    sql += &(act(&b, 1, &sam, "add_line") + &act(&b, 2, &sam, "rename"));
    sql += &(act(&e, 1, &sam, "add_line") + &act(&e, 2, &ann, "add_line"));
    sql += &(order(31, &a, "demo", "cancelled", 999, t(2))
        + &order(32, &a, "demo", "pending", 1500, t(40)));
    sql += &(order(33, &b, "demo", "confirmed", 700, t(31))
        + &order(34, &e, "other", "pending", 5000, t(3)));
    sql += &(invite(41, &a, t(3), Some(t(25))) + &invite(42, &c, t(50), None));
    sql += &(invite(43, &c, t(-1), Some(t(48))) + &invite(44, &e, t(3), Some(t(4))));
    sql += &(link(&l1, &a, t(4)) + &link(&l2, &b, t(32)) + &link(&l3, &b, t(32)));
    sql += &(link(&l4, &c, t(-2)) + &link(&l5, &e, t(5)));
    sql += &(used(&l1, &bob, t(26)) + &used(&l1, &ann, t(27)) + &used(&l4, &ann, t(60)));
    sql += &used(&l5, &ann, t(6));
    sql
}

/// Opens: three on day 0 (two in one quarter hour), one on day 1 (its
/// last millisecond) and one on day 2 in the store; one in another store.
async fn opens(store: &impl Analytics) {
    let link = |n| id(n).parse::<LinkId>().unwrap();
    for (n, at) in [
        (21, 4 * H + 1),
        (21, 4 * H + 2),
        (21, 5 * H),
        (21, 47 * H - 1),
        (24, 70 * H),
        (25, 5 * H),
    ] {
        store.record_link_open(link(n), D + at).await.unwrap();
    }
}

async fn answers(store: &impl Analytics) -> (Vec<Figures>, PeriodLinks, PeriodLinks) {
    let whole = DaySpan {
        start_ms: D,
        end_ms: D + 71 * H,
    };
    (
        store.day_figures("demo", &DAYS).await.unwrap(),
        store.period_links("demo", whole, 10).await.unwrap(),
        store.period_links("demo", whole, 1).await.unwrap(),
    )
}

#[tokio::test]
async fn figures_count_the_rows_written() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    sqlx::raw_sql(&fixture())
        .execute(&store.pool)
        .await
        .unwrap();
    opens(&store).await;
    let (days, links, first) = answers(&store).await;

    let day0 = Figures {
        carts: 1,
        shared_carts: 1,
        collaborative_carts: 1,
        ordered_carts: 1,
        order_value: 1500,
        shared_ordered_carts: 1,
        shared_order_value: 1500,
        members: 3,
        edits: 3,
        invitations_sent: 1,
        invitations_accepted: 0,
        link_opens: 3,
        link_joins: 0,
    };
    let day1 = Figures {
        carts: 1,
        ordered_carts: 1,
        order_value: 700,
        members: 1,
        edits: 2,
        invitations_accepted: 1,
        link_opens: 1,
        link_joins: 2,
        ..Figures::default()
    };
    let day2 = Figures {
        invitations_sent: 1,
        invitations_accepted: 1,
        link_opens: 1,
        link_joins: 1,
        ..Figures::default()
    };
    assert_eq!(days, vec![day0, day1, day2]);

    let figures = |n, cart, at, opens, joins, orders| LinkFigures {
        link_id: id(n).parse().unwrap(),
        cart_id: id(cart).parse().unwrap(),
        cart_name: format!("Cart {}", id(cart)),
        created_at: D + at * H,
        opens,
        joins,
        orders,
    };
    // Newest first, ties by id; an order counts once someone joined.
    let expect = vec![
        figures(22, 12, 32, 0, 0, 0),
        figures(23, 12, 32, 0, 0, 0),
        figures(21, 11, 4, 4, 2, 1),
    ];
    assert_eq!(
        links,
        PeriodLinks {
            links: expect.clone(),
            total: 3
        }
    );
    assert_eq!(
        first,
        PeriodLinks {
            links: expect[..1].to_vec(),
            total: 3
        }
    );

    // Nothing in an empty period, and no days, no figures.
    let none = DaySpan {
        start_ms: 0,
        end_ms: 1,
    };
    assert_eq!(
        store.period_links("demo", none, 10).await.unwrap(),
        PeriodLinks::default()
    );
    assert!(store.day_figures("demo", &[]).await.unwrap().is_empty());
    assert_eq!(
        store.day_figures("nowhere", &DAYS).await.unwrap(),
        vec![Figures::default(); 3]
    );
}

#[tokio::test]
async fn the_same_rows_give_the_same_answers_as_on_sqlite() {
    let Some(pg) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStore::open(&Config::for_data_dir(dir.path()))
        .await
        .unwrap();
    let script = fixture();
    sqlx::raw_sql(&script).execute(&pg.pool).await.unwrap();
    sqlx::raw_sql(&script).execute(&lite.pool).await.unwrap();
    opens(&pg).await;
    opens(&lite).await;
    assert_eq!(answers(&pg).await, answers(&lite).await);
    lite.close().await;
}

#[tokio::test]
async fn opens_at_once_on_many_connections_are_all_counted() {
    let Some(store) = crate::store::postgres::testing::fresh().await else {
        return;
    };
    sqlx::raw_sql(&fixture())
        .execute(&store.pool)
        .await
        .unwrap();
    let link: LinkId = id(22).parse().unwrap();
    let all = (0..32).map(|i| store.record_link_open(link, D + 33 * H + i));
    for done in futures_util::future::join_all(all).await {
        done.unwrap();
    }
    let whole = DaySpan {
        start_ms: D,
        end_ms: D + 71 * H,
    };
    let links = store.period_links("demo", whole, 10).await.unwrap();
    assert_eq!(links.links[0].opens, 32);
    assert_eq!(
        store.day_figures("demo", &DAYS).await.unwrap()[1].link_opens,
        32
    );
}

#[test]
fn a_time_falls_in_the_day_whose_span_holds_it() {
    // A 23-hour day between two 24-hour ones.
    let days = [
        DaySpan {
            start_ms: 0,
            end_ms: 24,
        },
        DaySpan {
            start_ms: 24,
            end_ms: 47,
        },
        DaySpan {
            start_ms: 47,
            end_ms: 71,
        },
    ];
    let found: Vec<Option<usize>> = [-1, 0, 23, 24, 46, 47, 70, 71]
        .into_iter()
        .map(|at| day_of(&days, at))
        .collect();
    assert_eq!(
        found,
        [
            None,
            Some(0),
            Some(0),
            Some(1),
            Some(1),
            Some(2),
            Some(2),
            None
        ]
    );
    assert_eq!(period_of(&days), (0, 71));
}
