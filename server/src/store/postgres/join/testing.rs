//! Rows the tests of sharing, offers, store shares, staff and TOTP stand
//! on, written with plain SQL so that these tests need no other trait.

use cartroom_protocol::{CartId, MemberRole, UserId};

use crate::store::postgres::PgStore;

/// A registered user named `name` (e-mail `<name>@example.com`).
pub(in crate::store::postgres) async fn user(store: &PgStore, name: &str) -> UserId {
    let id = UserId::new_random();
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, is_guest, created_at)
         VALUES ($1, $2, $3, NULL, FALSE, 1)",
    )
    .bind(id.to_string())
    .bind(format!("{name}-{id}@example.com"))
    .bind(name)
    .execute(&store.pool)
    .await
    .expect("insert a user");
    id
}

/// A store named `id`, made once.
pub(in crate::store::postgres) async fn shop(store: &PgStore, id: &str) {
    sqlx::query(
        "INSERT INTO stores (id, name, currency) VALUES ($1, $1, 'EUR') ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .execute(&store.pool)
    .await
    .expect("insert a store");
}

/// A cart of store `demo` whose admin is `admin`.
pub(in crate::store::postgres) async fn cart(store: &PgStore, admin: UserId) -> CartId {
    shop(store, "demo").await;
    let id = CartId::new_random();
    sqlx::query(
        "INSERT INTO carts (id, store_id, name, created_by, created_at, updated_at)
         VALUES ($1, 'demo', 'Picnic', $2, 1, 1)",
    )
    .bind(id.to_string())
    .bind(admin.to_string())
    .execute(&store.pool)
    .await
    .expect("insert a cart");
    sqlx::query(
        "INSERT INTO members (cart_id, user_id, role, added_at) VALUES ($1, $2, 'admin', 1)",
    )
    .bind(id.to_string())
    .bind(admin.to_string())
    .execute(&store.pool)
    .await
    .expect("insert its admin");
    id
}

/// The user's role in the cart.
pub(in crate::store::postgres) async fn role(
    store: &PgStore,
    cart: CartId,
    user: UserId,
) -> Option<MemberRole> {
    let mut conn = store.pool.acquire().await.expect("a connection");
    super::role_in(&mut conn, &cart.to_string(), &user.to_string())
        .await
        .expect("read a role")
}

/// How many members the cart has.
pub(in crate::store::postgres) async fn member_count(store: &PgStore, cart: CartId) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE cart_id = $1")
        .bind(cart.to_string())
        .fetch_one(&store.pool)
        .await
        .expect("count members")
}
