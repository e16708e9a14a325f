//! One socket's mailbox queue: filled by the hub, emptied by the socket's task.
//!
//! A plain deque behind a mutex rather than a channel: an idle socket's queue holds no
//! allocation, and one that a burst (a thousand users coming online) grew gives its memory
//! back when drained. A bounded tokio channel per socket cost about 1.5 KiB more per idle
//! socket (BENCHMARKS.md, (d)).

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

/// Events queued for one socket before it counts as behind.
pub const MAILBOX_CAPACITY: usize = 4096;
/// A queue that a burst grew beyond this many slots gives the memory back once empty: ten
/// thousand idle sockets each keeping room for the presence burst of their first seconds
/// would hold megabytes for nothing.
const KEPT: usize = 4;

pub struct Queue<T> {
    items: Mutex<VecDeque<T>>,
    /// Woken on every push; holds a permit when nobody waits, so no wake-up is lost.
    pub ready: Notify,
    /// Set when an item could not be queued; the socket resumes its client.
    pub behind: AtomicBool,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Self { items: Mutex::default(), ready: Notify::new(), behind: AtomicBool::new(false) }
    }
}

impl<T> Queue<T> {
    fn items(&self) -> MutexGuard<'_, VecDeque<T>> {
        // Pushing and popping cannot leave the deque half-changed, so a poisoned lock is fine.
        self.items.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `item`; `false` when the queue is full.
    pub fn push(&self, item: T) -> bool {
        let mut items = self.items();
        if items.len() >= MAILBOX_CAPACITY {
            return false;
        }
        items.push_back(item);
        drop(items);
        self.ready.notify_one();
        true
    }

    pub fn take(&self) -> Option<T> {
        let mut items = self.items();
        let item = items.pop_front();
        if items.is_empty() && items.capacity() > KEPT {
            items.shrink_to_fit();
        }
        item
    }

    /// Empties the queue; returns how many items it held.
    #[cfg(test)]
    pub fn clear(&self) -> usize {
        let mut items = self.items();
        let count = items.len();
        items.clear();
        count
    }
}
