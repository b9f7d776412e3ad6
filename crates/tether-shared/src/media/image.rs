//! PNG decoding (through the `png` crate) into a one-frame RGB video: 8- and
//! 16-bit, grayscale, RGB, palette, with or without alpha (alpha is dropped;
//! 16-bit samples are scaled by 1/65535, not truncated).

use std::io::BufReader;
use std::path::Path;

use png::{BitDepth, ColorType, Transformations};

use super::{Frame, MediaError, Video};

pub(super) fn decode_png(path: &Path) -> Result<Video, MediaError> {
    let file = fs_err::File::open(path).map_err(|source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let png_err = |source| MediaError::Png {
        path: path.to_path_buf(),
        source,
    };
    let mut decoder = png::Decoder::new(BufReader::new(file));
    // EXPAND: palette -> RGB(A), gray below 8 bits -> 8 bits, tRNS -> alpha.
    decoder.set_transformations(Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(png_err)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| png_err(png::DecodingError::LimitsExceeded))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(png_err)?;
    let (colour, depth) = reader.output_color_type();
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = colour.samples();
    let sixteen = depth == BitDepth::Sixteen;
    let sample = |row: usize, col: usize, c: usize| -> f32 {
        let idx = col * channels + c;
        let line = &buf[row * info.line_size..];
        if sixteen {
            f32::from(u16::from_be_bytes([line[2 * idx], line[2 * idx + 1]])) / 65535.0
        } else {
            f32::from(line[idx]) / 255.0
        }
    };
    let gray = matches!(colour, ColorType::Grayscale | ColorType::GrayscaleAlpha);
    let plane = w * h;
    let mut data = vec![0f32; 3 * plane];
    for row in 0..h {
        for col in 0..w {
            let i = row * w + col;
            for c in 0..3 {
                data[c * plane + i] = sample(row, col, if gray { 0 } else { c });
            }
        }
    }
    Ok(Video {
        width: info.width,
        height: info.height,
        fps: None,
        frames: vec![Frame { data }],
    })
}
