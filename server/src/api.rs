//! The HTTP API: accounts, catalog, carts and members (`docs/protocol.md`
//! sections 1-4). Edits to a cart's document go through its room, like
//! WebSocket ops; membership lives in the database and is pushed to the
//! cart's room so live connections follow at once.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use cartroom_protocol::{CartId, ErrorCode, MemberRole, Op, OpId, UserId};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::auth::{self, Authed, SESSION_COOKIE};
use crate::cart::{self, Actor, CartView};
use crate::catalog::product_svg;
use crate::error::AppError;
use crate::room::{BytesKind, OpAck, OpOrigin, RoomCmd};
use crate::state::AppState;
use crate::store::{self, User};

/// Carts one user may create.
const MAX_CARTS_PER_USER: i64 = 200;
/// Members of one cart.
const MAX_MEMBERS: i64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/signin", post(signin))
        .route("/api/auth/guest", post(guest))
        .route("/api/auth/signout", post(signout))
        .route("/api/me", get(me))
        .route("/api/store", get(store_info))
        .route("/api/catalog", get(catalog))
        .route("/api/catalog/{sku}", get(product))
        .route("/images/{file}", get(image))
        .route("/api/carts", post(create_cart).get(list_carts))
        .route(
            "/api/carts/{id}",
            get(get_cart).patch(rename_cart).delete(delete_cart),
        )
        .route("/api/carts/{id}/ops", post(post_op))
        .route("/api/carts/{id}/document", get(document))
        .route("/api/carts/{id}/changes", get(changes))
        .route("/api/carts/{id}/activity", get(activity))
        .route(
            "/api/carts/{id}/members",
            get(list_members).post(add_member),
        )
        .route(
            "/api/carts/{id}/members/{user_id}",
            patch(change_member).delete(remove_member),
        )
}

#[derive(Serialize)]
struct SessionOut {
    user: User,
    token: String,
    expires_at: i64,
}

