//! Output: a terminal tree, and an icicle chart (SVG, or HTML around the same SVG) with the
//! cold and the warm tree side by side on one time scale. The chart is self-contained: no
//! scripts, fonts or styles from elsewhere; hovering a box shows its numbers (`<title>`).

use std::fmt::Write as _;

use crate::report::{ModuleReport, Report, Stat};
use crate::run::Kind;

/// What the terminal tree sorts siblings by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Median cold self time.
    SelfTime,
    /// Median cold cumulative time.
    #[default]
    Cumulative,
    /// Median cold minus warm cumulative time.
    Saved,
}

#[derive(Debug, Clone, Copy)]
pub struct TreeOptions {
    pub sort: SortKey,
    /// Show every module (no cut).
    pub all: bool,
    /// Deepest level shown (0 = top-level imports only).
    pub depth: Option<usize>,
    /// Without `all`: hide modules under this share of the cold import time.
    pub min_share: f64,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            sort: SortKey::Cumulative,
            all: false,
            depth: None,
            min_share: 0.01,
        }
    }
}

fn ms(us: f64) -> String {
    format!("{:.1}", us / 1000.0)
}

fn stat_ms(s: &Stat) -> String {
    format!(
        "{} ms ({}-{})",
        ms(s.median),
        ms(s.min as f64),
        ms(s.max as f64)
    )
}

fn key(m: &ModuleReport, k: SortKey) -> f64 {
    match k {
        SortKey::SelfTime => m.cold_self.median,
        SortKey::Cumulative => m.cold_cumulative.median,
        SortKey::Saved => m.saved_cumulative_us,
    }
}

/// The terminal report of one interpreter.
pub fn text(r: &Report, o: &TreeOptions) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Python {} ({}), {}, {} cold and {} warm runs",
        r.interpreter.version,
        r.interpreter.path.display(),
        r.program.describe(),
        r.runs,
        r.runs
    );
    let _ = writeln!(
        s,
        "  {:<16} {:<26} warm (cache filled)",
        "",
        if r.warm_stdlib {
            "cold (stdlib cached only)"
        } else {
            "cold (empty cache)"
        }
    );
    let _ = writeln!(
        s,
        "  {:<16} {:<26} {}",
        "process wall",
        stat_ms(&r.cold.wall),
        stat_ms(&r.warm.wall)
    );
    let _ = writeln!(
        s,
        "  {:<16} {:<26} {}",
        "inside imports",
        stat_ms(&r.cold.imports),
        stat_ms(&r.warm.imports)
    );
    let _ = writeln!(
        s,
        "  {:<16} cold/warm {:.2}x; compiling took {} ms, {:.0}% of the cold start-up",
        "cache buys",
        r.cold_warm_ratio,
        ms(r.compile_us),
        r.compile_share * 100.0
    );
    let c = &r.counts;
    let _ = writeln!(
        s,
        "  {:<16} {} imported: {} from source (compiled cold), {} frozen, {} built-in, {} extension, {} pyc-only, {} other",
        "modules", c.modules, c.source, c.frozen, c.built_in, c.extension, c.sourceless, c.other
    );
    let rewritten = if r.warm_rewritten.is_empty() {
        "none rewritten by the warm runs".to_string()
    } else {
        format!(
            "WARNING: {} rewritten by the warm runs (e.g. {})",
            r.warm_rewritten.len(),
            r.warm_rewritten[0]
        )
    };
    let _ = writeln!(
        s,
        "  {:<16} {} pyc files written cold; {}",
        "cache", r.cold.cache_files, rewritten
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "  {:>9} {:>9} {:>9} {:>9} {:>9}  {:<8} module",
        "cold self", "cold cum", "warm self", "warm cum", "saved", "kind"
    );
    let _ = writeln!(
        s,
        "  {:>9} {:>9} {:>9} {:>9} {:>9}",
        "[ms]", "[ms]", "[ms]", "[ms]", "[ms]"
    );
    let threshold = if o.all {
        f64::NEG_INFINITY
    } else {
        r.cold.imports.median * o.min_share
    };
    let mut roots: Vec<&ModuleReport> = r.modules.iter().collect();
    roots.sort_by(|a, b| key(b, o.sort).total_cmp(&key(a, o.sort)));
    let mut hidden = 0usize;
    tree_level(&mut s, &roots, 0, o, threshold, &mut hidden);
    if hidden > 0 {
        let _ = writeln!(
            s,
            "  ({hidden} smaller import{} hidden, each under {:.0}% of the cold import time; --all shows them)",
            if hidden == 1 { "" } else { "s" },
            o.min_share * 100.0
        );
    }
    s
}

