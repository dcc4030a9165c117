//! A first-in first-out queue for the per-session queues of a server with many sessions.

use std::collections::VecDeque;

/// The room a queue's buffer starts with: with the inline element, 64, the most that a
/// session's driver moves from one queue to the next at a time. A burst that a buffer
/// of a few elements would start does not then go through every size up to it, one
/// reallocation and copy each, before the buffer is freed again.
const BURST: usize = 63;

/// A FIFO queue that holds its first element inline and the others in a buffer that it
/// frees when it is drained.
///
/// A server keeps a few queues per session (packets to write, events to hand over,
/// messages from the application). Most of the time each carries one item at a time, and
/// an idle session carries none; a `VecDeque` would keep the capacity of its largest
/// burst for the session's whole life. This one allocates nothing for a single item, and
/// gives its buffer back when a burst has been drained.
///
/// ```
/// use engineio_core::InlineQueue;
///
/// let mut queue = InlineQueue::new();
/// queue.push_back(1);
/// queue.extend([2, 3]);
/// queue.push_front(0);
/// assert_eq!(queue.len(), 4);
/// assert_eq!(queue.pop_front(), Some(0));
/// assert_eq!(queue.pop_front(), Some(1));
/// assert_eq!(queue.pop_front(), Some(2));
/// assert_eq!(queue.pop_front(), Some(3));
/// assert!(queue.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct InlineQueue<T> {
    /// The oldest element; `None` only when the queue is empty, or while `rest` holds the
    /// oldest ones (the first was taken and the rest not yet).
    first: Option<T>,
    /// The elements after `first`, in order.
    rest: VecDeque<T>,
}

impl<T> Default for InlineQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> InlineQueue<T> {
    /// An empty queue; allocates nothing.
    pub const fn new() -> Self {
        Self {
            first: None,
            rest: VecDeque::new(),
        }
    }

    /// How many elements it holds.
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.is_empty()
    }

    /// Adds an element at the back.
    pub fn push_back(&mut self, value: T) {
        if self.is_empty() {
            self.first = Some(value);
        } else {
            if self.rest.capacity() == 0 {
                // A burst has begun: room for a few from the start, rather than growing
                // through every small size.
                self.rest.reserve(BURST);
            }
            self.rest.push_back(value);
        }
    }

    /// Puts an element back at the front.
    pub fn push_front(&mut self, value: T) {
        if let Some(first) = self.first.replace(value) {
            self.rest.push_front(first);
        }
    }

    /// The element at the front, to change in place.
    pub fn front_mut(&mut self) -> Option<&mut T> {
        match self.first {
            Some(ref mut first) => Some(first),
            None => self.rest.front_mut(),
        }
    }

    /// The elements, front to back.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.first.iter().chain(self.rest.iter())
    }

    /// Takes the element at the front.
    pub fn pop_front(&mut self) -> Option<T> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let value = self.rest.pop_front();
        if self.rest.is_empty() && self.rest.capacity() > 0 {
            self.rest = VecDeque::new();
        }
        value
    }
}

impl<T> Extend<T> for InlineQueue<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, values: I) {
        for value in values {
            self.push_back(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_come_out_in_order_whatever_the_mix_of_calls() {
        let mut queue = InlineQueue::new();
        let mut model = VecDeque::new();
        // A fixed pseudo-random walk over push_back / push_front / pop_front.
        let mut seed = 7u32;
        for step in 0..2000u32 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            match (seed >> 16) % 6 {
                0 | 1 => {
                    queue.push_back(step);
                    model.push_back(step);
                }
                2 => {
                    queue.push_front(step);
                    model.push_front(step);
                }
                3 => {
                    if let Some(front) = queue.front_mut() {
                        *front += 10_000;
                    }
                    if let Some(front) = model.front_mut() {
                        *front += 10_000;
                    }
                }
                _ => assert_eq!(queue.pop_front(), model.pop_front()),
            }
            assert!(queue.iter().eq(model.iter()));
            assert_eq!(queue.len(), model.len());
            assert_eq!(queue.is_empty(), model.is_empty());
        }
        while let Some(value) = model.pop_front() {
            assert_eq!(queue.pop_front(), Some(value));
        }
        assert_eq!(queue.pop_front(), None);
    }

    #[test]
    fn one_element_takes_no_buffer_and_a_drained_burst_gives_it_back() {
        let mut queue = InlineQueue::new();
        queue.push_back("a");
        assert_eq!(queue.rest.capacity(), 0);
        queue.extend(["b", "c"]);
        assert!(queue.rest.capacity() > 0);
        while queue.pop_front().is_some() {}
        assert_eq!(queue.rest.capacity(), 0);
    }
}
