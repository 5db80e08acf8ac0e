//! A slab: connection state indexed by a small integer that an epoll event
//! carries back, with freed slots reused. Each slot has a generation, so a
//! token of a closed connection never reaches the connection that reuses its
//! slot (the delay server holds tokens in its timer heap while connections
//! come and go).

/// Slots of `T`, addressed by tokens.
#[derive(Debug)]
pub struct Slab<T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<usize>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

/// A slot index with its generation, packed into the `u64` of an epoll event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub u64);

impl Token {
    fn new(index: usize, generation: u32) -> Token {
        Token((u64::from(generation) << 32) | index as u64)
    }

    /// The slot index.
    pub fn index(self) -> usize {
        (self.0 & 0xFFFF_FFFF) as usize
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

impl<T> Slab<T> {
    /// An empty slab.
    pub fn new() -> Slab<T> {
        Slab::default()
    }

    /// Stores `value` and returns its token.
    pub fn insert(&mut self, value: T) -> Token {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                let slot = &mut self.slots[i];
                slot.0 = slot.0.wrapping_add(1);
                slot.1 = Some(value);
                Token::new(i, slot.0)
            }
            None => {
                self.slots.push((0, Some(value)));
                Token::new(self.slots.len() - 1, 0)
            }
        }
    }

    /// The value of a live token.
    pub fn get_mut(&mut self, t: Token) -> Option<&mut T> {
        match self.slots.get_mut(t.index()) {
            Some((g, Some(v))) if *g == t.generation() => Some(v),
            _ => None,
        }
    }

    /// Removes and returns the value of a live token.
    pub fn remove(&mut self, t: Token) -> Option<T> {
        match self.slots.get_mut(t.index()) {
            Some((g, slot @ Some(_))) if *g == t.generation() => {
                self.free.push(t.index());
                self.len -= 1;
                slot.take()
            }
            _ => None,
        }
    }

    /// Live values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no value is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every value.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.free.clear();
        self.len = 0;
        self.slots.drain(..).filter_map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_slots_reject_old_tokens() {
        let mut s = Slab::new();
        let a = s.insert("a");
        let b = s.insert("b");
        assert_eq!(s.remove(a), Some("a"));
        let c = s.insert("c");
        assert_eq!(c.index(), a.index(), "the freed slot is reused");
        assert_eq!(s.get_mut(a), None, "the old token is dead");
        assert_eq!(s.remove(a), None);
        assert_eq!(s.get_mut(c), Some(&mut "c"));
        assert_eq!(s.len(), 2);
        assert_eq!(s.drain().count(), 2);
        assert!(s.is_empty());
        let _ = b;
    }
}
