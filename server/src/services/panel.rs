//! The cart panel beside a conversation (`docs/protocol.md` section 13,
//! "Cart panel"): the customer's carts in every store the agent works for,
//! grouped by store, each with its first lines, priced and stocked from the
//! cart's own store's catalog. Lines are read from each cart's room, so the
//! panel is as current as the carts.
//!
//! Bounded: two lines per cart unless asked (at most
//! [`MAX_PANEL_LINES_PER_STORE`]), at most that many lines per store in one
//! answer and [`MAX_PANEL_CARTS_PER_STORE`] carts per store; `truncated`
//! says when something was left out, and `.../lines` pages through a cart.

use std::sync::Arc;

use cartroom_protocol::http::{CartView, LineView};
use cartroom_protocol::support::ConversationId;
use cartroom_protocol::takeover::{
    MAX_PANEL_CARTS_PER_STORE, MAX_PANEL_LINES_PER_STORE, PanelCart, PanelLine, PanelLinesResponse,
    PanelResponse, PanelStore, StockStatus,
};
use cartroom_protocol::{CartId, ErrorCode, UserId};
use tokio::sync::oneshot;

use super::error::Result;
use crate::catalog::{Catalog, Catalogs, image_url};
use crate::refusal::Refusal;
use crate::room::{RoomCmd, Rooms};
use crate::store::{Memberships, StoreStaff, Support, Takeovers};

/// Units left at or under which a product counts as low.
const LOW_STOCK: i64 = 10;

/// What the panel reads from.
pub struct PanelDeps {
    pub takeovers: Arc<dyn Takeovers>,
    /// Whose conversation it is, and with which store.
    pub conversations: Arc<dyn Support>,
    pub members: Arc<dyn Memberships>,
    /// Which stores the agent works for.
    pub staff: Arc<dyn StoreStaff>,
    pub rooms: Arc<Rooms>,
    pub catalogs: Catalogs,
}

/// The cart panel.
pub struct PanelService {
    deps: PanelDeps,
}

impl PanelService {
    pub fn new(deps: PanelDeps) -> Self {
        Self { deps }
    }

    /// The customer of the conversation, if the agent works for its
    /// store; `not_found` otherwise (another store's conversation does not
    /// exist for them).
    async fn customer(&self, agent: UserId, conversation: &str) -> Result<(UserId, Vec<String>)> {
        let Ok(id) = conversation.parse::<ConversationId>() else {
            return Err(not_found());
        };
        let Some(found) = self.deps.conversations.conversation(id).await? else {
            return Err(not_found());
        };
        let (conv_store, user) = (found.store_id, found.customer.user_id);
        let stores: Vec<String> = self
            .deps
            .staff
            .stores_of(agent)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if !stores.contains(&conv_store) {
            return Err(not_found());
        }
        Ok((user, stores))
    }

    /// The customer's carts in every store the agent works for, with the
    /// first `lines_per_cart` lines of each.
    pub async fn panel(
        &self,
        agent: UserId,
        conversation: &str,
        lines_per_cart: usize,
    ) -> Result<PanelResponse> {
        check_limit("lines", lines_per_cart, 0)?;
        let (user, stores) = self.customer(agent, conversation).await?;
        let mut answer = Vec::with_capacity(stores.len());
        for store_id in stores {
            let Some(catalog) = self.deps.catalogs.get(&store_id).map(|c| c.current()) else {
                continue;
            };
            let mut carts = self
                .deps
                .takeovers
                .customer_carts(user, &store_id, MAX_PANEL_CARTS_PER_STORE + 1)
                .await?;
            let mut truncated = carts.len() > MAX_PANEL_CARTS_PER_STORE;
            carts.truncate(MAX_PANEL_CARTS_PER_STORE);
            let mut budget = MAX_PANEL_LINES_PER_STORE;
            let mut panel_carts = Vec::with_capacity(carts.len());
            for cart in carts {
                // A cart deleted since it was listed is left out.
                let Some(view) = self.view(cart.cart_id).await else {
                    continue;
                };
                let wanted = lines_per_cart.min(view.lines.len());
                let take = wanted.min(budget);
                truncated |= take < wanted;
                budget -= take;
                panel_carts.push(PanelCart {
                    cart_id: cart.cart_id,
                    name: view.name.clone(),
                    subtotal: view.subtotal,
                    line_count: view.lines.len(),
                    more: view.lines.len() > take,
                    lines: panel_lines(&catalog, &view.lines[..take]),
                });
            }
            answer.push(PanelStore {
                store_id: catalog.store.id.clone(),
                store_name: catalog.store.name.clone(),
                currency: catalog.store.currency.clone(),
                carts: panel_carts,
                truncated,
            });
        }
        Ok(PanelResponse { stores: answer })
    }

