//! The slab of buffer cookies: a 32-bit context per buffer with the
//! VideoCore, generation-tagged so that a cookie is never valid twice.
//!
//! A cookie is `generation << 20 | (slot + 1)`: 20 bits of slot (never 0),
//! 12 of generation. A slot's generation advances when its cookie is
//! removed, and freed slots are reused oldest first, so a stale cookie
//! names a slot whose generation has moved on (it would take 4096 reuses
//! of that very slot to wrap): it is not found, and never trusted.

use std::collections::VecDeque;

use crate::types::Cookie;

const SLOT_BITS: u32 = 20;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const GENERATIONS: u32 = 1 << (32 - SLOT_BITS);

/// The most slots a slab can have.
pub(crate) const MAX_SLOTS: usize = SLOT_MASK as usize;

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// Values by cookie.
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: VecDeque<u32>,
    capacity: usize,
    live: usize,
}

impl<T> Slab<T> {
    /// A slab of at most `capacity` slots (clamped to 1..=[`MAX_SLOTS`]).
    pub(crate) fn new(capacity: usize) -> Slab<T> {
        Slab { slots: Vec::new(), free: VecDeque::new(), capacity: capacity.clamp(1, MAX_SLOTS), live: 0 }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Stores `value` under a fresh cookie; gives it back if every slot is
    /// taken.
    pub(crate) fn insert(&mut self, value: T) -> Result<Cookie, T> {
        let index = match self.free.pop_front() {
            Some(i) => i,
            None if self.slots.len() < self.capacity => {
                self.slots.push(Slot { generation: 0, value: None });
                (self.slots.len() - 1) as u32
            }
            None => return Err(value),
        };
        let slot = &mut self.slots[index as usize];
        debug_assert!(slot.value.is_none());
        slot.value = Some(value);
        self.live += 1;
        Ok(Cookie(slot.generation << SLOT_BITS | (index + 1)))
    }

    fn locate(&self, cookie: Cookie) -> Option<usize> {
        let slot = (cookie.0 & SLOT_MASK).checked_sub(1)? as usize;
        let s = self.slots.get(slot)?;
        (s.value.is_some() && s.generation == cookie.0 >> SLOT_BITS).then_some(slot)
    }

    /// The value under `cookie`, if it is live.
    pub(crate) fn get(&self, cookie: Cookie) -> Option<&T> {
        self.locate(cookie).and_then(|i| self.slots[i].value.as_ref())
    }

    /// The value under `cookie`, if it is live.
    pub(crate) fn get_mut(&mut self, cookie: Cookie) -> Option<&mut T> {
        self.locate(cookie).and_then(|i| self.slots[i].value.as_mut())
    }

    /// Takes the value under `cookie` out: the cookie is dead from now on.
    pub(crate) fn remove(&mut self, cookie: Cookie) -> Option<T> {
        let i = self.locate(cookie)?;
        let slot = &mut self.slots[i];
        let value = slot.value.take();
        slot.generation = (slot.generation + 1) % GENERATIONS;
        self.free.push_back(i as u32);
        self.live -= 1;
        value
    }

    /// Cookies of the live values that `f` picks.
    pub(crate) fn cookies_where(&self, mut f: impl FnMut(&T) -> bool) -> Vec<Cookie> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let v = s.value.as_ref()?;
                f(v).then_some(Cookie(s.generation << SLOT_BITS | (i as u32 + 1)))
            })
            .collect()
    }

    /// How many live values `f` picks.
    pub(crate) fn count_where(&self, mut f: impl FnMut(&T) -> bool) -> usize {
        self.slots.iter().filter(|s| s.value.as_ref().is_some_and(&mut f)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_never_zero_and_unique_while_live() {
        let mut slab = Slab::new(8);
        let cookies: Vec<Cookie> = (0..8).map(|i| slab.insert(i).unwrap()).collect();
        assert!(cookies.iter().all(|c| c.0 != 0));
        let mut sorted = cookies.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 8);
        for (i, c) in cookies.iter().enumerate() {
            assert_eq!(slab.get(*c), Some(&i));
        }
    }

    #[test]
    fn exhaustion_gives_the_value_back_until_a_cookie_is_released() {
        let mut slab = Slab::new(2);
        let a = slab.insert("a").unwrap();
        let _b = slab.insert("b").unwrap();
        assert_eq!(slab.insert("c"), Err("c"));
        assert_eq!(slab.len(), 2);
        assert_eq!(slab.remove(a), Some("a"));
        let c = slab.insert("c").unwrap();
        assert_ne!(c, a, "the slot is reused under a new generation");
        assert_eq!(slab.get(c), Some(&"c"));
    }

    #[test]
    fn a_stale_cookie_is_not_found_after_release_or_reuse() {
        let mut slab = Slab::new(1);
        let a = slab.insert(1).unwrap();
        assert_eq!(slab.remove(a), Some(1));
        assert_eq!(slab.get(a), None, "released");
        assert_eq!(slab.remove(a), None, "twice");
        let b = slab.insert(2).unwrap();
        assert_eq!(a.0 & SLOT_MASK, b.0 & SLOT_MASK, "same slot");
        assert_eq!(slab.get(a), None, "the old generation is dead");
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&2));
    }

    #[test]
    fn freed_slots_are_reused_oldest_first() {
        let mut slab = Slab::new(3);
        let a = slab.insert('a').unwrap();
        let b = slab.insert('b').unwrap();
        slab.remove(a);
        slab.remove(b);
        let c = slab.insert('c').unwrap();
        assert_eq!(c.0 & SLOT_MASK, a.0 & SLOT_MASK, "a's slot was freed first");
    }

    #[test]
    fn unknown_and_garbage_cookies_are_not_found() {
        let mut slab: Slab<u8> = Slab::new(4);
        let a = slab.insert(1).unwrap();
        for bogus in [0, 0xFFFF_FFFF, a.0 + 1, a.0 ^ (1 << SLOT_BITS), SLOT_MASK] {
            assert_eq!(slab.get(Cookie(bogus)), None, "{bogus:#x}");
        }
    }

    #[test]
    fn generations_wrap_after_4096_reuses_of_a_slot() {
        let mut slab = Slab::new(1);
        let first = slab.insert(0u32).unwrap();
        slab.remove(first);
        let mut last = first;
        for i in 1..GENERATIONS {
            last = slab.insert(i).unwrap();
            assert_ne!(last, first);
            slab.remove(last);
        }
        assert_eq!(last.0 >> SLOT_BITS, GENERATIONS - 1);
        assert_eq!(slab.insert(0).unwrap(), first, "wrapped");
    }

    #[test]
    fn capacity_is_clamped_and_lookups_filter() {
        assert_eq!(Slab::<u8>::new(0).capacity(), 1);
        assert_eq!(Slab::<u8>::new(usize::MAX).capacity(), MAX_SLOTS);
        let mut slab = Slab::new(4);
        for v in [1, 2, 3] {
            slab.insert(v).unwrap();
        }
        assert_eq!(slab.count_where(|v| v % 2 == 1), 2);
        let odd = slab.cookies_where(|v| v % 2 == 1);
        assert_eq!(odd.len(), 2);
        *slab.get_mut(odd[0]).unwrap() = 10;
        assert_eq!(slab.count_where(|v| *v == 10), 1);
    }
}
