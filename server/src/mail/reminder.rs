//! The words of a cart's deadline reminder, in the style of
//! [`super::templates`]: sent to each member with an e-mail an hour before
//! the cart locks for checkout.

use super::LINK_PLACEHOLDER;
use super::templates::{Rendered, escape, utc_date_time};

/// The web client's page of a cart (`#/cart/{id}`), which the reminder
/// links to; members open it signed in, with no token.
pub fn cart_page(public_url: &str, cart_id: &str) -> String {
    format!("{public_url}/#/cart/{cart_id}")
}

/// What a deadline reminder says.
pub struct ReminderMail<'a> {
    pub cart_name: &'a str,
    /// Unix ms; written in UTC, as the activity feed writes it.
    pub deadline: i64,
}

/// The e-mail reminding a member that a cart locks for checkout soon.
pub fn deadline_reminder(mail: &ReminderMail<'_>) -> Rendered {
    let ReminderMail {
        cart_name,
        deadline,
    } = *mail;
    let at = utc_date_time(deadline);
    let subject = format!("The cart \u{201C}{cart_name}\u{201D} locks for checkout at {at}");
    let text = format!(
        "The cart \"{cart_name}\" on Cartroom locks for checkout at {at}.\n\n\
         After that its lines cannot be changed. Add, change or remove what you \
         want before then: {LINK_PLACEHOLDER}\n\n\
         You get this e-mail because you are a member of the cart.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p>The cart <strong>{}</strong> on Cartroom locks for checkout at \
         <strong>{at}</strong>.</p>\
         <p>After that its lines cannot be changed. \
         <a href=\"{LINK_PLACEHOLDER}\">Open the cart</a> to add, change or remove what you \
         want before then.</p>\
         <p style=\"color: #666\">You get this e-mail because you are a member of the cart.</p>\
         </body></html>",
        escape(cart_name),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reminder_names_the_cart_and_the_deadline_and_waits_for_its_link() {
        let mail = deadline_reminder(&ReminderMail {
            cart_name: "Party & <b>more",
            // 2026-11-21 21:10 UTC
            deadline: 1_795_295_400_000,
        });
        assert!(mail.subject.contains("Party & <b>more"), "{}", mail.subject);
        assert!(
            mail.subject.contains("2026-11-21 21:10 UTC"),
            "{}",
            mail.subject
        );
        assert!(mail.text.contains("2026-11-21 21:10 UTC"));
        assert!(mail.text.contains(LINK_PLACEHOLDER));
        assert!(mail.html.contains(LINK_PLACEHOLDER));
        assert!(mail.html.contains("Party &amp; &lt;b&gt;more"));
        assert!(!mail.html.contains("<b>more"));
        assert_eq!(
            cart_page("https://shop.example", "c1"),
            "https://shop.example/#/cart/c1"
        );
    }
}
