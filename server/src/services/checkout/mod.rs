//! Checkout: the quote (what the order would be if placed now) and placing
//! the order.
//!
//! Placing an order holds the cart's room (nothing but suggestions and
//! votes until the order is placed or given up), quotes it afresh with the
//! catalog's prices now, refuses it if the buyer was shown another total
//! (`price_changed`), then writes the order and takes its stock in one
//! database transaction: two carts racing for the last units never both
//! get them, and the loser hears which lines are short. Only then is the
//! catalog in memory moved to the new stock and the cart marked `ordered`.
//!
//! ## Layout
//! - this file: the service, and what it asks of the cart's room;
//! - [`place`]: placing a held cart's order (the price check, the order's
//!   snapshot, the transaction's answer);
//! - [`quote`]: the quote of a cart's view, pure: priced lines, blockers,
//!   approval; with [`shipping`] (per address, and units shipped nowhere)
//!   and [`shares`] (the split plan applied to the quote's total).

mod place;
#[cfg(test)]
mod place_tests;
mod quote;
#[cfg(test)]
mod quote_tests;
mod shares;
mod shipping;

use std::collections::HashMap;
use std::sync::Arc;

use cartroom_protocol::checkout::{CheckoutQuote, OrderView, PlaceOrderRequest};
use cartroom_protocol::http::CartView;
use cartroom_protocol::{CartId, UserId};
use tokio::sync::oneshot;

use self::quote::{Quoted, quote};
use super::error::Result;
use super::orders::OrderService;
use crate::cart::Actor;
use crate::catalog::{CatalogHandle, Catalogs};
use crate::checkout::PaymentProvider;
use crate::clock::Clock;
use crate::refusal::Refusal;
use crate::room::{RoomCmd, Rooms};
use crate::store::{Carts, Memberships, Orders, UnsyncedOrder};

/// Quotes and places orders.
pub struct CheckoutService {
    orders: Arc<dyn Orders>,
    members: Arc<dyn Memberships>,
    rooms: Arc<Rooms>,
    carts: Arc<dyn Carts>,
    catalogs: Catalogs,
    clock: Arc<dyn Clock>,
    payments: Arc<dyn PaymentProvider>,
    placed: Arc<OrderService>,
}

/// What a checkout service is built from.
pub struct CheckoutDeps {
    pub orders: Arc<dyn Orders>,
    pub members: Arc<dyn Memberships>,
    pub rooms: Arc<Rooms>,
    /// For the store of a cart.
    pub carts: Arc<dyn Carts>,
    pub catalogs: Catalogs,
    pub clock: Arc<dyn Clock>,
    pub payments: Arc<dyn PaymentProvider>,
    /// Tells carts about their orders.
    pub placed: Arc<OrderService>,
}

impl CheckoutService {
    pub fn new(deps: CheckoutDeps) -> Self {
        Self {
            orders: deps.orders,
            members: deps.members,
            rooms: deps.rooms,
            carts: deps.carts,
            catalogs: deps.catalogs,
            clock: deps.clock,
            payments: deps.payments,
            placed: deps.placed,
        }
    }

    /// What the order would be if placed now.
    pub async fn quote(&self, cart: CartId) -> Result<CheckoutQuote> {
        let view = self.ask(cart, |reply| RoomCmd::View { reply }).await?;
        Ok(self.quoted(cart, &view).await?.quote)
    }

    /// Places the cart's order (an admin of it): see the module's overview.
    pub async fn place(
        &self,
        cart: CartId,
        actor: &Actor,
        req: PlaceOrderRequest,
    ) -> Result<OrderView> {
        let view = self.ask(cart, |reply| RoomCmd::Hold { reply }).await??;
        match self.place_held(cart, actor, &req, &view).await {
            Ok(order) => {
                // The order stands; the cart follows (now, or at the next tick).
                self.placed
                    .tell_cart(UnsyncedOrder {
                        id: order.id.clone(),
                        cart_id: cart,
                        status: order.status,
                        total: order.total,
                        by_name: order.placed_by_name.clone(),
                    })
                    .await;
                Ok(order)
            }
            Err(e) => {
                let _ = self.rooms.send(cart, RoomCmd::Release).await;
                Err(e)
            }
        }
    }

    /// The catalog of the cart's store.
    async fn catalog_of(&self, cart: CartId) -> Result<CatalogHandle> {
        let store = self
            .carts
            .cart_store(cart)
            .await?
            .ok_or_else(Refusal::cart_not_found)?;
        Ok(self.catalogs.resolve(Some(&store))?.clone())
    }

    /// The quote of a cart's view, with the catalog and settings of now.
    async fn quoted(&self, cart: CartId, view: &CartView) -> Result<Quoted> {
        let catalog = self.catalog_of(cart).await?.current();
        let settings = self.orders.checkout_settings(&catalog.store.id).await?;
        let names: HashMap<UserId, String> = self
            .members
            .list_members(cart)
            .await?
            .into_iter()
            .map(|m| (m.user_id, m.name))
            .collect();
        Ok(quote(cart, view, &catalog, &settings, &names))
    }

    async fn ask<T>(
        &self,
        cart: CartId,
        cmd: impl FnOnce(oneshot::Sender<T>) -> RoomCmd,
    ) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        self.rooms
            .send(cart, cmd(reply))
            .await
            .map_err(|_| Refusal::unavailable())?;
        Ok(rx.await.map_err(|_| Refusal::unavailable())?)
    }
}
