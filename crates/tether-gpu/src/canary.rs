//! A generation canary: a TorchScript module loaded with `CModule`, run on
//! fixed inputs (from the export's safetensors file or described in the
//! config) with warm-up and measured iterations, its outputs flattened,
//! summarised, stored, and compared with the reference's outputs.

use std::collections::BTreeMap;
use std::time::Instant;

use tch::{CModule, Device, IValue, Kind, Tensor};
use tether_shared::protocol::{CanaryReport, CanaryRequest, InputSpec, OutputDiff, TensorStats};

use crate::{device, metrics};

pub fn run(req: &CanaryRequest) -> Result<CanaryReport, String> {
    let dev = device::resolve(req.device)?;
    let kind = float_kind(&req.dtype)?;
    let started = Instant::now();
    let mut module = CModule::load_on_device(&req.module, dev).map_err(|e| {
        format!(
            "`{}` is not a TorchScript module libtorch can load: {}",
            req.module.display(),
            short(&e)
        )
    })?;
    module.set_eval();
    if kind != Kind::Float {
        module.to(dev, kind, false);
    }
    let load_s = started.elapsed().as_secs_f64();
    let inputs = inputs(req, dev, kind)?;
    let ivalues: Vec<IValue> = inputs.into_iter().map(IValue::Tensor).collect();
    let call = |m: &CModule| -> Result<IValue, String> {
        let _guard = tch::no_grad_guard();
        m.method_is(&req.method, &ivalues).map_err(|e| {
            format!(
                "running `{}` of the module failed: {}",
                req.method,
                short(&e)
            )
        })
    };
    let mem_before = device_memory(dev);
    for _ in 0..req.warmup {
        call(&module)?;
    }
    device::sync(dev);
    let mut latency_ms = Vec::new();
    let mut out = None;
    for _ in 0..req.iterations.max(1) {
        let t = Instant::now();
        let v = call(&module)?;
        device::sync(dev);
        latency_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        out = Some(v);
    }
    let (peak_memory_bytes, memory_kind) = match dev {
        Device::Cuda(_) => (
            device_memory(dev)
                .zip(mem_before)
                .map(|(after, before)| after.max(before)),
            "cuda device used (NVML)",
        ),
        _ => (peak_rss(), "cpu peak resident set"),
    };
    let mut flat = BTreeMap::new();
    flatten(
        String::new(),
        out.expect("at least one iteration"),
        &mut flat,
    )?;
    if flat.is_empty() {
        return Err(format!("`{}` returned no tensor", req.method));
    }
    let kinds: BTreeMap<String, String> = flat
        .iter()
        .map(|(k, t)| (k.clone(), kind_name(t.kind())))
        .collect();
    let host: Vec<(String, Tensor)> = flat
        .into_iter()
        .map(|(k, t)| {
            (
                k,
                t.to_device(Device::Cpu).to_kind(Kind::Float).contiguous(),
            )
        })
        .collect();
    let outputs = host
        .iter()
        .map(|(k, t)| stats(k, t, kinds.get(k).cloned().unwrap_or_default()))
        .collect();
    crate::frames::write_named(&req.store, &host)?;
    let (comparison, reference_error) = match &req.reference {
        None => (None, None),
        Some(path) => match Tensor::read_safetensors(path) {
            Ok(reference) => (Some(compare(&host, &reference, dev)), None),
            Err(e) => (None, Some(format!("cannot read `{}`: {e}", path.display()))),
        },
    };
    let mut sorted = latency_ms.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(CanaryReport {
        device: device::name(dev),
        dtype: req.dtype.clone(),
        load_s,
        median_latency_ms: sorted[sorted.len() / 2],
        latency_ms,
        peak_memory_bytes,
        memory_kind: memory_kind.into(),
        outputs,
        comparison,
        reference_error,
    })
}

