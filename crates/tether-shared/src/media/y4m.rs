//! YUV4MPEG2 (`.y4m`) reading and writing: the header, `FRAME` markers, the
//! raw 8-bit planes, and the conversion between YUV and RGB.
//!
//! YUV <-> RGB uses the BT.601 matrix as written for JPEG/JFIF in ITU-T T.871
//! (full range: Y, Cb, Cr all 0..255, chroma centred on 128). A header
//! parameter `XCOLORRANGE=LIMITED` switches decoding to BT.601 studio range
//! (Y 16..235, chroma 16..240); without it the data is taken as full range.
//! Chroma is upsampled by repeating each sample over the pixels it covers.

use std::path::Path;

use super::{Frame, MediaError, Video};

/// Longest header line accepted.
const MAX_HEADER: usize = 4096;
const MAGIC: &str = "YUV4MPEG2";

/// Chroma layout of a y4m file (the `C` header parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Y4mColour {
    /// `420jpeg`: 4:2:0, chroma centred (JPEG siting).
    C420Jpeg,
    /// `420paldv`: 4:2:0, PAL-DV siting.
    C420Paldv,
    /// `420mpeg2`: 4:2:0, MPEG-2 siting.
    C420Mpeg2,
    /// `420` (also the default when `C` is absent).
    C420,
    C422,
    C444,
    /// Luma only.
    Mono,
}

impl Y4mColour {
    fn parse(tag: &str) -> Option<Self> {
        Some(match tag {
            "420jpeg" => Self::C420Jpeg,
            "420paldv" => Self::C420Paldv,
            "420mpeg2" => Self::C420Mpeg2,
            "420" => Self::C420,
            "422" => Self::C422,
            "444" => Self::C444,
            "mono" => Self::Mono,
            _ => return None,
        })
    }

    fn tag(self) -> &'static str {
        match self {
            Self::C420Jpeg => "420jpeg",
            Self::C420Paldv => "420paldv",
            Self::C420Mpeg2 => "420mpeg2",
            Self::C420 => "420",
            Self::C422 => "422",
            Self::C444 => "444",
            Self::Mono => "mono",
        }
    }

    /// Horizontal and vertical chroma subsampling shifts; `None` for mono.
    fn shifts(self) -> Option<(u32, u32)> {
        match self {
            Self::C420Jpeg | Self::C420Paldv | Self::C420Mpeg2 | Self::C420 => Some((1, 1)),
            Self::C422 => Some((1, 0)),
            Self::C444 => Some((0, 0)),
            Self::Mono => None,
        }
    }

    /// Width and height of each chroma plane (0x0 for mono).
    pub fn chroma_size(self, width: u32, height: u32) -> (u32, u32) {
        match self.shifts() {
            Some((sx, sy)) => (width.div_ceil(1 << sx), height.div_ceil(1 << sy)),
            None => (0, 0),
        }
    }
}

/// A y4m file as raw 8-bit planes.
#[derive(Debug, Clone, PartialEq)]
pub struct Y4m {
    pub width: u32,
    pub height: u32,
    /// `F` numerator and denominator; `None` when absent or `0:0`.
    pub fps: Option<(u32, u32)>,
    pub colour: Y4mColour,
    /// Full range (JPEG) unless the header says `XCOLORRANGE=LIMITED`.
    pub full_range: bool,
    pub frames: Vec<YuvFrame>,
}

/// One frame's planes; `u` and `v` are empty for mono.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YuvFrame {
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

/// Reads a y4m file into its raw planes.
pub fn decode_y4m_yuv(path: &Path) -> Result<Y4m, MediaError> {
    let bytes = fs_err::read(path).map_err(|source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes, path)
}

/// Reads a y4m file into RGB frames.
pub(super) fn decode_file(path: &Path) -> Result<Video, MediaError> {
    Ok(to_video(&decode_y4m_yuv(path)?))
}

