//! `manifest.json`: what `gen package` produced, in the shape the Terraform module reads
//! (`jsondecode(file(...))`). Keys are sorted and the JSON is pretty-printed, so the same
//! build gives the same file.

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format_version: u32,
    /// Cargo profile the binaries came from (`release` for deployment, `e2e` in tests).
    pub profile: String,
    pub functions: BTreeMap<String, FunctionPackage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunctionPackage {
    pub architecture: String,
    /// Zip path relative to the manifest's directory.
    pub zip: String,
    /// Hex SHA-256 of the zip.
    pub sha256: String,
    /// Base64 SHA-256 of the zip: what `filebase64sha256()` gives and `source_code_hash` wants.
    pub source_code_hash: String,
    pub size: u64,
}

impl FunctionPackage {
    pub fn describe(architecture: &str, zip_path: &str, zip: &[u8]) -> Self {
        let digest = super::sha256(zip);
        FunctionPackage {
            architecture: architecture.to_owned(),
            zip: zip_path.to_owned(),
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
            source_code_hash: base64::engine::general_purpose::STANDARD.encode(digest),
            size: zip.len() as u64,
        }
    }
}

impl Manifest {
    pub fn new(profile: &str) -> Self {
        Manifest {
            format_version: FORMAT_VERSION,
            profile: profile.to_owned(),
            functions: BTreeMap::new(),
        }
    }

    pub fn insert(&mut self, function: &str, package: FunctionPackage) {
        self.functions.insert(function.to_owned(), package);
    }

    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("manifest serialises");
        json.push('\n');
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_what_terraform_computes() {
        // sha256("abc"), hex and base64, as `sha256sum` and `filebase64sha256()` print them.
        let package = FunctionPackage::describe("arm64", "arm64/f.zip", b"abc");
        assert_eq!(
            package.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            package.source_code_hash,
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert_eq!(package.size, 3);
    }

    #[test]
    fn json_is_stable_and_round_trips() {
        let mut m = Manifest::new("release");
        m.insert("b", FunctionPackage::describe("arm64", "arm64/b.zip", b"b"));
        m.insert("a", FunctionPackage::describe("arm64", "arm64/a.zip", b"a"));
        let json = m.to_json();
        assert!(json.find("\"a\"").unwrap() < json.find("\"b\"").unwrap());
        assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);
        assert_eq!(json, m.to_json());
    }
}
