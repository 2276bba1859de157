//! The `gradflow` command line: flags parsed into a [`Command`], each error one line
//! that names the flag and the valid choices.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gradflow_autograd::{Activation, DType};
use gradflow_nn::init::Init;

use crate::config::{
    DatasetSpec, Grid, MAX_DEPTH, MAX_SAMPLES, MAX_THREADS, MAX_WIDTH, OptimSpec, Shard,
    StudyConfig, Training,
};
use crate::error::escape_controls;
use crate::report::ChartFormats;
use crate::{Error, Result};

const ABOUT: &str = "Study how gradients flow through deep networks.";

const LONG_ABOUT: &str = "\
Study how gradients flow through deep networks.

With no subcommand, runs the default study: deep networks with sigmoid, tanh, ReLU,
leaky ReLU, ELU and swish, each with the standard (PyTorch default), Xavier and He
initialisations, trained on two spirals. It measures every layer's gradient at
initialisation and during training, compares it with mean-field theory, and writes an
HTML report you open in a browser.";

const EXAMPLES: &str = "\
Examples:
  gradflow                                    the default study (a few seconds)
  gradflow --activation relu,sigmoid --depth 10,30 --seed 0,1,2
  gradflow --dataset digits --optimiser adam:0.001 --steps 2000
  gradflow --shard 3/8 --out sweep/shard3     one eighth of a grid (cluster arrays)
  gradflow merge sweep/shard* --out sweep     join the shards into one report
  gradflow gallery                            charts of every activation and its derivatives
  gradflow probe --activation tanh --depth 30 per-layer gradients of one network at init
  gradflow theory --activation tanh --init xavier   mean-field predictions

Lists are comma-separated. Activations take a parameter after a colon (leaky_relu:0.1,
elu:1.0, swish:1.5); see `gradflow gallery` for them all.";

#[derive(Parser, Debug)]
#[command(name = "gradflow", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// Run a study over a grid of configurations and write the report (the default).
    Study(StudyFlags),
    /// Chart every activation with its first and second derivative.
    Gallery(GalleryFlags),
    /// Build one network and print each layer's gradient statistics at initialisation.
    Probe(ProbeFlags),
    /// Mean-field predictions for an activation and an initialisation.
    Theory(TheoryFlags),
    /// Join the result directories of several shards into one report.
    Merge(MergeFlags),
}

#[derive(Args, Debug, Default)]
struct GridFlags {
    /// Hidden activations [default: sigmoid,tanh,relu,leaky_relu:0.01,elu,swish]
    #[arg(
        long = "activation",
        visible_alias = "activations",
        value_name = "LIST"
    )]
    activation: Option<String>,
    /// Initialisers: standard, xavier, he, lecun, orthogonal, ... [default: standard,xavier,he]
    #[arg(long = "init", visible_alias = "inits", value_name = "LIST")]
    init: Option<String>,
    /// Hidden layers [default: 20]
    #[arg(long = "depth", visible_alias = "depths", value_name = "LIST")]
    depth: Option<String>,
    /// Units per hidden layer [default: 64]
    #[arg(long = "width", visible_alias = "widths", value_name = "LIST")]
    width: Option<String>,
    /// Data: spirals, digits, xor, moons, circles, blobs, teacher, csv:PATH, idx:IMAGES,LABELS [default: spirals]
    #[arg(long = "dataset", visible_alias = "datasets", value_name = "LIST")]
    dataset: Option<String>,
    /// Optimisers: sgd:LR, sgd:LR,MOMENTUM, adam:LR [default: adam:0.001]
    #[arg(long = "optimiser", visible_aliases = ["optimizer", "optimisers"], value_name = "LIST")]
    optimiser: Option<String>,
    /// Learning rate for every optimiser (overrides the one in --optimiser)
    #[arg(long, value_name = "LR")]
    lr: Option<String>,
    /// Seeds [default: 0]
    #[arg(long = "seed", visible_alias = "seeds", value_name = "LIST")]
    seed: Option<String>,
}

