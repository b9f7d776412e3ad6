//! Owns how the health report's `Result` fields look in JSON: objects with
//! a lowercase `status` (or `passed`) and named fields, never serde's
//! `{"Ok": ..}` / `{"Err": ..}`. The shapes are documented in
//! `schemas/health.schema.json`; each module here is a
//! `#[serde(with = "..")]` adapter over a private tagged enum.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::TorchView;
use crate::gpu::{GpuDetails, Hardware};

/// `gpu`: `{"status": "ok", "hardware", "gpus"}` or
/// `{"status": "error", "error"}`.
pub mod gpu {
    use super::*;

    type Value = Result<(Hardware, Vec<GpuDetails>), String>;

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
    enum Shape {
        Ok {
            hardware: Hardware,
            gpus: Vec<GpuDetails>,
        },
        Error {
            error: String,
        },
    }

    pub fn serialize<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Ok((hardware, gpus)) => Shape::Ok {
                hardware: hardware.clone(),
                gpus: gpus.clone(),
            },
            Err(error) => Shape::Error {
                error: error.clone(),
            },
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Ok(match Shape::deserialize(d)? {
            Shape::Ok { hardware, gpus } => Ok((hardware, gpus)),
            Shape::Error { error } => Err(error),
        })
    }
}

/// `python.torch`: `{"status": "ok", "version", "cuda", "cuda_available"}`
/// or `{"status": "error", "error"}`.
pub mod torch {
    use super::*;

    type Value = Result<TorchView, String>;

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
    enum Shape {
        Ok {
            version: String,
            cuda: Option<String>,
            cuda_available: bool,
        },
        Error {
            error: String,
        },
    }

    pub fn serialize<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Ok(t) => Shape::Ok {
                version: t.version.clone(),
                cuda: t.cuda.clone(),
                cuda_available: t.cuda_available,
            },
            Err(error) => Shape::Error {
                error: error.clone(),
            },
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Ok(match Shape::deserialize(d)? {
            Shape::Ok {
                version,
                cuda,
                cuda_available,
            } => Ok(TorchView {
                version,
                cuda,
                cuda_available,
            }),
            Shape::Error { error } => Err(error),
        })
    }
}

/// `python.pip_check`: `{"passed": true, "problems": []}` or
/// `{"passed": false, "problems": [..]}`.
pub mod pip_check {
    use super::*;

    type Value = Result<(), Vec<String>>;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Shape {
        passed: bool,
        problems: Vec<String>,
    }

    pub fn serialize<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
        Shape {
            passed: v.is_ok(),
            problems: v.clone().err().unwrap_or_default(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        let shape = Shape::deserialize(d)?;
        if shape.passed {
            Ok(Ok(()))
        } else {
            Ok(Err(shape.problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Probe {
        #[serde(with = "torch")]
        torch: Result<TorchView, String>,
        #[serde(with = "pip_check")]
        pip: Result<(), Vec<String>>,
    }

    #[test]
    fn results_are_objects_with_a_status_not_ok_and_err() {
        let ok = Probe {
            torch: Ok(TorchView {
                version: "2.4.0".into(),
                cuda: None,
                cuda_available: false,
            }),
            pip: Ok(()),
        };
        let json = serde_json::to_value(&ok).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "torch": {"status": "ok", "version": "2.4.0", "cuda": null, "cuda_available": false},
                "pip": {"passed": true, "problems": []},
            })
        );
        assert_eq!(serde_json::from_value::<Probe>(json).unwrap(), ok);

        let err = Probe {
            torch: Err("no module named torch".into()),
            pip: Err(vec!["a 1 has requirement b".into()]),
        };
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "torch": {"status": "error", "error": "no module named torch"},
                "pip": {"passed": false, "problems": ["a 1 has requirement b"]},
            })
        );
        assert_eq!(serde_json::from_value::<Probe>(json).unwrap(), err);
    }
}
