//! Text helpers for messages and logs, shared by every layer (no layer's types in here).

/// For error messages: a long or hostile value is cut, never echoed whole.
pub fn shorten(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max_chars).collect();
        format!("{cut}…")
    }
}

/// A panic's message (a `&str` or `String` payload), shortened; "no message" for any other payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned());
    shorten(text.as_deref().unwrap_or("no message"), 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_on_char_boundaries() {
        assert_eq!(shorten("ééééé", 2), "éé…");
        assert_eq!(shorten("abc", 5), "abc");
    }
}