/// Starts a session for `user`: the token in the body and in the cookie.
async fn start_session(
    state: &AppState,
    jar: CookieJar,
    user: User,
    status: StatusCode,
) -> Result<Response, AppError> {
    let token = auth::new_token();
    let now = state.clock.now_ms();
    let expires_at = now + i64::from(state.config.session_ttl_days) * 86_400_000;
    store::insert_session(
        &state.pool,
        &auth::token_hash(&token),
        user.id,
        now,
        expires_at,
    )
    .await?;
    let jar = jar.add(auth::session_cookie(
        token.clone(),
        state.config.session_ttl_days,
    ));
    Ok((
        status,
        jar,
        Json(SessionOut {
            user,
            token,
            expires_at,
        }),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignupIn {
    email: String,
    password: String,
    name: String,
}

async fn signup(
    State(state): State<AppState>,
    current: Option<Authed>,
    jar: CookieJar,
    Json(body): Json<SignupIn>,
) -> Result<Response, AppError> {
    let (email, name) = auth::validate_signup(&body.email, &body.password, &body.name)?;
    let hash = auth::hash_password(body.password).await?;
    let taken = || {
        AppError::new(
            ErrorCode::EmailTaken,
            "an account with this e-mail exists; sign in instead",
        )
    };
    // A guest who signs up keeps its id, and so its carts.
    let user = match current.filter(|a| a.user.guest) {
        Some(guest) => {
            if !store::upgrade_guest(&state.pool, guest.user.id, &email, &name, &hash).await? {
                return Err(taken());
            }
            User {
                id: guest.user.id,
                email: Some(email),
                name,
                guest: false,
            }
        }
        None => {
            let user = User {
                id: UserId::new_random(),
                email: Some(email),
                name,
                guest: false,
            };
            if !store::insert_user(&state.pool, &user, Some(&hash), state.clock.now_ms()).await? {
                return Err(taken());
            }
            user
        }
    };
    start_session(&state, jar, user, StatusCode::CREATED).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigninIn {
    email: String,
    password: String,
}

async fn signin(
    State(state): State<AppState>,
    jar: CookieJar,
    Json(body): Json<SigninIn>,
) -> Result<Response, AppError> {
    let bad = || AppError::new(ErrorCode::BadCredentials, "wrong e-mail or password");
    let email = body.email.trim().to_lowercase();
    if state.signin_limiter.check_key(&email).is_err() {
        return Err(AppError::new(
            ErrorCode::RateLimited,
            "too many sign-in attempts; wait a minute",
        ));
    }
    if state.signin_limiter.len() > 100_000 {
        state.signin_limiter.retain_recent();
    }
    let Some((user, Some(hash))) = store::user_by_email(&state.pool, &email).await? else {
        return Err(bad());
    };
    if !auth::verify_password(body.password, hash).await {
        return Err(bad());
    }
    start_session(&state, jar, user, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GuestIn {
    name: Option<String>,
}

async fn guest(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Option<Json<GuestIn>>,
) -> Result<Response, AppError> {
    let name = match body.and_then(|Json(b)| b.name) {
        Some(name) => {
            auth::validate_display_name(&name)?;
            name.trim().to_owned()
        }
        None => format!("Guest {}", rand::random_range(1000..10000)),
    };
    let user = User {
        id: UserId::new_random(),
        email: None,
        name,
        guest: true,
    };
    store::insert_user(&state.pool, &user, None, state.clock.now_ms()).await?;
    start_session(&state, jar, user, StatusCode::CREATED).await
}

async fn signout(
    State(state): State<AppState>,
    authed: Authed,
    jar: CookieJar,
) -> Result<Response, AppError> {
    store::delete_session(&state.pool, &authed.token_hash).await?;
    for conn in state.connections.iter() {
        if conn.token_hash == authed.token_hash {
            conn.ended.cancel();
        }
    }
    let jar = jar.remove(axum_extra::extract::cookie::Cookie::build(SESSION_COOKIE).path("/"));
    Ok((StatusCode::NO_CONTENT, jar).into_response())
}

async fn me(authed: Authed) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "user": authed.user }))
}

async fn store_info(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(&state.catalog.store).unwrap_or_default())
}

#[derive(Deserialize)]
struct CatalogQuery {
    q: Option<String>,
}

async fn catalog(
    State(state): State<AppState>,
    Query(query): Query<CatalogQuery>,
) -> Json<serde_json::Value> {
    let products = state.catalog.search(query.q.as_deref());
    Json(serde_json::json!({ "products": products }))
}

async fn product(
    State(state): State<AppState>,
    Path(sku): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let product = state
        .catalog
        .get(&sku)
        .ok_or_else(|| AppError::new(ErrorCode::UnknownSku, format!("no product {sku}")))?;
    Ok(Json(serde_json::to_value(product).unwrap_or_default()))
}

async fn image(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let sku = file.strip_suffix(".svg").unwrap_or(&file);
    let product = state
        .catalog
        .get(sku)
        .ok_or_else(|| AppError::new(ErrorCode::UnknownSku, format!("no product {sku}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        product_svg(product),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameIn {
    name: String,
}

/// The role of `user` in `cart`, or 404 for non-members (so carts are not probed).
async fn member_role(state: &AppState, cart: CartId, user: UserId) -> Result<MemberRole, AppError> {
    store::role_of(&state.pool, cart, user)
        .await?
        .ok_or_else(AppError::cart_not_found)
}

async fn require_role(
    state: &AppState,
    cart: CartId,
    authed: &Authed,
    needed: MemberRole,
) -> Result<MemberRole, AppError> {
    let role = member_role(state, cart, authed.user.id).await?;
    if role < needed {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            format!(
                "this needs the {} role; you are {}",
                needed.as_str(),
                role.as_str()
            ),
        ));
    }
    Ok(role)
}

fn parse_cart(id: &str) -> Result<CartId, AppError> {
    id.parse().map_err(|_| AppError::cart_not_found())
}

#[derive(Serialize)]
struct CartOut {
    id: CartId,
    role: MemberRole,
    #[serde(flatten)]
    view: CartView,
}

async fn create_cart(
    State(state): State<AppState>,
    authed: Authed,
    Json(body): Json<NameIn>,
) -> Result<Response, AppError> {
    cart::validate_name(&body.name)?;
    if store::count_created_carts(&state.pool, authed.user.id).await? >= MAX_CARTS_PER_USER {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            format!("one account may create at most {MAX_CARTS_PER_USER} carts"),
        ));
    }
    let id = CartId::new_random();
    let actor = actor_of(&authed.user);
    let now = state.clock.now_ms();
    let name = body.name.trim();
    let doc = cart::new_cart_doc(
        name,
        &state.catalog.store.currency,
        &actor,
        now,
        state.node_id,
    );
    store::create_cart(
        &state.pool,
        id,
        &state.catalog.store.id,
        name,
        authed.user.id,
        &doc.save(),
        now,
    )
    .await?;
    let view = cart::view(&doc)?;
    Ok((
        StatusCode::CREATED,
        Json(CartOut {
            id,
            role: MemberRole::Admin,
            view,
        }),
    )
        .into_response())
}

