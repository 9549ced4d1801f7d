//! Paying the shares of an order, through a [`PaymentProvider`].
//!
//! A share is *opened* with the provider when the order is placed (the
//! provider answers with a reference and what the payer is asked to do),
//! and *settled* when the provider confirms that it was paid. The order is
//! paid when every share is.
//!
//! The one provider built in, [`PayAtPickup`] (id `invoice`), is real and
//! local: the payer pays at pickup or on the store's invoice, and the
//! store's staff mark the share paid (`POST /api/orders/{id}/shares/{user}/paid`).
//!
//! # A card processor
//! A processor (Stripe, Adyen, ...) implements the same trait: `open`
//! creates a payment intent for the share's amount and currency with the
//! order id and user id as metadata (idempotency key: `reference`), and
//! returns the processor's id as `reference` and the URL or client secret
//! the web client needs as `instructions`. Calls to the processor are slow
//! and may fail, so a processor's `open` must not run inside the order's
//! database transaction: the order is committed with its shares marked
//! `opening`, and a worker opens them from an outbox, retrying. `settle`
//! is driven by the processor's signed webhook (verified, then mapped to
//! the share by `reference`) instead of by staff. Nothing else changes:
//! shares, amounts and the remainder-cent rule stay the server's.

use cartroom_protocol::UserId;

use crate::money::format_money;

/// One share to be paid.
#[derive(Clone, Debug)]
pub struct ShareDue<'a> {
    pub order_id: &'a str,
    /// 1-based position of the share in the order (by user id).
    pub position: usize,
    pub user_id: UserId,
    pub amount: i64,
    pub currency: &'a str,
}

/// What the provider answered when a share was opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedPayment {
    /// The provider's reference, shown to the payer and the store.
    pub reference: String,
    /// What the payer is asked to do.
    pub instructions: String,
}

/// Who says a share was paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// The store's staff, by hand (cash at pickup, a paid invoice).
    ByStore,
    /// The processor, through its verified webhook.
    ByProcessor,
}

/// Why a payment step was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("{0} cannot settle payments of this provider")]
    NotAllowed(&'static str),
}

/// A way of paying shares.
pub trait PaymentProvider: Send + Sync {
    /// The stable id stored with each share.
    fn id(&self) -> &'static str;

    /// Opens the payment of one share.
    fn open(&self, share: &ShareDue<'_>) -> OpenedPayment;

    /// Checks that `by` may say the share was paid.
    fn settle(&self, by: Settlement) -> Result<(), PaymentError>;
}

/// Pay at pickup or on invoice: the store marks shares paid.
#[derive(Clone, Copy, Debug, Default)]
pub struct PayAtPickup;

impl PaymentProvider for PayAtPickup {
    fn id(&self) -> &'static str {
        "invoice"
    }

    fn open(&self, share: &ShareDue<'_>) -> OpenedPayment {
        let short: String = share.order_id.chars().take(8).collect();
        OpenedPayment {
            reference: format!("INV-{}-{}", short.to_uppercase(), share.position),
            instructions: format!(
                "Pay {} at pickup, or on the store's invoice",
                format_money(share.amount, share.currency)
            ),
        }
    }

    fn settle(&self, by: Settlement) -> Result<(), PaymentError> {
        match by {
            Settlement::ByStore => Ok(()),
            Settlement::ByProcessor => Err(PaymentError::NotAllowed("a processor")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_provider_asks_for_payment_at_pickup_and_takes_the_stores_word() {
        let opened = PayAtPickup.open(&ShareDue {
            order_id: "3f2a91c0-0000-0000-0000-000000000000",
            position: 2,
            user_id: UserId::new_random(),
            amount: 1250,
            currency: "USD",
        });
        assert_eq!(opened.reference, "INV-3F2A91C0-2");
        assert_eq!(
            opened.instructions,
            "Pay $12.50 at pickup, or on the store's invoice"
        );
        assert!(PayAtPickup.settle(Settlement::ByStore).is_ok());
        assert!(PayAtPickup.settle(Settlement::ByProcessor).is_err());
    }
}
