//! The words of the e-mails between a store and its customers, in the style
//! of [`super::templates`]: a cart the store's staff sent to a customer (a
//! merchant share), and a cart a customer shared with the store.

use super::LINK_PLACEHOLDER;
use super::templates::{Rendered, escape, utc_date_time};

/// The page of the web client where an offer's token is used
/// (`/offer#<token>`).
pub const OFFER_PATH: &str = "offer";

/// The web client's page of the carts shared with the store (staff open
/// them there); the e-mail telling the staff links to it, with no token.
pub const STORE_SHARED_PAGE: &str = "#/store/shared";

/// What the staff's e-mail about a shared cart says.
pub struct StoreShareMail<'a> {
    pub store_name: &'a str,
    /// As the shopper gave them.
    pub name: &'a str,
    pub email: &'a str,
    pub cart_name: &'a str,
    pub message: &'a str,
}

/// The e-mail telling a staff member a shopper shared a cart with the store.
pub fn store_share(mail: &StoreShareMail<'_>) -> Rendered {
    let StoreShareMail {
        store_name,
        name,
        email,
        cart_name,
        message,
    } = *mail;
    let subject = format!("{name} shared the cart \u{201C}{cart_name}\u{201D} with {store_name}");
    let mut text = format!(
        "{name} <{email}> shared the cart \"{cart_name}\" with {store_name} on Cartroom.\n\n"
    );
    if !message.trim().is_empty() {
        text.push_str(&format!("{name} wrote:\n"));
        for line in message.lines() {
            text.push_str(&format!("> {line}\n"));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "See the carts shared with the store, and open this one live: {LINK_PLACEHOLDER}\n"
    ));
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p><strong>{}</strong> &lt;{}&gt; shared the cart <strong>{}</strong> with {} on \
         Cartroom.</p>",
        escape(name),
        escape(email),
        escape(cart_name),
        escape(store_name),
    );
    if !message.trim().is_empty() {
        html.push_str(&format!(
            "<p>{} wrote:</p><blockquote style=\"white-space: pre-wrap\">{}</blockquote>",
            escape(name),
            escape(message)
        ));
    }
    html.push_str(&format!(
        "<p><a href=\"{LINK_PLACEHOLDER}\">See the carts shared with the store</a> \
         and open this one live.</p></body></html>"
    ));
    Rendered {
        subject,
        text,
        html,
    }
}

/// What an offer's e-mail says.
pub struct OfferMail<'a> {
    pub sender: &'a str,
    pub store_name: &'a str,
    pub cart_name: &'a str,
    pub message: &'a str,
    pub expires_at: i64,
}

/// The e-mail sending a customer a cart the store filled for them.
pub fn offer(mail: &OfferMail<'_>) -> Rendered {
    let OfferMail {
        sender,
        store_name,
        cart_name,
        message,
        expires_at,
    } = *mail;
    let expires = utc_date_time(expires_at);
    let subject = format!("{sender} of {store_name} filled a cart for you");
    let mut text = format!(
        "{sender} of {store_name} filled the cart \"{cart_name}\" for you on Cartroom.\n\n"
    );
    if !message.trim().is_empty() {
        text.push_str(&format!("{sender} wrote:\n"));
        for line in message.lines() {
            text.push_str(&format!("> {line}\n"));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "Open the cart: {LINK_PLACEHOLDER}\n\n\
         Open it live to edit it together with {sender}, or take a copy of your own.\n\
         Either way, carts you already have stay as they are.\n\
         The link works until {expires}.\n\n\
         If you did not expect this e-mail, you can ignore it.\n"
    ));

    let mut html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p><strong>{}</strong> of {} filled the cart <strong>{}</strong> for you on \
         Cartroom.</p>",
        escape(sender),
        escape(store_name),
        escape(cart_name),
    );
    if !message.trim().is_empty() {
        html.push_str(&format!(
            "<p>{} wrote:</p><blockquote style=\"white-space: pre-wrap\">{}</blockquote>",
            escape(sender),
            escape(message)
        ));
    }
    html.push_str(&format!(
        "<p><a href=\"{LINK_PLACEHOLDER}\">Open the cart</a></p>\
         <p>Open it live to edit it together with {}, or take a copy of your own. \
         Either way, carts you already have stay as they are.<br>\
         The link works until {expires}.</p>\
         <p style=\"color: #666\">If you did not expect this e-mail, you can ignore it.</p>\
         </body></html>",
        escape(sender)
    ));
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
    fn an_offer_escapes_what_people_typed_and_waits_for_its_link() {
        let mail = offer(&OfferMail {
            sender: "Sam <b>",
            store_name: "Corner",
            cart_name: "Party & more",
            message: "Hi!\n<script>",
            expires_at: 0,
        });
        assert!(mail.text.contains(LINK_PLACEHOLDER));
        assert!(mail.html.contains(LINK_PLACEHOLDER));
        assert!(mail.html.contains("Party &amp; more"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail.text.contains("> <script>"));
    }
}
