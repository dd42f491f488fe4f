//! Folding the runs of a [`Measurement`] into one tree with statistics per module.
//!
//! A module is identified by its place in the tree: the chain of names from the top-level
//! import down to it (plus, when a name repeats under one parent, its occurrence number).
//! Each run contributes its times to that place; the report gives the median and the range
//! (min..max) over the runs in each state. Medians are not additive, so a parent's median can
//! differ a little from its self median plus its children's.

use std::collections::HashMap;

use serde::Serialize;

use crate::parse::Node;
use crate::run::{Kind, Measurement, Run};

/// Median and range of a sample, microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stat {
    pub median: f64,
    pub min: u64,
    pub max: u64,
    /// How many runs had this value (a module missing from some runs has fewer).
    pub n: usize,
}

impl Stat {
    pub fn of(values: &[u64]) -> Stat {
        if values.is_empty() {
            return Stat::default();
        }
        let mut v = values.to_vec();
        v.sort_unstable();
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2] as f64
        } else {
            (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
        };
        Stat {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        }
    }
}

/// One module in the folded tree.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleReport {
    pub name: String,
    pub kind: Kind,
    pub cold_self: Stat,
    pub cold_cumulative: Stat,
    pub warm_self: Stat,
    pub warm_cumulative: Stat,
    /// Median cold self minus median warm self: the compile (and cache-write) cost of this
    /// module alone, which the cache saves.
    pub saved_self_us: f64,
    /// The same for the whole subtree (cumulative).
    pub saved_cumulative_us: f64,
    /// 3.14+ `-X importtime=2`: modules this one imported that were already imported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub already_imported: Vec<String>,
    pub children: Vec<ModuleReport>,
}

impl ModuleReport {
    /// Pre-order walk.
    pub fn walk<'a>(&'a self, out: &mut Vec<&'a ModuleReport>) {
        out.push(self);
        for c in &self.children {
            c.walk(out);
        }
    }
}

/// Totals of one state.
#[derive(Debug, Clone, Serialize)]
pub struct StateTotals {
    /// Process wall time, spawn to exit.
    pub wall: Stat,
    /// Time inside imports: the sum of the top-level cumulative times.
    pub imports: Stat,
    /// Files in the prefix after a run (cold: compiled and written by that run).
    pub cache_files: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub modules: usize,
    pub source: usize,
    pub sourceless: usize,
    pub extension: usize,
    pub frozen: usize,
    pub built_in: usize,
    pub other: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub interpreter: crate::run::Interpreter,
    pub program: crate::run::Program,
    pub runs: usize,
    /// Cold runs kept the standard library's pycs (`--warm-stdlib`).
    pub warm_stdlib: bool,
    pub cold: StateTotals,
    pub warm: StateTotals,
    /// Median cold wall / median warm wall.
    pub cold_warm_ratio: f64,
    /// (median cold wall - median warm wall) / median cold wall: the share of a cold start-up
    /// spent compiling (and writing) bytecode.
    pub compile_share: f64,
    /// Median cold wall - median warm wall, microseconds.
    pub compile_us: f64,
    pub counts: Counts,
    /// Files of the warm prefix that a warm run rewrote (should be empty).
    pub warm_rewritten: Vec<String>,
    pub modules: Vec<ModuleReport>,
}

#[derive(Default)]
struct Acc {
    name: String,
    cold_self: Vec<u64>,
    cold_cum: Vec<u64>,
    warm_self: Vec<u64>,
    warm_cum: Vec<u64>,
    already: Vec<String>,
    children: Vec<usize>,
}

struct Folder {
    nodes: Vec<Acc>,
    roots: Vec<usize>,
    index: HashMap<(Option<usize>, String, usize), usize>,
}

impl Folder {
    fn add_run(&mut self, run: &Run, warm: bool) {
        let roots: Vec<&Node> = run.parsed.roots.iter().collect();
        self.add_level(None, &roots, warm);
    }

