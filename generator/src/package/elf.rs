//! Just enough ELF reading to check a `bootstrap` before it is shipped: its machine (the zip for
//! arm64 must hold an aarch64 binary) and the newest GLIBC symbol version it needs, which must
//! exist on the `provided.al2023` runtime (glibc 2.34).
//!
//! Reads the section headers and the GNU version-needs section (`.gnu.version_r`); works for any
//! architecture on any host and needs no tool like `objdump`.

use std::fmt;

const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    X86_64,
    Aarch64,
    Other(u16),
}

#[derive(Debug, PartialEq, Eq)]
pub struct ElfInfo {
    pub machine: Machine,
    /// Every `GLIBC_x.y[.z]` version the binary needs, sorted, oldest first.
    pub glibc_versions: Vec<GlibcVersion>,
}

impl ElfInfo {
    pub fn newest_glibc(&self) -> Option<GlibcVersion> {
        self.glibc_versions.last().copied()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub u32, pub u32, pub u32);

impl GlibcVersion {
    /// Parses `2.34` or `GLIBC_2.34` (a third component is optional).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.strip_prefix("GLIBC_").unwrap_or(text);
        let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = match parts.next() {
            Some(p) => p?,
            None => 0,
        };
        parts
            .next()
            .is_none()
            .then_some(GlibcVersion(major, minor, patch))
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.2 {
            0 => write!(f, "GLIBC_{}.{}", self.0, self.1),
            p => write!(f, "GLIBC_{}.{}.{}", self.0, self.1, p),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("not an ELF file")]
    NotElf,
    #[error("only 64-bit little-endian ELF is supported")]
    Unsupported,
    #[error("truncated or corrupt ELF: {0}")]
    Corrupt(&'static str),
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u16(&self, at: usize) -> Result<u16, ElfError> {
        let b = self.slice(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: usize) -> Result<u32, ElfError> {
        let b = self.slice(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&self, at: usize) -> Result<usize, ElfError> {
        let b = self.slice(at, 8)?;
        let v = u64::from_le_bytes(b.try_into().map_err(|_| ElfError::Corrupt("u64"))?);
        usize::try_from(v).map_err(|_| ElfError::Corrupt("offset out of range"))
    }
    fn slice(&self, at: usize, len: usize) -> Result<&[u8], ElfError> {
        at.checked_add(len)
            .and_then(|end| self.0.get(at..end))
            .ok_or(ElfError::Corrupt("read past the end"))
    }
    fn c_str(&self, at: usize) -> Result<&str, ElfError> {
        let tail = self.0.get(at..).ok_or(ElfError::Corrupt("string offset"))?;
        let end = tail
            .iter()
            .position(|&b| b == 0)
            .ok_or(ElfError::Corrupt("unterminated string"))?;
        std::str::from_utf8(&tail[..end]).map_err(|_| ElfError::Corrupt("string is not UTF-8"))
    }
}

pub fn inspect(data: &[u8]) -> Result<ElfInfo, ElfError> {
    let elf = Bytes(data);
    if data.len() < 64 || &data[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    if data[4] != 2 || data[5] != 1 {
        return Err(ElfError::Unsupported);
    }
    let machine = match elf.u16(18)? {
        0x3e => Machine::X86_64,
        0xb7 => Machine::Aarch64,
        other => Machine::Other(other),
    };
    let section_headers = elf.u64(0x28)?;
    let entry_size = usize::from(elf.u16(0x3a)?);
    let count = usize::from(elf.u16(0x3c)?);
    if count > 0 && entry_size < 64 {
        return Err(ElfError::Corrupt("section header size"));
    }
    let header = |i: usize| section_headers + i * entry_size;

    let mut versions = Vec::new();
    for i in 0..count {
        if elf.u32(header(i) + 4)? != SHT_GNU_VERNEED {
            continue;
        }
        let offset = elf.u64(header(i) + 24)?;
        let strtab_index = elf.u32(header(i) + 40)? as usize;
        let entries = elf.u32(header(i) + 44)?;
        if strtab_index >= count {
            return Err(ElfError::Corrupt("version string table index"));
        }
        let strtab = elf.u64(header(strtab_index) + 24)?;

        let mut need = offset;
        for _ in 0..entries {
            let aux_count = elf.u16(need + 2)?;
            let mut aux = need + elf.u32(need + 8)? as usize;
            for _ in 0..aux_count {
                let name = elf.c_str(strtab + elf.u32(aux + 8)? as usize)?;
                if let Some(v) = name.strip_prefix("GLIBC_").and_then(GlibcVersion::parse) {
                    versions.push(v);
                }
                aux += elf.u32(aux + 12)? as usize;
            }
            need += elf.u32(need + 12)? as usize;
        }
    }
    versions.sort();
    versions.dedup();
    Ok(ElfInfo {
        machine,
        glibc_versions: versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_test_binary() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let info = inspect(&me).unwrap();
        #[cfg(target_arch = "x86_64")]
        assert_eq!(info.machine, Machine::X86_64);
        // A dynamically linked Rust test binary on glibc always needs some GLIBC_2.x symbol.
        let newest = info.newest_glibc().expect("glibc versions found");
        assert!(newest >= GlibcVersion(2, 2, 5), "{newest}");
    }

    #[test]
    fn rejects_non_elf_and_truncated_input() {
        assert_eq!(inspect(b"#!/bin/sh\n"), Err(ElfError::NotElf));
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(inspect(&me[..200]).is_err());
    }

    #[test]
    fn parses_and_orders_versions() {
        assert_eq!(GlibcVersion::parse("2.34"), Some(GlibcVersion(2, 34, 0)));
        assert_eq!(
            GlibcVersion::parse("GLIBC_2.2.5"),
            Some(GlibcVersion(2, 2, 5))
        );
        assert_eq!(GlibcVersion::parse("GLIBC_PRIVATE"), None);
        assert_eq!(GlibcVersion::parse("2.34.1.1"), None);
        assert!(GlibcVersion(2, 17, 0) < GlibcVersion(2, 34, 0));
        assert_eq!(GlibcVersion(2, 2, 5).to_string(), "GLIBC_2.2.5");
    }
}
