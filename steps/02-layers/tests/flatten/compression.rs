//! Compression.

use super::*;

#[test]
fn compression_is_told_by_magic_bytes() {
    let cases: [(&[u8], decompress::Compression); 5] = [
        (&[0x1f, 0x8b, 0x08, 0x00], decompress::Compression::Gzip),
        (&[0x28, 0xb5, 0x2f, 0xfd], decompress::Compression::Zstd),
        (b"bin/", decompress::Compression::None),
        (&[0x28, 0xb5], decompress::Compression::None),
        (&[], decompress::Compression::None),
    ];
    for (magic, expected) in cases {
        check_eq!(
            decompress::Compression::detect(magic),
            expected,
            read = "step-02-layers.md#compression",
            "the compression of a blob starting with {magic:02x?}"
        );
    }
}

/// A small layer as gzip, zstd, plain tar and multi-member gzip.
#[test]
fn gzip_zstd_and_plain_layers_all_apply() {
    let entries = [Entry::dir("etc/"), Entry::file("etc/hostname", "box\n")];
    let plain = LayerBuilder::new()
        .entries(entries.clone())
        .compression(Compression::None)
        .build()
        .data;
    let gzip = LayerBuilder::new().entries(entries).build().data;
    let zstd = zstd::encode_all(&plain[..], 3).expect("zstd in memory");
    let (first, second) = plain.split_at(700);
    let mut multi = gzip_member(first);
    multi.extend(gzip_member(second));
    for (name, blob) in [
        ("gzip", &gzip[..]),
        ("zstd", &zstd[..]),
        ("plain tar", &plain[..]),
        ("multi-member gzip", &multi[..]),
    ] {
        let (_dir, root) = fresh_root();
        let applied = apply(&root, blob, Options::detect());
        check!(
            applied.is_ok(),
            expected = format!("a {name} layer to apply"),
            got = applied,
            read = "step-02-layers.md#compression",
        );
        check_eq!(
            fs::read_to_string(root.join("etc/hostname")).ok(),
            Some("box\n".to_string()),
            read = "step-02-layers.md#compression",
            "etc/hostname from a {name} layer"
        );
    }
}

fn gzip_member(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// A reader that hands out one byte per `read`, as a slow network might.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(1);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn magic_bytes_are_found_in_a_stream_that_trickles() {
    let plain = LayerBuilder::new()
        .entry(Entry::file("hello.txt", "hi\n"))
        .compression(Compression::None)
        .build()
        .data;
    let zstd = zstd::encode_all(&plain[..], 3).expect("zstd in memory");
    let reader = io::BufReader::with_capacity(1, Trickle(&zstd));
    let (_dir, root) = fresh_root();
    let tar = decompress(reader).expect("reading from memory");
    let applied = apply_layer(&root, tar, &Options::detect());
    check!(
        applied.is_ok(),
        expected = "a zstd layer read one byte at a time to apply",
        got = applied,
        read = "step-02-layers.md#compression",
    );
}

/// The digest of a layer covers every byte, so the stream is read to its
/// end, past the tar's end-of-archive blocks.
#[test]
fn the_stream_is_read_to_its_end() {
    let mut tar = LayerBuilder::new()
        .entry(Entry::file("a", "a"))
        .compression(Compression::None)
        .build()
        .data
        .to_vec();
    tar.extend([0; 10 * 512]);
    let (_dir, root) = fresh_root();
    let mut rest = &tar[..];
    apply_layer(&root, &mut rest, &Options::detect()).expect("the layer applies");
    check_eq!(
        rest.len(),
        0,
        read = "step-02-layers.md#flattening",
        "bytes left unread after the layer"
    );
}
