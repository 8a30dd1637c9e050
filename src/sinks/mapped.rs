//! The curated table's mapped copy: the frame of `communes.parquet` again, as an uncompressed
//! Arrow IPC file that the commands map instead of decoding the Parquet.
//!
//! Decoding the Parquet (LZ4, then pages into fresh memory) was a third of `batch --level epci`:
//! ~40 MB of new pages that the kernel zeroes, maps and frees again at exit (docs/performance.md,
//! batch, "Seventh pass"). Mapped, the columns are the page cache's pages: nothing to decompress,
//! no fresh memory, and a run after a pause finds them still in memory.
//!
//! The copy is named by an xxh3 hash of the Parquet's bytes and of its own
//! (`communes-<16 hex>.arrow`), and read only if the two files still hash to its name:
//! - a Parquet rewritten by another binary, copied from elsewhere or restored from a backup does
//!   not match, and is decoded: a copy can be stale, never used with another table;
//! - a copy damaged on disk, or cut short by a crash (it is not synced), does not match either,
//!   so polars, which maps the text views as they are, only ever maps the bytes `build` wrote.
//!   Hashing both files costs ~3.5 ms of an EPCI batch's ~33, bound by reading 35 MB of mapped
//!   pages; checking every view of the 31 text columns instead took 4.6-7.7 ms and said nothing
//!   of the numbers.
//!
//! The Parquet stays the table for notebooks and other tools; `build` writes both.

use std::path::{Path, PathBuf};

use polars::prelude::{CompatLevel, DataFrame};
use polars_arrow::array::{Array, Utf8ViewArray, View};
use polars_arrow::io::write_owned::WriteBytesOwned;
use polars_buffer::Buffer;
use xxhash_rust::xxh3::{xxh3_64, Xxh3Default};

use crate::atomic::{self, Staged};
use crate::error::{Error, Location, Result};

fn stem(parquet: &Path) -> String {
    parquet.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The name of a copy whose bytes hash to `copy`, beside a Parquet whose bytes hash to `parquet`.
fn name_of(path: &Path, parquet: u64, copy: u64) -> String {
    let mut both = [0u8; 16];
    both[..8].copy_from_slice(&parquet.to_le_bytes());
    both[8..].copy_from_slice(&copy.to_le_bytes());
    format!("{}-{:016x}.arrow", stem(path), xxh3_64(&both))
}

const BLOCK: usize = 4 << 20;

/// The hash of each file: xxh3 of every 4 MiB block, on two threads, then of the file's length
/// and its blocks' hashes: 3.6 ms for the two files in the phase timers, 4.0 ms on one thread.
fn content_hashes(files: &[&[u8]]) -> Vec<u64> {
    let blocks: Vec<&[u8]> = files.iter().flat_map(|f| f.chunks(BLOCK)).collect();
    let mut hashes = vec![0u64; blocks.len()];
    let half = blocks.len() / 2;
    let (first, second) = hashes.split_at_mut(half);
    let hash_into = |out: &mut [u64], from: &[&[u8]]| out.iter_mut().zip(from).for_each(|(h, b)| *h = xxh3_64(b));
    std::thread::scope(|s| {
        if half > 0 {
            s.spawn(|| hash_into(first, &blocks[..half]));
        }
        hash_into(second, &blocks[half..]);
    });
    let mut hashes = hashes.into_iter();
    files.iter().map(|f| combine(f.len(), hashes.by_ref().take(f.len().div_ceil(BLOCK)))).collect()
}

fn combine(len: usize, blocks: impl Iterator<Item = u64>) -> u64 {
    let mut all: Vec<u8> = (len as u64).to_le_bytes().to_vec();
    blocks.for_each(|h| all.extend_from_slice(&h.to_le_bytes()));
    xxh3_64(&all)
}

/// [`content_hashes`] of the bytes written through it: `build` names its copy without mapping
/// it back (35 MB more of resident pages, over 200 MiB at its peak).
struct BlockHasher<W> {
    inner: W,
    block: Xxh3Default,
    in_block: usize,
    len: usize,
    blocks: Vec<u64>,
}

impl<W: std::io::Write> BlockHasher<W> {
    fn new(inner: W) -> Self {
        BlockHasher { inner, block: Xxh3Default::new(), in_block: 0, len: 0, blocks: Vec::new() }
    }

    fn finish(mut self) -> u64 {
        if self.in_block > 0 {
            self.blocks.push(self.block.digest());
        }
        combine(self.len, self.blocks.into_iter())
    }
}

impl<W: std::io::Write> std::io::Write for BlockHasher<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let take = rest.len().min(BLOCK - self.in_block);
            self.block.update(&rest[..take]);
            self.in_block += take;
            rest = &rest[take..];
            if self.in_block == BLOCK {
                self.blocks.push(self.block.digest());
                self.block.reset();
                self.in_block = 0;
            }
        }
        self.len += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The copies beside `parquet`, whatever table they were written with.
