//! Fair shares of the CPU between plugins: a plugin whose calls spin cannot starve the others.
//!
//! Guest code runs on the async workers that also serve every client, in slices of one epoch
//! tick ([`super::EPOCH_TICK`]); at the end of each slice the call yields to the executor. A call
//! that ends within its first slice (nearly every call) costs nothing more. A call that needs a
//! further slice must first get one of its plugin's CPU slots: at most [`slots_per_plugin`] calls
//! of one plugin run guest code at once (one fewer than the cores, at least one), so however many
//! long calls a plugin has in flight, at least one core is left for the other plugins, for the
//! short calls and for the I/O of every client. Slots are held only while a slice runs and are
//! handed on in FIFO order, so a plugin's own long calls take turns. The call's deadline and the
//! client's cancellation still apply while a call waits for a slot.

use capsule_common::sync::lock;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// The slot a call holds while its current slice runs (none during its first slice).
pub type Held = Arc<Mutex<Option<OwnedSemaphorePermit>>>;

/// Calls of one plugin that may run guest code at once past their first slice: the cores
/// minus one, at least one.
pub fn slots_per_plugin() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .max(1)
}

/// One plugin's CPU slots.
pub struct CpuShare {
    slots: Arc<Semaphore>,
}

impl Default for CpuShare {
    fn default() -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots_per_plugin())),
        }
    }
}

impl CpuShare {
    /// What a call does between two slices: give back its slot (if it held one), yield to the
    /// executor, then wait for a slot for its next slice — or for `cancel`, after which the
    /// epoch check stops the call.
    pub fn between_slices(
        &self,
        held: &Held,
        cancel: CancellationToken,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        drop(lock(held).take());
        let held = held.clone();
        let slots = self.slots.clone();
        Box::pin(async move {
            tokio::task::yield_now().await;
            tokio::select! {
                permit = slots.acquire_owned() => {
                    if let Ok(permit) = permit {
                        *lock(&held) = Some(permit);
                    }
                }
                () = cancel.cancelled() => {}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots are handed on between slices; a call waiting for one can be cancelled.
    #[tokio::test]
    async fn slices_take_turns_and_waiting_can_be_cancelled() {
        let share = CpuShare {
            slots: Arc::new(Semaphore::new(1)),
        };
        let (a, b): (Held, Held) = (Held::default(), Held::default());
        share.between_slices(&a, CancellationToken::new()).await;
        assert!(
            a.lock().unwrap().is_some(),
            "a runs its second slice with the slot"
        );
        let cancel = CancellationToken::new();
        let waiting = tokio::spawn(share.between_slices(&b, cancel.clone()));
        tokio::task::yield_now().await;
        assert!(
            b.lock().unwrap().is_none(),
            "b waits while a holds the slot"
        );
        drop(share.between_slices(&a, CancellationToken::new()));
        waiting.await.unwrap();
        assert!(
            b.lock().unwrap().is_some(),
            "a gave the slot back at its slice's end"
        );
        let cancel2 = CancellationToken::new();
        let c = Held::default();
        let stuck = tokio::spawn(share.between_slices(&c, cancel2.clone()));
        cancel2.cancel();
        stuck.await.unwrap();
        assert!(c.lock().unwrap().is_none());
        drop(cancel);
    }
}
