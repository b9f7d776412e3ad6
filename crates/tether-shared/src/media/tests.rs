use std::path::Path;

use super::*;

/// A `w`x`h` gradient whose red channel slides 2 pixels per frame.
fn gradient(w: u32, h: u32, n: usize) -> Video {
    let (wu, hu) = (w as usize, h as usize);
    let plane = wu * hu;
    let frames = (0..n)
        .map(|t| {
            let mut data = vec![0f32; 3 * plane];
            for y in 0..hu {
                for x in 0..wu {
                    let i = y * wu + x;
                    data[i] = ((x + 2 * t) % wu) as f32 / wu as f32;
                    data[plane + i] = y as f32 / hu as f32;
                    data[2 * plane + i] = 0.5;
                }
            }
            Frame { data }
        })
        .collect();
    Video {
        width: w,
        height: h,
        fps: Some(16.0),
        frames,
    }
}

fn flat(w: u32, h: u32, v: f32) -> Frame {
    Frame {
        data: vec![v; 3 * (w * h) as usize],
    }
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    fs_err::write(&p, bytes).unwrap();
    p
}

/// Deterministic pseudo-random bytes.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 24) as u8
        })
        .collect()
}

#[test]
fn unknown_extension_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "out.gif", b"GIF89a");
    let err = decode(&p, dir.path()).unwrap_err();
    assert!(matches!(err, MediaError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("out.gif"));
}

#[test]
fn y4m_planes_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for colour in [Y4mColour::C420Jpeg, Y4mColour::C444, Y4mColour::Mono] {
        let (w, h) = (5, 3); // odd sizes: chroma planes round up
        let (cw, ch) = colour.chroma_size(w, h);
        let clen = (cw * ch) as usize;
        let frames = (0..3)
            .map(|t| YuvFrame {
                y: noise((w * h) as usize, t),
                u: noise(clen, 100 + t),
                v: noise(clen, 200 + t),
            })
            .collect();
        let y4m = Y4m {
            width: w,
            height: h,
            fps: Some((30000, 1001)),
            colour,
            full_range: true,
            frames,
        };
        let p = write(dir.path(), "planes.y4m", &encode_y4m_yuv(&y4m));
        assert_eq!(decode_y4m_yuv(&p).unwrap(), y4m, "{colour:?}");
    }
}

#[test]
fn y4m_rgb_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    // Colours constant over each 2x2 block, so 4:2:0 loses nothing but
    // rounding.
    let (w, h) = (4u32, 4u32);
    let plane = 16;
    let colours = [
        [0.9, 0.1, 0.2],
        [0.2, 0.8, 0.3],
        [0.1, 0.2, 0.7],
        [0.5, 0.5, 0.5],
    ];
    let mut data = vec![0f32; 3 * plane];
    for y in 0..4 {
        for x in 0..4 {
            let c = colours[(y / 2) * 2 + x / 2];
            for k in 0..3 {
                data[k * plane + y * 4 + x] = c[k];
            }
        }
    }
    let video = Video {
        width: w,
        height: h,
        fps: Some(24.0),
        frames: vec![Frame { data }, flat(w, h, 0.25)],
    };
    let p = write(dir.path(), "rgb.y4m", &encode_y4m(&video));
    let back = decode(&p, dir.path()).unwrap();
    assert_eq!((back.width, back.height, back.fps), (4, 4, Some(24.0)));
    assert_eq!(back.frames.len(), 2);
    for (a, b) in video.frames[0].data.iter().zip(&back.frames[0].data) {
        assert!((a - b).abs() <= 3.0 / 255.0, "{a} vs {b}");
    }
    // Grey has neutral chroma: within one 8-bit step.
    for (a, b) in video.frames[1].data.iter().zip(&back.frames[1].data) {
        assert!((a - b).abs() <= 1.0 / 255.0, "{a} vs {b}");
    }
    // No frame rate survives as none.
    let mut still = video.clone();
    still.fps = None;
    let p = write(dir.path(), "still.y4m", &encode_y4m(&still));
    assert_eq!(decode(&p, dir.path()).unwrap().fps, None);
}

