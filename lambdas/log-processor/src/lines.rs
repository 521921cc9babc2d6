//! Splits a byte stream into lines without copying complete lines.
//!
//! Lines wholly inside a chunk are handed out as borrowed slices; only a line that
//! straddles two chunks is copied into `carry`, which never grows past [`MAX_LINE`].
//! A longer line is reported once as too long and its bytes are dropped as they
//! arrive, so memory stays flat even for a 10 GB object without a newline.

use std::io;

/// Longest accepted line. CloudWatch Logs caps an event at 256 KiB, so no sane log line
/// (EMF included) is longer.
pub const MAX_LINE: usize = 256 * 1024;

pub trait LineHandler {
    /// One line without its `\n` (and without a trailing `\r`).
    fn line(&mut self, line: &[u8]);
    /// A line longer than [`MAX_LINE`] was skipped.
    fn too_long(&mut self);
}

#[derive(Debug)]
pub struct Splitter<H> {
    carry: Vec<u8>,
    /// Inside an over-long line: drop bytes until the next newline.
    discarding: bool,
    pub handler: H,
    /// Uncompressed bytes seen.
    pub bytes: u64,
}

#[inline]
fn emit<H: LineHandler>(h: &mut H, mut line: &[u8]) {
    if let [rest @ .., b'\r'] = line {
        line = rest;
    }
    h.line(line);
}

impl<H: LineHandler> Splitter<H> {
    pub fn new(handler: H) -> Self {
        Splitter {
            carry: Vec::new(),
            discarding: false,
            handler,
            bytes: 0,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        let mut rest = chunk;
        // Finish a line begun in an earlier chunk.
        if self.discarding || !self.carry.is_empty() {
            match memchr::memchr(b'\n', rest) {
                None => {
                    self.extend_carry(rest);
                    return;
                }
                Some(i) => {
                    if !self.discarding {
                        if self.carry.len() + i > MAX_LINE {
                            self.handler.too_long();
                        } else {
                            self.carry.extend_from_slice(&rest[..i]);
                            emit(&mut self.handler, &self.carry);
                        }
                    }
                    self.carry.clear();
                    self.discarding = false;
                    rest = &rest[i + 1..];
                }
            }
        }
        // Lines wholly inside this chunk: borrowed, no copy.
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', rest) {
            let line = &rest[start..nl];
            if line.len() > MAX_LINE {
                self.handler.too_long();
            } else {
                emit(&mut self.handler, line);
            }
            start = nl + 1;
        }
        self.extend_carry(&rest[start..]);
    }

    fn extend_carry(&mut self, part: &[u8]) {
        if self.discarding || part.is_empty() {
            return;
        }
        if self.carry.len() + part.len() > MAX_LINE {
            self.handler.too_long();
            self.discarding = true;
            // Give the memory back: a later line rarely needs it.
            self.carry = Vec::new();
        } else {
            self.carry.extend_from_slice(part);
        }
    }

    /// End of input: a last line without a newline still counts.
    pub fn finish(&mut self) {
        if !self.discarding && !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            emit(&mut self.handler, &line);
        }
        self.discarding = false;
    }

    /// Bytes held for an unfinished line; bounded by [`MAX_LINE`].
    pub fn carried(&self) -> usize {
        self.carry.capacity()
    }
}

/// So that a gzip decoder can write straight into the splitter.
impl<H: LineHandler> io::Write for Splitter<H> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[derive(Default, Debug)]
    pub struct Collect {
        pub lines: Vec<Vec<u8>>,
        pub too_long: usize,
    }

    impl LineHandler for Collect {
        fn line(&mut self, line: &[u8]) {
            self.lines.push(line.to_vec());
        }
        fn too_long(&mut self) {
            self.too_long += 1;
        }
    }

    fn split(chunks: &[&[u8]]) -> Collect {
        let mut s = Splitter::new(Collect::default());
        for c in chunks {
            s.push(c);
        }
        s.finish();
        s.handler
    }

    #[test]
    fn lines_across_chunks_crlf_and_no_final_newline() {
        let c = split(&[b"a\nb", b"c\r\n", b"", b"d\n\ne"]);
        assert_eq!(c.lines, [&b"a"[..], b"bc", b"d", b"", b"e"]);
    }

    #[test]
    fn any_chunking_gives_the_same_lines() {
        let text = b"first line\r\nsecond\n\nthird line that is longer\nlast";
        let whole = split(&[text]).lines;
        for size in 1..text.len() {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(split(&chunks).lines, whole, "chunk size {size}");
        }
    }

    #[test]
    fn huge_line_without_newline_is_bounded_and_counted_once() {
        let mut s = Splitter::new(Collect::default());
        s.push(b"ok\n");
        let block = vec![b'x'; 64 * 1024];
        // 10 MiB in one line, no newline at all.
        for _ in 0..160 {
            s.push(&block);
            assert!(s.carried() <= MAX_LINE, "carry grew to {}", s.carried());
        }
        s.finish();
        assert_eq!(s.handler.too_long, 1);
        assert_eq!(s.handler.lines, [b"ok".to_vec()]);
    }

    #[test]
    fn huge_line_then_normal_lines() {
        let mut big = vec![b'y'; MAX_LINE + 1];
        big.extend_from_slice(b"\nafter\n");
        // Inside one chunk, and straddling chunks.
        assert_eq!(split(&[&big]).lines, [b"after".to_vec()]);
        let (a, b) = big.split_at(1000);
        let c = split(&[a, b]);
        assert_eq!((c.too_long, c.lines), (1, vec![b"after".to_vec()]));
        // Exactly MAX_LINE is still fine.
        let mut edge = vec![b'z'; MAX_LINE];
        edge.push(b'\n');
        let (a, b) = edge.split_at(10);
        assert_eq!(split(&[a, b]).lines.len(), 1);
    }
}
