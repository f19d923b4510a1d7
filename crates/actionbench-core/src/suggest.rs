//! "Did you mean" for a name that is not one of the known ones: close
//! spellings (`ingest.nut` → `ingest.ntu`) and the longer names the given
//! one starts (`ingest.kinetics` → `ingest.kinetics-skeleton`).

/// Known names close to `given`, best first: names that `given` is a
/// prefix of (or that are a prefix of `given`, at a `.`/`-`/`_` boundary),
/// then names within an edit distance of about a third of its length (at
/// most 3, and less than its length: `b` does not suggest `a`). Empty when
/// nothing is close.
pub fn suggestions<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let given_lower = given.to_lowercase();
    let limit = (given.chars().count() / 3).clamp(1, 3);
    let mut scored: Vec<(usize, usize, &str)> = known
        .into_iter()
        .filter(|k| *k != given)
        .filter_map(|k| {
            let lower = k.to_lowercase();
            let prefix = !given_lower.is_empty()
                && (lower.starts_with(&given_lower)
                    || (given_lower.starts_with(&lower) && given_lower[lower.len()..].starts_with(['.', '-', '_'])));
            let distance = strsim::levenshtein(&given_lower, &lower);
            if prefix {
                Some((0, distance, k))
            } else if distance <= limit && distance < given.chars().count() {
                Some((1, distance, k))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup_by_key(|s| s.2);
    scored.into_iter().map(|(_, _, k)| k).collect()
}

/// The hint for an unknown name: "Did you mean `a`?", "Did you mean one
/// of `a`, `b`?", or `None` when nothing is close.
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    const SHOWN: usize = 5;
    let close = suggestions(given, known);
    let quoted = |names: &[&str]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    match close.as_slice() {
        [] => None,
        [one] => Some(format!("Did you mean `{one}`?")),
        many => Some(format!("Did you mean one of {}?", quoted(&many[..many.len().min(SHOWN)]))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [&str; 6] =
        ["ingest.ntu", "ingest.kinetics-skeleton", "ingest.pyskl", "ingest.h36m", "train", "files.manifest"];

    #[test]
    fn prefixes_and_typos() {
        assert_eq!(suggestions("ingest.kinetics", KINDS), ["ingest.kinetics-skeleton"]);
        assert_eq!(suggestions("ingest.nut", KINDS), ["ingest.ntu"]);
        assert_eq!(suggestions("Ingest.NTU", KINDS), ["ingest.ntu"]);
        assert_eq!(suggestions("ingest", KINDS).len(), 4, "every ingest kind starts with `ingest`");
        assert_eq!(suggestions("train.lart", KINDS), ["train"], "`train` then a `.`: a kind with a suffix");
        assert_eq!(suggestions("trainer", KINDS), ["train"]);
        assert!(suggestions("zzz", KINDS).is_empty());
        assert!(suggestions("b", ["a", "c"]).is_empty(), "one letter shares nothing with another");
        assert!(suggestions("", KINDS).is_empty());
        assert_eq!(did_you_mean("ingest.kinetics", KINDS).unwrap(), "Did you mean `ingest.kinetics-skeleton`?");
        assert_eq!(
            did_you_mean("ingest.", KINDS).unwrap(),
            "Did you mean one of `ingest.ntu`, `ingest.h36m`, `ingest.pyskl`, `ingest.kinetics-skeleton`?"
        );
        assert_eq!(did_you_mean("xyz", KINDS), None);
    }
}
