//! A mapping's calendar dates: read from the sources' two notations, written as ISO 8601 and as
//! Parquet's days since the epoch.

use std::time::SystemTime;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// A calendar date of years 1 to 9999 (chrono's proleptic Gregorian `NaiveDate`), written to
/// Parquet as days since 1970-01-01 (the Arrow / Parquet `date32` encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(NaiveDate);

impl Date {
    /// Reads the source's `MM/DD/YYYY` (one-digit month or day accepted). `None` when it is not a real date.
    pub fn from_us_date(text: &str) -> Option<Date> {
        Date::of_four_digit_year(NaiveDate::parse_from_str(text.trim(), "%m/%d/%Y").ok()?)
    }

    /// Reads ISO 8601 `YYYY-MM-DD`, each field at its full width. `None` when it is not a real date.
    pub fn from_iso(text: &str) -> Option<Date> {
        let text = text.trim();
        let date = Date::of_four_digit_year(NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?)?;
        // chrono also reads `2026-1-28` and `+2026-01-28`: only the date written back is ISO's form.
        (date.to_string() == text).then_some(date)
    }

    /// `MM/DD/YYYY`, as mapping files write dates.
    pub fn us_date(self) -> String {
        self.0.format("%m/%d/%Y").to_string()
    }

    /// The UTC date of an instant.
    pub fn of(instant: SystemTime) -> Date {
        Date(DateTime::<Utc>::from(instant).date_naive())
    }

    /// Days since 1970-01-01, negative before it: the Parquet `DATE` value.
    pub fn days_since_epoch(self) -> i32 {
        self.0.to_epoch_days()
    }

    fn of_four_digit_year(date: NaiveDate) -> Option<Date> {
        (1..=9999).contains(&date.year()).then_some(Date(date))
    }
}

impl std::str::FromStr for Date {
    type Err = String;

    fn from_str(text: &str) -> Result<Date, String> {
        Date::from_iso(text).ok_or_else(|| format!("expected a date as YYYY-MM-DD, found {text:?}"))
    }
}

impl std::fmt::Display for Date {
    /// ISO 8601: `YYYY-MM-DD`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_dates_become_days_since_epoch() {
        assert_eq!(Date::from_us_date("01/01/1970").unwrap().days_since_epoch(), 0);
        assert_eq!(Date::from_us_date("04/16/2025").unwrap().days_since_epoch(), 20194);
        assert_eq!(Date::from_us_date("2/29/2024").unwrap().days_since_epoch(), 19782);
        assert_eq!(Date::from_us_date("02/29/2025"), None);
        assert_eq!(Date::from_us_date("2025-04-16"), None);
        assert_eq!(Date::from_us_date("2/29/2024").unwrap().to_string(), "2024-02-29");
        assert_eq!(Date::from_us_date("12/31/1969").unwrap().to_string(), "1969-12-31");
        assert_eq!(Date::from_iso("2026-11-28").unwrap().to_string(), "2026-11-28");
        assert_eq!(Date::from_iso("2026-02-30"), None);
        assert_eq!(Date::from_iso("2026-1-28"), None);
    }
}