fn actor_of(user: &User) -> Actor {
    Actor {
        user_id: user.id,
        name: user.name.clone(),
    }
}

async fn list_carts(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<serde_json::Value>, AppError> {
    let carts = store::list_carts(&state.pool, authed.user.id).await?;
    Ok(Json(serde_json::json!({ "carts": carts })))
}

/// Sends a command to the cart's room and waits for its answer; a room that
/// cannot answer (shutting down, storage failing) is `unavailable`.
async fn ask_room<T>(
    state: &AppState,
    cart: CartId,
    cmd: impl FnOnce(oneshot::Sender<T>) -> RoomCmd,
) -> Result<T, AppError> {
    let (reply, rx) = oneshot::channel();
    state
        .rooms
        .send(state, cart, cmd(reply))
        .await
        .map_err(|_| AppError::unavailable())?;
    rx.await.map_err(|_| AppError::unavailable())
}

async fn get_cart(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<CartOut>, AppError> {
    let cart = parse_cart(&id)?;
    let role = member_role(&state, cart, authed.user.id).await?;
    let view = ask_room(&state, cart, |reply| RoomCmd::View { reply }).await?;
    Ok(Json(CartOut {
        id: cart,
        role,
        view,
    }))
}

/// Runs an op through the cart's room as the signed-in user.
async fn run_op(
    state: &AppState,
    cart: CartId,
    authed: &Authed,
    op_id: OpId,
    op: Op,
) -> Result<OpAck, AppError> {
    let role = member_role(state, cart, authed.user.id).await?;
    let actor = actor_of(&authed.user);
    let answer = ask_room(state, cart, |reply| RoomCmd::Op {
        origin: OpOrigin::Http { actor, role, reply },
        op_id,
        op,
    })
    .await?;
    Ok(answer?)
}

async fn rename_cart(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    Json(body): Json<NameIn>,
) -> Result<Json<CartOut>, AppError> {
    let cart = parse_cart(&id)?;
    let op_id = OpId(format!("rename-{}", auth::new_token()[..16].to_owned()));
    run_op(&state, cart, &authed, op_id, Op::Rename { name: body.name }).await?;
    get_cart(State(state), authed, Path(id)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpIn {
    op_id: OpId,
    op: Op,
}

async fn post_op(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    Json(body): Json<OpIn>,
) -> Result<Json<OpAck>, AppError> {
    let cart = parse_cart(&id)?;
    Ok(Json(
        run_op(&state, cart, &authed, body.op_id, body.op).await?,
    ))
}

async fn delete_cart(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let cart = parse_cart(&id)?;
    require_role(&state, cart, &authed, MemberRole::Admin).await?;
    // Once answered, the room has finished its commits and told its subscribers.
    ask_room(&state, cart, |reply| RoomCmd::Delete { reply }).await?;
    store::delete_cart(&state.pool, cart).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn octets(bytes: bytes::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

async fn document(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let cart = parse_cart(&id)?;
    member_role(&state, cart, authed.user.id).await?;
    let kind = BytesKind::Document;
    Ok(octets(
        ask_room(&state, cart, |reply| RoomCmd::Bytes { kind, reply }).await?,
    ))
}

async fn changes(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let cart = parse_cart(&id)?;
    member_role(&state, cart, authed.user.id).await?;
    let kind = BytesKind::Changes;
    Ok(octets(
        ask_room(&state, cart, |reply| RoomCmd::Bytes { kind, reply }).await?,
    ))
}

#[derive(Deserialize)]
struct ActivityQuery {
    limit: Option<i64>,
}

async fn activity(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    Query(query): Query<ActivityQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let cart = parse_cart(&id)?;
    member_role(&state, cart, authed.user.id).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::new(ErrorCode::InvalidField, "limit is 1 to 200"));
    }
    let events = store::recent_activity(&state.pool, cart, limit).await?;
    Ok(Json(serde_json::json!({ "activity": events })))
}

async fn list_members(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let cart = parse_cart(&id)?;
    member_role(&state, cart, authed.user.id).await?;
    let members = store::list_members(&state.pool, cart).await?;
    Ok(Json(serde_json::json!({ "members": members })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddMemberIn {
    email: String,
    role: MemberRole,
}

async fn add_member(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    Json(body): Json<AddMemberIn>,
) -> Result<Response, AppError> {
    let cart = parse_cart(&id)?;
    require_role(&state, cart, &authed, MemberRole::Admin).await?;
    let email = body.email.trim().to_lowercase();
    let Some((user, _)) = store::user_by_email(&state.pool, &email).await? else {
        return Err(AppError::new(
            ErrorCode::UserNotFound,
            format!("no account with the e-mail {email}"),
        ));
    };
    set_role(&state, cart, &authed, user.id, Some(body.role), true).await?;
    let member = store::Member {
        user_id: user.id,
        name: user.name,
        email: user.email,
        role: body.role,
    };
    Ok((StatusCode::CREATED, Json(member)).into_response())
}

/// Changes a membership, tells the cart's room (live connections follow at
/// once) and records it in the cart's activity.
async fn set_role(
    state: &AppState,
    cart: CartId,
    by: &Authed,
    user: UserId,
    role: Option<MemberRole>,
    add: bool,
) -> Result<(), AppError> {
    let member_name = store::user_name(&state.pool, user)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::UserNotFound, "no such member"))?;
    let was_member = store::role_of(&state.pool, cart, user).await?.is_some();
    store::set_member_role(
        &state.pool,
        cart,
        user,
        role,
        add,
        MAX_MEMBERS,
        state.clock.now_ms(),
    )
    .await?;
    let cmd = RoomCmd::MemberChanged {
        user_id: user,
        member_name,
        role,
        added: !was_member,
        by: actor_of(&by.user),
    };
    // The change is made; a room that cannot take the note now misses only the feed entry.
    let _ = state.rooms.send(state, cart, cmd).await;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleIn {
    role: MemberRole,
}

fn parse_user(id: &str) -> Result<UserId, AppError> {
    id.parse()
        .map_err(|_| AppError::new(ErrorCode::UserNotFound, "no such member"))
}

async fn change_member(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, user_id)): Path<(String, String)>,
    Json(body): Json<RoleIn>,
) -> Result<Json<serde_json::Value>, AppError> {
    let cart = parse_cart(&id)?;
    let user = parse_user(&user_id)?;
    require_role(&state, cart, &authed, MemberRole::Admin).await?;
    set_role(&state, cart, &authed, user, Some(body.role), false).await?;
    let members = store::list_members(&state.pool, cart).await?;
    let member = members
        .into_iter()
        .find(|m| m.user_id == user)
        .ok_or_else(|| AppError::new(ErrorCode::UserNotFound, "no such member"))?;
    Ok(Json(serde_json::to_value(member).unwrap_or_default()))
}

async fn remove_member(
    State(state): State<AppState>,
    authed: Authed,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let cart = parse_cart(&id)?;
    let user = parse_user(&user_id)?;
    // Anyone may leave; only admins remove others.
    if user != authed.user.id {
        require_role(&state, cart, &authed, MemberRole::Admin).await?;
    } else {
        member_role(&state, cart, user).await?;
    }
    set_role(&state, cart, &authed, user, None, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
