//! A gzip writer that compresses on every core and still writes one
//! standard gzip member, the way `pigz` does.
//!
//! Deflate can be cut into pieces: compress each chunk of the input on its
//! own, end every piece with a *sync flush* (an empty stored block that
//! brings the bit stream back to a byte boundary, and is not a final
//! block), and the pieces concatenated are one valid deflate stream. The
//! gzip trailer needs the CRC-32 of the whole input, which is computed per
//! chunk in parallel too and *combined* (CRC-32 is linear, so the CRC of
//! `a ‖ b` follows from the CRC of `a`, the CRC of `b` and `b`'s length).
//!
//! Memory stays bounded: at most [`in_flight`] chunks are being compressed
//! or waiting to be written, whatever the size of the input. Chunks are cut
//! at fixed offsets and compressed without a preset dictionary, so the
//! output is the same bytes whatever the number of cores.

use crc32fast::Hasher;
use flate2::Compression;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How much input each worker compresses at a time. A chunk starts with an
/// empty window, so the cost in size is about the first 32 KiB of each
/// chunk compressing worse: well under 1 % at 1 MiB.
pub const CHUNK: usize = 1 << 20;

/// The gzip header: deflate, no name, no time (so the same input gives the
/// same bytes), made on Unix.
pub const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

/// The end of a deflate stream: an empty final block with fixed codes.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// A chunk on its way back from a worker, with its input buffer to reuse.
struct Done {
    index: u64,
    compressed: io::Result<Vec<u8>>,
    crc: Hasher,
    input: Vec<u8>,
}

/// A gzip member compressed by a pool of threads.
pub struct ParallelGzip<W: Write> {
    out: W,
    pending: Vec<u8>,
    jobs: Option<SyncSender<(u64, Vec<u8>)>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    /// Finished chunks that arrived before an earlier one.
    waiting: BTreeMap<u64, Done>,
    /// Input buffers back from the workers: reused, so that the same few
    /// megabytes serve the whole stream.
    spare: Vec<Vec<u8>>,
    sent: u64,
    written: u64,
    crc: Hasher,
    length: u64,
}

/// How many chunks may be in the pipeline at once for `threads` workers:
/// one being compressed by each, and as many queued or waiting to be written.
pub fn in_flight(threads: usize) -> usize {
    2 * threads
}

