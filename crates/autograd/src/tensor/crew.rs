//! A crew of helper threads that stay awake between jobs, for splitting one large
//! computation (a matrix product in row bands) over the cores.
//!
//! Rayon's idle workers sleep after a few dozen yields, and a caller from outside the
//! pool blocks until the pool has run every piece of a job. Under a hypervisor a woken
//! thread's virtual CPU must be woken too, which takes tens of microseconds, twice per
//! job (the worker, then the caller): the MLP training step of the peer benchmark runs
//! a dozen products with serial work in between, and at two threads it took as long as
//! at one (561 against 576 µs; a third of its samples were in the scheduler). A crew
//! member instead spins for [`SPIN`] after each job before it parks, as OpenMP's
//! threads do (PyTorch's `KMP_BLOCKTIME` is 200 ms), and the caller runs the first piece
//! itself.
//!
//! One job at a time: a caller that finds the crew busy (another thread's job), a job
//! with more pieces than the crew has threads, or a caller that is itself one of
//! rayon's threads (whose pool is then busy with other work) runs on rayon's pool
//! instead. While it spins, a member takes a core: a program that does other work on
//! its cores between products (a probe's worker thread) gets them back within
//! [`SPIN`] of the last product.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, TryLockError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use rayon::prelude::*;

/// How long a crew member spins for its next job before it parks.
pub(crate) const SPIN: Duration = Duration::from_micros(500);

/// A piece of a job: the job's function and the index of the piece.
type Piece = (&'static (dyn Fn(usize) + Sync), usize);

/// One helper thread's mailbox.
struct Member {
    /// Pieces posted so far; the member runs one piece per increment.
    posted: AtomicU64,
    /// Pieces the member has finished.
    finished: AtomicU64,
    /// Whether a piece panicked (the caller panics in turn once all are done).
    panicked: AtomicBool,
    piece: Mutex<Option<Piece>>,
    thread: OnceLock<Thread>,
}

struct Crew {
    members: Vec<Arc<Member>>,
    /// Held by the thread whose job the crew is running.
    busy: Mutex<()>,
}

static CREW: OnceLock<Crew> = OnceLock::new();

/// The crew: one member per rayon thread beyond the first (the caller is the first),
/// started on first use.
fn crew() -> &'static Crew {
    CREW.get_or_init(|| {
        let wanted = rayon::current_num_threads().saturating_sub(1);
        let mut members = Vec::with_capacity(wanted);
        for i in 0..wanted {
            let m = Arc::new(Member {
                posted: AtomicU64::new(0),
                finished: AtomicU64::new(0),
                panicked: AtomicBool::new(false),
                piece: Mutex::new(None),
                thread: OnceLock::new(),
            });
            let mine = Arc::clone(&m);
            let spawned = thread::Builder::new()
                .name(format!("gradflow-crew-{}", i + 1))
                .spawn(move || serve(&mine));
            // A thread that cannot be started leaves the crew smaller.
            if let Ok(handle) = spawned {
                let _ = m.thread.set(handle.thread().clone());
                members.push(m);
            }
        }
        Crew {
            members,
            busy: Mutex::new(()),
        }
    })
}

/// A member's loop: wait for a piece (spinning, then parked), run it, report it done.
fn serve(m: &Member) {
    loop {
        let done = m.finished.load(Ordering::Relaxed);
        let mut since = Instant::now();
        let mut spins = 0u32;
        while m.posted.load(Ordering::Acquire) == done {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) && since.elapsed() > SPIN {
                // The caller unparks after every post, so a post made after the check
                // above still wakes this park (the token is kept).
                thread::park();
                since = Instant::now();
            } else {
                std::hint::spin_loop();
            }
        }
        let piece = m
            .piece
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((f, i)) = piece
            && catch_unwind(AssertUnwindSafe(|| f(i))).is_err()
        {
            m.panicked.store(true, Ordering::Relaxed);
        }
        // The piece (and its borrow of the job) is gone before the caller hears of it.
        m.finished.store(done + 1, Ordering::Release);
    }
}

/// Waits, when dropped, until every member it names has finished its piece: also on
/// unwinding, so no member still runs a job whose borrows have ended.
struct AllDone<'a>(&'a [Arc<Member>]);

