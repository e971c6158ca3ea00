//! The small statistics the sync figures use: nearest-rank percentiles and means.

use serde::Serialize;
use std::time::Duration;

/// The median and the 99th percentile of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
}

impl Percentiles {
    /// `None` for no values.
    pub fn of(values: &[Duration]) -> Option<Percentiles> {
        let mut millis: Vec<f64> = values.iter().map(|value| value.as_secs_f64() * 1000.0).collect();
        millis.sort_by(f64::total_cmp);
        Some(Percentiles { p50: nearest_rank(&millis, 0.50)?, p99: nearest_rank(&millis, 0.99)? })
    }
}

/// The smallest value with at least `share` of the values at or below it; `sorted` must be sorted.
pub fn nearest_rank(sorted: &[f64], share: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // The rank is at least 1 and at most the count, whatever rounding does to the product.
    let rank = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The mean of `values`, 0 for none.
pub fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, count) = values.into_iter().fold((0.0, 0usize), |(sum, count), value| (sum + value, count + 1));
    if count == 0 {
        0.0
    } else {
        sum / count as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_a_measured_value() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&hundred, 0.50), Some(50.0));
        assert_eq!(nearest_rank(&hundred, 0.99), Some(99.0));
        assert_eq!(nearest_rank(&[7.0], 0.99), Some(7.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }

    #[test]
    fn percentiles_are_in_milliseconds_whatever_the_order() {
        let values = [30, 10, 20].map(Duration::from_millis);
        assert_eq!(Percentiles::of(&values), Some(Percentiles { p50: 20.0, p99: 30.0 }));
        assert_eq!(Percentiles::of(&[]), None);
    }

    #[test]
    fn the_mean_of_nothing_is_zero() {
        assert_eq!(mean([1.0, 2.0, 6.0]), 3.0);
        assert_eq!(mean(Vec::new()), 0.0);
    }
}
