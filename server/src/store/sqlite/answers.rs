//! The writer's answers, handed to the runtime through a socket.
//!
//! A task woken from a thread outside the runtime (the writer's, with a
//! commit's outcome) is queued for any worker, and tokio wakes a worker to
//! take it, which on finding it wakes another to keep looking for work. A
//! task woken by the runtime's I/O driver runs on the worker that polled
//! the driver, and wakes no other. So the writer puts its answers in a
//! queue and writes a byte to a socket pair; a task of the runtime, woken
//! like any socket read, sends them (docs/BENCHMARKS.md: half a context
//! switch to one per edit fewer at one edit per commit).

use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::store::CommitError;
use crate::store::write_queue::Reply;

type Answer = (Reply, Result<(), CommitError>);

/// The writer's side: where it leaves the answers of each batch.
pub(super) struct Answers {
    queue: Arc<Mutex<Vec<Answer>>>,
    /// Nonblocking; a byte on it wakes the task that sends the answers.
    bell: UnixStream,
}

fn lock(queue: &Mutex<Vec<Answer>>) -> MutexGuard<'_, Vec<Answer>> {
    queue.lock().unwrap_or_else(|p| p.into_inner())
}

impl Answers {
    /// The writer's side, and the task on the current runtime that sends
    /// the answers; the task ends once the writer's side is dropped.
    pub(super) fn spawn() -> std::io::Result<Self> {
        let (bell, heard) = UnixStream::pair()?;
        bell.set_nonblocking(true)?;
        heard.set_nonblocking(true)?;
        let heard = tokio::net::UnixStream::from_std(heard)?;
        let queue = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(send_answers(heard, queue.clone()));
        Ok(Self { queue, bell })
    }

    /// Hands `answers` to the runtime to send.
    pub(super) fn send(&self, answers: impl Iterator<Item = Answer>) {
        let ring = {
            let mut queue = lock(&self.queue);
            // A queue that held answers already has its byte on the way:
            // the task takes the whole queue after reading a byte.
            let ring = queue.is_empty();
            queue.extend(answers);
            ring && !queue.is_empty()
        };
        if !ring {
            return;
        }
        match (&self.bell).write(&[1]) {
            Ok(_) => {}
            // Bytes are waiting unread: the task will take the queue.
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            // The task is gone (the runtime is shutting down): answer here.
            Err(_) => answer(&self.queue),
        }
    }
}

/// Sends every queued answer.
fn answer(queue: &Mutex<Vec<Answer>>) {
    let answers = std::mem::take(&mut *lock(queue));
    for (reply, outcome) in answers {
        let _ = reply.send(outcome);
    }
}

/// Reads the bell's bytes, then sends what is queued, until the writer's
/// side closes.
async fn send_answers(heard: tokio::net::UnixStream, queue: Arc<Mutex<Vec<Answer>>>) {
    let mut bytes = [0u8; 64];
    loop {
        if heard.readable().await.is_err() {
            break;
        }
        match heard.try_read(&mut bytes) {
            // Read first, then take the queue: answers queued after the
            // take ring again.
            Ok(n) if n > 0 => answer(&queue),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            // Closed, or broken: the writer's side answers by itself from
            // now on (its next byte fails).
            _ => break,
        }
    }
    // Closed first, so that whatever the writer queues from now on it
    // answers itself; then what it queued before.
    drop(heard);
    answer(&queue);
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

    /// Answers sent from a thread of its own, as the writer's, one batch
    /// at a time.
    fn send_from_a_thread(
        answers: Answers,
        batches: usize,
    ) -> Vec<oneshot::Receiver<Result<(), CommitError>>> {
        let (replies, tickets): (Vec<_>, Vec<_>) =
            (0..batches * 3).map(|_| oneshot::channel()).unzip();
        std::thread::spawn(move || {
            let mut replies = replies.into_iter();
            for _ in 0..batches {
                answers.send(replies.by_ref().take(3).map(|r| (r, Ok(()))));
            }
        });
        tickets
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_answer_of_another_thread_reaches_its_ticket() {
        let tickets = send_from_a_thread(Answers::spawn().unwrap(), 500);
        for ticket in tickets {
            assert!(matches!(ticket.await, Ok(Ok(()))));
        }
    }

    #[test]
    fn answers_arrive_after_the_runtime_that_sent_them_is_gone() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let answers = runtime.block_on(async { Answers::spawn().unwrap() });
        // The task that read the bell goes with its runtime.
        drop(runtime);
        let tickets = send_from_a_thread(answers, 2);
        for ticket in tickets {
            assert!(matches!(ticket.blocking_recv(), Ok(Ok(()))));
        }
    }
}
