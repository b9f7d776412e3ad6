//! Numbers with a range: counts and byte sizes with a lower bound, and the
//! ranges of the float limits. Out of range is a problem naming the range.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A whole number of at least `MIN` (and at most `u32::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count<const MIN: u32>(pub u32);

/// A number of bytes, at least `MIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes<const MIN: u64>(pub u64);

impl<'de, const MIN: u32> Deserialize<'de> for Count<MIN> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        match u32::try_from(n) {
            Ok(v) if v >= MIN => Ok(Count(v)),
            _ => Err(D::Error::custom(format!("must be at least {MIN}, got {n}"))),
        }
    }
}

impl<'de, const MIN: u64> Deserialize<'de> for Bytes<MIN> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        match u64::try_from(n) {
            Ok(v) if v >= MIN => Ok(Bytes(v)),
            _ => Err(D::Error::custom(format!("must be at least {MIN}, got {n}"))),
        }
    }
}

impl<const MIN: u32> Serialize for Count<MIN> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<const MIN: u64> Serialize for Bytes<MIN> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A float type whose values must pass `$ok`; `$what` completes "must be ...".
macro_rules! float_value {
    ($(#[$doc:meta])* $name:ident, $ok:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name(pub f64);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let x = f64::deserialize(d)?;
                let ok: fn(f64) -> bool = $ok;
                if ok(x) {
                    Ok($name(x))
                } else {
                    Err(D::Error::custom(format!(concat!("must be ", $what, ", got {}"), x)))
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }
    };
}

float_value!(
    /// 0 to 1, both included (a similarity, an SSIM limit).
    Fraction,
    |x| (0.0..=1.0).contains(&x),
    "between 0 and 1"
);
float_value!(
    /// Strictly between 0 and 1 (a factor that shrinks).
    Scale,
    |x| x > 0.0 && x < 1.0,
    "between 0 and 1 (exclusive)"
);
float_value!(
    /// At least 1 (a run may always be as slow as its reference).
    Ratio,
    |x| x >= 1.0 && x.is_finite(),
    "a number of at least 1"
);
float_value!(
    /// 0 or more.
    NonNegative,
    |x| x >= 0.0 && x.is_finite(),
    "0 or more"
);
float_value!(
    /// More than 0.
    Positive,
    |x| x > 0.0 && x.is_finite(),
    "a positive number"
);

/// A tensor shape: one or more positive sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Shape(pub Vec<i64>);

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let sizes = Vec::<i64>::deserialize(d)?;
        if sizes.is_empty() || sizes.iter().any(|s| *s <= 0) {
            return Err(D::Error::custom(
                "needs a list of positive sizes, e.g. [1, 4, 16, 16]",
            ));
        }
        Ok(Shape(sizes))
    }
}
