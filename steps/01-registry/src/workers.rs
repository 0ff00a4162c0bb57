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
pub type Finished<'a, R> = mpsc::Iter<'a, (usize, R)>;

// ANCHOR: run
/// Runs `work` on every job of `jobs` with at most `workers` threads, and
/// hands the results, as they finish, to `take` on the calling thread.
///
/// When `take` returns, early at a failure or after every result, workers
/// start no new job; `run` returns what `take` returned once the jobs already
/// running have ended. The threads are scoped, so `work` may borrow.
pub fn run<J, R, T>(
    jobs: &[J],
    workers: usize,
    work: impl Fn(&J) -> R + Sync,
    take: impl FnOnce(Finished<'_, R>) -> T,
) -> T
where
    J: Sync,
    R: Send,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (sender, receiver) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1).min(jobs.len()) {
            let sender = sender.clone();
            let (next, stop, work) = (&next, &stop, &work);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else {
                        break;
                    };
                    if sender.send((index, work(job))).is_err() {
                        break;
                    }
                }
            });
        }
        // Only the workers hold senders now: the results end when they do.
        drop(sender);
        let taken = take(receiver.iter());
        stop.store(true, Ordering::Relaxed);
        taken
    })
}
// ANCHOR_END: run

/// Runs `work` on every job with at most `workers` threads and returns the
/// results in the jobs' order.
pub fn map<J, R>(jobs: &[J], workers: usize, work: impl Fn(&J) -> R + Sync) -> Vec<R>
where
    J: Sync,
    R: Send,
{
    run(jobs, workers, work, |finished| {
        let mut results: Vec<Option<R>> =
            std::iter::repeat_with(|| None).take(jobs.len()).collect();
        for (index, result) in finished {
            results[index] = Some(result);
        }
        results
            .into_iter()
            .map(|result| result.expect("every job ran: nothing stopped the workers"))
            .collect()
    })
}
