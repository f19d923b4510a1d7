//! Whose turn it is at the backend's random number generator.
//!
//! Burn's backends keep one process-wide RNG (`Backend::seed`; weight
//! initialisation and dropout draw from it). Train and predict stages run
//! side by side (`run -j 2`) would interleave their draws, and no run would
//! be a pure function of its seed. So a thread holds the turn from a
//! `seed` to the last draw that seed feeds: a stage holds it from its start
//! through its model's initialisation, and the trainer takes it for each
//! step's seed and forward pass (it re-seeds every step) and gives it back
//! before the backward pass and the optimiser step, which draw nothing. Two
//! CPU trainings then share the cores instead of queueing for the whole
//! run: the ndarray backend computes on one thread.
//!
//! A stage can pin the turn for its whole run instead: predict (short),
//! UPS (it builds new heads between its training phases) and CUDA (fused
//! kernels may draw when they are flushed, after the step).

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};

#[derive(Clone, Copy)]
struct Holder {
    thread: ThreadId,
    pinned: bool,
}

static HOLDER: Mutex<Option<Holder>> = Mutex::new(None);
static FREED: Condvar = Condvar::new();

fn holder() -> MutexGuard<'static, Option<Holder>> {
    HOLDER.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes the turn for this thread, waiting while another thread holds it
/// (at once if this thread holds it already).
pub(crate) fn take() {
    let me = thread::current().id();
    let mut h = holder();
    loop {
        match *h {
            None => {
                *h = Some(Holder { thread: me, pinned: false });
                return;
            }
            Some(held) if held.thread == me => return,
            Some(_) => h = FREED.wait(h).unwrap_or_else(PoisonError::into_inner),
        }
    }
}

/// Gives the turn back after a step's forward pass, unless this thread
/// pinned it for its stage.
pub(crate) fn between_steps() {
    let mut h = holder();
    if let Some(held) = *h
        && held.thread == thread::current().id()
        && !held.pinned
    {
        *h = None;
        FREED.notify_all();
    }
}

/// A training step's turn: given back when dropped (after the forward
/// pass, or on an error inside it), unless the stage pinned it.
pub(crate) struct StepTurn(());

/// Takes the turn for a training step's seed and forward pass.
pub(crate) fn step() -> StepTurn {
    take();
    StepTurn(())
}

impl Drop for StepTurn {
    fn drop(&mut self) {
        between_steps();
    }
}

/// The turn a stage holds while it starts (or, pinned, while it runs);
/// dropping it gives the turn back if this thread still holds it.
pub(crate) struct StageTurn(());

/// Takes the turn for a stage run; `pinned` keeps it to the end.
pub(crate) fn stage(pinned: bool) -> StageTurn {
    take();
    if pinned && let Some(held) = holder().as_mut() {
        held.pinned = true;
    }
    StageTurn(())
}

impl Drop for StageTurn {
    fn drop(&mut self) {
        let mut h = holder();
        if h.is_some_and(|held| held.thread == thread::current().id()) {
            *h = None;
            FREED.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// Takes the turn on another thread and reports once it has it; the
    /// returned sender lets that thread give it back and finish.
    fn contender() -> (mpsc::Receiver<()>, mpsc::Sender<()>, thread::JoinHandle<()>) {
        let (got, got_rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel::<()>();
        let handle = thread::spawn(move || {
            let _turn = stage(false);
            got.send(()).unwrap();
            done.recv().unwrap();
        });
        (got_rx, done_tx, handle)
    }

    /// One test, so that no other test of this module holds the turn.
    #[test]
    fn the_turn_passes_between_steps_and_stays_when_pinned() {
        // An unpinned holder lets a waiting stage in after its step.
        let turn = stage(false);
        take(); // re-entrant for its holder
        let (got, done, handle) = contender();
        assert!(got.try_recv().is_err(), "the contender got the turn while it was held");
        between_steps();
        got.recv().unwrap();
        // The contender holds it now: giving back what this thread no
        // longer holds changes nothing.
        between_steps();
        drop(turn);
        done.send(()).unwrap();
        handle.join().unwrap();

        // A pinned holder keeps it through steps until its stage ends.
        let turn = stage(true);
        let (got, done, handle) = contender();
        between_steps();
        take();
        between_steps();
        assert!(got.try_recv().is_err(), "a pinned turn was given back between steps");
        drop(turn);
        got.recv().unwrap();
        done.send(()).unwrap();
        handle.join().unwrap();
    }
}
