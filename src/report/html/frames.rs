//! Owns the frames side by side: a handful of frames chosen evenly plus the
//! lowest-SSIM one, each as the reference frame, the new frame and a
//! difference heat map, written as PNG thumbnails from the downsampled
//! frames the worker stored (safetensors, tensor `frames`, `u8 [T, 3, H,
//! W]`); also the frames that prove a frozen, black or flickering finding.
//! A stored file that is missing or unreadable is named on the page;
//! the rest renders.

use std::path::Path;

use crate::document::Asset;

/// Frames chosen evenly, before the lowest-SSIM one is added.
const EVEN_FRAMES: usize = 4;

/// Stored frames: `count` frames of `width` x `height`, RGB planes per frame.
pub struct Frames {
    pub count: usize,
    pub width: usize,
    pub height: usize,
    data: Vec<u8>,
}

impl Frames {
    /// Frame `i` as interleaved RGB bytes.
    fn rgb(&self, i: usize) -> Vec<u8> {
        let plane = self.width * self.height;
        let base = i * 3 * plane;
        let mut out = Vec::with_capacity(3 * plane);
        for p in 0..plane {
            for c in 0..3 {
                out.push(self.data[base + c * plane + p]);
            }
        }
        out
    }
}

/// Reads stored frames, saying in words what is wrong with a bad file.
pub fn read(path: &Path) -> Result<Frames, String> {
    let bytes = fs_err::read(path).map_err(|e| format!("cannot read: {e}"))?;
    parse(&bytes)
}

fn parse(bytes: &[u8]) -> Result<Frames, String> {
    let bad = |why: &str| format!("not stored frames: {why}");
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .ok_or_else(|| bad("shorter than its header"))?;
    let header = bytes
        .get(8..8usize.saturating_add(len))
        .ok_or_else(|| bad("the header runs past the end"))?;
    let header: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| bad(&format!("header: {e}")))?;
    let t = &header["frames"];
    if t["dtype"] != "U8" {
        return Err(bad("tensor `frames` is not u8"));
    }
    let shape: Vec<usize> = t["shape"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_u64())
                .map(|d| d as usize)
                .collect()
        })
        .unwrap_or_default();
    let [count, 3, height, width] = shape[..] else {
        return Err(bad("tensor `frames` is not [T, 3, H, W]"));
    };
    let offsets: Vec<usize> = t["data_offsets"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_u64())
                .map(|d| d as usize)
                .collect()
        })
        .unwrap_or_default();
    let [start, end] = offsets[..] else {
        return Err(bad("tensor `frames` has no data offsets"));
    };
    let data = bytes
        .get(8 + len + start..8 + len + end)
        .filter(|d| d.len() == count * 3 * height * width)
        .ok_or_else(|| bad("the data does not match the shape"))?;
    Ok(Frames {
        count,
        width,
        height,
        data: data.to_vec(),
    })
}

/// The frames to show of `n` compared: [`EVEN_FRAMES`] spread evenly, plus
/// the lowest-SSIM one, in order, without repeats.
pub fn choose(n: usize, ssim: &[f64]) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut picked: Vec<usize> = (0..EVEN_FRAMES.min(n))
        .map(|k| k * (n - 1) / (EVEN_FRAMES.min(n) - 1).max(1))
        .collect();
    let worst = ssim
        .iter()
        .take(n)
        .enumerate()
        .filter(|(_, s)| s.is_finite())
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i);
    picked.extend(worst);
    picked.sort_unstable();
    picked.dedup();
    picked
}

