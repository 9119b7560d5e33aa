//! The client-side rate limiter shared by every call of one client, and its settings.
//!
//! PostHog's throttles are sliding windows over the times requests *arrive*. The client cannot see
//! arrival times, but it knows that a request arrived before its response came back. So the
//! limiter counts a request in its windows from the moment its response (or failure) is seen, and
//! counts requests still in flight against every window. That way the client's count is never
//! below PostHog's, and a client that respects its own limiter is never throttled.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Which PostHog throttle a call counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitClass {
    /// Django CRUD endpoints (flags, experiments, activity, tags, query polls): 480/min, 4,800/hour.
    Crud,
    /// `POST /query/` (HogQL): 120/hour on legacy teams.
    Query,
    /// Public endpoints (`/flags`, `/flags/definitions`, capture): not limited client-side.
    Public,
}

/// One sliding-window limit: at most `max` requests in any `per` interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed in the window.
    pub max: u32,
    /// Window length.
    pub per: Duration,
}

impl Rate {
    /// `max` requests per minute.
    pub const fn per_minute(max: u32) -> Rate {
        Rate {
            max,
            per: Duration::from_secs(60),
        }
    }

    /// `max` requests per hour.
    pub const fn per_hour(max: u32) -> Rate {
        Rate {
            max,
            per: Duration::from_secs(3600),
        }
    }
}

/// Client-side limits. Defaults are PostHog's documented limits for personal API keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Limits for CRUD endpoints (default 480/minute and 4,800/hour).
    pub crud: Vec<Rate>,
    /// Limits for HogQL queries (default 120/hour).
    pub query: Vec<Rate>,
    /// Requests in flight at once, across all calls (default 8).
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            crud: vec![Rate::per_minute(480), Rate::per_hour(4_800)],
            query: vec![Rate::per_hour(120)],
            concurrency: 8,
        }
    }
}

impl Limits {
    /// No rate limits (concurrency stays bounded at 8). For tests and self-hosted instances.
    pub fn unlimited() -> Self {
        Limits {
            crud: Vec::new(),
            query: Vec::new(),
            concurrency: 8,
        }
    }
}

#[derive(Debug)]
struct Window {
    rate: Rate,
    done: VecDeque<Instant>,
}

#[derive(Debug, Default)]
struct ClassState {
    windows: Vec<Window>,
    in_flight: u32,
}

impl ClassState {
    fn new(rates: &[Rate]) -> Self {
        ClassState {
            windows: rates
                .iter()
                .map(|&rate| Window {
                    rate,
                    done: VecDeque::new(),
                })
                .collect(),
            in_flight: 0,
        }
    }

    /// `None` when a request may start now; otherwise how long to wait at most before looking
    /// again (`Duration::MAX` means "until a request in flight finishes").
    fn wait(&mut self, now: Instant) -> Option<Duration> {
        let mut wait: Option<Duration> = None;
        for w in &mut self.windows {
            while w.done.front().is_some_and(|&t| t + w.rate.per <= now) {
                w.done.pop_front();
            }
            let used = w.done.len() + self.in_flight as usize;
            let max = w.rate.max as usize;
            if used >= max {
                // Requests that must leave the window before one more fits.
                let need = used - max + 1;
                let this = match w.done.get(need.wrapping_sub(1)) {
                    Some(&t) if need <= w.done.len() => {
                        (t + w.rate.per).saturating_duration_since(now)
                    }
                    _ => Duration::MAX,
                };
                let this = this.max(Duration::from_millis(1));
                wait = Some(wait.map_or(this, |x: Duration| x.max(this)));
            }
        }
        wait
    }
}

/// The limiter. One per client, shared by all its calls.
#[derive(Debug)]
pub(crate) struct Limiter {
    crud: Mutex<ClassState>,
    query: Mutex<ClassState>,
    notify: Notify,
}

/// A started request; dropping it counts the request as done.
pub(crate) struct Ticket<'a> {
    limiter: &'a Limiter,
    class: LimitClass,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(state) = self.limiter.state(self.class) {
            let now = Instant::now();
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            s.in_flight = s.in_flight.saturating_sub(1);
            for w in &mut s.windows {
                w.done.push_back(now);
            }
            drop(s);
            self.limiter.notify.notify_waiters();
        }
    }
}

impl Limiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        Limiter {
            crud: Mutex::new(ClassState::new(&limits.crud)),
            query: Mutex::new(ClassState::new(&limits.query)),
            notify: Notify::new(),
        }
    }

    fn state(&self, class: LimitClass) -> Option<&Mutex<ClassState>> {
        match class {
            LimitClass::Crud => Some(&self.crud),
            LimitClass::Query => Some(&self.query),
            LimitClass::Public => None,
        }
    }

    /// Waits until a request of `class` may start, and records it as in flight.
    pub(crate) async fn acquire(&self, class: LimitClass) -> Ticket<'_> {
        let Some(state) = self.state(class) else {
            return Ticket {
                limiter: self,
                class,
            };
        };
        loop {
            let notified = self.notify.notified();
            let wait = {
                let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                match s.wait(Instant::now()) {
                    None => {
                        s.in_flight += 1;
                        return Ticket {
                            limiter: self,
                            class,
                        };
                    }
                    Some(w) => w,
                }
            };
            if wait == Duration::MAX {
                notified.await;
            } else {
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sliding_window_admits_max_then_waits_for_the_oldest_to_expire() {
        let limiter = Limiter::new(&Limits {
            crud: vec![Rate {
                max: 3,
                per: Duration::from_secs(10),
            }],
            query: vec![],
            concurrency: 8,
        });
        let start = Instant::now();
        for _ in 0..3 {
            drop(limiter.acquire(LimitClass::Crud).await);
        }
        assert_eq!(Instant::now(), start, "the first three pass at once");
        drop(limiter.acquire(LimitClass::Crud).await);
        assert_eq!(Instant::now() - start, Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_requests_count_against_the_window() {
        let limiter = Limiter::new(&Limits {
            crud: vec![Rate {
                max: 2,
                per: Duration::from_secs(10),
            }],
            query: vec![],
            concurrency: 8,
        });
        let a = limiter.acquire(LimitClass::Crud).await;
        let b = limiter.acquire(LimitClass::Crud).await;
        let start = Instant::now();
        let waiter = async {
            let _c = limiter.acquire(LimitClass::Crud).await;
            Instant::now()
        };
        let release = async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            drop(a);
            drop(b);
        };
        let (admitted, ()) = tokio::join!(waiter, release);
        // a and b count from when they finished (t=3 s), so c waits until t=13 s.
        assert_eq!(admitted - start, Duration::from_secs(13));
    }

    #[tokio::test(start_paused = true)]
    async fn public_calls_are_not_limited() {
        let limiter = Limiter::new(&Limits {
            crud: vec![],
            query: vec![],
            concurrency: 1,
        });
        for _ in 0..100 {
            drop(limiter.acquire(LimitClass::Public).await);
        }
    }
}
