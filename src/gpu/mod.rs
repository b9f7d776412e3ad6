//! Owns what tether learns about the machine's GPUs: peak GPU memory while a
//! child runs and basic hardware facts, both through NVML loaded at run time.
//! Without an NVIDIA driver every answer is "unavailable, because ...",
//! never zero.

pub mod nvml;

pub use nvml::{Hardware, VramPeak, VramSampler, hardware};
