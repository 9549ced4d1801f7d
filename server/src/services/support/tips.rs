//! Cart activity tips: "This customer added Blue Mug*2 in their cart on
//! Nov 25, 21:10. The cart subtotal is $24.00".
//!
//! Rooms hand every committed edit of a cart's quantities to the
//! [`TipTap`] (`room::EditTap`), which queues it, bounded, without waiting.
//! One [`TipWorker`] drains the queue, so the tips of one cart are written
//! in the order of its commits. An edit becomes tips (one per product whose
//! quantity changed) in the editor's own conversation with the cart's
//! store, only while that conversation is open (when the worker writes
//! it) and the editor has a live connection on this node (when the room
//! commits it); otherwise it is dropped (the staff's cart panel
//! is live anyway). Tips are for the store's staff only, never count as
//! unread and never change the status (`store::support`).

use std::sync::Arc;

use cartroom_protocol::support::{ConversationStatus, MessageKind};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Desk, SupportService};
use crate::cart::LineChange;
use crate::money::format_money;
use crate::room::{CartEdit, EditTap};
use crate::services::error::Result;
use crate::services::live::LiveConnections;
use crate::store::support::NewMessage;

/// Edits waiting for the tip worker. Past this, rooms drop edits rather
/// than wait: a tip is a convenience, the cart panel is the record.
pub const EDIT_QUEUE: usize = 4096;

/// The room's end of the queue.
pub struct TipTap {
    queue: mpsc::Sender<CartEdit>,
    /// Whether the editor is online is decided as the edit is heard.
    live: Arc<LiveConnections>,
}

/// The worker's end of the queue; [`SupportService::run_tips`] drains it.
pub struct TipWorker {
    edits: mpsc::Receiver<CartEdit>,
}

/// A tap for the rooms and the worker that turns what it hears into tips.
pub fn tip_queue(capacity: usize, live: Arc<LiveConnections>) -> (TipTap, TipWorker) {
    let (queue, edits) = mpsc::channel(capacity);
    (TipTap { queue, live }, TipWorker { edits })
}

impl EditTap for TipTap {
    fn edited(&self, edit: CartEdit) {
        // An edit made while offline (over HTTP, say) makes no tip, even if
        // the shopper connects before the worker gets to it. One made on a
        // socket of another node counts as online (many nodes).
        if !edit.live && !self.live.is_online(edit.user_id) {
            return;
        }
        if self.queue.try_send(edit).is_err() {
            metrics::counter!("cartroom_tips_dropped_total").increment(1);
            tracing::debug!("the tip queue is full; an edit was dropped");
        }
    }
}

impl SupportService {
    /// Turns queued edits into tips until `shutdown`.
    pub fn run_tips(
        &self,
        mut worker: TipWorker,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        let desk = self.desk.clone();
        async move {
            loop {
                let edit = tokio::select! {
                    () = shutdown.cancelled() => return,
                    edit = worker.edits.recv() => match edit {
                        Some(edit) => edit,
                        None => return,
                    },
                };
                if let Err(e) = tip(&desk, edit).await {
                    tracing::warn!(error = %e, "a cart edit could not become a tip");
                }
            }
        }
    }
}

/// Writes the tips of one edit, if its editor's conversation takes them.
async fn tip(desk: &Arc<Desk>, edit: CartEdit) -> Result<()> {
    let deps = &desk.deps;
    let Some(conversation) = deps
        .support
        .conversation_of(&edit.store_id, edit.user_id)
        .await?
    else {
        return Ok(());
    };
    // The store checks this again as it writes, against a close meanwhile.
    if conversation.status == ConversationStatus::Closed {
        return Ok(());
    }
    let zone = deps
        .catalogs
        .get(&edit.store_id)
        .map(|c| c.current().store.time_zone.clone())
        .unwrap_or_default();
    let when = local_time(edit.at, &zone);
    let subtotal = format_money(edit.subtotal, &edit.currency);
    for change in &edit.line_changes {
        let text = tip_text(change, &when, &subtotal);
        let stored = desk
            .post(NewMessage {
                conversation: conversation.id,
                kind: MessageKind::Tip,
                author: None,
                author_name: "",
                text: &text,
                cart: Some(edit.cart_id),
                now_ms: edit.at,
            })
            .await?;
        if stored.is_none() {
            // Closed meanwhile: the rest of this edit waits for nobody.
            break;
        }
    }
    Ok(())
}

/// "Nov 25, 21:10": Unix ms in the IANA time zone `zone` (UTC for a name
/// the time zone data does not know).
pub fn local_time(at_ms: i64, zone: &str) -> String {
    let zone = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    let at = Timestamp::from_millisecond(at_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    at.to_zoned(zone).strftime("%b %-d, %H:%M").to_string()
}

/// The sentence of one product's change.
pub fn tip_text(change: &LineChange, when: &str, subtotal: &str) -> String {
    let (verb, preposition) = if change.delta > 0 {
        ("added", "in")
    } else {
        ("removed", "from")
    };
    format!(
        "This customer {verb} {}*{} {preposition} their cart on {when}. The cart subtotal is {subtotal}",
        change.name,
        change.delta.unsigned_abs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(delta: i64) -> LineChange {
        LineChange {
            sku: "MUG-BLUE".into(),
            name: "Blue Mug".into(),
            delta,
        }
    }

    #[test]
    fn tips_read_exactly_as_the_issue_writes_them() {
        // 2026-11-25 21:10 in New York is 02:10 UTC the next day.
        let at = 1_795_659_000_000;
        let when = local_time(at, "America/New_York");
        assert_eq!(when, "Nov 25, 21:10");
        assert_eq!(
            tip_text(&change(2), &when, &format_money(2400, "USD")),
            "This customer added Blue Mug*2 in their cart on Nov 25, 21:10. The cart subtotal is $24.00"
        );
        assert_eq!(
            tip_text(&change(-1), "Nov 25, 21:12", &format_money(1200, "USD")),
            "This customer removed Blue Mug*1 from their cart on Nov 25, 21:12. The cart subtotal is $12.00"
        );
    }

    #[test]
    fn times_are_read_in_the_store_zone_without_padding_the_day() {
        // 2026-03-05 09:07 UTC.
        let at = 1_772_701_620_000;
        assert_eq!(local_time(at, "UTC"), "Mar 5, 09:07");
        assert_eq!(local_time(at, "Europe/Berlin"), "Mar 5, 10:07");
        assert_eq!(local_time(at, "America/New_York"), "Mar 5, 04:07");
        assert_eq!(local_time(at, "Not/A_Zone"), "Mar 5, 09:07");
    }
}
