//! Picks the libtorch device for a [`DeviceChoice`] and says where work ran.

use tch::{Cuda, Device};
use tether_shared::protocol::DeviceChoice;

/// The device to compute on, or why the requested one cannot be used.
pub fn resolve(choice: DeviceChoice) -> Result<Device, String> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Auto => Ok(if Cuda::is_available() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }),
        DeviceChoice::Cuda(n) => {
            if !Cuda::is_available() {
                return Err(format!(
                    "cuda:{n} was asked for, but libtorch reports CUDA unavailable{}",
                    if cuda_library_loaded() {
                        ""
                    } else {
                        " (libtorch_cuda.so is not loaded)"
                    }
                ));
            }
            let count = Cuda::device_count();
            if i64::from(n) >= count {
                return Err(format!(
                    "cuda:{n} was asked for, but libtorch sees {count} CUDA device(s)"
                ));
            }
            Ok(Device::Cuda(n as usize))
        }
    }
}

/// `cpu` or `cuda:N`.
pub fn name(device: Device) -> String {
    match device {
        Device::Cuda(n) => format!("cuda:{n}"),
        _ => "cpu".to_owned(),
    }
}

/// Waits for queued work on a CUDA device (a no-op on the CPU), so that
/// timings cover the work and not only its launch.
pub fn sync(device: Device) {
    if let Device::Cuda(n) = device {
        Cuda::synchronize(n as i64);
    }
}

/// Whether `libtorch_cuda.so` is mapped into this process.
pub fn cuda_library_loaded() -> bool {
    fs_err::read_to_string("/proc/self/maps")
        .map(|maps| maps.contains("libtorch_cuda.so"))
        .unwrap_or(false)
}
