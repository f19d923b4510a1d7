//! Why a stage is stale: the difference between the key recorded in the lock
//! file and the key of now, field by field.

use std::fmt;

use serde::Serialize;

use crate::cache::Cache;
use crate::inputs::diff_listings;
use crate::lock_file::LockedStage;
use crate::stage_key::StageKey;

/// One reason a stage must run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Reason {
    /// No record of a previous run.
    NeverRun,
    /// `--force`.
    Forced,
    /// `uses` or `cmd` ↔ `uses` changed.
    KindChanged {
        /// Before.
        old: String,
        /// Now.
        new: String,
    },
    /// The kind's implementation version changed (new actionbench release).
    ImplementationChanged {
        /// The kind.
        kind: String,
        /// Before.
        old: u32,
        /// Now.
        new: u32,
    },
    /// A param was added, removed or changed.
    ParamChanged {
        /// The param.
        name: String,
        /// Before (`None`: absent).
        old: Option<String>,
        /// Now.
        new: Option<String>,
    },
    /// The command line changed.
    CommandChanged {
        /// Before.
        old: String,
        /// Now.
        new: String,
    },
    /// The declared outputs changed.
    OutsChanged {
        /// Before.
        old: Vec<String>,
        /// Now.
        new: Vec<String>,
    },
    /// An input entry was added to or removed from the stage.
    InputListChanged {
        /// The entry.
        entry: String,
        /// True when added, false when removed.
        added: bool,
    },
    /// The content of an input changed.
    InputChanged {
        /// The entry as written.
        entry: String,
        /// Files whose content changed (directory or glob inputs).
        modified: Vec<String>,
        /// Files that appeared.
        added: Vec<String>,
        /// Files that disappeared.
        removed: Vec<String>,
    },
    /// An input does not exist yet (an upstream stage will make it).
    InputPending {
        /// The entry.
        entry: String,
    },
    /// A stage this one depends on changed its key (it re-ran or will).
    UpstreamChanged {
        /// The upstream stage.
        stage: String,
    },
    /// A stage this one depends on must run first.
    UpstreamStale {
        /// The upstream stage.
        stage: String,
    },
    /// An external tool's version changed.
    ToolChanged {
        /// The tool.
        tool: String,
        /// Before.
        old: Option<String>,
        /// Now.
        new: Option<String>,
    },
    /// A declared output is gone.
    OutputMissing {
        /// The output.
        path: String,
    },
    /// A declared output was changed since the stage produced it.
    OutputModified {
        /// The output.
        path: String,
    },
    /// The key differs but none of its parts does: the lock file was
    /// written by a version of actionbench with another key format.
    KeyFormatChanged,
    /// The published output of a built-in stage is no longer in the cache
    /// (removed by `gc` or by hand).
    CacheMissing,
}

fn show(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "(none)".to_string(), |s| format!("`{s}`"))
}

