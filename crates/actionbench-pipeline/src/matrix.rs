//! Sweeps without copy-paste: a stage table with
//! `matrix = { seed = [0, 1, 2] }` expands into one stage per combination
//! (DVC's `matrix`), named `train@seed=0` — the table's name, `@`, then
//! `key=value` pairs in alphabetical key order joined by `,`.
//!
//! In an expanded stage, `{matrix.KEY}` is replaced in params, inputs,
//! `deps`, `outs`, `cmd` and `tools`; a param whose whole value is
//! `"{matrix.KEY}"` takes the value's own type (`seed = "{matrix.seed}"`
//! is the integer 0). A reference `@train` to a matrix stage follows the
//! expansion: from a stage whose matrix has the same keys it names the
//! instance with the same values (`predict@seed=1` reads `train@seed=1`);
//! from a stage without a matrix, an `inputs` / `deps` entry names every
//! instance. An instance can always be named in full (`@train@seed=1`).

use std::collections::BTreeMap;

/// The most stages one `matrix` may expand into: a typo (`seed =
/// [0, …]` pasted into every key) fails fast instead of making millions.
const MAX_INSTANCES: usize = 10_000;

/// One combination: key → value.
pub type Combo = BTreeMap<String, toml::Value>;

/// A parsed `matrix` table: each key with its list of values.
#[derive(Debug, Clone)]
pub(crate) struct Matrix {
    axes: Vec<(String, Vec<toml::Value>)>,
}

/// The text of a matrix value in stage names and substitutions.
pub(crate) fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn valid_value_text(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The name of the instance of stage `base` for `combo`.
pub fn instance_name(base: &str, combo: &Combo) -> String {
    let pairs: Vec<String> = combo.iter().map(|(k, v)| format!("{k}={}", value_text(v))).collect();
    format!("{base}@{}", pairs.join(","))
}

/// The table a stage name comes from: `train` for `train@seed=0`.
pub fn base_name(stage: &str) -> &str {
    stage.split_once('@').map_or(stage, |(base, _)| base)
}

impl Matrix {
    /// Checks a `matrix` table: every key a name, every value a non-empty
    /// list of strings, integers, floats or booleans that fit in a stage
    /// name, no value twice.
    pub(crate) fn parse(table: &toml::Table) -> Result<Self, String> {
        if table.is_empty() {
            return Err("`matrix` is empty; give it at least one key with a list of values".into());
        }
        let mut axes = Vec::new();
        for (key, values) in table {
            if !valid_value_text(key) || key.contains('.') {
                return Err(format!("matrix key `{key}` may use only letters, digits, `-` and `_`"));
            }
            let toml::Value::Array(values) = values else {
                return Err(format!("matrix key `{key}` must be a list of values, like `{key} = [0, 1, 2]`"));
            };
            if values.is_empty() {
                return Err(format!("matrix key `{key}` has no values"));
            }
            let mut seen = Vec::new();
            for v in values {
                if matches!(v, toml::Value::Array(_) | toml::Value::Table(_) | toml::Value::Datetime(_)) {
                    return Err(format!(
                        "matrix key `{key}`: `{v}` is not a string, integer, float or boolean (values become part of stage names)"
                    ));
                }
                let text = value_text(v);
                if !valid_value_text(&text) {
                    return Err(format!(
                        "matrix key `{key}`: `{text}` cannot be part of a stage name; use letters, digits, `.`, `-` and `_`"
                    ));
                }
                if seen.contains(&text) {
                    return Err(format!("matrix key `{key}` lists `{text}` twice"));
                }
                seen.push(text);
            }
            axes.push((key.clone(), values.clone()));
        }
        let count = axes.iter().try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()));
        if count.is_none_or(|n| n > MAX_INSTANCES) {
            return Err(format!(
                "`matrix` expands into more than {MAX_INSTANCES} stages; split the sweep into several tables or pipelines"
            ));
        }
        Ok(Self { axes })
    }

    /// The keys, in alphabetical order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.axes.iter().map(|(k, _)| k.as_str())
    }

    /// Every combination: the first key varies slowest, values in the
    /// order written.
    pub(crate) fn combinations(&self) -> Vec<Combo> {
        let mut out = vec![Combo::new()];
        for (key, values) in &self.axes {
            out = out
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.insert(key.clone(), v.clone());
                        c
                    })
                })
                .collect();
        }
        out
    }
}

