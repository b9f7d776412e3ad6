//! The typed values a config key can hold, each read from its TOML form by
//! serde so that a bad value is rejected while the file is parsed, with the
//! key, the line and what would have been accepted. Owns the spelling of
//! each value (and writes it back the same way); does not own defaults
//! (`super::defaults`) nor rules that relate two keys (`super::validate`).

mod duration;
mod number;
mod pattern;
mod schedule;
mod text;

pub use duration::{AnyDuration, PositiveDuration};
pub use number::{Bytes, Count, Fraction, NonNegative, Positive, Ratio, Scale, Shape};
pub use pattern::{GlobPattern, RecordPattern};
pub use schedule::{CronExpr, TimeZoneName};
pub use text::{
    Author, Device, Listen, ModuleName, Name, NonEmpty, PLACEHOLDERS, RelativePath, Resolution,
    ShellCommand, Template, WebhookUrl, parse_resolution,
};

/// Implements `Deserialize` for a type with `FromStr` (whose error becomes
/// the problem's message) that is written as a TOML string, and, unless
/// `deserialize_only` is given, `Serialize` through its `Display`.
macro_rules! string_value {
    ($ty:ty, $expecting:literal) => {
        $crate::config::value::string_value!($ty, $expecting, deserialize_only);
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
    ($ty:ty, $expecting:literal, deserialize_only) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$ty, E> {
                        <$ty as std::str::FromStr>::from_str(s).map_err(E::custom)
                    }
                }
                d.deserialize_str(Visitor)
            }
        }
    };
}
pub(crate) use string_value;
