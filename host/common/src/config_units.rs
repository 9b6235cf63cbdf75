//! The units of Capsule's TOML files (`capsule.toml`, `NAME.toml`), as serde `deserialize_with`
//! functions for `Option` fields: durations in humantime syntax (`"10s"`, `"500ms"`, `"2m"`) and
//! sizes with IEC or SI units (`"64MiB"`, `"1GB"`). A bad value is an error that quotes it and
//! shows a valid one.

use std::time::Duration;

use bytesize::ByteSize;
use serde::{Deserialize, Deserializer};

/// An optional duration: `"10s"`, `"500ms"`, `"1h 30m"` (humantime).
///
/// # Errors
/// A value that is not a string, or not a duration: the message quotes it.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration '{text}' ({e}); write e.g. \"10s\" or \"500ms\""
        ))
    })
}

/// An optional size in bytes: `"64MiB"`, `"1GiB"`, `"500kB"`.
///
/// # Errors
/// A value that is not a string, or not a size: the message quotes it.
pub fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ByteSize>, D::Error> {
    let text = String::deserialize(d)?;
    text.parse::<ByteSize>().map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid size '{text}' ({e}); write e.g. \"64MiB\" or \"1GiB\""
        ))
    })
}