fn parse(bytes: &[u8], path: &Path) -> Result<Y4m, MediaError> {
    let bad = |message: String| MediaError::Y4m {
        path: path.to_path_buf(),
        message,
    };
    let head_end = bytes
        .iter()
        .take(MAX_HEADER)
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad(format!("no header line ending within {MAX_HEADER} bytes")))?;
    let header = std::str::from_utf8(&bytes[..head_end])
        .map_err(|_| bad("header is not text".to_string()))?;
    let mut tokens = header.split(' ').filter(|t| !t.is_empty());
    if tokens.next() != Some(MAGIC) {
        return Err(bad(format!("header does not start with `{MAGIC}`")));
    }
    let (mut width, mut height, mut fps) = (None, None, None);
    let mut colour = Y4mColour::C420;
    let mut full_range = true;
    for token in tokens {
        let (key, value) = token.split_at(1);
        match key {
            "W" => {
                width = Some(parse_dim(value).ok_or_else(|| bad(format!("bad width `{token}`")))?)
            }
            "H" => {
                height = Some(parse_dim(value).ok_or_else(|| bad(format!("bad height `{token}`")))?)
            }
            "F" => {
                fps = parse_ratio(value).ok_or_else(|| bad(format!("bad frame rate `{token}`")))?
            }
            "C" => {
                colour = Y4mColour::parse(value).ok_or_else(|| MediaError::UnsupportedColour {
                    path: path.to_path_buf(),
                    colour: value.to_string(),
                })?
            }
            "X" if value.eq_ignore_ascii_case("COLORRANGE=LIMITED") => full_range = false,
            "X" if value.eq_ignore_ascii_case("COLORRANGE=FULL") => full_range = true,
            // Interlacing, aspect ratio, comments and other extensions do not
            // change how the planes are read.
            _ => {}
        }
    }
    let width = width.ok_or_else(|| bad("header has no width (W)".to_string()))?;
    let height = height.ok_or_else(|| bad("header has no height (H)".to_string()))?;
    let (cw, ch) = colour.chroma_size(width, height);
    let luma = width as usize * height as usize;
    let chroma = cw as usize * ch as usize;
    let frame_len = luma + 2 * chroma;

    let mut frames = Vec::new();
    let mut pos = head_end + 1;
    let truncated = |frames_ok: usize| MediaError::Truncated {
        path: path.to_path_buf(),
        frames_ok: frames_ok as u32,
    };
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let Some(line_len) = rest.iter().position(|&b| b == b'\n') else {
            if rest.starts_with(b"FRAME") || b"FRAME".starts_with(rest) {
                return Err(truncated(frames.len()));
            }
            return Err(bad(format!("expected a FRAME marker at byte {pos}")));
        };
        let line = &rest[..line_len];
        if !(line == b"FRAME" || line.starts_with(b"FRAME ")) {
            return Err(bad(format!("expected a FRAME marker at byte {pos}")));
        }
        let start = pos + line_len + 1;
        let end = start + frame_len;
        if end > bytes.len() {
            return Err(truncated(frames.len()));
        }
        let data = &bytes[start..end];
        frames.push(YuvFrame {
            y: data[..luma].to_vec(),
            u: data[luma..luma + chroma].to_vec(),
            v: data[luma + chroma..].to_vec(),
        });
        pos = end;
    }
    Ok(Y4m {
        width,
        height,
        fps,
        colour,
        full_range,
        frames,
    })
}

fn parse_dim(s: &str) -> Option<u32> {
    s.parse().ok().filter(|&v| v > 0 && v <= 1 << 16)
}

/// `num:den`; `Ok(None)` for an unknown rate (`0:0` or a zero part).
fn parse_ratio(s: &str) -> Option<Option<(u32, u32)>> {
    let (n, d) = s.split_once(':')?;
    let (n, d): (u32, u32) = (n.parse().ok()?, d.parse().ok()?);
    Some((n > 0 && d > 0).then_some((n, d)))
}

/// Converts raw planes to RGB frames.
pub(super) fn to_video(y4m: &Y4m) -> Video {
    let (w, h) = (y4m.width as usize, y4m.height as usize);
    let (cw, _) = y4m.colour.chroma_size(y4m.width, y4m.height);
    let shifts = y4m.colour.shifts();
    let plane = w * h;
    let frames = y4m
        .frames
        .iter()
        .map(|f| {
            let mut data = vec![0f32; 3 * plane];
            for row in 0..h {
                for col in 0..w {
                    let i = row * w + col;
                    let (cb, cr) = match shifts {
                        Some((sx, sy)) => {
                            let ci = (row >> sy) * cw as usize + (col >> sx);
                            (f.u[ci], f.v[ci])
                        }
                        None => (128, 128),
                    };
                    let [r, g, b] = yuv_to_rgb(f.y[i], cb, cr, y4m.full_range);
                    data[i] = r;
                    data[plane + i] = g;
                    data[2 * plane + i] = b;
                }
            }
            Frame { data }
        })
        .collect();
    Video {
        width: y4m.width,
        height: y4m.height,
        fps: y4m.fps.map(|(n, d)| f64::from(n) / f64::from(d)),
        frames,
    }
}

