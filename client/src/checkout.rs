//! Group checkout from the client's side: the checkout part of a replica's
//! view (read from the document exactly as the server reads it, so that the
//! two views agree), and the checkout and order calls of the HTTP API.

use std::collections::BTreeMap;

use automerge::{Automerge, ObjId, ROOT, ReadDoc, Value as AmValue};
use cartroom_protocol::checkout::{
    Address, AddressView, ApprovalView, BudgetView, CartOrderView, CartPhase, CheckoutQuote,
    CheckoutView, LineGroupBuy, MemberTotal, OrderStatus, OrderStatusRequest, OrderView,
    OrdersResponse, PlaceOrderRequest, SplitPlan,
};
use cartroom_protocol::http::LineView;
use cartroom_protocol::{CartId, UserId};
use reqwest::Method;

use crate::http::Account;
use crate::view::{get_i64, get_obj, get_str};

/// An int, `None` when absent.
pub(crate) fn opt_i64(doc: &Automerge, obj: &ObjId, key: &str) -> Option<i64> {
    match doc.get(obj, key).ok().flatten() {
        Some((AmValue::Scalar(s), _)) => s.as_i64(),
        _ => None,
    }
}

/// A line's group-buy tier and whether the line has reached it.
pub(crate) fn line_group_buy(
    doc: &Automerge,
    line: &ObjId,
    list_price: i64,
    quantity: i64,
) -> Option<LineGroupBuy> {
    let min_quantity = opt_i64(doc, line, "group_buy_min")?;
    let price = opt_i64(doc, line, "group_buy_price")?;
    Some(LineGroupBuy {
        min_quantity,
        price,
        list_price,
        active: quantity >= min_quantity,
    })
}

/// The `checkout` part of the view: the root `checkout` map, and what is
/// derived from the lines (each member's total, budgets' spent and left,
/// units not shipped anywhere).
pub(crate) fn checkout_view(doc: &Automerge, lines: &[LineView]) -> CheckoutView {
    let mut view = CheckoutView {
        members: member_totals(lines),
        ..CheckoutView::default()
    };
    let Some(obj) = get_obj(doc, &ROOT, "checkout") else {
        return view;
    };
    view.phase = CartPhase::parse(&get_str(doc, &obj, "phase")).unwrap_or_default();
    view.deadline = opt_i64(doc, &obj, "deadline");
    view.approval_over = opt_i64(doc, &obj, "approval_over");
    let approver = get_str(doc, &obj, "approver");
    if !approver.is_empty() {
        view.approver_name = Some(get_str(doc, &obj, "approver_name"));
        view.approver = Some(approver);
    }
    let split = get_str(doc, &obj, "split");
    view.split = serde_json::from_str::<SplitPlan>(&split).ok();
    if let Some(a) = get_obj(doc, &obj, "approval") {
        view.approval = Some(ApprovalView {
            status: get_str(doc, &a, "status"),
            by: get_str(doc, &a, "by"),
            by_name: get_str(doc, &a, "by_name"),
            comment: get_str(doc, &a, "comment"),
            at: get_i64(doc, &a, "at"),
        });
    }
    if let Some(budgets) = get_obj(doc, &obj, "budgets") {
        for user in doc.keys(&budgets) {
            let Some(b) = get_obj(doc, &budgets, &user) else {
                continue;
            };
            let amount = get_i64(doc, &b, "amount");
            let spent = view
                .members
                .iter()
                .find(|m| m.user_id == user)
                .map_or(0, |m| m.total);
            view.budgets.push(BudgetView {
                name: get_str(doc, &b, "name"),
                amount,
                spent,
                left: amount - spent,
                user_id: user,
            });
        }
        view.budgets
            .sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
    }
    if let Some(addresses) = get_obj(doc, &obj, "addresses") {
        for id in doc.keys(&addresses) {
            let Some(a) = get_obj(doc, &addresses, &id) else {
                continue;
            };
            let mut shipped = BTreeMap::new();
            if let Some(lines_obj) = get_obj(doc, &a, "lines") {
                for line in doc.keys(&lines_obj) {
                    let n = get_i64(doc, &lines_obj, &line);
                    shipped.insert(line, n);
                }
            }
            view.addresses.push(AddressView {
                address: Address {
                    label: get_str(doc, &a, "label"),
                    name: get_str(doc, &a, "name"),
                    line1: get_str(doc, &a, "line1"),
                    line2: get_str(doc, &a, "line2"),
                    city: get_str(doc, &a, "city"),
                    postal_code: get_str(doc, &a, "postal_code"),
                    country: get_str(doc, &a, "country"),
                },
                lines: shipped,
                address_id: id,
            });
        }
    }
    if !view.addresses.is_empty() {
        view.unassigned = lines
            .iter()
            .map(|line| {
                let shipped: i64 = view
                    .addresses
                    .iter()
                    .filter_map(|a| a.lines.get(&line.line_id))
                    .sum();
                (line.quantity - shipped).max(0)
            })
            .sum();
    }
    if let Some(order) = get_obj(doc, &obj, "order") {
        view.order = Some(CartOrderView {
            order_id: get_str(doc, &order, "id"),
            status: OrderStatus::parse(&get_str(doc, &order, "status"))
                .unwrap_or(OrderStatus::Pending),
            total: get_i64(doc, &order, "total"),
        });
    }
    view
}