#[derive(Args, Debug, Default)]
struct TrainingFlags {
    /// Optimiser steps per run [default: 500]
    #[arg(long, value_name = "N")]
    steps: Option<String>,
    /// Mini-batch size [default: 128]
    #[arg(long, value_name = "N")]
    batch: Option<String>,
    /// Record the probe every N steps [default: 25]
    #[arg(long, value_name = "N")]
    probe_every: Option<String>,
    /// f32 or f64 [default: f64, so vanished gradients are measured, not rounded to 0]
    #[arg(long, value_name = "DTYPE")]
    dtype: Option<String>,
    /// Samples drawn for synthetic data sets [default: 2000]
    #[arg(long, value_name = "N")]
    samples: Option<String>,
}

#[derive(Args, Debug, Default)]
#[command(allow_negative_numbers = true)]
struct StudyFlags {
    #[command(flatten)]
    grid: GridFlags,
    #[command(flatten)]
    training: TrainingFlags,
    /// Report directory [default: gradflow-report]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run only share I of N of the grid (for a cluster array, e.g. SLURM_ARRAY_TASK_ID/N)
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Skip runs already saved in the output directory
    #[arg(long)]
    resume: bool,
    /// Worker threads (runs in parallel) [default: the number of cores]
    #[arg(long, value_name = "N")]
    threads: Option<String>,
    /// Also write every chart as PNG, beside its SVG (needs a build with `--features png`)
    #[arg(long)]
    png: bool,
}

#[derive(Args, Debug, Default)]
#[command(allow_negative_numbers = true)]
struct GalleryFlags {
    /// Activations to chart [default: all]
    #[arg(
        long = "activation",
        visible_alias = "activations",
        value_name = "LIST"
    )]
    activation: Option<String>,
    /// Output directory [default: gradflow-report]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also write every chart as PNG, beside its SVG (needs a build with `--features png`)
    #[arg(long)]
    png: bool,
}

#[derive(Args, Debug, Default)]
#[command(allow_negative_numbers = true)]
struct ProbeFlags {
    #[command(flatten)]
    grid: GridFlags,
    /// Samples in the batch [default: 256]
    #[arg(long, value_name = "N")]
    batch: Option<String>,
    /// f32 or f64 [default: f64]
    #[arg(long, value_name = "DTYPE")]
    dtype: Option<String>,
    /// Print the records as JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug, Default)]
#[command(allow_negative_numbers = true)]
struct TheoryFlags {
    /// Hidden activations [default: sigmoid,tanh,relu]
    #[arg(
        long = "activation",
        visible_alias = "activations",
        value_name = "LIST"
    )]
    activation: Option<String>,
    /// Initialiser [default: he]
    #[arg(long, value_name = "INIT")]
    init: Option<String>,
    /// Width (for the init's weight variance) [default: 256]
    #[arg(long, value_name = "N")]
    width: Option<String>,
    /// Depth of the per-layer predictions [default: 20]
    #[arg(long, value_name = "N")]
    depth: Option<String>,
    /// sigma_w^2 directly, instead of from --init and --width
    #[arg(long = "sigma-w2", value_name = "X")]
    sigma_w2: Option<String>,
    /// sigma_b^2 [default: 0]
    #[arg(long = "sigma-b2", value_name = "X")]
    sigma_b2: Option<String>,
}

#[derive(Args, Debug, Default)]
#[command(allow_negative_numbers = true)]
struct MergeFlags {
    /// Result directories of the shards
    #[arg(required = true, value_name = "DIR")]
    inputs: Vec<PathBuf>,
    /// Directory of the merged report [default: gradflow-report]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also write every chart as PNG, beside its SVG (needs a build with `--features png`)
    #[arg(long)]
    png: bool,
}

