//! The words of each e-mail, as text and as HTML. Everything a person
//! typed (names, the cart's name, the message) is escaped in the HTML; the
//! link is [`LINK_PLACEHOLDER`] until the worker sends the e-mail.

use cartroom_protocol::MemberRole;

use super::LINK_PLACEHOLDER;
use crate::policy::with_article;

/// The page of the web client where a join token is used (`/join#<token>`).
pub const JOIN_PATH: &str = "join";
/// The page where a password-reset token is used (`/reset#<token>`).
pub const RESET_PATH: &str = "reset";

/// Subject, text and HTML of an e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What an invitation's e-mail says.
pub struct InvitationMail<'a> {
    pub inviter: &'a str,
    pub cart_name: &'a str,
    pub role: MemberRole,
    pub message: &'a str,
    pub expires_at: i64,
}

/// The e-mail inviting someone to a cart.
pub fn invitation(mail: &InvitationMail<'_>) -> Rendered {
    let InvitationMail {
        inviter,
        cart_name,
        role,
        message,
        expires_at,
    } = *mail;
    let what = match role {
        MemberRole::Viewer => "see and comment on",
        _ => "shop together in",
    };
    let expires = utc_date_time(expires_at);
    let subject = format!("{inviter} invited you to the cart \u{201C}{cart_name}\u{201D}");
    let mut text = format!(
        "{inviter} invited you to {what} the cart \"{cart_name}\" on Cartroom, as {}.\n\n",
        with_article(role)
    );
    if !message.trim().is_empty() {
        text.push_str(&format!("{inviter} wrote:\n"));
        for line in message.lines() {
            text.push_str(&format!("> {line}\n"));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "Open the invitation: {LINK_PLACEHOLDER}\n\n\
         You can join with your account, a new one, or as a guest, or decline.\n\
         The invitation expires on {expires}.\n\n\
         If you did not expect this e-mail, you can ignore it.\n"
    ));

    let mut html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p><strong>{}</strong> invited you to {what} the cart <strong>{}</strong> \
         on Cartroom, as {}.</p>",
        escape(inviter),
        escape(cart_name),
        with_article(role)
    );
    if !message.trim().is_empty() {
        html.push_str(&format!(
            "<p>{} wrote:</p><blockquote style=\"white-space: pre-wrap\">{}</blockquote>",
            escape(inviter),
            escape(message)
        ));
    }
    html.push_str(&format!(
        "<p><a href=\"{LINK_PLACEHOLDER}\">Open the invitation</a></p>\
         <p>You can join with your account, a new one, or as a guest, or decline.<br>\
         The invitation expires on {expires}.</p>\
         <p style=\"color: #666\">If you did not expect this e-mail, you can ignore it.</p>\
         </body></html>"
    ));
    Rendered {
        subject,
        text,
        html,
    }
}

/// The e-mail with a password-reset link.
pub fn password_reset(name: &str, expires_at: i64) -> Rendered {
    let expires = utc_date_time(expires_at);
    let subject = "Reset your Cartroom password".to_owned();
    let text = format!(
        "Hello {name},\n\n\
         Someone (we hope you) asked to reset the password of your Cartroom account.\n\
         Choose a new password here: {LINK_PLACEHOLDER}\n\n\
         The link works once, until {expires}. If you did not ask, ignore this e-mail:\n\
         your password stays as it is.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">\
         <p>Hello {},</p>\
         <p>Someone (we hope you) asked to reset the password of your Cartroom account.</p>\
         <p><a href=\"{LINK_PLACEHOLDER}\">Choose a new password</a></p>\
         <p>The link works once, until {expires}. If you did not ask, ignore this e-mail: \
         your password stays as it is.</p></body></html>",
        escape(name)
    );
    Rendered {
        subject,
        text,
        html,
    }
}

/// Fills the link into a queued body (the HTML one gets it escaped).
pub fn with_link(body: &str, link: &str, html: bool) -> String {
    if html {
        body.replace(LINK_PLACEHOLDER, &escape(link))
    } else {
        body.replace(LINK_PLACEHOLDER, link)
    }
}

/// Text made safe for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "2026-01-05 14:00 UTC" for Unix ms.
pub fn utc_date_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc_date_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date_time(1_795_302_600_000), "2026-11-21 23:10 UTC");
        assert_eq!(utc_date_time(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn an_invitation_escapes_what_people_typed_and_waits_for_its_link() {
        let mail = invitation(&InvitationMail {
            inviter: "Ana",
            cart_name: "<BBQ>",
            role: MemberRole::Editor,
            message: "bring \"chips\" & <b>salsa</b>\nplease",
            expires_at: 0,
        });
        assert!(mail.subject.contains("<BBQ>"), "the subject is text");
        assert!(mail.html.contains("&lt;BBQ&gt;"));
        assert!(mail.html.contains("&lt;b&gt;salsa"));
        assert!(!mail.html.contains("<b>salsa"));
        assert!(mail.text.contains("> please\n"));
        assert!(mail.text.contains("as an editor"));
        let sent = with_link(&mail.html, "http://x/join#a&b", true);
        assert!(sent.contains("href=\"http://x/join#a&amp;b\""));
        assert!(!sent.contains(LINK_PLACEHOLDER));
        assert!(with_link(&mail.text, "L", false).contains("Open the invitation: L\n"));
    }
}
