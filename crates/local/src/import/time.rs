//! Word's dates (`w:date="2026-11-30T09:15:00Z"`, ISO 8601) as unix milliseconds, without a date
//! crate: only this one format occurs.

/// Milliseconds since 1970 for `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]`; `None` if unreadable.
pub(crate) fn unix_ms(date: &str) -> Option<i64> {
    let date = date.trim();
    let (day, time) = date.split_once('T').unwrap_or((date, "00:00:00"));
    let mut parts = day.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset_minutes) = if let Some(clock) = time.strip_suffix('Z') {
        (clock, 0)
    } else if let Some(at) = time.rfind(['+', '-']).filter(|at| *at >= 5) {
        let (clock, zone) = time.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = zone[1..].split_once(':').unwrap_or((&zone[1..], "0"));
        let (hours, minutes) = (hours.parse::<i64>().ok()?, minutes.parse::<i64>().ok()?);
        if !(0..=23).contains(&hours) || !(0..=59).contains(&minutes) {
            return None;
        }
        let minutes = hours * 60 + minutes;
        (clock, sign * minutes)
    } else {
        (time, 0)
    };
    let mut clock_parts = clock.splitn(3, ':');
    let hour: i64 = clock_parts.next()?.parse().ok()?;
    let minute: i64 = clock_parts.next().unwrap_or("0").parse().ok()?;
    let seconds: f64 = clock_parts.next().unwrap_or("0").parse().ok()?;
    if !(0..=24).contains(&hour) || !(0..=59).contains(&minute) || !(0.0..61.0).contains(&seconds) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let total_seconds = days * 86_400 + hour * 3_600 + minute * 60 - offset_minutes * 60;
    Some(total_seconds * 1_000 + (seconds * 1_000.0).round() as i64)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::unix_ms;

    #[test]
    fn reads_word_dates() {
        assert_eq!(unix_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_ms("2025-12-06T00:00:00Z"), Some(1_764_979_200_000));
        assert_eq!(
            unix_ms("2025-12-06T01:00:00+01:00"),
            Some(1_764_979_200_000)
        );
        assert_eq!(unix_ms("2025-12-06T00:00:00.5Z"), Some(1_764_979_200_500));
        assert_eq!(unix_ms("2025-12-06T00:00:00"), Some(1_764_979_200_000));
        assert_eq!(unix_ms("yesterday"), None);
        assert_eq!(unix_ms("99999999999999999-01-01T00:00:00Z"), None);
        assert_eq!(unix_ms("2025-01-01T99999999999999:00:00Z"), None);
        assert_eq!(unix_ms("2025-01-01T00:00:00+99999999999:00"), None);
    }
}