/// A study to run.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyCommand {
    /// The grid and training settings.
    pub config: StudyConfig,
    /// The report directory.
    pub out: PathBuf,
    /// Which share of the grid to run.
    pub shard: Shard,
    /// Skip runs already saved.
    pub resume: bool,
    /// Worker threads (`None`: one per core).
    pub threads: Option<usize>,
    /// The chart files to write.
    pub charts: ChartFormats,
}

/// Mean-field predictions to print.
#[derive(Clone, Debug, PartialEq)]
pub struct TheoryCommand {
    /// The activations.
    pub activations: Vec<Activation>,
    /// The initialiser (ignored when `sigma_w2` is given).
    pub init: Init,
    /// The width.
    pub width: usize,
    /// The depth of the per-layer predictions.
    pub depth: usize,
    /// A fixed sigma_w^2.
    pub sigma_w2: Option<f64>,
    /// sigma_b^2.
    pub sigma_b2: f64,
}

/// One network to probe at initialisation.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeCommand {
    /// The networks (every combination of the grid flags).
    pub grid: Grid,
    /// Batch size.
    pub batch: usize,
    /// Dtype.
    pub dtype: DType,
    /// JSON output.
    pub json: bool,
}

/// What the command line asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run a study.
    Study(StudyCommand),
    /// Chart the activations.
    Gallery {
        /// Activations to chart.
        activations: Vec<Activation>,
        /// Output directory.
        out: PathBuf,
        /// The chart files to write.
        charts: ChartFormats,
    },
    /// Probe networks at initialisation.
    Probe(ProbeCommand),
    /// Print mean-field predictions.
    Theory(TheoryCommand),
    /// Merge shard results.
    Merge {
        /// Shard directories.
        inputs: Vec<PathBuf>,
        /// Output directory.
        out: PathBuf,
        /// The chart files to write.
        charts: ChartFormats,
    },
    /// Help or version text to print (not an error).
    Print(String),
}

/// The default study's grid.
pub fn default_grid() -> Grid {
    Grid {
        activations: vec![
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::LeakyRelu { slope: 0.01 },
            Activation::Elu { alpha: 1.0 },
            Activation::Swish { beta: 1.0 },
        ],
        inits: vec![Init::Standard, Init::xavier(), Init::he()],
        depths: vec![20],
        widths: vec![64],
        datasets: vec![DatasetSpec::Spirals],
        optimisers: vec![OptimSpec::Adam { lr: 1e-3 }],
        seeds: vec![0],
    }
}

/// The default study's training settings.
pub fn default_training() -> Training {
    Training {
        steps: 500,
        batch_size: 128,
        probe_every: 25,
        dtype: DType::F64,
        test_fraction: 0.25,
        samples: 2000,
        init_batch: 256,
    }
}

fn list<T>(flag: &str, text: &str, parse: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    let items: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err(Error::config(flag, "needs at least one value"));
    }
    items.into_iter().map(parse).collect()
}

fn number<T: std::str::FromStr>(flag: &str, text: &str, what: &str) -> Result<T> {
    text.trim()
        .parse::<T>()
        .map_err(|_| Error::config(flag, format!("{text:?} is not {what}")))
}

fn activation(flag: &str) -> impl Fn(&str) -> Result<Activation> + '_ {
    move |s| {
        s.parse::<Activation>()
            .map_err(|e| Error::config(flag, e.to_string()))
    }
}

fn init(flag: &str) -> impl Fn(&str) -> Result<Init> + '_ {
    move |s| {
        s.parse::<Init>()
            .map_err(|e| Error::config(flag, e.to_string()))
    }
}

fn dtype(text: &str) -> Result<DType> {
    text.parse::<DType>().map_err(|_| {
        Error::config(
            "--dtype",
            format!("{text:?} is not a dtype; valid: f32, f64"),
        )
    })
}

