//! Whole-file gunzip. The published `.gz` files are read whole anyway, so libdeflate, which
//! inflates a buffer into a buffer, replaces zlib-rs's streaming decoder: about half the CPU on
//! the national files (20.6 MB of text: 50-60 ms → 25-30 ms on the 2-core machines).
//!
//! libdeflate inflates one gzip member into a buffer of known size, and ignores what follows
//! it. A file of several members (`cat a.gz b.gz`, which `gunzip` reads whole) or whose size is
//! not its trailer's (over 4 GiB) is therefore inflated by flate2's multi-member decoder, which
//! also names the fault of a damaged stream.

use std::io::Read;
use std::path::Path;
use std::ptr::NonNull;

use crate::error::{Error, Location, Result};

/// The text of `gz`, the bytes of the gzip file `path`.
pub fn gunzip(path: &Path, gz: &[u8]) -> Result<Vec<u8>> {
    // A cut or corrupt gzip stream is bad input (exit 2), not an I/O failure.
    inflate(gz).map_err(|e| {
        Error::data(Location::file(path), format!("gzip stream cut short or corrupt ({e}); download the file again"))
    })
}

/// The text of the gzip bytes `gz`, or flate2's account of what is wrong with them.
pub fn inflate(gz: &[u8]) -> std::io::Result<Vec<u8>> {
    // The trailer's size (mod 2^32) of the last member. Only a hint when the file is damaged or has
    // several members, so bounded by what deflate can reach (1032:1).
    let hint = gz.len().checked_sub(4).map_or(0, |i| u32::from_le_bytes(gz[i..].try_into().expect("4 bytes")));
    let hint = (hint as usize).min(gz.len().saturating_mul(1032));
    let mut out = vec![0u8; hint];
    if let Some(n) = Inflater::new().and_then(|mut i| i.whole_single_member(gz, &mut out)) {
        out.truncate(n);
        return Ok(out);
    }
    out.clear();
    flate2::bufread::MultiGzDecoder::new(gz).read_to_end(&mut out)?;
    Ok(out)
}

/// A libdeflate decompressor, freed on drop.
struct Inflater(NonNull<libdeflate_sys::libdeflate_decompressor>);

impl Inflater {
    fn new() -> Option<Self> {
        // SAFETY: takes no pointer; returns null when out of memory.
        NonNull::new(unsafe { libdeflate_sys::libdeflate_alloc_decompressor() }).map(Inflater)
    }

    /// The length inflated into `out` when `gz` is exactly one valid gzip member (CRC and size
    /// checked by libdeflate) whose text fits `out`; `None` otherwise.
    fn whole_single_member(&mut self, gz: &[u8], out: &mut [u8]) -> Option<usize> {
        let (mut read, mut written) = (0usize, 0usize);
        // SAFETY: the decompressor is live; `gz` and `out` are valid for their lengths, and
        // libdeflate writes only within `out` and to the two counters.
        let result = unsafe {
            libdeflate_sys::libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                gz.as_ptr().cast(),
                gz.len(),
                out.as_mut_ptr().cast(),
                out.len(),
                &mut read,
                &mut written,
            )
        };
        (result == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS && read == gz.len()).then_some(written)
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: allocated by `libdeflate_alloc_decompressor`, freed once.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(text: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n).flat_map(|i| format!("{:05};commune {i};{}\n", i % 99_999, i * 7 % 1000).into_bytes()).collect()
    }

    #[test]
    fn one_member_inflates_to_its_text_on_the_fast_path() {
        let t = text(5000);
        let g = gz(&t);
        let mut out = vec![0u8; t.len()];
        assert_eq!(Inflater::new().unwrap().whole_single_member(&g, &mut out), Some(t.len()));
        assert_eq!(out, t);
        assert_eq!(gunzip(Path::new("x.csv.gz"), &g).unwrap(), t);
        // An empty text is a valid member too.
        assert_eq!(gunzip(Path::new("x.csv.gz"), &gz(b"")).unwrap(), b"");
    }

    #[test]
    fn every_member_of_a_concatenated_file_is_read() {
        let (a, b) = (text(3000), b"99999;last line;1\n".to_vec());
        let mut g = gz(&a);
        g.extend(gz(&b));
        // libdeflate alone stops after the first member: the fast path must decline.
        let mut out = vec![0u8; a.len() + b.len()];
        assert_eq!(Inflater::new().unwrap().whole_single_member(&g, &mut out), None);
        assert_eq!(gunzip(Path::new("x.csv.gz"), &g).unwrap(), [a, b].concat());
    }

    #[test]
    fn a_cut_or_altered_stream_is_an_error_naming_the_file() {
        let g = gz(&text(3000));
        let cut = &g[..g.len() / 2];
        let altered = {
            let mut g = g.clone();
            let i = g.len() / 2;
            g[i] ^= 0x55;
            g
        };
        for bad in [cut, &altered[..], &g[..g.len() - 4]] {
            let e = gunzip(Path::new("data/apl.csv.gz"), bad).unwrap_err().to_string();
            assert!(e.contains("data/apl.csv.gz") && e.contains("gzip stream cut short or corrupt"), "{e}");
        }
    }
}
