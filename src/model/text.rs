//! A row's text, shared: the rows of an input that hold the same value (a dataset's name on every
//! row of it, a capability's description on each of its mappings) hold one allocation of it.

use std::sync::Arc;

/// Text of a mapping row: cloning it shares the allocation, never copies the characters.
pub type Text = Arc<str>;

/// Hands out one [`Text`] per distinct value: what a reader uses for the rows of one input, so that
/// the table holds each value of an input once, however many rows repeat it.
#[derive(Debug, Default)]
pub struct Interner {
    seen: rustc_hash::FxHashSet<Text>,
}

impl Interner {
    /// The shared text equal to `value`.
    pub fn text(&mut self, value: &str) -> Text {
        if let Some(text) = self.seen.get(value) {
            return text.clone();
        }
        let text: Text = value.into();
        self.seen.insert(text.clone());
        text
    }

    /// [`Interner::text`] of a value that may be absent.
    pub fn optional(&mut self, value: Option<&str>) -> Option<Text> {
        value.map(|value| self.text(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_allocation_and_distinct_ones_do_not() {
        let mut interner = Interner::default();
        let first = interner.text("Boundary Protection");
        let again = interner.text(&String::from("Boundary Protection"));
        let other = interner.text("Account Management");
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(&*again, "Boundary Protection");
        assert_eq!(interner.optional(None), None);
        assert!(Arc::ptr_eq(
            &interner.optional(Some("Account Management")).unwrap(),
            &other
        ));
    }
}
