//! When the answer's body ([`super::relay`]) writes: it gathers what the
//! gateway has already sent into one write ([`Holding`]), and writes at
//! most once a [`PACE`] while the gateway sends faster than that
//! ([`Pace`]). Pure: the relay asks, with the time.

use std::time::{Duration, Instant};

/// Writes that go at once after a hold that gathered nothing (paced
/// tokens): holding is tried again after them, for a burst.
pub(super) const UNHELD: u8 = 16;

/// The shortest time between two writes to Codex while the gateway sends
/// faster than this (see [`Pace`]): one frame of Codex's TUI, which draws
/// at most 120 times a second and shows only whole lines (half a frame of
/// a 60 Hz screen). 4 ms cost 10-20 % more CPU a token (bench/RESULTS.md).
pub(super) const PACE: Duration = Duration::from_millis(8);

/// Whether [`Relay`](super::relay::Relay) holds translated events back for a turn of the
/// event loop. hyper's client hands the body over one chunk per turn of
/// its connection's task: before writing, let that task run, so that what
/// the gateway already sent leaves in one write (a burst of deltas: one
/// write, not one each). hyper's server polls a body twice in one turn, so
/// only the third poll in a row that finds nothing writes. Events up to
/// the first delta go at once (the first token). A hold that gathered
/// nothing (a model's tokens, one at a time) costs turns for nothing: the
/// next [`UNHELD`] writes go at once, then holding is tried again (a
/// burst).
#[derive(Debug, Default)]
pub(super) struct Holding {
    /// Polls in a row that found nothing new while events were held.
    waited: u8,
    /// Whether events held since the last write gathered more.
    gathered: bool,
    /// Writes left that go at once (after a hold that gathered nothing).
    unheld: u8,
    /// Whether a delta went out: events until the first one are never held.
    delta_out: bool,
}

impl Holding {
    /// The gateway sent more.
    pub(super) fn data(&mut self) {
        self.gathered |= self.waited > 0;
        self.waited = 0;
    }

    /// Nothing more from the gateway now, and events to write: whether to
    /// hold them for another turn.
    pub(super) fn hold(&mut self) -> bool {
        if self.unheld > 0 {
            self.unheld -= 1;
            return false;
        }
        if self.waited < 2 && self.delta_out {
            self.waited += 1;
            return true;
        }
        if self.waited == 2 && !self.gathered {
            self.unheld = UNHELD;
        }
        self.waited = 0;
        false
    }

    /// Reading resumed after a pause ([`Pace`]): what the gateway sent
    /// meanwhile is gathered whole (hyper hands it over a chunk a turn).
    pub(super) fn resumed(&mut self) {
        self.unheld = 0;
        self.waited = 0;
    }

    /// Whether the first delta (the first token Codex shows) went out.
    pub(super) fn delta_out(&self) -> bool {
        self.delta_out
    }

    /// `events` were written (looked into only until a delta went out).
    pub(super) fn written(&mut self, events: &[u8]) {
        self.delta_out = self.delta_out || events.windows(7).any(|w| w == b".delta\"");
        self.gathered = false;
    }
}

/// When [`Relay`](super::relay::Relay) reads the gateway again after a write. A model's tokens
/// come one at a time: reading and writing each costs a wake of the
/// bridge, a read and a write, for a few bytes. When they come faster than
/// [`PACE`], the bridge writes at most once a `PACE`: after a write it
/// leaves the gateway's stream unread until `PACE` has passed, then reads
/// and writes at once all that came meanwhile (the kernel holds it, and
/// [`crate::bridge::quiet`] keeps it from waking the bridge for each). A
/// token then waits at most `PACE`, unseen under Codex's own frame. Until
/// the first delta is out, and while tokens come slower than `PACE`, each
/// goes on as it comes: none waits for a timer.
#[derive(Debug, Default)]
pub(super) struct Pace {
    /// When the last write went out.
    last_write: Option<Instant>,
    /// When reading resumed after a pause, if it did since that write.
    resumed: Option<Instant>,
    /// When reading may resume: `None` reads at once.
    resume_at: Option<Instant>,
}

