//! Timings summarised as the benchmarks report them.

use std::time::Duration;

/// The median (the upper one of an even count). Panics on an empty sample.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The `p` quantile (0.0 to 1.0), nearest rank. Sorts `v`; panics on an empty sample.
pub fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Milliseconds with two decimals, e.g. `1.25 ms`.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_and_percentiles_pick_ranks_of_the_sorted_sample() {
        let v: Vec<Duration> = [5, 1, 4, 2, 3].map(Duration::from_millis).to_vec();
        assert_eq!(median(v.clone()), Duration::from_millis(3));
        let mut w = v.clone();
        assert_eq!(percentile(&mut w, 0.0), Duration::from_millis(1));
        assert_eq!(percentile(&mut w, 1.0), Duration::from_millis(5));
        assert_eq!(ms(Duration::from_micros(1250)), "1.25 ms");
    }
}
