//! Looking up findings in an `analysis.json`.

use serde_json::Value;

/// The finding of `target` whose status is `status`.
#[track_caller]
pub fn finding<'a>(a: &'a Value, target: &str, status: &str) -> &'a Value {
    a["integration"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["point"]["target"] == target && f["status"]["status"] == status)
        .unwrap_or_else(|| {
            panic!(
                "no {status} finding for {target} in {:#}",
                a["integration"]["findings"]
            )
        })
}

/// Asserts a finding's wrapper file, line and severity.
#[track_caller]
pub fn at(f: &Value, file: &str, line: u64, severity: &str) {
    assert_eq!(f["point"]["file"], file, "{f:#}");
    assert_eq!(f["point"]["line"], line, "{f:#}");
    assert_eq!(f["severity"], severity, "{f:#}");
}
