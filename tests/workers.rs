//! The worker threads that pull, push and the fingerprint share: results in
//! the jobs' order, no more workers than asked, and no new job after a
//! failure.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use step_01_registry::workers::{run, try_map};

#[test]
fn try_map_keeps_the_jobs_order_whatever_order_they_finish_in() {
    let jobs: Vec<u64> = (0..20).collect();
    // The first jobs take the longest, so later ones finish first.
    let squares = try_map(&jobs, 4, |&n| {
        std::thread::sleep(Duration::from_micros((20 - n) * 200));
        Ok::<_, ()>(n * n)
    });
    assert_eq!(squares, Ok(jobs.iter().map(|n| n * n).collect::<Vec<_>>()));
}

#[test]
fn no_more_than_the_given_number_of_workers_run_at_once() {
    let running = AtomicUsize::new(0);
    let most = Mutex::new(0);
    let jobs = vec![(); 40];
    try_map(&jobs, 3, |_| {
        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
        let mut most = most.lock().unwrap();
        *most = (*most).max(now);
        drop(most);
        std::thread::yield_now();
        running.fetch_sub(1, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .unwrap();
    assert!(*most.lock().unwrap() <= 3);
}

#[test]
fn a_failure_stops_the_pool_before_another_job_starts() {
    let started = AtomicUsize::new(0);
    let jobs: Vec<usize> = (0..100).collect();
    let first_failure = run(
        &jobs,
        1,
        |&n| {
            started.fetch_add(1, Ordering::SeqCst);
            if n == 3 { Err(n) } else { Ok(n) }
        },
        |mut finished| finished.find_map(|(_, result)| result.err()),
    );
    assert_eq!(first_failure, Some(3));
    // Jobs 0 to 3, and not one more: a push sends no blob after a refusal.
    assert_eq!(started.load(Ordering::SeqCst), 4);
}

#[test]
fn try_map_gives_the_first_failure() {
    let jobs: Vec<u32> = (0..10).collect();
    let result = try_map(&jobs, 2, |&n| if n == 5 { Err("five") } else { Ok(n) });
    assert_eq!(result, Err("five"));
}

#[test]
fn no_jobs_means_no_threads_and_no_results() {
    let jobs: [u8; 0] = [];
    assert_eq!(try_map(&jobs, 8, |&n| Ok::<_, ()>(n)), Ok(Vec::new()));
}