impl Drop for AllDone<'_> {
    fn drop(&mut self) {
        for m in self.0 {
            let target = m.posted.load(Ordering::Relaxed);
            let start = Instant::now();
            let mut spins = 0u32;
            while m.finished.load(Ordering::Acquire) < target {
                // The clock is read once per 256 spins, as in `serve`: reading it every
                // spin was 2% of a two-thread MLP step.
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(256) && start.elapsed() > SPIN {
                    thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

/// Runs `f(0)`, …, `f(pieces - 1)`, each exactly once, and returns when all are done:
/// piece 0 on the calling thread, the others on the crew (or all on rayon's pool when
/// the crew is busy or smaller).
///
/// # Panics
/// If a piece panics (after every piece has finished).
#[expect(
    unsafe_code,
    reason = "the job's lifetime is erased while the crew runs it; AllDone waits for every piece before the borrow ends"
)]
pub(crate) fn run(pieces: usize, f: &(dyn Fn(usize) + Sync)) {
    if pieces <= 1 {
        if pieces == 1 {
            f(0);
        }
        return;
    }
    // Called from rayon's pool (a study running several networks at once), the cores
    // are already busy with the pool's work: the pool splits this job too, and the
    // crew stays out of its way (a spinning member would take a core from it).
    if rayon::current_thread_index().is_some() {
        return (0..pieces).into_par_iter().for_each(f);
    }
    let crew = crew();
    let helpers = pieces - 1;
    // A poisoned lock only means an earlier job panicked; the crew itself is sound.
    let _busy = match crew.busy.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return (0..pieces).into_par_iter().for_each(f),
    };
    let Some(members) = crew.members.get(..helpers) else {
        return (0..pieces).into_par_iter().for_each(f);
    };
    // SAFETY: the `'static` reference is used only by members running a piece of this
    // job. Each member drops it before it reports the piece finished, and `all_done`
    // (dropped at the end of this function, or while unwinding from `f(0)`) returns
    // only once every member posted to below has reported finished. So no use
    // outlives `f`'s borrow. `busy` keeps other callers from posting meanwhile.
    let job: &'static (dyn Fn(usize) + Sync) =
        unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), _>(f) };
    let all_done = AllDone(members);
    for (i, m) in members.iter().enumerate() {
        *m.piece.lock().unwrap_or_else(PoisonError::into_inner) = Some((job, i + 1));
        m.posted.fetch_add(1, Ordering::Release);
        if let Some(t) = m.thread.get() {
            t.unpark();
        }
    }
    f(0);
    drop(all_done);
    if members
        .iter()
        .any(|m| m.panicked.swap(false, Ordering::Relaxed))
    {
        panic!("a piece of a parallel job panicked on a crew thread");
    }
}

/// `f` on every part, each exactly once, the parts dealt out in runs of consecutive
/// ones, one run per thread (as [`run`] runs its pieces): the large elementwise loops'
/// chunks, a product's bands of rows.
pub(crate) fn for_each<P: Send>(parts: impl IntoIterator<Item = P>, f: impl Fn(P) + Sync) {
    let parts: Vec<P> = parts.into_iter().collect();
    let threads = rayon::current_num_threads().clamp(1, parts.len().max(1));
    let per = parts.len().div_ceil(threads).max(1);
    let mut runs: Vec<Mutex<Vec<P>>> = Vec::with_capacity(threads);
    let mut parts = parts.into_iter().peekable();
    while parts.peek().is_some() {
        runs.push(Mutex::new(parts.by_ref().take(per).collect()));
    }
    // Each run is taken by its own piece only: never contended, and poisoned only if
    // that piece panicked (which fails the whole job anyway).
    run(runs.len(), &|i| {
        let parts = runs
            .get(i)
            .map(|r| std::mem::take(&mut *r.lock().unwrap_or_else(PoisonError::into_inner)));
        for p in parts.into_iter().flatten() {
            f(p);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_piece_runs_once_whoever_runs_it() {
        for pieces in [0usize, 1, 2, 3, 17] {
            let counts: Vec<AtomicUsize> = (0..pieces).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..50 {
                run(pieces, &|i| {
                    counts[i].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 50));
        }
    }

    #[test]
    fn for_each_gives_every_part_once_borrowed_bands_included() {
        for len in [0usize, 1, 7, 1000] {
            let mut out = vec![0u64; len];
            for_each(out.chunks_mut(100).enumerate(), |(i, band)| {
                for (j, v) in band.iter_mut().enumerate() {
                    *v += (i * 100 + j) as u64 + 1;
                }
            });
            assert!(
                out.iter().enumerate().all(|(j, &v)| v == j as u64 + 1),
                "{len}"
            );
        }
    }

    #[test]
    fn a_caller_on_rayons_pool_runs_every_piece_there() {
        let counts: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
        rayon::scope(|_| {
            run(3, &|i| {
                assert!(
                    rayon::current_thread_index().is_some(),
                    "piece {i} off the pool"
                );
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
        });
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    }

    #[test]
    fn callers_on_many_threads_share_the_crew() {
        thread::scope(|s| {
            for t in 0..4u64 {
                s.spawn(move || {
                    for _ in 0..200 {
                        let sum = AtomicU64::new(0);
                        run(2, &|i| {
                            sum.fetch_add(t * 10 + i as u64, Ordering::Relaxed);
                        });
                        assert_eq!(sum.load(Ordering::Relaxed), 2 * t * 10 + 1);
                    }
                });
            }
        });
    }
}