impl Pace {
    /// A write went out at `now`; `caught_up`: with all the gateway had
    /// sent (not a full batch, not before the first delta).
    pub(super) fn written(&mut self, now: Instant, caught_up: bool) {
        let quick = match (self.resumed, self.last_write) {
            // Resumed and found its events waiting: the gateway is still
            // faster than PACE.
            (Some(resumed), _) => now.saturating_duration_since(resumed) < PACE / 4,
            (None, Some(last)) => now.saturating_duration_since(last) < PACE,
            (None, None) => false,
        };
        self.last_write = Some(now);
        self.resumed = None;
        self.resume_at = (caught_up && quick).then(|| now + PACE);
    }

    /// When reading may resume, if it waits.
    pub(super) fn resume_at(&self) -> Option<Instant> {
        self.resume_at
    }

    /// Reading resumed at `now`.
    pub(super) fn resumed(&mut self, now: Instant) {
        self.resume_at = None;
        self.resumed = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELTA: &[u8] = br#"data: {"type":"response.output_text.delta"}"#;

    /// Nothing more comes, as `Relay::poll_frame` sees it: the polls
    /// until the events are written.
    fn polls_until_written(h: &mut Holding) -> usize {
        let mut polls = 1;
        while h.hold() && polls < 8 {
            polls += 1;
        }
        h.written(DELTA);
        polls
    }

    #[test]
    fn holding_stops_while_it_gathers_nothing_and_is_tried_again() {
        let mut h = Holding::default();
        // Before the first delta, nothing waits.
        assert!(!h.hold());
        h.written(DELTA);
        // Paced tokens: a hold that gathers nothing...
        h.data();
        assert_eq!(polls_until_written(&mut h), 3);
        // ...and the next UNHELD writes go at once.
        for _ in 0..UNHELD {
            h.data();
            assert_eq!(polls_until_written(&mut h), 1);
        }
        // Then holding is tried again: in a burst it gathers, and goes on.
        h.data();
        h.data();
        assert!(h.hold());
        h.data();
        assert!(h.hold());
        assert!(h.hold());
        assert!(!h.hold());
        h.written(DELTA);
        h.data();
        assert!(h.hold(), "a hold that gathered more keeps holding");
    }

    /// Writes at these times (µs from the start), each with all the
    /// gateway had sent: when each next read may come (µs, `None`: at once).
    fn paced(writes: &[u64]) -> Vec<Option<u64>> {
        let start = Instant::now();
        let at = |us: u64| start + Duration::from_micros(us);
        let mut pace = Pace::default();
        writes
            .iter()
            .map(|&us| {
                if let Some(resume) = pace.resume_at() {
                    assert!(
                        at(us) >= resume,
                        "a write at {us} µs, before the pause ended"
                    );
                    pace.resumed(resume);
                }
                pace.written(at(us), true);
                pace.resume_at()
                    .map(|r| r.duration_since(start).as_micros() as u64)
            })
            .collect()
    }

    const P: u64 = PACE.as_micros() as u64;

    #[test]
    fn tokens_slower_than_the_pace_go_on_as_they_come() {
        // A model's 30 tokens a second, and the pace's own edge.
        assert_eq!(paced(&[0, 33_000, 66_000, 99_000]), [None; 4]);
        assert_eq!(paced(&[0, P, 2 * P]), [None; 3]);
    }

    #[test]
    fn tokens_faster_than_the_pace_are_written_once_a_pace() {
        // The first write goes at once; the second, 200 µs after it, is
        // quick: the third read waits a pace, and finds its tokens waiting
        // (written 100 µs after it resumed), so the next waits too.
        let (w2, w3) = (200, 200 + P + 100);
        let w4 = w3 + P + 100;
        assert_eq!(
            paced(&[0, w2, w3, w4]),
            [None, Some(w2 + P), Some(w3 + P), Some(w4 + P)]
        );
    }

    #[test]
    fn a_pause_that_finds_nothing_waiting_ends_the_pacing() {
        // Resumed at 200 µs + a pace; the next token came 30 ms later.
        let late = 200 + P + 30_000;
        assert_eq!(
            paced(&[0, 200, late, late + 40_000]),
            [None, Some(200 + P), None, None]
        );
    }

    #[test]
    fn a_full_batch_or_the_events_before_the_first_delta_never_wait() {
        let start = Instant::now();
        let mut pace = Pace::default();
        pace.written(start, true);
        // A full batch: more is there now.
        pace.written(start + Duration::from_micros(100), false);
        assert_eq!(pace.resume_at(), None);
        pace.written(start + Duration::from_micros(200), true);
        assert!(pace.resume_at().is_some());
    }
}
