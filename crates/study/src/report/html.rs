//! The HTML page: plain HTML and CSS, charts as `<img>` of the SVG files beside it, so
//! it opens from the file system with no network and no script.

use std::fmt::Write as _;

use gradflow_nn::theory::{MeanField, critical_sigma_w2};
use gradflow_plot::escape_svg_text as esc;

use super::charts::Chart;
use super::claims::{Claim, Verdict};
use crate::results::{RunStatus, StudyResults};

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0; color: #1d1d1f; background: #fbfbfa; line-height: 1.5; }
header { background: #23395b; color: #fff; padding: 28px 40px; }
header h1 { margin: 0 0 6px; font-size: 28px; }
header p { margin: 4px 0; opacity: 0.9; max-width: 70em; }
nav { background: #e9edf3; padding: 10px 40px; position: sticky; top: 0; z-index: 1; border-bottom: 1px solid #d0d6de; }
nav a { margin-right: 16px; color: #23395b; text-decoration: none; font-weight: 600; }
main { padding: 10px 40px 60px; max-width: 1500px; }
h2 { margin-top: 44px; border-bottom: 2px solid #23395b; padding-bottom: 4px; }
p.lead { max-width: 70em; }
figure { margin: 18px 0; background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; padding: 10px; }
figure img { width: 100%; height: auto; display: block; }
figcaption { font-size: 14px; color: #444; margin-top: 6px; }
figure.single { max-width: 820px; }
.grid figure.single { max-width: none; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(430px, 1fr)); gap: 14px; }
.grid figure { margin: 0; }
.claim { background: #fff; border: 1px solid #e2e2e2; border-left: 6px solid #888; border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
.claim.agrees { border-left-color: #1b8a5a; }
.claim.disagrees { border-left-color: #c0392b; }
.claim h3 { margin: 0 0 6px; }
.badge { display: inline-block; font-size: 13px; font-weight: 700; padding: 2px 10px; border-radius: 12px; margin-left: 8px; vertical-align: middle; }
.badge.agrees { background: #d8f1e4; color: #14623f; }
.badge.disagrees { background: #f8d9d5; color: #8e2a1f; }
.badge.not-measured { background: #ececec; color: #555; }
.claim .said { font-style: italic; color: #333; }

table { border-collapse: collapse; font-size: 14px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 5px 9px; text-align: right; }
th { background: #eef1f5; }
td.left, th.left { text-align: left; }
tr.diverged td { background: #fdf0ee; }
code, pre { background: #f0f0f0; padding: 1px 4px; border-radius: 3px; font-size: 13px; }
pre { padding: 10px; overflow-x: auto; }
details { margin: 10px 0; }
summary { cursor: pointer; font-weight: 600; }
";

/// The page being assembled.
pub struct Page<'a> {
    results: &'a StudyResults,
    body: String,
    nav: Vec<(String, String)>,
    charts: Vec<Chart>,
}

fn figure(out: &mut String, c: &Chart) {
    let _ = writeln!(
        out,
        "<figure{}><img src=\"charts/{}\" alt=\"{}\" loading=\"lazy\"><figcaption>{}</figcaption></figure>",
        if c.wide { "" } else { " class=\"single\"" },
        esc(&c.file),
        esc(&c.caption),
        esc(&c.caption)
    );
}

impl<'a> Page<'a> {
    /// An empty page for these results.
    pub fn new(results: &'a StudyResults) -> Page<'a> {
        Page {
            results,
            body: String::new(),
            nav: Vec::new(),
            charts: Vec::new(),
        }
    }

    /// Every chart the page shows (to be written beside it).
    pub fn charts(&self) -> &[Chart] {
        &self.charts
    }

    fn heading(&mut self, id: &str, title: &str) {
        self.nav.push((id.to_string(), title.to_string()));
        let _ = writeln!(self.body, "<h2 id=\"{id}\">{}</h2>", esc(title));
    }

    /// A section: a heading, a paragraph and charts one under another.
    pub fn section(&mut self, id: &str, title: &str, lead: &str, charts: &[Chart]) {
        self.heading(id, title);
        let _ = writeln!(self.body, "<p class=\"lead\">{}</p>", esc(lead));
        for c in charts {
            figure(&mut self.body, c);
            self.charts.push(c.clone());
        }
    }

    /// Charts in a grid (several per row).
    pub fn grid(&mut self, id: &str, charts: &[Chart]) {
        if charts.is_empty() {
            return;
        }
        let _ = writeln!(self.body, "<div class=\"grid\" id=\"{id}\">");
        for c in charts {
            figure(&mut self.body, c);
            self.charts.push(c.clone());
        }
        self.body.push_str("</div>\n");
    }

    /// The claims section.
    pub fn claims(&mut self, claims: &[Claim]) {
        self.heading("claims", "The classic argument, claim by claim");
        let agree = claims
            .iter()
            .filter(|c| c.verdict == Verdict::Agrees)
            .count();
        let measured = claims
            .iter()
            .filter(|c| c.verdict != Verdict::NotMeasured)
            .count();
        let _ = writeln!(
            self.body,
            "<p class=\"lead\">What the textbook argument about activation functions says, next to what this study measured. {agree} of {measured} measured claims agree with the measurement.</p>"
        );
        for c in claims {
            let (class, label) = match c.verdict {
                Verdict::Agrees => ("agrees", "measurement agrees"),
                Verdict::Disagrees => ("disagrees", "measurement disagrees"),
                Verdict::NotMeasured => ("not-measured", "not measured"),
            };
            let _ = writeln!(
                self.body,
                "<div class=\"claim {class}\"><h3>{}<span class=\"badge {class}\">{label}</span></h3><p class=\"said\">{}</p><p>{}</p>",
                esc(&c.title),
                esc(&c.claim),
                esc(&c.measurement)
            );
            if let Some(chart) = &c.chart {
                figure(&mut self.body, chart);
                self.charts.push(chart.clone());
            }
            self.body.push_str("</div>\n");
        }
    }

    /// Theory beside measurement, and a table of predictions per activation and init.
    pub fn theory(&mut self, chart: &Chart) {
        self.heading("theory", "Theory beside measurement");
        self.body.push_str("<p class=\"lead\">Mean-field theory (Poole et al. 2016; Schoenholz et al. 2017) predicts from the activation and the initialiser alone how the second moment q of the pre-activations evolves (the length map q &rarr; sigma_w<sup>2</sup> E[phi(sqrt(q) z)<sup>2</sup>]) and by how much the squared gradient norm changes per layer, chi = sigma_w<sup>2</sup> E[phi'(sqrt(q) z)<sup>2</sup>]. chi<sub>1</sub> &lt; 1: gradients vanish, with depth scale &minus;1/ln chi<sub>1</sub> layers; chi<sub>1</sub> &gt; 1: they explode; chi<sub>1</sub> = 1: the edge of chaos. At finite width the measured ratios fluctuate around the prediction (several seeds narrow the band).</p>\n");
        figure(&mut self.body, chart);
        self.charts.push(chart.clone());
        let grid = &self.results.config.grid;
        let width = grid.widths.first().copied().unwrap_or(64);
        self.body.push_str("<table><tr><th class=\"left\">activation</th><th class=\"left\">init</th><th>sigma_w<sup>2</sup></th><th>chi<sub>1</sub></th><th>depth scale (layers)</th><th>critical sigma_w<sup>2</sup> (sigma_b = 0)</th></tr>\n");
        for init in &grid.inits {
            for act in &grid.activations {
                let s2 = init.sigma_w2(width, width, Some(*act));
                let Ok(mf) = MeanField::new(*act, s2, 0.0) else {
                    continue;
                };
                let chi1 = mf.chi1().unwrap_or(f64::NAN);
                let xi = mf.depth_scale().unwrap_or(f64::NAN);
                let critical = critical_sigma_w2(*act)
                    .ok()
                    .flatten()
                    .map(|c| format!("{c:.3}"))
                    .unwrap_or_else(|| "none".into());
                let _ = writeln!(
                    self.body,
                    "<tr><td class=\"left\">{act}</td><td class=\"left\">{init}</td><td>{s2:.3}</td><td>{chi1:.4}</td><td>{}</td><td>{critical}</td></tr>",
                    if xi.is_infinite() {
                        "&infin;".to_string()
                    } else {
                        format!("{xi:.2}")
                    }
                );
            }
        }
        let _ = writeln!(
            self.body,
            "</table><p>At width {width}, zero biases; negative depth scales mean growth.</p>"
        );
    }

    /// The summary table.
    pub fn summary(&mut self) {
        self.heading("summary", "Summary of every run");
        self.body.push_str("<table><tr><th class=\"left\">activation</th><th class=\"left\">init</th><th>depth</th><th>width</th><th class=\"left\">data</th><th class=\"left\">optimiser</th><th>seed</th><th>final train loss</th><th>train acc.</th><th>test acc.</th><th>||delta_1||/||delta_L|| at init</th><th>dead %</th><th>saturated %</th><th class=\"left\">status</th><th>time (s)</th></tr>\n");
        let pct = |v: Option<f64>| {
            v.map(|a| format!("{:.1}%", 100.0 * a))
                .unwrap_or_else(|| "-".into())
        };
        for r in &self.results.runs {
            let (class, status) = match &r.status {
                RunStatus::Completed => ("", "completed".to_string()),
                RunStatus::Diverged { step, culprit } => (
                    " class=\"diverged\"",
                    format!(
                        "diverged at step {step}{}",
                        culprit
                            .as_ref()
                            .map(|c| format!(": {c}"))
                            .unwrap_or_default()
                    ),
                ),
            };
            let _ = writeln!(
                self.body,
                "<tr{class}><td class=\"left\">{}</td><td class=\"left\">{}</td><td>{}</td><td>{}</td><td class=\"left\">{}</td><td class=\"left\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2e}</td><td>{:.1}</td><td>{:.1}</td><td class=\"left\">{}</td><td>{:.1}</td></tr>",
                r.spec.activation,
                r.spec.init,
                r.spec.depth,
                r.spec.width,
                esc(&r.spec.dataset.to_string()),
                r.spec.optimiser,
                r.spec.seed,
                r.train_loss
                    .map(|l| format!("{l:.4}"))
                    .unwrap_or_else(|| "-".into()),
                pct(r.train_accuracy),
                pct(r.test_accuracy),
                r.first_last_ratio,
                100.0 * r.dead_final,
                100.0 * r.saturated_final,
                esc(&status),
                r.wall_time_s
            );
        }
        self.body.push_str("</table>\n");
    }

    /// How to reproduce: the command line, the configuration, the versions, the files.
    pub fn reproduce(&mut self) {
        self.heading("reproduce", "Configuration and reproduction");
        let c = &self.results.config;
        let g = &c.grid;
        let join = |v: Vec<String>| v.join(",");
        let cmd = format!(
            "gradflow --activation {} --init {} --depth {} --width {} --dataset {} --optimiser {} --seed {} --steps {} --batch {} --probe-every {} --dtype {} --samples {}",
            join(g.activations.iter().map(|a| a.to_string()).collect()),
            join(g.inits.iter().map(|a| a.to_string()).collect()),
            join(g.depths.iter().map(|a| a.to_string()).collect()),
            join(g.widths.iter().map(|a| a.to_string()).collect()),
            join(g.datasets.iter().map(|a| a.to_string()).collect()),
            join(g.optimisers.iter().map(|a| a.to_string()).collect()),
            join(g.seeds.iter().map(|a| a.to_string()).collect()),
            c.training.steps,
            c.training.batch_size,
            c.training.probe_every,
            c.training.dtype,
            c.training.samples
        );
        let _ = writeln!(
            self.body,
            "<p>Every run is deterministic: the same command on the same build gives the same numbers (wall times aside). Data sets are drawn with seed {}; each run's seed sets its weights and its mini-batch order.</p><pre>{}</pre><p>gradflow {}, {}. Files: <a href=\"results.json\">results.json</a> (everything, schema in docs/results.md), <a href=\"results.csv\">results.csv</a> (the summary table), <code>runs/</code> (one JSON per run), <code>charts/</code> (every chart as SVG).</p>",
            crate::run::DATA_SEED,
            esc(&cmd),
            esc(&self.results.versions.gradflow),
            esc(&self.results.versions.target)
        );
    }

    /// The whole page.
    pub fn render(&self) -> String {
        let n = self.results.runs.len();
        let diverged = self.results.runs.iter().filter(|r| r.diverged()).count();
        let mut out = String::new();
        let _ = write!(
            out,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>gradflow report</title><style>{STYLE}</style></head><body>\n<header><h1>How gradients flow through deep networks</h1><p>{n} training run{} ({diverged} diverged): every activation and initialisation of the grid, measured layer by layer at initialisation and during training, and compared with mean-field theory. Written by gradflow {}.</p></header>\n<nav>",
            if n == 1 { "" } else { "s" },
            esc(&self.results.versions.gradflow)
        );
        for (id, title) in &self.nav {
            let _ = write!(out, "<a href=\"#{id}\">{}</a>", esc(title));
        }
        out.push_str("</nav>\n<main>\n");
        out.push_str(&self.body);
        out.push_str("</main></body></html>\n");
        out
    }
}
