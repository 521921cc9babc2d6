//! A byte-reproducible zip writer for one Lambda `bootstrap`.
//!
//! Generic zip tools store the file's mtime and the packer's umask, so two builds of the same
//! source give different archives and Terraform sees a new `source_code_hash`. Here every field
//! that is not the content itself is fixed: DOS time 1980-01-01 00:00, Unix mode 0755, one entry,
//! deflate at a fixed level. The same bytes in always give the same zip out.

use flate2::{write::DeflateEncoder, Compression, Crc};
use std::io::Write;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIR: u32 = 0x0605_4b50;
const VERSION_NEEDED: u16 = 20; // 2.0: deflate
const VERSION_MADE_BY_UNIX: u16 = (3 << 8) | 20; // host 3 = Unix, so external attrs carry the mode
const METHOD_DEFLATE: u16 = 8;
const DOS_TIME: u16 = 0; // 00:00:00
const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01
const EXECUTABLE_FILE_MODE: u32 = 0o100_755;

/// Builds a zip archive holding `contents` as `name`, executable, with fixed metadata.
pub fn single_file_zip(name: &str, contents: &[u8]) -> std::io::Result<Vec<u8>> {
    let too_big = || std::io::Error::other(format!("{name}: zip64 is not supported (over 4 GiB)"));
    let mut crc = Crc::new();
    crc.update(contents);
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::new(9));
    encoder.write_all(contents)?;
    let compressed = encoder.finish()?;
    let compressed_len = u32::try_from(compressed.len()).map_err(|_| too_big())?;
    let raw_len = u32::try_from(contents.len()).map_err(|_| too_big())?;
    let name_len = u16::try_from(name.len()).map_err(|_| too_big())?;

    let mut out = Vec::with_capacity(compressed.len() + 2 * name.len() + 128);
    let common = |out: &mut Vec<u8>| {
        put16(out, 0); // flags
        put16(out, METHOD_DEFLATE);
        put16(out, DOS_TIME);
        put16(out, DOS_DATE);
        put32(out, crc.sum());
        put32(out, compressed_len);
        put32(out, raw_len);
        put16(out, name_len);
        put16(out, 0); // extra field length
    };

    put32(&mut out, LOCAL_HEADER);
    put16(&mut out, VERSION_NEEDED);
    common(&mut out);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&compressed);

    let central_offset = out.len() as u32;
    put32(&mut out, CENTRAL_HEADER);
    put16(&mut out, VERSION_MADE_BY_UNIX);
    put16(&mut out, VERSION_NEEDED);
    common(&mut out);
    put16(&mut out, 0); // comment length
    put16(&mut out, 0); // disk number
    put16(&mut out, 0); // internal attributes
    put32(&mut out, EXECUTABLE_FILE_MODE << 16);
    put32(&mut out, 0); // local header offset
    out.extend_from_slice(name.as_bytes());
    let central_len = out.len() as u32 - central_offset;

    put32(&mut out, END_OF_CENTRAL_DIR);
    put16(&mut out, 0); // this disk
    put16(&mut out, 0); // disk with the central directory
    put16(&mut out, 1); // entries on this disk
    put16(&mut out, 1); // entries in total
    put32(&mut out, central_len);
    put32(&mut out, central_offset);
    put16(&mut out, 0); // comment length
    Ok(out)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::DeflateDecoder;
    use std::io::Read;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }
    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn same_input_same_bytes() {
        let data = b"#!/bin/sh\necho hello\n".repeat(1000);
        assert_eq!(
            single_file_zip("bootstrap", &data).unwrap(),
            single_file_zip("bootstrap", &data).unwrap()
        );
        assert_ne!(
            single_file_zip("bootstrap", &data).unwrap(),
            single_file_zip("bootstrap", b"other").unwrap()
        );
    }

    #[test]
    fn archive_round_trips_with_fixed_metadata() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let zip = single_file_zip("bootstrap", &data).unwrap();
        assert_eq!(u32_at(&zip, 0), LOCAL_HEADER);
        assert_eq!(u16_at(&zip, 10), DOS_TIME);
        assert_eq!(u16_at(&zip, 12), DOS_DATE);
        let compressed_len = u32_at(&zip, 18) as usize;
        assert_eq!(u32_at(&zip, 22) as usize, data.len());
        assert_eq!(&zip[30..39], b"bootstrap");
        let mut inflated = Vec::new();
        DeflateDecoder::new(&zip[39..39 + compressed_len])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, data);

        let eocd = zip.len() - 22;
        assert_eq!(u32_at(&zip, eocd), END_OF_CENTRAL_DIR);
        let central = u32_at(&zip, eocd + 16) as usize;
        assert_eq!(u32_at(&zip, central), CENTRAL_HEADER);
        assert_eq!(u32_at(&zip, central + 38) >> 16, EXECUTABLE_FILE_MODE);
    }
}
