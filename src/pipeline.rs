//! The one shape every run has: producers (the parsing workers, or a stage before them) hand
//! batches through a bounded channel to a consumer thread (the database writer, or the next
//! stage). Scan and history are both built from it.
//!
//! The channel is bounded so that producers wait for a slow consumer instead of filling memory.
//! When the consumer stops early (its error is what matters), `Outbox::send` says so and the
//! producers stop too; the consumer's error is returned, not a "channel closed" of the producer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use anyhow::Result;

/// The producers' end of the channel. Shared by every producer thread.
pub struct Outbox<T> {
    sender: SyncSender<T>,
    consumer_stopped: AtomicBool,
}

impl<T: Send> Outbox<T> {
    /// Hands `item` to the consumer, waiting while the channel is full. `false` once the
    /// consumer has stopped: the producer should stop too.
    pub fn send(&self, item: T) -> bool {
        if self.consumer_stopped.load(Ordering::Relaxed) {
            return false;
        }
        if self.sender.send(item).is_err() {
            self.consumer_stopped.store(true, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Whether the consumer has stopped (checked before costly work, not only at `send`).
    pub fn consumer_stopped(&self) -> bool {
        self.consumer_stopped.load(Ordering::Relaxed)
    }
}

/// Runs `consume` on a thread of its own, named `consumer` in errors, over what `produce` (on
/// this thread) sends, through a channel of `capacity` items. Returns both results; the
/// consumer's error comes first, since a producer that stopped because the consumer did has
/// nothing to say.
pub fn run<T, C, P>(
    consumer: &str,
    capacity: usize,
    consume: impl FnOnce(Receiver<T>) -> Result<C> + Send,
    produce: impl FnOnce(&Outbox<T>) -> Result<P>,
) -> Result<(C, P)>
where
    T: Send,
    C: Send,
{
    let (sender, receiver) = std::sync::mpsc::sync_channel(capacity);
    std::thread::scope(|scope| {
        let consuming = scope.spawn(move || consume(receiver));
        let outbox = Outbox {
            sender,
            consumer_stopped: AtomicBool::new(false),
        };
        let produced = produce(&outbox);
        // The consumer sees the end of its input once every sender is gone.
        drop(outbox);
        let consumed = consuming
            .join()
            .map_err(|_| anyhow::anyhow!("the {consumer} thread panicked"))?;
        Ok((consumed?, produced?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_gets_everything_in_order_and_both_results_come_back() {
        let (sum, sent) = run(
            "summing",
            2,
            |items| Ok(items.iter().collect::<Vec<u32>>()),
            |outbox| {
                let mut sent = 0;
                for i in 0..100 {
                    assert!(outbox.send(i));
                    sent += 1;
                }
                Ok(sent)
            },
        )
        .unwrap();
        assert_eq!(sum, (0..100).collect::<Vec<_>>());
        assert_eq!(sent, 100);
    }

    #[test]
    fn a_failing_consumer_stops_the_producer_and_its_error_wins() {
        let result: Result<((), usize)> = run(
            "failing",
            1,
            |items| {
                let first = items.recv().expect("one item");
                anyhow::bail!("consumer failed at {first}")
            },
            |outbox| {
                let mut sent = 0;
                while outbox.send(sent) {
                    sent += 1;
                    assert!(sent < 10_000, "the producer was never told to stop");
                }
                assert!(outbox.consumer_stopped());
                anyhow::bail!("producer stopped after {sent}")
            },
        );
        assert_eq!(result.unwrap_err().to_string(), "consumer failed at 0");
    }

    #[test]
    fn a_panicking_consumer_is_an_error_naming_it() {
        let result: Result<((), ())> = run(
            "database writer",
            1,
            |_: Receiver<u8>| panic!("boom"),
            |_| Ok(()),
        );
        let message = result.unwrap_err().to_string();
        assert_eq!(message, "the database writer thread panicked");
    }
}
