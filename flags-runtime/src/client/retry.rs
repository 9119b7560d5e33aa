//! Retry policy: what is retried (the classifier lives in [`super::error::Error::is_retryable`]),
//! and how long to wait (backon's exponential backoff with jitter, or PostHog's own wait for 429s).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// How the client retries failed requests.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per request, the first one included (default 5). 1 disables retries.
    pub max_attempts: u32,
    /// First backoff delay (default 500 ms); doubles on each retry.
    pub min_delay: Duration,
    /// Longest backoff delay (default 30 s).
    pub max_delay: Duration,
    /// Longest wait the client accepts for a 429 before giving up with
    /// [`super::Error::RateLimited`] (default 120 s).
    pub max_rate_limit_wait: Duration,
    /// Randomise backoff delays (full jitter on top of the exponential delay; default on).
    pub jitter: bool,
    /// Seed for the jitter, for reproducible runs (default: random).
    pub jitter_seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(120),
            jitter: true,
            jitter_seed: None,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff delays for one request, in order.
    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        let mut b = ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .without_max_times();
        if self.jitter {
            b = b.with_jitter();
            if let Some(seed) = self.jitter_seed {
                b = b.with_jitter_seed(seed);
            }
        }
        b.build()
    }
}

/// The wait PostHog states in a throttle detail: "Request was throttled. Expected available in 37
/// seconds." → 37 s. Accepts "1 second" and fractional seconds.
pub fn wait_from_detail(detail: &str) -> Option<Duration> {
    let rest = &detail[detail.find("available in ")? + "available in ".len()..];
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let secs: f64 = number.parse().ok()?;
    if !rest[number.len()..].trim_start().starts_with("second") || !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

/// A `Retry-After` header value in seconds (HTTP dates are not used by PostHog and are ignored).
pub fn wait_from_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_posthog_throttle_detail() {
        assert_eq!(
            wait_from_detail("Request was throttled. Expected available in 37 seconds."),
            Some(Duration::from_secs(37))
        );
        assert_eq!(
            wait_from_detail("Expected available in 1 second."),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            wait_from_detail("Expected available in 0.5 seconds"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(wait_from_detail("Rate limit exceeded"), None);
        assert_eq!(wait_from_detail("Expected available in soon seconds"), None);
    }

    #[test]
    fn retry_after_is_seconds() {
        assert_eq!(wait_from_retry_after(" 4 "), Some(Duration::from_secs(4)));
        assert_eq!(wait_from_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            jitter: false,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..RetryPolicy::default()
        };
        let d: Vec<u128> = p.backoff().take(4).map(|d| d.as_millis()).collect();
        assert_eq!(d, vec![100, 200, 350, 350]);
    }
}