/// A PNG of interleaved RGB bytes.
pub fn png(width: usize, height: usize, rgb: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The difference of two frames of one size as a heat map: black where they
/// agree, through red to yellow where they differ most (mean absolute
/// difference over the channels, scaled so 64 of 255 is full).
pub fn heat_map(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.chunks_exact(3)
        .zip(b.chunks_exact(3))
        .flat_map(|(p, q)| {
            let d: u32 = p.iter().zip(q).map(|(x, y)| x.abs_diff(*y) as u32).sum();
            let v = ((d / 3) * 4).min(255) as u8;
            let r = v.saturating_mul(2);
            let g = v.saturating_sub(128).saturating_mul(2);
            [r, g, 0]
        })
        .collect()
}

/// One shown frame: the PNG names (relative to the run folder) of the
/// reference, new and heat map images, and the frame's SSIM.
pub struct Shown {
    pub index: usize,
    pub ssim: Option<f64>,
    pub reference: Option<String>,
    pub new: String,
    pub diff: Option<String>,
}

/// Frame `i` of `frames` as the PNG thumbnail named like the new frame of
/// [`thumbnails`] (so a frame shown twice is written once); an error in
/// words when the stored frames have no frame `i`.
pub fn frame_png(slug: &str, frames: &Frames, i: usize) -> Result<Asset, String> {
    if i >= frames.count {
        return Err(format!("not among the {} stored frames", frames.count));
    }
    Ok(Asset {
        name: new_name(slug, i),
        bytes: png(frames.width, frames.height, &frames.rgb(i))?,
    })
}

fn new_name(slug: &str, i: usize) -> String {
    format!("{}/{slug}-f{i}-new.png", super::ASSET_DIR)
}

/// The thumbnails of output `slug`: the images to write and what each shown
/// frame links to; an error in words when the new frames cannot be read.
pub fn thumbnails(
    slug: &str,
    new: &Frames,
    reference: Option<&Frames>,
    ssim: &[f64],
) -> Result<(Vec<Asset>, Vec<Shown>), String> {
    let n = reference.map_or(new.count, |r| r.count.min(new.count));
    let same_size = reference.is_some_and(|r| r.width == new.width && r.height == new.height);
    let mut assets = Vec::new();
    let mut shown = Vec::new();
    for i in choose(n, ssim) {
        let name = |kind: &str| format!("{}/{slug}-f{i}-{kind}.png", super::ASSET_DIR);
        let new_rgb = new.rgb(i);
        assets.push(Asset {
            name: new_name(slug, i),
            bytes: png(new.width, new.height, &new_rgb)?,
        });
        let (mut reference_name, mut diff_name) = (None, None);
        if let Some(r) = reference {
            let ref_rgb = r.rgb(i);
            assets.push(Asset {
                name: name("ref"),
                bytes: png(r.width, r.height, &ref_rgb)?,
            });
            reference_name = Some(name("ref"));
            if same_size {
                assets.push(Asset {
                    name: name("diff"),
                    bytes: png(new.width, new.height, &heat_map(&ref_rgb, &new_rgb))?,
                });
                diff_name = Some(name("diff"));
            }
        }
        shown.push(Shown {
            index: i,
            ssim: ssim.get(i).copied(),
            reference: reference_name,
            new: new_name(slug, i),
            diff: diff_name,
        });
    }
    Ok((assets, shown))
}

/// `text` with only `[A-Za-z0-9_-]`, for file names.
pub fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Stored frames as the worker writes them (for tests).
#[cfg(test)]
pub fn encode(count: usize, width: usize, height: usize, data: &[u8]) -> Vec<u8> {
    let header = serde_json::json!({
        "frames": {"dtype": "U8", "shape": [count, 3, height, width], "data_offsets": [0, data.len()]}
    })
    .to_string();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_frames_are_even_plus_the_worst() {
        let mut ssim = vec![0.99; 10];
        ssim[6] = 0.4;
        assert_eq!(choose(10, &ssim), vec![0, 3, 6, 9]);
        ssim[6] = 0.99;
        ssim[5] = 0.4;
        assert_eq!(choose(10, &ssim), vec![0, 3, 5, 6, 9]);
        assert_eq!(choose(1, &[]), vec![0]);
        assert!(choose(0, &[]).is_empty());
    }

    #[test]
    fn stored_frames_read_back_and_bad_ones_say_why() {
        let data: Vec<u8> = (0..2 * 3 * 2 * 2).map(|v| v as u8).collect();
        let f = parse(&encode(2, 2, 2, &data)).unwrap();
        assert_eq!((f.count, f.width, f.height), (2, 2, 2));
        assert_eq!(&f.rgb(1)[..3], &[12, 16, 20]);
        let err = parse(b"garbage!garbage").err().unwrap();
        assert!(err.contains("not stored frames"), "{err}");
        let mut cut = encode(2, 2, 2, &data);
        cut.truncate(cut.len() - 1);
        assert!(parse(&cut).err().unwrap().contains("does not match"));
    }

    #[test]
    fn thumbnails_are_pngs_with_a_heat_map() {
        let data = vec![128u8; 3 * 3 * 4 * 4];
        let f = parse(&encode(3, 4, 4, &data)).unwrap();
        let (assets, shown) = thumbnails("case-0", &f, Some(&f), &[1.0, 0.5, 1.0]).unwrap();
        assert_eq!(shown.len(), 3);
        assert_eq!(assets.len(), 9);
        assert!(assets.iter().all(|a| a.bytes.starts_with(b"\x89PNG")));
        assert_eq!(shown[1].diff.as_deref(), Some("html/case-0-f1-diff.png"));
    }
}