#[test]
fn y4m_by_hand_with_frame_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes =
        b"YUV4MPEG2 W2 H2 F25:1 Ip A0:0 C444 XYSCSS=444\nFRAME Ixyz Xfoo=bar\n".to_vec();
    // Y, then Cb, then Cr for black, white, grey, red (T.871 values).
    bytes.extend_from_slice(&[0, 255, 128, 76, 128, 128, 128, 85, 128, 128, 128, 255]);
    bytes.extend_from_slice(b"FRAME\n");
    bytes.extend_from_slice(&[128; 12]);
    let p = write(dir.path(), "hand.y4m", &bytes);
    let v = decode(&p, dir.path()).unwrap();
    assert_eq!(
        (v.width, v.height, v.fps, v.frames.len()),
        (2, 2, Some(25.0), 2)
    );
    let px = |f: &Frame, i: usize| [f.data[i], f.data[4 + i], f.data[8 + i]];
    let close = |got: [f32; 3], want: [f32; 3]| {
        assert!(
            got.iter().zip(want).all(|(g, w)| (g - w).abs() < 0.01),
            "{got:?} vs {want:?}"
        )
    };
    close(px(&v.frames[0], 0), [0.0, 0.0, 0.0]);
    close(px(&v.frames[0], 1), [1.0, 1.0, 1.0]);
    close(px(&v.frames[0], 2), [128.0 / 255.0; 3]);
    close(px(&v.frames[0], 3), [1.0, 0.0, 0.0]);
    close(px(&v.frames[1], 0), [128.0 / 255.0; 3]);
}

#[test]
fn y4m_limited_range_and_mono() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"YUV4MPEG2 W3 H1 F16:1 Cmono XCOLORRANGE=LIMITED\nFRAME\n".to_vec();
    bytes.extend_from_slice(&[16, 235, 126]);
    let p = write(dir.path(), "mono.y4m", &bytes);
    let v = decode(&p, dir.path()).unwrap();
    let d = &v.frames[0].data;
    assert_eq!(d.len(), 9);
    assert!(d[0].abs() < 1e-6 && (d[1] - 1.0).abs() < 1e-6, "{d:?}");
    assert!((d[2] - 110.0 / 219.0).abs() < 1e-5, "{d:?}");
    assert_eq!(d[2], d[5]);
    assert_eq!(d[2], d[8]);
}

