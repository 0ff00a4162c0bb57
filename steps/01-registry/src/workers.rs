//! A few worker threads sharing a list of jobs.
//!
//! Three places in the course do many slow, independent things at once: a
//! pull downloads layers, a push uploads blobs, and the fingerprint of a root
//! filesystem hashes its top-level directories. Each is the same pattern:
//! workers take the next job off a shared counter, and the calling thread
//! takes the results as they finish, in whatever order that is. The caller
//! decides what to do with them: put them back in order, apply them as their
//! turn comes, or stop at the first failure.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Finished jobs as they come: the job's index in the list and its result.
pub type Finished<'a, T, E> = mpsc::Iter<'a, (usize, Result<T, E>)>;

// ANCHOR: run
/// Runs `work` on every job of `jobs` with at most `workers` threads, and
/// hands the results, as they finish, to `take` on the calling thread.
///
/// A job that fails stops the pool: the worker that ran it says so before
/// it reports the failure, so no worker starts another job after it (a
/// push must not send more blobs once one was refused). When `take`
/// returns, early or after every result, workers start no new job either.
/// `run` returns what `take` returned once the jobs already running have
/// ended. The threads are scoped, so `work` may borrow.
pub fn run<J, T, E, R>(
    jobs: &[J],
    workers: usize,
    work: impl Fn(&J) -> Result<T, E> + Sync,
    take: impl FnOnce(Finished<'_, T, E>) -> R,
) -> R
where
    J: Sync,
    T: Send,
    E: Send,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (sender, receiver) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1).min(jobs.len()) {
            let sender = sender.clone();
            let (next, stop, work) = (&next, &stop, &work);
            scope.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(index) else {
                        break;
                    };
                    let result = work(job);
                    if result.is_err() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if sender.send((index, result)).is_err() {
                        break;
                    }
                }
            });
        }
        // Only the workers hold senders now: the results end when they do.
        drop(sender);
        let taken = take(receiver.iter());
        stop.store(true, Ordering::SeqCst);
        taken
    })
}
// ANCHOR_END: run

/// Runs `work` on every job with at most `workers` threads: the results in
/// the jobs' order, or the first failure.
pub fn try_map<J, T, E>(
    jobs: &[J],
    workers: usize,
    work: impl Fn(&J) -> Result<T, E> + Sync,
) -> Result<Vec<T>, E>
where
    J: Sync,
    T: Send,
    E: Send,
{
    run(jobs, workers, work, |finished| {
        let mut results: Vec<Option<T>> =
            std::iter::repeat_with(|| None).take(jobs.len()).collect();
        for (index, result) in finished {
            results[index] = Some(result?);
        }
        Ok(results
            .into_iter()
            .map(|result| result.expect("without a failure, every job ran"))
            .collect())
    })
}
