use std::collections::BTreeMap;

use actionbench_core::{Fingerprint, fingerprint_of};
use serde::{Deserialize, Serialize};

/// What a stage's key is made of. The key is the blake3 digest of this
/// struct serialised canonically ([`fingerprint_of`]: sorted maps, fixed
/// field order), so equal parts give equal keys on every machine.
///
/// The stage's *name* is not part of the key: two stages that do the same
/// work on the same data share their output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StageKey {
    /// `cmd` for command stages, the registered kind otherwise.
    pub kind: String,
    /// The kind's implementation version: bumped when its output changes
    /// for the same inputs.
    pub implementation_version: u32,
    /// Canonical params (defaults filled in by the kind).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub params: toml::Table,
    /// The command line of a command stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Declared outputs of a command stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outs: Vec<String>,
    /// Content hash of every path input, by entry as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, Fingerprint>,
    /// Key of every stage this one depends on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub upstream: BTreeMap<String, Fingerprint>,
    /// Version of every external tool the stage uses.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, String>,
}

/// Domain tag of stage keys; changing it invalidates every cache entry.
const STAGE_KEY_TAG: &str = "actionbench-stage-key-v1";

impl StageKey {
    /// The key: blake3 of the canonical serialisation.
    pub fn fingerprint(&self) -> Fingerprint {
        fingerprint_of(STAGE_KEY_TAG, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the key of a fixed stage definition. If this test changes, every
    /// cached stage result was invalidated: make sure that is on purpose.
    #[test]
    fn key_of_fixed_definition_is_pinned() {
        let mut key = StageKey {
            kind: "cmd".into(),
            implementation_version: 1,
            params: toml::Table::new(),
            command: Some("echo hi > out.txt".into()),
            outs: vec!["out.txt".into()],
            inputs: BTreeMap::new(),
            upstream: BTreeMap::new(),
            tools: BTreeMap::new(),
        };
        key.inputs.insert("a.txt".into(), Fingerprint::of_bytes(b"a"));
        assert_eq!(key.fingerprint().to_hex(), "54daa2ae0ec5ad7e6f4fc97b7fcac66f6596807e8cdfe7cd3fa677cbed0ebde4");
    }
}