#[test]
fn y4m_truncated_reports_complete_frames() {
    let dir = tempfile::tempdir().unwrap();
    let full = encode_y4m(&gradient(8, 4, 3));
    let p = write(dir.path(), "cut.y4m", &full[..full.len() - 10]);
    match decode(&p, dir.path()).unwrap_err() {
        MediaError::Truncated { frames_ok, path } => {
            assert_eq!(frames_ok, 2);
            assert_eq!(path, p);
        }
        e => panic!("expected Truncated, got {e}"),
    }
    // A marker cut short after three whole frames.
    let mut more = full.clone();
    more.extend_from_slice(b"FRA");
    let p = write(dir.path(), "cut2.y4m", &more);
    let err = decode(&p, dir.path()).unwrap_err();
    assert!(
        matches!(err, MediaError::Truncated { frames_ok: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("3 complete frame"), "{err}");
    // Garbage after the frames is not truncation.
    let mut junk = full;
    junk.extend_from_slice(b"JUNK\n");
    let p = write(dir.path(), "junk.y4m", &junk);
    let err = decode(&p, dir.path()).unwrap_err();
    assert!(matches!(err, MediaError::Y4m { .. }), "{err}");
}

#[test]
fn y4m_zero_frames_and_bad_headers() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.y4m", b"YUV4MPEG2 W4 H2 F16:1\n");
    let v = decode(&p, dir.path()).unwrap();
    assert_eq!((v.width, v.height, v.frames.len()), (4, 2, 0));
    assert_eq!(
        kinds(&check(&v, &Expectation::default())),
        [FindingKind::NoFrames]
    );

    let p = write(dir.path(), "deep.y4m", b"YUV4MPEG2 W4 H2 C420p10\n");
    let err = decode(&p, dir.path()).unwrap_err();
    assert!(matches!(err, MediaError::UnsupportedColour { .. }), "{err}");
    assert!(err.to_string().contains("`420p10`"), "{err}");

    let p = write(dir.path(), "nowidth.y4m", b"YUV4MPEG2 H2\n");
    let err = decode(&p, dir.path()).unwrap_err();
    assert!(err.to_string().contains("no width"), "{err}");
}

fn write_png(
    path: &Path,
    w: u32,
    h: u32,
    colour: png::ColorType,
    depth: png::BitDepth,
    palette: Option<Vec<u8>>,
    data: &[u8],
) {
    let file = std::io::BufWriter::new(fs_err::File::create(path).unwrap());
    let mut enc = png::Encoder::new(file, w, h);
    enc.set_color(colour);
    enc.set_depth(depth);
    if let Some(p) = palette {
        enc.set_palette(p);
    }
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(data).unwrap();
    writer.finish().unwrap();
}

#[test]
fn png_rgb8_gray16_and_palette() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rgb.png");
    let rgb: Vec<u8> = (0..18).map(|i| (i * 14) as u8).collect();
    write_png(
        &p,
        3,
        2,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        None,
        &rgb,
    );
    let v = decode(&p, dir.path()).unwrap();
    assert_eq!((v.width, v.height, v.fps, v.frames.len()), (3, 2, None, 1));
    for i in 0..6 {
        for c in 0..3 {
            assert_eq!(v.frames[0].data[c * 6 + i], rgb[i * 3 + c] as f32 / 255.0);
        }
    }

    let p = dir.path().join("gray16.png");
    let gray: [u16; 4] = [0, 65535, 32768, 1000];
    let bytes: Vec<u8> = gray.iter().flat_map(|g| g.to_be_bytes()).collect();
    write_png(
        &p,
        2,
        2,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
        None,
        &bytes,
    );
    let v = decode(&p, dir.path()).unwrap();
    for (i, g) in gray.iter().enumerate() {
        for c in 0..3 {
            assert_eq!(v.frames[0].data[c * 4 + i], f32::from(*g) / 65535.0);
        }
    }

    let p = dir.path().join("pal.png");
    let palette = vec![255, 0, 0, 0, 0, 255];
    write_png(
        &p,
        2,
        1,
        png::ColorType::Indexed,
        png::BitDepth::Eight,
        Some(palette),
        &[1, 0],
    );
    let v = decode(&p, dir.path()).unwrap();
    assert_eq!(v.frames[0].data, [0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);

    let p = write(dir.path(), "bad.png", b"not a png");
    let err = decode(&p, dir.path()).unwrap_err();
    assert!(matches!(err, MediaError::Png { .. }), "{err}");
}

fn expect_gradient() -> Expectation {
    Expectation {
        frames: Some(6),
        width: Some(32),
        height: Some(16),
        fps: Some(16.0),
    }
}

#[test]
fn normal_video_has_no_findings() {
    let v = gradient(32, 16, 6);
    assert_eq!(check(&v, &expect_gradient()), []);
    let f = flicker(&v);
    assert_eq!(f.len(), 5);
    let s = stats(&v);
    assert!(s.mean_flicker > 0.01 && s.max_flicker < 0.25, "{s:?}");
    assert!((s.mean_luma - 0.47698).abs() < 1e-4, "{s:?}");
    // Within 1% of the frame rate is fine.
    let mut v2 = v.clone();
    v2.fps = Some(16.1);
    assert_eq!(check(&v2, &expect_gradient()), []);
}

#[test]
fn size_count_and_fps_findings() {
    let v = gradient(32, 16, 6);
    let e = Expectation {
        frames: Some(81),
        width: Some(832),
        height: Some(480),
        fps: Some(24.0),
    };
    let found = check(&v, &e);
    assert_eq!(
        kinds(&found),
        [
            FindingKind::FrameCount,
            FindingKind::Resolution,
            FindingKind::Fps
        ]
    );
    assert_eq!(found[0].message, "expected 81 frames, got 6");
    assert_eq!(found[0].severity, Severity::Fail);
    assert_eq!(found[1].message, "expected 832x480, got 32x16");
    assert_eq!(found[2].severity, Severity::Warn);
    assert!(found[2].message.contains("24"), "{}", found[2].message);

    let empty = Video {
        frames: Vec::new(),
        ..v
    };
    let found = check(&empty, &expect_gradient());
    assert_eq!(
        kinds(&found),
        [FindingKind::NoFrames, FindingKind::FrameCount]
    );
    assert_eq!(found[1].message, "expected 6 frames, got 0");
}

#[test]
fn content_findings() {
    // Non-finite values.
    let mut v = gradient(32, 16, 6);
    v.frames[1].data[0] = f32::NAN;
    v.frames[1].data[5] = f32::NAN;
    v.frames[4].data[7] = f32::INFINITY;
    let found = check(&v, &expect_gradient());
    assert_eq!(kinds(&found), [FindingKind::NonFinite]);
    assert!(
        found[0].message.starts_with("3 pixel values"),
        "{}",
        found[0].message
    );

    // Black (also constant and frozen).
    let mut v = gradient(32, 16, 6);
    v.frames = (0..6).map(|_| flat(32, 16, 0.01)).collect();
    let found = check(&v, &expect_gradient());
    assert_eq!(
        kinds(&found),
        [
            FindingKind::AllBlack,
            FindingKind::ConstantFrames,
            FindingKind::FrozenFrames
        ]
    );
    // Every frame flat and every pair frozen: each a failure of its own.
    assert!(found.iter().all(|f| f.severity == Severity::Fail));
    assert!(
        found[1].message.starts_with("6 of 6 frames"),
        "{}",
        found[1].message
    );
    assert!(
        found[2].message.starts_with("5 of 5"),
        "{}",
        found[2].message
    );
    // the frames that prove each: the brightest (all equal: the first), the
    // first flat one, the first frozen pair
    let frames: Vec<&[u32]> = found.iter().map(|f| f.frames.as_slice()).collect();
    assert_eq!(frames, [&[0][..], &[0], &[0, 1]]);
    // a black video's brightest frame is the one shown
    v.frames[3] = flat(32, 16, 0.015);
    let found = check(&v, &expect_gradient());
    assert_eq!(found[0].kind, FindingKind::AllBlack);
    assert_eq!(found[0].frames, [3]);

    // Two flat frames among moving ones.
    let mut v = gradient(32, 16, 6);
    v.frames[2] = flat(32, 16, 0.5);
    v.frames[4] = flat(32, 16, 0.5);
    let found = check(&v, &expect_gradient());
    assert_eq!(kinds(&found), [FindingKind::ConstantFrames]);
    assert_eq!(found[0].severity, Severity::Warn);
    assert!(
        found[0].message.contains("2 of 6 frames"),
        "{}",
        found[0].message
    );
    assert!(
        found[0].message.ends_with("first: 2, 4"),
        "{}",
        found[0].message
    );
    assert_eq!(found[0].frames, [2]);

    // One repeated frame.
    let mut v = gradient(32, 16, 6);
    v.frames[3] = v.frames[2].clone();
    let found = check(&v, &expect_gradient());
    assert_eq!(kinds(&found), [FindingKind::FrozenFrames]);
    assert_eq!(found[0].severity, Severity::Warn);
    assert!(
        found[0].message.starts_with("1 of 5") && found[0].message.ends_with("frame 2 -> 3"),
        "{}",
        found[0].message
    );
    assert_eq!(found[0].frames, [2, 3]);

    // Every other frame inverted.
    let mut v = gradient(32, 16, 6);
    for f in v.frames.iter_mut().skip(1).step_by(2) {
        f.data.iter_mut().for_each(|x| *x = 1.0 - *x);
    }
    let found = check(&v, &expect_gradient());
    assert_eq!(kinds(&found), [FindingKind::Flicker]);
    assert_eq!(found[0].severity, Severity::Warn);
    let [a, b] = found[0].frames[..] else {
        panic!("{:?}", found[0]);
    };
    assert_eq!(b, a + 1, "{:?}", found[0]);
    assert!(
        found[0]
            .message
            .contains(&format!("between frames {a} and {b}"))
    );
    assert!(stats(&v).max_flicker > 0.3, "{:?}", stats(&v));
}

#[test]
fn expectation_from_case_params() {
    let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        r#"{"video_length": 81, "resolution": "832x480", "fps": "16", "seed": 1}"#,
    )
    .unwrap();
    let e = expectation_from_params(&params, "video_length", "resolution");
    assert_eq!(
        e,
        Expectation {
            frames: Some(81),
            width: Some(832),
            height: Some(480),
            fps: Some(16.0),
        }
    );
    let params: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"frames": "65", "size": "bad"}"#).unwrap();
    let e = expectation_from_params(&params, "frames", "size");
    assert_eq!(
        e,
        Expectation {
            frames: Some(65),
            ..Expectation::default()
        }
    );
}

