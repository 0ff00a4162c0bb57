//! The worker threads that pull, push and the fingerprint share: results in
//! the jobs' order, no more workers than asked, and a stop at the first
//! failure.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use step_01_registry::workers::{map, run};

#[test]
fn map_keeps_the_jobs_order_whatever_order_they_finish_in() {
    let jobs: Vec<u64> = (0..50).collect();
    // Later jobs finish first: the first ones wait the longest.
    let squares = map(&jobs, 4, |&n| {
        std::thread::yield_now();
        n * n
    });
    assert_eq!(squares, jobs.iter().map(|n| n * n).collect::<Vec<_>>());
}

#[test]
fn no_more_than_the_given_number_of_workers_run_at_once() {
    let running = AtomicUsize::new(0);
    let most = Mutex::new(0);
    let jobs = vec![(); 40];
    map(&jobs, 3, |_| {
        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
        let mut most = most.lock().unwrap();
        *most = (*most).max(now);
        drop(most);
        std::thread::yield_now();
        running.fetch_sub(1, Ordering::SeqCst);
    });
    assert!(*most.lock().unwrap() <= 3);
}

#[test]
fn after_take_returns_no_new_job_starts() {
    let started = AtomicUsize::new(0);
    let past_the_failure = (Mutex::new(false), std::sync::Condvar::new());
    let jobs: Vec<usize> = (0..1000).collect();
    let first_failure = run(
        &jobs,
        2,
        |&n| {
            started.fetch_add(1, Ordering::SeqCst);
            if n > 3 {
                // Jobs after the failure wait until it has been seen.
                let (seen, changed) = &past_the_failure;
                drop(changed.wait_while(seen.lock().unwrap(), |seen| !*seen));
            }
            if n == 3 { Err(n) } else { Ok(n) }
        },
        |mut finished| {
            let failure = finished.find_map(|(_, result)| result.err());
            *past_the_failure.0.lock().unwrap() = true;
            past_the_failure.1.notify_all();
            failure
        },
    );
    assert_eq!(first_failure, Some(3));
    // Each worker finished the job it was waiting in, and took no other
    // of the hundreds left.
    assert!(
        started.load(Ordering::SeqCst) < 100,
        "{started:?} jobs started"
    );
}

#[test]
fn no_jobs_means_no_threads_and_no_results() {
    let jobs: [u8; 0] = [];
    assert!(map(&jobs, 8, |&n| n).is_empty());
}
