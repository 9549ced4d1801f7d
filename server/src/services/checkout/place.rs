//! Placing the order of a held cart: quoted afresh, refused when a
//! blocker stands or the buyer was shown another total (`price_changed`),
//! then written with its stock in one transaction of the store, whose
//! answer (`out_of_stock` naming the short lines) is the buyer's.

use cartroom_protocol::CartId;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::checkout::{
    OrderLine, OrderShare, OrderView, PlaceOrderRequest, ShareView, SplitPlan,
};
use cartroom_protocol::http::CartView;
use uuid::Uuid;

use super::CheckoutService;
use super::quote::{Quoted, money};
use crate::cart::Actor;
use crate::checkout::payment::ShareDue;
use crate::refusal::Refusal;
use crate::services::error::{Result, ServiceError};
use crate::store::{NewOrder, PlaceError};

impl CheckoutService {
    pub(super) async fn place_held(
        &self,
        cart: CartId,
        actor: &Actor,
        req: &PlaceOrderRequest,
        view: &CartView,
    ) -> Result<OrderView> {
        let Quoted {
            quote,
            names,
            addresses,
        } = self.quoted(cart, view).await?;
        // Stock is the transaction's to decide, with the stock of this moment.
        if let Some(blocker) = quote
            .blockers
            .iter()
            .find(|b| b.code != ErrorCode::OutOfStock)
        {
            return Err(Refusal::new(blocker.code, blocker.message.clone()).into());
        }
        if req.expected_total != quote.total {
            let changes = if quote.price_changes.is_empty() {
                String::new()
            } else {
                format!("{}; ", quote.price_changes.join(", "))
            };
            return Err(Refusal::new(
                ErrorCode::PriceChanged,
                format!(
                    "{changes}the total is now {} (you were shown {}): confirm by placing the order with expected_total {}",
                    money(quote.total, &quote.currency),
                    money(req.expected_total, &quote.currency),
                    quote.total
                ),
            )
            .into());
        }
        let plan = quote.split.clone().unwrap_or(SplitPlan::OnePayer {
            payer: actor.user_id,
        });
        let shares = if quote.split.is_some() {
            quote.shares.clone()
        } else {
            vec![ShareView {
                user_id: actor.user_id,
                name: actor.name.clone(),
                amount: quote.total,
            }]
        };
        let id = Uuid::new_v4().to_string();
        let catalog = self.catalog_of(cart).await?;
        let order = NewOrder {
            store_id: catalog.current().store.id.clone(),
            cart_id: cart,
            cart_name: view.name.clone(),
            placed_by: actor.user_id,
            placed_by_name: actor.name.clone(),
            currency: quote.currency.clone(),
            subtotal: quote.subtotal,
            shipping: quote.shipping_total,
            total: quote.total,
            lines: quote
                .lines
                .iter()
                .map(|l| OrderLine {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    unit_price: l.unit_price,
                    quantity: l.quantity,
                    line_total: l.line_total,
                    owner: l.owner.clone(),
                    owner_name: l.owner_name.clone(),
                })
                .collect(),
            addresses,
            split: plan,
            shares: shares
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let opened = self.payments.open(&ShareDue {
                        order_id: &id,
                        position: i + 1,
                        user_id: s.user_id,
                        amount: s.amount,
                        currency: &quote.currency,
                    });
                    OrderShare {
                        user_id: s.user_id,
                        name: names
                            .get(&s.user_id)
                            .cloned()
                            .unwrap_or_else(|| s.name.clone()),
                        amount: s.amount,
                        provider: self.payments.id().to_owned(),
                        reference: opened.reference,
                        instructions: opened.instructions,
                        paid_at: None,
                    }
                })
                .collect(),
            now_ms: self.clock.now_ms(),
            id,
        };
        self.orders
            .place_order(&order)
            .await
            .map_err(|e| -> ServiceError {
                match e {
                    PlaceError::OutOfStock(short) => {
                        let lines: Vec<String> = short
                            .iter()
                            .map(|s| {
                                format!(
                                    "{} ({}: {} left, {} wanted)",
                                    s.name, s.sku, s.in_stock, s.wanted
                                )
                            })
                            .collect();
                        Refusal::new(
                            ErrorCode::OutOfStock,
                            format!("out of stock: {}", lines.join(", ")),
                        )
                        .into()
                    }
                    PlaceError::CartHasOrder => {
                        Refusal::new(ErrorCode::WrongPhase, "this cart has an order already").into()
                    }
                    PlaceError::Store(e) => e.into(),
                }
            })?;
        let taken: Vec<(String, i64)> = order
            .lines
            .iter()
            .map(|l| (l.sku.clone(), -l.quantity))
            .collect();
        catalog.adjust_stock(&taken);
        Ok(order.view())
    }
}