fn tree_level(
    s: &mut String,
    nodes: &[&ModuleReport],
    depth: usize,
    o: &TreeOptions,
    threshold: f64,
    hidden: &mut usize,
) {
    for m in nodes {
        if m.cold_cumulative.median < threshold {
            let mut all = Vec::new();
            m.walk(&mut all);
            *hidden += all.len();
            continue;
        }
        let _ = writeln!(
            s,
            "  {:>9} {:>9} {:>9} {:>9} {:>9}  {:<8} {}{}",
            ms(m.cold_self.median),
            ms(m.cold_cumulative.median),
            ms(m.warm_self.median),
            ms(m.warm_cumulative.median),
            ms(m.saved_cumulative_us),
            m.kind.label(),
            "  ".repeat(depth),
            m.name
        );
        if o.depth.is_some_and(|d| depth >= d) {
            continue;
        }
        let mut kids: Vec<&ModuleReport> = m.children.iter().collect();
        kids.sort_by(|a, b| key(b, o.sort).total_cmp(&key(a, o.sort)));
        tree_level(s, &kids, depth + 1, o, threshold, hidden);
    }
}

/// Escape text for XML (SVG and HTML).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

fn colour(kind: Kind, depth: usize) -> &'static str {
    let even = depth.is_multiple_of(2);
    match (kind, even) {
        (Kind::Source, true) => "#e8743b",
        (Kind::Source, false) => "#f0a070",
        (Kind::Frozen, true) => "#4a7fd6",
        (Kind::Frozen, false) => "#7fa6e6",
        (Kind::BuiltIn, true) => "#7d7d7d",
        (Kind::BuiltIn, false) => "#a6a6a6",
        (Kind::Extension, true) => "#8e5fc9",
        (Kind::Extension, false) => "#b493e0",
        (Kind::Sourceless, true) => "#3e9e6a",
        (Kind::Sourceless, false) => "#79c49b",
        (Kind::Other, true) => "#b8a24a",
        (Kind::Other, false) => "#d6c57e",
    }
}

const PANEL_W: f64 = 640.0;
const GAP: f64 = 36.0;
const ROW_H: f64 = 18.0;
const MAX_ROWS: usize = 40;
const MARGIN: f64 = 12.0;
/// Approximate width of one character of the 11 px label font.
const CHAR_W: f64 = 6.4;

fn depth_of(ms: &[ModuleReport]) -> usize {
    ms.iter()
        .map(|m| 1 + depth_of(&m.children))
        .max()
        .unwrap_or(0)
}

struct Icicle<'a> {
    out: &'a mut String,
    scale: f64,
    top: f64,
    warm: bool,
}

impl Icicle<'_> {
    fn level(&mut self, nodes: &[ModuleReport], x0: f64, width: f64, depth: usize) {
        if depth >= MAX_ROWS {
            return;
        }
        let warm = self.warm;
        let value = |m: &ModuleReport| {
            if warm {
                m.warm_cumulative.median
            } else {
                m.cold_cumulative.median
            }
        };
        let sum: f64 = nodes.iter().map(value).sum::<f64>() * self.scale;
        // Medians are not additive: squeeze children that would overflow their parent.
        let squeeze = if sum > width && sum > 0.0 {
            width / sum
        } else {
            1.0
        };
        let mut x = x0;
        for m in nodes {
            let w = value(m) * self.scale * squeeze;
            if w >= 0.5 {
                self.node(m, x, w, depth);
                self.level(&m.children, x, w, depth + 1);
            }
            x += w;
        }
    }

    fn node(&mut self, m: &ModuleReport, x: f64, w: f64, depth: usize) {
        let y = self.top + depth as f64 * ROW_H;
        let (s, c) = if self.warm {
            (&m.warm_self, &m.warm_cumulative)
        } else {
            (&m.cold_self, &m.cold_cumulative)
        };
        let _ = write!(
            self.out,
            "<g class=\"m\" data-module=\"{name}\"><title>{name} ({kind}) {state}: self {s} ms, cumulative {c} ms; saved by the cache: {saved} ms</title>\
             <rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"0.5\"/>",
            name = esc(&m.name),
            kind = m.kind.label(),
            state = if self.warm { "warm" } else { "cold" },
            s = ms(s.median),
            c = ms(c.median),
            saved = ms(m.saved_cumulative_us),
            h = ROW_H - 1.0,
            fill = colour(m.kind, depth),
        );
        let room = ((w - 6.0) / CHAR_W).floor();
        if room >= 3.0 {
            let room = room as usize;
            let label: String = if m.name.chars().count() <= room {
                m.name.clone()
            } else {
                let mut t: String = m.name.chars().take(room.saturating_sub(1)).collect();
                t.push('…');
                t
            };
            let _ = write!(
                self.out,
                "<text x=\"{:.2}\" y=\"{:.2}\">{}</text>",
                x + 3.0,
                y + ROW_H - 5.5,
                esc(&label)
            );
        }
        self.out.push_str("</g>\n");
    }
}

