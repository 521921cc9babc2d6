//! Turns the object's bytes, pushed chunk by chunk, into lines: plain text passes
//! through; gzip (told by its magic bytes `1f 8b`, not by the key's suffix) is
//! inflated as it arrives, all concatenated members included.

use crate::lines::{LineHandler, Splitter};
use flate2::write::MultiGzDecoder;
use std::io::{self, Write};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

enum State<H: LineHandler> {
    /// Fewer than two bytes seen: format not known yet.
    Sniff(Vec<u8>, Splitter<H>),
    Plain(Splitter<H>),
    Gzip(Box<MultiGzDecoder<Splitter<H>>>),
}

pub struct Decoder<H: LineHandler> {
    state: Option<State<H>>,
    compressed: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("corrupt gzip data: {0}")]
pub struct CorruptGzip(#[from] pub io::Error);

impl<H: LineHandler> Decoder<H> {
    pub fn new(handler: H) -> Self {
        Decoder {
            state: Some(State::Sniff(Vec::with_capacity(2), Splitter::new(handler))),
            compressed: false,
        }
    }

    /// Whether the input turned out to be gzip (known after the first two bytes).
    pub fn is_gzip(&self) -> bool {
        self.compressed
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<(), CorruptGzip> {
        match self.state.take() {
            Some(State::Sniff(mut head, splitter)) => {
                let need = 2 - head.len();
                let (a, b) = chunk.split_at(need.min(chunk.len()));
                head.extend_from_slice(a);
                if head.len() < 2 {
                    self.state = Some(State::Sniff(head, splitter));
                    return Ok(());
                }
                self.state = Some(if head == GZIP_MAGIC {
                    self.compressed = true;
                    State::Gzip(Box::new(MultiGzDecoder::new(splitter)))
                } else {
                    State::Plain(splitter)
                });
                self.push(&head)?;
                self.push(b)
            }
            Some(State::Plain(mut s)) => {
                s.push(chunk);
                self.state = Some(State::Plain(s));
                Ok(())
            }
            Some(State::Gzip(mut d)) => {
                let r = d.write_all(chunk);
                self.state = Some(State::Gzip(d));
                r.map_err(CorruptGzip)
            }
            None => Err(CorruptGzip(io::Error::other("decoder used after an error"))),
        }
    }

    /// End of input. A truncated gzip stream (no complete trailer) is an error.
    pub fn finish(mut self) -> Result<Splitter<H>, CorruptGzip> {
        let mut splitter = match self.state.take() {
            Some(State::Sniff(head, mut s)) => {
                s.push(&head);
                s
            }
            Some(State::Plain(s)) => s,
            Some(State::Gzip(d)) => d.finish()?,
            None => return Err(CorruptGzip(io::Error::other("decoder used after an error"))),
        };
        splitter.finish();
        Ok(splitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::tests::Collect;
    use flate2::{write::GzEncoder, Compression};

    pub fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode(input: &[u8], chunk: usize) -> Result<Collect, CorruptGzip> {
        let mut d = Decoder::new(Collect::default());
        for c in input.chunks(chunk.max(1)) {
            d.push(c)?;
        }
        Ok(d.finish()?.handler)
    }

    #[test]
    fn plain_and_gzip_give_the_same_lines_for_any_chunking() {
        let text = b"alpha\nbeta\r\ngamma";
        let gz = gzip(text);
        for chunk in [1, 2, 3, 7, 1 << 20] {
            assert_eq!(
                decode(text, chunk).unwrap().lines,
                [&b"alpha"[..], b"beta", b"gamma"]
            );
            assert_eq!(
                decode(&gz, chunk).unwrap().lines,
                [&b"alpha"[..], b"beta", b"gamma"]
            );
        }
    }

    #[test]
    fn concatenated_members() {
        let mut gz = gzip(b"one\ntw");
        gz.extend(gzip(b"o\nthree\n"));
        gz.extend(gzip(b""));
        for chunk in [1, 5, 4096] {
            assert_eq!(
                decode(&gz, chunk).unwrap().lines,
                [&b"one"[..], b"two", b"three"]
            );
        }
    }

    #[test]
    fn corrupt_and_truncated_gzip_fail() {
        let gz = gzip(&b"some log line\n".repeat(1000));
        let truncated = &gz[..gz.len() / 2];
        assert!(
            decode(truncated, 100).is_err(),
            "truncated stream must fail"
        );
        let mut flipped = gz.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        assert!(
            decode(&flipped, 100).is_err(),
            "bit flip must fail (inflate or CRC)"
        );
        let mut trailing = gz.clone();
        trailing.extend_from_slice(b"junk after the member");
        assert!(
            decode(&trailing, 100).is_err(),
            "garbage after a member must fail"
        );
        assert!(decode(&[0x1f, 0x8b, 0x08], 1).is_err(), "header only");
    }

    #[test]
    fn tiny_and_empty_inputs() {
        assert!(decode(b"", 1).unwrap().lines.is_empty());
        assert_eq!(decode(b"x", 1).unwrap().lines, [b"x".to_vec()]);
        assert_eq!(decode(&[0x1f], 1).unwrap().lines, [vec![0x1f]]);
    }
}
