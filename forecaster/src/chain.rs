//! Which reasoning chain a forecast follows, as the product defines it.

pub const CRITICAL: &str = "critical_incident_response";
pub const PREVENTIVE: &str = "preventive_forecast";
pub const STANDARD: &str = "forecast_generation";

/// Score at or above which the critical chain applies.
pub const CRITICAL_SCORE: f64 = 70.0;
/// Score above which a rising series gets the preventive chain.
pub const PREVENTIVE_SCORE: f64 = 50.0;

/// `current` is the latest window's score; `slope_per_hour` the fitted trend.
pub fn select(current: f64, slope_per_hour: f64) -> &'static str {
    if current >= CRITICAL_SCORE {
        CRITICAL
    } else if current > PREVENTIVE_SCORE && slope_per_hour > 0.0 {
        PREVENTIVE
    } else {
        STANDARD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches() {
        assert_eq!(select(70.0, -5.0), CRITICAL);
        assert_eq!(select(55.0, 0.1), PREVENTIVE);
        assert_eq!(select(55.0, 0.0), STANDARD);
        assert_eq!(select(50.0, 3.0), STANDARD);
        assert_eq!(select(10.0, 9.0), STANDARD);
    }
}
