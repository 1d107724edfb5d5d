//! Work of concurrent requests done in batches (refresh reads, rotation
//! groups): one task takes whatever waits, hands it to a batch, and starts
//! the next batch only when a slot is free, so arrivals gather while the
//! slots are busy and go out alone, at once, when nothing else waits.

use std::future::Future;
use std::sync::Arc;

use sea_orm::DbErr;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::core::fault::Fault;

/// Where a batch answers one caller.
pub(super) type Reply<R> = oneshot::Sender<Result<R, DbErr>>;

/// Queue `item` for the batching task behind `queue` and wait for its
/// answer; `task` names that task in the error if it has stopped.
pub(super) async fn ask<T, R>(
    queue: &mpsc::UnboundedSender<(T, Reply<R>)>,
    item: T,
    task: &'static str,
) -> Result<R, Fault> {
    let (reply, answer) = oneshot::channel();
    queue
        .send((item, reply))
        .map_err(|_| Fault::TaskStopped(task))?;
    Ok(answer.await.map_err(|_| Fault::TaskStopped(task))??)
}

/// Run `handle` on batches of what arrives on `waiting` (at most `max` items
/// each, at most `in_flight` batches at once) until every sender is gone.
pub(super) async fn run_in_batches<T, F, Fut>(
    mut waiting: mpsc::UnboundedReceiver<T>,
    max: usize,
    in_flight: usize,
    handle: F,
) where
    T: Send + 'static,
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(in_flight));
    loop {
        // A slot first: while every slot is busy, arrivals gather into the
        // next batch.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::new();
        if waiting.recv_many(&mut batch, max).await == 0 {
            return;
        }
        let work = handle(batch);
        tokio::spawn(async move {
            work.await;
            drop(slot);
        });
    }
}

/// The values of an `IN (...)` list, with the last repeated up to the next
/// power of two: the statement then has one of a few shapes, not one per
/// batch size, so each connection prepares and plans it once (PostgreSQL
/// plans a new statement text in about as long as it takes to run it). A
/// repeated value changes nothing.
pub(super) fn padded(mut values: Vec<&str>) -> Vec<&str> {
    if let Some(&last) = values.last() {
        values.resize(values.len().next_power_of_two(), last);
    }
    values
}

#[cfg(test)]
mod tests {
    use super::padded;

    #[test]
    fn values_are_padded_with_the_last_to_a_power_of_two() {
        assert!(padded(vec![]).is_empty());
        assert_eq!(padded(vec!["a"]), ["a"]);
        assert_eq!(padded(vec!["a", "b", "c"]), ["a", "b", "c", "c"]);
        assert_eq!(padded(vec!["a"; 5]).len(), 8);
        assert_eq!(padded(vec!["a"; 256]).len(), 256);
    }
}
