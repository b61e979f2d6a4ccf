//! Text from outside (a plugin's exclusion reasons, refusals and logs, a policy's rule names)
//! before it reaches a response, a log or a terminal: control characters (escape sequences,
//! newlines) and bidirectional overrides removed, whitespace runs collapsed, length capped.

/// The longest exclusion reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// `text` on one line, without control or bidirectional-override characters, at most
/// `max_chars` characters (cut with `…`).
pub fn clean_text(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut count = 0;
    let mut pending_space = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape sequence: ESC, then `[` parameters up to a final letter, or one char.
            let mut rest = chars.clone();
            if rest.next() == Some('[') {
                for next in rest.by_ref() {
                    if next.is_ascii_alphabetic() || next == '~' {
                        break;
                    }
                }
                chars = rest;
            }
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = c.is_whitespace() || matches!(c, '\u{85}');
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if pending_space && count > 0 {
            if count + 1 >= max_chars {
                out.push('…');
                return out;
            }
            out.push(' ');
            count += 1;
        }
        pending_space = false;
        if count + 1 >= max_chars && chars.clone().next().is_some() {
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Characters that change how text around them is shown without being seen: bidirectional
/// embeddings, overrides and isolates, zero-width characters, the byte-order mark.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_escapes_and_overrides_are_removed() {
        assert_eq!(clean_text("\u{1b}[31mred\u{1b}[0m text", 100), "red text");
        assert_eq!(clean_text("line one\nline two\r\n\tthree", 100), "line one line two three");
        assert_eq!(clean_text("a\u{202E}b\u{200B}c\u{FEFF}", 100), "abc");
        assert_eq!(clean_text("  padded  ", 100), "padded");
    }

    #[test]
    fn long_text_is_cut_to_its_limit() {
        let cut = clean_text(&"x".repeat(10_000), 200);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.ends_with('…'));
        assert_eq!(clean_text(&"y".repeat(200), 200), "y".repeat(200));
    }
}