impl<W: Write> ParallelGzip<W> {
    /// Starts a gzip member on `out`, compressed at `level` by one thread per core.
    pub fn new(mut out: W, level: Compression) -> io::Result<ParallelGzip<W>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        out.write_all(&HEADER)?;
        let (jobs, queue) = sync_channel::<(u64, Vec<u8>)>(threads);
        let (results, done) = sync_channel(in_flight(threads));
        let queue = Arc::new(Mutex::new(queue));
        let workers = (0..threads)
            .map(|_| {
                let queue = Arc::clone(&queue);
                let results = results.clone();
                std::thread::spawn(move || {
                    let mut deflater = ChunkDeflater::new(level);
                    loop {
                        // The lock is held only while taking a job.
                        let job = queue.lock().map(|q| q.recv());
                        let Ok(Ok((index, input))) = job else { break };
                        let mut crc = Hasher::new();
                        crc.update(&input);
                        let compressed = deflater.deflate(&input);
                        let done = Done {
                            index,
                            compressed,
                            crc,
                            input,
                        };
                        if results.send(done).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        Ok(ParallelGzip {
            out,
            pending: Vec::with_capacity(CHUNK),
            jobs: Some(jobs),
            done,
            workers,
            waiting: BTreeMap::new(),
            spare: Vec::new(),
            sent: 0,
            written: 0,
            crc: Hasher::new(),
            length: 0,
        })
    }

    /// Hands the pending chunk to the workers, first writing finished chunks
    /// out until there is room for it in the pipeline.
    fn send_pending(&mut self) -> io::Result<()> {
        let threads = self.workers.len();
        while self.sent - self.written >= in_flight(threads) as u64 {
            self.write_next()?;
        }
        let next = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.pending, next);
        let jobs = self.jobs.as_ref().expect("jobs are open until finish");
        jobs.send((self.sent, chunk))
            .map_err(|_| io::Error::other("a compression thread stopped"))?;
        self.sent += 1;
        Ok(())
    }

    /// Waits for the next chunk in order and writes it.
    fn write_next(&mut self) -> io::Result<()> {
        let next = loop {
            if let Some(done) = self.waiting.remove(&self.written) {
                break done;
            }
            let done = self
                .done
                .recv()
                .map_err(|_| io::Error::other("a compression thread stopped"))?;
            self.waiting.insert(done.index, done);
        };
        self.out.write_all(&next.compressed?)?;
        let mut input = next.input;
        input.clear();
        self.spare.push(input);
        self.crc.combine(&next.crc);
        self.written += 1;
        Ok(())
    }

    /// Compresses what is left, ends the member and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.pending.is_empty() {
            self.send_pending()?;
        }
        self.jobs = None;
        while self.written < self.sent {
            self.write_next()?;
        }
        for worker in self.workers.drain(..) {
            worker
                .join()
                .map_err(|_| io::Error::other("a compression thread panicked"))?;
        }
        let crc = std::mem::replace(&mut self.crc, Hasher::new()).finalize();
        end_member(&mut self.out, crc, self.length)?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.pending.len();
        let n = room.min(buf.len());
        self.pending.extend_from_slice(&buf[..n]);
        self.length += n as u64;
        if self.pending.len() == CHUNK {
            self.send_pending()?;
        }
        Ok(n)
    }

    /// Writes out what is finished; a partial chunk waits for more input,
    /// since cutting it early would change the bytes.
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A worker's compressor, kept for every chunk it compresses (its window
/// and hash tables are allocated once).
///
/// zlib-rs does the work: at gzip's default level it deflates about twice
/// as fast as miniz_oxide (flate2's default backend, which the rest of the
/// workspace keeps: switching it would change the bytes of step 03's
/// layers).
pub struct ChunkDeflater {
    deflate: zlib_rs::Deflate,
    /// Room for the worst case of a whole chunk.
    out: Vec<u8>,
}

impl ChunkDeflater {
    pub fn new(level: Compression) -> ChunkDeflater {
        ChunkDeflater {
            deflate: zlib_rs::Deflate::new(level.level() as i32, false, 15),
            // The bound is for a whole stream; the sync flush marker adds 5 bytes.
            out: vec![0; zlib_rs::compress_bound(CHUNK) + 64],
        }
    }

    /// Compresses one chunk (at most [`CHUNK`] bytes) as raw deflate
    /// blocks ending in a sync flush, so that the next chunk's blocks can
    /// follow directly. Each chunk starts afresh, with an empty window.
    pub fn deflate(&mut self, chunk: &[u8]) -> io::Result<Vec<u8>> {
        assert!(chunk.len() <= CHUNK, "chunks are at most CHUNK bytes");
        self.deflate.reset();
        self.deflate
            .compress(chunk, &mut self.out, zlib_rs::DeflateFlush::SyncFlush)
            .map_err(|e| io::Error::other(e.as_str()))?;
        let (read, written) = (self.deflate.total_in(), self.deflate.total_out());
        if read as usize != chunk.len() || written as usize == self.out.len() {
            return Err(io::Error::other(
                "deflate needed more room than the worst case allows",
            ));
        }
        Ok(self.out[..written as usize].to_vec())
    }
}

// ANCHOR: end_member
/// Ends a gzip member whose deflate blocks (all ending in a sync flush) are
/// written: the final block, then the trailer.
pub fn end_member(out: &mut impl Write, crc: u32, length: u64) -> io::Result<()> {
    // EXERCISE(gzip-trailer): End the deflate stream, then write the gzip trailer.
    // The chunks' blocks all said "more to come": write `FINAL_BLOCK`, an
    // empty block that says it is the last. Then the trailer (RFC 1952):
    // the CRC-32 of all the uncompressed bytes, then their length modulo
    // 2^32, each as 4 bytes, least significant first.
    // ANCHOR_END: end_member
    // HINT: Three `write_all`s, in order: `FINAL_BLOCK`, the CRC, the length.
    // RFC 1952, section 2.3.1, shows the trailer's layout.
    // HINT+: "Least significant first" is little-endian: `u32::to_le_bytes` gives the
    // four bytes. `length` is a `u64`, but the field holds it modulo 2^32, which is
    // what an `as u32` cast does. Without the final block (or after the trailer),
    // `gzip -t` reports an unexpected end of file or a corrupt stream.
    out.write_all(&FINAL_BLOCK)?;
    out.write_all(&crc.to_le_bytes())?;
    out.write_all(&(length as u32).to_le_bytes())?;
    Ok(())
    // END EXERCISE
}
