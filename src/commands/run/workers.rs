//! Work items on several threads, each with its own state (for `run --jobs`: one device
//! instance per thread), results in item order whatever the number of threads.

use anyhow::{Context, Result};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// `work(state, i)` for every `i` of `items` on `jobs` threads (at most one per item), each
/// thread with its own `init()` state, taking the next item when it is free. Results come back
/// in item order; `progress` is called (on this thread) after each finished item.
///
/// On failure the other threads stop after their current item and the error returned is the
/// first in item order (a failed `init` comes before every item).
pub fn map_in_workers<S, T: Send>(
    items: Range<usize>,
    jobs: usize,
    init: impl Fn() -> Result<S> + Sync,
    work: impl Fn(&mut S, usize) -> Result<T> + Sync,
    mut progress: impl FnMut(),
) -> Result<Vec<T>> {
    let threads = jobs.max(1).min(items.len());
    let next = AtomicUsize::new(items.start);
    let stop = AtomicBool::new(false);
    let mut results: Vec<Option<T>> = items.clone().map(|_| None).collect();
    // `None` (a failed init) orders before every item.
    let mut first_error: Option<(Option<usize>, anyhow::Error)> = None;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(Option<usize>, Result<T>)>();
        for _ in 0..threads {
            let (tx, next, stop, init, work, end) = (tx.clone(), &next, &stop, &init, &work, items.end);
            scope.spawn(move || {
                let mut state = match init() {
                    Ok(s) => s,
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        let _ = tx.send((None, Err(e)));
                        return;
                    }
                };
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        break;
                    }
                    let r = work(&mut state, i);
                    if r.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if tx.send((Some(i), r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            match (i, r) {
                (Some(i), Ok(v)) => {
                    results[i - items.start] = Some(v);
                    progress();
                }
                (i, Err(e)) => {
                    if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_error = Some((i, e));
                    }
                }
                (None, Ok(_)) => unreachable!("only init failures come without an item"),
            }
        }
    });
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    results.into_iter().map(|r| r.context("a worker stopped without a result")).collect()
}

#[cfg(test)]
mod tests {
    use super::map_in_workers;
    use anyhow::bail;
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_come_in_item_order_with_one_state_per_thread() {
        for jobs in [1, 2, 3, 8, 100] {
            let inits = AtomicUsize::new(0);
            let done = Cell::new(0);
            let got = map_in_workers(
                5..25,
                jobs,
                || Ok(inits.fetch_add(1, Ordering::Relaxed)),
                |_, i| {
                    // Uneven work, so threads finish out of order.
                    std::thread::sleep(std::time::Duration::from_millis((i % 3) as u64));
                    Ok(i * i)
                },
                || done.set(done.get() + 1),
            )
            .unwrap();
            assert_eq!(got, (5..25).map(|i| i * i).collect::<Vec<_>>(), "jobs {jobs}");
            assert_eq!(inits.load(Ordering::Relaxed), jobs.min(20), "one state per thread, at most one per item");
            assert_eq!(done.get(), 20);
        }
    }

    #[test]
    fn the_first_failure_in_item_order_is_reported() {
        for jobs in [1, 2, 4] {
            let e = map_in_workers(
                0..40,
                jobs,
                || Ok(()),
                |_, i| if i == 7 || i == 9 { bail!("bad {i}") } else { Ok(i) },
                || {},
            )
            .unwrap_err();
            assert_eq!(e.to_string(), "bad 7", "jobs {jobs}");
        }
        let e = map_in_workers(0..4, 2, || -> anyhow::Result<()> { bail!("no device") }, |_, i| Ok(i), || {});
        assert_eq!(e.unwrap_err().to_string(), "no device");
    }

    #[test]
    fn no_items_no_threads() {
        let got: Vec<usize> =
            map_in_workers(3..3, 4, || -> anyhow::Result<()> { bail!("never") }, |_, i| Ok(i), || {}).unwrap();
        assert!(got.is_empty());
    }
}
