//! Text that people type and others read: display names, cart names,
//! notes, presence status, chat. It ends up inside sentences of the
//! activity feed ("Ana added Blue Mug*2"), so it may not carry characters
//! that change how the text around it reads: control characters (NUL, a
//! line break in a name), bidirectional overrides and isolates (a name that
//! turns the rest of the line around) and invisible characters (two names
//! that look the same). Such text is refused with `invalid_field`, not
//! cleaned up, so that what is stored is what the sender saw.
//!
//! ```
//! use cartroom::text::{check_line, check_multiline};
//! assert!(check_line("a name", "Ana", 60).is_ok());
//! assert!(check_line("a name", "Ana\u{202E}nimda", 60).is_err());
//! assert!(check_multiline("a note", "eggs\nmilk", 500).is_ok());
//! assert!(check_line("a name", "eggs\nmilk", 60).is_err());
//! ```

use cartroom_protocol::ErrorCode;

use crate::refusal::Refusal;

/// Checks one line of text: at most `max_chars` characters, none of them
/// refused. `field` names the field in words, with its article ("a cart
/// name"), for the refusal's message. Emptiness is the caller's rule.
pub fn check_line(field: &str, text: &str, max_chars: usize) -> Result<(), Refusal> {
    check(field, text, max_chars, false)
}

/// Like [`check_line`], but `\n` is allowed (notes have several lines).
pub fn check_multiline(field: &str, text: &str, max_chars: usize) -> Result<(), Refusal> {
    check(field, text, max_chars, true)
}

fn check(field: &str, text: &str, max_chars: usize, multiline: bool) -> Result<(), Refusal> {
    if let Some(c) = text.chars().find(|&c| refused(c, multiline)) {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            format!(
                "{field} may not contain control, bidirectional or invisible characters \
                 (it has U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    if text.chars().count() > max_chars {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            format!("{field} has at most {max_chars} characters"),
        ));
    }
    Ok(())
}

/// Whether `c` may not appear in shown text.
fn refused(c: char, multiline: bool) -> bool {
    match c {
        '\n' => !multiline,
        // C0, DEL and C1 (general category Cc).
        c if c.is_control() => true,
        // Bidirectional marks, embeddings, overrides and isolates.
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => true,
        // Zero-width space, non-joiner and joiner, word joiner, byte-order
        // mark. (This refuses emoji joined with U+200D too: the price of
        // names that cannot differ invisibly.)
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => true,
        // Line and paragraph separators break a line like `\n` does.
        '\u{2028}' | '\u{2029}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_line(text: &str) -> bool {
        check_line("a name", text, 60).is_err()
    }

    #[test]
    fn ordinary_text_passes() {
        for text in [
            "Ana",
            "",
            "Zoë & Łukasz",
            "家族の買い物",
            "مرحبا",
            "🛒 shopping",
        ] {
            assert!(!refused_line(text), "{text:?}");
        }
    }

    #[test]
    fn controls_are_refused_and_notes_keep_line_breaks() {
        for text in [
            "a\0b", "a\tb", "a\rb", "a\nb", "a\u{7F}b", "a\u{85}b", "a\u{9B}b",
        ] {
            assert!(refused_line(text), "{text:?}");
        }
        assert!(check_multiline("a note", "eggs\nmilk\n", 500).is_ok());
        for text in ["eggs\r\nmilk", "a\0", "tab\there", "a\u{2028}b"] {
            assert!(check_multiline("a note", text, 500).is_err(), "{text:?}");
        }
    }

    #[test]
    fn bidi_controls_and_invisible_characters_are_refused() {
        let refused_chars = [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}',
            '\u{2060}', '\u{FEFF}', '\u{061C}',
        ];
        for c in refused_chars {
            let text = format!("Ana{c}nimda");
            assert!(refused_line(&text), "U+{:04X} in a line", u32::from(c));
            assert!(
                check_multiline("a note", &text, 500).is_err(),
                "U+{:04X} in a note",
                u32::from(c)
            );
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(check_line("a name", &"é".repeat(60), 60).is_ok());
        let refusal = check_line("a name", &"é".repeat(61), 60).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::InvalidField);
        assert_eq!(refusal.message, "a name has at most 60 characters");
    }

    #[test]
    fn the_refusal_names_the_field_and_the_character() {
        let refusal = check_line("a cart name", "BBQ\u{202E}", 100).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::InvalidField);
        assert!(
            refusal.message.starts_with("a cart name may not"),
            "{}",
            refusal.message
        );
        assert!(refusal.message.contains("U+202E"), "{}", refusal.message);
    }
}
