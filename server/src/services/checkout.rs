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

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cartroom_protocol::checkout::{
    Blocker, CartPhase, CheckoutQuote, OrderAddress, OrderLine, OrderShare, OrderView,
    PlaceOrderRequest, QuoteLine, ShareView, ShippingLine, SplitPlan,
};
use cartroom_protocol::http::CartView;
use cartroom_protocol::{CartId, ErrorCode, UserId};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::error::{Result, ServiceError};
use super::orders::OrderService;
use crate::cart::Actor;
use crate::cart::checkout::unit_price;
use crate::catalog::{Catalog, CatalogHandle};
use crate::checkout::payment::ShareDue;
use crate::checkout::{PaymentProvider, SplitInput, split};
use crate::clock::Clock;
use crate::money::format_money;
use crate::policy::phase_words;
use crate::refusal::Refusal;
use crate::room::{RoomCmd, Rooms};
use crate::store::{CheckoutSettings, Memberships, NewOrder, Orders, PlaceError, UnsyncedOrder};

/// Quotes and places orders.
pub struct CheckoutService {
    orders: Arc<dyn Orders>,
    members: Arc<dyn Memberships>,
    rooms: Arc<Rooms>,
    catalog: CatalogHandle,
    clock: Arc<dyn Clock>,
    payments: Arc<dyn PaymentProvider>,
    placed: Arc<OrderService>,
}

/// What a checkout service is built from.
pub struct CheckoutDeps {
    pub orders: Arc<dyn Orders>,
    pub members: Arc<dyn Memberships>,
    pub rooms: Arc<Rooms>,
    pub catalog: CatalogHandle,
    pub clock: Arc<dyn Clock>,
    pub payments: Arc<dyn PaymentProvider>,
    /// Tells carts about their orders.
    pub placed: Arc<OrderService>,
}

/// A quote and what placing it needs besides.
struct Quoted {
    quote: CheckoutQuote,
    /// Names of the cart's members, by user id.
    names: HashMap<UserId, String>,
    addresses: Vec<OrderAddress>,
}

