//! Durations in the spec: plain seconds (`30`) or a number with a unit (`30s`, `5m`, `12h`, `4d`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A duration in whole seconds, as SQS stores every time attribute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub u64);

impl Seconds {
    /// Parses `30`, `30s`, `5m`, `12h` or `4d` into seconds.
    pub fn parse(text: &str) -> Result<Seconds, String> {
        let text = text.trim();
        let invalid = || {
            format!(
                "invalid duration \"{text}\": expected whole seconds or a number followed by s, m, h or d (for example 30s, 5m, 4d)"
            )
        };
        let (digits, multiplier) = match text.char_indices().last() {
            Some((index, 's')) => (&text[..index], 1),
            Some((index, 'm')) => (&text[..index], 60),
            Some((index, 'h')) => (&text[..index], 3_600),
            Some((index, 'd')) => (&text[..index], 86_400),
            Some(_) => (text, 1),
            None => return Err(invalid()),
        };
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(invalid());
        }
        let too_large = || format!("invalid duration \"{text}\": the number is too large");
        let count: u64 = digits.parse().map_err(|_| too_large())?;
        count
            .checked_mul(multiplier)
            .map(Seconds)
            .ok_or_else(too_large)
    }
}

impl fmt::Display for Seconds {
    /// Writes the largest unit that divides the value exactly: `345600` as `4d`, `90` as `90s`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0;
        if seconds == 0 {
            return write!(formatter, "0s");
        }
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
            if seconds.is_multiple_of(size) {
                return write!(formatter, "{}{unit}", seconds / size);
            }
        }
        write!(formatter, "{seconds}s")
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;

        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a duration such as 30, 30s, 5m, 12h or 4d")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Seconds, E> {
                Ok(Seconds(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Seconds, E> {
                u64::try_from(value).map(Seconds).map_err(|_| {
                    E::custom(format!("invalid duration {value}: must not be negative"))
                })
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Seconds, E> {
                Seconds::parse(value).map_err(E::custom)
            }
        }

        deserializer.deserialize_any(SecondsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(Seconds::parse("30"), Ok(Seconds(30)));
        assert_eq!(Seconds::parse("30s"), Ok(Seconds(30)));
        assert_eq!(Seconds::parse("5m"), Ok(Seconds(300)));
        assert_eq!(Seconds::parse("12h"), Ok(Seconds(43_200)));
        assert_eq!(Seconds::parse("4d"), Ok(Seconds(345_600)));
    }

    #[test]
    fn rejects_unknown_unit() {
        assert_eq!(
            Seconds::parse("5w"),
            Err("invalid duration \"5w\": expected whole seconds or a number followed by s, m, h or d (for example 30s, 5m, 4d)".to_string())
        );
    }

    #[test]
    fn rejects_too_large_number() {
        assert_eq!(
            Seconds::parse("99999999999999999999d"),
            Err("invalid duration \"99999999999999999999d\": the number is too large".to_string())
        );
        assert_eq!(
            Seconds::parse("999999999999999999d"),
            Err("invalid duration \"999999999999999999d\": the number is too large".to_string())
        );
    }

    #[test]
    fn rejects_empty_and_signed() {
        assert!(Seconds::parse("").is_err());
        assert!(Seconds::parse("s").is_err());
        assert!(Seconds::parse("-5s").is_err());
        assert!(Seconds::parse("1.5h").is_err());
    }

    #[test]
    fn displays_largest_exact_unit() {
        assert_eq!(Seconds(345_600).to_string(), "4d");
        assert_eq!(Seconds(90).to_string(), "90s");
        assert_eq!(Seconds(300).to_string(), "5m");
        assert_eq!(Seconds(0).to_string(), "0s");
    }

    #[test]
    fn deserializes_number_and_string() {
        let from_number: Seconds = serde_yaml::from_str("45").unwrap();
        let from_string: Seconds = serde_yaml::from_str("\"2h\"").unwrap();
        assert_eq!(from_number, Seconds(45));
        assert_eq!(from_string, Seconds(7_200));
    }
}
