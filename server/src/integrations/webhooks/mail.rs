//! The e-mail telling a store's owners that an endpoint was disabled, in
//! the style of `crate::mail::templates`.

use crate::mail::LINK_PLACEHOLDER;
use crate::mail::templates::{Rendered, escape};

/// What the e-mail says: which endpoint, since when, why.
pub fn endpoint_disabled(store_id: &str, url: &str, reason: &str) -> Rendered {
    let subject = format!("A webhook endpoint of {store_id} was disabled");
    let text = format!(
        "Cartroom disabled the webhook endpoint {url} of the store \"{store_id}\": {reason}.\n\n\
         Events are no longer sent to it. Fix the endpoint, then enable it again \
         and look at its delivery log: {LINK_PLACEHOLDER}\n\n\
         You get this e-mail because you own the store.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p>Cartroom disabled the webhook endpoint <strong>{}</strong> of the store \
         <strong>{}</strong>: {}.</p>\
         <p>Events are no longer sent to it. Fix the endpoint, then \
         <a href=\"{LINK_PLACEHOLDER}\">enable it again and look at its delivery log</a>.</p>\
         <p style=\"color: #666\">You get this e-mail because you own the store.</p>\
         </body></html>",
        escape(url),
        escape(store_id),
        escape(reason),
    );
    Rendered {
        subject,
        text,
        html,
    }
}
