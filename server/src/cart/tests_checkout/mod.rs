//! Checkout's promises on documents in memory: phases, the deadline's
//! server ops, group buy, budgets, approvals, addresses and orders. The
//! room's part (names of members, the op ids, the catalog) is played by
//! [`Cart`].

mod addresses;
mod approval;
mod budgets;
mod group_buy;
mod phases;

use std::collections::HashMap;

use automerge::Automerge;
use cartroom_protocol::checkout::{Address, CartPhase};
use cartroom_protocol::http::{GroupBuy, Product, StoreInfo};
use cartroom_protocol::{LineId, Op, OpId, UserId};

use super::*;
use crate::catalog::{Catalog, Listing};
use crate::refusal::Refusal;

pub(super) const NOW: i64 = 1_800_000_000_000;

pub(super) fn catalog() -> Catalog {
    let product = |sku: &str, price, group_buy: Option<(i64, i64)>| Listing {
        product: Product {
            sku: sku.into(),
            name: format!("Product {sku}"),
            price,
            currency: "USD".into(),
            stock: 500,
            image_url: String::new(),
            group_buy: group_buy.map(|(min_quantity, price)| GroupBuy {
                min_quantity,
                price,
            }),
        },
        color: "#000".into(),
    };
    Catalog::new(
        StoreInfo {
            id: "t".into(),
            name: "Test".into(),
            currency: "USD".into(),
            time_zone: "UTC".into(),
        },
        vec![
            product("A", 1200, None),
            product("G", 1200, Some((10, 950))),
        ],
    )
}

/// A cart and its members, with the room's part played by hand.
pub(super) struct Cart {
    pub(super) doc: Automerge,
    members: HashMap<UserId, String>,
    ops: usize,
}

impl Cart {
    pub(super) fn new(people: &[&Actor]) -> Self {
        Self {
            doc: new_cart_doc("Team lunch", "USD", people[0], NOW, NodeId(0)),
            members: people.iter().map(|a| (a.user_id, a.name.clone())).collect(),
            ops: 0,
        }
    }

    pub(super) fn ctx_apply(
        &mut self,
        who: &Actor,
        apply: impl FnOnce(&mut Automerge, &mut CartMirror, &OpContext<'_>) -> Result<Applied, Refusal>,
    ) -> Result<Applied, Refusal> {
        self.ops += 1;
        let catalog = catalog();
        let op_id = OpId(format!("op-{}", self.ops));
        let mut mirror = CartMirror::load(&self.doc).unwrap();
        let ctx = OpContext {
            actor: who,
            op_id: &op_id,
            catalog: &catalog,
            now_ms: NOW,
            node: NodeId(0),
            members: &self.members,
        };
        let applied = apply(&mut self.doc, &mut mirror, &ctx);
        assert_eq!(
            mirror,
            CartMirror::load(&self.doc).unwrap(),
            "mirror out of step"
        );
        applied
    }

    pub(super) fn op(&mut self, who: &Actor, op: Op) -> Result<Applied, Refusal> {
        self.ctx_apply(who, |doc, mirror, ctx| apply_op(doc, mirror, ctx, &op))
    }

    pub(super) fn ok(&mut self, who: &Actor, op: Op) -> Applied {
        let text = format!("{op:?}");
        self.op(who, op).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    pub(super) fn refused(&mut self, who: &Actor, op: Op) -> Refusal {
        let heads = self.doc.get_heads();
        let refusal = self.op(who, op).unwrap_err();
        assert_eq!(
            self.doc.get_heads(),
            heads,
            "a refusal changed the document"
        );
        refusal
    }

    pub(super) fn server(&mut self, op: ServerOp) -> Applied {
        let server = server_actor();
        self.ctx_apply(&server, |doc, mirror, ctx| {
            apply_server_op(doc, mirror, ctx, &op)
        })
        .unwrap()
    }

    pub(super) fn view(&self) -> cartroom_protocol::http::CartView {
        view(&self.doc).unwrap()
    }

    pub(super) fn phase(&self) -> CartPhase {
        self.view().checkout.unwrap().phase
    }
}

pub(super) fn actor(name: &str) -> Actor {
    Actor {
        user_id: UserId::new_random(),
        name: name.into(),
    }
}

pub(super) fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

pub(super) fn change(sku: &str, delta: i64) -> Op {
    Op::ChangeQuantity {
        line_id: LineId(sku.into()),
        delta,
    }
}

pub(super) fn address(label: &str) -> Address {
    Address {
        label: label.into(),
        name: "Ana Lima".into(),
        line1: "1 Main St".into(),
        line2: String::new(),
        city: "Springfield".into(),
        postal_code: "12345".into(),
        country: "us".into(),
    }
}
