//! Durations as people write them in config and on the command line: `90s`, `15m`, `8h`, `7d`.

use std::time::Duration;

/// Parses `N[s|m|h|d]` (a sum such as `1h30m` too). A bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("an empty duration".to_owned());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => {
                return Err(format!(
                    "{text:?} is not a duration (use s, m, h, d or w, as in 15m or 8h)"
                ))
            }
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?} is not a duration (a number must precede {c})"))?;
        total = total
            .checked_add(n.checked_mul(unit).ok_or_else(|| format!("{text:?} is too long"))?)
            .ok_or_else(|| format!("{text:?} is too long"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        total = total
            .checked_add(digits.parse::<u64>().map_err(|_| format!("{text:?} is too long"))?)
            .ok_or_else(|| format!("{text:?} is too long"))?;
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(parse_duration("15m").unwrap().as_secs(), 900);
        assert_eq!(parse_duration("8h").unwrap().as_secs(), 28_800);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5_400);
        assert_eq!(parse_duration("45").unwrap().as_secs(), 45);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
