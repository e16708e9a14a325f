//! Calendar parts of a timestamp, for message times and day separators.
//!
//! The server renders in UTC because it cannot know the viewer's zone; once the page is
//! hydrated the browser re-renders the same parts in its local time.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateParts {
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

impl DateParts {
    /// `ms` in UTC, by the days-from-civil algorithm run backwards.
    pub fn utc(ms: i64) -> Self {
        let secs = ms.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let in_day = secs.rem_euclid(86_400);

        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);

        Self {
            year,
            month,
            day,
            hour: (in_day / 3600) as u32,
            minute: (in_day % 3600 / 60) as u32,
        }
    }

    /// `ms` in the browser's time zone.
    #[cfg(feature = "hydrate")]
    pub fn local(ms: i64) -> Self {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        Self {
            year: i64::from(date.get_full_year()),
            month: date.get_month() + 1,
            day: date.get_date(),
            hour: date.get_hours(),
            minute: date.get_minutes(),
        }
    }

    pub fn same_day(&self, other: &Self) -> bool {
        (self.year, self.month, self.day) == (other.year, other.month, other.day)
    }

    /// "14:05"
    pub fn clock(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    /// "3 Dec 2026"
    pub fn day_label(&self) -> String {
        format!("{} {} {}", self.day, MONTHS[(self.month as usize - 1) % 12], self.year)
    }

    /// "2026-12-03T14:05" for a `<time datetime>` attribute.
    pub fn iso_minute(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(
            DateParts::utc(0),
            DateParts { year: 1970, month: 1, day: 1, hour: 0, minute: 0 }
        );
        // 2024-02-29T23:59:00Z, a leap day.
        let leap = DateParts::utc(1_709_251_140_000);
        assert_eq!((leap.year, leap.month, leap.day), (2024, 2, 29));
        assert_eq!(leap.clock(), "23:59");
        assert_eq!(leap.day_label(), "29 Feb 2024");
    }

    #[test]
    fn times_before_the_epoch_do_not_panic() {
        let d = DateParts::utc(-1);
        assert_eq!((d.year, d.month, d.day, d.hour, d.minute), (1969, 12, 31, 23, 59));
    }
}
