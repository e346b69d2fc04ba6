//! The token bucket on its own, with a manual clock.

use std::num::NonZeroU32;
use std::time::Duration;

use remote_policy::ratelimit::{Clock, ManualClock, RateLimiter};

#[test]
fn refills_one_token_per_interval() {
    let clock = ManualClock::new();
    let mut rl = RateLimiter::with_clock(
        NonZeroU32::new(2).unwrap(),
        Duration::from_secs(10),
        clock.clone(),
    );
    assert!(rl.admit().is_some());
    assert!(rl.admit().is_some());
    assert!(rl.admit().is_none());
    assert_eq!(rl.suppressed(), 1);
    clock.advance(Duration::from_secs(5));
    assert!(rl.admit().is_none());
    clock.advance(Duration::from_secs(5));
    assert_eq!(rl.admit().unwrap().suppressed_before, 2);
    assert_eq!(rl.suppressed(), 0);
    assert!(rl.admit().is_none());
    // Partial credit accumulates across calls.
    clock.advance(Duration::from_secs(4));
    assert!(rl.admit().is_none());
    clock.advance(Duration::from_secs(6));
    assert!(rl.admit().is_some());
}

#[test]
fn zero_interval_means_unlimited() {
    let mut rl = RateLimiter::with_clock(NonZeroU32::MIN, Duration::ZERO, ManualClock::new());
    for _ in 0..1000 {
        assert_eq!(rl.admit().unwrap().suppressed_before, 0);
    }
}

#[test]
fn manual_clock_is_shared_by_clones() {
    let a = ManualClock::new();
    let b = a.clone();
    let t0 = a.now();
    b.advance(Duration::from_millis(1500));
    assert_eq!(a.now() - t0, Duration::from_millis(1500));
}
