//! Reading ahead on a second thread, so that one core decompresses a layer
//! while the other writes its files.
//!
//! Applying a layer is two kinds of work: inflating the tar stream
//! (user-space CPU), and creating files (system calls). On one thread each
//! waits for the other. [`read_ahead`] moves the reader to a thread of its
//! own, which fills chunks a few steps ahead of whoever reads them; the
//! reading side only copies bytes out. Memory stays bounded: there are
//! [`CHUNKS`] chunks in all, and a drained one goes back to be refilled.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

/// The size of one chunk: big enough that passing it between threads costs
/// nothing next to filling it.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// How many chunks there are: the reader holds one, the others wait for it
/// full or are being filled. A fixed number, so that memory does not depend
/// on which thread is faster.
pub const CHUNKS: usize = 4;

/// Some bytes read ahead: `bytes[..len]` is filled.
struct Chunk {
    bytes: Box<[u8]>,
    len: usize,
}

/// What the reading thread sends.
enum Message {
    Bytes(Chunk),
    /// The source ended: every byte has been sent.
    End,
    /// The source failed after the bytes sent before.
    Failed(io::Error),
}

/// Starts reading `source` on a thread of `scope`, and returns the reading
/// end and the thread, which ends once `source` is used up or fails, or
/// once the reading end is dropped.
///
/// An error from `source` reaches the reader at the point in the stream
/// where it happened, and again on every later read.
pub fn read_ahead<'scope, R: Read + Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    mut source: R,
) -> (ReadAhead, ScopedJoinHandle<'scope, ()>) {
    let (full, filled) = sync_channel(CHUNKS);
    let (drained, empty) = channel();
    let thread = scope.spawn(move || fill_chunks(&mut source, &full, &empty));
    let reader = ReadAhead {
        filled,
        drained,
        current: Chunk {
            bytes: Box::default(),
            len: 0,
        },
        position: 0,
        ended: false,
        failed: None,
    };
    (reader, thread)
}

// ANCHOR: fill_chunks
/// The reading thread: fills chunks until `source` ends or fails, or until
/// nobody reads any more.
fn fill_chunks(source: &mut impl Read, full: &SyncSender<Message>, empty: &Receiver<Box<[u8]>>) {
    let mut made = 0;
    loop {
        let bytes = match empty.try_recv() {
            Ok(bytes) => bytes,
            Err(TryRecvError::Empty) if made < CHUNKS => {
                made += 1;
                vec![0; CHUNK_BYTES].into_boxed_slice()
            }
            // Every chunk is made: wait for one to come back.
            Err(_) => match empty.recv() {
                Ok(bytes) => bytes,
                // The reader is gone.
                Err(_) => return,
            },
        };
        let mut chunk = Chunk { bytes, len: 0 };
        let outcome = fill(source, &mut chunk);
        // The bytes before an error still count: the error comes after them.
        if chunk.len > 0 && full.send(Message::Bytes(chunk)).is_err() {
            return;
        }
        let last = match outcome {
            Ok(true) => continue,
            Ok(false) => Message::End,
            Err(error) => Message::Failed(error),
        };
        let _ = full.send(last);
        return;
    }
}
// ANCHOR_END: fill_chunks

/// Reads into `chunk` until it is full (`Ok(true)`) or `source` ends
/// (`Ok(false)`).
fn fill(source: &mut impl Read, chunk: &mut Chunk) -> io::Result<bool> {
    while chunk.len < chunk.bytes.len() {
        match source.read(&mut chunk.bytes[chunk.len..]) {
            Ok(0) => return Ok(false),
            Ok(n) => chunk.len += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(true)
}

/// The reading end of [`read_ahead`].
pub struct ReadAhead {
    filled: Receiver<Message>,
    drained: Sender<Box<[u8]>>,
    current: Chunk,
    position: usize,
    /// The source ended and every byte has been read.
    ended: bool,
    /// The source's error, repeated to every later read.
    failed: Option<(io::ErrorKind, String)>,
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        if self.position == self.current.len && !self.ended {
            let next = match self.filled.recv() {
                Ok(Message::Bytes(next)) => next,
                Ok(Message::End) => {
                    self.ended = true;
                    return Ok(&[]);
                }
                Ok(Message::Failed(error)) => {
                    self.failed = Some((error.kind(), error.to_string()));
                    return Err(error);
                }
                // Only a panic ends the thread without a last message: the
                // stream must not look complete.
                Err(_) => {
                    let error = io::Error::other("the thread reading ahead stopped halfway");
                    self.failed = Some((error.kind(), error.to_string()));
                    return Err(error);
                }
            };
            let drained = std::mem::replace(&mut self.current, next);
            self.position = 0;
            if !drained.bytes.is_empty() {
                // The filling thread may have stopped already; then the chunk is freed.
                let _ = self.drained.send(drained.bytes);
            }
        }
        Ok(&self.current.bytes[self.position..self.current.len])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.current.len);
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}