/// Splits lists like `sgd:0.1,0.9,adam:0.001` into items, keeping the commas that
/// belong to an item: the momentum after `sgd:LR`, the labels path after `idx:IMAGES`.
fn split_specs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let joins = match out.last() {
            Some(prev) if prev.starts_with("sgd:") && !prev.contains(',') => {
                part.parse::<f64>().is_ok()
            }
            Some(prev) => prev.starts_with("idx:") && !prev.contains(','),
            None => false,
        };
        match out.last_mut() {
            Some(last) if joins => {
                last.push(',');
                last.push_str(part);
            }
            _ => out.push(part.to_string()),
        }
    }
    out
}

fn grid(flags: GridFlags) -> Result<Grid> {
    let mut g = default_grid();
    if let Some(t) = &flags.activation {
        g.activations = list("--activation", t, activation("--activation"))?;
    }
    if let Some(t) = &flags.init {
        g.inits = list("--init", t, init("--init"))?;
    }
    if let Some(t) = &flags.depth {
        g.depths = list("--depth", t, |s| {
            number("--depth", s, "a whole number of layers")
        })?;
    }
    if let Some(t) = &flags.width {
        g.widths = list("--width", t, |s| {
            number("--width", s, "a whole number of units")
        })?;
    }
    if let Some(t) = &flags.dataset {
        let items = split_specs(t);
        if items.is_empty() {
            return Err(Error::config("--dataset", "needs at least one value"));
        }
        g.datasets = items.iter().map(|s| s.parse()).collect::<Result<_>>()?;
    }
    if let Some(t) = &flags.optimiser {
        let items = split_specs(t);
        if items.is_empty() {
            return Err(Error::config("--optimiser", "needs at least one value"));
        }
        g.optimisers = items.iter().map(|s| s.parse()).collect::<Result<_>>()?;
    }
    if let Some(t) = &flags.lr {
        let lr: f64 = number("--lr", t, "a number")?;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::config(
                "--lr",
                format!("the learning rate must be a positive number, got {lr}"),
            ));
        }
        g.optimisers = g.optimisers.iter().map(|o| o.with_lr(lr)).collect();
    }
    if let Some(t) = &flags.seed {
        g.seeds = list("--seed", t, |s| number("--seed", s, "a whole number"))?;
    }
    g.validate()?;
    Ok(g)
}

fn training(flags: TrainingFlags) -> Result<Training> {
    let mut t = default_training();
    if let Some(s) = &flags.steps {
        t.steps = number("--steps", s, "a whole number of steps")?;
    }
    if let Some(s) = &flags.batch {
        t.batch_size = number("--batch", s, "a whole number of samples")?;
    }
    if let Some(s) = &flags.probe_every {
        t.probe_every = number("--probe-every", s, "a whole number of steps")?;
    }
    if let Some(s) = &flags.dtype {
        t.dtype = dtype(s)?;
    }
    if let Some(s) = &flags.samples {
        t.samples = number("--samples", s, "a whole number of samples")?;
    }
    t.validate()?;
    Ok(t)
}

const SUBCOMMANDS: [&str; 5] = ["study", "gallery", "probe", "theory", "merge"];

