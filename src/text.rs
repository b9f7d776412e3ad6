//! Owns small text helpers for messages people read: long lists cut to
//! their first few items with a count of the rest, so that an error naming
//! 1,400 paths stays one readable line.

use std::fmt::Display;

/// How many items an error message lists before it counts the rest.
pub const MESSAGE_ITEMS: usize = 5;

/// Joins the first `max` items with `, ` and says how many more there are:
/// `` `a`, `b`, `c` and 1,397 more ``. Items are shown as `` `item` ``.
pub fn cut_list<T: Display>(items: &[T], max: usize) -> String {
    let shown: Vec<String> = items.iter().take(max).map(|i| format!("`{i}`")).collect();
    let mut out = shown.join(", ");
    let rest = items.len().saturating_sub(max);
    if rest > 0 {
        out.push_str(&format!(" and {} more", thousands(rest)));
    }
    out
}

/// `1397` -> `1,397`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_are_listed_whole() {
        assert_eq!(cut_list(&["a", "b"], 5), "`a`, `b`");
        assert_eq!(cut_list::<&str>(&[], 5), "");
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let items: Vec<String> = (0..1400).map(|i| format!("f{i}.py")).collect();
        let s = cut_list(&items, 3);
        assert_eq!(s, "`f0.py`, `f1.py`, `f2.py` and 1,397 more");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