    /// A page of one of the customer's carts' lines.
    pub async fn lines(
        &self,
        agent: UserId,
        conversation: &str,
        cart: CartId,
        offset: usize,
        limit: usize,
    ) -> Result<PanelLinesResponse> {
        check_limit("limit", limit, 1)?;
        let (user, stores) = self.customer(agent, conversation).await?;
        let facts = self.deps.takeovers.cart_facts(cart).await?;
        let in_reach = match &facts {
            Some(facts) => {
                stores.contains(&facts.store_id)
                    && self.deps.members.role_of(cart, user).await?.is_some()
            }
            None => false,
        };
        let catalog = facts
            .filter(|_| in_reach)
            .and_then(|f| self.deps.catalogs.get(&f.store_id).map(|c| c.current()))
            .ok_or_else(Refusal::cart_not_found)?;
        let view = self.view(cart).await.ok_or_else(Refusal::cart_not_found)?;
        let start = offset.min(view.lines.len());
        let end = start.saturating_add(limit).min(view.lines.len());
        Ok(PanelLinesResponse {
            cart_id: cart,
            offset,
            lines: panel_lines(&catalog, &view.lines[start..end]),
            line_count: view.lines.len(),
            more: end < view.lines.len(),
        })
    }

    /// The cart's view once everything made so far is durable; `None`
    /// when its room cannot answer (no such cart, or unavailable).
    async fn view(&self, cart: CartId) -> Option<CartView> {
        let (reply, rx) = oneshot::channel();
        self.deps
            .rooms
            .send(cart, RoomCmd::View { reply })
            .await
            .ok()?;
        rx.await.ok()
    }
}

fn not_found() -> crate::services::ServiceError {
    Refusal::new(ErrorCode::NotFound, "no such conversation").into()
}

fn check_limit(name: &str, value: usize, min: usize) -> Result<()> {
    if (min..=MAX_PANEL_LINES_PER_STORE).contains(&value) {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::InvalidField,
        format!("{name} is {min} to {MAX_PANEL_LINES_PER_STORE}"),
    )
    .into())
}

/// Lines as the panel shows them, with the store's picture and stock.
fn panel_lines(catalog: &Catalog, lines: &[LineView]) -> Vec<PanelLine> {
    lines
        .iter()
        .map(|line| {
            let product = catalog.get(&line.sku);
            let price = line
                .group_buy
                .as_ref()
                .map_or(line.unit_price, |g| g.list_price);
            PanelLine {
                line_id: line.line_id.clone(),
                sku: line.sku.clone(),
                name: line.name.clone(),
                image_url: product.map_or_else(
                    || image_url(&catalog.store.id, &line.sku),
                    |p| p.image_url.clone(),
                ),
                price,
                unit_price: line.unit_price,
                discount: price - line.unit_price,
                quantity: line.quantity,
                line_total: line.line_total,
                stock: stock_status(product.map_or(0, |p| p.stock), line.quantity),
            }
        })
        .collect()
}

/// Out of stock when the store cannot fill the line; low when it has at
/// most [`LOW_STOCK`] left or less than twice the line's quantity.
fn stock_status(stock: i64, quantity: i64) -> StockStatus {
    if stock <= 0 || stock < quantity {
        StockStatus::OutOfStock
    } else if stock <= LOW_STOCK || stock < 2 * quantity {
        StockStatus::Low
    } else {
        StockStatus::InStock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_status_follows_what_is_left() {
        assert_eq!(stock_status(0, 1), StockStatus::OutOfStock);
        assert_eq!(stock_status(3, 5), StockStatus::OutOfStock);
        assert_eq!(stock_status(8, 1), StockStatus::Low);
        assert_eq!(stock_status(50, 30), StockStatus::Low);
        assert_eq!(stock_status(500, 2), StockStatus::InStock);
    }
}
