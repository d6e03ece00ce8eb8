//! How much request body the bridge holds at once: the bytes of every body
//! being read or translated count against one budget, so that however many
//! clients post large histories at once, the bridge's memory stays bounded
//! (a translation takes a few times its body; see bench/RESULTS.md).
//!
//! A body takes its share as it arrives, in [`UNIT`]s, and keeps it until
//! its chat request has gone upstream. One that cannot get its share within
//! [`WAIT`] is answered 503, which Codex retries.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The bytes of request bodies held at once: one body of the largest size
/// (64 MiB) and a half more, or three of 32 MiB.
pub const BUDGET: usize = 96 << 20;
/// The budget's grain: a body holds at least one of these.
pub const UNIT: usize = 64 << 10;
/// How long a body waits for its share before it is refused with 503.
pub const WAIT: Duration = Duration::from_secs(10);

/// The budget the whole bridge shares.
#[derive(Debug, Clone)]
pub struct Budget {
    units: Arc<Semaphore>,
    wait: Duration,
}

/// A body's share of the budget; given back when dropped.
#[derive(Debug, Default)]
pub struct Share {
    permit: Option<OwnedSemaphorePermit>,
}

/// The budget stayed full for [`WAIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl Default for Budget {
    fn default() -> Budget {
        Budget::new(BUDGET, WAIT)
    }
}

impl Budget {
    /// `bytes` of bodies at once; a body waits up to `wait` for its share.
    pub fn new(bytes: usize, wait: Duration) -> Budget {
        Budget {
            units: Arc::new(Semaphore::new(bytes.div_ceil(UNIT))),
            wait,
        }
    }

    /// Grow `share` to cover `bytes`, waiting for the rest (up to [`WAIT`]
    /// for the bridge's budget).
    pub async fn cover(&self, share: &mut Share, bytes: usize) -> Result<(), Full> {
        let want = bytes.div_ceil(UNIT).max(1);
        let have = share.permit.as_ref().map_or(0, |p| p.num_permits());
        let Some(more) = want.checked_sub(have).filter(|n| *n > 0) else {
            return Ok(());
        };
        let more = u32::try_from(more).map_err(|_| Full)?;
        let acquire = self.units.clone().acquire_many_owned(more);
        let permit = match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => permit,
            // Timed out, or the semaphore closed (it never is).
            _ => return Err(Full),
        };
        match &mut share.permit {
            Some(held) => held.merge(permit),
            None => share.permit = Some(permit),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_grow_and_come_back() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let budget = Budget::new(4 * UNIT, Duration::from_millis(10));
            let mut a = Share::default();
            budget.cover(&mut a, 1).await.unwrap();
            budget.cover(&mut a, 3 * UNIT).await.unwrap();
            assert_eq!(budget.units.available_permits(), 1);
            let mut b = Share::default();
            assert_eq!(budget.cover(&mut b, 2 * UNIT).await, Err(Full));
            drop(a);
            budget.cover(&mut b, 4 * UNIT).await.unwrap();
            assert_eq!(budget.units.available_permits(), 0);
        });
    }
}
