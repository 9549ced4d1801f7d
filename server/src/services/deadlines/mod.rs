//! The timer that locks carts at their deadline, and keeps carts in step
//! with their orders.
//!
//! Deadlines live in the store beside each cart (written with the change
//! that set them, cleared by the change that locks the cart), so the timer
//! keeps no state that a restart could lose: at start, before the node
//! listens, [`DeadlineTimer::catch_up`] locks every cart whose deadline
//! passed while it was down; while it runs, it sleeps until the next
//! deadline or reminder and catches up again. Where the store wakes it
//! after a change that sets a deadline (SQLite: only this node sets them),
//! it sleeps [`POLL_WOKEN`] at most; where other nodes set deadlines too
//! (Postgres), [`POLL`] at most, so that theirs are seen. After a catch-up
//! that left something undone (a lock or reminder not applied, orders not
//! yet told to their carts), it looks again after [`POLL`]. The lock is a
//! server-originated op with a stable op id, so a deadline fires once even
//! if the timer sees it twice.
//!
//! [`REMIND_BEFORE`] a deadline, the members are reminded: a server op
//! that records the reminded deadline in the document (`checkout.reminded`)
//! and is an activity event, so it is given once per deadline, restarts
//! included; a deadline moved later is reminded of again.
//!
//! Each member with an e-mail is also sent the reminder by e-mail through
//! the outbox. The op is applied by the room, whose writer persists the
//! document, not the outbox, so the two cannot share a transaction; the
//! e-mails are queued instead right after the room acknowledged the op
//! and the cart's view is durable (deadline still this one, cart still
//! open), with an idempotent insert keyed by (cart, deadline, recipient)
//! ([`Outbox::queue_mail_once`]). A crash after the op and before the
//! insert loses nothing: after the restart the timer sends the op again
//! (it changes nothing) and queues the e-mails then; a crash after the
//! insert duplicates nothing, since the insert finds them queued.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cartroom_protocol::CartId;
use cartroom_protocol::checkout::CartPhase;
use tokio_util::sync::CancellationToken;

use super::error::Result;
use super::orders::OrderService;
use crate::cart::ServerOp;
use crate::clock::Clock;
use crate::mail::MailQueue;
use crate::mail::reminder::{ReminderMail, deadline_reminder};
use crate::room::{RoomCmd, Rooms};
use crate::store::sharing::{MailPurpose, NewMail, Outbox};
use crate::store::{Deadlines, Memberships};
use crate::wake::woken;

/// The longest the timer sleeps where other nodes set deadlines too: one
/// set meanwhile fires at most this late.
pub const POLL: Duration = Duration::from_secs(1);
/// The longest the timer sleeps where the store wakes it after each
/// deadline it sets: only a bound, since nothing comes due unannounced.
pub const POLL_WOKEN: Duration = Duration::from_secs(30);

/// How long before its deadline a cart's members are reminded of it (an
/// activity event, `deadline_reminder`, and an e-mail to each member with
/// an e-mail address). A deadline set closer than this
/// is reminded of at once.
pub const REMIND_BEFORE: Duration = Duration::from_secs(60 * 60);

/// Locks carts at their deadline.
pub struct DeadlineTimer {
    deadlines: Arc<dyn Deadlines>,
    rooms: Arc<Rooms>,
    clock: Arc<dyn Clock>,
    orders: Arc<OrderService>,
    /// Deadlines this node has had applied; a deadline stays in the store
    /// until its lock is committed, and is not sent twice meanwhile.
    /// Locked only for a lookup or an insert; nothing awaits under it.
    fired: Mutex<HashSet<(CartId, i64)>>,
    /// Deadlines whose reminder this node has had applied, so that the
    /// timer does not send it again every tick until the deadline. (After
    /// a restart it is sent once more; the cart's document remembers it
    /// was given, and the op changes nothing.) Locked like `fired`.
    reminded: Mutex<HashSet<(CartId, i64)>>,
    /// Where reminders by e-mail go; `None`: the activity event only.
    mail: Option<ReminderMailer>,
}

/// What the timer needs to e-mail a reminder to a cart's members.
pub struct ReminderMailer {
    pub members: Arc<dyn Memberships>,
    pub outbox: Arc<dyn Outbox>,
    pub queue: MailQueue,
}

/// The outbox `ref_id` of a deadline's reminders: `<cart id>@<deadline>`
/// (the mail worker links to the cart named before the `@`).
pub fn reminder_ref(cart: CartId, deadline: i64) -> String {
    format!("{cart}@{deadline}")
}

/// Locks one of the timer's sets; nothing awaits under it.
fn once(set: &Mutex<HashSet<(CartId, i64)>>) -> std::sync::MutexGuard<'_, HashSet<(CartId, i64)>> {
    set.lock().unwrap_or_else(|p| p.into_inner())
}

impl DeadlineTimer {
    pub fn new(
        deadlines: Arc<dyn Deadlines>,
        rooms: Arc<Rooms>,
        clock: Arc<dyn Clock>,
        orders: Arc<OrderService>,
    ) -> Self {
        Self {
            deadlines,
            rooms,
            clock,
            orders,
            fired: Mutex::new(HashSet::new()),
            reminded: Mutex::new(HashSet::new()),
            mail: None,
        }
    }

    /// Also e-mails each reminder to the cart's members with an e-mail.
    pub fn with_mail(mut self, mail: ReminderMailer) -> Self {
        self.mail = Some(mail);
        self
    }