fn float_kind(dtype: &str) -> Result<Kind, String> {
    match dtype {
        "fp32" | "f32" | "float32" => Ok(Kind::Float),
        "bf16" | "bfloat16" => Ok(Kind::BFloat16),
        "fp16" | "f16" | "float16" => Ok(Kind::Half),
        other => Err(format!("dtype `{other}` is not one of fp32, bf16, fp16")),
    }
}

/// The inputs, on `dev`, floating ones in `kind`.
fn inputs(req: &CanaryRequest, dev: Device, kind: Kind) -> Result<Vec<Tensor>, String> {
    let raw: Vec<Tensor> = match &req.inputs_file {
        Some(path) => {
            let mut named = Tensor::read_safetensors(path)
                .map_err(|e| format!("cannot read the inputs `{}`: {e}", path.display()))?;
            named.sort_by(|a, b| a.0.cmp(&b.0));
            named.into_iter().map(|(_, t)| t).collect()
        }
        None => req.inputs.iter().map(described).collect::<Result<_, _>>()?,
    };
    Ok(raw
        .into_iter()
        .map(|t| {
            let t = t.to_device(dev);
            if t.is_floating_point() {
                t.to_kind(kind)
            } else {
                t
            }
        })
        .collect())
}

fn described(spec: &InputSpec) -> Result<Tensor, String> {
    let kind = match spec.dtype.as_str() {
        "int64" | "long" => Kind::Int64,
        other => float_kind(other)?,
    };
    let opts = (Kind::Float, Device::Cpu);
    tch::manual_seed(spec.seed as i64);
    let t = match spec.fill.as_str() {
        "normal" => Tensor::randn(spec.shape.as_slice(), opts),
        "uniform" => Tensor::rand(spec.shape.as_slice(), opts),
        "zeros" => Tensor::zeros(spec.shape.as_slice(), opts),
        "ones" => Tensor::ones(spec.shape.as_slice(), opts),
        "constant" => Tensor::full(spec.shape.as_slice(), spec.value, opts),
        other => {
            return Err(format!(
                "input `{}`: fill `{other}` is not one of normal, uniform, zeros, ones, constant",
                spec.name
            ));
        }
    };
    Ok(t.to_kind(kind))
}

/// Every tensor in `v`, keyed by position (`0`, `1.2`) or dict key.
fn flatten(prefix: String, v: IValue, out: &mut BTreeMap<String, Tensor>) -> Result<(), String> {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        IValue::Tensor(t) => {
            out.insert(
                if prefix.is_empty() {
                    "0".into()
                } else {
                    prefix
                },
                t,
            );
        }
        IValue::Tuple(items) | IValue::GenericList(items) => {
            for (i, item) in items.into_iter().enumerate() {
                flatten(key(&i.to_string()), item, out)?;
            }
        }
        IValue::TensorList(items) => {
            for (i, t) in items.into_iter().enumerate() {
                out.insert(key(&i.to_string()), t);
            }
        }
        IValue::GenericDict(items) => {
            for (k, item) in items {
                let name = match k {
                    IValue::String(s) => s,
                    IValue::Int(i) => i.to_string(),
                    other => format!("{other:?}"),
                };
                flatten(key(&name), item, out)?;
            }
        }
        IValue::Double(x) => {
            out.insert(key("value"), Tensor::from(x));
        }
        IValue::Int(x) => {
            out.insert(key("value"), Tensor::from(x as f64));
        }
        IValue::None => {}
        other => {
            return Err(format!(
                "the module returned an unsupported value: {other:?}"
            ));
        }
    }
    Ok(())
}