/// The icicle chart of one or more reports (one pair of panels each), as a standalone SVG.
pub fn svg(reports: &[Report]) -> String {
    let mut body = String::new();
    let mut y = MARGIN;
    let width = MARGIN * 2.0 + PANEL_W * 2.0 + GAP;
    for r in reports {
        let rows = depth_of(&r.modules).min(MAX_ROWS);
        let cold_total: f64 = r.modules.iter().map(|m| m.cold_cumulative.median).sum();
        let warm_total: f64 = r.modules.iter().map(|m| m.warm_cumulative.median).sum();
        let scale = if cold_total.max(warm_total) > 0.0 {
            PANEL_W / cold_total.max(warm_total)
        } else {
            0.0
        };
        let _ = writeln!(
            body,
            "<text class=\"h1\" x=\"{MARGIN}\" y=\"{:.1}\">Python {} — {} — cold/warm {:.2}x, compiling {:.0}% of the cold start-up ({} runs each)</text>",
            y + 14.0,
            esc(&r.interpreter.version),
            esc(&r.program.describe()),
            r.cold_warm_ratio,
            r.compile_share * 100.0,
            r.runs
        );
        y += 24.0;
        for (i, warm) in [false, true].into_iter().enumerate() {
            let x0 = MARGIN + i as f64 * (PANEL_W + GAP);
            let (t, label) = if warm {
                (&r.warm, "warm: cache filled")
            } else if r.warm_stdlib {
                (&r.cold, "cold: only the standard library cached")
            } else {
                (&r.cold, "cold: empty cache, every module compiled")
            };
            let _ = writeln!(
                body,
                "<text class=\"h2\" x=\"{x0:.1}\" y=\"{:.1}\">{label} — imports {} ms, process {} ms</text>",
                y + 12.0,
                ms(t.imports.median),
                ms(t.wall.median)
            );
            // The panel's full width is the same time in both panels: what stays empty on the
            // warm side is what the cache saved.
            let _ = writeln!(
                body,
                "<rect class=\"bg\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{PANEL_W}\" height=\"{:.1}\" fill=\"#f3f3f3\"/>",
                y + 18.0,
                rows as f64 * ROW_H
            );
            let _ = writeln!(
                body,
                "<g class=\"panel {}\">",
                if warm { "warm" } else { "cold" }
            );
            let mut ic = Icicle {
                out: &mut body,
                scale,
                top: y + 18.0,
                warm,
            };
            ic.level(&r.modules, x0, PANEL_W, 0);
            body.push_str("</g>\n");
        }
        y += 18.0 + rows as f64 * ROW_H + 16.0;
    }
    // Legend.
    let mut lx = MARGIN;
    for (kind, what) in [
        (Kind::Source, "compiled from source when cold"),
        (Kind::Frozen, "frozen"),
        (Kind::BuiltIn, "built-in"),
        (Kind::Extension, "extension"),
        (Kind::Sourceless, "pyc only"),
        (Kind::Other, "other (namespace, ...)"),
    ] {
        let _ = writeln!(
            body,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/><text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\">{what}</text>",
            y,
            colour(kind, 0),
            lx + 16.0,
            y + 10.5
        );
        lx += 16.0 + what.len() as f64 * CHAR_W + 24.0;
    }
    let _ = writeln!(
        body,
        "<text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\">width: median cumulative time, one scale for both panels (grey: the time the cache saves); hover a box for its numbers</text>",
        MARGIN,
        y + 28.0
    );
    let height = y + 40.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n\
         <style>text {{ font-size: 11px; fill: #111; pointer-events: none; }} .h1 {{ font-size: 14px; font-weight: bold; }} .h2 {{ font-size: 12px; }} .legend {{ font-size: 11px; }} g.m:hover rect {{ stroke: #000; stroke-width: 1; }}</style>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n{body}</svg>\n"
    )
}

/// The same chart in an HTML page, with a table of the modules the cache saves most on.
pub fn html(reports: &[Report]) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pyc importtime</title>\n\
         <style>body { font-family: DejaVu Sans, Arial, sans-serif; margin: 16px; } \
         table { border-collapse: collapse; font-size: 12px; margin: 8px 0 24px; } \
         td, th { padding: 2px 8px; text-align: right; } td.n, th.n { text-align: left; }</style>\n\
         </head><body>\n<h1>pyc importtime: what the bytecode cache buys</h1>\n",
    );
    s.push_str(&svg(reports));
    for r in reports {
        let _ = writeln!(
            s,
            "<h2>Python {}: the imports the cache saves most on</h2>\n<table><tr><th class=\"n\">module</th><th>kind</th><th>cold cum [ms]</th><th>warm cum [ms]</th><th>saved, own [ms]</th></tr>",
            esc(&r.interpreter.version)
        );
        let mut all = Vec::new();
        for m in &r.modules {
            m.walk(&mut all);
        }
        all.sort_by(|a, b| b.saved_self_us.total_cmp(&a.saved_self_us));
        for m in all.iter().take(20) {
            let _ = writeln!(
                s,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&m.name),
                m.kind.label(),
                ms(m.cold_cumulative.median),
                ms(m.warm_cumulative.median),
                ms(m.saved_self_us)
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("</body></html>\n");
    s
}