/// Parses the command line (`args` includes the program name).
///
/// # Errors
/// [`Error::Config`] with a one-line message naming the flag and the valid choices.
pub fn parse<I, T>(args: I) -> Result<Command>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // No subcommand means `study`, unless asking for help or the version.
    let first = args.get(1).and_then(|a| a.to_str()).map(str::to_string);
    let wants_top_level = matches!(
        first.as_deref(),
        Some("-h" | "--help" | "-V" | "--version" | "help")
    );
    if !wants_top_level && !first.as_deref().is_some_and(|f| SUBCOMMANDS.contains(&f)) {
        args.insert(1.min(args.len()), OsString::from("study"));
    }
    // Arguments with control characters, which clap quotes as they are in its errors.
    let with_controls: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| a.chars().any(char::is_control))
        .collect();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    Ok(Command::Print(e.render().to_string()))
                }
                _ => Err(one_line(&e, &with_controls)),
            };
        }
    };
    Ok(match cli.command {
        Sub::Study(f) => {
            let shard = match &f.shard {
                Some(s) => s.parse()?,
                None => Shard::all(),
            };
            let threads = match &f.threads {
                Some(t) => {
                    let n: usize = number("--threads", t, "a whole number")?;
                    if n == 0 {
                        return Err(Error::config("--threads", "must be at least 1"));
                    }
                    if n > MAX_THREADS {
                        return Err(Error::config(
                            "--threads",
                            format!("must be at most {MAX_THREADS}, got {n}"),
                        ));
                    }
                    Some(n)
                }
                None => None,
            };
            Command::Study(StudyCommand {
                config: StudyConfig {
                    grid: grid(f.grid)?,
                    training: training(f.training)?,
                },
                out: f.out.unwrap_or_else(|| PathBuf::from("gradflow-report")),
                shard,
                resume: f.resume,
                threads,
                charts: chart_formats(f.png)?,
            })
        }
        Sub::Gallery(f) => Command::Gallery {
            charts: chart_formats(f.png)?,
            activations: match &f.activation {
                Some(t) => list("--activation", t, activation("--activation"))?,
                None => Activation::all().collect(),
            },
            out: f.out.unwrap_or_else(|| PathBuf::from("gradflow-report")),
        },
        Sub::Probe(f) => {
            let mut g = f.grid;
            if g.activation.is_none() {
                g.activation = Some("tanh".into());
            }
            if g.init.is_none() {
                g.init = Some("xavier".into());
            }
            let batch = match &f.batch {
                Some(b) => number("--batch", b, "a whole number")?,
                None => 256,
            };
            if batch == 0 {
                return Err(Error::config("--batch", "must be at least 1"));
            }
            if batch > MAX_SAMPLES {
                return Err(Error::config(
                    "--batch",
                    format!("must be at most {MAX_SAMPLES}, got {batch}"),
                ));
            }
            Command::Probe(ProbeCommand {
                grid: grid(g)?,
                batch,
                dtype: match &f.dtype {
                    Some(d) => dtype(d)?,
                    None => DType::F64,
                },
                json: f.json,
            })
        }
        Sub::Theory(f) => {
            let width = match &f.width {
                Some(w) => number("--width", w, "a whole number of units")?,
                None => 256,
            };
            let depth = match &f.depth {
                Some(d) => number("--depth", d, "a whole number of layers")?,
                None => 20,
            };
            if width == 0 || depth == 0 {
                return Err(Error::config(
                    if width == 0 { "--width" } else { "--depth" },
                    "must be at least 1",
                ));
            }
            if width > MAX_WIDTH {
                return Err(Error::config(
                    "--width",
                    format!("must be at most {MAX_WIDTH} units, got {width}"),
                ));
            }
            if depth > MAX_DEPTH {
                return Err(Error::config(
                    "--depth",
                    format!("must be at most {MAX_DEPTH} hidden layers, got {depth}"),
                ));
            }
            let positive = |flag: &str, s: &String| -> Result<f64> {
                let v: f64 = number(flag, s, "a number")?;
                if !(v.is_finite() && v >= 0.0) {
                    return Err(Error::config(
                        flag,
                        format!("must be a finite number >= 0, got {v}"),
                    ));
                }
                Ok(v)
            };
            Command::Theory(TheoryCommand {
                activations: match &f.activation {
                    Some(t) => list("--activation", t, activation("--activation"))?,
                    None => vec![Activation::Sigmoid, Activation::Tanh, Activation::Relu],
                },
                init: match &f.init {
                    Some(i) => init("--init")(i)?,
                    None => Init::he(),
                },
                width,
                depth,
                sigma_w2: f
                    .sigma_w2
                    .as_ref()
                    .map(|s| positive("--sigma-w2", s))
                    .transpose()?,
                sigma_b2: f
                    .sigma_b2
                    .as_ref()
                    .map(|s| positive("--sigma-b2", s))
                    .transpose()?
                    .unwrap_or(0.0),
            })
        }
        Sub::Merge(f) => Command::Merge {
            charts: chart_formats(f.png)?,
            inputs: f.inputs,
            out: f.out.unwrap_or_else(|| PathBuf::from("gradflow-report")),
        },
    })
}

