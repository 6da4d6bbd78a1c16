//! Work spread over a fixed number of threads, results in the items' order: the fetcher's requests
//! in flight and the warehouse's partition writers.
//!
//! Scoped threads, not a rayon pool. The warehouse's writers call Polars, which runs each gather and
//! write on its own rayon pool; a rayon worker waiting on another pool keeps busy with its own pool's
//! jobs meanwhile (rayon's `ThreadPool::install`), so the writers nested in one another's stacks until
//! a stack overflowed (seen at 5,731 partitions). The fetcher's threads mostly sleep, on the rate
//! limit and on the network.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `work` on every item, on at most `threads` threads that each take the next item when done,
/// and returns the results in the items' order. A panic in `work` is raised again here.
pub fn map_in_order<T: Sync, R: Send>(items: &[T], threads: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, items.len().max(1));
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(index) else { break };
                        done.push((index, work(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_and_no_more_than_the_threads_run_at_once() {
        let running = AtomicUsize::new(0);
        let most_running = AtomicUsize::new(0);
        let items: Vec<u64> = (0..64).collect();
        let squares = map_in_order(&items, 3, |&n| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most_running.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(n % 3));
            running.fetch_sub(1, Ordering::SeqCst);
            n * n
        });
        assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
        assert!(most_running.into_inner() <= 3);
        assert!(map_in_order(&[] as &[u64], 4, |&n| n).is_empty());
    }
}