fn few(list: &[String]) -> String {
    let shown: Vec<String> = list.iter().take(3).map(|p| format!("`{p}`")).collect();
    let more = if list.len() > 3 { format!(" and {} more", list.len() - 3) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NeverRun => write!(f, "never run"),
            Reason::Forced => write!(f, "forced"),
            Reason::KindChanged { old, new } => write!(f, "kind changed: `{old}` -> `{new}`"),
            Reason::ImplementationChanged { kind, old, new } => {
                write!(f, "implementation of `{kind}` changed: version {old} -> {new}")
            }
            Reason::ParamChanged { name, old, new } => {
                write!(f, "param `{name}` changed: {} -> {}", show(old), show(new))
            }
            Reason::CommandChanged { old, new } => write!(f, "command changed: `{old}` -> `{new}`"),
            Reason::OutsChanged { old, new } => write!(f, "outs changed: {old:?} -> {new:?}"),
            Reason::InputListChanged { entry, added: true } => write!(f, "input `{entry}` added"),
            Reason::InputListChanged { entry, added: false } => write!(f, "input `{entry}` removed"),
            Reason::InputChanged { entry, modified, added, removed } => {
                write!(f, "input `{entry}` changed")?;
                let mut parts = Vec::new();
                if !modified.is_empty() {
                    parts.push(format!("{} modified ({})", modified.len(), few(modified)));
                }
                if !added.is_empty() {
                    parts.push(format!("{} added ({})", added.len(), few(added)));
                }
                if !removed.is_empty() {
                    parts.push(format!("{} removed ({})", removed.len(), few(removed)));
                }
                if !parts.is_empty() {
                    write!(f, ": {}", parts.join(", "))?;
                }
                Ok(())
            }
            Reason::InputPending { entry } => write!(f, "input `{entry}` does not exist yet"),
            Reason::UpstreamChanged { stage } => write!(f, "upstream stage `{stage}` changed"),
            Reason::UpstreamStale { stage } => write!(f, "upstream stage `{stage}` is stale"),
            Reason::ToolChanged { tool, old, new } => {
                write!(f, "tool `{tool}` changed: {} -> {}", show(old), show(new))
            }
            Reason::OutputMissing { path } => write!(f, "output `{path}` is missing"),
            Reason::OutputModified { path } => write!(f, "output `{path}` was modified"),
            Reason::CacheMissing => write!(f, "cached output was removed"),
            Reason::KeyFormatChanged => write!(f, "the lock file was written with another key format"),
        }
    }
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reasons why `new` differs from what ran (`old`), in a fixed order.
/// Listings of directory and glob inputs (old and new) come from the cache,
/// where hashing saved them.
pub(crate) fn diff_keys(old: &LockedStage, new: &StageKey, cache: &Cache) -> Vec<Reason> {
    let o = &old.definition;
    let mut reasons = Vec::new();
    if o.kind != new.kind {
        reasons.push(Reason::KindChanged { old: o.kind.clone(), new: new.kind.clone() });
    } else if o.implementation_version != new.implementation_version {
        reasons.push(Reason::ImplementationChanged {
            kind: new.kind.clone(),
            old: o.implementation_version,
            new: new.implementation_version,
        });
    }
    let names: std::collections::BTreeSet<&String> = o.params.keys().chain(new.params.keys()).collect();
    for name in names {
        let (a, b) = (o.params.get(name), new.params.get(name));
        if a != b {
            reasons.push(Reason::ParamChanged { name: name.clone(), old: a.map(value_text), new: b.map(value_text) });
        }
    }
    if o.command != new.command {
        reasons.push(Reason::CommandChanged {
            old: o.command.clone().unwrap_or_default(),
            new: new.command.clone().unwrap_or_default(),
        });
    }
    if o.outs != new.outs {
        reasons.push(Reason::OutsChanged { old: o.outs.clone(), new: new.outs.clone() });
    }
    let entries: std::collections::BTreeSet<&String> = o.inputs.keys().chain(new.inputs.keys()).collect();
    for entry in entries {
        match (o.inputs.get(entry), new.inputs.get(entry)) {
            (None, Some(_)) => reasons.push(Reason::InputListChanged { entry: entry.clone(), added: true }),
            (Some(_), None) => reasons.push(Reason::InputListChanged { entry: entry.clone(), added: false }),
            (Some(old_hash), Some(new_hash)) if old_hash != new_hash => {
                let (modified, added, removed) = match (cache.load_listing(old_hash), cache.load_listing(new_hash)) {
                    (Some(la), Some(lb)) => diff_listings(&la, &lb),
                    _ => Default::default(),
                };
                reasons.push(Reason::InputChanged { entry: entry.clone(), modified, added, removed });
            }
            _ => {}
        }
    }
    let stages: std::collections::BTreeSet<&String> = o.upstream.keys().chain(new.upstream.keys()).collect();
    for stage in stages {
        match (o.upstream.get(stage), new.upstream.get(stage)) {
            (None, Some(_)) => reasons.push(Reason::InputListChanged { entry: format!("@{stage}"), added: true }),
            (Some(_), None) => reasons.push(Reason::InputListChanged { entry: format!("@{stage}"), added: false }),
            (Some(a), Some(b)) if a != b => reasons.push(Reason::UpstreamChanged { stage: stage.clone() }),
            _ => {}
        }
    }
    let tools: std::collections::BTreeSet<&String> = o.tools.keys().chain(new.tools.keys()).collect();
    for tool in tools {
        let (a, b) = (o.tools.get(tool), new.tools.get(tool));
        if a != b {
            reasons.push(Reason::ToolChanged { tool: tool.clone(), old: a.cloned(), new: b.cloned() });
        }
    }
    reasons
}
