//! The balancer's threads: the process-wide single-threaded I/O runtimes
//! that serve client connections ([`io_workers`]), and the slot number
//! per-thread state (a target's idle upstream connections) is indexed by
//! ([`io_slots`], [`current_io_slot`]).

use std::sync::Arc;

thread_local! {
    /// 1 + the index of the I/O runtime this thread runs; 0 elsewhere.
    static IO_SLOT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many per-thread slots per-thread state needs: one per I/O runtime
/// (one per CPU) plus one for every other thread.
pub(crate) fn io_slots() -> usize {
    static SLOTS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SLOTS
        .get_or_init(|| 1 + std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// This thread's slot (see [`io_slots`]).
pub(crate) fn current_io_slot() -> usize {
    IO_SLOT.with(std::cell::Cell::get)
}

/// The process-wide single-threaded I/O runtimes (one per CPU) that serve
/// client connections of balancers embedded in a multi-thread runtime: a
/// connection, its requests and their upstream connections then stay on one
/// thread, like nginx's workers, instead of hopping between work-stealing
/// workers on every wake-up. `None` if no thread could be started.
pub(crate) fn io_workers() -> Option<Arc<[tokio::runtime::Handle]>> {
    static WORKERS: std::sync::OnceLock<Arc<[tokio::runtime::Handle]>> = std::sync::OnceLock::new();
    let workers = WORKERS.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        (0..n)
            .filter_map(|i| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                let handle = rt.handle().clone();
                std::thread::Builder::new()
                    .name(format!("alb-io-{i}"))
                    .spawn(move || {
                        IO_SLOT.with(|s| s.set(i + 1));
                        rt.block_on(std::future::pending::<()>());
                    })
                    .ok()?;
                Some(handle)
            })
            .collect()
    });
    (!workers.is_empty()).then(|| Arc::clone(workers))
}