/// A dtype's short name (`fp32`, `bf16`, ...).
fn kind_name(k: Kind) -> String {
    match k {
        Kind::Float => "fp32".into(),
        Kind::BFloat16 => "bf16".into(),
        Kind::Half => "fp16".into(),
        Kind::Double => "fp64".into(),
        Kind::Int64 => "int64".into(),
        Kind::Int => "int32".into(),
        Kind::Bool => "bool".into(),
        Kind::Uint8 => "uint8".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn stats(key: &str, t: &Tensor, dtype: String) -> TensorStats {
    let nan = t.isnan().sum(Kind::Int64).int64_value(&[]) as u64;
    let inf = t.isinf().sum(Kind::Int64).int64_value(&[]) as u64;
    let finite = t.masked_select(&t.isfinite());
    let (mean, std, min, max) = if finite.numel() == 0 {
        (None, None, None, None)
    } else {
        (
            Some(finite.mean(Kind::Double).double_value(&[])),
            Some(if finite.numel() > 1 {
                finite.std(true).double_value(&[])
            } else {
                0.0
            }),
            Some(finite.min().double_value(&[])),
            Some(finite.max().double_value(&[])),
        )
    };
    TensorStats {
        key: key.to_owned(),
        shape: t.size(),
        dtype,
        nan,
        inf,
        mean,
        std,
        min,
        max,
    }
}

fn compare(
    outputs: &[(String, Tensor)],
    reference: &[(String, Tensor)],
    dev: Device,
) -> Vec<OutputDiff> {
    outputs
        .iter()
        .map(|(key, t)| {
            let r = reference.iter().find(|(k, _)| k == key).map(|(_, r)| r);
            let mut d = OutputDiff {
                key: key.clone(),
                shape: t.size(),
                reference_shape: r.map(Tensor::size),
                max_abs_error: None,
                max_rel_error: None,
                cosine: None,
                psnr_db: None,
                ssim: None,
            };
            let Some(r) = r else { return d };
            if r.size() != t.size() {
                return d;
            }
            let (a, b) = (t.to_kind(Kind::Double), r.to_kind(Kind::Double));
            let abs = (&a - &b).abs().max().double_value(&[]);
            let scale = b.abs().max().double_value(&[]).max(f64::MIN_POSITIVE);
            let (fa, fb) = (a.flatten(0, -1), b.flatten(0, -1));
            let norms = fa.norm().double_value(&[]) * fb.norm().double_value(&[]);
            let finite = |x: f64| x.is_finite().then_some(x);
            d.max_abs_error = finite(abs);
            d.max_rel_error = finite(abs / scale);
            d.cosine = finite(if norms > 0.0 {
                fa.dot(&fb).double_value(&[]) / norms
            } else if abs == 0.0 {
                1.0
            } else {
                0.0
            });
            let s = t.size();
            if s.len() == 4
                && (s[1] == 1 || s[1] == 3)
                && s[2] >= metrics::WINDOW
                && s[3] >= metrics::WINDOW
            {
                // scaled by the reference's range into 0..1
                let (lo, hi) = (b.min().double_value(&[]), b.max().double_value(&[]));
                let span = (hi - lo).max(f64::MIN_POSITIVE);
                let scale = |x: &Tensor| {
                    ((x - lo) / span)
                        .clamp(0.0, 1.0)
                        .to_kind(Kind::Float)
                        .to_device(dev)
                };
                let (x, y) = (scale(&a), scale(&b));
                let ssim = metrics::to_vec(&metrics::ssim(&x, &y));
                let mse = metrics::to_vec(&metrics::mse(&x, &y));
                d.ssim = finite(ssim.iter().sum::<f64>() / ssim.len() as f64);
                d.psnr_db = metrics::psnr(mse.iter().sum::<f64>() / mse.len() as f64);
            }
            d
        })
        .collect()
}

/// A libtorch error without its C++ backtrace.
pub fn short(e: &tch::TchError) -> String {
    let text = e.to_string();
    let cut = text
        .find("\nException raised from")
        .or_else(|| text.find("\nframe #"))
        .unwrap_or(text.len());
    text[..cut].trim().to_owned()
}

/// The device's used memory (NVML), for CUDA devices.
fn device_memory(dev: Device) -> Option<u64> {
    let Device::Cuda(n) = dev else { return None };
    tether_nvml::devices()
        .ok()?
        .into_iter()
        .find(|d| d.index as usize == n)?
        .memory_used_bytes
}

/// This process's peak resident set (VmHWM).
fn peak_rss() -> Option<u64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
