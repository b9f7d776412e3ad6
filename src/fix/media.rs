//! Sample media tether writes itself: a YUV4MPEG2 video and an uncompressed
//! PNG (stored deflate blocks), with their CRC-32 and Adler-32 checksums.

/// A gray YUV4MPEG2 (4:2:0) video, `frames` frames of `width`x`height`, with a
/// little motion (a moving bright bar) so it is not entirely static.
pub fn y4m(width: u32, height: u32, frames: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let luma = w * h;
    let chroma = w.div_ceil(2) * h.div_ceil(2);
    let header = format!("YUV4MPEG2 W{width} H{height} F16:1 Ip A1:1 C420jpeg\n");
    let mut out = Vec::with_capacity(header.len() + frames as usize * (6 + luma + 2 * chroma));
    out.extend_from_slice(header.as_bytes());
    for f in 0..frames as usize {
        out.extend_from_slice(b"FRAME\n");
        let bar = if w == 0 { 0 } else { (f * 8) % w };
        for _y in 0..h {
            for x in 0..w {
                out.push(if x.abs_diff(bar) < 8 { 235 } else { 96 });
            }
        }
        out.extend(std::iter::repeat_n(128u8, 2 * chroma));
    }
    out
}

/// A valid RGB PNG of `width`x`height`, a soft gray gradient, stored
/// without compression.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut raw = Vec::with_capacity(h * (1 + 3 * w));
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            let v = 64 + ((x + y) * 128 / (w + h).max(1)) as u8;
            raw.extend_from_slice(&[v, v, v]);
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// CRC-32 (IEEE 802.3, reflected, as PNG and zip use it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// Adler-32 (RFC 1950).
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(adler32(b""), 1);
        // Long input exercises the modulo.
        let big = vec![0xffu8; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &big {
            a = (a + u64::from(x)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(adler32(&big), ((b << 16) | a) as u32);
    }

    #[test]
    fn y4m_layout() {
        let v = y4m(32, 16, 3);
        let header = b"YUV4MPEG2 W32 H16 F16:1 Ip A1:1 C420jpeg\n";
        assert!(v.starts_with(header));
        let frame = 6 + 32 * 16 * 3 / 2;
        assert_eq!(v.len(), header.len() + 3 * frame);
        assert_eq!(&v[header.len()..header.len() + 6], b"FRAME\n");
        assert_eq!(
            &v[header.len() + frame..header.len() + frame + 6],
            b"FRAME\n"
        );
    }

    #[test]
    fn png_is_structurally_valid() {
        let p = png(300, 250); // > 65535 raw bytes: several stored blocks
        assert!(p.starts_with(b"\x89PNG\r\n\x1a\n"));
        // Walk the chunks and check every CRC.
        let mut i = 8;
        let mut kinds = Vec::new();
        let mut idat = Vec::new();
        while i < p.len() {
            let len = u32::from_be_bytes(p[i..i + 4].try_into().unwrap()) as usize;
            let kind = &p[i + 4..i + 8];
            let data = &p[i + 8..i + 8 + len];
            let crc = u32::from_be_bytes(p[i + 8 + len..i + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&p[i + 4..i + 8 + len]));
            kinds.push(String::from_utf8_lossy(kind).into_owned());
            if kind == b"IDAT" {
                idat.extend_from_slice(data);
            }
            i += 12 + len;
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        // Inflate the stored blocks by hand and check the Adler-32.
        assert_eq!(idat[0] & 0x0f, 8);
        assert_eq!((u16::from(idat[0]) << 8 | u16::from(idat[1])) % 31, 0);
        let mut j = 2;
        let mut raw = Vec::new();
        loop {
            let last = idat[j] & 1;
            assert_eq!(idat[j] >> 1, 0, "stored block");
            let len = u16::from_le_bytes([idat[j + 1], idat[j + 2]]) as usize;
            let nlen = u16::from_le_bytes([idat[j + 3], idat[j + 4]]);
            assert_eq!(!(len as u16), nlen);
            raw.extend_from_slice(&idat[j + 5..j + 5 + len]);
            j += 5 + len;
            if last == 1 {
                break;
            }
        }
        assert_eq!(raw.len(), 250 * (1 + 300 * 3));
        let adler = u32::from_be_bytes(idat[j..j + 4].try_into().unwrap());
        assert_eq!(adler, adler32(&raw));
        assert_eq!(j + 4, idat.len());
    }
}