fn copies(parquet: &Path) -> Vec<PathBuf> {
    let dir = parquet.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let prefix = format!("{}-", stem(parquet));
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix(&prefix)
                .and_then(|h| h.strip_suffix(".arrow"))
                .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// The whole of a file, mapped read-only.
fn map(path: &Path, file: &std::fs::File) -> Result<memmap2::Mmap> {
    // SAFETY: read-only; `build` replaces these files by rename, never in place.
    unsafe { memmap2::Mmap::map(file) }.map_err(|e| Error::io(path, e))
}

/// The copy of `df`, written under a temporary name; [`commit`] names it once the Parquet is
/// written, with the hash of its bytes. Not synced: a copy cut short by a crash does not hash to
/// its name and is not used.
pub fn stage(parquet: &Path, df: &DataFrame) -> Result<(Staged, u64)> {
    // The earlier copies go first, on this thread: freeing a 35 MB file's pages took 5-15 ms when
    // the rename replaced it at the end of `build`.
    remove_copies(parquet)?;
    let compact = compact_texts(df)?;
    let path = parquet.with_extension("arrow");
    let mut hash = 0;
    let staged = atomic::staged_write_unsynced(&path, |f| {
        let mut w = BlockHasher::new(f);
        write_ipc(&mut w, &compact, &path)?;
        hash = w.finish();
        Ok(())
    })?;
    Ok((staged, hash))
}

/// Put the staged copy in place under the name of the written Parquet's bytes and its own.
pub fn commit((staged, copy): (Staged, u64), parquet: &Path) -> Result<PathBuf> {
    let file = std::fs::File::open(parquet).map_err(|e| Error::io(parquet, e))?;
    let table = content_hashes(&[&map(parquet, &file)?])[0];
    let path = parquet.with_file_name(name_of(parquet, table, copy));
    staged.commit_as(&path)?;
    Ok(path)
}

/// The bytes of one part of the file, held as the columns' own buffers where they can be.
#[derive(Default)]
struct Pieces {
    parts: Vec<Buffer<u8>>,
    len: usize,
}

impl WriteBytesOwned for Pieces {
    fn write_all_owned(&mut self, bytes: &Buffer<u8>) -> std::io::Result<()> {
        self.push(bytes.clone());
        Ok(())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.push(Buffer::from(bytes.to_vec()));
        Ok(())
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl Pieces {
    fn push(&mut self, bytes: Buffer<u8>) {
        self.len += bytes.len();
        self.parts.push(bytes);
    }

    fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        self.parts.iter().try_for_each(|p| w.write_all(p))
    }
}

/// `df` as an Arrow IPC file of one record batch, uncompressed. polars' `IpcWriter` first copies
/// every column into one buffer the size of the file (35 MB more at `build`'s peak, which then
/// went over 200 MiB); here each column's buffers are written from where they are, the layout of
/// polars' own streaming IPC sink (`write2`).
fn write_ipc(w: &mut impl std::io::Write, df: &DataFrame, path: &Path) -> Result<()> {
    use polars_arrow::io::ipc::write::schema::serialize_schema;
    use polars_arrow::io::ipc::write::{arrow_ipc_block, default_ipc_fields};
    use polars_arrow::io::ipc::write2::array::{write_array, IpcBatchSerializationContext};
    use polars_arrow::io::ipc::write2::footer::serialize_ipc_footer_and_magic_bytes;
    use polars_arrow::io::ipc::write2::message::{finish_encode_ipc_record_batch, finish_ipc_message_bytes};
    use polars_arrow::io::ipc::write2::schema::serialize_ipc_schema_message_bytes;
    use polars_arrow::io::ipc::ARROW_MAGIC_V2_PADDED;

    let level = CompatLevel::newest();
    let schema = polars::io::schema_to_arrow_checked(df.schema(), level, "ipc")?;
    let ipc_schema = Box::new(serialize_schema(&schema, &default_ipc_fields(schema.iter_values()), None));
    let mut head = Pieces::default();
    head.push(Buffer::from_static(&ARROW_MAGIC_V2_PADDED));
    let mut message = Pieces::default();
    message.push(serialize_ipc_schema_message_bytes(ipc_schema.clone()));
    let continuation = finish_ipc_message_bytes(&mut message)?;
    head.push(Buffer::from(continuation));
    message.parts.into_iter().for_each(|p| head.push(p));

    let mut message = Pieces::default();
    let mut body = Pieces::default();
    let continuation = {
        let mut ctx = IpcBatchSerializationContext::new(&mut message, &mut body, None);
        // One record batch: the reader maps each column as one chunk.
        for array in df.rechunk_to_arrow(level) {
            write_array(&mut ctx, array.as_ref())?;
        }
        finish_encode_ipc_record_batch(&mut ctx, df.height(), None)?
    };
    let block = arrow_ipc_block(head.len, continuation.len() + message.len, body.len);
    let mut tail = Pieces::default();
    serialize_ipc_footer_and_magic_bytes(&mut tail, ipc_schema, vec![], vec![block], None)?;

    head.push(Buffer::from(continuation));
    for part in [head, message, body, tail] {
        part.write_to(w).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// Remove every copy beside `parquet`.
fn remove_copies(parquet: &Path) -> Result<()> {
    for p in copies(parquet) {
        std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

/// The frame of the one record batch of an IPC file, its columns in `bytes`.
fn frame_of(bytes: std::sync::Arc<memmap2::Mmap>) -> polars::prelude::PolarsResult<DataFrame> {
    use polars_arrow::io::ipc::read::read_file_metadata;
    use polars_arrow::mmap::{mmap_dictionaries_unchecked, mmap_unchecked};
    let metadata = read_file_metadata(&mut std::io::Cursor::new(&bytes[..]))?;
    if metadata.blocks.len() != 1 {
        polars::prelude::polars_bail!(ComputeError: "{} record batches, not one", metadata.blocks.len());
    }
    // SAFETY: the bytes hash to the name `build` gave the file it wrote, a valid IPC file; polars
    // still checks that every buffer lies within them.
    let batch = unsafe {
        let dictionaries = mmap_dictionaries_unchecked(&metadata, bytes.clone())?;
        mmap_unchecked(&metadata, &dictionaries, bytes, 0)?
    };
    Ok(DataFrame::from(batch))
}

/// The frame of `parquet` from its mapped copy; `None` when there is no copy. A copy that does
/// not hash to its name with this Parquet is an error that names it (the caller decodes the
/// Parquet instead).
pub fn read(parquet: &Path) -> Result<Option<DataFrame>> {
    let candidates = copies(parquet);
    if candidates.is_empty() {
        return Ok(None);
    }
    let file = std::fs::File::open(parquet).map_err(|e| Error::io(parquet, e))?;
    let table = map(parquet, &file)?;
    for path in &candidates {
        let copy = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // Hashed through a mapping of its own, unmapped after: the frame's mapping then holds only
        // the pages a command reads, where one mapping for both held all 35 MB resident.
        let hashes = content_hashes(&[&table, &map(path, &copy)?]);
        let name = name_of(parquet, hashes[0], hashes[1]);
        if path.file_name().is_some_and(|n| n.to_string_lossy() == name) {
            // The handle just hashed: a rename since cannot put other bytes under it.
            return frame_of(std::sync::Arc::new(map(path, &copy)?))
                .map(Some)
                .map_err(|e| Error::data(Location::file(path), format!("not a readable mapped copy ({e})")));
        }
    }
    Err(Error::data(
        Location::file(&candidates[0]),
        format!(
            "not the mapped copy of {}: written with another table, or damaged; run `cpts-diag build` again",
            parquet.display()
        ),
    ))
}

const WASTE_WORTH_COMPACTING: usize = 1 << 20;

/// `df` with each text column's long texts stored once. The staged tables share buffers between
/// columns and repeat one reason on every row: written as they are, the copy was 75 MB; compacted,
/// equal texts share one place, which keeps equal cells' views equal (as `indicators` expects).
fn compact_texts(df: &DataFrame) -> Result<DataFrame> {
    let columns = df
        .columns()
        .iter()
        .map(|c| -> Result<polars::prelude::Column> {
            let Ok(ca) = c.str() else {
                return Ok(c.clone());
            };
            // Compacting makes new views for every row: only for the buffers worth it.
            if ca.downcast_iter().map(|a| a.total_buffer_len()).sum::<usize>() <= WASTE_WORTH_COMPACTING {
                return Ok(c.clone());
            }
            let chunks: Vec<Box<dyn Array>> =
                ca.downcast_iter().map(|a| Box::new(compact(a)) as Box<dyn Array>).collect();
            // SAFETY: the chunks are the column's own arrays, texts unchanged.
            let s = unsafe {
                polars::prelude::Series::from_chunks_and_dtype_unchecked(c.name().clone(), chunks, c.dtype())
            };
            Ok(s.into())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DataFrame::new(df.height(), columns)?)
}

/// One text array with each distinct long text once in a single buffer; null cells get an empty
/// view.
fn compact(arr: &Utf8ViewArray) -> Utf8ViewArray {
    let buffers = arr.data_buffers();
    let mut bytes: Vec<u8> = Vec::new();
    let mut at: std::collections::HashMap<&[u8], u32> = std::collections::HashMap::new();
    let mut views: Vec<View> = Vec::with_capacity(arr.len());
    let mut previous: Option<(View, View)> = None;
    for (k, v) in arr.views().iter().enumerate() {
        if arr.is_null(k) {
            views.push(View::default());
        } else if v.length <= View::MAX_INLINE_SIZE {
            views.push(*v);
        } else if let Some((from, to)) = previous.filter(|(from, _)| from == v) {
            // Runs of one reason: the same view again, no lookup.
            debug_assert_eq!(from, *v);
            views.push(to);
        } else {
            // SAFETY: a valid array's views lie within its buffers.
            let text = unsafe { v.get_slice_unchecked(buffers) };
            let offset = *at.entry(text).or_insert_with(|| {
                let o = bytes.len() as u32;
                bytes.extend_from_slice(text);
                o
            });
            let to = View { buffer_idx: 0, offset, ..*v };
            previous = Some((*v, to));
            views.push(to);
        }
    }
    let data: Vec<Buffer<u8>> = if bytes.is_empty() { Vec::new() } else { vec![Buffer::from(bytes)] };
    // SAFETY: every long view points into `data` at a copy of its own text; the others are inline.
    unsafe {
        Utf8ViewArray::new_unchecked_unknown_md(
            arr.dtype().clone(),
            Buffer::from(views),
            Buffer::from(data),
            arr.validity().cloned(),
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    use super::*;

    fn texts(values: &[Option<&str>]) -> Column {
        Column::new("t".into(), values)
    }

    #[test]
    fn bytes_hashed_as_written_hash_as_the_file_read_back() {
        use std::io::Write;
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + BLOCK / 2] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut w = BlockHasher::new(Vec::new());
            // Pieces of uneven sizes, some across a block's end.
            for piece in bytes.chunks(1_000_003) {
                w.write_all(piece).unwrap();
            }
            assert_eq!(w.inner, bytes);
            assert_eq!(w.finish(), content_hashes(&[&bytes])[0], "{len} bytes");
        }
        // Files hashed together hash as each alone.
        let (a, b) = (vec![1u8; BLOCK + 5], vec![2u8; 3]);
        assert_eq!(content_hashes(&[&a, &b]), [content_hashes(&[&a])[0], content_hashes(&[&b])[0]]);
        assert_ne!(content_hashes(&[&a])[0], content_hashes(&[&a[..BLOCK]])[0]);
    }

    #[test]
    fn compacted_texts_are_equal_and_stored_once() {
        let long = "a reason long enough not to be inlined in its view";
        let other = "another text that is longer than twelve bytes";
        // 40 000 rows, each long text a copy of its own: ~1.6 MB of buffers, worth compacting.
        let values: Vec<Option<&str>> = (0..40_000)
            .map(|i| match i % 5 {
                0 => None,
                1 => Some("short"),
                3 => Some(other),
                _ => Some(long),
            })
            .collect();
        // Two chunks, the second slicing the first's buffers, as staged frames do.
        let mut t = texts(&values);
        t.append(&texts(&values).slice(100, 200)).unwrap();
        let small = Column::new("small".into(), &[Some(long), None, Some("x"), Some(long)].repeat(10_050));
        let df =
            DataFrame::new(40_200, vec![t, small.clone(), Column::new("n".into(), (0..40_200).collect::<Vec<i64>>())])
                .unwrap();
        let out = compact_texts(&df).unwrap();
        assert!(out.equals_missing(&df));
        let held = |name: &str| -> usize {
            out.column(name).unwrap().str().unwrap().downcast_iter().map(|a| a.total_buffer_len()).sum()
        };
        // Each chunk holds its two long texts once.
        assert_eq!(held("t"), 2 * (long.len() + other.len()));
        // A column whose buffers are small is written as it is.
        assert_eq!(held("small"), small.str().unwrap().downcast_iter().map(|a| a.total_buffer_len()).sum::<usize>());
        // Equal cells have equal views.
        let arr = out.column("t").unwrap().str().unwrap().downcast_iter().next().unwrap().clone();
        assert_eq!(arr.views()[2], arr.views()[4]);
        assert_eq!(arr.views()[7], arr.views()[2]);
        assert_ne!(arr.views()[3], arr.views()[2]);
    }

    #[test]
    fn a_copy_is_read_only_with_the_parquet_it_was_written_with_and_as_written() {
        let dir = std::env::temp_dir().join(format!("cpts-mapped-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let parquet = dir.join("communes.parquet");
        let df = df!("code" => ["28085", "28001"], "note" => [Some("a note that is long enough to be stored"), None], "v" => [1.5, 2.0]).unwrap();
        std::fs::write(&parquet, b"the bytes of a first table").unwrap();
        assert!(read(&parquet).unwrap().is_none(), "no copy yet");
        let copy = commit(stage(&parquet, &df).unwrap(), &parquet).unwrap();
        let written = std::fs::read(&copy).unwrap();
        let hash = |b: &[u8]| content_hashes(&[b])[0];
        assert_eq!(
            copy.file_name().unwrap().to_string_lossy(),
            name_of(&parquet, hash(b"the bytes of a first table"), hash(&written))
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "the Parquet and its copy, no staged file");
        assert!(read(&parquet).unwrap().unwrap().equals_missing(&df));

        // Another Parquet: the copy is not its own; the next copy replaces it.
        std::fs::write(&parquet, b"the bytes of another table").unwrap();
        let e = read(&parquet).unwrap_err().to_string();
        assert!(e.contains(&copy.display().to_string()) && e.contains("another table"), "{e}");
        let second = commit(stage(&parquet, &df).unwrap(), &parquet).unwrap();
        assert!(second.exists() && !copy.exists());
        assert!(read(&parquet).unwrap().unwrap().equals_missing(&df));

        // One byte changed in the copy: an error naming it, never a frame from those bytes.
        let mut bytes = std::fs::read(&second).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&second, &bytes).unwrap();
        let e = read(&parquet).unwrap_err().to_string();
        assert!(e.contains(&second.display().to_string()), "{e}");
        remove_copies(&parquet).unwrap();
        assert!(!second.exists() && parquet.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