    fn add_level(&mut self, parent: Option<usize>, nodes: &[&Node], warm: bool) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut cached: Vec<String> = Vec::new();
        for n in nodes {
            let Some(t) = n.times else {
                cached.push(n.name.clone());
                continue;
            };
            let occ = seen.entry(n.name.as_str()).or_insert(0);
            let key = (parent, n.name.clone(), *occ);
            *occ += 1;
            let id = match self.index.get(&key) {
                Some(&id) => id,
                None => {
                    let id = self.nodes.len();
                    self.nodes.push(Acc {
                        name: n.name.clone(),
                        ..Acc::default()
                    });
                    self.index.insert(key, id);
                    match parent {
                        Some(p) => self.nodes[p].children.push(id),
                        None => self.roots.push(id),
                    }
                    id
                }
            };
            let a = &mut self.nodes[id];
            if warm {
                a.warm_self.push(t.self_us);
                a.warm_cum.push(t.cumulative_us);
            } else {
                a.cold_self.push(t.self_us);
                a.cold_cum.push(t.cumulative_us);
            }
            let kids: Vec<&Node> = n.children.iter().collect();
            self.add_level(Some(id), &kids, warm);
        }
        if let Some(p) = parent {
            let a = &mut self.nodes[p];
            if a.already.is_empty() {
                a.already = cached;
            }
        }
    }

    fn build(&self, id: usize, kinds: &HashMap<&str, Kind>) -> ModuleReport {
        let a = &self.nodes[id];
        let cold_self = Stat::of(&a.cold_self);
        let warm_self = Stat::of(&a.warm_self);
        let cold_cumulative = Stat::of(&a.cold_cum);
        let warm_cumulative = Stat::of(&a.warm_cum);
        ModuleReport {
            name: a.name.clone(),
            kind: kinds.get(a.name.as_str()).copied().unwrap_or(Kind::Other),
            saved_self_us: cold_self.median - warm_self.median,
            saved_cumulative_us: cold_cumulative.median - warm_cumulative.median,
            cold_self,
            cold_cumulative,
            warm_self,
            warm_cumulative,
            already_imported: a.already.clone(),
            children: a.children.iter().map(|&c| self.build(c, kinds)).collect(),
        }
    }
}

/// Fold a measurement into a report.
pub fn report(m: &Measurement) -> Report {
    let mut f = Folder {
        nodes: Vec::new(),
        roots: Vec::new(),
        index: HashMap::new(),
    };
    for r in &m.cold {
        f.add_run(r, false);
    }
    for r in &m.warm {
        f.add_run(r, true);
    }
    let kinds: HashMap<&str, Kind> = m.kinds.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let modules: Vec<ModuleReport> = f.roots.iter().map(|&r| f.build(r, &kinds)).collect();

    let totals = |runs: &[Run]| StateTotals {
        wall: Stat::of(&runs.iter().map(|r| r.wall_us).collect::<Vec<_>>()),
        imports: Stat::of(&runs.iter().map(|r| r.parsed.total_us()).collect::<Vec<_>>()),
        cache_files: runs.iter().map(|r| r.cache_files).max().unwrap_or(0),
    };
    let cold = totals(&m.cold);
    let warm = totals(&m.warm);
    let compile_us = cold.wall.median - warm.wall.median;
    let mut counts = Counts {
        modules: 0,
        source: 0,
        sourceless: 0,
        extension: 0,
        frozen: 0,
        built_in: 0,
        other: 0,
    };
    let mut all = Vec::new();
    for r in &modules {
        r.walk(&mut all);
    }
    let mut names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for n in names {
        counts.modules += 1;
        match kinds.get(n).copied().unwrap_or(Kind::Other) {
            Kind::Source => counts.source += 1,
            Kind::Sourceless => counts.sourceless += 1,
            Kind::Extension => counts.extension += 1,
            Kind::Frozen => counts.frozen += 1,
            Kind::BuiltIn => counts.built_in += 1,
            Kind::Other => counts.other += 1,
        }
    }
    Report {
        interpreter: m.interpreter.clone(),
        program: m.program.clone(),
        runs: m.cold.len(),
        warm_stdlib: m.warm_stdlib,
        cold_warm_ratio: if warm.wall.median > 0.0 {
            cold.wall.median / warm.wall.median
        } else {
            0.0
        },
        compile_share: if cold.wall.median > 0.0 {
            compile_us / cold.wall.median
        } else {
            0.0
        },
        compile_us,
        cold,
        warm,
        counts,
        warm_rewritten: m.warm_rewritten.clone(),
        modules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        let s = Stat::of(&[5, 1, 3]);
        assert_eq!((s.median, s.min, s.max, s.n), (3.0, 1, 5, 3));
        assert_eq!(Stat::of(&[4, 2]).median, 3.0);
        assert_eq!(Stat::of(&[]).n, 0);
    }
}