    /// Queues the reminder e-mails of `deadline` for `cart`'s members with
    /// an e-mail, once per member (see the module's notes), if the cart is
    /// still open with this deadline. Errors leave the reminder to be sent
    /// again at the next tick.
    async fn mail_reminder(&self, cart: CartId, deadline: i64) -> Result<bool> {
        let Some(mail) = &self.mail else {
            return Ok(true);
        };
        let (reply, rx) = tokio::sync::oneshot::channel();
        if self
            .rooms
            .send(cart, RoomCmd::View { reply })
            .await
            .is_err()
        {
            return Ok(false);
        }
        // The view, once the reminder op is durable.
        let Ok(view) = rx.await else {
            return Ok(false);
        };
        let due = view
            .checkout
            .as_ref()
            .is_some_and(|c| c.deadline == Some(deadline) && c.phase == CartPhase::Open);
        if !due {
            // Moved, cleared or locked meanwhile: nothing to remind of.
            return Ok(true);
        }
        let rendered = deadline_reminder(&ReminderMail {
            cart_name: &view.name,
            deadline,
        });
        let now = self.clock.now_ms();
        let mails: Vec<NewMail> = mail
            .members
            .list_members(cart)
            .await?
            .into_iter()
            // Guests without an e-mail get the activity event only.
            .filter_map(|m| m.email)
            .map(|recipient| NewMail {
                purpose: MailPurpose::DeadlineReminder,
                ref_id: reminder_ref(cart, deadline),
                recipient,
                subject: rendered.subject.clone(),
                text: rendered.text.clone(),
                html: rendered.html.clone(),
                now_ms: now,
            })
            .collect();
        if mail.outbox.queue_mail_once(&mails).await? > 0 {
            mail.queue.wake();
        }
        Ok(true)
    }

    /// Locks every cart whose deadline has passed (each lock committed
    /// before this returns), reminds the members of carts whose deadline
    /// is less than [`REMIND_BEFORE`] away, and tells carts about orders
    /// they have not seen. Returns how many carts it locked.
    pub async fn catch_up(&self) -> Result<usize> {
        Ok(self.look().await?.locked)
    }

    /// [`Self::catch_up`], saying also whether it left something undone.
    async fn look(&self) -> Result<Look> {
        let now = self.clock.now_ms();
        let mut settled = true;
        let due = self
            .deadlines
            .due_deadlines(now + REMIND_BEFORE.as_millis() as i64)
            .await?;
        let mut locked = 0;
        for (cart, deadline) in due {
            let (op, sent) = if deadline <= now {
                (ServerOp::LockAtDeadline { deadline }, &self.fired)
            } else {
                (ServerOp::RemindOfDeadline { deadline }, &self.reminded)
            };
            if once(sent).contains(&(cart, deadline)) {
                continue;
            }
            let lock = matches!(op, ServerOp::LockAtDeadline { .. });
            let (reply, rx) = tokio::sync::oneshot::channel();
            if self
                .rooms
                .send(cart, RoomCmd::ServerOp { op, reply })
                .await
                .is_err()
            {
                settled = false;
                break;
            }
            match rx.await {
                Ok(Ok(_)) => {
                    if !lock {
                        match self.mail_reminder(cart, deadline).await {
                            Ok(true) => {}
                            other => {
                                tracing::warn!(cart_id = %cart, ?other, "a reminder could not be e-mailed; next tick");
                                settled = false;
                                continue;
                            }
                        }
                    }
                    once(sent).insert((cart, deadline));
                    if lock {
                        // Its reminder is behind it: keep the set small.
                        once(&self.reminded).remove(&(cart, deadline));
                        locked += 1;
                    }
                }
                other => {
                    tracing::warn!(cart_id = %cart, ?other, "a deadline could not be applied; next tick");
                    settled = false;
                }
            }
        }
        // Orders found untold now were told, or will be at the next look.
        settled &= self.orders.catch_up().await? == 0;
        Ok(Look {
            at: now,
            locked,
            settled,
        })
    }

    /// How long to sleep after a look at `at` that did everything due:
    /// until the next deadline, or the next deadline's reminder, at most
    /// `longest`.
    async fn until_next(&self, at: i64, longest: Duration) -> Result<Duration> {
        let remind_before = REMIND_BEFORE.as_millis() as i64;
        let mut next = at + longest.as_millis() as i64;
        // Deadlines up to `at` were locked, and those up to `at +
        // remind_before` reminded of, by the look.
        if let Some(deadline) = self.deadlines.next_deadline(at).await? {
            next = next.min(deadline);
        }
        // Where the timer looks every POLL anyway, a reminder is at most
        // that late without this read.
        if longest > POLL
            && let Some(deadline) = self.deadlines.next_deadline(at + remind_before).await?
        {
            next = next.min(deadline - remind_before);
        }
        Ok(Duration::from_millis(
            (next - self.clock.now_ms()).max(0) as u64
        ))
    }

    /// Catches up until `shutdown`, sleeping in between as the module's
    /// notes say.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let written = self.deadlines.deadlines_written();
        let longest = if written.is_some() { POLL_WOKEN } else { POLL };
        loop {
            let wait = match self.look().await {
                Ok(look) if look.settled => self.until_next(look.at, longest).await,
                Ok(_) => Ok(POLL),
                Err(e) => Err(e),
            };
            let wait = wait.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the deadline timer could not catch up");
                POLL
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                () = woken(written.as_deref()) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

/// What a catch-up did.
struct Look {
    /// The time it took as now.
    at: i64,
    /// How many carts it locked.
    locked: usize,
    /// Everything due was done.
    settled: bool,
}

#[cfg(test)]
mod tests;
