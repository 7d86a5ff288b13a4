//! A client-side rate limit, so that applying hundreds of alarms stays under CloudWatch's
//! request quota instead of failing on throttling.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces calls at least `interval` apart, in the order they ask, across concurrent tasks.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// Allows `per_second` calls each second, at even intervals.
    pub fn per_second(per_second: f64) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / per_second.max(f64::MIN_POSITIVE)),
            next_slot: Mutex::new(None),
        }
    }

    /// Waits until the caller's slot: the first call goes at once, each later one `interval`
    /// after the previous slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next_slot = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = next_slot.map_or(now, |next| next.max(now));
            *next_slot = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paces_concurrent_callers() {
        let limiter = RateLimiter::per_second(3.0);
        let started = Instant::now();

        let calls = (0..300).map(|_| limiter.acquire());
        futures::future::join_all(calls).await;

        // 300 calls at 3 per second: the last one starts 299 intervals after the first.
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_secs_f64(299.0 / 3.0) - Duration::from_millis(1),
            "{elapsed:?}"
        );
        assert!(
            elapsed <= Duration::from_secs_f64(299.0 / 3.0) + Duration::from_millis(1),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_limiter_does_not_wait() {
        let limiter = RateLimiter::per_second(3.0);
        limiter.acquire().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let started = Instant::now();

        limiter.acquire().await;

        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
