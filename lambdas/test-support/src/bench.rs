//! What the benchmark examples share: a seeded generator, the machine line their documents
//! print, and rewriting a document's generated block between its markers.

/// xorshift64*: deterministic for a seed, no dependency.
pub struct Rng(pub u64);

impl Rng {
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// `2 cores (AMD EPYC ...)`, and with `load` the 1-minute load average now.
pub fn machine(load: bool) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    if !load {
        return format!("{cores} cores ({cpu})");
    }
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), load average {load} at the end of the run")
}

/// Replaces what lies between `begin` and `end` in the document at `path` (relative to the
/// workspace root) with `block`; the markers stay.
pub fn replace_block(path: &str, begin: &str, end: &str, block: &str) -> std::io::Result<()> {
    let path = crate::moto::workspace_root().join(path);
    let doc = std::fs::read_to_string(&path)?;
    let (Some(b), Some(e)) = (doc.find(begin), doc.find(end)) else {
        return Err(std::io::Error::other(format!(
            "markers {begin} / {end} not found in {}",
            path.display()
        )));
    };
    std::fs::write(&path, format!("{}{begin}\n{block}{}", &doc[..b], &doc[e..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_block_keeps_the_markers_and_what_surrounds_them() {
        let path = std::env::temp_dir().join(format!("bench-doc-{}.md", std::process::id()));
        std::fs::write(&path, "intro\n<!-- b -->\nold\n<!-- e -->\noutro\n").unwrap();
        let p = path.to_str().unwrap();
        replace_block(p, "<!-- b -->", "<!-- e -->", "new\n").unwrap();
        let got = std::fs::read_to_string(&path).unwrap();
        assert_eq!(got, "intro\n<!-- b -->\nnew\n<!-- e -->\noutro\n");
        let err = replace_block(p, "<!-- x -->", "<!-- e -->", "new\n").unwrap_err();
        assert!(err.to_string().contains("<!-- x -->"), "{err}");
        std::fs::remove_file(&path).unwrap();
        let (mut a, mut b) = (Rng(7), Rng(7));
        assert_eq!(a.unit(), b.unit());
        assert!((0.0..1.0).contains(&a.unit()));
    }
}