/// Replaces every `{matrix.KEY}` in `text` (an error names an unknown key,
/// or the placeholder in a stage without a matrix).
pub(crate) fn substitute_text(text: &str, combo: Option<&Combo>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{matrix.") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{matrix.".len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let key = &after[..end];
        let Some(combo) = combo else {
            return Err(format!("`{{matrix.{key}}}` is used, but this stage has no `matrix`"));
        };
        let Some(value) = combo.get(key) else {
            let keys: Vec<String> = combo.keys().map(|k| format!("`{k}`")).collect();
            return Err(format!(
                "`{{matrix.{key}}}`: the stage's matrix has no key `{key}` (it has {})",
                keys.join(", ")
            ));
        };
        out.push_str(&value_text(value));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Substitutes `{matrix.KEY}` in every string below `value`; a string
/// that is exactly one placeholder becomes the value itself (typed).
pub(crate) fn substitute_value(value: &mut toml::Value, combo: Option<&Combo>) -> Result<(), String> {
    match value {
        toml::Value::String(s) => {
            if let Some(key) = s.strip_prefix("{matrix.").and_then(|k| k.strip_suffix('}'))
                && let Some(v) = combo.and_then(|c| c.get(key))
            {
                *value = v.clone();
            } else {
                *s = substitute_text(s, combo)?;
            }
        }
        toml::Value::Array(items) => {
            for item in items {
                substitute_value(item, combo)?;
            }
        }
        toml::Value::Table(table) => {
            for (_, item) in table.iter_mut() {
                substitute_value(item, combo)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The matrix stages of a file: table name → its matrix.
#[derive(Debug, Default)]
pub(crate) struct Matrices(pub(crate) BTreeMap<String, Matrix>);

/// What a reference to a stage becomes after expansion.
pub(crate) enum Followed {
    /// Not a matrix stage (or an instance named in full): unchanged.
    Same,
    /// The matching instance.
    One(String),
    /// Every instance (from a stage without a matrix).
    All(Vec<String>),
}

impl Matrices {
    /// Where a reference to stage `target` from a stage with `combo` leads.
    pub(crate) fn follow(&self, target: &str, combo: Option<&Combo>) -> Result<Followed, String> {
        let Some(matrix) = self.0.get(target) else { return Ok(Followed::Same) };
        match combo {
            None => Ok(Followed::All(matrix.combinations().iter().map(|c| instance_name(target, c)).collect())),
            Some(combo) => {
                let mut picked = Combo::new();
                for key in matrix.keys() {
                    let Some(v) = combo.get(key) else {
                        let example = instance_name(target, &matrix.combinations()[0]);
                        return Err(format!(
                            "`@{target}` is a matrix stage over `{key}`, which this stage's matrix lacks; \
                             name one instance (`@{example}`) or add `{key}` to this stage's `matrix`"
                        ));
                    };
                    picked.insert(key.to_string(), v.clone());
                }
                if !matrix.combinations().contains(&picked) {
                    return Err(format!(
                        "`@{target}` has no instance `{}`: its matrix does not list these values",
                        instance_name(target, &picked)
                    ));
                }
                Ok(Followed::One(instance_name(target, &picked)))
            }
        }
    }

    /// `text` with a leading `@stage` (optionally `@stage/sub`) re-pointed
    /// at one instance; an error when it would name several.
    pub(crate) fn follow_one(&self, text: &str, combo: Option<&Combo>) -> Result<String, String> {
        let Some(rest) = text.strip_prefix('@') else { return Ok(text.to_string()) };
        let (stage, sub) = match rest.split_once('/') {
            Some((s, sub)) => (s, Some(sub)),
            None => (rest, None),
        };
        let with_sub = |name: &str| match sub {
            Some(sub) => format!("@{name}/{sub}"),
            None => format!("@{name}"),
        };
        match self.follow(stage, combo)? {
            Followed::Same => Ok(text.to_string()),
            Followed::One(name) => Ok(with_sub(&name)),
            Followed::All(names) => Err(format!(
                "`{text}` names the matrix stage `{stage}`, which has {} instances; name one, like `{}`",
                names.len(),
                with_sub(&names[0])
            )),
        }
    }

    /// Like [`Self::follow_one`] for an `inputs` / `deps` entry, which may
    /// name every instance.
    pub(crate) fn follow_entry(&self, text: &str, combo: Option<&Combo>) -> Result<Vec<String>, String> {
        let Some(rest) = text.strip_prefix('@') else { return Ok(vec![text.to_string()]) };
        let (stage, sub) = match rest.split_once('/') {
            Some((s, sub)) => (s, Some(sub)),
            None => (rest, None),
        };
        Ok(match self.follow(stage, combo)? {
            Followed::Same => vec![text.to_string()],
            Followed::One(name) => vec![name],
            Followed::All(names) => names,
        }
        .into_iter()
        .map(|name| if name == text { name } else { sub.map_or(format!("@{name}"), |s| format!("@{name}/{s}")) })
        .collect())
    }

    /// Re-points `@stage` string params and `{@stage}` placeholders.
    pub(crate) fn follow_params(&self, value: &mut toml::Value, combo: Option<&Combo>) -> Result<(), String> {
        match value {
            toml::Value::String(s) if s.starts_with('@') => *s = self.follow_one(s, combo)?,
            toml::Value::Array(items) => {
                for item in items {
                    self.follow_params(item, combo)?;
                }
            }
            toml::Value::Table(table) => {
                for (_, item) in table.iter_mut() {
                    self.follow_params(item, combo)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `cmd` with each `{@stage}` placeholder re-pointed.
    pub(crate) fn follow_command(&self, cmd: &str, combo: Option<&Combo>) -> Result<String, String> {
        let mut out = String::with_capacity(cmd.len());
        let mut rest = cmd;
        while let Some(start) = rest.find("{@") {
            out.push_str(&rest[..start + 1]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                out.push_str(after);
                return Ok(out);
            };
            out.push_str(&self.follow_one(&after[..end], combo)?);
            rest = &after[end..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(src: &str) -> Matrix {
        Matrix::parse(&toml::from_str::<toml::Table>(src).unwrap()).unwrap()
    }

    #[test]
    fn combinations_and_names_are_stable() {
        let m = matrix("seed = [0, 1]\nlr = [0.1, 0.05]\n");
        let names: Vec<String> = m.combinations().iter().map(|c| instance_name("train", c)).collect();
        assert_eq!(
            names,
            ["train@lr=0.1,seed=0", "train@lr=0.1,seed=1", "train@lr=0.05,seed=0", "train@lr=0.05,seed=1"]
        );
        assert_eq!(base_name("train@lr=0.1,seed=0"), "train");
        assert_eq!(base_name("train"), "train");
    }

    #[test]
    fn bad_matrices_are_explained() {
        let err = |src: &str| Matrix::parse(&toml::from_str::<toml::Table>(src).unwrap()).unwrap_err();
        assert!(err("seed = 3").contains("must be a list"), "{}", err("seed = 3"));
        assert!(err("seed = []").contains("has no values"));
        assert!(err("seed = [1, 1]").contains("lists `1` twice"));
        assert!(err("name = [\"a b\"]").contains("cannot be part of a stage name"));
        assert!(err("x = [[1]]").contains("is not a string"));
        let hundred: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let big = format!("a = [{0}]\nb = [{0}]\nc = [1, 2]\n", hundred.join(", "));
        assert!(err(&big).contains("more than 10000 stages"), "{}", err(&big));
    }

    #[test]
    fn substitution_keeps_types_of_whole_placeholders() {
        let combo = Combo::from([("seed".to_string(), toml::Value::Integer(2))]);
        let mut v: toml::Value = toml::from_str::<toml::Table>(
            "seed = \"{matrix.seed}\"\nname = \"run-{matrix.seed}\"\nlist = [\"{matrix.seed}\"]\n",
        )
        .unwrap()
        .into();
        substitute_value(&mut v, Some(&combo)).unwrap();
        assert_eq!(v["seed"], toml::Value::Integer(2));
        assert_eq!(v["name"], toml::Value::String("run-2".into()));
        assert_eq!(v["list"][0], toml::Value::Integer(2));
        assert!(substitute_text("{matrix.lr}", Some(&combo)).unwrap_err().contains("has no key `lr`"));
        assert!(substitute_text("{matrix.seed}", None).unwrap_err().contains("has no `matrix`"));
    }

    #[test]
    fn references_follow_the_expansion() {
        let mut ms = Matrices::default();
        ms.0.insert("train".into(), matrix("seed = [0, 1]"));
        let c1 = Combo::from([("seed".to_string(), toml::Value::Integer(1))]);
        assert_eq!(ms.follow_one("@train", Some(&c1)).unwrap(), "@train@seed=1");
        assert_eq!(ms.follow_one("@train/model.json", Some(&c1)).unwrap(), "@train@seed=1/model.json");
        assert_eq!(ms.follow_one("@data", Some(&c1)).unwrap(), "@data");
        assert_eq!(ms.follow_entry("@train", None).unwrap(), ["@train@seed=0", "@train@seed=1"]);
        assert!(ms.follow_one("@train", None).unwrap_err().contains("has 2 instances"));
        let other = Combo::from([("lr".to_string(), toml::Value::Float(0.1))]);
        assert!(ms.follow_one("@train", Some(&other)).unwrap_err().contains("lacks"));
        let c3 = Combo::from([("seed".to_string(), toml::Value::Integer(3))]);
        assert!(ms.follow_one("@train", Some(&c3)).unwrap_err().contains("no instance `train@seed=3`"));
        assert_eq!(ms.follow_command("cp {@train}/m.bin out", Some(&c1)).unwrap(), "cp {@train@seed=1}/m.bin out");
    }
}
