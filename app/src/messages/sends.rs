//! Group commit for sends on SQLite.
//!
//! SQLite lets one connection write at a time; others wait in its busy handler, which sleeps
//! in steps of up to 100 ms. With many senders that sleeping, not the work, set the pace: at
//! 8 concurrent senders the slowest send took half a second, and a commit per message capped
//! throughput near 2,300 sends/s (BENCHMARKS.md). Here every send on SQLite goes through one
//! queue: a single task takes whatever has queued up (up to [`BATCH_MAX`]), runs the sends one
//! after another inside one transaction, commits once, then, in sequence order, runs each
//! send's `OnCommit` (which publishes it) and answers its sender.
//!
//! The guarantees hold as before: a send is answered only after the transaction holding it
//! has committed; a refused send (a reused client id, a non-member) leaves nothing behind and
//! gives its sequence number back; any other failure fails the whole batch, rolled back, and
//! none of it was answered as stored.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::Message;
use super::store::{InsertError, NewMessage, OnCommit, send_in};
use crate::error::AppError;

/// Sends committed together at most. Large enough to absorb bursts, small enough that one
/// transaction stays short for readers checkpointing behind it.
pub const BATCH_MAX: usize = 256;
/// Sends waiting for the committer before a sender has to wait for room in the queue.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Message, InsertError>>;
type Job = (NewMessage, OnCommit, Reply);

/// The way into the committer. Cloning shares it.
#[derive(Clone, Debug)]
pub struct SendQueue {
    jobs: mpsc::Sender<Job>,
}

impl SendQueue {
    /// Starts the committer on `pool`. It runs as long as a queue handle exists.
    pub fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(commit_forever(pool, queue));
        Self { jobs }
    }

    /// Queues `new` and waits until it is committed (or refused).
    pub async fn insert(
        &self,
        new: NewMessage,
        on_commit: OnCommit,
    ) -> Result<Message, InsertError> {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send((new, on_commit, reply)).await.is_err() {
            tracing::error!("the send committer has stopped");
            return Err(InsertError::Other(AppError::Internal));
        }
        answer.await.unwrap_or_else(|_| {
            tracing::error!("the send committer dropped a send");
            Err(InsertError::Other(AppError::Internal))
        })
    }
}

async fn commit_forever(pool: SqlitePool, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    while queue.recv_many(&mut batch, BATCH_MAX).await > 0 {
        let (sends, followers): (Vec<NewMessage>, Vec<(OnCommit, Reply)>) =
            batch.drain(..).map(|(new, on_commit, reply)| (new, (on_commit, reply))).unzip();
        let results = match commit(&pool, &sends).await {
            Ok(results) => results,
            Err(e) => {
                tracing::error!(error = %e, sends = sends.len(), "a batch of sends failed");
                sends.iter().map(|_| Err(InsertError::Other(AppError::Internal))).collect()
            }
        };
        for ((on_commit, reply), result) in followers.into_iter().zip(results) {
            if let Ok(message) = &result {
                on_commit(message);
            }
            // A sender that gave up (its request was cancelled) needs no answer; what was
            // committed stays committed, and its retry finds it by client id.
            if reply.send(result).is_err() {
                tracing::trace!("a sender left before its answer");
            }
        }
    }
}

/// One transaction for the whole batch. A refused send has undone itself; anything else
/// leaves the transaction holding part of a send, so it is dropped (rolled back) whole.
async fn commit(
    pool: &SqlitePool,
    sends: &[NewMessage],
) -> Result<Vec<Result<Message, InsertError>>, AppError> {
    let mut tx = pool.begin().await?;
    let mut results = Vec::with_capacity(sends.len());
    for new in sends {
        match send_in!(&mut tx, new) {
            Err(InsertError::Other(e)) => return Err(e),
            done => results.push(done),
        }
    }
    tx.commit().await?;
    Ok(results)
}