impl CheckoutService {
    pub fn new(deps: CheckoutDeps) -> Self {
        Self {
            orders: deps.orders,
            members: deps.members,
            rooms: deps.rooms,
            catalog: deps.catalog,
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

    async fn place_held(
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
        let order = NewOrder {
            store_id: self.catalog.current().store.id.clone(),
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
        self.catalog.adjust_stock(&taken);
        Ok(order.view())
    }

    /// The quote of a cart's view, with the catalog and settings of now.
    async fn quoted(&self, cart: CartId, view: &CartView) -> Result<Quoted> {
        let catalog = self.catalog.current();
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

fn money(amount: i64, currency: &str) -> String {
    format_money(amount, currency)
}

/// The quote of `view`: prices and tiers from `catalog` now, shipping from
/// the store's rates, the split of the total, and what blocks the order.
fn quote(
    cart: CartId,
    view: &CartView,
    catalog: &Catalog,
    settings: &CheckoutSettings,
    names: &HashMap<UserId, String>,
) -> Quoted {
    let checkout = view.checkout.clone().unwrap_or_default();
    let currency = view.currency.clone();
    let mut blockers = Vec::new();
    let mut block = |code: ErrorCode, message: String| blockers.push(Blocker { code, message });
    match checkout.phase {
        CartPhase::Open => block(
            ErrorCode::WrongPhase,
            "lock the cart before placing its order".into(),
        ),
        CartPhase::Ordered => block(
            ErrorCode::CartLocked,
            "the order of this cart is placed".into(),
        ),
        _ => {}
    }
    if view.lines.is_empty() {
        block(ErrorCode::InvalidField, "the cart is empty".into());
    }
    let mut lines = Vec::with_capacity(view.lines.len());
    let mut price_changes = Vec::new();
    let mut short = Vec::new();
    for line in &view.lines {
        let (price, stock) = match catalog.get(&line.sku) {
            Some(p) => {
                let tier = p.group_buy.as_ref().map(|g| (g.min_quantity, g.price));
                (unit_price(p.price, tier, line.quantity), p.stock)
            }
            None => {
                block(
                    ErrorCode::UnknownSku,
                    format!("{} is no longer sold; remove it from the cart", line.name),
                );
                (line.unit_price, 0)
            }
        };
        if price != line.unit_price {
            price_changes.push(format!(
                "{}: {} → {}",
                line.name,
                money(line.unit_price, &currency),
                money(price, &currency)
            ));
        }
        if stock < line.quantity {
            short.push(format!("{} ({} left)", line.name, stock));
        }
        let (owner, owner_name) = match (&line.assigned_to, &line.assigned_to_name) {
            (Some(user), Some(name)) => (user.clone(), name.clone()),
            _ => (line.added_by.clone(), line.added_by_name.clone()),
        };
        lines.push(QuoteLine {
            line_id: line.line_id.clone(),
            sku: line.sku.clone(),
            name: line.name.clone(),
            quantity: line.quantity,
            cart_price: line.unit_price,
            unit_price: price,
            line_total: price * line.quantity,
            owner,
            owner_name,
            stock,
        });
    }
    if !short.is_empty() {
        block(
            ErrorCode::OutOfStock,
            format!("out of stock: {}", short.join(", ")),
        );
    }
    let subtotal: i64 = lines.iter().map(|l| l.line_total).sum();
    let price_of: HashMap<&str, i64> = lines
        .iter()
        .map(|l| (l.line_id.as_str(), l.unit_price))
        .collect();
    let mut shipping = Vec::new();
    let mut addresses = Vec::new();
    for address in &checkout.addresses {
        let units: i64 = address.lines.values().sum();
        let goods: i64 = address
            .lines
            .iter()
            .map(|(line, n)| price_of.get(line.as_str()).copied().unwrap_or(0) * n)
            .sum();
        let amount = settings
            .rates
            .parcel(&address.address.country, units, goods);
        shipping.push(ShippingLine {
            address_id: address.address_id.clone(),
            label: address.address.label.clone(),
            units,
            goods,
            amount,
        });
        if units > 0 {
            addresses.push(OrderAddress {
                address_id: address.address_id.clone(),
                address: address.address.clone(),
                lines: address.lines.clone(),
                shipping: amount,
            });
        }
    }
    if !checkout.addresses.is_empty() {
        let mut unshipped = Vec::new();
        for line in &view.lines {
            let shipped: i64 = checkout
                .addresses
                .iter()
                .filter_map(|a| a.lines.get(&line.line_id))
                .sum();
            if shipped < line.quantity {
                unshipped.push(format!(
                    "{}: {} of {} not shipped to any address",
                    line.name,
                    line.quantity - shipped,
                    line.quantity
                ));
            } else if shipped > line.quantity {
                unshipped.push(format!(
                    "{}: {} shipped but the cart has {}",
                    line.name, shipped, line.quantity
                ));
            }
        }
        if !unshipped.is_empty() {
            block(ErrorCode::UnassignedQuantity, unshipped.join("; "));
        }
    }
    let shipping_total: i64 = shipping.iter().map(|s| s.amount).sum();
    let total = subtotal + shipping_total;
    let approval_over = checkout.approval_over.or(settings.approval_over);
    let needs_approval = approval_over.is_some_and(|over| total > over);
    if needs_approval
        && matches!(
            checkout.phase,
            CartPhase::Locked | CartPhase::PendingApproval
        )
    {
        block(
            ErrorCode::ApprovalRequired,
            format!(
                "orders over {} need approval; this one is {} and the cart is {}",
                money(approval_over.unwrap_or(0), &currency),
                money(total, &currency),
                phase_words(checkout.phase)
            ),
        );
    }
    let mut shares = Vec::new();
    if let Some(plan) = &checkout.split {
        let mut owned: BTreeMap<UserId, i64> = BTreeMap::new();
        let mut owner_names: HashMap<UserId, String> = HashMap::new();
        let mut stray = false;
        for line in &lines {
            match line.owner.parse::<UserId>() {
                Ok(user) => {
                    *owned.entry(user).or_default() += line.line_total;
                    owner_names.insert(user, line.owner_name.clone());
                }
                Err(_) => stray = true,
            }
        }
        let payers: Vec<UserId> = match plan {
            SplitPlan::OnePayer { payer } => vec![*payer],
            SplitPlan::Even { payers } => payers.clone(),
            SplitPlan::ByItem => owned.keys().copied().collect(),
            SplitPlan::Custom { amounts, rest } => amounts.keys().copied().chain([*rest]).collect(),
        };
        let gone: Vec<String> = payers
            .iter()
            .filter(|p| !names.contains_key(p))
            .map(|p| owner_names.get(p).cloned().unwrap_or_else(|| p.to_string()))
            .collect();
        let input = SplitInput {
            subtotal,
            shipping: shipping_total,
            owned,
        };
        if stray {
            block(
                ErrorCode::SplitInvalid,
                "a line was added by no known member".into(),
            );
        } else if !gone.is_empty() {
            block(
                ErrorCode::SplitInvalid,
                format!("not members of the cart any more: {}", gone.join(", ")),
            );
        } else {
            match split(plan, &input) {
                Ok(parts) => {
                    shares = parts
                        .into_iter()
                        .map(|(user_id, amount)| ShareView {
                            name: names
                                .get(&user_id)
                                .or_else(|| owner_names.get(&user_id))
                                .cloned()
                                .unwrap_or_default(),
                            user_id,
                            amount,
                        })
                        .collect();
                }
                Err(e) => block(ErrorCode::SplitInvalid, e.to_string()),
            }
        }
    }
    Quoted {
        quote: CheckoutQuote {
            cart_id: cart,
            phase: checkout.phase,
            currency,
            lines,
            subtotal,
            shipping,
            shipping_total,
            total,
            price_changes,
            approval_over,
            needs_approval,
            split: checkout.split,
            shares,
            blockers,
        },
        names: names.clone(),
        addresses,
    }
}

#[cfg(test)]
mod tests {
    use cartroom_protocol::Heads;
    use cartroom_protocol::checkout::{Address, AddressView, CheckoutView};
    use cartroom_protocol::http::{GroupBuy, LineView, Product, StoreInfo};

    use super::*;
    use crate::catalog::Listing;
    use crate::checkout::{RateTable, ShippingRate};

    fn catalog(mug_price: i64) -> Catalog {
        let listing = |sku: &str, name: &str, price, group_buy| Listing {
            product: Product {
                sku: sku.into(),
                name: name.into(),
                price,
                currency: "USD".into(),
                stock: 4,
                image_url: String::new(),
                group_buy,
            },
            color: "#000".into(),
        };
        Catalog::new(
            StoreInfo {
                id: "demo".into(),
                name: "Shop".into(),
                currency: "USD".into(),
            },
            vec![
                listing(
                    "MUG",
                    "Mug",
                    mug_price,
                    Some(GroupBuy {
                        min_quantity: 10,
                        price: 950,
                    }),
                ),
                listing("TEA", "Tea", 650, None),
            ],
        )
    }

    fn line(sku: &str, unit_price: i64, quantity: i64, by: UserId, name: &str) -> LineView {
        LineView {
            line_id: sku.into(),
            sku: sku.into(),
            name: sku.into(),
            unit_price,
            quantity,
            line_total: unit_price * quantity,
            note: String::new(),
            added_by: by.to_string(),
            added_by_name: name.into(),
            added_at: 0,
            group_buy: None,
            assigned_to: None,
            assigned_to_name: None,
        }
    }

    fn cart_view(lines: Vec<LineView>, checkout: CheckoutView) -> CartView {
        CartView {
            name: "Lunch".into(),
            note: String::new(),
            currency: "USD".into(),
            subtotal: lines.iter().map(|l| l.line_total).sum(),
            item_count: lines.iter().map(|l| l.quantity).sum(),
            lines,
            suggestions: Vec::new(),
            heads: Heads::default(),
            checkout: Some(checkout),
        }
    }

    fn settings() -> CheckoutSettings {
        CheckoutSettings {
            approval_over: Some(10_000),
            rates: RateTable(vec![ShippingRate {
                country: "*".into(),
                price: 500,
                free_over: None,
            }]),
        }
    }

    #[test]
    fn a_quote_charges_the_catalog_price_of_now_and_says_what_changed() {
        let (ana, ben) = (UserId::new_random(), UserId::new_random());
        let names = HashMap::from([(ana, "Ana".to_owned()), (ben, "Ben".to_owned())]);
        let view = cart_view(
            vec![
                line("MUG", 1200, 2, ana, "Ana"),
                line("TEA", 650, 5, ben, "Ben"),
            ],
            CheckoutView {
                phase: CartPhase::Locked,
                split: Some(SplitPlan::ByItem),
                ..CheckoutView::default()
            },
        );
        let cart = CartId::new_random();
        let quoted = quote(cart, &view, &catalog(1000), &settings(), &names);
        let q = quoted.quote;
        assert_eq!(q.price_changes, ["MUG: $12.00 → $10.00"]);
        assert_eq!(q.subtotal, 2 * 1000 + 5 * 650);
        assert_eq!(q.total, q.subtotal, "no addresses: picked up, no shipping");
        assert!(!q.needs_approval);
        // Tea: 5 wanted, 4 in stock: shown, and left for the order to decide.
        assert_eq!(q.blockers.len(), 1, "{:?}", q.blockers);
        assert_eq!(q.blockers[0].code, ErrorCode::OutOfStock);
        let shares: i64 = q.shares.iter().map(|s| s.amount).sum();
        assert_eq!(shares, q.total);

        // Shipping per address, unshipped units, the store's approval rule,
        // and a payer who left the cart.
        let mut checkout = CheckoutView {
            phase: CartPhase::Locked,
            split: Some(SplitPlan::OnePayer {
                payer: UserId::new_random(),
            }),
            ..CheckoutView::default()
        };
        checkout.addresses.push(AddressView {
            address_id: "a-1".into(),
            address: Address {
                country: "US".into(),
                ..Address::default()
            },
            lines: [("MUG".to_owned(), 9)].into(),
        });
        let view = cart_view(vec![line("MUG", 1200, 12, ana, "Ana")], checkout);
        let q = quote(cart, &view, &catalog(1200), &settings(), &names).quote;
        // Twelve reach the tier in the catalog too.
        assert_eq!(q.lines[0].unit_price, 950);
        assert_eq!(q.shipping_total, 500);
        assert_eq!(q.total, 12 * 950 + 500);
        assert!(q.needs_approval);
        let codes: Vec<ErrorCode> = q.blockers.iter().map(|b| b.code).collect();
        assert_eq!(
            codes,
            [
                ErrorCode::OutOfStock,
                ErrorCode::UnassignedQuantity,
                ErrorCode::ApprovalRequired,
                ErrorCode::SplitInvalid
            ]
        );
        assert!(
            q.blockers[1].message.contains("3 of 12"),
            "{:?}",
            q.blockers
        );
    }
}