/// Each member's lines (by who pays for them), sorted by name.
fn member_totals(lines: &[LineView]) -> Vec<MemberTotal> {
    let mut by_user: BTreeMap<&str, MemberTotal> = BTreeMap::new();
    for line in lines {
        let (user, name) = match (&line.assigned_to, &line.assigned_to_name) {
            (Some(user), Some(name)) => (user.as_str(), name.as_str()),
            _ => (line.added_by.as_str(), line.added_by_name.as_str()),
        };
        by_user
            .entry(user)
            .or_insert_with(|| MemberTotal {
                user_id: user.to_owned(),
                name: name.to_owned(),
                total: 0,
            })
            .total += line.line_total;
    }
    let mut totals: Vec<MemberTotal> = by_user.into_values().collect();
    totals.sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
    totals
}

impl Account {
    /// `GET /api/carts/{id}/checkout`: what the order would be now.
    pub async fn quote(&self, cart: CartId) -> anyhow::Result<CheckoutQuote> {
        let path = format!("/api/carts/{cart}/checkout");
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// `POST /api/carts/{id}/order` (admin), expecting the quote's total.
    pub async fn place_order(
        &self,
        cart: CartId,
        expected_total: i64,
    ) -> anyhow::Result<OrderView> {
        let path = format!("/api/carts/{cart}/order");
        let body = PlaceOrderRequest { expected_total };
        self.call(Method::POST, &path, Some(&body)).await
    }

    /// `GET /api/carts/{id}/orders`, newest first.
    pub async fn cart_orders(&self, cart: CartId) -> anyhow::Result<Vec<OrderView>> {
        let path = format!("/api/carts/{cart}/orders");
        let orders: OrdersResponse = self.call::<(), _>(Method::GET, &path, None).await?;
        Ok(orders.orders)
    }

    /// `GET /api/orders/{id}`.
    pub async fn order(&self, id: &str) -> anyhow::Result<OrderView> {
        let path = format!("/api/orders/{id}");
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// `GET /api/store/orders` (the store's staff).
    pub async fn store_orders(&self) -> anyhow::Result<Vec<OrderView>> {
        let orders: OrdersResponse = self
            .call::<(), _>(Method::GET, "/api/store/orders", None)
            .await?;
        Ok(orders.orders)
    }

    /// `POST /api/orders/{id}/status`.
    pub async fn set_order_status(
        &self,
        id: &str,
        status: OrderStatus,
    ) -> anyhow::Result<OrderView> {
        let path = format!("/api/orders/{id}/status");
        self.call(Method::POST, &path, Some(&OrderStatusRequest { status }))
            .await
    }

    /// `POST /api/orders/{id}/shares/{user}/paid` (the store's staff).
    pub async fn mark_share_paid(&self, id: &str, user: UserId) -> anyhow::Result<OrderView> {
        let path = format!("/api/orders/{id}/shares/{user}/paid");
        self.call::<(), _>(Method::POST, &path, None).await
    }
}
