//! The stage graph: explicit `@stage` references plus implicit edges from a
//! path input to the stage whose `outs` produce it (as in DVC), cycle
//! detection and topological order.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::pipeline_file::{PipelineDef, StageBody};

/// Direct dependencies of each stage (indices into `PipelineDef::stages`)
/// and a topological order.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    pub(crate) upstream: Vec<BTreeSet<usize>>,
    pub(crate) order: Vec<usize>,
}

/// Whether path input `dep` reads something that output `out` writes.
pub(crate) fn overlaps(dep: &str, out: &str) -> bool {
    let dep = dep.trim_start_matches("./").trim_end_matches('/');
    if dep.contains(['*', '?', '[']) {
        let by_pattern = glob::Pattern::new(dep).is_ok_and(|p| p.matches(out));
        return by_pattern || dep.starts_with(&format!("{out}/"));
    }
    dep == out || dep.starts_with(&format!("{out}/")) || out.starts_with(&format!("{dep}/"))
}

impl Graph {
    pub(crate) fn build(p: &PipelineDef) -> Result<Self> {
        let index = |name: &str| p.stages.iter().position(|s| s.name == name);
        let mut upstream = vec![BTreeSet::new(); p.stages.len()];
        for (i, stage) in p.stages.iter().enumerate() {
            for entry in stage.body.input_entries() {
                if let Some(name) = entry.stage_ref() {
                    let Some(j) = index(name) else {
                        let known: Vec<String> = p.stages.iter().map(|s| format!("`@{}`", s.name)).collect();
                        return Err(p.error(
                            &stage.name,
                            entry.line,
                            format!("`{}` names no stage of this pipeline", entry.text),
                            Some(format!("Stages you can refer to: {}", known.join(", "))),
                        ));
                    };
                    upstream[i].insert(j);
                    continue;
                }
                for (j, other) in p.stages.iter().enumerate() {
                    if let StageBody::Command { outs, .. } = &other.body
                        && outs.iter().any(|(o, _)| overlaps(&entry.text, o.as_str()))
                    {
                        upstream[i].insert(j);
                    }
                }
            }
        }
        // A stage that reads its own outputs is a cycle of length one.
        let order = topological_order(p, &upstream)?;
        Ok(Self { upstream, order })
    }

    /// `targets` and everything they need, in topological order.
    pub(crate) fn closure(&self, targets: &[usize]) -> Vec<usize> {
        let mut want = vec![false; self.upstream.len()];
        let mut stack: Vec<usize> = targets.to_vec();
        while let Some(i) = stack.pop() {
            if !want[i] {
                want[i] = true;
                stack.extend(self.upstream[i].iter().copied());
            }
        }
        self.order.iter().copied().filter(|&i| want[i]).collect()
    }
}

/// Kahn's algorithm, always taking the ready stage that comes first in the
/// file, so the order is stable and reads like the file.
fn topological_order(p: &PipelineDef, upstream: &[BTreeSet<usize>]) -> Result<Vec<usize>> {
    let n = upstream.len();
    let mut waiting: Vec<usize> = upstream.iter().map(BTreeSet::len).collect();
    let mut downstream = vec![Vec::new(); n];
    for (i, ups) in upstream.iter().enumerate() {
        for &u in ups {
            downstream[u].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &downstream[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.insert(d);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every stage left waits on another one left: walk upstream edges among
    // them until a stage repeats; that stretch is a cycle.
    let left: Vec<usize> = (0..n).filter(|i| !order.contains(i)).collect();
    let mut path = vec![left[0]];
    loop {
        let last = *path.last().expect("path is never empty");
        let next = *upstream[last].iter().find(|u| left.contains(u)).expect("a waiting stage waits on a waiting stage");
        if let Some(from) = path.iter().position(|&s| s == next) {
            // Read as "needs": first -> what it needs -> ... -> first.
            let mut cycle: Vec<String> = path[from..].iter().map(|&s| p.stages[s].name.clone()).collect();
            cycle.push(p.stages[next].name.clone());
            let first = &p.stages[next];
            return Err(Error::Cycle {
                file: p.display_path.clone(),
                line: first.line,
                stage: first.name.clone(),
                cycle,
            });
        }
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn graph(src: &str) -> Result<(PipelineDef, Graph)> {
        let p = PipelineDef::parse("p", Path::new("/r"), Path::new("/r/pipelines/p.toml"), "pipelines/p.toml", src)?;
        let g = Graph::build(&p)?;
        Ok((p, g))
    }

    fn names(p: &PipelineDef, idx: &[usize]) -> Vec<String> {
        idx.iter().map(|&i| p.stages[i].name.clone()).collect()
    }

    #[test]
    fn order_follows_refs_and_implicit_outs() {
        let (p, g) = graph(
            "[stages.report]\ncmd = \"x\"\ndeps = [\"out/b.txt\"]\n\
             [stages.b]\ncmd = \"x\"\ndeps = [\"@a\"]\nouts = [\"out/b.txt\"]\n\
             [stages.a]\ncmd = \"x\"\nouts = [\"out/a\"]\n\
             [stages.lonely]\ncmd = \"x\"\n",
        )
        .unwrap();
        assert_eq!(names(&p, &g.order), ["a", "b", "report", "lonely"]);
        // Ties go to the stage that comes first in the file.
        assert_eq!(names(&p, &g.closure(&[1])), ["a", "b"]);
    }

    #[test]
    fn cycle_is_reported_with_its_path() {
        let err = graph(
            "[stages.a]\ncmd = \"x\"\ndeps = [\"@c\"]\n[stages.b]\ncmd = \"x\"\ndeps = [\"@a\"]\n[stages.c]\ncmd = \"x\"\ndeps = [\"@b\"]\n",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("pipelines/p.toml:"), "{msg}");
        assert!(msg.contains("dependency cycle: "), "{msg}");
        for s in ["a", "b", "c"] {
            assert!(msg.contains(&format!("`{s}`")) || msg.contains(s), "{msg}");
        }
        let err = graph("[stages.a]\ncmd = \"x\"\ndeps = [\"out/a.txt\"]\nouts = [\"out/a.txt\"]\n").unwrap_err();
        assert!(err.to_string().contains("dependency cycle: a -> a"), "{err}");
    }

    #[test]
    fn unknown_reference_names_line() {
        let err = graph("[stages.a]\ncmd = \"x\"\ndeps = [\n  \"@nope\",\n]\n").unwrap_err();
        assert_eq!(err.to_string(), "pipelines/p.toml:4: stage `a`: `@nope` names no stage of this pipeline");
    }
}