#[test]
fn ffmpeg_missing_from_path_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "out.mp4", b"not really");
    let empty = tempfile::tempdir().unwrap();
    let err = ffmpeg::decode_with_path(&p, &dir.path().join("logs"), empty.path().as_os_str())
        .unwrap_err();
    assert!(matches!(err, MediaError::FfmpegNotFound { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("ffmpeg not found: install ffmpeg to decode mp4 outputs"),
        "{err}"
    );
}

/// With the real `PATH`: a correct decode when ffmpeg is installed, the
/// not-found error when it is not.
#[test]
fn ffmpeg_decode_or_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let search = crate::env::var_os(crate::env::PATH).unwrap_or_default();
    let p = dir.path().join("out.mkv");
    let have = ffmpeg::find_on_path("ffmpeg", &search).is_some()
        && ffmpeg::find_on_path("ffprobe", &search).is_some();
    if !have {
        fs_err::write(&p, b"not really").unwrap();
        let err = decode(&p, &logs).unwrap_err();
        assert!(matches!(err, MediaError::FfmpegNotFound { .. }), "{err}");
        return;
    }
    // Lossless RGB video made by ffmpeg from known raw frames.
    let (w, h, n) = (8usize, 6usize, 3usize);
    let raw = noise(w * h * 3 * n, 7);
    let raw_in = write(dir.path(), "in.rgb", &raw);
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
        ])
        .args(["-s", "8x6", "-r", "10", "-i"])
        .arg(&raw_in)
        .args(["-c:v", "ffv1", "-pix_fmt", "bgr0"])
        .arg(&p)
        .status()
        .unwrap();
    assert!(status.success());
    let v = decode(&p, &logs).unwrap();
    assert_eq!(
        (v.width, v.height, v.fps, v.frames.len()),
        (8, 6, Some(10.0), 3)
    );
    let plane = w * h;
    for (t, f) in v.frames.iter().enumerate() {
        for i in 0..plane {
            for c in 0..3 {
                let want = f32::from(raw[t * plane * 3 + i * 3 + c]) / 255.0;
                assert_eq!(
                    f.data[c * plane + i],
                    want,
                    "frame {t} pixel {i} channel {c}"
                );
            }
        }
    }
    assert!(logs.join("out.mkv.ffprobe.stdout.log").is_file());
    assert!(!logs.join("out.mkv.rgb").exists(), "raw output is removed");

    // A file ffmpeg cannot read is an Ffmpeg error naming the tool.
    let bad = write(dir.path(), "bad.mp4", b"not a video");
    let err = decode(&bad, &logs).unwrap_err();
    assert!(matches!(err, MediaError::Ffmpeg { .. }), "{err}");
    assert!(err.to_string().contains("ffprobe"), "{err}");
}