/// BT.601 (T.871) YCbCr to RGB in 0..1.
fn yuv_to_rgb(y: u8, cb: u8, cr: u8, full_range: bool) -> [f32; 3] {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    let (y, cb, cr) = if full_range {
        (y, cb, cr)
    } else {
        (
            (y - 16.0) * 255.0 / 219.0,
            cb * 255.0 / 224.0,
            cr * 255.0 / 224.0,
        )
    };
    let r = y + 1.402 * cr;
    let g = y - 0.344_136 * cb - 0.714_136 * cr;
    let b = y + 1.772 * cb;
    [r, g, b].map(|v| (v / 255.0).clamp(0.0, 1.0))
}

/// Encodes RGB frames as a full-range `420jpeg` y4m file (chroma is the
/// average over each 2x2 block). A video without a frame rate gets `F0:0`.
pub fn encode_y4m(video: &Video) -> Vec<u8> {
    let (w, h) = (video.width as usize, video.height as usize);
    let colour = Y4mColour::C420Jpeg;
    let (cw, ch) = colour.chroma_size(video.width, video.height);
    let (cw, ch) = (cw as usize, ch as usize);
    let plane = w * h;
    let to8 = |v: f32| (v.clamp(0.0, 1.0) * 255.0) as f64;
    let frames = video
        .frames
        .iter()
        .map(|f| {
            let px = |i: usize| {
                [
                    to8(f.data[i]),
                    to8(f.data[plane + i]),
                    to8(f.data[2 * plane + i]),
                ]
            };
            let y = (0..plane)
                .map(|i| {
                    let [r, g, b] = px(i);
                    round8(0.299 * r + 0.587 * g + 0.114 * b)
                })
                .collect();
            let (mut u, mut v) = (Vec::with_capacity(cw * ch), Vec::with_capacity(cw * ch));
            for cy in 0..ch {
                for cx in 0..cw {
                    let mut sum = [0f64; 3];
                    let mut n = 0.0;
                    for row in (2 * cy)..(2 * cy + 2).min(h) {
                        for col in (2 * cx)..(2 * cx + 2).min(w) {
                            let p = px(row * w + col);
                            sum.iter_mut().zip(p).for_each(|(s, c)| *s += c);
                            n += 1.0;
                        }
                    }
                    let [r, g, b] = sum.map(|s| s / n);
                    u.push(round8(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b));
                    v.push(round8(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b));
                }
            }
            YuvFrame { y, u, v }
        })
        .collect();
    encode_y4m_yuv(&Y4m {
        width: video.width,
        height: video.height,
        fps: video.fps.map(fps_ratio),
        colour,
        full_range: true,
        frames,
    })
}

/// Writes raw planes as a y4m file.
pub fn encode_y4m_yuv(y4m: &Y4m) -> Vec<u8> {
    let (n, d) = y4m.fps.unwrap_or((0, 0));
    let range = if y4m.full_range { "FULL" } else { "LIMITED" };
    let mut out = format!(
        "{MAGIC} W{} H{} F{n}:{d} Ip A1:1 C{} XCOLORRANGE={range}\n",
        y4m.width,
        y4m.height,
        y4m.colour.tag()
    )
    .into_bytes();
    for f in &y4m.frames {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&f.y);
        out.extend_from_slice(&f.u);
        out.extend_from_slice(&f.v);
    }
    out
}

fn round8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// A frame rate as a ratio: whole numbers as `n:1`, others in thousandths
/// (reduced), so 23.976 becomes `2997:125`.
fn fps_ratio(fps: f64) -> (u32, u32) {
    if !(fps.is_finite() && fps > 0.0) {
        return (0, 0);
    }
    if fps.fract() == 0.0 {
        return (fps as u32, 1);
    }
    let (mut n, mut d) = ((fps * 1000.0).round() as u32, 1000u32);
    let g = gcd(n, d);
    n /= g;
    d /= g;
    (n, d)
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}
