//! sha256 digests: of bytes in memory, and of a stream as it passes.
//!
//! Every blob is named by the sha256 of its bytes. A manifest is small and
//! hashed whole; a layer can be gigabytes, so it is hashed on its way
//! through, by [`Hashing`]: step 02 hashes a layer's tar while flattening
//! it, step 03 the tar and the gzip stream while writing a layer.
//!
//! Both give a [`Digest`], the one type for a digest in this course: text
//! that names content is checked once, where it comes in, and never again.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

// ANCHOR: digest
/// A sha256 digest: `sha256:` followed by 64 lowercase hex digits, the only
/// digests this client accepts.
///
/// Digests come from outside (a manifest's descriptors, a reference the
/// user typed) and become file names: a blob is kept at
/// `.blobs/sha256/<hex>`. So a `Digest` can only be made from text of that
/// exact form (`parse`, `TryFrom`, or serde when a manifest is read) or by
/// hashing bytes ([`sha256_digest`], [`Hashing::finish`]). A hostile
/// registry's `sha256:../../etc/x` is refused where it is read, and code
/// that holds a `Digest` never checks it again.
///
/// ```
/// use step_01_registry::digest::{Digest, sha256_digest};
/// let empty = sha256_digest(b"");
/// assert_eq!(empty.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
/// assert_eq!(empty.as_str().parse::<Digest>(), Ok(empty));
/// assert!("sha256:../../etc/x".parse::<Digest>().is_err());
/// assert!(serde_json::from_str::<Digest>(r#""sha256:../../etc/x""#).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    /// The whole digest, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits alone: a blob's file name.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}
// ANCHOR_END: digest

/// The error for text that is not a [`Digest`]; it holds the text, which
/// the message shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("digest {0:?} is not sha256: followed by 64 lowercase hex digits")]
pub struct NotADigest(pub String);

impl FromStr for Digest {
    type Err = NotADigest;

    fn from_str(text: &str) -> Result<Digest, NotADigest> {
        let valid = text.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if valid {
            Ok(Digest(text.to_string()))
        } else {
            Err(NotADigest(text.to_string()))
        }
    }
}

impl TryFrom<&str> for Digest {
    type Error = NotADigest;

    fn try_from(text: &str) -> Result<Digest, NotADigest> {
        text.parse()
    }
}

/// What serde reads a digest from: a manifest's `"digest": "sha256:..."`.
impl TryFrom<String> for Digest {
    type Error = NotADigest;

    fn try_from(text: String) -> Result<Digest, NotADigest> {
        text.parse()
    }
}

/// What serde writes a digest as: the plain string.
impl From<Digest> for String {
    fn from(digest: Digest) -> String {
        digest.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shown as the string it is (`"sha256:..."`), as a `String` field was.
impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The digest of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> Digest {
    from_hasher(Sha256::new_with_prefix(bytes))
}

/// The digest of what `hasher` has seen.
fn from_hasher(hasher: Sha256) -> Digest {
    Digest(format!("sha256:{:x}", hasher.finalize()))
}

// ANCHOR: hashing
/// A reader or writer that hashes and counts what passes through it.
pub struct Hashing<T> {
    inner: T,
    hasher: Sha256,
    count: u64,
}

impl<T> Hashing<T> {
    pub fn new(inner: T) -> Hashing<T> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The inner reader or writer, the digest of what passed and how many
    /// bytes.
    pub fn finish(self) -> (T, Digest, u64) {
        (self.inner, from_hasher(self.hasher), self.count)
    }

    /// Hashes and counts the bytes that went through: only those the inner
    /// reader or writer took, never the whole buffer it was offered.
    fn pass(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.count += bytes.len() as u64;
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pass(&buf[..n]);
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pass(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
// ANCHOR_END: hashing
