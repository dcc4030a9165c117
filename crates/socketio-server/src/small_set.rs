//! A set for the common case of one element.

use std::collections::HashSet;

/// A set that holds one element without an allocation of its own: every socket is alone
/// in the room of its id, most sockets are in that room only, and a connection mostly
/// joins one namespace at a time.
#[derive(Debug, Default)]
pub(crate) enum SmallSet<T> {
    #[default]
    Empty,
    One(T),
    /// Boxed: the set is a value in large maps (one entry per socket), kept as small as
    /// its one-element case; the extra allocation is only for the rare larger sets.
    #[allow(clippy::box_collection)]
    Many(Box<HashSet<T>>),
}

impl<T: Eq + std::hash::Hash> SmallSet<T> {
    pub(crate) fn contains(&self, value: &T) -> bool {
        match self {
            Self::Empty => false,
            Self::One(one) => one == value,
            Self::Many(set) => set.contains(value),
        }
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::Empty;
    }

    pub(crate) fn insert(&mut self, value: T) {
        match self {
            Self::Empty => *self = Self::One(value),
            Self::One(one) if *one == value => {}
            Self::One(_) => {
                if let Self::One(one) = std::mem::take(self) {
                    *self = Self::Many(Box::new(HashSet::from([one, value])));
                }
            }
            Self::Many(set) => {
                set.insert(value);
            }
        }
    }

    pub(crate) fn remove(&mut self, value: &T) {
        match self {
            Self::One(one) if one == value => *self = Self::Empty,
            Self::Many(set) => {
                set.remove(value);
                if set.is_empty() {
                    *self = Self::Empty;
                }
            }
            _ => {}
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        let (one, many) = match self {
            Self::Empty => (None, None),
            Self::One(one) => (Some(one), None),
            Self::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_set_holds_one_element_inline_and_more_in_a_set() {
        let mut set = SmallSet::default();
        assert!(set.is_empty());
        set.insert(1);
        set.insert(1);
        assert!(matches!(set, SmallSet::One(1)));
        set.insert(2);
        set.insert(3);
        let mut values: Vec<i32> = set.iter().copied().collect();
        values.sort_unstable();
        assert_eq!(values, [1, 2, 3]);
        set.remove(&2);
        set.remove(&9);
        set.remove(&1);
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), [3]);
        assert!(set.contains(&3) && !set.contains(&1));
        set.remove(&3);
        assert!(set.is_empty());
        assert_eq!(set.iter().count(), 0);
    }
}
