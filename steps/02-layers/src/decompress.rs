//! Layer blobs come gzip-compressed, zstd-compressed or as a plain tar.
//!
//! The manifest's media type says which, but registries and build tools get
//! it wrong often enough that every serious client looks at the bytes
//! instead: each compression format starts with a fixed "magic number", and
//! a tar stream starts with a file name.

use std::io::{self, BufRead, Cursor, Read};

use flate2::bufread::MultiGzDecoder;

// ANCHOR: magic
/// The first bytes of a gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The first bytes of a zstd frame (RFC 8878): 0xFD2FB528, little-endian.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// How many leading bytes [`Compression::detect`] needs to decide.
pub const MAGIC_LEN: usize = ZSTD_MAGIC.len();
// ANCHOR_END: magic

/// How a layer blob is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    /// A plain tar stream.
    None,
}

impl Compression {
    // ANCHOR: detect_compression
    /// The compression of a blob that starts with `magic` (its first
    /// [`MAGIC_LEN`] bytes, or fewer if the blob is shorter).
    pub fn detect(magic: &[u8]) -> Compression {
        // EXERCISE(detect-compression): Tell gzip, zstd and plain tar apart by their first bytes.
        // gzip starts with `1f 8b` and zstd with `28 b5 2f fd` (the constants
        // GZIP_MAGIC and ZSTD_MAGIC above); anything else is taken to be a
        // plain tar. `magic` may be shorter than four bytes: an empty layer
        // is a valid (empty) plain tar. See book/src/step-02-layers.md#compression.
        // HINT: Never index the first four bytes: the slice may be shorter, even empty. Ask whether
        // it begins with each magic number instead.
        // HINT+: `<[u8]>::starts_with` with `GZIP_MAGIC`, then with `ZSTD_MAGIC`, is simply false
        // for a slice that is too short (two bytes `28 b5` are not zstd). What matches neither, an
        // empty layer included, is a plain tar: `Compression::None`.
        if magic.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if magic.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
        // END EXERCISE
    }
    // ANCHOR_END: detect_compression
}

/// The tar stream inside a layer blob, decompressed as it is read.
///
/// The magic bytes are read off `blob` and put back in front of it, so the
/// decoder (or the tar reader) sees the whole blob. A single `fill_buf` is
/// not enough to peek: a reader may hand out fewer than four bytes at a
/// time, and then a zstd layer would pass for a plain tar.
///
/// gzip is decoded as *multi-member*: `pigz` and some registries write a
/// layer as several gzip members one after the other, and a single-member
/// decoder would stop quietly after the first, losing the rest of the tar.
// ANCHOR: decompress
pub fn decompress<'a>(mut blob: impl BufRead + Send + 'a) -> io::Result<Box<dyn Read + Send + 'a>> {
    let mut magic = Vec::with_capacity(MAGIC_LEN);
    blob.by_ref()
        .take(MAGIC_LEN as u64)
        .read_to_end(&mut magic)?;
    let compression = Compression::detect(&magic);
    let whole = Cursor::new(magic).chain(blob);
    Ok(match compression {
        Compression::Gzip => Box::new(MultiGzDecoder::new(whole)),
        Compression::Zstd => Box::new(zstd::Decoder::with_buffer(whole)?),
        Compression::None => Box::new(whole),
    })
}
// ANCHOR_END: decompress