/// The chart formats `--png` asks for; an error before anything is written when this
/// build cannot make PNG.
fn chart_formats(png: bool) -> Result<ChartFormats> {
    if png && !ChartFormats::PNG_AVAILABLE {
        return Err(Error::config(
            "--png",
            "this gradflow was built without PNG support; rebuild with the png feature: \
             cargo run --release --features png -- --png",
        ));
    }
    Ok(ChartFormats { png })
}

/// Clap's error as one line: the message, and its tip (a similar flag, valid values).
///
/// The arguments in `with_controls` are escaped where clap quotes them (an argument with
/// a newline would otherwise split the message), then any control character left.
fn one_line(e: &clap::Error, with_controls: &[String]) -> Error {
    let mut text = e.render().to_string();
    for arg in with_controls {
        text = text.replace(arg.as_str(), &escape_controls(arg));
    }
    let mut lines = text.lines().map(str::trim).filter(|l| {
        !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
    });
    let mut reason = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    for line in lines {
        // A line ending in a colon introduces the next ("not provided: <DIR>").
        reason.push_str(if reason.ends_with(':') { " " } else { "; " });
        reason.push_str(line.trim_start_matches("tip: "));
    }
    // The program prefixes every error with "gradflow: ", so the flag is not "gradflow".
    Error::config(
        "command line",
        format!("{} (see gradflow --help)", escape_controls(&reason)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(args: &[&str]) -> Command {
        let mut v = vec!["gradflow"];
        v.extend_from_slice(args);
        parse(v).unwrap()
    }

    fn parse_err(args: &[&str]) -> String {
        let mut v = vec!["gradflow"];
        v.extend_from_slice(args);
        parse(v).unwrap_err().to_string()
    }

    #[test]
    fn no_arguments_is_the_default_study() {
        let Command::Study(s) = parse_ok(&[]) else {
            panic!("not a study")
        };
        assert_eq!(s.config.grid, default_grid());
        assert_eq!(s.shard, Shard::all());
        assert_eq!(s.out, PathBuf::from("gradflow-report"));
    }

    #[test]
    fn grid_flags_take_lists() {
        let Command::Study(s) = parse_ok(&[
            "--activation",
            "relu,leaky_relu:0.1,swish:1.5",
            "--depth",
            "5,10",
            "--optimiser",
            "sgd:0.1,0.9,adam:0.001",
            "--dataset",
            "digits,idx:a.idx,b.idx",
            "--seed",
            "0,1,2",
            "--shard",
            "2/4",
        ]) else {
            panic!("not a study")
        };
        assert_eq!(s.config.grid.activations.len(), 3);
        assert_eq!(s.config.grid.depths, vec![5, 10]);
        assert_eq!(
            s.config.grid.optimisers,
            vec![
                OptimSpec::Sgd {
                    lr: 0.1,
                    momentum: 0.9
                },
                OptimSpec::Adam { lr: 0.001 }
            ]
        );
        assert_eq!(
            s.config.grid.datasets[1],
            DatasetSpec::Idx("a.idx".into(), "b.idx".into())
        );
        assert_eq!(s.config.grid.seeds, vec![0, 1, 2]);
        assert_eq!(s.shard, Shard { index: 2, count: 4 });
    }

    #[test]
    fn bad_values_are_one_line_errors_naming_the_flag_and_choices() {
        let e = parse_err(&["--activation", "sigmod"]);
        assert!(e.starts_with("--activation: activation: cannot parse \"sigmod\": unknown activation; valid: identity, sigmoid"), "{e}");
        assert!(!e.contains('\n'));
        assert_eq!(
            parse_err(&["--depth", "0"]),
            "--depth: must be at least 1 hidden layer, got 0"
        );
        assert_eq!(
            parse_err(&["--depth", "ten"]),
            "--depth: \"ten\" is not a whole number of layers"
        );
        assert_eq!(
            parse_err(&["--shard", "3/2"]),
            "--shard: 3/2 is out of range; the form is I/N with 1 <= I <= N, e.g. 3/8"
        );
        assert_eq!(
            parse_err(&["--lr", "-1"]),
            "--lr: the learning rate must be a positive number, got -1"
        );
        let e = parse_err(&["--dept", "3"]);
        assert!(
            e.starts_with("command line: unexpected argument '--dept' found"),
            "{e}"
        );
        assert!(e.contains("--depth"), "{e}");
        assert!(!e.contains('\n'));
        let e = parse_err(&["--dtype", "f16"]);
        assert_eq!(e, "--dtype: \"f16\" is not a dtype; valid: f32, f64");
    }

    #[test]
    fn png_is_asked_for_by_each_command_that_writes_charts() {
        if ChartFormats::PNG_AVAILABLE {
            let Command::Study(s) = parse_ok(&["--png"]) else {
                panic!("a study")
            };
            assert!(s.charts.png);
            assert!(matches!(
                parse_ok(&["gallery", "--png"]),
                Command::Gallery {
                    charts: ChartFormats { png: true },
                    ..
                }
            ));
            assert!(matches!(
                parse_ok(&["merge", "a", "--png"]),
                Command::Merge {
                    charts: ChartFormats { png: true },
                    ..
                }
            ));
        } else {
            for args in [
                &["--png"][..],
                &["gallery", "--png"],
                &["merge", "a", "--png"],
            ] {
                let e = parse_err(args);
                assert!(
                    e.starts_with("--png: this gradflow was built without PNG support")
                        && e.contains("--features png"),
                    "{e}"
                );
            }
        }
        let Command::Study(s) = parse_ok(&[]) else {
            panic!("a study")
        };
        assert!(!s.charts.png, "PNG is off by default");
    }

    /// Found by the `cli` fuzz target (fuzz/regressions/cli/crash-5e1a9a7f…): clap
    /// quotes an unknown argument as it is, so a carriage return or a newline in it went
    /// into the message.
    #[test]
    fn control_characters_in_arguments_are_escaped_in_errors() {
        assert_eq!(
            parse_err(&["--ac\tx\r-probe"]),
            "command line: unexpected argument '--ac\\tx\\r-probe' found (see gradflow --help)"
        );
        let e = parse_err(&["--dept\nh", "3"]);
        assert!(
            e.starts_with("command line: unexpected argument '--dept\\nh' found"),
            "{e}"
        );
        assert!(!e.chars().any(char::is_control), "{e:?}");
        // The crate's own messages quote values with their escapes too.
        assert_eq!(
            parse_err(&["--depth", "1\n2"]),
            "--depth: \"1\\n2\" is not a whole number of layers"
        );
    }

    #[test]
    fn help_and_version_are_printed_not_errors() {
        let Command::Print(text) = parse_ok(&["--help"]) else {
            panic!("no help")
        };
        assert!(text.contains("Usage: gradflow"));
        assert!(text.contains("gallery"));
        let Command::Print(text) = parse_ok(&["study", "--help"]) else {
            panic!("no help")
        };
        assert!(text.contains("--activation"));
    }

    #[test]
    fn other_subcommands_parse() {
        assert!(matches!(parse_ok(&["gallery"]), Command::Gallery { .. }));
        assert!(matches!(
            parse_ok(&["theory", "--activation", "tanh", "--init", "xavier"]),
            Command::Theory(_)
        ));
        let Command::Merge { inputs, .. } = parse_ok(&["merge", "a", "b"]) else {
            panic!("no merge")
        };
        assert_eq!(inputs.len(), 2);
        assert_eq!(
            parse_err(&["merge"]),
            "command line: the following required arguments were not provided: <DIR>... (see gradflow --help)"
        );
    }
}
