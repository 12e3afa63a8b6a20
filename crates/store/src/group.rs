//! Group commit: concurrent requests' writes gathered into one transaction, each request
//! answered only after that transaction is durably committed.
//!
//! One fsync costs milliseconds; a transaction per inbound message caps ingest at a few hundred
//! (SQLite) to a few thousand (PostgreSQL) per second. Here every write runs inside its own
//! SAVEPOINT of a shared transaction: a failing write is rolled back alone and gets its own
//! error, the others commit together, and nobody hears "ok" before the COMMIT returned.
//!
//! A grouped write must use only the `Tx` it is given (opening another write transaction from
//! inside it would wait for itself on SQLite's single writer).

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};

/// Writes gathered into one transaction at most; bounded so one commit stays short.
const MAX_BATCH: usize = 256;

/// The caller's work, run on the shared transaction; returns how to answer once the commit's
/// outcome is known.
type Job = Box<dyn for<'a> FnOnce(&'a mut Tx) -> BoxFuture<'a, Finished> + Send>;

struct Finished {
    ok: bool,
    answer: Box<dyn FnOnce(Option<StoreError>) + Send>,
}

#[derive(Clone)]
pub(crate) struct Grouper {
    /// One queue per committer. A write goes to the queue its key picks, so writes about the
    /// same customer never sit in two concurrent batches: two batches locking the same rows in
    /// different orders would deadlock (PostgreSQL, several committers).
    queues: Vec<mpsc::UnboundedSender<Job>>,
}

impl Grouper {
    /// Starts `committers` tasks, each taking batches from its own queue: one for SQLite (one
    /// writer), a few for PostgreSQL (each on its own connection).
    pub(crate) fn start(store: &Store, committers: usize) -> Grouper {
        let mut queues = Vec::new();
        for _ in 0..committers.max(1) {
            let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
            queues.push(jobs);
            // A weak handle: the committers must not keep the store (and its pools) alive.
            let store = store.downgrade();
            tokio::spawn(async move {
                while let Some(first) = queue.recv().await {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let Some(store) = store.upgrade() else { break };
                    // The profile's `write` stage (`THROUGHLINE_PROFILE=1`); free otherwise.
                    let stage =
                        tracing::trace_span!(target: "throughline::stage", parent: None, "write");
                    tracing::Instrument::instrument(commit_batch(&store, batch), stage).await;
                }
            });
        }
        Grouper { queues }
    }

    fn queue(&self, key: u64) -> &mpsc::UnboundedSender<Job> {
        let n = self.queues.len().max(1) as u64;
        &self.queues[usize::try_from(key % n).unwrap_or(0)]
    }
}

async fn savepoint(tx: &mut Tx, sql: &'static str) -> Result<()> {
    sqlx::query(sql).execute(tx.conn()).await?;
    Ok(())
}

async fn commit_batch(store: &Store, batch: Vec<Job>) {
    let mut tx = match store.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            // Nothing ran: every caller hears why.
            for job in batch {
                fail_unstarted(job, e.clone());
            }
            return;
        }
    };
    let mut answers = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    for job in batch {
        if let Some(e) = &broken {
            fail_unstarted(job, e.clone());
            continue;
        }
        if let Err(e) = savepoint(&mut tx, "SAVEPOINT grouped").await {
            broken = Some(e.clone());
            fail_unstarted(job, e);
            continue;
        }
        let finished = match AssertUnwindSafe(job(&mut tx)).catch_unwind().await {
            Ok(f) => f,
            Err(_) => Finished {
                ok: false,
                answer: Box::new(|_| {}),
            },
        };
        let undo = if finished.ok {
            savepoint(&mut tx, "RELEASE SAVEPOINT grouped").await
        } else {
            match savepoint(&mut tx, "ROLLBACK TO SAVEPOINT grouped").await {
                Ok(()) => savepoint(&mut tx, "RELEASE SAVEPOINT grouped").await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = undo {
            // The transaction can no longer be trusted: it is rolled back below.
            broken = Some(e);
        }
        answers.push(finished);
    }
    let outcome = match broken {
        Some(e) => {
            drop(tx);
            Err(e)
        }
        None => tx.commit().await,
    };
    let error = outcome.err();
    for finished in answers {
        // A write that failed on its own keeps its own error; the others learn the commit's.
        (finished.answer)(error.clone());
    }
}

/// A job that never ran still owns its caller's answer channel: run it against nothing would
/// be wrong, so it is dropped, and the caller sees the channel closed with this error instead.
fn fail_unstarted(job: Job, error: StoreError) {
    drop(job);
    tracing::warn!(%error, "a grouped write could not start");
}

impl Store {
    /// Runs `work` in a transaction shared with concurrent writers and returns its result once
    /// that transaction is committed (see the module documentation). Use it for the hot,
    /// small, independent writes: inbound messages.
    ///
    /// `key` names what the write is about (the customer): writes with the same key are never
    /// in two concurrent batches.
    pub async fn write_grouped<T, F>(&self, key: u64, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Tx) -> BoxFuture<'a, Result<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |tx: &mut Tx| {
            async move {
                match work(tx).await {
                    Ok(value) => Finished {
                        ok: true,
                        answer: Box::new(move |commit_error| {
                            let _ = reply.send(match commit_error {
                                None => Ok(value),
                                Some(e) => Err(e),
                            });
                        }),
                    },
                    Err(e) => Finished {
                        ok: false,
                        answer: Box::new(move |_| {
                            let _ = reply.send(Err(e));
                        }),
                    },
                }
            }
            .boxed()
        });
        self.grouper()
            .queue(key)
            .send(job)
            .map_err(|_| StoreError::Unavailable("the store is shutting down".into()))?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the write could not be committed; try again".into())
        })?
    }
}
